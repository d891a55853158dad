package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/internal/engine"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// newAPI serves the API of a gateway with one shell target "local" on a
// SQLite store, over real loopback HTTP.
func newAPI(tb testing.TB) (addr, admin string) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	pol, err := policy.Default()
	if err != nil {
		tb.Fatal(err)
	}
	eng, err := engine.New(pol, []engine.Target{{Name: "local", Kind: "shell", Class: "non-critical", Workdir: dir}}, "local")
	if err != nil {
		tb.Fatal(err)
	}
	st, err := sqlite.OpenFile(ctx, filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		tb.Fatal(err)
	}
	admin = "admin-token-0123456789abcdef"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw := gateway.New(gateway.Config{Targets: map[string]gateway.Target{"local": {Name: "local", Kind: "shell", Class: "non-critical"}},
		AdminTokenHash: gateway.HashToken(admin)}, eng, st, log)
	if err := gw.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(gw, log))
	tb.Cleanup(func() { srv.Close(); gw.Stop(); st.Close() })
	return srv.URL, admin
}

// BenchmarkSubmitDecideOnly submits allowed requests in authorize mode
// (decided and durably audited, nothing executed) over loopback HTTP from
// parallel agents.
func BenchmarkSubmitDecideOnly(b *testing.B) {
	addr, admin := newAPI(b)
	ctx := context.Background()
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		s, err := client.New(addr, admin).StartSession(ctx, client.StartSession{Agent: "bench", Grants: []string{"local:read"}})
		if err != nil {
			b.Error(err)
			return
		}
		c := client.New(addr, s.Token)
		c.HTTP = &http.Client{Transport: tr}
		for pb.Next() {
			r, err := c.Submit(ctx, client.Submit{Target: "local", Command: "cat README.md", Mode: "authorize"})
			if err != nil || r.State != "approved" {
				b.Errorf("submit: %v %v", r, err)
				return
			}
		}
	})
}
