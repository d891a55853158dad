package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gatehouse/gatehouse/internal/pgtest"
)

// TestMain lets the scripts (and the fault tests) run "gatehouse" as a
// real subprocess built from this package, and stops the throwaway
// PostgreSQL the tests may have started.
func TestMain(m *testing.M) {
	testscript.Main(withPostgres{m}, map[string]func(){
		"gatehouse": func() {
			m := NewMain()
			os.Exit(m.exitCode(m.Run(context.Background(), os.Args[1:])))
		},
	})
}

// withPostgres runs the tests, then stops the cluster pgtest started.
type withPostgres struct{ m *testing.M }

func (w withPostgres) Run() int { return pgtest.Run(w.m) }

// TestScripts runs the CLI scripts in testdata/script (txtar files).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
	})
}

// TestExitCodes checks the exit status of each outcome: the scripts' "!
// exec" only knows that a command failed, not how.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"check", "--", "ls -la"}, 0},
		{[]string{"check", "--", "rm -rf build/"}, 3},
		{[]string{"check", "--", "rm -rf /"}, 4},
		{[]string{"check", "--target", "nowhere", "--", "ls"}, 2},
		{[]string{"check", "--config", "/nonexistent/gatehouse.yaml", "--", "ls"}, 1},
		{[]string{"check"}, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"check", "--kind", "sql", "--", "DROP TABLE users"}, 3},
		{[]string{"version"}, 0},
	}
	for _, tt := range tests {
		var out, errOut strings.Builder
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" },
			Getwd: func() (string, error) { return t.TempDir(), nil }}
		if got := m.exitCode(m.Run(context.Background(), tt.args)); got != tt.want {
			t.Errorf("gatehouse %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(tt.args, " "), got, tt.want, out.String(), errOut.String())
		}
	}
}

// TestBatchOrder decides more lines than one window holds, on every
// worker, and checks each answer is on its own question's line.
func TestBatchOrder(t *testing.T) {
	const n = 1500 // three windows of 512
	var in strings.Builder
	for i := range n {
		cmd := "ls -la"
		if i%3 == 0 {
			cmd = "rm -rf build/"
		}
		fmt.Fprintf(&in, "{\"kind\":\"shell\",\"command\":%q}\n", cmd)
	}
	var out, errOut strings.Builder
	m := &Main{Stdin: strings.NewReader(in.String()), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" },
		Getwd: func() (string, error) { return t.TempDir(), nil }}
	if err := m.Run(context.Background(), []string{"check", "--batch", "-"}); err != nil {
		t.Fatalf("batch: %v\n%s", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d answers for %d lines", len(lines), n)
	}
	for i, l := range lines {
		var d struct{ Decision string }
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, l)
		}
		want := "allow"
		if i%3 == 0 {
			want = "review"
		}
		if d.Decision != want {
			t.Fatalf("line %d: decision %q, want %q: answers are out of order", i+1, d.Decision, want)
		}
	}
}
