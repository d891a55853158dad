package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite", for raw access

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// seed writes a trail through the store's API (sessions, requests, votes,
// more than 20 events), closes the store and returns the database file and
// the trail's head.
func seed(t *testing.T) (string, audit.Head) {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	for _, id := range []string{"s1", "s2"} {
		if err := s.CreateSession(ctx, &gateway.Session{ID: id, Agent: id, TokenHash: "t-" + id, ExpiresAt: time.Now().Add(time.Hour)}, mustEvent(t, audit.SessionStarted, "admin")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 6 {
		r := &gateway.Request{ID: fmt.Sprintf("r%d", i), SessionID: []string{"s1", "s2"}[i%2], State: gateway.PendingReview, CreatedAt: time.Now()}
		if err := s.CreateRequest(ctx, r, []audit.Event{mustEvent(t, audit.RequestSubmitted, "agent:"+r.SessionID),
			mustEvent(t, audit.RequestDecided, "gateway")}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		if _, err := s.UpdateRequest(ctx, fmt.Sprintf("r%d", i), func(r *gateway.Request) ([]audit.Event, error) {
			r.State = gateway.Approved
			return []audit.Event{mustEvent(t, audit.ReviewVoted, "reviewer:bob"), mustEvent(t, audit.RequestApproved, "reviewer:bob")}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpdateSession(ctx, "s2", func(s *gateway.Session) ([]audit.Event, error) {
		now := time.Now()
		s.EndedAt = &now
		return []audit.Event{mustEvent(t, audit.SessionEnded, "admin")}, nil
	}); err != nil {
		t.Fatal(err)
	}
	head, err := s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if head.Seq < 20 {
		t.Fatalf("seed wrote %d events, want at least 20", head.Seq)
	}
	return filepath.Join(dir, sqlite.FileName), head
}

// exec runs statements on the raw database, as someone with access to the
// file would, bypassing the store.
func exec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// rawEvents reads every event straight from the table, in order.
func rawEvents(t *testing.T, db *sql.DB) []audit.Event {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT seq, time, type, session_id, session_seq, request_id, actor, data, prev_hash, hash FROM events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		var e audit.Event
		var ts, typ, data string
		if err := rows.Scan(&e.Seq, &ts, &typ, &e.SessionID, &e.SessionSeq, &e.RequestID, &e.Actor, &data, &e.PrevHash, &e.Hash); err != nil {
			t.Fatal(err)
		}
		if e.Time, err = time.Parse(audit.TimeFormat, ts); err != nil {
			t.Fatal(err)
		}
		e.Type, e.Data = audit.Type(typ), json.RawMessage(data)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// deleteAndRechain deletes event seq and seals every later event again,
// renumbered and re-linked (within its session too), so that the chain is
// valid in itself; it leaves audit_head alone unless rewriteHead is set.
func deleteAndRechain(t *testing.T, db *sql.DB, seq int64, rewriteHead bool) {
	t.Helper()
	evs := rawEvents(t, db)
	gone := evs[seq-1]
	exec(t, db, `DELETE FROM events WHERE seq = $1`, seq)
	prev := gone.PrevHash
	for _, e := range evs[seq:] {
		old := e.Seq
		if e.SessionID != "" && e.SessionID == gone.SessionID {
			e.SessionSeq--
		}
		e.Seal(old-1, prev)
		prev = e.Hash
		exec(t, db, `UPDATE events SET seq = $1, session_seq = $2, prev_hash = $3, hash = $4 WHERE seq = $5`,
			e.Seq, e.SessionSeq, e.PrevHash, e.Hash, old)
	}
	if rewriteHead {
		exec(t, db, `UPDATE audit_head SET seq = seq - 1, hash = $1`, prev)
	}
}

// TestTamper edits the database behind the store's back, one way per
// case, on a fresh store each: verification must name the first event
// touched.
func TestTamper(t *testing.T) {
	type tc struct {
		name    string
		tamper  func(t *testing.T, db *sql.DB, head audit.Head)
		wantSeq func(head audit.Head) int64 // nil: the trail verifies
		reason  string
	}
	at := func(seq int64) func(audit.Head) int64 { return func(audit.Head) int64 { return seq } }
	for _, c := range []tc{
		{name: "untampered", tamper: func(*testing.T, *sql.DB, audit.Head) {}},
		{name: "edited data", wantSeq: at(7), reason: "edited", tamper: func(t *testing.T, db *sql.DB, _ audit.Head) {
			exec(t, db, `UPDATE events SET data = '{"by":"someone else"}' WHERE seq = 7`)
		}},
		{name: "edited actor", wantSeq: at(9), reason: "edited", tamper: func(t *testing.T, db *sql.DB, _ audit.Head) {
			exec(t, db, `UPDATE events SET actor = 'reviewer:mallory' WHERE seq = 9`)
		}},
		{name: "edited time", wantSeq: at(3), reason: "edited", tamper: func(t *testing.T, db *sql.DB, _ audit.Head) {
			exec(t, db, `UPDATE events SET time = '2001-01-01T00:00:00.000000Z' WHERE seq = 3`)
		}},
		{name: "deleted middle", wantSeq: at(10), reason: "missing", tamper: func(t *testing.T, db *sql.DB, _ audit.Head) {
			exec(t, db, `DELETE FROM events WHERE seq = 10`)
		}},
		{name: "swapped seq", wantSeq: at(5), reason: "previous-hash", tamper: func(t *testing.T, db *sql.DB, _ audit.Head) {
			exec(t, db, `UPDATE events SET seq = -1 WHERE seq = 5`)
			exec(t, db, `UPDATE events SET seq = 5 WHERE seq = 6`)
			exec(t, db, `UPDATE events SET seq = 6 WHERE seq = -1`)
		}},
		{name: "truncated", wantSeq: func(h audit.Head) int64 { return h.Seq - 2 }, reason: "removed from the end",
			tamper: func(t *testing.T, db *sql.DB, h audit.Head) {
				exec(t, db, `DELETE FROM events WHERE seq > $1`, h.Seq-3)
			}},
		// A correctly chained event inserted past the head, as someone
		// writing around the gateway would.
		{name: "appended outside", wantSeq: func(h audit.Head) int64 { return h.Seq + 1 }, reason: "added outside",
			tamper: func(t *testing.T, db *sql.DB, h audit.Head) {
				e := audit.Event{Type: audit.RequestApproved, RequestID: "r5", Actor: "reviewer:mallory", Data: json.RawMessage(`{}`), Time: time.Now()}
				e.Seal(h.Seq+1, h.Hash)
				exec(t, db, `INSERT INTO events (seq, time, type, session_id, session_seq, request_id, actor, data, prev_hash, hash)
					VALUES ($1, $2, $3, '', 0, 'r5', $4, $5, $6, $7)`, e.Seq, e.Time.Format(audit.TimeFormat), string(e.Type), e.Actor, string(e.Data), e.PrevHash, e.Hash)
			}},
		// Valid in itself: only the head, one event further, gives it away.
		{name: "deleted and re-chained", wantSeq: func(h audit.Head) int64 { return h.Seq }, reason: "removed from the end",
			tamper: func(t *testing.T, db *sql.DB, _ audit.Head) { deleteAndRechain(t, db, 10, false) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, head := seed(t)
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			c.tamper(t, db, head)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			s, err := sqlite.OpenFile(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			v, err := gateway.VerifyStore(t.Context(), s)
			if c.wantSeq == nil {
				if err != nil || v.Events != head.Seq || v.Head != head {
					t.Fatalf("VerifyStore = %+v, %v; want %d events and head %+v", v, err, head.Seq, head)
				}
				return
			}
			var ce *audit.ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("VerifyStore = %v, want a *audit.ChainError", err)
			}
			if want := c.wantSeq(head); ce.Seq != want || !strings.Contains(ce.Reason, c.reason) {
				t.Errorf("broken at %d (%s), want at %d with %q", ce.Seq, ce.Reason, want, c.reason)
			}
		})
	}
}

// TestTamperHeadRewritten shows the limit of a head kept in the same
// database: an attacker who re-chains and rewrites the head leaves a trail
// that verifies. Only a copy of the head kept elsewhere (a previous
// verification's, an export's) catches it.
func TestTamperHeadRewritten(t *testing.T) {
	path, head := seed(t)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	deleteAndRechain(t, db, 10, true)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.OpenFile(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := gateway.VerifyStore(t.Context(), s)
	if err != nil {
		t.Fatalf("VerifyStore = %v; a fully re-chained trail is expected to verify on its own", err)
	}
	if v.Head == head {
		t.Fatalf("head after deletion = %+v, the same as before: the outside copy cannot tell", v.Head)
	}
	if v.Head.Seq != head.Seq-1 {
		t.Errorf("head after deletion = %+v, want seq %d", v.Head, head.Seq-1)
	}
	// The head kept outside catches it: the trail no longer reaches it.
	_, err = gateway.VerifyStore(t.Context(), s, head)
	var ce *audit.ChainError
	if !errors.As(err, &ce) || ce.Seq != head.Seq {
		t.Errorf("VerifyStore with the earlier head = %v, want a chain error at %d", err, head.Seq)
	}
	// An earlier head before the rewrite is still on the chain.
	if _, err := gateway.VerifyStore(t.Context(), s, audit.Head{Seq: 5, Hash: eventHash(t, path, 5)}); err != nil {
		t.Errorf("VerifyStore with an untouched earlier head: %v", err)
	}
}

func eventHash(t *testing.T, path string, seq int64) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var h string
	if err := db.QueryRowContext(t.Context(), `SELECT hash FROM events WHERE seq = $1`, seq).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}
