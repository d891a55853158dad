// Package storetest is the contract suite of [gateway.Store]: one set of
// tests that every backend runs (internal/store/sqlite,
// internal/store/postgres), so that they keep the same promises.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/gateway"
)

// Run runs the contract suite. open must return a fresh, empty store on
// every call; the suite closes it. The subtests run in parallel, so open
// must be safe to call from several goroutines.
func Run(t *testing.T, open func(t *testing.T) gateway.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, gateway.Store)
	}{
		{"Sessions", testSessions},
		{"Requests", testRequests},
		{"AuditChain", testAuditChain},
		{"Concurrency", testConcurrency},
		{"Watch", testWatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := open(t)
			t.Cleanup(func() {
				if err := st.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, st)
		})
	}
	t.Run("Close", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		t.Cleanup(func() { _ = st.Close() }) // in case the test stops before closing it
		testClose(t, st)
	})
}

// base is the suite's clock: a zone other than UTC and a time truncated to
// microseconds, the precision every store keeps.
var base = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.FixedZone("UTC+2", 2*3600))

// errBoom is what failing callbacks return.
var errBoom = errors.New("boom")

// timeout bounds every wait for another goroutine; it fails the test
// rather than hanging it.
const timeout = 30 * time.Second

// event is an unsealed event with data as its details. It takes no
// *testing.T because store callbacks, which build events, may run on the
// store's writer goroutine, where t.Fatal must not be called.
func event(typ audit.Type, actor string, data map[string]any) audit.Event {
	if data == nil {
		data = map[string]any{}
	}
	ev, err := audit.New(typ, actor, data)
	if err != nil {
		panic(err) // a map always encodes as a JSON object
	}
	return ev
}

// eventAt is an event with its time set by the caller rather than the store.
func eventAt(typ audit.Type, at time.Time, op string) audit.Event {
	ev := event(typ, "gateway", map[string]any{"op": op})
	ev.Time = at
	return ev
}

func newSession(id string) *gateway.Session {
	return &gateway.Session{ID: id, Agent: "agent-" + id, TokenHash: "token-" + id,
		Grants:    []gateway.Grant{{Target: "local", Access: gateway.Write}, {Target: "app-db", Access: gateway.Read}},
		CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
}

func mustCreateSession(t testing.TB, st gateway.Store, id string) *gateway.Session {
	t.Helper()
	s := newSession(id)
	if err := st.CreateSession(context.Background(), s, event(audit.SessionStarted, "admin", map[string]any{"agent": s.Agent})); err != nil {
		t.Fatalf("CreateSession %s: %v", id, err)
	}
	return s
}

func newRequest(id, sessionID string, state gateway.State, created time.Time) *gateway.Request {
	cmd := "ls " + id
	return &gateway.Request{ID: id, SessionID: sessionID, Agent: "agent-" + sessionID, Target: "local", Kind: "shell",
		Command: cmd, CommandHash: gateway.CommandHash("shell", "local", cmd), Mode: gateway.Execute, State: state,
		Votes: []gateway.Vote{}, CreatedAt: created, ExpiresAt: created.Add(time.Hour), UpdatedAt: created}
}

func mustCreateRequest(t testing.TB, st gateway.Store, r *gateway.Request) {
	t.Helper()
	evs := []audit.Event{
		event(audit.RequestSubmitted, "agent:"+r.Agent, map[string]any{"op": r.ID + "/submitted"}),
		event(audit.RequestDecided, "gateway", map[string]any{"op": r.ID + "/decided"}),
	}
	if err := st.CreateRequest(context.Background(), r, evs); err != nil {
		t.Fatalf("CreateRequest %s: %v", r.ID, err)
	}
}

func mustRequest(t testing.TB, st gateway.Store, id string) *gateway.Request {
	t.Helper()
	r, err := st.Request(context.Background(), id)
	if err != nil {
		t.Fatalf("Request %s: %v", id, err)
	}
	return r
}

func mustHead(t testing.TB, st gateway.Store) audit.Head {
	t.Helper()
	h, err := st.Head(context.Background())
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return h
}

func mustEvents(t testing.TB, st gateway.Store, f audit.Filter) []audit.Event {
	t.Helper()
	var out []audit.Event
	if err := st.Events(context.Background(), f, func(e *audit.Event) error {
		out = append(out, *e)
		return nil
	}); err != nil {
		t.Fatalf("Events(%+v): %v", f, err)
	}
	return out
}

func mustVerify(t testing.TB, st gateway.Store) gateway.Verification {
	t.Helper()
	v, err := gateway.VerifyStore(context.Background(), st)
	if err != nil {
		t.Fatalf("VerifyStore: %v", err)
	}
	return v
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// opOf is the "op" marker of an event's data, which names the write that
// appended it.
func opOf(e *audit.Event) string {
	var d struct {
		Op string `json:"op"`
	}
	_ = json.Unmarshal(e.Data, &d)
	return d.Op
}

// checkUnchanged fails when the trail grew past h.
func checkUnchanged(t testing.TB, st gateway.Store, h audit.Head) {
	t.Helper()
	if got := mustHead(t, st); got != h {
		t.Errorf("head moved from %+v to %+v: something was written", h, got)
	}
	if evs := mustEvents(t, st, audit.Filter{AfterSeq: h.Seq}); len(evs) > 0 {
		t.Errorf("%d events appended after seq %d, want none: %+v", len(evs), h.Seq, evs)
	}
}

func checkSession(t testing.TB, what string, got, want *gateway.Session, seq int64) {
	t.Helper()
	if got.ID != want.ID || got.Agent != want.Agent || got.TokenHash != want.TokenHash {
		t.Errorf("%s: id, agent, token hash = %q %q %q, want %q %q %q", what, got.ID, got.Agent, got.TokenHash, want.ID, want.Agent, want.TokenHash)
	}
	if !reflect.DeepEqual(got.Grants, want.Grants) {
		t.Errorf("%s: grants = %v, want %v", what, got.Grants, want.Grants)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("%s: created, expires = %v %v, want %v %v", what, got.CreatedAt, got.ExpiresAt, want.CreatedAt, want.ExpiresAt)
	}
	if (got.EndedAt == nil) != (want.EndedAt == nil) || got.EndedAt != nil && !got.EndedAt.Equal(*want.EndedAt) {
		t.Errorf("%s: ended = %v, want %v", what, got.EndedAt, want.EndedAt)
	}
	if got.Seq != seq {
		t.Errorf("%s: seq = %d, want %d (events recorded for the session)", what, got.Seq, seq)
	}
}

func testSessions(t *testing.T, st gateway.Store) {
	ctx := t.Context()
	want := mustCreateSession(t, st, "s1")

	t.Run("RoundTrip", func(t *testing.T) {
		byID, err := st.SessionByID(ctx, "s1")
		if err != nil {
			t.Fatal(err)
		}
		checkSession(t, "SessionByID", byID, want, 1)
		byToken, err := st.SessionByToken(ctx, want.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		checkSession(t, "SessionByToken", byToken, want, 1)
		evs := mustEvents(t, st, audit.Filter{SessionID: "s1"})
		if len(evs) != 1 || evs[0].Type != audit.SessionStarted || evs[0].SessionSeq != 1 {
			t.Errorf("session events = %+v, want one session.started numbered 1", evs)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		if _, err := st.SessionByID(ctx, "nope"); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("SessionByID(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := st.SessionByToken(ctx, "nope"); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("SessionByToken(unknown) = %v, want ErrNotFound", err)
		}
		h := mustHead(t, st)
		_, err := st.UpdateSession(ctx, "nope", func(*gateway.Session) ([]audit.Event, error) {
			t.Error("UpdateSession called fn for an unknown session")
			return nil, nil
		})
		if !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("UpdateSession(unknown) = %v, want ErrNotFound", err)
		}
		checkUnchanged(t, st, h)
	})

	t.Run("Duplicate", func(t *testing.T) {
		h := mustHead(t, st)
		dupToken := newSession("s2")
		dupToken.TokenHash = want.TokenHash
		if err := st.CreateSession(ctx, dupToken, event(audit.SessionStarted, "admin", nil)); err == nil {
			t.Error("CreateSession with a token hash already in use succeeded")
		}
		if _, err := st.SessionByID(ctx, "s2"); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("SessionByID of the rejected session = %v, want ErrNotFound", err)
		}
		dupID := newSession("s1")
		dupID.TokenHash = "other-token"
		if err := st.CreateSession(ctx, dupID, event(audit.SessionStarted, "admin", nil)); err == nil {
			t.Error("CreateSession with an id already in use succeeded")
		}
		checkUnchanged(t, st, h)
		byToken, err := st.SessionByToken(ctx, want.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		checkSession(t, "first session after the duplicates", byToken, want, 1)
	})

	t.Run("CallbackError", func(t *testing.T) {
		h := mustHead(t, st)
		_, err := st.UpdateSession(ctx, "s1", func(s *gateway.Session) ([]audit.Event, error) {
			now := base.Add(time.Minute)
			s.EndedAt, s.Agent = &now, "mallory"
			return []audit.Event{event(audit.SessionEnded, "admin", nil)}, errBoom
		})
		if err != errBoom { //nolint:errorlint // the contract says the callback's error is returned as is
			t.Errorf("UpdateSession = %v, want the callback's error as is", err)
		}
		checkUnchanged(t, st, h)
		got, err := st.SessionByID(ctx, "s1")
		if err != nil {
			t.Fatal(err)
		}
		checkSession(t, "after a failed update", got, want, 1)
	})

	t.Run("End", func(t *testing.T) {
		ended := base.Add(30 * time.Minute)
		got, err := st.UpdateSession(ctx, "s1", func(s *gateway.Session) ([]audit.Event, error) {
			s.EndedAt = &ended
			return []audit.Event{event(audit.SessionEnded, "admin", map[string]any{"op": "end"})}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want.EndedAt = &ended
		if got.EndedAt == nil || !got.EndedAt.Equal(ended) {
			t.Errorf("UpdateSession returned ended = %v, want %v", got.EndedAt, ended)
		}
		stored, err := st.SessionByID(ctx, "s1")
		if err != nil {
			t.Fatal(err)
		}
		checkSession(t, "after ending", stored, want, 2)
		if stored.Active(base) {
			t.Error("ended session is still active")
		}
		evs := mustEvents(t, st, audit.Filter{SessionID: "s1", Type: audit.SessionEnded})
		if len(evs) != 1 || evs[0].SessionSeq != 2 || opOf(&evs[0]) != "end" {
			t.Errorf("session.ended events = %+v, want one numbered 2", evs)
		}
		mustVerify(t, st)
	})
}
