package shellcmd

import (
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/internal/analysis"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// dyn marks text that is only known at run time. It is a character from the
// Unicode private use area, so it cannot collide with a real argument, and it
// survives expansion (field splitting ignores it, unlike NUL which expand
// cuts).
const dyn = "\uE000"

// arg is one field of a command after expansion.
type arg struct {
	s       string // expanded value; run-time parts are marked with dyn
	raw     string // source text of the word it came from
	dynamic bool   // the value is not fully known statically
	glob    bool   // the word has an unquoted glob

	src       analysis.EffectSet // effects of the substitutions that produced it
	decoded   bool               // a substitution that produced it decodes data
	listed    bool               // a path name listed by find/ls/grep -l under the workspace
	secretVar bool               // expands a variable whose name says it holds a secret
}

func (a arg) display() string {
	if a.dynamic {
		return a.raw
	}
	return a.s
}

// static returns the known prefix of the value, before any run-time part.
func (a arg) static() string {
	s, _, _ := strings.Cut(a.s, dyn)
	return s
}

func args2strings(as []arg) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.display()
	}
	return out
}

// printer prints words back as shell text; it is reused because building
// one allocates buffers.
var printers = sync.Pool{New: func() any { return syntax.NewPrinter() }}

func printWord(w *syntax.Word) string {
	if w == nil {
		return ""
	}
	if v, ok := plainLit(w); ok {
		return v
	}
	p := printers.Get().(*syntax.Printer)
	defer printers.Put(p)
	var sb strings.Builder
	if err := p.Print(&sb, w); err != nil {
		return "?"
	}
	return sb.String()
}

// variable is a shell variable as far as the analysis knows it.
type variable struct {
	str    string
	list   []string // indexed arrays
	isList bool
	unset  bool // known to be unset
	known  bool // value known statically
	glob   bool // the value is a glob pattern standing for the files it matches (for f in src/*.go)
}

// environ adapts a scope to expand.Environ. Unknown variables expand to the
// dyn marker so that their presence survives expansion.
type environ struct {
	sc *scope
	w  *walker
}

func (e environ) Get(name string) expand.Variable {
	if v, ok := e.sc.lookup(name); ok {
		if v.unset {
			return expand.Variable{}
		}
		if !v.known {
			return expand.Variable{Set: true, Kind: expand.String, Str: dyn}
		}
		if v.isList {
			return expand.Variable{Set: true, Kind: expand.Indexed, List: v.list}
		}
		return expand.Variable{Set: true, Kind: expand.String, Str: v.str}
	}
	switch {
	case name == "IFS":
		return expand.Variable{Set: true, Kind: expand.String, Str: " \t\n"}
	case name == "HOME":
		return expand.Variable{Set: true, Kind: expand.String, Str: "~"}
	case name == "HOME +" && e.sc.cwdKnown:
		return expand.Variable{Set: true, Kind: expand.String, Str: e.sc.cwd} // ~+ is $PWD
	case name == "HOME -" || name == "HOME +":
		return expand.Variable{Set: true, Kind: expand.String, Str: dyn} // ~- is $OLDPWD
	case strings.HasPrefix(name, "HOME "):
		user := strings.TrimPrefix(name, "HOME ")
		if user == "root" {
			return expand.Variable{Set: true, Kind: expand.String, Str: "/root"}
		}
		return expand.Variable{Set: true, Kind: expand.String, Str: "/home/" + user}
	case name == "PWD":
		if e.sc.cwdKnown {
			return expand.Variable{Set: true, Kind: expand.String, Str: e.sc.cwd}
		}
	case name == "TMPDIR":
		return expand.Variable{Set: true, Kind: expand.String, Str: "/tmp"}
	case name == "#":
		if e.sc.posKnown {
			return expand.Variable{Set: true, Kind: expand.String, Str: itoa(len(e.sc.pos))}
		}
	case name == "@" || name == "*":
		if e.sc.posKnown && !e.sc.posDynamic {
			return expand.Variable{Set: true, Kind: expand.Indexed, List: e.sc.pos}
		}
	case len(name) == 1 && name[0] >= '1' && name[0] <= '9':
		if e.sc.posKnown && !e.sc.posDynamic {
			i := int(name[0] - '1')
			if i < len(e.sc.pos) {
				return expand.Variable{Set: true, Kind: expand.String, Str: e.sc.pos[i]}
			}
			return expand.Variable{}
		}
	}
	return expand.Variable{Set: true, Kind: expand.String, Str: dyn}
}

func (e environ) Each(func(name string, vr expand.Variable) bool) {}

// Set records assignments made during expansion: ${x:=word}, $((x=5)).
func (e environ) Set(name string, vr expand.Variable) error {
	if !vr.IsSet() {
		e.sc.set(name, variable{unset: true, known: true})
		return nil
	}
	if vr.Kind == expand.KeepValue {
		return nil
	}
	v := variable{str: vr.Str, known: !strings.Contains(vr.Str, dyn)}
	if vr.Kind == expand.Indexed || vr.Kind == expand.Associative {
		v = variable{}
	}
	e.w.assignVar(e.sc, name, v)
	return nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// expandConfig returns an expansion config in which command and process
// substitutions are analyzed as the commands they are, and whose output is
// the dyn marker.
func (w *walker) expandConfig(sc *scope) *expand.Config {
	return &expand.Config{
		Env: environ{sc, w},
		CmdSubst: func(out io.Writer, cs *syntax.CmdSubst) error {
			if isPwd(cs) && sc.cwdKnown {
				w.seen[cs] = true
				_, err := io.WriteString(out, sc.cwd)
				return err
			}
			w.substitution(sc, cs, cs.Stmts)
			_, err := io.WriteString(out, dyn)
			return err
		},
		ProcSubst: func(ps *syntax.ProcSubst) (string, error) {
			w.substitution(sc, ps, ps.Stmts)
			return "/dev/fd/" + dyn, nil
		},
	}
}

// wordInfo scans a word for parts whose value is only known at run time, and
// for unquoted globs.
func (w *walker) wordInfo(sc *scope, word *syntax.Word) (dynamic, glob bool) {
	syntax.Walk(word, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.CmdSubst:
			if !(isPwd(n) && sc.cwdKnown) {
				dynamic = true
			}
			return false
		case *syntax.ProcSubst:
			dynamic = true
		case *syntax.ParamExp:
			if n.Excl || n.Param == nil {
				dynamic = true
				break
			}
			if !w.paramKnown(sc, n.Param.Value) {
				dynamic = true
			}
			if v, ok := sc.lookup(n.Param.Value); ok && v.glob {
				glob = true
			}
		case *syntax.ArithmExp:
			syntax.Walk(n.X, func(m syntax.Node) bool {
				if lit, ok := m.(*syntax.Lit); ok && isName(lit.Value) && !w.paramKnown(sc, lit.Value) {
					dynamic = true
				}
				return true
			})
		case *syntax.ExtGlob:
			glob = true
		case *syntax.DblQuoted, *syntax.SglQuoted:
			return false
		case *syntax.Lit:
			if hasGlobMeta(n.Value) {
				glob = true
			}
		}
		return true
	})
	if !dynamic {
		// A double-quoted part can still hide a substitution.
		syntax.Walk(word, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.CmdSubst:
				if !(isPwd(n) && sc.cwdKnown) {
					dynamic = true
				}
			case *syntax.ProcSubst:
				dynamic = true
			case *syntax.ParamExp:
				if n.Excl || n.Param == nil || !w.paramKnown(sc, n.Param.Value) {
					dynamic = true
				}
			}
			return !dynamic
		})
	}
	return dynamic, glob
}

func (w *walker) paramKnown(sc *scope, name string) bool {
	if v, ok := sc.lookup(name); ok {
		return v.known || v.unset
	}
	switch name {
	case "IFS", "HOME", "TMPDIR":
		return true
	case "PWD":
		return sc.cwdKnown
	case "#":
		return sc.posKnown
	case "@", "*":
		return sc.posKnown && !sc.posDynamic
	}
	if len(name) == 1 && name[0] >= '1' && name[0] <= '9' {
		return sc.posKnown && !sc.posDynamic
	}
	return false
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

func hasGlobMeta(lit string) bool {
	for i := 0; i < len(lit); i++ {
		switch lit[i] {
		case '\\':
			i++
		case '*', '?':
			return true
		case '[':
			// A bracket expression needs its closing bracket: "[" alone
			// (the test command) is not a glob.
			if strings.IndexByte(lit[i+1:], ']') >= 0 {
				return true
			}
		}
	}
	return false
}

// isPwd reports $(pwd) and `pwd`, whose output is the working directory.
func isPwd(cs *syntax.CmdSubst) bool {
	if len(cs.Stmts) != 1 || len(cs.Stmts[0].Redirs) > 0 || cs.Stmts[0].Background {
		return false
	}
	ce, ok := cs.Stmts[0].Cmd.(*syntax.CallExpr)
	return ok && len(ce.Assigns) == 0 && len(ce.Args) == 1 && ce.Args[0].Lit() == "pwd"
}

// onlySubstitution reports a word that is one unquoted command
// substitution: $(git ls-files).
func onlySubstitution(word *syntax.Word) bool {
	if len(word.Parts) != 1 {
		return false
	}
	_, ok := word.Parts[0].(*syntax.CmdSubst)
	return ok
}

// maxBraceFields bounds brace expansion: {a,b}{a,b}... grows exponentially.
const maxBraceFields = 10000

// braceFields estimates how many words brace expansion makes of a word.
func braceFields(word *syntax.Word) float64 {
	hasBrace := false
	for _, p := range word.Parts {
		if l, ok := p.(*syntax.Lit); ok && strings.IndexByte(l.Value, '{') >= 0 {
			hasBrace = true
		}
	}
	if !hasBrace {
		return 1
	}
	cp := *word
	if !syntax.SplitBraces(&cp) {
		return 1
	}
	return braceCount(&cp)
}

func braceCount(word *syntax.Word) float64 {
	n := 1.0
	for _, p := range word.Parts {
		be, ok := p.(*syntax.BraceExp)
		if !ok {
			continue
		}
		size := 0.0
		if be.Sequence && len(be.Elems) >= 2 {
			a, errA := strconv.ParseFloat(be.Elems[0].Lit(), 64)
			b, errB := strconv.ParseFloat(be.Elems[1].Lit(), 64)
			if errA == nil && errB == nil {
				size = math.Abs(b-a) + 1
			} else {
				size = 64 // a range of letters
			}
		} else {
			for _, e := range be.Elems {
				size += braceCount(e)
			}
		}
		n *= max(size, 1)
		if n > 1e18 {
			return n
		}
	}
	return n
}

// secretName matches variable names that say they hold a credential.
var secretVarName = regexp.MustCompile(`(?i)(secret|token|passw|api_?key|access_?key|private_?key|credential|auth|session_?key|signing_?key|` +
	`(^|_)pass$|_pwd$|(^|_)dsn$|database_url|db_url|conn_?str|connection_?string|(^|_)key$)`)

func usesSecretVar(word *syntax.Word) bool {
	found := false
	syntax.Walk(word, func(n syntax.Node) bool {
		if pe, ok := n.(*syntax.ParamExp); ok && pe.Param != nil && secretVarName.MatchString(pe.Param.Value) {
			found = true
		}
		return !found
	})
	return found
}

// srcSince describes the units added since start: what produced a word.
func (w *walker) srcSince(start int) (analysis.EffectSet, bool) {
	var src analysis.EffectSet
	decoded := false
	for i := start; i < len(w.units); i++ {
		src |= w.units[i].Effects
		if w.isDecoder(&w.units[i]) {
			decoded = true
		}
	}
	return src, decoded
}

// plainLit returns the value of a word that is a bare literal with nothing
// to expand, the common case, so that it skips the expander.
func plainLit(word *syntax.Word) (string, bool) {
	if len(word.Parts) != 1 {
		return "", false
	}
	lit, ok := word.Parts[0].(*syntax.Lit)
	if !ok || strings.ContainsAny(lit.Value, "\\*?[{~$`'\"=") {
		return "", false
	}
	return lit.Value, true
}

// fields expands words as a command's arguments.
func (w *walker) fields(sc *scope, words []*syntax.Word) []arg {
	out := make([]arg, 0, len(words))
	var cfg *expand.Config
	for _, word := range words {
		if v, ok := plainLit(word); ok {
			out = append(out, arg{s: v, raw: v})
			continue
		}
		if cfg == nil {
			cfg = w.expandConfig(sc)
		}
		dynamic, glob := w.wordInfo(sc, word)
		raw := printWord(word)
		if n := braceFields(word); n > maxBraceFields {
			u := w.opaque(sc, raw, analysis.FindingBoundExceeded,
				"brace expansion makes about "+itoa(int(min(n, 1e15)))+" words; the shell would exhaust memory")
			u.Effects = u.Effects.With(analysis.ProcessControl)
			out = append(out, arg{s: dyn, raw: raw, dynamic: true})
			continue
		}
		secretVar := usesSecretVar(word)
		start := len(w.units)
		w.evalVarsIn(sc, word)
		fs, err := expand.Fields(cfg, word)
		src, decoded := w.srcSince(start)
		listed := len(w.units) > start && onlySubstitution(word) && w.onlyListsWorkspace(start)
		if err != nil {
			out = append(out, arg{s: dyn, raw: raw, dynamic: true, glob: glob, src: src, decoded: decoded, secretVar: secretVar})
			continue
		}
		if len(fs) == 0 && dynamic {
			// ${a[1]}, ${x:1}, "${@:2}" of values not known here expand to
			// nothing in the analysis, but to anything at run time.
			fs = []string{dyn}
		}
		for _, f := range fs {
			out = append(out, arg{s: f, raw: raw, dynamic: dynamic || strings.Contains(f, dyn), glob: glob, src: src,
				decoded: decoded, secretVar: secretVar, listed: listed})
		}
	}
	return out
}

// literal expands a word as a single string, as in an assignment.
func (w *walker) literal(sc *scope, word *syntax.Word) arg {
	if word == nil {
		return arg{}
	}
	dynamic, glob := w.wordInfo(sc, word)
	raw := printWord(word)
	start := len(w.units)
	w.evalVarsIn(sc, word)
	s, err := expand.Literal(w.expandConfig(sc), word)
	src, decoded := w.srcSince(start)
	if err != nil {
		return arg{s: dyn, raw: raw, dynamic: true, src: src, decoded: decoded}
	}
	return arg{s: s, raw: raw, dynamic: dynamic || strings.Contains(s, dyn), glob: glob, src: src, decoded: decoded}
}

// literalQuiet expands a word that has no substitutions, without analyzing
// anything.
func (w *walker) literalQuiet(sc *scope, word *syntax.Word) string {
	s, err := expand.Literal(&expand.Config{Env: environ{sc, w}}, word)
	if err != nil {
		return dyn
	}
	return s
}

// document expands a heredoc body.
func (w *walker) document(sc *scope, word *syntax.Word) arg {
	if word == nil {
		return arg{}
	}
	dynamic, _ := w.wordInfo(sc, word)
	s, err := expand.Document(w.expandConfig(sc), word)
	if err != nil {
		return arg{s: dyn, dynamic: true}
	}
	return arg{s: s, raw: s, dynamic: dynamic || strings.Contains(s, dyn)}
}
