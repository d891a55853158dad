package client_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/internal/engine"
	"github.com/gatehouse/gatehouse/internal/execute"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// gatewayForExample serves a real gateway (one shell target, "local", in
// a temp dir; SQLite in the same dir) and returns its address and admin
// token, and a function that stops it.
func gatewayForExample() (addr, admin string, stop func()) {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	pol, _ := policy.Default()
	eng, _ := engine.New(pol, []engine.Target{{Name: "local", Kind: "shell", Class: "non-critical", Workdir: dir}}, "local")
	st, _ := sqlite.OpenFile(ctx, filepath.Join(dir, "gatehouse.db"))
	admin = "example-admin-token-0123456789"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw := gateway.New(gateway.Config{
		Targets:        map[string]gateway.Target{"local": {Name: "local", Kind: "shell", Class: "non-critical", Executor: &gateway.ShellExecutor{Shell: &execute.Shell{Workdir: dir}}}},
		AdminTokenHash: gateway.HashToken(admin),
	}, eng, st, log)
	gw.Start(ctx)
	srv := httptest.NewServer(httpapi.New(gw, log))
	return srv.URL, admin, func() { srv.Close(); gw.Stop(); st.Close(); os.RemoveAll(dir) }
}

// An operator starts a session; the agent submits commands with the
// session's token and waits for each outcome.
func Example() {
	addr, admin, stop := gatewayForExample()
	defer stop()
	ctx := context.Background()

	sess, err := client.New(addr, admin).StartSession(ctx, client.StartSession{Agent: "my-agent", Grants: []string{"local:write"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	agent := client.New(addr, sess.Token)
	for _, cmd := range []string{"echo hello", "rm -rf /", "rm -rf build"} {
		r, err := agent.Submit(ctx, client.Submit{Target: "local", Command: cmd})
		if err != nil {
			fmt.Println(err)
			return
		}
		if r.State == "pending_review" {
			fmt.Printf("%-12s → %s, waits for %d reviewer(s); risk %s\n", cmd, r.Decision, r.ApprovalsRequired, r.RiskLevel)
			continue
		}
		if r, err = agent.Wait(ctx, r.ID, 0); err != nil {
			fmt.Println(err)
			return
		}
		out := ""
		if r.Result != nil {
			out = r.Result.Output
		}
		fmt.Printf("%-12s → %s, %s %q\n", cmd, r.Decision, r.State, out)
	}
	// Output:
	// echo hello   → allow, executed "hello\n"
	// rm -rf /     → deny, denied ""
	// rm -rf build → review, waits for 1 reviewer(s); risk high
}
