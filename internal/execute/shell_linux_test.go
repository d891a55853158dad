package execute_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/execute"
)

// becomeSubreaper makes this process adopt its orphaned descendants, so a
// test can wait for a grandchild whose parent (the shell) was killed.
func becomeSubreaper(t *testing.T) {
	t.Helper()
	const prSetChildSubreaper = 36
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		t.Skipf("prctl(PR_SET_CHILD_SUBREAPER): %v", errno)
	}
}

// waitKilled waits for the adopted process pid to end and returns how.
func waitKilled(t *testing.T, pid int) syscall.WaitStatus {
	t.Helper()
	type waited struct {
		ws  syscall.WaitStatus
		err error
	}
	ch := make(chan waited, 1)
	go func() {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		ch <- waited{ws, err}
	}()
	select {
	case w := <-ch:
		if w.err != nil {
			t.Fatalf("wait for pid %d: %v", pid, w.err)
		}
		return w.ws
	case <-time.After(10 * time.Second):
		t.Fatalf("background process %d is still running", pid)
		return 0
	}
}

func firstLinePID(t *testing.T, output string) int {
	t.Helper()
	line, _, _ := strings.Cut(output, "\n")
	pid, err := strconv.Atoi(line)
	if err != nil {
		t.Fatalf("no pid in output %q", output)
	}
	return pid
}

func TestShellTimeoutKillsProcessGroup(t *testing.T) {
	becomeSubreaper(t)
	s := &execute.Shell{Workdir: t.TempDir(), Timeout: time.Second}
	start := time.Now()
	res := run(t, s, "sleep 100 & echo $!; sleep 100")
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("Run took %v with a 1s timeout", elapsed)
	}
	if res.Error != "timed out after 1s" {
		t.Errorf("Error = %q, want %q", res.Error, "timed out after 1s")
	}
	if res.ExitCode == nil || *res.ExitCode != -1 || res.OK() {
		t.Errorf("ExitCode = %v, OK = %v; want -1, false", res.ExitCode, res.OK())
	}
	ws := waitKilled(t, firstLinePID(t, res.Output))
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("background child ended with %v, want killed by SIGKILL", ws)
	}
}

// A background process that keeps the output pipe open must not keep Run
// from returning once the command itself has exited.
func TestShellBackgroundChildHoldingOutput(t *testing.T) {
	becomeSubreaper(t)
	start := time.Now()
	res := run(t, &execute.Shell{}, "sleep 100 & echo $!")
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("Run took %v", elapsed)
	}
	if !res.OK() {
		t.Errorf("Result = %+v, want success", res)
	}
	pid := firstLinePID(t, res.Output)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill leftover child: %v", err)
	}
	waitKilled(t, pid)
}

func TestShellCanceled(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "started")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan *execute.Result, 1)
	go func() {
		res, err := (&execute.Shell{Workdir: dir}).Run(ctx, "echo > started; exec sleep 100")
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// Opening the fifo blocks until the command opens it for writing.
	if _, err := os.ReadFile(fifo); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case res := <-done:
		if res == nil {
			return
		}
		if !strings.HasPrefix(res.Error, "canceled") || res.OK() {
			t.Errorf("canceled run = %+v, want Error starting with canceled", res)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context was canceled")
	}
}
