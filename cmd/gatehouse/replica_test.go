package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/internal/pgtest"
)

// TestReplicasShareOnePostgresStore runs two gateways on one PostgreSQL
// store: a request submitted through A is approved through B, and the
// agent waiting on A learns it at once (LISTEN/NOTIFY, no polling); the
// trail both wrote verifies.
func TestReplicasShareOnePostgresStore(t *testing.T) {
	storeDSN := pgtest.DSN(t)
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "old.log"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := "version: 1\nstore: " + storeDSN + "\ndata_dir: DIR/data\ntargets:\n  work: {kind: shell, class: non-critical, workdir: " + work + "}\n" +
		"reviewers:\n  alice: { token_env: ALICE_TOKEN }\n"
	env := map[string]string{"ALICE_TOKEN": aliceToken}
	a := startServer(t, cfg, env)
	b := startServer(t, cfg, env)
	ctx := context.Background()
	sess, err := client.New(a.addr, a.admin).StartSession(ctx, client.StartSession{Agent: "claude", Grants: []string{"work:write"}})
	if err != nil {
		t.Fatal(err)
	}
	agentA := client.New(a.addr, sess.Token)
	r, err := agentA.Submit(ctx, client.Submit{Target: "work", Command: "rm -rf old.log"})
	if err != nil || r.State != "pending_review" {
		t.Fatalf("submit through A: %+v %v", r, err)
	}
	waited := make(chan *client.Request, 1)
	start := make(chan struct{})
	go func() {
		close(start)
		got, err := agentA.Wait(ctx, r.ID, 30*time.Second)
		if err != nil {
			t.Errorf("wait on A: %v", err)
		}
		waited <- got
	}()
	<-start
	pending, err := client.New(b.addr, aliceToken).Pending(ctx)
	if err != nil || len(pending) != 1 || pending[0].ID != r.ID {
		t.Fatalf("B's review queue: %+v %v", pending, err)
	}
	approved := time.Now()
	if _, err := client.New(b.addr, aliceToken).Approve(ctx, r.ID, client.VoteBody{Reason: "old log"}); err != nil {
		t.Fatalf("approve through B: %v", err)
	}
	got := <-waited
	if got == nil || got.State != "executed" {
		t.Fatalf("A's agent got %+v", got)
	}
	t.Logf("A's waiting agent learned of B's approval and the run in %s", time.Since(approved).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(work, "old.log")); !os.IsNotExist(err) {
		t.Errorf("old.log still there: %v", err)
	}
	for _, s := range []*server{a, b} {
		if v, err := client.New(s.addr, s.admin).Verify(ctx); err != nil || !v.OK {
			t.Errorf("verify through %s: %+v %v", s.addr, v, err)
		}
	}
	var types []string
	client.New(b.addr, b.admin).Events(ctx, client.AuditFilter{RequestID: r.ID}, func(e *client.Event) error {
		types = append(types, e.Type)
		return nil
	})
	if got, want := strings.Join(types, " "), "request.submitted request.decided review.voted request.approved request.executing request.executed"; got != want {
		t.Errorf("trail %q, want %q", got, want)
	}
}
