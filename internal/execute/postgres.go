package execute

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	pg "github.com/pganalyze/pg_query_go/v6"
)

// timeoutGrace is how long past the statement_timeout a statement may run
// before the client gives up on it: the server-side timeout is the one that
// should fire, but a statement can lift it (SET statement_timeout = 0).
const timeoutGrace = 5 * time.Second

// cleanupTimeout bounds ROLLBACK and closing a connection after the
// caller's context has ended.
const cleanupTimeout = 10 * time.Second

// Postgres runs SQL against one postgres target with the gateway's
// credential.
type Postgres struct {
	pool *pgxpool.Pool
}

// OpenPostgres connects to the target at dsn and checks that it can. Its
// errors never contain the DSN or its password.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parse error quotes the DSN, redacted only on a best-effort
		// basis, and wraps errors (url.Error) that quote it in full, so
		// neither its text nor the error itself may travel further.
		return nil, errors.New("parse target dsn: invalid connection string (details withheld: they may contain the password)")
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "gatehouse"
	}
	// When a context ends mid-statement, ask the server to cancel the
	// statement, rather than only dropping the connection (pgx's default),
	// which leaves the server running it, holding its locks, to the end.
	cfg.ConnConfig.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: timeoutGrace}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to target database: %w", err)
	}
	// pgconn's connect errors name the user, database and host but never
	// the password.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to target database: %w", err)
	}
	return &Postgres{pool: pool}, nil
}

// Close closes the connections to the target.
func (p *Postgres) Close() {
	p.pool.Close()
}

// Cap limits how many rows an execution may affect: more than Approved +
// Approved*Percent/100 + Rows is rolled back.
type Cap struct {
	// Approved is the estimate the approval was given for; nil: no cap.
	Approved *int64
	// Percent is the proportional slack over Approved; the gateway uses 10.
	Percent float64
	// Rows is the absolute slack over Approved; the gateway uses 10.
	Rows int64
}

// limit is the most rows c allows, and whether there is a cap at all.
func (c Cap) limit() (int64, bool) {
	if c.Approved == nil {
		return 0, false
	}
	a := *c.Approved
	return a + int64(math.Floor(float64(a)*c.Percent/100)) + c.Rows, true
}

// Run executes sql in one transaction: its statements in order, each under
// statement_timeout = timeout (0: 5 minutes). RowsAffected sums the rows
// that INSERT, UPDATE, DELETE and MERGE statements report; Output renders
// the rows of the last statement that returned rows (a header line of
// column names, then tab-separated values in COPY text format, \N for
// NULL), capped at maxOutput bytes (0: 1 MiB).
//
// If the rows affected exceed the cap c, the transaction is rolled back and
// the Result says so. A SQL error rolls back the whole transaction and is
// the Result's Error, with its SQLSTATE. Transaction control (BEGIN,
// COMMIT, ...) and COPY FROM STDIN are refused before anything runs. Run
// returns an error only when the database cannot be reached at all.
//
// Triggers and foreign-key cascades are not counted: only the rows the
// statements themselves report.
func (p *Postgres) Run(ctx context.Context, sql string, c Cap, timeout time.Duration, maxOutput int) (*Result, error) {
	start := time.Now()
	timeout = cmp.Or(timeout, defaultTimeout)
	maxOutput = cmp.Or(maxOutput, defaultMaxOutput)
	finish := func(r *Result) (*Result, error) {
		r.DurationMS = time.Since(start).Milliseconds()
		return r, nil
	}

	stmts, err := pg.SplitWithParser(sql, true)
	if err != nil {
		return finish(&Result{Error: "parse: " + err.Error()})
	}
	if err := checkRunnable(stmts); err != nil {
		return finish(&Result{Error: err.Error()})
	}

	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to target database: %w", err)
	}
	// The SQL may change its session (SET ROLE, temporary tables, session
	// advisory locks, prepared statements); the connection is never handed
	// back to the pool for another command to inherit that.
	own := conn.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		own.Close(cctx)
	}()
	pc := own.PgConn()

	if _, err := execOne(ctx, pc, "BEGIN"); err != nil {
		return nil, fmt.Errorf("begin transaction on target database: %w", err)
	}
	r := &run{ctx: ctx, pc: pc, stmts: stmts, cap: c, timeout: timeout, maxOutput: maxOutput}
	return finish(r.do())
}

// run is the state of one [Postgres.Run] inside its transaction.
type run struct {
	ctx       context.Context
	pc        *pgconn.PgConn
	stmts     []string
	cap       Cap
	timeout   time.Duration
	maxOutput int

	affected int64
	out      *cappedBuffer // rows of the last row-returning statement
}

// do runs the statements and commits, or rolls back and says why.
func (r *run) do() *Result {
	ms := max(r.timeout.Milliseconds(), 1)
	if _, err := execOne(r.ctx, r.pc, fmt.Sprintf("SET LOCAL statement_timeout = %d", ms)); err != nil {
		return r.rollback("set statement_timeout: " + r.describe(r.ctx, err))
	}
	for i, stmt := range r.stmts {
		if err := r.statement(stmt); err != nil {
			return r.rollback(r.where(i) + err.Error())
		}
		if limit, ok := r.cap.limit(); ok && r.affected > limit {
			res := r.rollback(fmt.Sprintf("affected %d rows, more than the approved estimate of %d allows (at most %d); rolled back",
				r.affected, *r.cap.Approved, limit))
			res.RowsAffected = &r.affected
			return res
		}
	}
	tag, err := execOne(r.ctx, r.pc, "COMMIT")
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			// A deferred constraint failed: the server rolled back.
			return r.result("commit: " + pgErr.Error() + "; rolled back")
		}
		return r.result("commit outcome unknown: " + r.describe(r.ctx, err))
	}
	if tag.String() != "COMMIT" {
		return r.result("the server rolled the transaction back (" + tag.String() + ")")
	}
	res := r.result("")
	res.RowsAffected = &r.affected
	return res
}

// statement runs one statement, counting its rows and rendering any it
// returns. Its error is fit for a Result.
func (r *run) statement(stmt string) error {
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout+timeoutGrace)
	defer cancel()
	rr := r.pc.ExecParams(ctx, stmt, nil, nil, nil, nil) // nil result formats: text
	if fields := rr.FieldDescriptions(); len(fields) > 0 {
		r.out = newCappedBuffer(r.maxOutput)
		names := make([][]byte, len(fields))
		for i, f := range fields {
			names[i] = []byte(f.Name)
		}
		writeRow(r.out, names)
		for rr.NextRow() {
			writeRow(r.out, rr.Values())
		}
	}
	tag, err := rr.Close()
	if err != nil {
		return errors.New(r.describe(ctx, err))
	}
	if tag.Insert() || tag.Update() || tag.Delete() || strings.HasPrefix(tag.String(), "MERGE ") {
		r.affected += tag.RowsAffected()
	}
	return nil
}

// describe is the text of an error from the database: PostgreSQL's own
// message and SQLSTATE where there is one. ctx is the statement's context,
// whose end means the statement ran past its statement_timeout.
func (r *run) describe(ctx context.Context, err error) string {
	var pgErr *pgconn.PgError
	switch {
	case r.ctx.Err() != nil:
		return "canceled: " + context.Cause(r.ctx).Error()
	case ctx.Err() != nil:
		return "timed out after " + (r.timeout + timeoutGrace).String()
	case errors.As(err, &pgErr):
		return pgErr.Error()
	default:
		return "lost the connection to the target database: " + err.Error()
	}
}

// where prefixes an error with the statement it came from, when there are
// several.
func (r *run) where(i int) string {
	if len(r.stmts) < 2 {
		return ""
	}
	return fmt.Sprintf("statement %d of %d: ", i+1, len(r.stmts))
}

// rollback ends the transaction and returns a failed Result.
func (r *run) rollback(why string) *Result {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), cleanupTimeout)
	defer cancel()
	// A failed ROLLBACK means a broken connection, which the server ends
	// with a rollback of its own; the connection is closed after Run.
	_, _ = execOne(ctx, r.pc, "ROLLBACK")
	return r.result(why)
}

// result is a Result with the rendered rows and the error why.
func (r *run) result(why string) *Result {
	res := &Result{Error: why}
	if r.out != nil {
		res.Output, res.Truncated = r.out.output()
	}
	return res
}

// writeRow writes one line of COPY text format: tab-separated, with
// backslash escapes for the separators and \N for NULL.
func writeRow(w *cappedBuffer, values [][]byte) {
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteByte('\t')
		}
		if v == nil {
			b.WriteString(`\N`)
			continue
		}
		for _, c := range v {
			switch c {
			case '\\':
				b.WriteString(`\\`)
			case '\t':
				b.WriteString(`\t`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			default:
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('\n')
	w.WriteString(b.String())
}

// checkRunnable refuses the statements Run cannot keep inside its one
// transaction or cannot feed.
func checkRunnable(stmts []string) error {
	for _, s := range stmts {
		tree, err := pg.Parse(s)
		if err != nil {
			return fmt.Errorf("parse: %w", err)
		}
		for _, raw := range tree.Stmts {
			if t := raw.Stmt.GetTransactionStmt(); t != nil {
				return fmt.Errorf("transaction control (%s) is not allowed: the command runs as one transaction that the gateway commits or rolls back",
					strings.TrimPrefix(t.Kind.String(), "TRANS_STMT_"))
			}
			if c := raw.Stmt.GetCopyStmt(); c != nil && c.IsFrom && c.Filename == "" && !c.IsProgram {
				return errors.New("COPY FROM STDIN is not supported: the command has no input stream")
			}
		}
	}
	return nil
}

// execOne runs one statement and discards any rows.
func execOne(ctx context.Context, pc *pgconn.PgConn, sql string) (pgconn.CommandTag, error) {
	return pc.ExecParams(ctx, sql, nil, nil, nil, nil).Close()
}

// queryValue runs one statement and returns the first column of its first
// row, as text.
func queryValue(ctx context.Context, pc *pgconn.PgConn, sql string) (string, error) {
	rr := pc.ExecParams(ctx, sql, nil, nil, nil, nil)
	var v string
	got := false
	for rr.NextRow() {
		if vals := rr.Values(); !got && len(vals) > 0 {
			v, got = string(vals[0]), true
		}
	}
	if _, err := rr.Close(); err != nil {
		return "", err
	}
	if !got {
		return "", errors.New("no rows")
	}
	return v, nil
}
