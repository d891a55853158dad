package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/client"
)

// ReviewCommand lists, shows, approves and denies requests (reviewer token).
type ReviewCommand struct {
	m *Main
}

const reviewUsage = `Usage:
  gatehouse review list [--json]
  gatehouse review show ID
  gatehouse review approve ID [--reason TEXT]
  gatehouse review deny ID --reason TEXT

Sends the reviewer's token ($GATEHOUSE_TOKEN) to $GATEHOUSE_ADDR. A denial
needs a reason: the agent receives it. A request needing several approvals
needs that many distinct reviewers; any denial ends it.
`

// Run runs one review subcommand.
func (c *ReviewCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.m.Stderr, reviewUsage)
		return usageError{msg: "review needs list, show, approve or deny", hint: "gatehouse review list"}
	}
	sub := args[0]
	fs := flag.NewFlagSet("review "+sub, flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	fs.Usage = func() { fmt.Fprint(c.m.Stderr, reviewUsage); fs.PrintDefaults() }
	asJSON := fs.Bool("json", false, "print JSON")
	reason := fs.String("reason", "", "why (required to deny)")
	switch sub {
	case "list", "show", "approve", "deny":
	case "-h", "--help", "help":
		fmt.Fprint(c.m.Stdout, reviewUsage)
		return nil
	default:
		fmt.Fprint(c.m.Stderr, reviewUsage)
		return usageError{msg: fmt.Sprintf("unknown review command %q", sub), hint: "gatehouse review list"}
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	// Flags may follow the request id: review deny ID --reason TEXT.
	var id string
	if fs.NArg() > 0 && sub != "list" {
		id = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return usageError{msg: fmt.Sprintf("review %s takes one request id (got %q too)", sub, fs.Arg(0)), hint: `gatehouse review deny ID --reason "quote the reason"`}
		}
	}
	switch {
	case sub == "list" && fs.NArg() > 0:
		return usageError{msg: "review list takes no arguments", hint: "gatehouse review list --json"}
	case sub != "list" && id == "":
		return usageError{msg: "review " + sub + " needs a request id", hint: "gatehouse review " + sub + " REQUEST_ID (see gatehouse review list)"}
	}
	if sub == "deny" && strings.TrimSpace(*reason) == "" {
		return usageError{msg: "a denial needs --reason: the agent receives it", hint: `gatehouse review deny ID --reason "wrong table"`}
	}
	cl, err := c.m.newClient(false)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		rs, err := cl.Pending(ctx)
		if err != nil {
			return apiError(err)
		}
		if *asJSON {
			return printJSON(c.m.Stdout, rs)
		}
		if len(rs) == 0 {
			fmt.Fprintln(c.m.Stdout, "no requests waiting for review")
			return nil
		}
		tw := tabwriter.NewWriter(c.m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tAGENT\tTARGET\tRISK\tROWS\tAPPROVALS\tEXPIRES\tCOMMAND")
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s %d\t%s\t%d/%d\t%s\t%s\n", r.ID, r.Agent, r.Target, r.RiskLevel, r.RiskScore, rows(r.EstimatedRows),
				len(r.Approvals), r.ApprovalsRequired, time.Until(r.ExpiresAt).Round(time.Second), oneLine(r.Command, 60))
		}
		return tw.Flush()
	case "show":
		r, err := cl.Request(ctx, id)
		if err != nil {
			return apiError(err)
		}
		if *asJSON {
			return printJSON(c.m.Stdout, r)
		}
		c.show(r)
		return nil
	}
	vote := client.VoteBody{Reason: *reason}
	var r *client.Request
	if sub == "approve" {
		r, err = cl.Approve(ctx, id, vote)
	} else {
		r, err = cl.Deny(ctx, id, vote)
	}
	if err != nil {
		return apiError(err)
	}
	if *asJSON {
		return printJSON(c.m.Stdout, r)
	}
	fmt.Fprintf(c.m.Stdout, "request %s is %s", r.ID, strings.ReplaceAll(r.State, "_", " "))
	if r.State == "pending_review" {
		fmt.Fprintf(c.m.Stdout, " (%d of %d approvals)", len(r.Approvals), r.ApprovalsRequired)
	}
	fmt.Fprintln(c.m.Stdout)
	return nil
}

func (c *ReviewCommand) show(r *client.Request) {
	w := c.m.Stdout
	fmt.Fprintf(w, "request   %s (%s)\n", r.ID, strings.ReplaceAll(r.State, "_", " "))
	fmt.Fprintf(w, "agent     %s, session %s\n", r.Agent, r.SessionID)
	fmt.Fprintf(w, "target    %s (%s, class %s)\n", r.Target, r.Kind, r.Class)
	fmt.Fprintf(w, "command   %s\n", printable(r.Command))
	fmt.Fprintf(w, "decision  %s by rule %s, risk %s (%d)\n", r.Decision, r.Rule, r.RiskLevel, r.RiskScore)
	fmt.Fprintf(w, "impact    rows %s", rows(r.EstimatedRows))
	if r.EstimatedFiles != nil {
		fmt.Fprintf(w, ", files %d", *r.EstimatedFiles)
	}
	if r.Reversible != nil {
		fmt.Fprintf(w, ", reversible %v", *r.Reversible)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "approvals %d of %d %v, expires %s\n", len(r.Approvals), r.ApprovalsRequired, r.Approvals, r.ExpiresAt.Local().Format(time.RFC3339))
	fmt.Fprintln(w, "reasons")
	for _, f := range r.Reasons {
		fmt.Fprintf(w, "  %+4d  %s\n", f.Points, printable(f.Text))
	}
	if r.Reason != "" {
		fmt.Fprintf(w, "outcome   %s\n", printable(r.Reason))
	}
}

func rows(n *int64) string {
	if n == nil {
		return "unknown"
	}
	return fmt.Sprint(*n)
}

// printable shows control characters (ANSI escapes, carriage returns) as
// Go escapes, so that what an agent wrote cannot rewrite the reviewer's
// terminal or hide part of a command. Newlines and tabs stay.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case unsafeRune(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unsafeRune reports runes a terminal acts on or that reorder text: C0 and
// C1 controls, DEL, line separators and bidirectional overrides.
func unsafeRune(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' ||
		(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}
