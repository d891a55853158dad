package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/gateway"
)

// marked is an event whose data names the write that appended it; it is
// built without a *testing.T so that goroutines can make it.
func marked(typ audit.Type, op string) audit.Event {
	return audit.Event{Type: typ, Actor: "gateway", Data: json.RawMessage(`{"op":"` + op + `"}`)}
}

// ledger records what concurrent writers were told, for checking the trail.
type ledger struct {
	mu      sync.Mutex
	written map[string]int // op markers of events of writes that succeeded: each must be in the trail once
	failed  map[string]int // op markers of events of writes that failed: none may be
	shared  []string       // reviewers of the successful votes on the shared request
	own     map[string]int // successful votes per worker's own request
	created []string       // requests created
}

func (l *ledger) record(err error, markers ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range markers {
		if err == nil {
			l.written[m]++
		} else {
			l.failed[m]++
		}
	}
}

// Concurrency: the number of writers and of writes each makes at once.
const (
	workers      = 50
	opsPerWorker = 40
	sessionCount = 5
)

// testConcurrency runs every kind of write at once, on a shared request
// and on separate ones, including writes that fail, and checks that the
// trail has exactly the successful writes' events, in one unbroken chain,
// and that no update of the shared request was lost.
func testConcurrency(t *testing.T, st gateway.Store) {
	ctx := t.Context()
	for i := range sessionCount {
		mustCreateSession(t, st, fmt.Sprintf("cs%d", i))
	}
	mustCreateRequest(t, st, newRequest("shared", "cs0", gateway.PendingReview, base))
	for g := range workers {
		mustCreateRequest(t, st, newRequest(fmt.Sprintf("own%d", g), fmt.Sprintf("cs%d", g%sessionCount), gateway.PendingReview, base))
	}
	start := mustHead(t, st)
	l := &ledger{written: map[string]int{}, failed: map[string]int{}, own: map[string]int{}}
	vote := func(id, op string, fail bool) error {
		_, err := st.UpdateRequest(ctx, id, func(r *gateway.Request) ([]audit.Event, error) {
			r.Votes = append(r.Votes, gateway.Vote{Reviewer: op, Approve: true, CommandHash: r.CommandHash})
			if fail {
				return []audit.Event{marked(audit.ReviewVoted, op)}, errBoom
			}
			return []audit.Event{marked(audit.ReviewVoted, op)}, nil
		})
		return err
	}

	begin := make(chan struct{})
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			<-begin
			session, own := fmt.Sprintf("cs%d", g%sessionCount), fmt.Sprintf("own%d", g)
			for i := range opsPerWorker {
				op := fmt.Sprintf("g%d-i%d", g, i)
				var err error
				switch i % 8 {
				case 0, 4:
					err = vote("shared", op, false)
					l.record(err, op)
					if err == nil {
						l.mu.Lock()
						l.shared = append(l.shared, op)
						l.mu.Unlock()
					}
				case 1:
					err = vote(own, op, false)
					l.record(err, op)
					if err == nil {
						l.mu.Lock()
						l.own[own]++
						l.mu.Unlock()
					}
				case 2:
					err = st.CreateRequest(ctx, newRequest(op, session, gateway.PendingReview, base.Add(time.Duration(i)*time.Second)),
						[]audit.Event{marked(audit.RequestSubmitted, op+"/submitted"), marked(audit.RequestDecided, op+"/decided")})
					l.record(err, op+"/submitted", op+"/decided")
					if err == nil {
						l.mu.Lock()
						l.created = append(l.created, op)
						l.mu.Unlock()
					}
				case 3:
					e := marked(audit.GatewayError, op)
					e.SessionID = session
					err = st.Append(ctx, e)
					l.record(err, op)
				case 5:
					err = st.Append(ctx, marked(audit.GatewayError, op))
					l.record(err, op)
				case 6:
					// A failing callback in the middle of the load writes nothing.
					if e := vote("shared", op, true); e != errBoom { //nolint:errorlint // returned as is
						t.Errorf("%s: UpdateRequest with a failing callback = %v, want the callback's error as is", op, e)
					}
					l.record(errBoom, op)
				case 7:
					// Writes the database rejects, queued among good ones:
					// they fail alone. (The contract does not say whether
					// an event of an unknown session is refused, only
					// that a failed write leaves no trace.)
					if g%2 == 0 {
						e := marked(audit.GatewayError, op)
						e.SessionID = "no-such-session"
						l.record(st.Append(ctx, e), op)
					} else {
						e := st.CreateRequest(ctx, newRequest("shared", session, gateway.Denied, base),
							[]audit.Event{marked(audit.RequestSubmitted, op)})
						if e == nil {
							t.Errorf("%s: CreateRequest of an existing id succeeded", op)
						}
						l.record(e, op)
					}
				}
				if err != nil {
					t.Errorf("%s: %v", op, err)
				}
			}
		})
	}
	close(begin)
	wg.Wait()

	all := mustEvents(t, st, audit.Filter{})
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("event #%d has seq %d: sequence numbers are not contiguous", i+1, e.Seq)
		}
	}
	if want := int(start.Seq) + len(l.written); len(all) != want {
		t.Errorf("%d events, want %d: %d before the load and %d from successful writes", len(all), want, start.Seq, len(l.written))
	}
	count := map[string]int{}
	perSession := map[string]int64{}
	for i := range all {
		if all[i].Seq > start.Seq {
			count[opOf(&all[i])]++
		}
		if all[i].SessionID != "" {
			perSession[all[i].SessionID]++
		}
	}
	for m := range l.written {
		if count[m] != 1 {
			t.Errorf("event of successful write %s is in the trail %d times, want once", m, count[m])
		}
	}
	for m := range l.failed {
		if count[m] != 0 {
			t.Errorf("event of failed write %s is in the trail %d times, want none", m, count[m])
		}
	}

	var votes []string
	for _, v := range mustRequest(t, st, "shared").Votes {
		votes = append(votes, v.Reviewer)
	}
	slices.Sort(votes)
	slices.Sort(l.shared)
	if !slices.Equal(votes, l.shared) {
		t.Errorf("shared request has %d votes, want the %d of the successful updates (lost or phantom updates)", len(votes), len(l.shared))
	}
	for g := range workers {
		id := fmt.Sprintf("own%d", g)
		if got := len(mustRequest(t, st, id).Votes); got != l.own[id] {
			t.Errorf("%s has %d votes, want %d", id, got, l.own[id])
		}
	}
	for _, id := range l.created {
		mustRequest(t, st, id)
	}
	for i := range sessionCount {
		id := fmt.Sprintf("cs%d", i)
		s, err := st.SessionByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.Seq != perSession[id] {
			t.Errorf("session %s: seq %d, but %d events carry its id", id, s.Seq, perSession[id])
		}
	}
	if v := mustVerify(t, st); v.Events != int64(len(all)) {
		t.Errorf("VerifyStore checked %d events, want %d", v.Events, len(all))
	}
}

// waitFor waits until ch delivers id, failing the test after timeout.
func waitFor(t testing.TB, ch <-chan string, id string) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case got := <-ch:
			if got == id {
				return
			}
		case <-timer.C:
			t.Fatalf("watcher not told of a change to %s within %v", id, timeout)
		}
	}
}

// watchChan watches st and sends each id to the returned channel; fn
// never blocks, since a store may call it from its writer.
func watchChan(t testing.TB, ctx context.Context, st gateway.Store, calls *atomic.Int64) <-chan string {
	t.Helper()
	ch := make(chan string, 4096)
	if err := st.Watch(ctx, func(id string) {
		if calls != nil {
			calls.Add(1)
		}
		select {
		case ch <- id:
		default:
		}
	}); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	return ch
}

func touch(t testing.TB, st gateway.Store, id string) {
	t.Helper()
	if _, err := st.UpdateRequest(context.Background(), id, func(r *gateway.Request) ([]audit.Event, error) {
		r.Reason += "."
		return nil, nil
	}); err != nil {
		t.Fatalf("UpdateRequest %s: %v", id, err)
	}
}

func testWatch(t *testing.T, st gateway.Store) {
	ctx := t.Context()
	mustCreateSession(t, st, "w")
	mustCreateRequest(t, st, newRequest("w-old", "w", gateway.PendingReview, base))
	seen := watchChan(t, ctx, st, nil)
	// Notifications come in commit order: once the fence's is seen, the
	// one for w-old's creation is not still on its way.
	mustCreateRequest(t, st, newRequest("w-fence", "w", gateway.PendingReview, base))
	waitFor(t, seen, "w-fence")

	t.Run("Update", func(t *testing.T) {
		touch(t, st, "w-old")
		waitFor(t, seen, "w-old")
	})
	t.Run("Create", func(t *testing.T) {
		mustCreateRequest(t, st, newRequest("w-new", "w", gateway.PendingReview, base))
		waitFor(t, seen, "w-new")
	})
	t.Run("Cancel", func(t *testing.T) {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var calls atomic.Int64
		mine := watchChan(t, wctx, st, &calls)
		touch(t, st, "w-old")
		waitFor(t, mine, "w-old")
		cancel()
		// Calls already on their way may still come; then they must stop.
		// Each sample is taken once the live watcher has seen a later
		// change.
		last, quiet := calls.Load(), 0
		for i := 0; quiet < 3; i++ {
			if i == 200 {
				t.Fatalf("watcher still called after %d changes since its context was cancelled", i)
			}
			touch(t, st, "w-old")
			waitFor(t, seen, "w-old")
			if n := calls.Load(); n != last {
				last, quiet = n, 0
			} else {
				quiet++
			}
		}
	})
}

// testClose checks that Close lets racing writers finish, committed or
// refused, and that writes after it fail rather than hang.
func testClose(t *testing.T, st gateway.Store) {
	ctx := t.Context()
	mustCreateSession(t, st, "c")
	mustCreateRequest(t, st, newRequest("c-1", "c", gateway.PendingReview, base))

	var ok atomic.Int64
	warm := make(chan struct{})
	var once sync.Once
	racers := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				if err := st.Append(ctx, marked(audit.GatewayError, fmt.Sprintf("race-%d-%d", g, i))); err != nil {
					return
				}
				if ok.Add(1) >= 20 {
					once.Do(func() { close(warm) })
				}
			}
		})
	}
	go func() { wg.Wait(); close(racers) }()
	select {
	case <-warm:
	case <-time.After(timeout):
		t.Fatal("racing writers made no progress")
	}
	if err := st.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case <-racers:
	case <-time.After(10 * time.Second):
		t.Error("writers racing with Close still blocked 10s after it returned")
	}

	// Every call after Close must return; every write must fail.
	type call struct {
		name  string
		write bool
		fn    func() error
	}
	calls := []call{
		{"CreateSession", true, func() error {
			return st.CreateSession(ctx, newSession(fmt.Sprintf("late-%d", time.Now().UnixNano())), marked(audit.SessionStarted, "late"))
		}},
		{"UpdateSession", true, func() error {
			_, err := st.UpdateSession(ctx, "c", func(*gateway.Session) ([]audit.Event, error) { return nil, nil })
			return err
		}},
		{"CreateRequest", true, func() error {
			return st.CreateRequest(ctx, newRequest(fmt.Sprintf("late-%d", time.Now().UnixNano()), "c", gateway.PendingReview, base), nil)
		}},
		{"UpdateRequest", true, func() error {
			_, err := st.UpdateRequest(ctx, "c-1", func(*gateway.Request) ([]audit.Event, error) { return nil, nil })
			return err
		}},
		{"Append", true, func() error { return st.Append(ctx, marked(audit.GatewayError, "late")) }},
		{"Request", false, func() error { _, err := st.Request(ctx, "c-1"); return err }},
		{"Head", false, func() error { _, err := st.Head(ctx); return err }},
		{"Close", false, st.Close},
	}
	type result struct {
		call
		err error
	}
	const tries = 20 // a race between refusing and queueing shows up within a few
	results := make(chan result, len(calls)*tries)
	for _, c := range calls {
		for range tries {
			go func() { results <- result{c, c.fn()} }()
		}
	}
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	returned := map[string]int{}
	for range len(calls) * tries {
		select {
		case r := <-results:
			returned[r.name]++
			if r.write && r.err == nil {
				t.Errorf("%s after Close succeeded, want an error", r.name)
			}
		case <-timer.C:
			for _, c := range calls {
				if n := returned[c.name]; n < tries {
					t.Errorf("%s after Close: %d of %d calls hung", c.name, tries-n, tries)
				}
			}
			return
		}
	}
}
