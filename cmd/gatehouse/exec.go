package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/client"
)

// Exit codes of exec, chosen apart from the codes commands commonly use.
const (
	exitExecDenied  = 126
	exitExecTimeout = 124
)

// ExecCommand submits a command to the gateway as the session's agent and
// prints the outcome.
type ExecCommand struct {
	m *Main
}

const execUsage = `Usage: gatehouse exec --target NAME [--kind shell|sql] [--timeout DUR] [--json] -- COMMAND

Submits COMMAND with the session token ($GATEHOUSE_TOKEN) to the gateway
($GATEHOUSE_ADDR), waits for the decision (and for reviewers when it needs
review), and prints what the gateway ran: its output on stdout.

Exit status: 0 when it executed and succeeded; the command's own exit code
(or 1) when it ran and failed; 126 when it was denied or expired, with
"denied" and the reason on stderr (126 is the shell's "cannot execute");
124 when --timeout passed first (as timeout(1) does); 1 when the gateway
could not be reached or refused the request, 2 for a usage error, each
with a "gatehouse:" message on stderr.

Flags:
`

// Run submits and waits.
func (c *ExecCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("exec", flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	target := fs.String("target", "", "the target to run on (required)")
	kind := fs.String("kind", "", "shell or sql (default: the target's)")
	timeout := fs.Duration("timeout", 0, "how long to wait for a decision and the run (default: until done)")
	asJSON := fs.Bool("json", false, "print the final request as JSON")
	fs.Usage = func() { fmt.Fprint(c.m.Stderr, execUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return err
	}
	command := strings.Join(fs.Args(), " ")
	if *target == "" || strings.TrimSpace(command) == "" {
		return usageError{msg: "exec needs --target and a command", hint: "gatehouse exec --target local -- ls -la"}
	}
	if *kind != "" && *kind != "shell" && *kind != "sql" && *kind != "http" {
		return usageError{msg: fmt.Sprintf("unknown kind %q: want shell or sql", *kind), hint: "gatehouse exec --target app-db --kind sql -- 'SELECT 1'"}
	}
	cl, err := c.m.newClient(false)
	if err != nil {
		return err
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	r, err := cl.Submit(ctx, client.Submit{Target: *target, Kind: *kind, Command: command})
	if err != nil {
		return apiError(err)
	}
	if r.State == "pending_review" {
		fmt.Fprintf(c.m.Stderr, "gatehouse: waiting for review: request %s, risk %s (%d), %d approval(s) needed, expires %s\n",
			r.ID, r.RiskLevel, r.RiskScore, r.ApprovalsRequired, r.ExpiresAt.Local().Format(time.Kitchen))
	}
	if !r.Done() {
		r, err = cl.Wait(ctx, r.ID, 0)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil && r != nil {
			fmt.Fprintf(c.m.Stderr, "gatehouse: still %s after %s: request %s\n", r.State, *timeout, r.ID)
			return exitError{code: exitExecTimeout}
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				fmt.Fprintf(c.m.Stderr, "gatehouse: no outcome within %s\n", *timeout)
				return exitError{code: exitExecTimeout}
			}
			return apiError(err)
		}
	}
	if *asJSON {
		if err := printJSON(c.m.Stdout, r); err != nil {
			return err
		}
	} else if r.Result != nil {
		fmt.Fprint(c.m.Stdout, r.Result.Output)
		if r.Result.Output != "" && !strings.HasSuffix(r.Result.Output, "\n") {
			fmt.Fprintln(c.m.Stdout)
		}
	}
	switch r.State {
	case "executed":
		if r.Result != nil && r.Result.RowsAffected != nil && !*asJSON {
			fmt.Fprintf(c.m.Stderr, "gatehouse: %d row(s) affected\n", *r.Result.RowsAffected)
		}
		return nil
	case "denied", "expired":
		fmt.Fprintf(c.m.Stderr, "denied: %s\n", r.Reason)
		return exitError{code: exitExecDenied}
	case "failed":
		fmt.Fprintf(c.m.Stderr, "gatehouse: failed: %s\n", r.Reason)
		if r.Result != nil && r.Result.ExitCode != nil && *r.Result.ExitCode > 0 && *r.Result.ExitCode < 256 {
			return exitError{code: *r.Result.ExitCode}
		}
		return exitError{code: exitFailure}
	}
	return fmt.Errorf("request %s ended in state %s", r.ID, r.State)
}
