package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/client"
)

// SessionCommand starts and ends agent sessions (admin).
type SessionCommand struct {
	m *Main
}

const sessionUsage = `Usage:
  gatehouse session start --agent NAME --grant TARGET:ACCESS... [--ttl DUR] [--json]
  gatehouse session end ID

start prints the session's token once (the gateway keeps only its hash);
give it to the agent as $GATEHOUSE_TOKEN. ACCESS is read, write or admin.
end revokes everything the session holds and denies its pending requests.

Admin commands send $GATEHOUSE_TOKEN, or $GATEHOUSE_ADMIN_TOKEN when it is
unset, to $GATEHOUSE_ADDR (default http://127.0.0.1:8700).
`

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// Run runs session start or end.
func (c *SessionCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "start" && args[0] != "end") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(c.m.Stdout, sessionUsage)
			return nil
		}
		fmt.Fprint(c.m.Stderr, sessionUsage)
		return usageError{msg: "session needs start or end", hint: "gatehouse session start --agent my-agent --grant local:write"}
	}
	fs := flag.NewFlagSet("session "+args[0], flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	fs.Usage = func() { fmt.Fprint(c.m.Stderr, sessionUsage); fs.PrintDefaults() }
	if args[0] == "end" {
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usageError{msg: "session end takes one session id", hint: "gatehouse session end ses_..."}
		}
		cl, err := c.m.newClient(true)
		if err != nil {
			return err
		}
		s, err := cl.EndSession(ctx, fs.Arg(0))
		if err != nil {
			return apiError(err)
		}
		fmt.Fprintf(c.m.Stdout, "ended session %s (agent %s)\n", s.ID, s.Agent)
		return nil
	}
	agent := fs.String("agent", "", "the agent's name (required)")
	var grants stringList
	fs.Var(&grants, "grant", "TARGET:ACCESS, repeatable (required)")
	ttl := fs.Duration("ttl", 0, "how long the session lives (default: the server's sessions.ttl)")
	asJSON := fs.Bool("json", false, `print {"id","token","expires_at",...} as JSON`)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *agent == "" || len(grants) == 0 || fs.NArg() > 0 {
		return usageError{msg: "session start needs --agent and at least one --grant", hint: "gatehouse session start --agent my-agent --grant local:write"}
	}
	cl, err := c.m.newClient(true)
	if err != nil {
		return err
	}
	in := client.StartSession{Agent: *agent, Grants: grants}
	if *ttl != 0 {
		in.TTL = ttl.String()
	}
	s, err := cl.StartSession(ctx, in)
	if err != nil {
		return apiError(err)
	}
	if *asJSON {
		return printJSON(c.m.Stdout, s)
	}
	fmt.Fprintf(c.m.Stdout, "session %s for %s, grants %v, expires %s\nexport GATEHOUSE_TOKEN=%s\n", s.ID, s.Agent, s.Grants, s.ExpiresAt.Local().Format(time.RFC3339), s.Token)
	return nil
}
