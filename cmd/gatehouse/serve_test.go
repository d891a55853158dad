package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// server is a gateway run in-process by "gatehouse serve".
type server struct {
	addr  string
	env   map[string]string
	stop  func()
	dir   string
	log   *lockedBuffer
	admin string
}

// lockedBuffer is an io.Writer safe for concurrent use that tells when a
// line matching a pattern was written.
type lockedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	re    *regexp.Regexp
	found chan string
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if b.re != nil {
		if m := b.re.FindStringSubmatch(b.buf.String()); m != nil {
			b.found <- m[1]
			b.re = nil
		}
	}
	return n, err
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listeningLine = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// startServer runs "gatehouse serve" with a config (written to a file;
// "DIR" in it is replaced with a temp dir) and environment, on a free
// loopback port.
func startServer(t *testing.T, config string, env map[string]string) *server {
	t.Helper()
	dir := t.TempDir()
	// DIR/work is there for shell targets: the workdir must not hold the
	// config or the data.
	if err := os.Mkdir(filepath.Join(dir, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &server{dir: dir, env: map[string]string{"GATEHOUSE_ADMIN_TOKEN": "admin-token-for-tests-0123456789", "XDG_STATE_HOME": t.TempDir()}}
	for k, v := range env {
		s.env[k] = v
	}
	s.admin = s.env["GATEHOUSE_ADMIN_TOKEN"]
	args := []string{"serve", "--listen", "127.0.0.1:0"}
	if config != "" {
		path := filepath.Join(dir, "gatehouse.yaml")
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(config, "DIR", dir)), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	s.log = &lockedBuffer{re: listeningLine, found: make(chan string, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: s.log, Getenv: func(k string) string { return s.env[k] },
		Getwd: func() (string, error) { return dir, nil }}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, args) }()
	select {
	case s.addr = <-s.log.found:
	case err := <-done:
		cancel()
		t.Fatalf("serve ended: %v\n%s", err, s.log)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve did not start\n%s", s.log)
	}
	s.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(func() {
		if s.stop != nil {
			s.stop()
		}
	})
	return s
}

// result is what one CLI command did.
type result struct {
	code           int
	stdout, stderr string
}

// run runs a CLI command against the server with a token ("" for none:
// admin commands then fall back to the admin token).
func (s *server) run(t *testing.T, token string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"GATEHOUSE_ADDR": s.addr, "GATEHOUSE_TOKEN": token, "GATEHOUSE_ADMIN_TOKEN": s.admin}
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] },
		Getwd: func() (string, error) { return s.dir, nil }}
	code := m.exitCode(m.Run(context.Background(), args))
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// session starts a session and returns its id and token.
func (s *server) session(t *testing.T, agent string, grants ...string) (id, token string) {
	t.Helper()
	args := []string{"session", "start", "--agent", agent, "--json"}
	for _, g := range grants {
		args = append(args, "--grant", g)
	}
	r := s.run(t, "", args...)
	if r.code != 0 {
		t.Fatalf("session start: %d %s", r.code, r.stderr)
	}
	var out struct{ ID, Token string }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Token == "" {
		t.Fatalf("session start output %q: %v", r.stdout, err)
	}
	return out.ID, out.Token
}

// pendingRequest is the review list item of the SPEC §4 contract.
type pendingRequest struct {
	ID                string   `json:"id"`
	SessionID         string   `json:"session_id"`
	Agent             string   `json:"agent"`
	Target            string   `json:"target"`
	Kind              string   `json:"kind"`
	Command           string   `json:"command"`
	RiskScore         int      `json:"risk_score"`
	RiskLevel         string   `json:"risk_level"`
	Reasons           []any    `json:"reasons"`
	EstimatedRows     *int64   `json:"estimated_rows"`
	Reversible        *bool    `json:"reversible"`
	ApprovalsRequired int      `json:"approvals_required"`
	Approvals         []string `json:"approvals"`
	CreatedAt         string   `json:"created_at"`
	ExpiresAt         string   `json:"expires_at"`
}

// awaitPending returns the pending review of a command. The agent's exec
// prints "waiting for review" once the gateway has stored its request,
// so the list is read once, after that line.
func (s *server) awaitPending(t *testing.T, token, command string, agentErr *lockedBuffer) pendingRequest {
	t.Helper()
	select {
	case <-agentErr.found:
	case <-time.After(30 * time.Second):
		t.Fatalf("the agent never waited for review: %s", agentErr)
	}
	r := s.run(t, token, "review", "list", "--json")
	if r.code != 0 {
		t.Fatalf("review list: %d %s", r.code, r.stderr)
	}
	var items []pendingRequest
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil {
		t.Fatalf("review list --json %q: %v", r.stdout, err)
	}
	for _, it := range items {
		if it.Command == command {
			return it
		}
	}
	t.Fatalf("%q is not in the review queue: %s", command, r.stdout)
	return pendingRequest{}
}

// agentExec runs "gatehouse exec" as the agent in the background.
func (s *server) agentExec(t *testing.T, token string, args ...string) (stderr *lockedBuffer, done <-chan result) {
	t.Helper()
	ch := make(chan result, 1)
	errBuf := &lockedBuffer{re: regexp.MustCompile(`(waiting for review)`), found: make(chan string, 1)}
	var out bytes.Buffer
	env := map[string]string{"GATEHOUSE_ADDR": s.addr, "GATEHOUSE_TOKEN": token}
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: errBuf, Getenv: func(k string) string { return env[k] },
		Getwd: func() (string, error) { return s.dir, nil }}
	go func() {
		code := m.exitCode(m.Run(context.Background(), append([]string{"exec"}, args...)))
		ch <- result{code: code, stdout: out.String(), stderr: errBuf.String()}
	}()
	return errBuf, ch
}

func (s *server) auditEvents(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	r := s.run(t, "", append([]string{"audit", "query", "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("audit query: %d %s", r.code, r.stderr)
	}
	var evs []map[string]any
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for dec.More() {
		var ev map[string]any
		if err := dec.Decode(&ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func eventTypes(evs []map[string]any) string {
	var s []string
	for _, e := range evs {
		s = append(s, fmt.Sprint(e["type"]))
	}
	return strings.Join(s, " ")
}

// TestQuickStart follows the README: serve on the embedded defaults (no
// config: one shell target "local" in the current directory, SQLite under
// ./gatehouse-data, an admin token generated into it), start a session,
// run an allowed command and a denied one.
func TestQuickStart(t *testing.T) {
	s := startServer(t, "", map[string]string{"GATEHOUSE_ADMIN_TOKEN": ""})
	if !strings.Contains(s.log.String(), "generated the admin token into") {
		t.Fatalf("no admin token generated:\n%s", s.log)
	}
	m := regexp.MustCompile(`generated the admin token into (\S+) `).FindStringSubmatch(s.log.String())
	if m == nil || !strings.HasPrefix(m[1], filepath.Join(s.env["XDG_STATE_HOME"], "gatehouse")+"/") {
		t.Fatalf("the admin token is not under $XDG_STATE_HOME/gatehouse:\n%s", s.log)
	}
	tok, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(m[1]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin.token mode: %v %v", fi, err)
	}
	s.admin = strings.TrimSpace(string(tok))
	// The agent cannot read it, by any spelling.
	_, agentTok := s.session(t, "snoop", "local:read")
	for _, cmd := range []string{"cat " + m[1], "cat " + filepath.Dir(m[1]) + "/*.token", "grep -r gha_ " + s.env["XDG_STATE_HOME"],
		"tar cf - " + s.env["XDG_STATE_HOME"], "cat /proc/" + fmt.Sprint(os.Getpid()) + "/environ"} {
		if r := s.run(t, agentTok, "exec", "--target", "local", "--", cmd); r.code != exitExecDenied || !strings.Contains(r.stderr, "gateway's own files") {
			t.Errorf("%s: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
	}
	_, agent := s.session(t, "me", "local:write")
	if err := os.WriteFile(filepath.Join(s.dir, "notes.txt"), []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := s.run(t, agent, "exec", "--target", "local", "--", "cat", "notes.txt"); r.code != 0 || r.stdout != "hello\n" {
		t.Errorf("exec cat: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := s.run(t, agent, "exec", "--target", "local", "--", "rm -rf /"); r.code != exitExecDenied || !strings.HasPrefix(r.stderr, "denied: ") {
		t.Errorf("exec rm -rf /: %d %q", r.code, r.stderr)
	}
	if r := s.run(t, agent, "exec", "--target", "local", "--", "ls /nonexistent-dir"); r.code != 2 || !strings.Contains(r.stdout, "No such file") {
		t.Errorf("a failing command's exit code: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := s.run(t, agent, "review", "list"); r.code == 0 || !strings.Contains(r.stderr, "forbidden") {
		t.Errorf("an agent's review list: %d %q", r.code, r.stderr)
	}
}

// TestAuditOutputIsInert: a command with a newline, ANSI escapes and a
// bidirectional override is kept verbatim in the JSON trail, and the text
// of "audit query" and "review show" shows it escaped, one event per line.
func TestAuditOutputIsInert(t *testing.T) {
	s := startServer(t, "version: 1\ndata_dir: DIR/data\ntargets:\n  work: {kind: shell, class: non-critical, workdir: DIR/work}\nreviewers:\n  alice: { token_env: ALICE_TOKEN }\n",
		map[string]string{"ALICE_TOKEN": aliceToken})
	_, agent := s.session(t, "claude", "work:write")
	evil := "rm -rf build \x1b[2J\x1b[1;1H\n     7 fake event\u202e"
	errBuf, done := s.agentExec(t, agent, "--target", "work", "--timeout", "30s", "--", evil)
	item := s.awaitPending(t, aliceToken, evil, errBuf)
	show := s.run(t, aliceToken, "review", "show", item.ID)
	if show.code != 0 || strings.ContainsAny(show.stdout, "\x1b\u202e") || !strings.Contains(show.stdout, `\u001b[2J`) {
		t.Errorf("review show: %d %q", show.code, show.stdout)
	}
	s.run(t, aliceToken, "review", "deny", item.ID, "--reason", "no \x1b[31mred\x1b[0m")
	<-done
	text := s.run(t, "", "audit", "query", "--request", item.ID)
	if strings.ContainsAny(text.stdout, "\x1b\u202e") {
		t.Errorf("audit query printed raw control characters: %q", text.stdout)
	}
	if n := strings.Count(text.stdout, "\n"); n != 4 {
		t.Errorf("audit query printed %d lines for 4 events:\n%s", n, text.stdout)
	}
	evs := s.auditEvents(t, "--request", item.ID)
	if len(evs) == 0 || evs[0]["data"].(map[string]any)["command"] != evil {
		t.Errorf("the trail does not hold the command verbatim: %v", evs)
	}
}
