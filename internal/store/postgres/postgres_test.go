package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/postgres"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func mustOpen(t testing.TB, dsn string) *store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) gateway.Store {
		return mustOpen(t, pgtest.DSN(t))
	})
}

func mustEvent(t testing.TB, typ audit.Type, data map[string]any) audit.Event {
	t.Helper()
	ev, err := audit.New(typ, "gateway", data)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// waitFor waits until ch delivers id; it fails the test rather than
// hanging when the notification never comes.
func waitFor(t testing.TB, ch <-chan string, id string) {
	t.Helper()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	for {
		select {
		case got := <-ch:
			if got == id {
				return
			}
		case <-timer.C:
			t.Fatalf("replica A not told of B's change to %s within 30s", id)
		}
	}
}

// TestReplicas runs two gateway replicas on one database: each sees the
// other's writes and changes, and concurrent updates through both lose
// nothing and keep one chain.
func TestReplicas(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	defer a.Close()
	defer b.Close()

	seen := make(chan string, 4096)
	if err := a.Watch(ctx, func(id string) {
		select {
		case seen <- id:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	sess := &gateway.Session{ID: "s", Agent: "a", TokenHash: "t", ExpiresAt: time.Now().Add(time.Hour)}
	if err := a.CreateSession(ctx, sess, mustEvent(t, audit.SessionStarted, map[string]any{})); err != nil {
		t.Fatal(err)
	}
	r := &gateway.Request{ID: "r", SessionID: "s", State: gateway.PendingReview, Votes: []gateway.Vote{}, CreatedAt: time.Now()}
	if err := a.CreateRequest(ctx, r, []audit.Event{mustEvent(t, audit.RequestSubmitted, map[string]any{})}); err != nil {
		t.Fatal(err)
	}
	// A's own creation is announced first (notifications arrive in commit
	// order), so the next one for r is B's.
	waitFor(t, seen, "r")

	t.Run("UpdateThroughOther", func(t *testing.T) {
		got, err := b.Request(ctx, "r")
		if err != nil {
			t.Fatalf("B reading the request A created: %v", err)
		}
		if got.State != gateway.PendingReview {
			t.Fatalf("B reads state %s, want %s", got.State, gateway.PendingReview)
		}
		if _, err := b.UpdateRequest(ctx, "r", func(r *gateway.Request) ([]audit.Event, error) {
			r.State = gateway.Approved
			return []audit.Event{mustEvent(t, audit.RequestApproved, map[string]any{})}, nil
		}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, seen, "r")
		if got, err := a.Request(ctx, "r"); err != nil || got.State != gateway.Approved {
			t.Fatalf("A reads %+v, %v after B approved it", got, err)
		}
	})

	t.Run("ConcurrentUpdates", func(t *testing.T) {
		const workers, updates = 10, 20
		var (
			mu sync.Mutex
			ok []string
			wg sync.WaitGroup
		)
		begin := make(chan struct{})
		for w := range 2 * workers {
			replica := map[bool]*store.Store{true: a, false: b}[w%2 == 0]
			wg.Go(func() {
				<-begin
				for i := range updates {
					op := fmt.Sprintf("w%d-%d", w, i)
					ev, err := audit.New(audit.ReviewVoted, "reviewer:"+op, map[string]any{"op": op})
					if err != nil {
						t.Error(err)
						return
					}
					_, err = replica.UpdateRequest(ctx, "r", func(r *gateway.Request) ([]audit.Event, error) {
						r.Votes = append(r.Votes, gateway.Vote{Reviewer: op})
						return []audit.Event{ev}, nil
					})
					if err != nil {
						t.Errorf("%s: %v", op, err)
						continue
					}
					mu.Lock()
					ok = append(ok, op)
					mu.Unlock()
				}
			})
		}
		close(begin)
		wg.Wait()

		for name, st := range map[string]*store.Store{"A": a, "B": b} {
			got, err := st.Request(ctx, "r")
			if err != nil {
				t.Fatal(err)
			}
			var votes []string
			for _, v := range got.Votes {
				votes = append(votes, v.Reviewer)
			}
			slices.Sort(votes)
			slices.Sort(ok)
			if !slices.Equal(votes, ok) {
				t.Errorf("%s reads %d votes, want the %d successful updates: lost or phantom updates", name, len(votes), len(ok))
			}
			v, err := gateway.VerifyStore(ctx, st)
			if err != nil {
				t.Errorf("VerifyStore through %s: %v", name, err)
			}
			// session.started, request.submitted, request.approved, then one per vote
			if want := int64(3 + len(ok)); v.Events != want {
				t.Errorf("VerifyStore through %s checked %d events, want %d", name, v.Events, want)
			}
		}
		s, err := b.SessionByID(ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(3 + len(ok)); s.Seq != want {
			t.Errorf("session seq %d after updates through both replicas, want %d", s.Seq, want)
		}
	})
}
