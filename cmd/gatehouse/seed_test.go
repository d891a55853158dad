package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/internal/pgtest"
)

const seedConfig = `version: 1
data_dir: DIR/data
targets:
  app-db:
    kind: postgres
    class: customer-data
    dsn_env: APP_DB_DSN
reviewers:
  alice: { token_env: ALICE_TOKEN }
  bob:   { token_env: BOB_TOKEN }
`

const (
	aliceToken  = "alice-token-for-tests-0123456789"
	bobToken    = "bob-token-for-tests-0123456789ab"
	seedDelete  = "DELETE FROM inactive_users WHERE last_login < '2025-01-01'"
	seedMatches = 12400
	seedOthers  = 3000
)

// seedDB makes the seed scenario's table: 12,400 users who last logged in
// before 2025 and 3,000 since.
func seedDB(t *testing.T) (dsn string, count func(where string) int64, exec func(sql string)) {
	t.Helper()
	dsn = pgtest.DSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	exec = func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE TABLE inactive_users (id bigserial PRIMARY KEY, email text NOT NULL, last_login timestamptz NOT NULL)`)
	exec(fmt.Sprintf(`INSERT INTO inactive_users (email, last_login)
		SELECT 'old' || i || '@example.com', timestamptz '2023-01-01' + (i || ' minutes')::interval FROM generate_series(1, %d) i`, seedMatches))
	exec(fmt.Sprintf(`INSERT INTO inactive_users (email, last_login)
		SELECT 'new' || i || '@example.com', timestamptz '2025-06-01' + (i || ' minutes')::interval FROM generate_series(1, %d) i`, seedOthers))
	exec(`CREATE TABLE inactive_test_users (LIKE inactive_users)`)
	exec(`ANALYZE`)
	count = func(where string) int64 {
		t.Helper()
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM inactive_users WHERE "+where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	return dsn, count, exec
}

// TestSeedScenario is the README's walkthrough: an agent's bulk DELETE on
// customer data goes to review with its impact, a reviewer denies it with
// a reason, the agent receives the reason, nothing is deleted and the
// trail shows it all. Then the approve path and the effect cap.
func TestSeedScenario(t *testing.T) {
	dsn, count, exec := seedDB(t)
	s := startServer(t, seedConfig, map[string]string{"APP_DB_DSN": dsn, "ALICE_TOKEN": aliceToken, "BOB_TOKEN": bobToken})
	sessionID, agent := s.session(t, "claude", "app-db:write")

	// Deny.
	agentErr, done := s.agentExec(t, agent, "--target", "app-db", "--", seedDelete)
	item := s.awaitPending(t, aliceToken, seedDelete, agentErr)
	if item.RiskLevel != "critical" || item.Reversible == nil || *item.Reversible || item.Target != "app-db" || item.Kind != "sql" ||
		item.SessionID != sessionID || item.Agent != "claude" || item.ApprovalsRequired != 1 || len(item.Reasons) == 0 {
		t.Errorf("review item: %+v", item)
	}
	if item.EstimatedRows == nil || *item.EstimatedRows < seedMatches*9/10 || *item.EstimatedRows > seedMatches*11/10 {
		t.Errorf("estimated_rows %v, want within 10%% of %d", item.EstimatedRows, seedMatches)
	}
	const why = "wrong table — should be inactive_test_users"
	if r := s.run(t, aliceToken, "review", "deny", item.ID, "--reason", why); r.code != 0 {
		t.Fatalf("review deny: %d %s", r.code, r.stderr)
	}
	res := <-done
	if res.code != exitExecDenied || !strings.Contains(res.stderr, "denied") || !strings.Contains(res.stderr, why) {
		t.Errorf("agent: exit %d, stderr %q; want %d with the reason", res.code, res.stderr, exitExecDenied)
	}
	if n := count("true"); n != seedMatches+seedOthers {
		t.Errorf("%d rows left after the denial, want %d", n, seedMatches+seedOthers)
	}
	evs := s.auditEvents(t, "--request", item.ID)
	if got, want := eventTypes(evs), "request.submitted request.decided review.voted request.denied"; got != want {
		t.Errorf("trail %q, want %q", got, want)
	} else {
		decided := evs[1]["data"].(map[string]any)
		if decided["policy_hash"] == "" || len(decided["reasons"].([]any)) < 2 || decided["risk_level"] != "critical" {
			t.Errorf("decided event lacks its factors or policy hash: %v", decided)
		}
		for _, e := range evs[2:] {
			data := e["data"].(map[string]any)
			if e["actor"] != "reviewer:alice" || data["reason"] != why {
				t.Errorf("%s event: actor %v reason %v", e["type"], e["actor"], data["reason"])
			}
		}
	}

	// Approve: the rows deleted equal the (exact) estimate.
	agentErr, done = s.agentExec(t, agent, "--target", "app-db", "--json", "--", seedDelete)
	item = s.awaitPending(t, bobToken, seedDelete, agentErr)
	if r := s.run(t, bobToken, "review", "approve", item.ID, "--reason", "confirmed with the data team"); r.code != 0 {
		t.Fatalf("review approve: %d %s", r.code, r.stderr)
	}
	res = <-done
	if res.code != 0 || !strings.Contains(res.stdout, `"state": "executed"`) || !strings.Contains(res.stdout, fmt.Sprintf(`"rows_affected": %d`, seedMatches)) {
		t.Errorf("approved delete: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if item.EstimatedRows == nil || *item.EstimatedRows != seedMatches {
		t.Errorf("estimate %v, want the exact count %d", item.EstimatedRows, seedMatches)
	}
	if n := count("last_login < '2025-01-01'"); n != 0 {
		t.Errorf("%d matching rows left", n)
	}
	if n := count("true"); n != seedOthers {
		t.Errorf("%d rows left, want %d", n, seedOthers)
	}

	// Effect cap: more rows match at execution than were approved.
	exec(`INSERT INTO inactive_users (email, last_login) SELECT 'x' || i, timestamptz '2024-01-01' FROM generate_series(1, 1000) i`)
	exec(`ANALYZE inactive_users`)
	agentErr, done = s.agentExec(t, agent, "--target", "app-db", "--", seedDelete)
	item = s.awaitPending(t, aliceToken, seedDelete, agentErr)
	exec(`INSERT INTO inactive_users (email, last_login) SELECT 'y' || i, timestamptz '2024-01-01' FROM generate_series(1, 500) i`)
	if r := s.run(t, aliceToken, "review", "approve", item.ID); r.code != 0 {
		t.Fatalf("review approve: %d %s", r.code, r.stderr)
	}
	res = <-done
	if res.code == 0 || !strings.Contains(res.stderr, "affected 1500 rows") || !strings.Contains(res.stderr, "1000") || !strings.Contains(res.stderr, "rolled back") {
		t.Errorf("capped delete: exit %d, stderr %q", res.code, res.stderr)
	}
	if n := count("last_login < '2025-01-01'"); n != 1500 {
		t.Errorf("%d matching rows after the rollback, want 1500", n)
	}
	// Writes without a plannable row count are unknown, never 0.
	agentClient := client.New(s.addr, agent)
	for _, sql := range []string{"TRUNCATE inactive_test_users", "DO $$ BEGIN DELETE FROM inactive_users; END $$"} {
		r, err := agentClient.Submit(context.Background(), client.Submit{Target: "app-db", Command: sql, Mode: "authorize"})
		if err != nil {
			t.Fatal(err)
		}
		if r.EstimatedRows != nil || r.Decision == "allow" {
			t.Errorf("%s: estimated_rows %s, decision %s; want unknown and not allowed", sql, rows(r.EstimatedRows), r.Decision)
		}
	}
	r := s.run(t, "", "audit", "verify")
	if r.code != 0 || !strings.Contains(r.stdout, "intact") {
		t.Errorf("audit verify: %d %s %s", r.code, r.stdout, r.stderr)
	}
	head := regexp.MustCompile(`head (\d+:[0-9a-f]{64})`).FindStringSubmatch(r.stdout)
	if head == nil {
		t.Fatalf("audit verify printed no head: %q", r.stdout)
	}
	if r := s.run(t, "", "audit", "verify", "--head", head[1]); r.code != 0 {
		t.Errorf("audit verify --head %s: %d %s", head[1], r.code, r.stderr)
	}
	forged := head[1][:len(head[1])-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(head[1], "0")]
	if r := s.run(t, "", "audit", "verify", "--head", forged); r.code != 1 || !strings.Contains(r.stderr, "NOT intact") {
		t.Errorf("audit verify with a head not on the chain: %d %s", r.code, r.stderr)
	}
}
