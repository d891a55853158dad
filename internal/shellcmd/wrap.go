package shellcmd

import (
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

var assignmentRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// wrap handles a program that runs another command: sudo, env, timeout,
// nice, xargs-like wrappers from the knowledge base, ssh, kubectl exec.
func (w *walker) wrap(sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) {
	wr := p.Wrapper
	via := strings.TrimSpace(u.Program + " " + u.Subcommand)
	inherit := u.Effects &^ sc.effects // the wrapper's effects, with what its options added
	scopes := p.Scopes | u.Scopes
	if wr.Remote {
		scopes = scopes.With(analysis.Remote)
	}
	nsc := sc.nested(via, inherit, scopes) // sc already has any -C/--chdir applied
	if wr.ClosedOptions {
		for _, o := range ps.opts {
			if _, known := o.level.Options[o.name]; !known && !o.level.ValueOptions[o.name] {
				// It may take a value, and then the command starts later.
				u.Effects = u.Effects.With(analysis.Unknown)
				u.AddFinding(analysis.FindingUnknownOption, via+" "+o.name+" is not a known option: where the command starts is unclear")
				break
			}
		}
	}
	hadCommand := false
	for _, o := range ps.opts {
		if o.hasVal && wr.CommandOptions[o.name] {
			hadCommand = true
			w.evalCode(nsc, via, []arg{o.val}, via)
		}
	}
	inner := ps.rest
	if wr.Separator != "" {
		inner = nil
		for i := 1; i < len(args); i++ {
			if !args[i].dynamic && args[i].s == wr.Separator {
				inner = args[i+1:]
				break
			}
		}
	} else {
		for i := 0; i < wr.SkipOperands && len(inner) > 0; i++ {
			if wr.Remote && i == 0 {
				w.operand(sc, u, OperandHost, inner[0])
			}
			inner = inner[1:]
		}
	}
	if wr.Assignments {
		for len(inner) > 0 && !inner[0].dynamic && assignmentRE.MatchString(inner[0].s) {
			k, v, _ := strings.Cut(inner[0].s, "=")
			val := inner[0]
			val.s = v
			if env == nil {
				env = map[string]arg{}
			}
			env[k] = val
			w.envEffects(nsc, k, val, u)
			inner = inner[1:]
		}
	}
	if len(inner) == 0 {
		if !hadCommand {
			if p.Bare != nil {
				u.Effects |= *p.Bare // env alone prints the environment
			} else if wr.Optional || wr.BareFinding == "" {
				u.Effects |= p.Effects
			} else {
				u.Effects |= p.Effects
				u.AddFinding(wr.BareFinding, via+" without a command")
			}
			w.finishUnit(sc, u, args)
		}
		return
	}
	if wr.Remote {
		u.AddFinding(analysis.FindingRemoteExec, "runs a command on "+strings.Join(u.Hosts, ", ")+" through "+via)
	}
	if wr.Remote || len(u.Findings) > 0 || len(u.Paths) > 0 || inherit&^p.Effects != 0 {
		// The wrapper itself does something worth seeing (uv run --with
		// pkg, a remote host): record it beside the command it runs.
		w.finishUnit(sc, u, args)
		if w.full {
			return
		}
	}
	if wr.Join {
		w.evalCode(nsc, via, inner, via)
		return
	}
	nsc.stdin = sc.stdin
	w.command(nsc, inner, env)
}
