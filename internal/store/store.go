// Package store keeps the gateway's state (sessions, requests) and its
// audit trail in one SQL database, so that every state change and its
// audit events commit in one transaction. It implements [gateway.Store]
// over database/sql; internal/store/sqlite and internal/store/postgres
// open it on their database.
//
// Writes go through one writer goroutine that commits whatever is queued
// as one transaction (group commit): under load many requests share one
// fsync, and the hash chain is extended in order without a lock on the
// hot path. Every write transaction first takes the chain head row (FOR
// UPDATE on PostgreSQL), which serializes writers across replicas.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/gateway"
)

var _ gateway.Store = (*Store)(nil)

// Options are what differs between databases.
type Options struct {
	// ForUpdate is appended to the SELECTs of rows a write transaction
	// changes (" FOR UPDATE" on PostgreSQL; SQLite locks the database).
	ForUpdate string
	// Notify, when set, tells other replicas inside the transaction which
	// requests changed (PostgreSQL NOTIFY, delivered at commit).
	Notify func(ctx context.Context, tx *sql.Tx, ids []string) error
	// Watch, when set, receives every replica's notifications; otherwise
	// changes are announced in this process after each commit.
	Watch func(ctx context.Context, fn func(id string)) error
	// MaxBatch caps the operations committed in one transaction (default 256).
	MaxBatch int
	// Close closes what the backend opened besides the database.
	Close func() error
}

// Store is the SQL implementation of [gateway.Store].
type Store struct {
	db   *sql.DB
	opts Options
	ops  chan *op
	quit chan struct{}
	done chan struct{}

	stmts map[string]*sql.Stmt // prepared statements of the writer, by text

	mu       sync.Mutex
	watchers map[int]func(string)
	nextW    int
	closed   bool
}

// op is one write: run does its reads and writes inside the batch's
// transaction and must not have written anything when it returns an
// error of the caller's (errCaller).
type op struct {
	ctx  context.Context
	run  func(b *batch) error
	errc chan error
}

// callerError is an error of an operation's callback: the operation wrote
// nothing and the batch goes on.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }
func (e callerError) Unwrap() error { return e.err }

// New returns a store on db, whose schema it creates if needed, and
// starts its writer.
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if err := migrate(ctx, db); err != nil {
		// Another gateway may have created the schema at the same moment.
		if err2 := migrate(ctx, db); err2 != nil {
			return nil, err
		}
	}
	s := &Store{db: db, opts: opts, ops: make(chan *op, 1024), quit: make(chan struct{}), done: make(chan struct{}),
		watchers: map[int]func(string){}, stmts: map[string]*sql.Stmt{}}
	go s.writer()
	return s, nil
}

// SchemaVersion is the version of the schema this code writes. A database
// of a newer version is refused, an older one migrated (none exist yet).
const SchemaVersion = 1

// ErrSchema is returned for a database this version cannot use.
var ErrSchema = errors.New("incompatible database schema")

// migrate creates the schema in an empty database and checks the version
// of an existing one.
func migrate(ctx context.Context, db *sql.DB) error {
	var version int
	err := db.QueryRowContext(ctx, `SELECT version FROM gatehouse_schema`).Scan(&version)
	switch {
	case err == nil && version == SchemaVersion:
		return nil
	case err == nil:
		return fmt.Errorf("%w: the database has schema version %d and this gatehouse knows %d; use a gatehouse at least as new as the one that wrote it", ErrSchema, version, SchemaVersion)
	}
	var one int
	if err := db.QueryRowContext(ctx, `SELECT 1 FROM requests LIMIT 1`).Scan(&one); err == nil || errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: the database has gatehouse tables but no schema version (a development build wrote it); move it aside and start afresh", ErrSchema)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, stmt := range schema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO gatehouse_schema (version) VALUES ($1)`, SchemaVersion); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	return nil
}

var schema = []string{
	`CREATE TABLE gatehouse_schema (version INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS sessions (
		id TEXT PRIMARY KEY,
		token_hash TEXT NOT NULL UNIQUE,
		seq BIGINT NOT NULL DEFAULT 0,
		expires_at TEXT NOT NULL,
		ended_at TEXT NOT NULL,
		body TEXT NOT NULL)`,
	// The columns besides body are what listings and the sweeper read
	// without decoding bodies (which hold up to 1 MiB of command).
	`CREATE TABLE IF NOT EXISTS requests (
		id TEXT PRIMARY KEY,
		session_id TEXT NOT NULL,
		state TEXT NOT NULL,
		mode TEXT NOT NULL,
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL,
		expires_at TEXT NOT NULL,
		run_deadline TEXT NOT NULL,
		body TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS requests_state ON requests (state, created_at)`,
	`CREATE INDEX IF NOT EXISTS requests_session ON requests (session_id, created_at)`,
	`CREATE TABLE IF NOT EXISTS events (
		seq BIGINT PRIMARY KEY,
		time TEXT NOT NULL,
		type TEXT NOT NULL,
		session_id TEXT NOT NULL,
		session_seq BIGINT NOT NULL,
		request_id TEXT NOT NULL,
		actor TEXT NOT NULL,
		data TEXT NOT NULL,
		prev_hash TEXT NOT NULL,
		hash TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS events_session ON events (session_id, seq)`,
	`CREATE INDEX IF NOT EXISTS events_request ON events (request_id, seq)`,
	`CREATE TABLE IF NOT EXISTS audit_head (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		seq BIGINT NOT NULL,
		hash TEXT NOT NULL)`,
	`INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '') ON CONFLICT (id) DO NOTHING`,
}

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("store closed")

// Close stops the writer after the queued writes and closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.quit)
	<-s.done
	var errs []error
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	errs = append(errs, s.db.Close())
	if s.opts.Close != nil {
		errs = append(errs, s.opts.Close())
	}
	return errors.Join(errs...)
}

// DB is the underlying database, for tests that tamper with the trail.
func (s *Store) DB() *sql.DB { return s.db }

// write queues run and waits for its batch to commit.
func (s *Store) write(ctx context.Context, run func(b *batch) error) error {
	o := &op{ctx: ctx, run: run, errc: make(chan error, 1)}
	select {
	case s.ops <- o:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the outcome is waited for even if ctx ends: the caller
	// must not believe a committed change did not happen. If Close won the
	// race and the writer is gone without taking the op, it never ran.
	select {
	case err := <-o.errc:
		return err
	case <-s.done:
		select {
		case err := <-o.errc:
			return err
		default:
			return ErrClosed
		}
	}
}

func (s *Store) writer() {
	defer close(s.done)
	for {
		var first *op
		select {
		case first = <-s.ops:
		case <-s.quit:
			s.drain()
			return
		}
		ops := []*op{first}
	more:
		for len(ops) < s.opts.MaxBatch {
			select {
			case o := <-s.ops:
				ops = append(ops, o)
			default:
				break more
			}
		}
		s.commit(ops)
	}
}

// drain commits what was queued before Close.
func (s *Store) drain() {
	for {
		select {
		case o := <-s.ops:
			s.commit([]*op{o})
		default:
			return
		}
	}
}

// commit runs ops in one transaction. If the transaction fails as a
// whole, each op is retried alone so that one bad write does not fail
// the others.
func (s *Store) commit(ops []*op) {
	live := ops[:0:0]
	for _, o := range ops {
		if err := o.ctx.Err(); err != nil {
			o.errc <- err
			continue
		}
		live = append(live, o)
	}
	if len(live) == 0 {
		return
	}
	results, ids, err := s.commitBatch(live)
	if err != nil && len(live) > 1 {
		for _, o := range live {
			s.commit1(o)
		}
		return
	}
	// Watchers in this process hear of the change before the writers
	// return: a session ended here is dropped from every cache before
	// EndSession's caller goes on.
	if err == nil {
		s.announce(ids)
	}
	for i, o := range live {
		if err != nil {
			o.errc <- err
		} else {
			o.errc <- results[i]
		}
	}
}

func (s *Store) commit1(o *op) {
	results, ids, err := s.commitBatch([]*op{o})
	if err != nil {
		o.errc <- err
		return
	}
	s.announce(ids)
	o.errc <- results[0]
}

// BatchTimeout bounds one write transaction: a database that hangs makes
// writes fail (and requests answer "unavailable") instead of hanging them.
const BatchTimeout = 30 * time.Second

func (s *Store) commitBatch(ops []*op) (results []error, changed []string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), BatchTimeout)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	b := &batch{s: s, tx: tx, ctx: ctx, sessions: map[string]*sessionRow{}}
	if err := b.queryRow(`SELECT seq, hash FROM audit_head WHERE id = 1`+s.opts.ForUpdate).Scan(&b.head.Seq, &b.head.Hash); err != nil {
		return nil, nil, fmt.Errorf("read audit head: %w", err)
	}
	if b.head.Hash == "" {
		b.head.Hash = audit.Genesis
	}
	start := b.head
	results = make([]error, len(ops))
	for i, o := range ops {
		err := runOp(o, b)
		var ce callerError
		if errors.As(err, &ce) {
			results[i] = ce.err
			continue
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if b.head != start {
		if _, err := b.exec(`UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, b.head.Seq, b.head.Hash); err != nil {
			return nil, nil, fmt.Errorf("write audit head: %w", err)
		}
	}
	for id, row := range b.sessions {
		if row.seq == row.seqRead {
			continue
		}
		if _, err := b.exec(`UPDATE sessions SET seq = $1 WHERE id = $2`, row.seq, id); err != nil {
			return nil, nil, fmt.Errorf("number session events: %w", err)
		}
	}
	if len(b.changed) > 0 && s.opts.Notify != nil {
		if err := s.opts.Notify(ctx, tx, b.changed); err != nil {
			return nil, nil, fmt.Errorf("notify: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("commit: %w", err)
	}
	return results, b.changed, nil
}

// runOp runs an operation; a panic in it fails the batch (which is then
// retried one operation at a time, so that only the panicking one fails)
// instead of killing the writer every write depends on.
func runOp(o *op, b *batch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store operation panicked: %v", r)
		}
	}()
	return o.run(b)
}

// batch is the state of one write transaction.
type batch struct {
	s        *Store
	tx       *sql.Tx
	ctx      context.Context
	head     audit.Head
	sessions map[string]*sessionRow // read once per batch
	changed  []string
}

// sessionRow is what a batch knows of a session: its event numbering and
// whether it is active.
type sessionRow struct {
	seq, seqRead     int64
	expires, endedAt time.Time
}

// session reads a session's row once per batch; gateway.ErrNotFound when
// there is none.
func (b *batch) session(id string) (*sessionRow, error) {
	if row, ok := b.sessions[id]; ok {
		return row, nil
	}
	var expires, ended string
	row := &sessionRow{}
	err := b.queryRow(`SELECT seq, expires_at, ended_at FROM sessions WHERE id = $1`+b.s.opts.ForUpdate, id).Scan(&row.seq, &expires, &ended)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	row.seqRead, row.expires, row.endedAt = row.seq, parseTime(expires), parseTime(ended)
	b.sessions[id] = row
	return row, nil
}

// append seals and inserts events, extending the chain and numbering each
// session's events.
func (b *batch) append(evs []audit.Event) error {
	for i := range evs {
		e := &evs[i]
		if e.SessionID != "" {
			row, err := b.session(e.SessionID)
			if err != nil {
				return fmt.Errorf("number session events: %w", err)
			}
			row.seq++
			e.SessionSeq = row.seq
		}
		if !audit.ValidData(e.Data) {
			return fmt.Errorf("append audit event %s: data is not a JSON object", e.Type)
		}
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		e.Seal(b.head.Seq+1, b.head.Hash)
		_, err := b.exec(`INSERT INTO events (seq, time, type, session_id, session_seq, request_id, actor, data, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			e.Seq, e.Time.Format(audit.TimeFormat), string(e.Type), e.SessionID, e.SessionSeq, e.RequestID, e.Actor, string(e.Data), e.PrevHash, e.Hash)
		if err != nil {
			return fmt.Errorf("append audit event: %w", err)
		}
		b.head = audit.Head{Seq: e.Seq, Hash: e.Hash}
	}
	return nil
}

// stmt returns the statement for query, prepared once for the writer and
// bound to the batch's transaction: parsing SQL is a good part of the
// cost of a small write.
func (b *batch) stmt(query string) (*sql.Stmt, error) {
	st, ok := b.s.stmts[query]
	if !ok {
		var err error
		st, err = b.s.db.PrepareContext(b.ctx, query)
		if err != nil {
			return nil, err
		}
		b.s.stmts[query] = st
	}
	return b.tx.StmtContext(b.ctx, st), nil
}

func (b *batch) exec(query string, args ...any) (sql.Result, error) {
	st, err := b.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(b.ctx, args...)
}

// errRow is a row whose query could not be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (b *batch) queryRow(query string, args ...any) interface{ Scan(...any) error } {
	st, err := b.stmt(query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(b.ctx, args...)
}

// changedID records that the session or request id changed, for Watch.
func (b *batch) changedID(id string) { b.changed = append(b.changed, id) }

// Watch implements [gateway.Store].
func (s *Store) Watch(ctx context.Context, fn func(id string)) error {
	if s.opts.Watch != nil {
		return s.opts.Watch(ctx, fn)
	}
	s.mu.Lock()
	id := s.nextW
	s.nextW++
	s.watchers[id] = fn
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		delete(s.watchers, id)
		s.mu.Unlock()
	}()
	return nil
}

func (s *Store) announce(ids []string) {
	if s.opts.Watch != nil || len(ids) == 0 {
		return
	}
	s.mu.Lock()
	fns := make([]func(string), 0, len(s.watchers))
	for _, fn := range s.watchers {
		fns = append(fns, fn)
	}
	s.mu.Unlock()
	for _, id := range ids {
		for _, fn := range fns {
			fn(id)
		}
	}
}

// CreateSession implements [gateway.Store].
func (s *Store) CreateSession(ctx context.Context, sess *gateway.Session, ev audit.Event) error {
	body, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	return s.write(ctx, func(b *batch) error {
		if _, err := b.exec(`INSERT INTO sessions (id, token_hash, seq, expires_at, ended_at, body) VALUES ($1, $2, 0, $3, $4, $5)`,
			sess.ID, sess.TokenHash, timeText(sess.ExpiresAt), timePtrText(sess.EndedAt), string(body)); err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		ev.SessionID = sess.ID
		return b.append([]audit.Event{ev})
	})
}

func scanSession(row interface{ Scan(...any) error }) (*gateway.Session, error) {
	var body, tokenHash string
	var seq int64
	if err := row.Scan(&body, &tokenHash, &seq); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, gateway.ErrNotFound
		}
		return nil, fmt.Errorf("read session: %w", err)
	}
	sess := &gateway.Session{}
	if err := json.Unmarshal([]byte(body), sess); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	sess.TokenHash, sess.Seq = tokenHash, seq
	return sess, nil
}

// SessionByID implements [gateway.Store].
func (s *Store) SessionByID(ctx context.Context, id string) (*gateway.Session, error) {
	return scanSession(s.db.QueryRowContext(ctx, `SELECT body, token_hash, seq FROM sessions WHERE id = $1`, id))
}

// SessionByToken implements [gateway.Store].
func (s *Store) SessionByToken(ctx context.Context, tokenHash string) (*gateway.Session, error) {
	return scanSession(s.db.QueryRowContext(ctx, `SELECT body, token_hash, seq FROM sessions WHERE token_hash = $1`, tokenHash))
}

// UpdateSession implements [gateway.Store].
func (s *Store) UpdateSession(ctx context.Context, id string, fn func(*gateway.Session) ([]audit.Event, error)) (*gateway.Session, error) {
	var out *gateway.Session
	err := s.write(ctx, func(b *batch) error {
		sess, err := scanSession(b.queryRow(`SELECT body, token_hash, seq FROM sessions WHERE id = $1`+s.opts.ForUpdate, id))
		if errors.Is(err, gateway.ErrNotFound) {
			return callerError{err}
		}
		if err != nil {
			return err
		}
		evs, err := fn(sess)
		if err != nil {
			return callerError{err}
		}
		body, err := json.Marshal(sess)
		if err != nil {
			return callerError{fmt.Errorf("encode session: %w", err)}
		}
		if _, err := b.exec(`UPDATE sessions SET body = $1, ended_at = $2, expires_at = $3 WHERE id = $4`,
			string(body), timePtrText(sess.EndedAt), timeText(sess.ExpiresAt), id); err != nil {
			return fmt.Errorf("update session: %w", err)
		}
		if row, ok := b.sessions[id]; ok {
			row.expires = sess.ExpiresAt
			if sess.EndedAt != nil {
				row.endedAt = *sess.EndedAt
			}
		}
		for i := range evs {
			evs[i].SessionID = id
		}
		if err := b.append(evs); err != nil {
			return err
		}
		b.changedID(id)
		out = sess
		return nil
	})
	return out, err
}

// CreateRequest implements [gateway.Store].
func (s *Store) CreateRequest(ctx context.Context, r *gateway.Request, evs []audit.Event) error {
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	return s.write(ctx, func(b *batch) error {
		// The session is checked in the transaction: a replica whose
		// cache has not yet heard of the session's end cannot record a
		// request for it.
		sess, err := b.session(r.SessionID)
		if errors.Is(err, gateway.ErrNotFound) {
			return callerError{fmt.Errorf("%w: no session %s", gateway.ErrConflict, r.SessionID)}
		}
		if err != nil {
			return err
		}
		if !sess.endedAt.IsZero() || !r.CreatedAt.Before(sess.expires) {
			return callerError{fmt.Errorf("%w: session %s has ended or expired", gateway.ErrConflict, r.SessionID)}
		}
		if _, err := b.exec(`INSERT INTO requests (id, session_id, state, mode, created_at, updated_at, expires_at, run_deadline, body)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			r.ID, r.SessionID, string(r.State), string(r.Mode), timeText(r.CreatedAt), timeText(r.UpdatedAt), timeText(r.ExpiresAt),
			timeText(r.RunDeadline), string(body)); err != nil {
			return fmt.Errorf("insert request: %w", err)
		}
		// The events are sealed again if the batch is retried alone.
		evs := append([]audit.Event(nil), evs...)
		for i := range evs {
			evs[i].SessionID, evs[i].RequestID = r.SessionID, r.ID
		}
		b.changedID(r.ID)
		return b.append(evs)
	})
}

func scanRequest(row interface{ Scan(...any) error }) (*gateway.Request, error) {
	var body string
	if err := row.Scan(&body); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, gateway.ErrNotFound
		}
		return nil, fmt.Errorf("read request: %w", err)
	}
	r := &gateway.Request{}
	if err := json.Unmarshal([]byte(body), r); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	return r, nil
}

// Request implements [gateway.Store].
func (s *Store) Request(ctx context.Context, id string) (*gateway.Request, error) {
	return scanRequest(s.db.QueryRowContext(ctx, `SELECT body FROM requests WHERE id = $1`, id))
}

// Requests implements [gateway.Store].
func (s *Store) Requests(ctx context.Context, f gateway.RequestFilter) ([]*gateway.Request, error) {
	where, args := requestWhere(f)
	q := `SELECT body FROM requests` + where + " ORDER BY created_at, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	out := []*gateway.Request{}
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	return out, nil
}

// timeText writes a time so that text order is time order; the zero time
// is empty.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(audit.TimeFormat)
}

func timePtrText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return timeText(*t)
}

func parseTime(s string) time.Time {
	t, err := time.Parse(audit.TimeFormat, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Summaries implements [gateway.Store].
func (s *Store) Summaries(ctx context.Context, f gateway.RequestFilter) ([]gateway.RequestSummary, error) {
	where, args := requestWhere(f)
	q := `SELECT id, session_id, state, mode, created_at, updated_at, expires_at, run_deadline FROM requests` + where + " ORDER BY created_at, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	out := []gateway.RequestSummary{}
	for rows.Next() {
		var r gateway.RequestSummary
		var state, mode, created, updated, expires, deadline string
		if err := rows.Scan(&r.ID, &r.SessionID, &state, &mode, &created, &updated, &expires, &deadline); err != nil {
			return nil, fmt.Errorf("list requests: %w", err)
		}
		r.State, r.Mode = gateway.State(state), gateway.Mode(mode)
		r.CreatedAt, r.UpdatedAt, r.ExpiresAt, r.RunDeadline = parseTime(created), parseTime(updated), parseTime(expires), parseTime(deadline)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	return out, nil
}

func requestWhere(f gateway.RequestFilter) (string, []any) {
	var where []string
	var args []any
	if f.State != "" {
		args = append(args, string(f.State))
		where = append(where, fmt.Sprintf("state = $%d", len(args)))
	}
	if f.SessionID != "" {
		args = append(args, f.SessionID)
		where = append(where, fmt.Sprintf("session_id = $%d", len(args)))
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// UpdateRequest implements [gateway.Store].
func (s *Store) UpdateRequest(ctx context.Context, id string, fn func(*gateway.Request) ([]audit.Event, error)) (*gateway.Request, error) {
	var out *gateway.Request
	err := s.write(ctx, func(b *batch) error {
		r, err := scanRequest(b.queryRow(`SELECT body FROM requests WHERE id = $1`+s.opts.ForUpdate, id))
		if errors.Is(err, gateway.ErrNotFound) {
			return callerError{err}
		}
		if err != nil {
			return err
		}
		evs, err := fn(r)
		if err != nil {
			return callerError{err}
		}
		body, err := json.Marshal(r)
		if err != nil {
			return callerError{fmt.Errorf("encode request: %w", err)}
		}
		if _, err := b.exec(`UPDATE requests SET state = $1, updated_at = $2, run_deadline = $3, body = $4 WHERE id = $5`,
			string(r.State), timeText(r.UpdatedAt), timeText(r.RunDeadline), string(body), id); err != nil {
			return fmt.Errorf("update request: %w", err)
		}
		for i := range evs {
			evs[i].SessionID, evs[i].RequestID = r.SessionID, r.ID
		}
		if err := b.append(evs); err != nil {
			return err
		}
		b.changedID(id)
		out = r
		return nil
	})
	return out, err
}

// Append implements [gateway.Store].
func (s *Store) Append(ctx context.Context, evs ...audit.Event) error {
	return s.write(ctx, func(b *batch) error {
		return b.append(append([]audit.Event(nil), evs...))
	})
}

// Head implements [gateway.Store].
func (s *Store) Head(ctx context.Context) (audit.Head, error) {
	var h audit.Head
	if err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash); err != nil {
		return h, fmt.Errorf("read audit head: %w", err)
	}
	return h, nil
}

// Events implements [gateway.Store].
func (s *Store) Events(ctx context.Context, f audit.Filter, fn func(*audit.Event) error) error {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.SessionID != "" {
		add("session_id = $%d", f.SessionID)
	}
	if f.RequestID != "" {
		add("request_id = $%d", f.RequestID)
	}
	if f.Type != "" {
		add("type = $%d", string(f.Type))
	}
	if !f.Since.IsZero() {
		add("time >= $%d", f.Since.UTC().Format(audit.TimeFormat))
	}
	if f.AfterSeq > 0 {
		add("seq > $%d", f.AfterSeq)
	}
	q := `SELECT seq, time, type, session_id, session_seq, request_id, actor, data, prev_hash, hash FROM events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("query audit events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e audit.Event
		var ts, typ, data string
		if err := rows.Scan(&e.Seq, &ts, &typ, &e.SessionID, &e.SessionSeq, &e.RequestID, &e.Actor, &data, &e.PrevHash, &e.Hash); err != nil {
			return fmt.Errorf("read audit event: %w", err)
		}
		t, err := time.Parse(audit.TimeFormat, ts)
		if err != nil {
			// A time that does not parse was not written by the gateway;
			// keep it zero so that verification reports the event.
			t = time.Time{}
		}
		e.Time, e.Type, e.Data = t, audit.Type(typ), json.RawMessage(data)
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query audit events: %w", err)
	}
	return nil
}
