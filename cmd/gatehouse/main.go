// Command gatehouse is the command authorization gateway for AI agents.
//
// Run "gatehouse help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := NewMain()
	err := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(m.exitCode(err))
}

// Main is the program, with its environment made explicit so that tests
// can run it in-process.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Getwd  func() (string, error)
}

// NewMain returns a Main wired to the process's environment.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Getwd: os.Getwd}
}

const usage = `gatehouse: a command authorization gateway for AI agents.

Usage:
  gatehouse <command> [flags] [arguments]

Commands:
  serve     run the gateway: API, sessions, reviews, execution, audit trail
  check     decide a command locally (no server, nothing executed)
  policy    validate a policy, run the examples written inside it, or show the built-in one

Client commands (reach $GATEHOUSE_ADDR with $GATEHOUSE_TOKEN):
  session   start or end an agent session (admin)
  exec      submit a command as an agent, wait for the decision, print the result
  review    list, show, approve or deny requests (reviewer)
  audit     query, verify or export the audit trail (admin)

  version   print the version

Run "gatehouse <command> -h" for a command's flags.
`

// Run runs one command line.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return usageError{msg: "no command given", hint: "gatehouse check -- ls -la"}
	}
	switch args[0] {
	case "check":
		return (&CheckCommand{m: m}).Run(ctx, args[1:])
	case "policy":
		return (&PolicyCommand{m: m}).Run(ctx, args[1:])
	case "serve":
		return (&ServeCommand{m: m}).Run(ctx, args[1:])
	case "session":
		return (&SessionCommand{m: m}).Run(ctx, args[1:])
	case "exec":
		return (&ExecCommand{m: m}).Run(ctx, args[1:])
	case "review":
		return (&ReviewCommand{m: m}).Run(ctx, args[1:])
	case "audit":
		return (&AuditCommand{m: m}).Run(ctx, args[1:])
	case "version", "--version", "-version":
		fmt.Fprintln(m.Stdout, "gatehouse", Version())
		return nil
	case "help", "-h", "--help", "-help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	}
	fmt.Fprint(m.Stderr, usage)
	return usageError{msg: fmt.Sprintf("unknown command %q", args[0]), hint: "gatehouse help"}
}

// Version returns the program's version.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "devel-" + s.Value[:12]
			}
		}
	}
	return "devel"
}

// usageError is a mistake in how the program was called; it carries a hint.
type usageError struct {
	msg  string
	hint string
}

func (e usageError) Error() string { return e.msg }

// exitError ends the program with a code and no further message; the
// command has already said what there is to say.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func (m *Main) exitCode(err error) int {
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(m.Stderr, "gatehouse: %s\n", ue.msg)
		if ue.hint != "" {
			fmt.Fprintf(m.Stderr, "Try: %s\n", ue.hint)
		}
		return exitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(m.Stderr, "gatehouse: interrupted")
		return 130
	}
	fmt.Fprintf(m.Stderr, "gatehouse: %v\n", err)
	return exitFailure
}
