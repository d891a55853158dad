package storetest

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/engine"
	"github.com/gatehouse/gatehouse/internal/execute"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/policy"
)

// decision is a real engine decision on a destructive shell command, with
// effects and paths that must survive the store's encoding.
func decision(t testing.TB) *engine.Decision {
	t.Helper()
	p, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(p, []engine.Target{{Name: "local", Kind: "shell", Class: "non-critical", Workdir: "/work/ws"}}, "local")
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Decide(context.Background(), engine.Request{Command: "rm -rf build", Target: "local", Agent: "agent:ci"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Commands) == 0 || d.Commands[0].Effects == 0 || len(d.Commands[0].Paths) == 0 {
		t.Fatalf("engine decision on rm -rf build has no effects or paths to round-trip: %+v", d)
	}
	return d
}

func testRequests(t *testing.T, st gateway.Store) {
	ctx := t.Context()
	mustCreateSession(t, st, "s1")
	mustCreateSession(t, st, "s2")
	var created []*gateway.Request // what the store should hold, for the filters

	t.Run("RoundTrip", func(t *testing.T) {
		d := decision(t)
		exit, rows := 0, int64(3)
		at := base.UTC()
		want := &gateway.Request{ID: "r-full", SessionID: "s1", Agent: "agent-s1", Target: "local", Kind: "shell",
			Command: "rm -rf build", CommandHash: gateway.CommandHash("shell", "local", "rm -rf build"), Mode: gateway.Execute,
			State: gateway.Executed, Decision: *d, Reason: "approved by alice",
			Votes:     []gateway.Vote{{Reviewer: "alice", Approve: true, Reason: "fine", CommandHash: "abc", At: at.Add(time.Second)}},
			Result:    &execute.Result{ExitCode: &exit, Output: "removed\n", Truncated: true, RowsAffected: &rows, DurationMS: 12},
			CreatedAt: at, ExpiresAt: at.Add(time.Hour), UpdatedAt: at.Add(2 * time.Second)}
		mustCreateRequest(t, st, want)
		created = append(created, want)
		got := mustRequest(t, st, want.ID)
		if g, w := mustJSON(t, got), mustJSON(t, want); !bytes.Equal(g, w) {
			t.Errorf("Request round trip:\n got %s\nwant %s", g, w)
		}
		if len(got.Decision.Commands) == 0 {
			t.Fatal("decoded decision has no commands")
		}
		if g, w := got.Decision.Commands[0].Effects, d.Commands[0].Effects; g != w {
			t.Errorf("Commands[0].Effects = %v, want %v", g, w)
		}
		if g, w := got.Decision.Commands[0].Paths, d.Commands[0].Paths; !reflect.DeepEqual(g, w) {
			t.Errorf("Commands[0].Paths = %+v, want %+v", g, w)
		}
	})

	t.Run("Update", func(t *testing.T) {
		r := newRequest("r-upd", "s2", gateway.PendingReview, base.Add(time.Minute))
		mustCreateRequest(t, st, r)
		created = append(created, r)
		h := mustHead(t, st)
		vote := gateway.Vote{Reviewer: "bob", Approve: true, CommandHash: r.CommandHash, At: base.UTC()}
		got, err := st.UpdateRequest(ctx, r.ID, func(r *gateway.Request) ([]audit.Event, error) {
			r.State, r.Votes, r.Reason = gateway.Approved, append(r.Votes, vote), "approved by bob"
			return []audit.Event{event(audit.ReviewVoted, "reviewer:bob", map[string]any{"op": "vote"}),
				event(audit.RequestApproved, "reviewer:bob", map[string]any{"op": "approve"})}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		r.State = gateway.Approved
		if got.State != gateway.Approved || len(got.Votes) != 1 || got.Votes[0].Reviewer != "bob" {
			t.Errorf("UpdateRequest returned state %s, votes %+v", got.State, got.Votes)
		}
		if g, w := mustJSON(t, mustRequest(t, st, r.ID)), mustJSON(t, got); !bytes.Equal(g, w) {
			t.Errorf("stored request differs from the one UpdateRequest returned:\n got %s\nwant %s", g, w)
		}
		evs := mustEvents(t, st, audit.Filter{AfterSeq: h.Seq})
		if len(evs) != 2 || evs[0].Type != audit.ReviewVoted || evs[1].Type != audit.RequestApproved {
			t.Fatalf("events appended by the update = %+v, want review.voted, request.approved", evs)
		}
		for _, e := range evs {
			if e.RequestID != r.ID || e.SessionID != "s2" {
				t.Errorf("event %d: request, session = %q %q, want %q s2", e.Seq, e.RequestID, e.SessionID, r.ID)
			}
		}
	})

	t.Run("CallbackError", func(t *testing.T) {
		h := mustHead(t, st)
		before := mustJSON(t, mustRequest(t, st, "r-upd"))
		_, err := st.UpdateRequest(ctx, "r-upd", func(r *gateway.Request) ([]audit.Event, error) {
			r.State, r.Votes = gateway.Failed, nil
			return []audit.Event{event(audit.RequestFailed, "gateway", nil)}, errBoom
		})
		if err != errBoom { //nolint:errorlint // the contract says the callback's error is returned as is
			t.Errorf("UpdateRequest = %v, want the callback's error as is", err)
		}
		checkUnchanged(t, st, h)
		if after := mustJSON(t, mustRequest(t, st, "r-upd")); !bytes.Equal(after, before) {
			t.Errorf("request changed by a failed update:\n got %s\nwant %s", after, before)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		if _, err := st.Request(ctx, "nope"); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("Request(unknown) = %v, want ErrNotFound", err)
		}
		h := mustHead(t, st)
		_, err := st.UpdateRequest(ctx, "nope", func(*gateway.Request) ([]audit.Event, error) {
			t.Error("UpdateRequest called fn for an unknown request")
			return nil, nil
		})
		if !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("UpdateRequest(unknown) = %v, want ErrNotFound", err)
		}
		checkUnchanged(t, st, h)
	})

	t.Run("SessionNotActive", func(t *testing.T) {
		ended := mustCreateSession(t, st, "s-ended")
		if _, err := st.UpdateSession(ctx, ended.ID, func(s *gateway.Session) ([]audit.Event, error) {
			at := base
			s.EndedAt = &at
			return []audit.Event{event(audit.SessionEnded, "admin", nil)}, nil
		}); err != nil {
			t.Fatal(err)
		}
		h := mustHead(t, st)
		for _, r := range []*gateway.Request{
			newRequest("r-ended", ended.ID, gateway.Approved, base.Add(time.Minute)),           // the session ended
			newRequest("r-expired", "s1", gateway.Approved, base.Add(2*time.Hour)),             // after s1's expiry
			newRequest("r-orphan", "no-such-session", gateway.Approved, base.Add(time.Minute)), // no session
		} {
			err := st.CreateRequest(ctx, r, []audit.Event{event(audit.RequestSubmitted, "agent:x", nil)})
			if !errors.Is(err, gateway.ErrConflict) {
				t.Errorf("CreateRequest %s = %v, want ErrConflict", r.ID, err)
			}
			if _, err := st.Request(ctx, r.ID); !errors.Is(err, gateway.ErrNotFound) {
				t.Errorf("%s was stored: %v", r.ID, err)
			}
		}
		checkUnchanged(t, st, h)
	})

	t.Run("Duplicate", func(t *testing.T) {
		h := mustHead(t, st)
		before := mustJSON(t, mustRequest(t, st, "r-upd"))
		dup := newRequest("r-upd", "s1", gateway.Denied, base)
		if err := st.CreateRequest(ctx, dup, []audit.Event{event(audit.RequestSubmitted, "agent:x", nil)}); err == nil {
			t.Error("CreateRequest with an id already in use succeeded")
		}
		checkUnchanged(t, st, h)
		if after := mustJSON(t, mustRequest(t, st, "r-upd")); !bytes.Equal(after, before) {
			t.Errorf("request replaced by a rejected duplicate:\n got %s\nwant %s", after, before)
		}
	})

	t.Run("Filter", func(t *testing.T) {
		// Created out of order and in several zones: oldest first is by
		// instant, not by insertion or by local wall clock.
		for _, r := range []*gateway.Request{
			newRequest("f-3", "s1", gateway.PendingReview, base.Add(3*time.Minute)),
			newRequest("f-1", "s2", gateway.PendingReview, base.Add(-3*time.Minute).In(time.FixedZone("UTC+9", 9*3600))),
			newRequest("f-4", "s2", gateway.Denied, base.Add(4*time.Minute).UTC()),
			newRequest("f-2", "s1", gateway.Denied, base.Add(-2*time.Minute).In(time.FixedZone("UTC-5", -5*3600))),
			newRequest("f-5", "s1", gateway.PendingReview, base.Add(5*time.Minute)),
		} {
			mustCreateRequest(t, st, r)
			created = append(created, r)
		}
		for _, f := range []gateway.RequestFilter{
			{}, {State: gateway.PendingReview}, {State: gateway.Denied}, {State: gateway.Approved}, {State: gateway.Expired},
			{SessionID: "s1"}, {SessionID: "s2"}, {SessionID: "nope"}, {State: gateway.PendingReview, SessionID: "s1"},
			{Limit: 2}, {State: gateway.PendingReview, Limit: 2}, {SessionID: "s2", Limit: 1},
		} {
			rs, err := st.Requests(ctx, f)
			if err != nil {
				t.Fatalf("Requests(%+v): %v", f, err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.ID)
			}
			if want := wantRequests(created, f); !slices.Equal(got, want) {
				t.Errorf("Requests(%+v) = %v, want %v", f, got, want)
			}
		}
	})

	// After Filter, whose model is every request stored so far.
	t.Run("Summaries", func(t *testing.T) {
		r := newRequest("r-sum", "s1", gateway.Approved, base.Add(3*time.Minute))
		r.Mode = gateway.Authorize
		mustCreateRequest(t, st, r)
		deadline := base.Add(10 * time.Minute)
		if _, err := st.UpdateRequest(ctx, r.ID, func(r *gateway.Request) ([]audit.Event, error) {
			r.State, r.RunDeadline, r.UpdatedAt = gateway.Executing, deadline, base.Add(4*time.Minute)
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		got, err := st.Summaries(ctx, gateway.RequestFilter{State: gateway.Executing, SessionID: "s1"})
		if err != nil {
			t.Fatal(err)
		}
		var found *gateway.RequestSummary
		for i := range got {
			if got[i].ID == r.ID {
				found = &got[i]
			}
			if got[i].State != gateway.Executing || got[i].SessionID != "s1" {
				t.Errorf("filter let through %+v", got[i])
			}
		}
		if found == nil {
			t.Fatalf("r-sum not listed: %+v", got)
		}
		want := gateway.RequestSummary{ID: r.ID, SessionID: "s1", State: gateway.Executing, Mode: gateway.Authorize,
			CreatedAt: r.CreatedAt, UpdatedAt: base.Add(4 * time.Minute), ExpiresAt: r.ExpiresAt, RunDeadline: deadline}
		if !found.CreatedAt.Equal(want.CreatedAt) || !found.UpdatedAt.Equal(want.UpdatedAt) || !found.ExpiresAt.Equal(want.ExpiresAt) ||
			!found.RunDeadline.Equal(want.RunDeadline) || found.Mode != want.Mode || found.State != want.State {
			t.Errorf("summary %+v, want %+v", *found, want)
		}
	})

}

// wantRequests is the model of Requests: the matching requests, oldest first.
func wantRequests(rs []*gateway.Request, f gateway.RequestFilter) []string {
	var match []*gateway.Request
	for _, r := range rs {
		if (f.State == "" || r.State == f.State) && (f.SessionID == "" || r.SessionID == f.SessionID) {
			match = append(match, r)
		}
	}
	sort.SliceStable(match, func(i, j int) bool {
		if !match[i].CreatedAt.Equal(match[j].CreatedAt) {
			return match[i].CreatedAt.Before(match[j].CreatedAt)
		}
		return match[i].ID < match[j].ID
	})
	var ids []string
	for _, r := range match {
		ids = append(ids, r.ID)
	}
	if f.Limit > 0 && len(ids) > f.Limit {
		ids = ids[:f.Limit]
	}
	return ids
}
