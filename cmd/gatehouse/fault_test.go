package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/gatehouse/gatehouse/client"
)

// process is "gatehouse serve" run as a real subprocess, so that it can be
// killed with SIGKILL.
type process struct {
	cmd  *exec.Cmd
	addr string
}

func startProcess(t *testing.T, dir, config string, env ...string) *process {
	t.Helper()
	bin, err := exec.LookPath("gatehouse") // installed on PATH by testscript.Main
	if err != nil {
		t.Fatalf("gatehouse binary: %v", err)
	}
	cmd := exec.Command(bin, "serve", "--config", config, "--listen", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	sc := bufio.NewScanner(stderr)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
			p.addr = m[1]
			break
		}
	}
	if p.addr == "" {
		t.Fatalf("serve did not start:\n%s", strings.Join(lines, "\n"))
	}
	go func() {
		for sc.Scan() {
		}
	}()
	return p
}

func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
}

// TestKillDuringAStreamOfRequests kills the gateway with SIGKILL while
// clients submit allowed requests that append to a file, restarts it on
// the same data, and checks: the chain verifies; every request a client
// saw acknowledged is in the trail with its decision; and every line the
// commands wrote belongs to a request whose decision and claim were
// recorded before it ran.
func TestKillDuringAStreamOfRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a server")
	}
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "gatehouse.yaml")
	cfg := fmt.Sprintf("version: 1\ndata_dir: %s\ntargets:\n  work: {kind: shell, class: non-critical, workdir: %s}\n", filepath.Join(dir, "data"), work)
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	const admin = "admin-token-for-the-kill-test-0123"
	env := "GATEHOUSE_ADMIN_TOKEN=" + admin
	p := startProcess(t, dir, config, env)
	ctx := context.Background()
	sess, err := client.New(p.addr, admin).StartSession(ctx, client.StartSession{Agent: "streamer", Grants: []string{"work:write"}})
	if err != nil {
		t.Fatal(err)
	}
	agent := client.New(p.addr, sess.Token)

	const total, clients, killAfter = 1000, 4, 400
	var acked sync.Map // request id → command
	var n, sent atomic.Int64
	killed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < total; i += clients {
				sent.Add(1)
				cmd := fmt.Sprintf("echo %d >> executed.log", i)
				r, err := agent.Submit(ctx, client.Submit{Target: "work", Command: cmd})
				if err != nil {
					return // the server is gone
				}
				acked.Store(r.ID, cmd)
				if n.Add(1) == killAfter {
					once.Do(func() { p.kill(t); close(killed) })
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatalf("the server was not killed: %d acknowledged", n.Load())
	}

	p = startProcess(t, dir, config, env)
	// The file is read before the trail: requests the restarted gateway
	// runs now (approved before the kill) are claimed before they write,
	// so every line read has its claim in the trail read after it.
	data, err := os.ReadFile(filepath.Join(work, "executed.log"))
	if err != nil {
		t.Fatal(err)
	}
	adm := client.New(p.addr, admin)
	v, err := adm.Verify(ctx)
	if err != nil || !v.OK {
		t.Fatalf("verify after the kill: %+v %v", v, err)
	}
	decided := map[string]int64{}   // request id → seq of its decision
	claimed := map[string]int64{}   // request id → seq of its executing event
	commands := map[string]string{} // command → request id
	err = adm.Events(ctx, client.AuditFilter{}, func(e *client.Event) error {
		switch e.Type {
		case "request.submitted":
			var d struct{ Command string }
			json.Unmarshal(e.Data, &d)
			commands[d.Command] = e.RequestID
		case "request.decided":
			decided[e.RequestID] = e.Seq
		case "request.executing":
			claimed[e.RequestID] = e.Seq
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	acked.Range(func(id, _ any) bool {
		if _, ok := decided[id.(string)]; !ok {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Errorf("%d acknowledged requests are not in the trail", missing)
	}
	lines := strings.Fields(string(data))
	for _, l := range lines {
		id, ok := commands["echo "+l+" >> executed.log"]
		if !ok {
			t.Errorf("line %s was written by a request that is not in the trail", l)
			continue
		}
		d, okd := decided[id]
		c, okc := claimed[id]
		if !okd || !okc || d >= c {
			t.Errorf("line %s: request %s ran without its decision (%v) and claim (%v) recorded first", l, id, d, c)
		}
	}
	t.Logf("sent %d, acknowledged %d before the kill, %d ran; trail %d events", sent.Load(), n.Load(), len(lines), v.Events)
}

// TestManyAgentsAtOnce has 50 agents submit 100 requests each at the same
// time: no event is lost or duplicated, every session's numbering is
// contiguous and the chain verifies.
func TestManyAgentsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 requests")
	}
	s := startServer(t, "version: 1\ndata_dir: DIR/data\ntargets:\n  work: {kind: shell, class: non-critical, workdir: DIR/work}\n", nil)
	ctx := context.Background()
	const agents, each = 50, 100
	var wg sync.WaitGroup
	errs := make(chan error, agents)
	ids := make([][]string, agents)
	for a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sess, err := client.New(s.addr, s.admin).StartSession(ctx, client.StartSession{Agent: fmt.Sprintf("agent-%d", a), Grants: []string{"work:read"}})
			if err != nil {
				errs <- err
				return
			}
			c := client.New(s.addr, sess.Token)
			for i := range each {
				r, err := c.Submit(ctx, client.Submit{Target: "work", Command: fmt.Sprintf("cat file-%d-%d.txt", a, i), Mode: "authorize"})
				if err != nil {
					errs <- err
					return
				}
				if r.State != "approved" {
					errs <- fmt.Errorf("request %s: %s", r.ID, r.State)
					return
				}
				ids[a] = append(ids[a], r.ID)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	counts := map[string]int{}
	sessionSeq := map[string]int64{}
	var last int64
	err := client.New(s.addr, s.admin).Events(ctx, client.AuditFilter{}, func(e *client.Event) error {
		if e.Seq != last+1 {
			return fmt.Errorf("event %d follows %d", e.Seq, last)
		}
		last = e.Seq
		if e.SessionSeq != sessionSeq[e.SessionID]+1 {
			return fmt.Errorf("session %s: event %d numbered %d after %d", e.SessionID, e.Seq, e.SessionSeq, sessionSeq[e.SessionID])
		}
		sessionSeq[e.SessionID] = e.SessionSeq
		counts[e.RequestID+" "+e.Type]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(agents + agents*each*2); last != want {
		t.Errorf("%d events, want %d", last, want)
	}
	for _, list := range ids {
		for _, id := range list {
			if counts[id+" request.submitted"] != 1 || counts[id+" request.decided"] != 1 {
				t.Errorf("request %s: %d submitted, %d decided events", id, counts[id+" request.submitted"], counts[id+" request.decided"])
			}
		}
	}
	if v, err := client.New(s.addr, s.admin).Verify(ctx); err != nil || !v.OK {
		t.Errorf("verify: %+v %v", v, err)
	}
}
