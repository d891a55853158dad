package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/gateway"
)

// step is one event the chain test expects, in order.
type step struct {
	typ              audit.Type
	session, request string
	sessionSeq       int64
}

// matches is the model of an audit.Filter.
func matches(e *audit.Event, f audit.Filter) bool {
	return (f.SessionID == "" || e.SessionID == f.SessionID) &&
		(f.RequestID == "" || e.RequestID == f.RequestID) &&
		(f.Type == "" || e.Type == f.Type) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		e.Seq > f.AfterSeq
}

func seqs(evs []audit.Event) []int64 {
	out := []int64{}
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

func testAuditChain(t *testing.T, st gateway.Store) {
	ctx := t.Context()

	t.Run("Empty", func(t *testing.T) {
		if evs := mustEvents(t, st, audit.Filter{}); len(evs) != 0 {
			t.Errorf("fresh store has %d events", len(evs))
		}
		if v := mustVerify(t, st); v.Events != 0 {
			t.Errorf("VerifyStore on a fresh store counted %d events", v.Events)
		}
	})

	// Every event carries its own time, one second apart, so that Since
	// can be checked; the store keeps times it is given.
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	n := 0
	ev := func(typ audit.Type) audit.Event {
		n++
		return eventAt(typ, at(n), string(typ))
	}
	for _, id := range []string{"a", "b"} {
		s := newSession(id)
		if err := st.CreateSession(ctx, s, ev(audit.SessionStarted)); err != nil {
			t.Fatal(err)
		}
	}
	create := func(id, session string) {
		r := newRequest(id, session, gateway.PendingReview, base)
		if err := st.CreateRequest(ctx, r, []audit.Event{ev(audit.RequestSubmitted), ev(audit.RequestDecided)}); err != nil {
			t.Fatal(err)
		}
	}
	update := func(id string, state gateway.State, typs ...audit.Type) {
		_, err := st.UpdateRequest(ctx, id, func(r *gateway.Request) ([]audit.Event, error) {
			r.State = state
			var evs []audit.Event
			for _, typ := range typs {
				evs = append(evs, ev(typ))
			}
			return evs, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	create("ra", "a")
	if err := st.Append(ctx, ev(audit.GatewayError)); err != nil {
		t.Fatal(err)
	}
	create("rb", "b")
	update("ra", gateway.Approved, audit.ReviewVoted, audit.RequestApproved)
	if _, err := st.UpdateSession(ctx, "b", func(s *gateway.Session) ([]audit.Event, error) {
		end := base
		s.EndedAt = &end
		return []audit.Event{ev(audit.SessionEnded)}, nil
	}); err != nil {
		t.Fatal(err)
	}
	withSession := ev(audit.GatewayError)
	withSession.SessionID = "a"
	if err := st.Append(ctx, withSession); err != nil {
		t.Fatal(err)
	}
	update("rb", gateway.Denied, audit.RequestDenied)

	want := []step{
		{audit.SessionStarted, "a", "", 1},
		{audit.SessionStarted, "b", "", 1},
		{audit.RequestSubmitted, "a", "ra", 2},
		{audit.RequestDecided, "a", "ra", 3},
		{audit.GatewayError, "", "", 0},
		{audit.RequestSubmitted, "b", "rb", 2},
		{audit.RequestDecided, "b", "rb", 3},
		{audit.ReviewVoted, "a", "ra", 4},
		{audit.RequestApproved, "a", "ra", 5},
		{audit.SessionEnded, "b", "", 4},
		{audit.GatewayError, "a", "", 6},
		{audit.RequestDenied, "b", "rb", 5},
	}
	all := mustEvents(t, st, audit.Filter{})

	t.Run("Numbering", func(t *testing.T) {
		if len(all) != len(want) {
			t.Fatalf("%d events, want %d: %+v", len(all), len(want), all)
		}
		prev := audit.Genesis
		for i, e := range all {
			w := want[i]
			if e.Seq != int64(i+1) {
				t.Errorf("event %d has seq %d", i+1, e.Seq)
			}
			if e.PrevHash != prev {
				t.Errorf("event %d: prev_hash %s, want the hash before it %s", e.Seq, e.PrevHash, prev)
			}
			prev = e.Hash
			got := step{e.Type, e.SessionID, e.RequestID, e.SessionSeq}
			if got != w {
				t.Errorf("event %d = %v, want %v", e.Seq, got, w)
			}
			if !e.Time.Equal(at(i+1)) || string(e.Data) != `{"op":"`+string(w.typ)+`"}` || e.Actor != "gateway" {
				t.Errorf("event %d: time %v, data %s, actor %q; want %v, the op, gateway", e.Seq, e.Time, e.Data, e.Actor, at(i+1))
			}
		}
		for id, seq := range map[string]int64{"a": 6, "b": 5} {
			s, err := st.SessionByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if s.Seq != seq {
				t.Errorf("session %s: seq %d, want %d (its last event's number)", id, s.Seq, seq)
			}
		}
	})

	t.Run("Filter", func(t *testing.T) {
		for _, f := range []audit.Filter{
			{},
			{SessionID: "a"},
			{SessionID: "b", Type: audit.RequestDenied},
			{SessionID: "nope"},
			{RequestID: "ra"},
			{RequestID: "rb", AfterSeq: 7},
			{Type: audit.RequestSubmitted},
			{Type: audit.GatewayError},
			// Between two events' times, in another zone: Since is an instant.
			{Since: at(6).Add(500 * time.Millisecond).In(time.FixedZone("UTC-7", -7*3600))},
			{Since: at(100)},
			{AfterSeq: 4},
			{AfterSeq: 12},
			{Limit: 3},
			{AfterSeq: 2, Limit: 2},
			{SessionID: "a", Since: at(4), Limit: 2},
		} {
			var model []audit.Event
			for i := range all {
				if matches(&all[i], f) && (f.Limit == 0 || len(model) < f.Limit) {
					model = append(model, all[i])
				}
			}
			if got, w := seqs(mustEvents(t, st, f)), seqs(model); !slices.Equal(got, w) {
				t.Errorf("Events(%+v) = seqs %v, want %v", f, got, w)
			}
		}
	})

	t.Run("StopIteration", func(t *testing.T) {
		errStop := errors.New("stop")
		calls := 0
		err := st.Events(ctx, audit.Filter{}, func(*audit.Event) error {
			calls++
			if calls == 3 {
				return errStop
			}
			return nil
		})
		if !errors.Is(err, errStop) || calls != 3 {
			t.Errorf("Events with fn failing at the 3rd event = %v after %d calls, want fn's error after 3", err, calls)
		}
	})

	t.Run("HeadAndVerify", func(t *testing.T) {
		last := all[len(all)-1]
		if h := mustHead(t, st); h != (audit.Head{Seq: last.Seq, Hash: last.Hash}) {
			t.Errorf("Head = %+v, want the last event's %d %s", h, last.Seq, last.Hash)
		}
		v := mustVerify(t, st)
		if v.Events != int64(len(want)) || v.Head.Seq != last.Seq {
			t.Errorf("VerifyStore = %+v, want %d events", v, len(want))
		}
	})
}
