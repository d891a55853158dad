package main

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the scripts run "gatehouse" as a real subprocess built from
// this package.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"gatehouse": func() {
			m := NewMain()
			os.Exit(m.exitCode(m.Run(context.Background(), os.Args[1:])))
		},
	})
}

// TestScripts runs the CLI scripts in testdata/script (txtar files).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
	})
}
