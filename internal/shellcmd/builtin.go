package shellcmd

import (
	"maps"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// builtin handles the shell builtins that change the shell's own state or
// run code given as text. It reports whether args was one of them.
func (w *walker) builtin(sc *scope, args []arg, env map[string]arg) bool {
	name := args[0].s
	rest := args[1:]
	switch name {
	case "cd", "pushd", "popd", "chdir":
		sc.writes[cwdWrites]++
		ops := operandsOf(rest)
		switch {
		case name == "popd":
			sc.cwdKnown = false
		case name == "pushd" && (len(ops) == 0 || strings.HasPrefix(ops[0].s, "+") || strings.HasPrefix(ops[0].s, "-")):
			// pushd alone or pushd +N/-N goes to a directory of the stack.
			sc.cwdKnown = false
		case len(ops) == 0:
			sc.chdir(arg{}, false)
		default:
			if v, ok := sc.lookup("CDPATH"); ok && !v.unset && (v.str != "" || !v.known) && !strings.HasPrefix(ops[0].s, "/") &&
				!strings.HasPrefix(ops[0].s, ".") {
				// With CDPATH, "cd x" may go to any directory it lists.
				sc.cwdKnown = false
				return true
			}
			if w.shopts["cdable_vars"] && !strings.ContainsAny(ops[0].s, "/.") {
				// cd NAME may go to the directory in $NAME.
				sc.cwdKnown = false
				return true
			}
			sc.chdir(ops[0], true)
			if sc.cwdKnown && w.classifyClean(sc.cwd) == analysis.GatewayPath {
				// Inside the gateway's own directory every relative name
				// (ls | xargs cat, unzip, mktemp -p .) reaches its files.
				u := w.newUnit(sc, args)
				u.Program = name
				u.Effects = u.Effects.With(analysis.Read)
				u.AddPath(analysis.Path{Value: ops[0].display(), Class: analysis.GatewayPath, Access: analysis.AccessRead})
				w.add(u)
			}
		}
		return true
	case "eval":
		c := sc.inline("eval")
		w.evalCode(c, "eval", rest, "eval")
		sc.settle(c, true)
		return true
	case "source", ".":
		w.source(sc, args)
		return true
	case "exec":
		ops := rest
		for len(ops) > 0 && strings.HasPrefix(ops[0].s, "-") && !ops[0].dynamic {
			if ops[0].s == "-a" && len(ops) > 1 {
				ops = ops[1:]
			}
			if ops[0].s == "--" {
				ops = ops[1:]
				break
			}
			ops = ops[1:]
		}
		if len(ops) > 0 {
			// exec runs a program: functions and aliases do not apply.
			w.external(sc, ops, env)
		}
		return true
	case "command":
		ops := rest
		for len(ops) > 0 && !ops[0].dynamic && strings.HasPrefix(ops[0].s, "-") {
			switch ops[0].s {
			case "-v", "-V":
				u := w.newUnit(sc, args)
				u.Program = "command"
				u.Effects = u.Effects.With(analysis.Read)
				w.add(u)
				return true
			case "--":
				ops = ops[1:]
				goto run
			}
			ops = ops[1:]
		}
	run:
		if len(ops) > 0 {
			// command skips functions and aliases.
			w.external(sc, ops, env)
		}
		return true
	case "builtin":
		if len(rest) > 0 && !w.builtin(sc, rest, env) {
			w.command(sc, rest, env)
		}
		return true
	case "trap":
		ops := operandsOf(rest)
		if len(ops) >= 2 && ops[0].s != "-" && ops[0].s != "" {
			w.trap(sc, ops[0])
		} else if len(ops) == 1 && !isSignal(ops[0].s) {
			w.trap(sc, ops[0])
		}
		return true
	case "alias":
		for _, a := range operandsOf(rest) {
			n, v, ok := strings.Cut(a.s, "=")
			if !ok {
				continue
			}
			if a.dynamic {
				w.opaque(sc, "alias "+a.display(), analysis.FindingDynamicCode, "an alias is defined from run-time data")
				continue
			}
			w.aliases[n] = v
			w.aliasDefs = append(w.aliasDefs, n)
			w.defs++
		}
		return true
	case "unalias":
		for _, a := range operandsOf(rest) {
			delete(w.aliases, a.s)
		}
		return true
	case "unset":
		// unset NAME removes the variable, or the function when there is
		// no such variable; -f only functions, -v only variables. A
		// function it may remove is uncertain from here on: calls are
		// judged as the program too.
		funcs, vars := false, false
		opts := true
		w.defs++
		for _, a := range rest {
			if proxyVar(a.s) {
				u := w.opaque(sc, "unset "+a.s, analysis.FindingProxyBypass, "unsetting "+a.s+" makes programs bypass the egress proxy")
				u.Program = "unset"
			}
			switch {
			case opts && !a.dynamic && a.s == "--":
				opts = false
			case opts && !a.dynamic && strings.HasPrefix(a.s, "-") && len(a.s) > 1:
				funcs = funcs || strings.Contains(a.s, "f")
				vars = vars || strings.ContainsAny(a.s, "vn")
			case a.dynamic:
				for name := range w.funcs {
					w.uncertain["func "+name] = true
				}
			default:
				opts = false
				if !vars || funcs {
					if _, ok := w.funcs[a.s]; ok {
						w.uncertain["func "+a.s] = true
					}
				}
				if !funcs {
					w.assignVar(sc, a.s, variable{unset: true, known: true})
				}
			}
		}
		return true
	case "compgen", "complete":
		u := w.newUnit(sc, args)
		u.Program = name
		u.Effects = u.Effects.With(analysis.Read)
		w.add(u)
		return true
	case "read", "mapfile", "readarray", "getopts", "printf":
		if name == "printf" {
			isV := false
			for i, a := range rest {
				if a.s == "-v" && i+1 < len(rest) {
					w.setByName(sc, rest[i+1])
					isV = true
				}
			}
			return isV // plain printf is an ordinary read-only program
		}
		for _, a := range rest {
			if !a.dynamic && isName(a.s) {
				sc.set(a.s, variable{})
			} else {
				w.setByName(sc, a)
			}
		}
		if name == "mapfile" || name == "readarray" {
			sc.set("MAPFILE", variable{})
		}
		sc.set("REPLY", variable{})
		u := w.newUnit(sc, args)
		u.Program = name
		u.Effects = u.Effects.With(analysis.Read)
		w.add(u)
		return true
	case "shift":
		if sc.posKnown && len(sc.pos) > 0 {
			sc.pos = sc.pos[1:]
		}
		return true
	case "set":
		for i, a := range rest {
			if a.s == "--" {
				sc.pos, sc.posKnown, sc.posDynamic = nil, true, false
				for _, p := range rest[i+1:] {
					sc.pos = append(sc.pos, p.s)
					sc.posDynamic = sc.posDynamic || p.dynamic
				}
				break
			}
		}
		return true
	case "hash":
		w.hash(sc, rest)
		return true
	case "shopt":
		set := false
		for _, a := range rest {
			switch {
			case a.s == "-s" || a.s == "-o":
				set = true
			case a.dynamic && set:
				// An option only known at run time: assume the widest.
				for _, o := range []string{"dotglob", "nocaseglob", "cdable_vars", "globstar"} {
					w.shopts[o] = true
				}
			case set:
				w.shopts[a.s] = true // kept even if unset later: only ever wider
			}
		}
		return true
	case "wait", "true", "false", ":", "return", "exit", "break", "continue", "local", "umask",
		"ulimit", "times", "jobs", "disown", "suspend", "logout", "caller", "compopt", "dirs", "help", "let":
		return true
	case "bind":
		for i, a := range rest {
			if a.s == "-x" && i+1 < len(rest) {
				// bind -x 'KEY: cmd' runs cmd on a key press.
				_, cmd, _ := strings.Cut(rest[i+1].s, ":")
				w.evalCode(sc.nestedSame("bind -x"), "bind -x", []arg{withValue(rest[i+1], strings.Trim(strings.TrimSpace(cmd), `"'`))}, "bind -x")
			}
		}
		return true
	case "enable":
		for _, a := range rest {
			if a.s == "-f" {
				w.opaque(sc, shellJoin(args2strings(args)), analysis.FindingCodeConfig, "enable -f loads a builtin from a shared library")
				return true
			}
		}
		return true
	}
	return false
}

func proxyVar(name string) bool {
	switch strings.ToLower(name) {
	case "http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy", "socks_proxy", "rsync_proxy":
		return true
	}
	return false
}

func isSignal(s string) bool {
	if isFD(s) {
		return true
	}
	up := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	switch up {
	case "EXIT", "ERR", "DEBUG", "RETURN", "INT", "TERM", "HUP", "QUIT", "KILL", "USR1", "USR2", "PIPE", "ALRM",
		"CHLD", "CONT", "STOP", "TSTP", "WINCH":
		return true
	}
	return false
}

// operandsOf drops leading options.
func operandsOf(as []arg) []arg {
	for i, a := range as {
		if a.dynamic || !strings.HasPrefix(a.s, "-") || a.s == "-" {
			return as[i:]
		}
		if a.s == "--" {
			return as[i+1:]
		}
	}
	return nil
}

// evalCode analyzes text that a shell will run as code: eval's arguments,
// a trap handler, bash -c's script. via names the construct; sc is the scope
// the code runs in, already nested by the caller.
func (w *walker) evalCode(sc *scope, via string, parts []arg, what string) {
	if len(parts) == 0 {
		return
	}
	dynamic, decoded := false, false
	var src analysis.EffectSet
	texts := make([]string, len(parts))
	for i, p := range parts {
		dynamic = dynamic || p.dynamic
		decoded = decoded || p.decoded
		src |= p.src
		texts[i] = p.s
		if p.dynamic {
			texts[i] = p.display()
		}
	}
	text := strings.Join(texts, " ")
	if dynamic {
		u := w.opaque(sc, via+" "+text, analysis.FindingDynamicCode, what+" runs code that is only known at run time")
		u.Program = via
		if src.Has(analysis.Network) {
			u.Effects = u.Effects.With(analysis.RemoteCode)
			u.AddFinding(analysis.FindingDynamicCode, "the code comes from the network")
		}
		if decoded {
			u.AddFinding(analysis.FindingObfuscated, "the code is decoded at run time")
		}
		if src.Has(analysis.SecretRead) {
			u.Effects = u.Effects.With(analysis.SecretRead)
		}
		return
	}
	w.script(sc, text, via)
}

// source handles "source FILE" and ". FILE".
func (w *walker) source(sc *scope, args []arg) {
	u := w.newUnit(sc, args)
	u.Program = "source"
	ops := operandsOf(args[1:])
	if len(ops) == 0 {
		u.Effects = u.Effects.With(analysis.Unknown)
		u.AddFinding(analysis.FindingUnparsable, "source without a file")
		w.add(u)
		return
	}
	f := ops[0]
	if !f.dynamic && (f.s == "/dev/stdin" || f.s == "/dev/fd/0" || f.s == "/proc/self/fd/0" || f.s == "-") {
		w.stdinCode(sc, u, args, true)
		return
	}
	w.interpretedScript(sc, u, f)
	// Whatever the file defines is unknown from here on.
	for n := range sc.vars {
		sc.set(n, variable{})
	}
	w.add(u)
}

// trap analyzes the code of a trap, which runs later, at any point: what it
// assigns is unknown from here on. It runs with the values variables have
// then, so it is analyzed again at the end with every variable assigned
// after this point unknown.
func (w *walker) trap(sc *scope, code arg) {
	w.branch(sc, func(b *scope) { w.evalCode(b.inline("trap"), "trap", []arg{code}, "trap") })
	w.traps = append(w.traps, pendingTrap{code: code, sc: sc.child(), writes: maps.Clone(sc.writes), defs: w.defs})
}

// pendingTrap is a trap to analyze again at the end of the walk.
type pendingTrap struct {
	code   arg
	sc     *scope         // the shell when the trap was set
	writes map[string]int // assignment counts then (and " cwd": directory changes)
	defs   int            // function, alias and hash definitions then
}

// replayTraps analyzes each trap once more with the variables assigned
// since it was set held unknown, in a directory unknown if the shell moved,
// and with the functions and hash entries of the end of the line.
func (w *walker) replayTraps(final *scope) {
	for _, t := range w.traps {
		changed := t.defs != w.defs
		for name, n := range t.sc.writes {
			if n == t.writes[name] {
				continue
			}
			changed = true
			if name == cwdWrites {
				t.sc.cwdKnown, t.sc.cwdAlt = false, ""
			} else {
				t.sc.vars[name] = variable{}
			}
		}
		if t.sc.cwdKnown && (final.cwd != t.sc.cwd || !final.cwdKnown) {
			t.sc.cwdKnown, t.sc.cwdAlt, changed = false, "", true
		}
		if changed && !w.full {
			w.evalCode(t.sc.inline("trap"), "trap", []arg{t.code}, "trap")
		}
	}
}

// external analyzes a command run as a program or builtin, never as a
// function or alias of this shell (exec, command).
func (w *walker) external(sc *scope, ops []arg, env map[string]arg) {
	name := ops[0].s
	if ops[0].dynamic || w.funcs[name] == nil && w.aliases[name] == "" {
		w.command(sc, ops, env)
		return
	}
	saved, savedAlias := w.funcs[name], w.aliases[name]
	delete(w.funcs, name)
	delete(w.aliases, name)
	w.command(sc, ops, env)
	if saved != nil {
		w.funcs[name] = saved
	}
	if savedAlias != "" {
		w.aliases[name] = savedAlias
	}
}

// hash handles the hash builtin: hash -p PATH NAME... (also -pPATH, -rp,
// --) makes each NAME run PATH.
func (w *walker) hash(sc *scope, rest []arg) {
	var target *arg
	var names []arg
	opts := true
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case opts && !a.dynamic && a.s == "--":
			opts = false
		case opts && !a.dynamic && strings.HasPrefix(a.s, "-") && len(a.s) > 1:
			if j := strings.IndexByte(a.s, 'p'); j >= 0 {
				if j+1 < len(a.s) {
					t := withValue(a, a.s[j+1:])
					target = &t
				} else if i+1 < len(rest) {
					target = &rest[i+1]
					i++
				}
			}
		case opts && a.dynamic:
			target = &arg{s: dyn, raw: a.raw, dynamic: true} // an option only known at run time
			names = append(names, a)
		default:
			opts = false
			names = append(names, a)
		}
	}
	if target == nil {
		return
	}
	for _, n := range names {
		if n.dynamic {
			w.opaque(sc, "hash "+n.display(), analysis.FindingDynamicCode, "hash rebinds a command name only known at run time")
			continue
		}
		w.hashed[n.s] = *target
		w.markDefined("hash "+n.s, w.cond > 0)
		w.defs++
	}
}

// setByName records a variable set by a builtin through its name (read
// NAME, printf -v NAME): unknown from here, and an opaque unit when the name
// rebinds commands (BASH_CMDS[ls]) or is itself only known at run time.
func (w *walker) setByName(sc *scope, a arg) {
	base, _, _ := strings.Cut(a.s, "[")
	switch {
	case a.dynamic, base == "BASH_CMDS", base == "BASH_ALIASES":
		w.defs++
		w.opaque(sc, a.display(), analysis.FindingDynamicCode, "sets "+a.display()+", which may rebind command names")
	case isName(base):
		sc.set(base, variable{})
	}
}
