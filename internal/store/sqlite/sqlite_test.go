package sqlite_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) gateway.Store {
		return mustOpen(t, t.TempDir())
	})
}

func mustOpen(t testing.TB, dir string) *store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("open store in %s: %v", dir, err)
	}
	return s
}

func mustEvent(t testing.TB, typ audit.Type, actor string) audit.Event {
	t.Helper()
	ev, err := audit.New(typ, actor, map[string]any{"by": actor})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// The trail holds every command: nobody but the gateway's user may read
// the data directory or the database in it, WAL files included.
func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := mustOpen(t, dir)
	sess := &gateway.Session{ID: "s1", Agent: "a", TokenHash: "t1", ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(t.Context(), sess, mustEvent(t, audit.SessionStarted, "admin")); err != nil {
		t.Fatal(err)
	}
	check := func(path string, want fs.FileMode) {
		t.Helper()
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) && filepath.Base(path) != sqlite.FileName {
			t.Logf("%s: not there", filepath.Base(path))
			return // a WAL file SQLite has not made (or has removed)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
		}
	}
	check(dir, 0o700)
	db := filepath.Join(dir, sqlite.FileName)
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		check(p, 0o600)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A file made readable by others (a restore from backup) is closed
	// again on open.
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.OpenFile(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(db, 0o600)
}

// Reopening the file keeps the trail and continues the chain where it
// ended: numbering, hashes and each session's numbering.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	if err := s.CreateSession(ctx, &gateway.Session{ID: "s1", Agent: "a", TokenHash: "t1", ExpiresAt: time.Now().Add(time.Hour)}, mustEvent(t, audit.SessionStarted, "admin")); err != nil {
		t.Fatal(err)
	}
	r := &gateway.Request{ID: "r1", SessionID: "s1", State: gateway.PendingReview, CreatedAt: time.Now()}
	if err := s.CreateRequest(ctx, r, []audit.Event{mustEvent(t, audit.RequestSubmitted, "agent:a"), mustEvent(t, audit.RequestDecided, "gateway")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, mustEvent(t, audit.GatewayError, "gateway")); err != nil {
		t.Fatal(err)
	}
	before, err := s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, dir)
	defer s.Close()
	v, err := gateway.VerifyStore(ctx, s)
	if err != nil {
		t.Fatalf("VerifyStore after reopening: %v", err)
	}
	if v.Head != before || v.Events != before.Seq {
		t.Fatalf("after reopening: head %+v and %d events, want head %+v", v.Head, v.Events, before)
	}
	if _, err := s.UpdateRequest(ctx, "r1", func(r *gateway.Request) ([]audit.Event, error) {
		r.State = gateway.Denied
		return []audit.Event{mustEvent(t, audit.RequestDenied, "reviewer:b")}, nil
	}); err != nil {
		t.Fatal(err)
	}
	var evs []audit.Event
	if err := s.Events(ctx, audit.Filter{AfterSeq: before.Seq}, func(e *audit.Event) error {
		evs = append(evs, *e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("%d events after reopening, want 1", len(evs))
	}
	e := evs[0]
	if e.Seq != before.Seq+1 || e.PrevHash != before.Hash {
		t.Errorf("first event after reopening: seq %d prev %s, want %d %s", e.Seq, e.PrevHash, before.Seq+1, before.Hash)
	}
	if e.SessionSeq != 4 {
		t.Errorf("first event after reopening: session seq %d, want 4 (three before it)", e.SessionSeq)
	}
	if v, err := gateway.VerifyStore(ctx, s); err != nil || v.Events != before.Seq+1 {
		t.Errorf("VerifyStore after appending to the reopened trail = %+v, %v", v, err)
	}
}

// TestOneGatewayPerDataDir: a data dir in use cannot be opened again
// until it is closed.
func TestOneGatewayPerDataDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := sqlite.Open(ctx, dir); !errors.Is(err, sqlite.ErrLocked) {
		if b != nil {
			b.Close()
		}
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	b.Close()
}

// TestSchemaVersion: a database written by a newer gatehouse is refused,
// with a message that says so.
func TestSchemaVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	s, err := sqlite.OpenFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `UPDATE gatehouse_schema SET version = 99`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := sqlite.OpenFile(ctx, path); !errors.Is(err, store.ErrSchema) || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("open a newer database: %v", err)
	}
}
