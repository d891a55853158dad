package shellcmd

import (
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// handlerFunc refines a unit for programs whose structure the data cannot
// express. It returns true when it has recorded the unit itself.
type handlerFunc func(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool

// handlerFor returns the structural handler a knowledge-base entry names,
// or nil. (A switch rather than a map: the handlers refer back to the
// walker, so a package-level map of them would be an initialization cycle.)
func handlerFor(name string) handlerFunc {
	switch name {
	case "shell":
		return handleShell
	case "interpreter":
		return handleInterpreter
	case "awk":
		return handleAwk
	case "sed":
		return handleSed
	case "find":
		return handleFind
	case "xargs":
		return handleXargs
	case "parallel":
		return handleParallel
	case "git":
		return handleGit
	case "curl":
		return handleCurl
	case "wget":
		return handleWget
	case "ssh":
		return handleSSH
	case "scp":
		return handleCopyRemote
	case "rsync":
		return handleCopyRemote
	case "netcat":
		return handleNetcat
	case "socat":
		return handleSocat
	case "sqlclient":
		return handleSQLClient
	case "tar":
		return handleTar
	case "dd":
		return handleDD
	case "chmod":
		return handleChmod
	case "kill":
		return handleKill
	case "docker":
		return handleDocker
	case "kubectl":
		return handleKubectl
	case "http":
		return handleHTTPie
	case "gh":
		return handleGH
	case "ln":
		return handleLn
	}
	return nil
}

// handleShell: bash -c CODE, bash SCRIPT, or bash reading its program from
// standard input.
func handleShell(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	// -c is a flag: the code is the first operand and the rest are $0, $1...
	// (fish also takes --command=CODE).
	code, hasCode := ps.value("--command")
	params := ps.operands
	if !hasCode && ps.has("-c", "--command") && len(params) > 0 {
		code, params, hasCode = params[0], params[1:], true
	}
	via := u.Program + " -c"
	if hasCode {
		c := sc.nested(via, 0, u.Scopes)
		c.pos, c.posKnown, c.posDynamic = nil, true, false
		if len(params) > 1 {
			for _, a := range params[1:] {
				c.pos = append(c.pos, a.s)
				c.posDynamic = c.posDynamic || a.dynamic
			}
		}
		if len(u.Findings) > 0 || u.Effects&^sc.effects != 0 {
			w.finishUnit(sc, u, args)
		}
		c.stdin = sc.stdin
		w.evalCode(c, via, []arg{code}, via)
		return true
	}
	if len(ps.operands) > 0 && ps.operands[0].s != "-" {
		w.interpretedScript(sc, u, ps.operands[0])
		w.finishUnit(sc, u, args)
		return true
	}
	w.stdinCode(sc, u, args, true)
	return true
}

// stdinCode handles a shell or interpreter that reads its program from
// standard input.
func (w *walker) stdinCode(sc *scope, u *analysis.Unit, args []arg, shell bool) {
	in := sc.stdin
	prog := u.Program
	switch {
	case in == nil || in.kind == stdinTerminal:
		u.AddFinding(analysis.FindingInteractive, prog+" without a program reads commands interactively")
		w.finishUnit(sc, u, args)
	case in.kind == stdinHeredoc:
		u.AddFinding(analysis.FindingHeredocShell, in.desc+" is run as code by "+prog)
		if in.effects.Has(analysis.Network) {
			u.Effects = u.Effects.With(analysis.RemoteCode)
		}
		if in.decoded {
			u.AddFinding(analysis.FindingObfuscated, "the code is decoded before it runs")
		}
		w.finishUnit(sc, u, args)
		if shell && in.known {
			c := sc.nested(prog+" <<", 0, u.Scopes)
			c.stdin = nil
			w.script(c, in.text, prog+" heredoc")
		}
	default:
		u.AddFinding(analysis.FindingStdinToShell, prog+" runs code read from "+in.desc)
		if in.effects.Has(analysis.Network) {
			u.Effects = u.Effects.With(analysis.RemoteCode)
			u.AddFinding(analysis.FindingStdinToShell, "the code comes from the network")
		}
		if in.decoded || in.effects.Has(analysis.Opaque) {
			u.AddFinding(analysis.FindingObfuscated, "the code is decoded or generated before it runs")
		}
		if in.effects.Has(analysis.SecretRead) {
			u.Effects = u.Effects.With(analysis.SecretRead)
		}
		w.finishUnit(sc, u, args)
		if shell && in.known {
			c := sc.nested(prog+" <pipe", 0, u.Scopes)
			c.stdin = nil
			w.script(c, in.text, prog+" stdin")
		}
	}
}

// interpretedScript records a script run by a shell or an interpreter.
func (w *walker) interpretedScript(sc *scope, u *analysis.Unit, a arg) {
	if a.dynamic {
		u.Effects = u.Effects.With(analysis.Unknown)
		u.AddFinding(analysis.FindingDynamicCode, u.Program+" runs "+a.display()+", only known at run time")
		if a.src.Has(analysis.Network) {
			u.Effects = u.Effects.With(analysis.RemoteCode)
			u.AddFinding(analysis.FindingDynamicCode, "the code comes from the network")
		}
		if a.decoded {
			u.AddFinding(analysis.FindingObfuscated, "the code is decoded before it runs")
		}
		return
	}
	if strings.Contains(a.s, "://") {
		w.url(sc, u, a)
		u.Effects = u.Effects.With(analysis.RemoteCode)
		u.AddFinding(analysis.FindingScript, u.Program+" runs code from "+a.s)
		return
	}
	shown, class := w.classifyPath(sc, a)
	u.AddPath(analysis.Path{Value: shown, Class: class, Access: analysis.AccessExec})
	if p, ok := resolvePath(sc, a); ok && w.written[p] {
		u.AddFinding(analysis.FindingDynamicCode, "runs "+shown+", which this command line wrote")
	}
	switch class {
	case analysis.Workspace:
		u.Effects = u.Effects.With(analysis.WorkspaceExec)
		u.AddFinding(analysis.FindingTrusted, u.Program+" runs the workspace script "+shown)
		if w.wroteCode() {
			u.AddFinding(analysis.FindingDynamicCode, "runs workspace code after this command line changed code files")
		}
	case analysis.Secret:
		u.Effects = u.Effects.With(analysis.SecretRead).With(analysis.Unknown)
	default:
		u.Effects = u.Effects.With(analysis.Unknown)
		u.AddFinding(analysis.FindingScript, u.Program+" runs "+shown+", whose content is not analyzed")
	}
}

var schemeRE = regexp.MustCompile(`^[a-z][a-z0-9+.-]*://`)

// moduleArgs judges the path arguments of python -m MODULE: a module that
// runs, extracts or writes files outside the workspace is reviewed.
func (w *walker) moduleArgs(sc *scope, u *analysis.Unit, mod string, rest []arg) {
	for _, a := range rest {
		a, ok := pathCandidate(a)
		if !ok {
			continue
		}
		s := a.static()
		if !strings.ContainsAny(s, "/~.") || a.dynamic && s == "" {
			continue
		}
		shown, class := w.classifyPath(sc, a)
		switch class {
		case analysis.Workspace, analysis.Temp:
		default:
			u.Effects = u.Effects.With(analysis.Unknown)
			u.AddFinding(analysis.FindingScript, u.Program+" -m "+mod+" works on "+shown+", outside the workspace")
			return
		}
	}
}

// httpServer: python -m http.server serves a directory to the network.
func (w *walker) httpServer(sc *scope, u *analysis.Unit, rest []arg) {
	dir := arg{s: ".", raw: "."}
	for i, a := range rest {
		if (a.s == "-d" || a.s == "--directory") && i+1 < len(rest) {
			dir = rest[i+1]
		}
	}
	if _, c := w.classifyPath(sc, dir); c != analysis.Workspace {
		u.Effects = u.Effects.With(analysis.Exfiltration)
		u.AddFinding(analysis.FindingRetarget, "serves "+dir.display()+", outside the workspace, to the network")
	}
	w.secretArgs(sc, u, rest)
}

// handleInterpreter: python -c, node -e, python -m, python script.py.
func handleInterpreter(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	in := p.Interpreter
	if in == nil {
		return false
	}
	for _, o := range ps.opts {
		if in.CodeOptions[o.name] && o.hasVal {
			w.operand(sc, u, OperandCode, o.val)
			if strings.Contains(o.name, "ncoded") {
				u.AddFinding(analysis.FindingObfuscated, "the code is given encoded")
			}
			w.finishUnit(sc, u, args)
			return true
		}
	}
	for _, o := range ps.opts {
		if in.ModuleOptions[o.name] && o.hasVal {
			mod := o.val.s
			if target, ok := in.Remap[mod]; ok {
				inner := append([]arg{{s: target, raw: target}}, ps.rest...)
				w.command(sc.nested(u.Program+" -m "+mod, 0, 0), inner, env)
				return true
			}
			if es, ok := in.Modules[mod]; ok {
				u.Effects |= *es
				if es.Has(analysis.Opaque) {
					u.AddFinding(analysis.FindingInlineCode, u.Program+" -m "+mod+" runs code given on the command line")
				}
				if mod == "http.server" {
					w.httpServer(sc, u, ps.rest)
				}
				w.moduleArgs(sc, u, mod, ps.rest)
			} else {
				u.Effects = u.Effects.With(analysis.WorkspaceExec)
				u.AddFinding(analysis.FindingTrusted, u.Program+" runs the module "+mod)
				w.moduleArgs(sc, u, mod, ps.rest)
			}
			u.Subcommand = "-m " + mod
			w.finishUnit(sc, u, args)
			return true
		}
	}
	ops := ps.operands
	for len(ops) > 0 && !ops[0].dynamic && schemeRE.MatchString(ops[0].s) && !strings.HasPrefix(ops[0].s, "http") {
		w.url(sc, u, ops[0]) // mongosh mongodb://host/db
		ops = ops[1:]
	}
	if len(ops) > 0 && ops[0].s != "-" {
		w.interpretedScript(sc, u, ops[0])
		w.finishUnit(sc, u, args)
		return true
	}
	if len(ps.opts) > 0 && sc.stdin == nil {
		// node --test, php --ini: an option the knowledge base says does
		// the whole job.
		for _, o := range ps.opts {
			if o.rule != nil && o.rule.Set != nil {
				u.Effects |= *o.rule.Set
				if o.rule.Set.Has(analysis.WorkspaceExec) {
					u.AddFinding(analysis.FindingTrusted, u.Program+" "+o.name+" runs the workspace's code")
				}
				w.finishUnit(sc, u, args)
				return true
			}
		}
		// python --version, node -v: nothing runs.
		for _, o := range ps.opts {
			if o.name == "--version" || o.name == "-V" || o.name == "-v" || o.name == "--help" || o.name == "-h" {
				u.Effects = u.Effects.With(analysis.Read)
				w.finishUnit(sc, u, args)
				return true
			}
		}
	}
	w.stdinCode(sc, u, args, false)
	return true
}
