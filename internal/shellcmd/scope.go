package shellcmd

import (
	"maps"
	"path"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// scope is the static picture of a shell's state at one point: the
// variables whose values are known, the working directory, the positional
// parameters, and what every command found here inherits from the wrappers
// and nested shells around it.
type scope struct {
	vars       map[string]variable
	writes     map[string]int // assignments made to each name, in any scope of the walk (shared)
	cwd        string
	cwdKnown   bool
	cwdAlt     string // where the shell still is if the last cd failed; "" if none
	pos        []string
	posKnown   bool
	posDynamic bool

	stdin *stdinInfo // where the current command's standard input comes from

	// fresh: a program or a new shell started from here (sudo ls, xargs
	// rm, bash -c) does not see this shell's functions, aliases and hash
	// table, so a name is judged as the program too, not only as them.
	fresh bool

	// Inherited by every unit found in this scope.
	via     []string
	effects analysis.EffectSet
	scopes  analysis.ScopeSet
	depth   int
}

// stdinInfo describes the data on a command's standard input.
type stdinInfo struct {
	kind    stdinKind
	text    string             // static text, when known
	known   bool               // text is known statically
	effects analysis.EffectSet // effects of the commands that produce it
	decoded bool               // passes through a decoder (base64 -d, xxd -r, ...)
	listed  bool               // only path names listed under the workspace (find . | xargs)
	desc    string             // for findings
}

type stdinKind uint8

const (
	stdinTerminal stdinKind = iota
	stdinPipe
	stdinHeredoc
	stdinFile
)

func newScope(workdir string) *scope {
	return &scope{vars: map[string]variable{}, writes: map[string]int{}, cwd: workdir, cwdKnown: workdir != ""}
}

func (sc *scope) lookup(name string) (variable, bool) {
	v, ok := sc.vars[name]
	return v, ok
}

// cwdWrites counts directory changes in scope.writes (not a variable name).
const cwdWrites = " cwd"

func (sc *scope) set(name string, v variable) {
	sc.vars[name] = v
	sc.writes[name]++
}

// child returns a copy for a subshell: changes made in it do not flow back.
func (sc *scope) child() *scope {
	c := *sc
	c.vars = maps.Clone(sc.vars)
	c.via = sc.via[:len(sc.via):len(sc.via)]
	return &c
}

// nested returns a scope for code run by a wrapper or a nested shell.
func (sc *scope) nested(via string, effects analysis.EffectSet, scopes analysis.ScopeSet) *scope {
	c := sc.child()
	c.via = append(c.via, via)
	c.effects |= effects
	c.scopes |= scopes
	c.depth++
	c.fresh = true
	return c
}

// nestedSame returns a scope for code run by this same shell later or
// again (backquotes, an alias, a callback): nested, but with the shell's
// own functions and aliases.
func (sc *scope) nestedSame(via string) *scope {
	c := sc.nested(via, 0, 0)
	c.fresh = sc.fresh
	return c
}

// inline returns a scope for code that runs in this same shell (eval, a
// function, a trap): it shares the variables, so assignments made there
// are seen here.
func (sc *scope) inline(via string) *scope {
	c := *sc
	c.via = append(sc.via[:len(sc.via):len(sc.via)], via)
	c.depth++
	return &c
}

// settle takes back from an inline scope what it changed in the shell.
func (sc *scope) settle(c *scope, positional bool) {
	sc.cwd, sc.cwdKnown, sc.cwdAlt = c.cwd, c.cwdKnown, c.cwdAlt
	if positional {
		sc.pos, sc.posKnown, sc.posDynamic = c.pos, c.posKnown, c.posDynamic
	}
}

// chdir applies cd.
func (sc *scope) chdir(a arg, ok bool) {
	if !ok {
		sc.cwd, sc.cwdKnown = "~", true
		return
	}
	if a.dynamic || a.s == "-" || a.s == "" {
		sc.cwdKnown = false
		return
	}
	if sc.cwdKnown {
		sc.cwdAlt = sc.cwd
	}
	d := a.s
	switch {
	case strings.HasPrefix(d, "/"), d == "~", strings.HasPrefix(d, "~/"):
	case sc.cwdKnown:
		d = path.Join(sc.cwd, d)
	default:
		sc.cwdKnown = false
		return
	}
	sc.cwd, sc.cwdKnown = cleanPath(d), true
}
