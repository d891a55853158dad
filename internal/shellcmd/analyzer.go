package shellcmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// Limits bound the analysis. Past a bound the analysis stops and reports an
// opaque finding, so that an oversized command is reviewed, never allowed.
type Limits struct {
	MaxBytes int // longest command text (default 1 MiB)
	MaxDepth int // nested shells, wrappers and function calls followed (default 10)
	MaxUnits int // commands judged in one request (default 10,000)
	// MaxSteps bounds the work of one analysis (default 300,000): every
	// statement walked, including again for each function call and loop
	// pass, is a step. Nested calls can otherwise make a short command
	// take exponential time.
	MaxSteps int
}

// Default limits, used for any limit left zero.
const (
	DefaultMaxBytes = 1 << 20
	DefaultMaxDepth = 10
	DefaultMaxUnits = 10000
	DefaultMaxSteps = 300000
)

// Analyzer analyzes shell commands. It is safe for concurrent use.
type Analyzer struct {
	kb        *Knowledge
	limits    Limits
	parsers   sync.Pool
	protected []string // the gateway's own files and directories
}

// Protect names the gateway's own files and directories (its data, its
// configuration, its secrets): any path in them, a glob that may reach
// them, or a recursive walk of a directory holding them is of class
// [analysis.GatewayPath]. It must be called before the analyzer is used.
func (a *Analyzer) Protect(paths ...string) {
	for _, p := range paths {
		if p = cleanPath(p); strings.HasPrefix(p, "/") && p != "/" {
			a.protected = append(a.protected, p)
		}
	}
}

// New returns an analyzer that classifies programs with kb; nil means the
// embedded knowledge base.
func New(kb *Knowledge, limits Limits) (*Analyzer, error) {
	if kb == nil {
		var err error
		if kb, err = DefaultKnowledge(); err != nil {
			return nil, err
		}
	}
	if limits.MaxBytes <= 0 {
		limits.MaxBytes = DefaultMaxBytes
	}
	if limits.MaxDepth <= 0 {
		limits.MaxDepth = DefaultMaxDepth
	}
	if limits.MaxUnits <= 0 {
		limits.MaxUnits = DefaultMaxUnits
	}
	if limits.MaxSteps <= 0 {
		limits.MaxSteps = DefaultMaxSteps
	}
	a := &Analyzer{kb: kb, limits: limits}
	a.parsers.New = func() any { return syntax.NewParser(syntax.Variant(syntax.LangBash)) }
	return a, nil
}

var defaultKB struct {
	once sync.Once
	kb   *Knowledge
	err  error
}

// DefaultKnowledge returns the embedded knowledge base, parsed once.
func DefaultKnowledge() (*Knowledge, error) {
	defaultKB.once.Do(func() {
		defaultKB.kb, defaultKB.err = ParseKnowledge(builtinKnowledge)
		if defaultKB.err != nil {
			defaultKB.err = fmt.Errorf("embedded knowledge base: %w", defaultKB.err)
		}
	})
	return defaultKB.kb, defaultKB.err
}

// ErrEmpty is returned for a command with nothing to run.
var ErrEmpty = errors.New("empty command")

// Analyze finds every command src would run when started in workdir (an
// absolute path; relative paths in the command resolve against it) and
// describes each. It never fails: text that cannot be analyzed becomes an
// opaque unit. The error reports input that is not a command at all
// (empty, too large, not UTF-8); the units then say the same.
func (a *Analyzer) Analyze(src, workdir string) ([]analysis.Unit, error) {
	return a.AnalyzeContext(context.Background(), src, workdir)
}

// AnalyzeContext is Analyze, stopped early when ctx is done: the analysis
// then ends with a bound-exceeded unit, so the command is reviewed.
func (a *Analyzer) AnalyzeContext(ctx context.Context, src, workdir string) ([]analysis.Unit, error) {
	if err := a.check(src); err != nil {
		kind := analysis.FindingUnparsable
		if len(src) > a.limits.MaxBytes {
			kind = analysis.FindingBoundExceeded
		}
		u := analysis.Unit{Kind: analysis.KindShell, Text: truncate(src, 200), Effects: analysis.Effects(analysis.Unknown)}
		u.AddFinding(kind, err.Error())
		return []analysis.Unit{u}, err
	}
	w := &walker{
		a:            a,
		ctx:          ctx,
		kb:           a.kb,
		workdir:      cleanPath(workdir),
		funcs:        map[string]*syntax.FuncDecl{},
		called:       map[string]bool{},
		calling:      map[string]bool{},
		aliases:      map[string]string{},
		hashed:       map[string]arg{},
		netFDs:       map[string]string{},
		links:        map[string]string{},
		tainted:      map[string]string{},
		intVars:      map[string]bool{},
		dataSeen:     map[string]bool{},
		written:      map[string]bool{},
		seen:         map[syntax.Node]bool{},
		uncertain:    map[string]bool{},
		shopts:       map[string]bool{},
		readonly:     map[string]bool{},
		holdsGateway: map[string]bool{},
		dirs:         map[int]string{},
		funcAlts:     map[string][]*syntax.FuncDecl{},
	}
	if workdir == "" {
		w.workdir = ""
	}
	sc := newScope(w.workdir)
	if err := w.run(sc, src); err != nil {
		u := analysis.Unit{Kind: analysis.KindShell, Text: truncate(src, 200), Effects: analysis.Effects(analysis.Unknown)}
		u.AddFinding(analysis.FindingUnparsable, err.Error())
		return []analysis.Unit{u}, nil
	}
	if len(w.units) == 0 {
		return nil, ErrEmpty
	}
	w.markGatewayWalks()
	return w.units, nil
}

// walkers read the contents of whole directory trees without a recursive
// option. Listing names (find, du, tree, ls -R) reads no contents.
var walkers = map[string]bool{"tar": true, "bsdtar": true, "pax": true, "rsync": true, "zip": true, "7z": true, "7za": true,
	"7zr": true, "7zz": true, "rg": true, "ugrep": true,
	"ag": true, "ack": true, "cpio": true, "scp": true, "git": true, "diff": true}

// listers walk trees for names and sizes; only when they do more (delete,
// run commands) does their walk reach the gateway's files.
var listers = map[string]bool{"find": true, "du": true, "tree": true, "ls": true, "fd": true, "fdfind": true}

// markGatewayWalks makes a directory holding the gateway's own files of
// class gateway in the units that walk it (recursive options, or programs
// that walk trees).
func (w *walker) markGatewayWalks() {
	if len(w.a.protected) == 0 {
		return
	}
	for i := range w.units {
		u := &w.units[i]
		if !u.Scopes.Has(analysis.Recursive) && !walkers[u.Program] {
			continue
		}
		if listers[u.Program] && u.Effects == analysis.Effects(analysis.Read) {
			continue // names and sizes, not contents
		}
		for j := range u.Paths {
			if w.holdsGateway[u.Paths[j].Value] {
				u.Paths[j].Class = analysis.GatewayPath
			}
		}
		// rg, git add -A, grep -r PATTERN: with no path, the walk starts
		// in the working directory. (Whether a word is the pattern or a
		// path is not always known, so a walk there with paths counts
		// too: strict only where the gateway's files are.)
		if dir, ok := w.dirs[i]; ok && w.holdsProtected(dir) {
			u.AddPath(analysis.Path{Value: ".", Class: analysis.GatewayPath, Access: analysis.AccessRead})
		}
	}
}

// run walks the command line. A panic in the analysis (a bug, or a parser
// surprise) becomes an error, so that the command is reviewed, not allowed,
// and the gateway stays up.
func (w *walker) run(sc *scope, src string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal analysis error: %v", r)
		}
	}()
	w.script(sc, src, "")
	w.finish(sc)
	return nil
}

func (a *Analyzer) check(src string) error {
	switch {
	case len(src) > a.limits.MaxBytes:
		return fmt.Errorf("command is %d bytes; the limit is %d", len(src), a.limits.MaxBytes)
	case !utf8.ValidString(src):
		return errors.New("command is not valid UTF-8")
	case strings.IndexByte(src, 0) >= 0:
		return errors.New("command contains a NUL byte")
	case strings.TrimSpace(src) == "":
		return ErrEmpty
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
