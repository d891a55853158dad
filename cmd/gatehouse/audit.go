package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/client"
)

// AuditCommand queries, verifies and exports the audit trail (admin).
type AuditCommand struct {
	m *Main
}

const auditUsage = `Usage:
  gatehouse audit query [--session ID] [--request ID] [--type T] [--since T] [--json]
  gatehouse audit verify [--head SEQ:HASH]...
  gatehouse audit export [--format jsonl]

query prints matching events, oldest first (--since takes an RFC 3339 time
or a duration back from now, such as 1h). verify recomputes the hash chain
and exits 0 when it is intact, 1 naming the first bad event otherwise; it
prints the head (SEQ:HASH): keep it elsewhere and pass it back with --head,
so that a trail rewritten together with its head is caught too.
export writes the whole trail as JSON lines.
`

// Run runs one audit subcommand.
func (c *AuditCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.m.Stderr, auditUsage)
		return usageError{msg: "audit needs query, verify or export", hint: "gatehouse audit verify"}
	}
	sub := args[0]
	fs := flag.NewFlagSet("audit "+sub, flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	fs.Usage = func() { fmt.Fprint(c.m.Stderr, auditUsage); fs.PrintDefaults() }
	var f client.AuditFilter
	var since string
	var heads stringList
	asJSON := fs.Bool("json", false, "print JSON lines")
	format := fs.String("format", "jsonl", "export format (jsonl)")
	switch sub {
	case "query":
		fs.StringVar(&f.SessionID, "session", "", "only this session's events")
		fs.StringVar(&f.RequestID, "request", "", "only this request's events")
		fs.StringVar(&f.Type, "type", "", "only events of this type, e.g. request.decided")
		fs.StringVar(&since, "since", "", "only events since an RFC 3339 time or a duration ago (1h)")
	case "verify":
		fs.Var(&heads, "head", "SEQ:HASH printed by an earlier verify, which must still be on the chain (repeatable)")
	case "export":
	case "-h", "--help", "help":
		fmt.Fprint(c.m.Stdout, auditUsage)
		return nil
	default:
		fmt.Fprint(c.m.Stderr, auditUsage)
		return usageError{msg: fmt.Sprintf("unknown audit command %q", sub), hint: "gatehouse audit verify"}
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{msg: "audit " + sub + " takes no arguments", hint: "gatehouse audit " + sub}
	}
	if since != "" {
		if d, err := time.ParseDuration(since); err == nil {
			f.Since = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339Nano, since); err == nil {
			f.Since = t
		} else {
			return usageError{msg: fmt.Sprintf("--since %q: want an RFC 3339 time or a duration", since), hint: "gatehouse audit query --since 1h"}
		}
	}
	if *format != "jsonl" {
		return usageError{msg: fmt.Sprintf("unknown format %q: jsonl is the one format", *format), hint: "gatehouse audit export --format jsonl"}
	}
	cl, err := c.m.newClient(true)
	if err != nil {
		return err
	}
	switch sub {
	case "export":
		return apiError(cl.Export(ctx, c.m.Stdout))
	case "verify":
		v, err := cl.Verify(ctx, heads...)
		if err != nil {
			return apiError(err)
		}
		if !v.OK {
			fmt.Fprintf(c.m.Stderr, "gatehouse: audit trail NOT intact: %s\n", v.Error)
			return exitError{code: exitFailure}
		}
		fmt.Fprintf(c.m.Stdout, "audit trail intact: %d events, head %d:%s\n", v.Events, v.HeadSeq, v.HeadHash)
		return nil
	}
	enc := json.NewEncoder(c.m.Stdout)
	return apiError(cl.Events(ctx, f, func(e *client.Event) error {
		if *asJSON {
			return enc.Encode(e)
		}
		who := e.Actor
		if e.RequestID != "" {
			who += " " + e.RequestID
		}
		_, err := fmt.Fprintf(c.m.Stdout, "%6d %s %-18s %s %s\n", e.Seq, e.Time.Local().Format("2006-01-02 15:04:05.000"), e.Type, who, printable(string(e.Data)))
		return err
	}))
}
