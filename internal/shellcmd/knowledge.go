package shellcmd

import (
	_ "embed"
	"fmt"
	"maps"
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

//go:embed knowledge.yaml
var builtinKnowledge []byte

// OperandMode says what a command's operands are.
type OperandMode string

// The operand modes.
const (
	OperandNone    OperandMode = "none"     // not paths (patterns, names, numbers)
	OperandRead    OperandMode = "read"     // paths that are read
	OperandList    OperandMode = "list"     // paths whose names or metadata are read, not their content
	OperandMeta    OperandMode = "metadata" // paths whose mode, owner or times change, not their content
	OperandWrite   OperandMode = "write"    // paths that are written
	OperandDelete  OperandMode = "delete"   // paths that are deleted
	OperandExec    OperandMode = "exec"     // a script that is run
	OperandURL     OperandMode = "url"      // network destinations
	OperandHost    OperandMode = "host"     // host names
	OperandSQL     OperandMode = "sql"      // SQL text
	OperandCode    OperandMode = "code"     // inline program text
	OperandCommand OperandMode = "command"  // a shell command string
	OperandUpload  OperandMode = "upload"   // local files sent over the network
	OperandSource  OperandMode = "source"   // where code comes from: a local path, or a URL that fetches it
	OperandOutput  OperandMode = "output"   // a file written or, as "|cmd" or "!cmd", a command fed the output (strace -o)
)

func parseOperandMode(s string) (OperandMode, error) {
	switch m := OperandMode(s); m {
	case OperandNone, OperandRead, OperandList, OperandMeta, OperandWrite, OperandDelete, OperandExec, OperandURL, OperandHost,
		OperandSQL, OperandCode, OperandCommand, OperandUpload, OperandSource, OperandOutput:
		return m, nil
	}
	return "", fmt.Errorf("unknown operand mode %q (want none, read, list, metadata, write, delete, exec, url, host, sql, code, command, upload, source or output)", s)
}

// Program is what the knowledge base says about one program, or one
// subcommand of it.
type Program struct {
	Name    string
	Handler string // a structural handler in Go (find, git, curl, ...), empty for data only

	Effects  analysis.EffectSet
	Scopes   analysis.ScopeSet
	Findings []analysis.FindingKind
	Note     string // a sentence for reviewers

	Operands     OperandMode
	LastOperand  OperandMode // overrides Operands for the last operand (cp, mv)
	SkipOperands int         // leading operands that are not paths (grep's pattern)

	ValueOptions   map[string]bool // options that take a value
	Options        map[string]*OptionRule
	ContextOptions map[string]bool // options whose value names an environment (prod detection)
	ChdirOptions   map[string]bool // options whose value is the directory the command works in (git -C)
	LongSingleDash bool            // -name is one option, not a cluster
	StopAtOperand  bool            // options end at the first operand (wrappers)
	PlusOptions    bool            // +x is an option too (shells: +e, +o name)
	RiskyOptions   bool            // some option writes, runs or sends something: a run-time word may be one

	Subcommands       map[string]*Program
	UnknownSubcommand *analysis.EffectSet // effects for an operand that is not a known subcommand; nil = unknown
	Bare              *analysis.EffectSet // effects with no operands at all
	WithOperands      analysis.EffectSet  // added when there is at least one operand
	OperandRules      []*OperandRule
	OptionRules       []*OperandRule // matched against each option as NAME or NAME=VALUE (-javaagent:x, -ldflags=-extld=x)
	Assignments       bool           // NAME=value operands set variables the program runs commands with (make CC=...)
	Verbs             []*OperandRule // matched against the leading command words
	VerbDefault       *analysis.EffectSet

	Wrapper     *Wrapper
	Interpreter *Interpreter
	SQL         *SQLClient
}

// OptionRule is what one option does.
type OptionRule struct {
	Effects  analysis.EffectSet
	Set      *analysis.EffectSet // replaces the command's effects (--dry-run makes a command a read)
	Scopes   analysis.ScopeSet
	Value    OperandMode // the option takes a value of this kind
	Finding  analysis.FindingKind
	Operands OperandMode // the option changes what the operands are (tar -x, sed -i)
}

// risky reports an option that makes a command write, run or send
// something it would not otherwise.
func (r *OptionRule) risky() bool {
	switch r.Value {
	case OperandWrite, OperandDelete, OperandExec, OperandCode, OperandCommand, OperandUpload, OperandSource, OperandOutput,
		OperandURL, OperandHost, OperandSQL:
		return true
	}
	return r.Finding != "" || r.Operands != "" ||
		!r.Effects.Within(analysis.Effects(analysis.Read, analysis.Network))
}

// OperandRule matches operands (or command words) by regular expression.
type OperandRule struct {
	Match   *regexp.Regexp
	Effects analysis.EffectSet
	Scopes  analysis.ScopeSet
	Finding analysis.FindingKind
}

// Wrapper describes a program that runs another command.
type Wrapper struct {
	SkipOperands   int             // operands before the command (timeout's duration, ssh's host)
	Assignments    bool            // NAME=value operands set the command's environment
	Join           bool            // the command is the remaining operands joined into shell code
	CommandOptions map[string]bool // options whose value is shell code (su -c)
	Separator      string          // the command follows this operand (kubectl exec ... -- cmd)
	Optional       bool            // without a command the program does its own thing
	Remote         bool            // the command runs on another host or container
	ClosedOptions  bool            // every option is listed: an unknown one makes the command unknown
	BareFinding    analysis.FindingKind
}

// Interpreter describes a language interpreter.
type Interpreter struct {
	CodeOptions   map[string]bool // options whose value is program text
	ModuleOptions map[string]bool // options whose value names a module to run
	Modules       map[string]*analysis.EffectSet
	Remap         map[string]string // module → program it stands for (python -m pip → pip)
	Subcommands   map[string]bool   // words that are commands, not scripts (deno run, bun test)
}

// SQLClient describes a database client whose input is SQL.
type SQLClient struct {
	CommandOptions map[string]bool // options whose value is SQL
	FileOptions    map[string]bool // options whose value is a script file
	HostOptions    map[string]bool
	SQLOperand     int  // 1-based index of the operand that is SQL (sqlite3 DB SQL), 0 for none
	Meta           byte // meta-command prefix: '\\' for psql, '.' for sqlite3
	NoSQL          bool // the language is not SQL (redis, mongo): only commands
}

// Knowledge is the knowledge base of programs.
type Knowledge struct {
	programs map[string]*Program
	aliases  map[string]string
	decoders map[string]bool
}

// Lookup returns the program spec for a command name, trying version
// suffixes (python3.12 → python3 → python).
func (k *Knowledge) Lookup(name string) (*Program, bool) {
	if p, ok := k.programs[name]; ok {
		return p, true
	}
	if a, ok := k.aliases[name]; ok {
		p, ok := k.programs[a]
		return p, ok
	}
	trimmed := strings.TrimRight(name, "0123456789.-")
	if trimmed != name && trimmed != "" {
		return k.Lookup(trimmed)
	}
	return nil, false
}

// Merge returns a knowledge base with the programs of o added to, or
// replacing, those of k.
func (k *Knowledge) Merge(o *Knowledge) *Knowledge {
	out := &Knowledge{programs: maps.Clone(k.programs), aliases: maps.Clone(k.aliases), decoders: maps.Clone(k.decoders)}
	maps.Copy(out.programs, o.programs)
	maps.Copy(out.aliases, o.aliases)
	maps.Copy(out.decoders, o.decoders)
	return out
}
