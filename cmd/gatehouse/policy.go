package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/engine"
	"github.com/gatehouse/gatehouse/internal/policy"
)

// PolicyCommand is "gatehouse policy validate|test|show".
type PolicyCommand struct{ m *Main }

const policyUsage = `Usage:
  gatehouse policy validate FILE       check a policy file (syntax, rules, conditions, knowledge)
  gatehouse policy test [FILE...]      run the examples written inside policies (default: the built-in one)
  gatehouse policy show                print the built-in default policy
`

// Run runs the command.
func (c *PolicyCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.m.Stderr, policyUsage)
		return usageError{msg: "policy needs a subcommand", hint: "gatehouse policy validate my-policy.yaml"}
	}
	switch args[0] {
	case "validate":
		return c.validate(args[1:])
	case "test":
		return c.test(ctx, args[1:])
	case "show":
		_, err := c.m.Stdout.Write(policy.DefaultSource())
		return err
	case "-h", "--help", "help":
		fmt.Fprint(c.m.Stdout, policyUsage)
		return nil
	}
	fmt.Fprint(c.m.Stderr, policyUsage)
	return usageError{msg: fmt.Sprintf("unknown policy subcommand %q", args[0]), hint: "gatehouse policy validate FILE"}
}

// exampleEngine builds an engine for a policy's examples: the configured
// targets plus one synthetic target per class, so that examples can name a
// class without a configuration.
func (c *PolicyCommand) exampleEngine(p *policy.Policy, cfgPath string) (*engine.Engine, error) {
	cfg, err := c.m.loadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	wd := cfg.Targets[config.DefaultTargetName]
	workdir := "/workspace"
	if wd != nil {
		workdir = wd.Workdir
	}
	var targets []engine.Target
	for name, t := range cfg.Targets {
		targets = append(targets, engine.Target{Name: name, Kind: t.Kind, Class: t.Class, Workdir: t.Workdir})
	}
	if _, ok := cfg.Targets[config.DefaultTargetName]; !ok {
		targets = append(targets, engine.Target{Name: config.DefaultTargetName, Kind: "shell", Class: "non-critical", Workdir: workdir})
	}
	return engine.New(p, targets, config.DefaultTargetName)
}

func (c *PolicyCommand) validate(args []string) error {
	fs := flag.NewFlagSet("policy validate", flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{msg: "policy validate takes one file", hint: "gatehouse policy validate my-policy.yaml"}
	}
	p, err := loadPolicy(fs.Arg(0))
	if err != nil {
		return err
	}
	if _, err := engine.New(p, nil, ""); err != nil {
		return fmt.Errorf("policy %s: %w", fs.Arg(0), err)
	}
	fmt.Fprintf(c.m.Stdout, "%s: ok (%d rules, %d examples, %s)\n", fs.Arg(0), len(p.Rules), len(p.Examples), p.Hash)
	return nil
}

func (c *PolicyCommand) test(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("policy test", flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	cfgPath := fs.String("config", "", "configuration `FILE` whose targets examples may name")
	verbose := fs.Bool("v", false, "print every example, not only failures")
	if err := fs.Parse(args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{""}
	}
	failed, total := 0, 0
	for _, f := range files {
		name := f
		if name == "" {
			name = "built-in policy"
		}
		p, err := loadPolicy(f)
		if err != nil {
			return err
		}
		eng, err := c.exampleEngine(p, *cfgPath)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(p.Examples) == 0 {
			fmt.Fprintf(c.m.Stdout, "%s: no examples\n", name)
		}
		for _, ex := range p.Examples {
			total++
			d, err := eng.Decide(ctx, engine.Request{Kind: ex.Kind, Command: ex.Command, Target: ex.Target, Class: ex.Class})
			got := "error"
			if err == nil {
				got = string(d.Decision)
			}
			if err == nil && d.Decision == ex.Expect {
				if *verbose {
					fmt.Fprintf(c.m.Stdout, "ok    %s: %s → %s\n", ex.Path, oneLine(ex.Command, 80), got)
				}
				continue
			}
			failed++
			fmt.Fprintf(c.m.Stdout, "FAIL  %s (%s): %s\n      want %s, got %s", name, ex.Path, oneLine(ex.Command, 100), ex.Expect, got)
			if err != nil {
				fmt.Fprintf(c.m.Stdout, " (%v)\n", err)
				continue
			}
			fmt.Fprintf(c.m.Stdout, " by rule %s: %s\n", d.Rule, d.Summary)
		}
	}
	fmt.Fprintf(c.m.Stdout, "%d of %d examples passed\n", total-failed, total)
	if failed > 0 {
		return exitError{1}
	}
	return nil
}
