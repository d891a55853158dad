package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/engine"
	"github.com/gatehouse/gatehouse/internal/execute"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// env is a gateway on a real SQLite store with shell targets in temp
// directories: "work" (non-critical) and "ledger" (financial).
type env struct {
	gw     *gateway.Service
	store  gateway.Store
	admin  *gateway.Principal
	alice  *gateway.Principal
	bob    *gateway.Principal
	dir    string // the work target's workdir
	ledger string // the ledger target's workdir
}

const (
	adminToken = "admin-token-0123456789"
	aliceToken = "alice-token-0123456789"
	bobToken   = "bob-token-0123456789ab"
)

func newEnv(t *testing.T, tweak func(*gateway.Config, gateway.Store) gateway.Store) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{dir: t.TempDir(), ledger: t.TempDir()}
	pol, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(pol, []engine.Target{
		{Name: "work", Kind: "shell", Class: "non-critical", Workdir: e.dir},
		{Name: "ledger", Kind: "shell", Class: "financial", Workdir: e.ledger},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.OpenFile(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := gateway.Config{
		Targets: map[string]gateway.Target{
			"work":   {Name: "work", Kind: "shell", Class: "non-critical", Executor: &gateway.ShellExecutor{Shell: &execute.Shell{Workdir: e.dir, Timeout: 10 * time.Second}}},
			"ledger": {Name: "ledger", Kind: "shell", Class: "financial", Executor: &gateway.ShellExecutor{Shell: &execute.Shell{Workdir: e.ledger, Timeout: 10 * time.Second}}},
		},
		Reviewers:      map[string]string{"alice": gateway.HashToken(aliceToken), "bob": gateway.HashToken(bobToken)},
		AdminTokenHash: gateway.HashToken(adminToken),
	}
	e.store = st
	if tweak != nil {
		e.store = tweak(&cfg, st)
	}
	e.gw = gateway.New(cfg, eng, e.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := e.gw.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.gw.Stop)
	e.admin = e.auth(t, adminToken)
	e.alice = e.auth(t, aliceToken)
	e.bob = e.auth(t, bobToken)
	return e
}

func (e *env) auth(t *testing.T, token string) *gateway.Principal {
	t.Helper()
	p, err := e.gw.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return p
}

// agent starts a session with grants and returns the agent's principal.
func (e *env) agent(t *testing.T, grants ...string) (*gateway.Principal, string) {
	t.Helper()
	var gs []gateway.Grant
	for _, g := range grants {
		gr, err := gateway.ParseGrant(g)
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, gr)
	}
	_, token, err := e.gw.StartSession(context.Background(), e.admin, gateway.StartArgs{Agent: "claude", Grants: gs})
	if err != nil {
		t.Fatal(err)
	}
	return e.auth(t, token), token
}

func (e *env) submit(t *testing.T, p *gateway.Principal, target, command string) *gateway.Request {
	t.Helper()
	r, err := e.gw.Submit(context.Background(), p, gateway.SubmitArgs{Target: target, Command: command})
	if err != nil {
		t.Fatalf("submit %q: %v", command, err)
	}
	return r
}

func (e *env) wait(t *testing.T, p *gateway.Principal, id string) *gateway.Request {
	t.Helper()
	r, err := e.gw.Wait(context.Background(), p, id, 20*time.Second)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	if !gateway.Done(r) {
		t.Fatalf("request %s still %s after the wait", id, r.State)
	}
	return r
}

// events returns a request's event types in order.
func (e *env) events(t *testing.T, f audit.Filter) []audit.Event {
	t.Helper()
	var out []audit.Event
	if err := e.store.Events(context.Background(), f, func(ev *audit.Event) error { out = append(out, *ev); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func types(evs []audit.Event) string {
	var s []string
	for _, ev := range evs {
		s = append(s, string(ev.Type))
	}
	return strings.Join(s, " ")
}

func TestAllowedRequestRunsAfterItsDecisionIsRecorded(t *testing.T) {
	e := newEnv(t, nil)
	agent, _ := e.agent(t, "work:write")
	r := e.submit(t, agent, "work", "echo hello from $PWD")
	if r.State != gateway.Approved || r.Decision.Decision != policy.Allow {
		t.Fatalf("state %s decision %s, want approved/allow", r.State, r.Decision.Decision)
	}
	r = e.wait(t, agent, r.ID)
	if r.State != gateway.Executed || r.Result == nil || r.Result.Output != "hello from "+e.dir+"\n" {
		t.Fatalf("state %s result %+v", r.State, r.Result)
	}
	got := types(e.events(t, audit.Filter{RequestID: r.ID}))
	if want := "request.submitted request.decided request.executing request.executed"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestReviewerDenialReachesTheWaitingAgent(t *testing.T) {
	e := newEnv(t, nil)
	agent, _ := e.agent(t, "work:write")
	if err := os.MkdirAll(filepath.Join(e.dir, "build", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := e.submit(t, agent, "work", "rm -rf build")
	if r.State != gateway.PendingReview {
		t.Fatalf("state %s, want pending_review (rule %s)", r.State, r.Decision.Rule)
	}
	if r.Decision.Impact.EstimatedFiles == nil || *r.Decision.Impact.EstimatedFiles != 2 {
		t.Errorf("estimated files %v, want 2 (build and build/x)", r.Decision.Impact.EstimatedFiles)
	}
	done := make(chan *gateway.Request, 1)
	go func() {
		r, _ := e.gw.Wait(context.Background(), agent, r.ID, 20*time.Second)
		done <- r
	}()
	if _, err := e.gw.Vote(context.Background(), e.alice, r.ID, gateway.VoteArgs{Approve: false, Reason: "wrong directory — should be dist"}); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got == nil || got.State != gateway.Denied || !strings.Contains(got.Reason, "wrong directory — should be dist") || !strings.Contains(got.Reason, "alice") {
		t.Fatalf("agent got %+v", got)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "build", "x")); err != nil {
		t.Errorf("the denied deletion ran: %v", err)
	}
	evs := e.events(t, audit.Filter{RequestID: r.ID})
	if got := types(evs); got != "request.submitted request.decided review.voted request.denied" {
		t.Errorf("events %q", got)
	}
	if last := evs[len(evs)-1]; last.Actor != "reviewer:alice" || !strings.Contains(string(last.Data), "should be dist") {
		t.Errorf("denial event %s %s", last.Actor, last.Data)
	}
}

func TestQuorumNeedsDistinctReviewers(t *testing.T) {
	e := newEnv(t, nil)
	agent, _ := e.agent(t, "ledger:write")
	r := e.submit(t, agent, "ledger", "echo 100 >> balance.txt")
	if r.State != gateway.PendingReview || r.Decision.ApprovalsRequired != 2 {
		t.Fatalf("state %s approvals %d, want pending_review needing 2", r.State, r.Decision.ApprovalsRequired)
	}
	ctx := context.Background()
	if got, err := e.gw.Vote(ctx, e.alice, r.ID, gateway.VoteArgs{Approve: true}); err != nil || got.State != gateway.PendingReview {
		t.Fatalf("after alice: %v %v", got, err)
	}
	if _, err := e.gw.Vote(ctx, e.alice, r.ID, gateway.VoteArgs{Approve: true}); !errors.Is(err, gateway.ErrConflict) {
		t.Fatalf("alice twice: %v, want ErrConflict", err)
	}
	if _, err := os.Stat(filepath.Join(e.ledger, "balance.txt")); !os.IsNotExist(err) {
		t.Fatalf("ran with one approval: %v", err)
	}
	if got, err := e.gw.Vote(ctx, e.bob, r.ID, gateway.VoteArgs{Approve: true, Reason: "ok"}); err != nil || got.State != gateway.Approved {
		t.Fatalf("after bob: %v %v", got, err)
	}
	r = e.wait(t, agent, r.ID)
	if r.State != gateway.Executed {
		t.Fatalf("state %s: %s", r.State, r.Reason)
	}
	if b, err := os.ReadFile(filepath.Join(e.ledger, "balance.txt")); err != nil || string(b) != "100\n" {
		t.Fatalf("balance.txt %q %v", b, err)
	}
	if _, err := e.gw.Vote(ctx, e.bob, r.ID, gateway.VoteArgs{Approve: true}); !errors.Is(err, gateway.ErrConflict) {
		t.Errorf("a vote after the end: %v, want ErrConflict", err)
	}
}

func TestRolesAreSeparate(t *testing.T) {
	e := newEnv(t, nil)
	agent, _ := e.agent(t, "work:write")
	r := e.submit(t, agent, "work", "rm -rf build")
	ctx := context.Background()
	if _, err := e.gw.Vote(ctx, agent, r.ID, gateway.VoteArgs{Approve: true}); !errors.Is(err, gateway.ErrForbidden) {
		t.Errorf("an agent voted: %v", err)
	}
	if _, err := e.gw.Vote(ctx, e.admin, r.ID, gateway.VoteArgs{Approve: true}); !errors.Is(err, gateway.ErrForbidden) {
		t.Errorf("the admin voted: %v", err)
	}
	if _, err := e.gw.Submit(ctx, e.alice, gateway.SubmitArgs{Target: "work", Command: "ls"}); !errors.Is(err, gateway.ErrForbidden) {
		t.Errorf("a reviewer submitted: %v", err)
	}
	if _, _, err := e.gw.StartSession(ctx, agent, gateway.StartArgs{Agent: "x", Grants: []gateway.Grant{{Target: "work", Access: gateway.Admin}}}); !errors.Is(err, gateway.ErrForbidden) {
		t.Errorf("an agent started a session: %v", err)
	}
	if err := e.gw.Events(ctx, agent, audit.Filter{}, func(*audit.Event) error { return nil }); !errors.Is(err, gateway.ErrForbidden) {
		t.Errorf("an agent read the audit trail: %v", err)
	}
	other, _ := e.agent(t, "work:write")
	if _, err := e.gw.Request(ctx, other, r.ID); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("another session's agent read the request: %v", err)
	}
	if _, err := e.gw.Authenticate(ctx, "ghs_not-a-token"); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Errorf("unknown token: %v", err)
	}
}

func TestGrantsDecide(t *testing.T) {
	e := newEnv(t, nil)
	reader, _ := e.agent(t, "work:read")
	r := e.submit(t, reader, "work", "touch newfile")
	if r.State != gateway.Denied || r.Decision.Rule != "session-grants" || !strings.Contains(r.Reason, "may only read") {
		t.Errorf("write with a read grant: %s %s %q", r.State, r.Decision.Rule, r.Reason)
	}
	if r := e.submit(t, reader, "work", "cat README"); r.State != gateway.Approved {
		t.Errorf("read with a read grant: %s %q", r.State, r.Reason)
	}
	r = e.submit(t, reader, "ledger", "ls")
	if r.State != gateway.Denied || !strings.Contains(r.Reason, "not granted") {
		t.Errorf("ungranted target: %s %q", r.State, r.Reason)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "newfile")); !os.IsNotExist(err) {
		t.Errorf("the denied write ran: %v", err)
	}
	if _, err := e.gw.Submit(context.Background(), reader, gateway.SubmitArgs{Target: "nope", Command: "ls"}); !errors.Is(err, gateway.ErrInvalid) {
		t.Errorf("unknown target: %v", err)
	}
}

func TestReviewExpires(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config, st gateway.Store) gateway.Store {
		c.ReviewExpiry = 200 * time.Millisecond
		return st
	})
	agent, _ := e.agent(t, "work:write")
	r := e.submit(t, agent, "work", "rm -rf build")
	got := e.wait(t, agent, r.ID)
	if got.State != gateway.Expired || !strings.Contains(got.Reason, "expired") {
		t.Fatalf("state %s %q, want expired", got.State, got.Reason)
	}
	if _, err := e.gw.Vote(context.Background(), e.alice, r.ID, gateway.VoteArgs{Approve: true}); !errors.Is(err, gateway.ErrConflict) {
		t.Errorf("approving an expired request: %v, want ErrConflict", err)
	}
	if n := len(e.events(t, audit.Filter{RequestID: r.ID, Type: audit.RequestExpired})); n != 1 {
		t.Errorf("%d expiry events, want 1", n)
	}
}

func TestAuthorizeModeReturnsTheApprovalAndTakesOneReport(t *testing.T) {
	e := newEnv(t, nil)
	agent, _ := e.agent(t, "work:write")
	ctx := context.Background()
	r, err := e.gw.Submit(ctx, agent, gateway.SubmitArgs{Target: "work", Command: "touch made-by-caller", Mode: gateway.Authorize})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != gateway.Approved || !gateway.Done(r) {
		t.Fatalf("state %s, want approved and done", r.State)
	}
	if got := e.wait(t, agent, r.ID); got.State != gateway.Approved {
		t.Fatalf("after wait: %s", got.State)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "made-by-caller")); !os.IsNotExist(err) {
		t.Fatalf("the gateway ran an authorize-mode request: %v", err)
	}
	zero := 0
	got, err := e.gw.Report(ctx, agent, r.ID, gateway.Outcome{ExitCode: &zero})
	if err != nil || got.State != gateway.Executed {
		t.Fatalf("report: %v %v", got, err)
	}
	if _, err := e.gw.Report(ctx, agent, r.ID, gateway.Outcome{ExitCode: &zero}); !errors.Is(err, gateway.ErrConflict) {
		t.Errorf("second report: %v, want ErrConflict", err)
	}
}

func TestEndingASessionRevokesItsTokenAndPendingRequests(t *testing.T) {
	e := newEnv(t, nil)
	agent, token := e.agent(t, "work:write")
	r := e.submit(t, agent, "work", "rm -rf build")
	ctx := context.Background()
	if _, err := e.gw.EndSession(ctx, e.admin, agent.Session.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.gw.Authenticate(ctx, token); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Errorf("token after the end: %v", err)
	}
	got, err := e.gw.Request(ctx, e.alice, r.ID)
	if err != nil || got.State != gateway.Denied {
		t.Fatalf("pending request after the end: %v %v", got, err)
	}
	if _, err := e.gw.Vote(ctx, e.alice, r.ID, gateway.VoteArgs{Approve: true}); !errors.Is(err, gateway.ErrConflict) {
		t.Errorf("approval after the end: %v", err)
	}
}

func TestSessionTTLIsCapped(t *testing.T) {
	e := newEnv(t, nil)
	_, _, err := e.gw.StartSession(context.Background(), e.admin, gateway.StartArgs{Agent: "a", Grants: []gateway.Grant{{Target: "work", Access: gateway.Read}}, TTL: 48 * time.Hour})
	if !errors.Is(err, gateway.ErrInvalid) || !strings.Contains(err.Error(), "24h") {
		t.Errorf("48h TTL: %v", err)
	}
}

func TestVoteBindsToTheCommandReviewed(t *testing.T) {
	e := newEnv(t, nil)
	agent, _ := e.agent(t, "work:write")
	r := e.submit(t, agent, "work", "rm -rf build")
	other := gateway.CommandHash("shell", "work", "rm -rf /srv")
	if _, err := e.gw.Vote(context.Background(), e.alice, r.ID, gateway.VoteArgs{Approve: true, CommandHash: other}); !errors.Is(err, gateway.ErrConflict) {
		t.Errorf("vote for another command: %v", err)
	}
	got, err := e.gw.Vote(context.Background(), e.alice, r.ID, gateway.VoteArgs{Approve: true, CommandHash: r.CommandHash})
	if err != nil || got.State != gateway.Approved {
		t.Errorf("vote for the command: %v %v", got, err)
	}
}

// failingStore fails the writes named in fail.
type failingStore struct {
	gateway.Store
	failCreate bool
	failClaim  bool
}

var errDiskFull = errors.New("disk full")

func (s *failingStore) CreateRequest(ctx context.Context, r *gateway.Request, evs []audit.Event) error {
	if s.failCreate {
		return errDiskFull
	}
	return s.Store.CreateRequest(ctx, r, evs)
}

func (s *failingStore) UpdateRequest(ctx context.Context, id string, fn func(*gateway.Request) ([]audit.Event, error)) (*gateway.Request, error) {
	if s.failClaim {
		return nil, errDiskFull
	}
	return s.Store.UpdateRequest(ctx, id, fn)
}

func TestNothingRunsWhenTheDecisionCannotBeRecorded(t *testing.T) {
	var fs *failingStore
	e := newEnv(t, func(_ *gateway.Config, st gateway.Store) gateway.Store { fs = &failingStore{Store: st}; return fs })
	agent, _ := e.agent(t, "work:write")
	fs.failCreate = true
	_, err := e.gw.Submit(context.Background(), agent, gateway.SubmitArgs{Target: "work", Command: "touch ran-unrecorded"})
	if !errors.Is(err, gateway.ErrUnavailable) {
		t.Fatalf("submit with a failing store: %v, want ErrUnavailable", err)
	}
	fs.failCreate, fs.failClaim = false, true
	r := e.submit(t, agent, "work", "touch ran-unclaimed")
	e.gw.Stop() // waits for the (failed) claim
	for _, f := range []string{"ran-unrecorded", "ran-unclaimed"} {
		if _, err := os.Stat(filepath.Join(e.dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s: ran without its audit record: %v", f, err)
		}
	}
	if n := len(e.events(t, audit.Filter{RequestID: r.ID, Type: audit.RequestExecuting})); n != 0 {
		t.Errorf("%d executing events", n)
	}
}

func TestTokensAreNeverStored(t *testing.T) {
	e := newEnv(t, nil)
	_, token := e.agent(t, "work:write")
	var found bool
	for _, ev := range e.events(t, audit.Filter{}) {
		found = found || strings.Contains(string(ev.Data), token) || strings.Contains(string(ev.Data), token[4:])
	}
	if found {
		t.Error("a session token is in the audit trail")
	}
	if _, err := gateway.VerifyStore(context.Background(), e.store); err != nil {
		t.Errorf("verify: %v", err)
	}
}

// TestEndedSessionIsRefusedByEveryGateway: two gateways share a store;
// A has the session's token cached; ending the session through B makes A
// refuse it at once.
func TestEndedSessionIsRefusedByEveryGateway(t *testing.T) {
	e := newEnv(t, nil)
	agent, token := e.agent(t, "work:read")
	b := newEnv(t, func(_ *gateway.Config, _ gateway.Store) gateway.Store { return e.store })
	ctx := context.Background()
	for range 2 { // the second is served from A's cache
		if _, err := e.gw.Authenticate(ctx, token); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.gw.EndSession(ctx, b.admin, agent.Session.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.gw.Authenticate(ctx, token); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Errorf("A still accepts the ended session's token: %v", err)
	}
}

// TestPendingReviewsPerSessionAreCapped: an agent cannot flood the review
// queue; other sessions are unaffected.
func TestPendingReviewsPerSessionAreCapped(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config, st gateway.Store) gateway.Store { c.MaxPending = 3; return st })
	agent, _ := e.agent(t, "work:write")
	for i := range 3 {
		e.submit(t, agent, "work", fmt.Sprintf("rm -rf build%d", i))
	}
	if _, err := e.gw.Submit(context.Background(), agent, gateway.SubmitArgs{Target: "work", Command: "rm -rf build9"}); !errors.Is(err, gateway.ErrTooMany) {
		t.Errorf("fourth pending review: %v, want ErrTooMany", err)
	}
	if r := e.submit(t, agent, "work", "ls"); r.State != gateway.Approved {
		t.Errorf("an allowed request was refused: %s", r.State)
	}
	other, _ := e.agent(t, "work:write")
	e.submit(t, other, "work", "rm -rf build")
}

// storedRequest writes a request straight into the store, as a gateway
// that stopped at some point of the lifecycle would have left it.
func (e *env) storedRequest(t *testing.T, p *gateway.Principal, command string, state gateway.State, age time.Duration, deadline time.Time) *gateway.Request {
	t.Helper()
	at := time.Now().Add(-age).UTC().Truncate(time.Microsecond)
	r := &gateway.Request{ID: fmt.Sprintf("req_stored%d", time.Now().UnixNano()), SessionID: p.Session.ID, Agent: p.Name, Target: "work", Kind: "shell",
		Command: command, CommandHash: gateway.CommandHash("shell", "work", command), Mode: gateway.Execute, State: state,
		Votes: []gateway.Vote{}, CreatedAt: at, UpdatedAt: at, ExpiresAt: at.Add(time.Hour), RunDeadline: deadline}
	ev, err := audit.New(audit.RequestSubmitted, "agent:"+p.Name, map[string]any{"command": command})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateRequest(context.Background(), r, []audit.Event{ev}); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSweeperFinishesWhatAStoppedGatewayLeft: an approved request no
// gateway started is claimed and run; a run past its deadline is failed,
// never run again.
func TestSweeperFinishesWhatAStoppedGatewayLeft(t *testing.T) {
	e := newEnv(t, nil)
	agent, _ := e.agent(t, "work:write")
	orphan := e.storedRequest(t, agent, "touch orphan-ran", gateway.Approved, time.Minute, time.Time{})
	abandoned := e.storedRequest(t, agent, "touch abandoned-ran", gateway.Executing, time.Hour, time.Now().Add(-time.Minute))
	// A second gateway on the same store, started after the requests were
	// left, does the work.
	b := newEnv(t, func(_ *gateway.Config, _ gateway.Store) gateway.Store { return e.store })
	if r := e.wait(t, agent, orphan.ID); r.State != gateway.Executed {
		t.Errorf("orphaned approval: %s %q", r.State, r.Reason)
	}
	if r := e.wait(t, agent, abandoned.ID); r.State != gateway.Failed || !strings.Contains(r.Reason, "not run again") {
		t.Errorf("abandoned run: %s %q", r.State, r.Reason)
	}
	// Either gateway may have claimed it (each runs "work" in its own
	// temp dir here); exactly one ran it.
	ran := 0
	for _, dir := range []string{e.dir, b.dir} {
		if _, err := os.Stat(filepath.Join(dir, "orphan-ran")); err == nil {
			ran++
		}
		if _, err := os.Stat(filepath.Join(dir, "abandoned-ran")); !os.IsNotExist(err) {
			t.Errorf("the abandoned run ran again: %v", err)
		}
	}
	if ran != 1 {
		t.Errorf("the orphaned approval ran %d times", ran)
	}
}

// TestAStartingGatewayLeavesAPeersRunAlone: B starts on a shared store
// while A runs a request; the request is not failed, and ends executed.
func TestAStartingGatewayLeavesAPeersRunAlone(t *testing.T) {
	e := newEnv(t, nil)
	agent, _ := e.agent(t, "work:write")
	fifo := filepath.Join(e.dir, "gate.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed := make(chan string, 64)
	if err := e.store.Watch(ctx, func(id string) {
		select {
		case changed <- id:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	r := e.submit(t, agent, "work", "cat gate.fifo > done.txt")
	for {
		got, err := e.store.Request(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == gateway.Executing {
			break
		}
		if got.State.Final() {
			t.Fatalf("ended %s before the gate opened: %s", got.State, got.Reason)
		}
		<-changed
	}
	newEnv(t, func(_ *gateway.Config, _ gateway.Store) gateway.Store { return e.store }) // B starts
	if got, err := e.store.Request(ctx, r.ID); err != nil || got.State != gateway.Executing {
		t.Fatalf("after B started: %v %v", got.State, err)
	}
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("ok\n")
	f.Close()
	if got := e.wait(t, agent, r.ID); got.State != gateway.Executed {
		t.Errorf("state %s %q", got.State, got.Reason)
	}
}

// TestPendingCapHoldsUnderConcurrency: many submissions at once from one
// session admit no more than the cap.
func TestPendingCapHoldsUnderConcurrency(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config, st gateway.Store) gateway.Store { c.MaxPending = 5; return st })
	agent, _ := e.agent(t, "work:write")
	var wg sync.WaitGroup
	var admitted atomic.Int32
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.gw.Submit(context.Background(), agent, gateway.SubmitArgs{Target: "work", Command: fmt.Sprintf("rm -rf b%d", i)}); err == nil {
				admitted.Add(1)
			} else if !errors.Is(err, gateway.ErrTooMany) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := admitted.Load(); n != 5 {
		t.Errorf("%d pending reviews admitted, want 5", n)
	}
}

// TestWaitsPerSessionAreCapped: one session cannot hold more than 32
// long-polls at once.
func TestWaitsPerSessionAreCapped(t *testing.T) {
	e := newEnv(t, nil)
	agent, _ := e.agent(t, "work:write")
	r := e.submit(t, agent, "work", "rm -rf build")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	refused := make(chan struct{}, 40)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.gw.Wait(ctx, agent, r.ID, time.Minute); errors.Is(err, gateway.ErrTooMany) {
				refused <- struct{}{}
			}
		}()
	}
	// The refused return at once; the others wait until cancelled.
	for i := range 8 {
		select {
		case <-refused:
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d waits refused", i)
		}
	}
	cancel()
	wg.Wait()
	if n := len(refused); n != 0 {
		t.Errorf("%d more waits refused, want 8 in all", n)
	}
}

// TestSessionsExpire: past its TTL a session's token no longer works, and
// nothing can be recorded for it.
func TestSessionsExpire(t *testing.T) {
	var skew atomic.Int64
	e := newEnv(t, func(c *gateway.Config, st gateway.Store) gateway.Store {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		return st
	})
	agent, token := e.agent(t, "work:write")
	skew.Store(int64(2 * time.Hour)) // the default TTL is 1h
	if _, err := e.gw.Authenticate(context.Background(), token); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Errorf("expired session authenticated: %v", err)
	}
	// A principal obtained before the expiry cannot record anything after it.
	if _, err := e.gw.Submit(context.Background(), agent, gateway.SubmitArgs{Target: "work", Command: "ls"}); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Errorf("submit after expiry: %v", err)
	}
}

// TestClockChangesDoNotBreakTheTrail: the trail's order is its sequence
// numbers; a clock that jumps back does not make verification fail.
func TestClockChangesDoNotBreakTheTrail(t *testing.T) {
	var skew atomic.Int64
	e := newEnv(t, func(c *gateway.Config, st gateway.Store) gateway.Store {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		return st
	})
	agent, _ := e.agent(t, "work:write")
	e.submit(t, agent, "work", "ls")
	skew.Store(int64(-30 * time.Minute))
	r := e.submit(t, agent, "work", "rm -rf build")
	if _, err := e.gw.Vote(context.Background(), e.alice, r.ID, gateway.VoteArgs{Approve: false, Reason: "no"}); err != nil {
		t.Fatal(err)
	}
	evs := e.events(t, audit.Filter{})
	if len(evs) < 6 || !evs[len(evs)-1].Time.Before(evs[1].Time) {
		t.Fatalf("the clock change is not in the trail: %d events", len(evs))
	}
	if _, err := gateway.VerifyStore(context.Background(), e.store); err != nil {
		t.Errorf("verify after a clock change: %v", err)
	}
}

// TestDeletionEstimates: a deletion in the workspace is shown with the
// number of files under what it deletes (find's filters are not applied:
// an upper bound).
func TestDeletionEstimates(t *testing.T) {
	e := newEnv(t, nil)
	agent, _ := e.agent(t, "work:write")
	for _, f := range []string{"build/a.o", "build/b.o", "build/sub/c.o", "dist/x"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(e.dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(e.dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		cmd  string
		want int64
	}{
		{"rm -rf build", 5},                   // build, build/sub and 3 files
		{"find build -name '*.o' -delete", 5}, // the same tree, filters ignored
		{"rm -r build/sub dist", 4},           // two trees
		{"rm -rf b*", 5},                      // a glob, expanded in the workdir
	} {
		r := e.submit(t, agent, "work", tc.cmd)
		if got := r.Decision.Impact.EstimatedFiles; got == nil || *got != tc.want {
			t.Errorf("%s: estimated files %v, want %d", tc.cmd, got, tc.want)
		}
	}
}
