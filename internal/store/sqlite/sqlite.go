// Package sqlite opens the gateway's store in an embedded SQLite database
// (modernc.org/sqlite, no cgo) in write-ahead-log mode.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/gatehouse/gatehouse/internal/store"
)

// FileName is the database's file name inside the data directory.
const FileName = "gatehouse.db"

// Open opens (creating if needed) the store in dir/gatehouse.db. The
// directory is created with mode 0700: the trail holds every command.
// The directory is locked for the store's life: a second Open of it
// fails with ErrLocked.
func Open(ctx context.Context, dir string) (*store.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	release, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s, err := openFile(ctx, filepath.Join(dir, FileName), release)
	if err != nil {
		release()
		return nil, err
	}
	return s, nil
}

// ErrLocked is returned when another process has the data directory.
var ErrLocked = errors.New("data dir locked")

// OpenFile opens the store in the database file at path, unlocked (for
// tests and tools; a gateway uses Open).
func OpenFile(ctx context.Context, path string) (*store.Store, error) {
	return openFile(ctx, path, nil)
}

func openFile(ctx context.Context, path string, release func() error) (*store.Store, error) {
	// synchronous=FULL makes each commit durable (the WAL is synced at
	// every commit); group commit in the store shares that sync among the
	// requests of one batch. busy_timeout waits out a concurrent reader's
	// checkpoint instead of failing.
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// Readers run concurrently with the one writer in WAL mode.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("protect %s: %w", path, err)
	}
	s, err := store.New(ctx, db, store.Options{Close: release})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}
