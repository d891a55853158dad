package execute_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/internal/execute"
	"github.com/gatehouse/gatehouse/internal/pgtest"
)

const (
	matching   = 12400 // rows with last_login < '2025-01-01'
	notMatched = 600
	staleUsers = `DELETE FROM t WHERE last_login < '2025-01-01'`
)

// target is a database with table t of matching+notMatched rows (ids 1 to
// 13000, the matching ones first), opened as an execute target, and a
// separate connection to inspect it.
type target struct {
	pg    *execute.Postgres
	admin *pgx.Conn
	dsn   string
}

func newTarget(t *testing.T) *target {
	t.Helper()
	dsn := pgtest.DSN(t)
	admin, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	mustExec(t, admin, `CREATE TABLE t (id int PRIMARY KEY, last_login date NOT NULL, note text)`)
	mustExec(t, admin, `INSERT INTO t SELECT g, date '2024-01-01' + g % 300, NULL FROM generate_series(1, $1::int) g`, matching)
	mustExec(t, admin, `INSERT INTO t SELECT g, date '2025-03-01' + g % 100, NULL FROM generate_series($1::int + 1, $1::int + $2::int) g`, matching, notMatched)
	mustExec(t, admin, `ANALYZE t`)

	p, err := execute.OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return &target{pg: p, admin: admin, dsn: dsn}
}

func mustExec(t *testing.T, c *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := c.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (tg *target) count(t *testing.T, where string) int64 {
	t.Helper()
	var n int64
	if err := tg.admin.QueryRow(t.Context(), "SELECT count(*) FROM t WHERE "+where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (tg *target) run(t *testing.T, sql string, c execute.Cap) *execute.Result {
	t.Helper()
	res, err := tg.pg.Run(t.Context(), sql, c, 10*time.Second, 0)
	if err != nil {
		t.Fatalf("Run(%q): %v", sql, err)
	}
	return res
}

func ptr[T any](v T) *T { return &v }

func TestEstimate(t *testing.T) {
	tg := newTarget(t)
	mustExec(t, tg.admin, `CREATE TABLE gone (id int)`)
	mustExec(t, tg.admin, `INSERT INTO gone SELECT g FROM generate_series(1, 50) g, generate_series(1, 2)`) // each id twice
	mustExec(t, tg.admin, `ANALYZE gone`)

	for _, tc := range []struct {
		name       string
		sql        string
		exactBelow int64
		want       int64
		tolerance  float64 // 0: exact value
		wantExact  bool
	}{
		{"planned", staleUsers, 0, matching, 0.10, false},
		{"counted below the threshold", staleUsers, 100000, matching, 0, true},
		{"planned above the threshold", staleUsers, 1000, matching, 0.10, false},
		{"update", `UPDATE t SET note = 'x' WHERE last_login >= '2025-01-01'`, 100000, notMatched, 0, true},
		{"statements summed", staleUsers + `; UPDATE t SET note = 'x' WHERE id > 12900`, 100000, matching + 100, 0, true},
		// Counting reads only the target table: a USING list or a
		// subquery would let the count answer questions about other
		// tables before review, so those are planned, not counted.
		{"using list planned", `DELETE FROM t USING gone g WHERE t.id = g.id`, 100000, 100, 1.0, false},
		{"subquery planned", `DELETE FROM t WHERE (SELECT count(*) FROM gone) > 0`, 100000, matching + notMatched, 0.10, false},
		{"secret oracle planned", `DELETE FROM t WHERE (SELECT substr(rolpassword, 1, 5) FROM pg_authid LIMIT 1) = 'SCRAM'`, 100000, matching + notMatched, 0.10, false},
		{"alias and ONLY", `DELETE FROM ONLY t AS u WHERE u.id <= 10`, 100000, 10, 0, true},
		{"pure function counted", `DELETE FROM t WHERE last_login < date_trunc('year', date '2025-06-01')`, 100000, matching, 0, true},
		{"insert select planned", `INSERT INTO t SELECT id + 100000, last_login FROM t WHERE id <= 1000`, 100000, 1000, 0.10, false},
		{"data-modifying WITH", `WITH d AS (` + staleUsers + ` RETURNING 1) SELECT count(*) FROM d`, 100000, matching, 0.10, false},
		{"EXPLAIN ANALYZE runs its statement", `EXPLAIN ANALYZE ` + staleUsers, 100000, matching, 0, true},
		{"plain EXPLAIN runs nothing", `EXPLAIN ` + staleUsers, 100000, 0, 0, false},
		{"select only", `SELECT * FROM t`, 100000, 0, 0, false},
		{"DDL only", `CREATE TABLE x (id int)`, 100000, 0, 0, false},
		{"empty", ``, 100000, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			est := tg.pg.Estimate(t.Context(), tc.sql, tc.exactBelow)
			if est.Rows == nil {
				t.Fatalf("Estimate = nil rows (%s)", est.Error)
			}
			got := *est.Rows
			if tc.tolerance == 0 && got != tc.want {
				t.Errorf("Rows = %d, want %d", got, tc.want)
			}
			if tc.tolerance > 0 && (float64(got) < float64(tc.want)*(1-tc.tolerance) || float64(got) > float64(tc.want)*(1+tc.tolerance)) {
				t.Errorf("Rows = %d, want %d ±%.0f%%", got, tc.want, tc.tolerance*100)
			}
			if est.Exact != tc.wantExact {
				t.Errorf("Exact = %v, want %v", est.Exact, tc.wantExact)
			}
		})
	}
	if n := tg.count(t, "true"); n != matching+notMatched {
		t.Errorf("estimating changed the table: %d rows, want %d", n, matching+notMatched)
	}
}

func TestEstimateUnknown(t *testing.T) {
	tg := newTarget(t)
	for _, tc := range []struct{ name, sql, wantErr string }{
		{"syntax error", `DELEET FROM t`, "syntax error"},
		{"missing table", `DELETE FROM nope WHERE id = 1`, `relation "nope" does not exist`},
		{"missing table after a known one", staleUsers + `; UPDATE nope SET x = 1`, "42P01"},
		{"parameter without a value", `DELETE FROM t WHERE id = $1`, "requires 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			est := tg.pg.Estimate(t.Context(), tc.sql, 100000)
			if est.Rows != nil {
				t.Fatalf("Rows = %d, want nil", *est.Rows)
			}
			if !strings.Contains(est.Error, tc.wantErr) {
				t.Errorf("Error = %q, want it to contain %q", est.Error, tc.wantErr)
			}
		})
	}
	// The failed estimates left no transaction open on the pooled connections.
	if est := tg.pg.Estimate(t.Context(), staleUsers, 100000); est.Rows == nil || *est.Rows != matching {
		t.Errorf("estimate after failures = %+v", est)
	}
}

// An exact count evaluates the WHERE clause before approval; a function
// with an effect (here a session lock that would outlive the rollback)
// must not run.
func TestEstimateDoesNotRunImpureFunctions(t *testing.T) {
	tg := newTarget(t)
	est := tg.pg.Estimate(t.Context(), `DELETE FROM t WHERE id <= 10 AND pg_advisory_lock(4242) IS NOT NULL`, 100000)
	if est.Rows == nil {
		t.Fatalf("Estimate: %s", est.Error)
	}
	if est.Exact {
		t.Error("counted exactly through a function with effects")
	}
	var locks int
	if err := tg.admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242`).Scan(&locks); err != nil {
		t.Fatal(err)
	}
	if locks != 0 {
		t.Errorf("the WHERE clause ran before approval: %d advisory locks held", locks)
	}
}

func TestRunCap(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cap       execute.Cap
		wantErr   string
		wantAfter int64 // rows matching the DELETE afterwards
	}{
		{"within the approval", execute.Cap{Approved: ptr[int64](matching), Percent: 10, Rows: 10}, "", 0},
		{"no cap", execute.Cap{}, "", 0},
		{"slack allows it", execute.Cap{Approved: ptr[int64](11264), Percent: 10, Rows: 10}, "", 0}, // 11264+1126+10 = 12400
		{"over the approval", execute.Cap{Approved: ptr[int64](1000), Percent: 10, Rows: 10},
			"affected 12400 rows, more than the approved estimate of 1000 allows (at most 1110); rolled back", matching},
		{"one over the slack", execute.Cap{Approved: ptr[int64](11263), Percent: 10, Rows: 10},
			"affected 12400 rows, more than the approved estimate of 11263 allows (at most 12399); rolled back", matching},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTarget(t)
			res := tg.run(t, staleUsers, tc.cap)
			if res.Error != tc.wantErr {
				t.Errorf("Error = %q, want %q", res.Error, tc.wantErr)
			}
			if res.RowsAffected == nil || *res.RowsAffected != matching {
				t.Errorf("RowsAffected = %v, want %d", res.RowsAffected, matching)
			}
			if res.OK() != (tc.wantErr == "") {
				t.Errorf("OK() = %v", res.OK())
			}
			if n := tg.count(t, "last_login < '2025-01-01'"); n != tc.wantAfter {
				t.Errorf("%d matching rows afterwards, want %d", n, tc.wantAfter)
			}
			if n := tg.count(t, "last_login >= '2025-01-01'"); n != notMatched {
				t.Errorf("%d other rows afterwards, want %d", n, notMatched)
			}
		})
	}
}

func TestRunOutput(t *testing.T) {
	tg := newTarget(t)
	mustExec(t, tg.admin, `CREATE TABLE s (id int, name text)`)
	mustExec(t, tg.admin, "INSERT INTO s VALUES (1, 'plain'), (2, NULL), (3, E'tab\\there'), (4, E'two\\nlines\\\\')")

	for _, tc := range []struct {
		name, sql     string
		maxOutput     int
		want          string
		wantTruncated bool
	}{
		{"rows as COPY text", `SELECT id, name FROM s ORDER BY id`, 0,
			"id\tname\n1\tplain\n2\t\\N\n3\ttab\\there\n4\ttwo\\nlines\\\\\n", false},
		{"last statement returning rows", `SELECT 1 AS a; SELECT 2 AS b; UPDATE s SET id = id`, 0, "b\n2\n", false},
		{"returning", `UPDATE t SET note = 'n' WHERE id = 7 RETURNING id, note`, 0, "id\tnote\n7\tn\n", false},
		{"no rows", `UPDATE s SET id = id`, 0, "", false},
		{"truncated", `SELECT g FROM generate_series(1, 1000) g`, 20, "g\n1\n2\n3\n4\n5\n6\n7\n8\n9\n" +
			"\n[output truncated: 3875 more bytes]", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tg.pg.Run(t.Context(), tc.sql, execute.Cap{}, 10*time.Second, tc.maxOutput)
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK() {
				t.Fatalf("Run failed: %s", res.Error)
			}
			if res.Output != tc.want {
				t.Errorf("Output = %q, want %q", res.Output, tc.want)
			}
			if res.Truncated != tc.wantTruncated {
				t.Errorf("Truncated = %v, want %v", res.Truncated, tc.wantTruncated)
			}
		})
	}
}

func TestRunErrorRollsBack(t *testing.T) {
	tg := newTarget(t)
	res := tg.run(t, `DELETE FROM t WHERE id <= 100; SELECT 1/0`, execute.Cap{})
	if res.OK() || !strings.Contains(res.Error, "division by zero") || !strings.Contains(res.Error, "SQLSTATE 22012") {
		t.Errorf("Error = %q, want the division by zero with its SQLSTATE", res.Error)
	}
	if !strings.HasPrefix(res.Error, "statement 2 of 2: ") {
		t.Errorf("Error = %q, want it to name statement 2", res.Error)
	}
	if n := tg.count(t, "id <= 100"); n != 100 {
		t.Errorf("the DELETE before the error was not rolled back: %d of 100 rows left", n)
	}
}

func TestRunSumsStatements(t *testing.T) {
	tg := newTarget(t)
	res := tg.run(t, `UPDATE t SET note = 'old' WHERE id <= 100;
		DELETE FROM t WHERE id > 12900;
		INSERT INTO t VALUES (20000, '2026-01-01', NULL), (20001, '2026-01-01', NULL);
		SELECT count(*) FROM t`, execute.Cap{Approved: ptr[int64](202), Percent: 0, Rows: 0})
	if !res.OK() {
		t.Fatalf("Run failed: %s", res.Error)
	}
	if res.RowsAffected == nil || *res.RowsAffected != 202 {
		t.Errorf("RowsAffected = %v, want 202", res.RowsAffected)
	}
	if res.Output != "count\n12902\n" {
		t.Errorf("Output = %q", res.Output)
	}
	if n := tg.count(t, "note = 'old'"); n != 100 {
		t.Errorf("%d updated rows, want 100", n)
	}
}

func TestRunRefusals(t *testing.T) {
	tg := newTarget(t)
	for _, tc := range []struct{ name, sql, wantErr string }{
		// COMMIT would end the capped transaction and let what follows run
		// in autocommit, beyond the cap's reach.
		{"commit", `DELETE FROM t; COMMIT; DELETE FROM t`, "transaction control (COMMIT) is not allowed"},
		{"begin", `BEGIN; DELETE FROM t`, "transaction control (BEGIN) is not allowed"},
		{"copy from stdin", `COPY t FROM STDIN`, "COPY FROM STDIN is not supported"},
		{"syntax error", `DELETE FROM t WHERE`, "syntax error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tg.run(t, tc.sql, execute.Cap{})
			if !strings.Contains(res.Error, tc.wantErr) {
				t.Errorf("Error = %q, want it to contain %q", res.Error, tc.wantErr)
			}
			if n := tg.count(t, "true"); n != matching+notMatched {
				t.Errorf("%d rows left, want all %d", n, matching+notMatched)
			}
		})
	}
}

func TestRunTimeout(t *testing.T) {
	tg := newTarget(t)
	start := time.Now()
	res, err := tg.pg.Run(t.Context(), `DELETE FROM t WHERE id = 1; SELECT pg_sleep(30)`, execute.Cap{}, 200*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Run took %v with a 200ms timeout", time.Since(start))
	}
	if !strings.Contains(res.Error, "statement timeout") || !strings.Contains(res.Error, "57014") {
		t.Errorf("Error = %q, want a statement timeout", res.Error)
	}
	if n := tg.count(t, "id = 1"); n != 1 {
		t.Error("the DELETE before the timeout was not rolled back")
	}
}

// A statement that lifts its own statement_timeout is stopped by the
// client, and the server stops running it too.
func TestRunTimeoutBackstop(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	res, err := tg.pg.Run(t.Context(), `SET statement_timeout = 0; SELECT pg_sleep(31)`, execute.Cap{}, 200*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "statement 2 of 2: timed out after 5.2s"; res.Error != want {
		t.Errorf("Error = %q, want %q", res.Error, want)
	}
	var active int
	if err := tg.admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(31)'`).Scan(&active); err != nil {
		t.Fatal(err)
	}
	if active != 0 {
		t.Error("the server is still running the statement")
	}
}

// What one command does to its session (temporary tables, settings) must
// not be there for the next.
func TestRunSessionsAreNotShared(t *testing.T) {
	tg := newTarget(t)
	if res := tg.run(t, `CREATE TEMP TABLE leftover (id int); SET search_path = nowhere`, execute.Cap{}); !res.OK() {
		t.Fatalf("first command failed: %s", res.Error)
	}
	for range 3 {
		res := tg.run(t, `SELECT current_setting('search_path') AS p, to_regclass('pg_temp.leftover') IS NULL AS clean`, execute.Cap{})
		if want := "p\tclean\n\"$user\", public\tt\n"; res.Output != want {
			t.Fatalf("a later command saw the earlier session: %q, want %q", res.Output, want)
		}
	}
}

func TestOpenPostgresErrorsHideThePassword(t *testing.T) {
	dsn := pgtest.DSN(t)
	admin, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) }) // after the DROP below
	mustExec(t, admin, `CREATE ROLE execute_probe LOGIN PASSWORD 'Right-Passw0rd-417'`)
	t.Cleanup(func() {
		admin.Exec(context.Background(), `DROP ROLE IF EXISTS execute_probe`)
	})

	withPassword := func(pw string) string {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword("execute_probe", pw)
		return u.String()
	}

	// The right password works, so the wrong one fails for being wrong.
	p, err := execute.OpenPostgres(t.Context(), withPassword("Right-Passw0rd-417"))
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	p.Close()

	const secret = "Wr0ng-S3cret-PW-9931"
	for name, dsn := range map[string]string{
		"wrong password":     withPassword(secret),
		"unparsable url":     "postgres://execute_probe:" + secret + "@127.0.0.1:notaport/db",
		"unparsable keyword": "host=127.0.0.1 port=notaport password=" + secret,
		"bad url escape":     "postgres://execute_probe:" + secret + "%zz@127.0.0.1/db",
	} {
		t.Run(name, func(t *testing.T) {
			p, err := execute.OpenPostgres(t.Context(), dsn)
			if err == nil {
				p.Close()
				t.Fatal("OpenPostgres succeeded")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error contains the password: %v", err)
			}
			t.Log(err)
		})
	}
}
