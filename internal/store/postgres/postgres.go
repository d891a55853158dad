// Package postgres opens the gateway's store in PostgreSQL (jackc/pgx),
// so that several gateway replicas share one state. Replicas learn of each
// other's changes through LISTEN/NOTIFY.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse/gatehouse/internal/store"
)

// channel is the NOTIFY channel on which changed request ids are sent.
const channel = "gatehouse_requests"

// Open connects to the database at dsn and opens the store there.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*store.Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("parse store DSN: invalid postgres URL") // the parse error may quote the password
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to store: %w", err)
	}
	l := &listener{cfg: cfg, log: log, fns: map[int]func(string){}}
	lctx, cancel := context.WithCancel(context.Background())
	if err := l.start(ctx, lctx); err != nil {
		cancel()
		db.Close()
		return nil, err
	}
	s, err := store.New(ctx, db, store.Options{
		ForUpdate: " FOR UPDATE",
		Notify: func(ctx context.Context, tx *sql.Tx, ids []string) error {
			for _, id := range ids {
				if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, id); err != nil {
					return err
				}
			}
			return nil
		},
		Watch: l.watch,
		Close: func() error { cancel(); <-l.done; return nil },
	})
	if err != nil {
		cancel()
		<-l.done
		db.Close()
		return nil, err
	}
	return s, nil
}

// listener holds one connection that LISTENs and hands every notification
// to the watchers of this process. When the connection drops it
// reconnects, and tells every watcher that anything may have changed
// (an empty id), since notifications sent meanwhile were lost.
type listener struct {
	cfg  *pgx.ConnConfig
	log  *slog.Logger
	done chan struct{}

	mu    sync.Mutex
	fns   map[int]func(string)
	nextW int
}

func (l *listener) start(ctx, lctx context.Context) error {
	conn, err := l.connect(ctx)
	if err != nil {
		return err
	}
	l.done = make(chan struct{})
	go l.run(lctx, conn)
	return nil
}

func (l *listener) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, l.cfg)
	if err != nil {
		return nil, fmt.Errorf("connect store listener: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("listen: %w", err)
	}
	return conn, nil
}

func (l *listener) run(ctx context.Context, conn *pgx.Conn) {
	defer close(l.done)
	backoff := 100 * time.Millisecond
	for {
		n, err := conn.WaitForNotification(ctx)
		if err == nil {
			l.dispatch(n.Payload)
			continue
		}
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("store listener lost its connection", "error", err)
		for {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			conn, err = l.connect(ctx)
			if err == nil {
				backoff = 100 * time.Millisecond
				l.dispatch("")
				break
			}
			backoff = min(backoff*2, 5*time.Second)
		}
	}
}

func (l *listener) dispatch(id string) {
	l.mu.Lock()
	fns := make([]func(string), 0, len(l.fns))
	for _, fn := range l.fns {
		fns = append(fns, fn)
	}
	l.mu.Unlock()
	for _, fn := range fns {
		fn(id)
	}
}

func (l *listener) watch(ctx context.Context, fn func(string)) error {
	l.mu.Lock()
	id := l.nextW
	l.nextW++
	l.fns[id] = fn
	l.mu.Unlock()
	go func() {
		<-ctx.Done()
		l.mu.Lock()
		delete(l.fns, id)
		l.mu.Unlock()
	}()
	return nil
}
