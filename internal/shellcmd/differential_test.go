package shellcmd_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/analysis"
	"github.com/gatehouse/gatehouse/internal/shellcmd"
)

// fakePrograms are installed as tiny scripts that record their own name and
// arguments, so that the argv bash really executes can be read back. They are
// never the real programs: nothing is removed or fetched.
var fakePrograms = []string{"rm", "ls", "cat", "grep", "git", "curl", "mytool", "chmod", "cp", "find"}

// fakeScript is installed under every fake program's name. Each run writes
// its own base name and arguments, NUL-separated, to a file of its own in the
// log directory (%s), so that every program bash starts is seen, even one
// whose output is captured or redirected. It uses no external program (not
// even basename): PATH holds only the fakes.
const fakeScript = "#!/bin/sh\nprintf '%%s\\0' \"${0##*/}\" \"$@\" >\"%s/$$\"\n"

// requireBash returns the path of bash. Without bash the test is skipped,
// unless CI=true or REQUIRE_BASH=1, which make it fail instead.
func requireBash(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("bash")
	if err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("REQUIRE_BASH") == "1" {
			t.Fatalf("bash is required (CI=true or REQUIRE_BASH=1) but not found: %v", err)
		}
		t.Skipf("bash not found: %v", err)
	}
	return p
}

// bashEnv is a hermetic place to run bash in: a directory of fake programs
// (the whole PATH), a log directory they write their argv to, an empty home
// and an empty working directory.
type bashEnv struct {
	bash, bin, log, home, work string
}

func newBashEnv(t *testing.T) *bashEnv {
	t.Helper()
	e := &bashEnv{bash: requireBash(t), bin: t.TempDir(), log: t.TempDir(), home: t.TempDir(), work: t.TempDir()}
	script := fmt.Sprintf(fakeScript, e.log)
	for _, name := range fakePrograms {
		if err := os.WriteFile(filepath.Join(e.bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A program outside PATH, for cases that name a program by path (~/rm).
	if err := os.WriteFile(filepath.Join(e.home, "rm"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// Nested shells and wrappers are the real programs: they only start the
	// fakes (PATH is inherited).
	if err := os.Symlink(e.bash, filepath.Join(e.bin, "bash")); err != nil {
		t.Fatal(err)
	}
	for _, name := range realWrappers {
		if p, err := exec.LookPath(name); err == nil {
			if err := os.Symlink(p, filepath.Join(e.bin, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e
}

// realWrappers are linked into the fake PATH when the host has them.
var realWrappers = []string{"env", "timeout"}

// has reports whether name can be run in e.
func (e *bashEnv) has(name string) bool {
	_, err := os.Lstat(filepath.Join(e.bin, name))
	return err == nil
}

// run executes src with bash -c and returns the argv of every fake program
// it started, with the real home directory written as "~" (the analyzer's
// name for it) where bash would have expanded a tilde. Bash's own exit
// status is ignored: a case may end with a failing command.
func (e *bashEnv) run(t *testing.T, src string) [][]string {
	t.Helper()
	entries, err := os.ReadDir(e.log)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range entries {
		if err := os.Remove(filepath.Join(e.log, ent.Name())); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bash, "--norc", "--noprofile", "-c", src)
	// LC_ALL makes $'\u00e9' UTF-8, as the analyzer assumes; in the C
	// locale bash leaves non-ASCII \u escapes as they are.
	cmd.Env = []string{"PATH=" + e.bin, "HOME=" + e.home, "LC_ALL=C.UTF-8"}
	cmd.Dir = e.work
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); ctx.Err() != nil {
		t.Fatalf("bash -c %q: %v\nstderr: %s", src, err, stderr.String())
	}
	if entries, err = os.ReadDir(e.log); err != nil {
		t.Fatal(err)
	}
	var runs [][]string
	for _, ent := range entries {
		b, err := os.ReadFile(filepath.Join(e.log, ent.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, ok := strings.CutSuffix(string(b), "\x00")
		if !ok {
			t.Fatalf("bash -c %q: a fake wrote %q, which is not NUL-terminated", src, b)
		}
		argv := strings.Split(out, "\x00")
		for i, a := range argv {
			argv[i] = e.tilde(a)
		}
		runs = append(runs, argv)
	}
	if len(runs) == 0 && stderr.Len() > 0 {
		t.Logf("bash -c %q ran no program; stderr: %s", src, stderr.String())
	}
	return runs
}

// tilde writes the home directory as "~" where bash performs tilde
// expansion: at the start of a word and after the = or : of an
// assignment-like word.
func (e *bashEnv) tilde(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		atStart := i == 0 || s[i-1] == '=' || s[i-1] == ':'
		if atStart && strings.HasPrefix(s[i:], e.home) {
			if j := i + len(e.home); j == len(s) || s[j] == '/' || s[j] == ':' {
				sb.WriteByte('~')
				i = j
				continue
			}
		}
		sb.WriteByte(s[i])
		i++
	}
	return sb.String()
}

// compare analyzes src and describes how the analysis differs from what
// bash ran, or returns "". The analysis must report exactly one unit, and
// bash must have started exactly one program with the same argv (argv[0]
// compared by base name).
func compare(a *shellcmd.Analyzer, src, workdir string, runs [][]string) string {
	units, err := a.Analyze(src, workdir)
	var sb strings.Builder
	if err != nil {
		fmt.Fprintf(&sb, "Analyze returned error %q\n", err)
	}
	if len(runs) != 1 {
		fmt.Fprintf(&sb, "bash started %d programs, want 1: %q\n", len(runs), runs)
	}
	if len(units) != 1 {
		fmt.Fprintf(&sb, "analyzer reported %d units, want 1:\n%s", len(units), describeUnits(units))
	}
	if sb.Len() > 0 {
		return sb.String()
	}
	got := slices.Clone(units[0].Argv)
	if len(got) > 0 {
		got[0] = path.Base(got[0])
	}
	return diffArgv(runs[0], got)
}

func describeUnits(units []analysis.Unit) string {
	var sb strings.Builder
	for i, u := range units {
		fmt.Fprintf(&sb, "  [%d] argv=%q effects=%s findings=%v via=%q\n", i, u.Argv, u.Effects, u.Findings, u.Via)
	}
	return sb.String()
}

// diffArgv describes how got differs from want, or returns "".
func diffArgv(want, got []string) string {
	if slices.Equal(want, got) {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "bash ran     %q\nanalyzer saw %q\n", want, got)
	for i := range max(len(want), len(got)) {
		w, g := "<none>", "<none>"
		if i < len(want) {
			w = fmt.Sprintf("%q", want[i])
		}
		if i < len(got) {
			g = fmt.Sprintf("%q", got[i])
		}
		if w != g {
			fmt.Fprintf(&sb, "  argv[%d]: bash %s, analyzer %s\n", i, w, g)
		}
	}
	return sb.String()
}

// staticCase is a command whose argv is fully known before it runs: the
// analyzer's canonical argv must be what bash executes.
type staticCase struct {
	name  string
	src   string
	needs string // a real wrapper the case runs (see realWrappers)
	bug   string // a known analyzer bug: the case is skipped while it differs
}

var staticCases = []staticCase{
	// Quoting of the program name.
	{name: "plain", src: `rm -rf x`},
	{name: "single-quoted-name", src: `'rm' -rf x`},
	{name: "double-quoted-name", src: `"rm" -rf x`},
	{name: "empty-single-quotes-inside-name", src: `r''m -rf x`},
	{name: "empty-double-quotes-inside-name", src: `r""m -rf x`},
	{name: "partly-double-quoted-name", src: `"r"m -rf x`},
	{name: "partly-single-quoted-name", src: `r'm' x`},
	{name: "backslash-before-name", src: `\rm -rf x`},
	{name: "backslash-inside-name", src: `r\m x`},
	{name: "ansi-c-hex-name", src: `$'\x72\x6d' -rf x`},
	{name: "ansi-c-octal-name", src: `$'\162\155' x`},
	{name: "ansi-c-unicode-name", src: `$'\u0072m' x`},
	{name: "line-continuation-inside-name", src: "r\\\nm x"},

	// Quoting and escaping of arguments.
	{name: "ansi-c-tab", src: `mytool $'a\tb'`},
	{name: "ansi-c-newline", src: `mytool $'a\nb'`},
	{name: "ansi-c-escaped-quote", src: `mytool $'it\'s'`},
	{name: "ansi-c-unicode-arg", src: `mytool $'\u00e9\U0001F642'`},
	{name: "ansi-c-escape-and-nul", src: `mytool $'\e' $'a\0b'`},
	{name: "ansi-c-spells-two-words", src: `mytool $'\x72\x6d\x20\x2d\x72\x66'`},
	{name: "locale-string", src: `mytool $"hello world"`},
	{name: "locale-string-no-escapes", src: `mytool $"a\tb"`},
	{name: "escaped-space", src: `mytool a\ b c`},
	{name: "quoted-spaces", src: `mytool 'a b' "c  d"`},
	{name: "line-continuation-between-args", src: "mytool a \\\n b"},
	{name: "line-continuation-in-double-quotes", src: "mytool \"a\\\nb\""},
	{name: "single-inside-double", src: `mytool "'nested'"`},
	{name: "double-inside-single", src: `mytool '"nested"'`},
	{name: "mixed-quotes", src: `mytool "a'b\"c" 'x"y'`},
	{name: "adjacent-quotes", src: `mytool "a"'b'c`},
	{name: "escaped-dollar", src: `mytool "\$x" '\$x' \$x`},
	{name: "backslashes", src: `mytool "a\\b" 'a\\b' a\\b`},
	{name: "backslash-kept-in-double-quotes", src: `mytool "\a" "\q"`},
	{name: "escapes-in-double-quotes", src: "mytool \"a\\$b\\`c\\\"d\\\\e\\f\""},
	{name: "escaped-double-quotes", src: `mytool \"a\"`},
	{name: "empty-arguments", src: `mytool '' x ""`},
	{name: "empty-quotes-joined", src: `mytool ''""$''`},
	{name: "unicode-arguments", src: `mytool héllo 日本語 '🙂' "ü"`},
	{name: "comment", src: `mytool a#b '#c' #comment`},

	// Variables and parameter expansion.
	{name: "variable-as-name", src: `a=rm; $a -rf x`},
	{name: "variable-as-option", src: `F=-rf; rm $F x`},
	{name: "variable-split-into-options", src: `F='-r -f'; rm $F x`},
	{name: "quoted-variable-not-split", src: `F='-r -f'; rm "$F" x`},
	{name: "empty-unquoted-variable-vanishes", src: `x=''; mytool $x "$x" y`},
	{name: "double-spaces-split", src: `x='a  b'; mytool $x "$x"`},
	{name: "tab-in-value-splits", src: `x=$'a\tb'; mytool $x`},
	{name: "append-assignment", src: `x=1; x+=2; mytool $x`},
	{name: "array-as-command", src: `a=(rm -rf x); "${a[@]}"`},
	{name: "array-elements", src: `a=(rm -rf x); ${a[0]} ${a[2]}`},
	{name: "array-element-with-space", src: `a=(rm 'two words'); "${a[@]}"`},
	{name: "array-star-joined", src: `a=(x y z); mytool "${a[*]}"`},
	{name: "array-length", src: `a=(x y z); mytool ${#a[@]}`},
	{name: "array-slice", src: `a=(1 2 3); mytool "${a[@]:1}"`},
	{name: "default-when-set", src: `x=set; mytool ${x:-default}`},
	{name: "default-when-empty", src: `x=; mytool ${x:-default}`},
	{name: "default-after-unset", src: `x=a; unset x; mytool ${x:-d}`},
	{name: "alternative-when-set", src: `x=1; mytool ${x:+alt}`},
	{name: "replace-first", src: `x=abca; mytool ${x/a/b}`},
	{name: "replace-all", src: `x=abca; mytool ${x//a/b}`},
	{name: "replace-builds-name", src: `c=ls; ${c/ls/rm} x`},
	{name: "string-length", src: `x=hello; mytool ${#x}`},
	{name: "substring", src: `x=hello; mytool ${x:1:3} "${x:0:1}"`},
	{name: "trim-suffix-prefix", src: `x=file.tar.gz; mytool ${x%.*} ${x%%.*} ${x#*.} ${x##*.}`},
	{name: "case-conversion", src: `x=abc; mytool ${x^^} ${x^} "${x@U}"`},
	{name: "quote-operator", src: `x='a b'; mytool "${x@Q}" ${x@Q}`},
	{name: "prefix-assignment-not-in-args", src: `x=0; x=1 mytool $x`},
	{name: "block-assignment-kept", src: `x=1; { x=2; }; mytool $x`},
	{name: "subshell-assignment-lost", src: `x=1; (x=2); mytool $x`},
	{name: "export-assignment", src: `c=ls; export c=rm; $c y`},
	{name: "declare-append", src: `c=ls; declare c+=x; mytool $c`},

	// Brace expansion.
	{name: "brace-list", src: `mytool {a,b}`},
	{name: "brace-list-with-affixes", src: `mytool x{a,b}y`},
	{name: "brace-empty-alternative", src: `mytool a{,}b`},
	{name: "brace-product", src: `mytool {a,b}{1,2}`},
	{name: "brace-nested", src: `mytool {a,{b,c}}`},
	{name: "brace-sequence", src: `mytool {1..3}`},
	{name: "brace-letter-sequence", src: `mytool {a..c}`},
	{name: "brace-sequence-with-step", src: `mytool {1..10..3}`},
	{name: "brace-padded-and-descending", src: `mytool {01..03} {3..1}`},
	{name: "brace-not-expanded", src: `mytool {a,b {a} a{b}c`},
	{name: "brace-quoted", src: `mytool '{a,b}' \{a,b\}`},
	{name: "brace-before-parameter", src: `i=3; mytool {1..$i}`},

	// Tilde and home.
	{name: "tilde-path", src: `mytool ~/x`},
	{name: "tilde-alone", src: `mytool ~`},
	{name: "tilde-quoted", src: `mytool "~/x" '~'`},
	{name: "tilde-in-assignment-like-argument", src: `mytool x=~/y x=~/a:~/b --p=~/z`},
	{name: "tilde-in-assignment", src: `a=~/x:~/y; mytool $a`},
	{name: "tilde-user-root", src: `mytool ~root/x`},
	{name: "home-variable", src: `mytool "$HOME/x"`},
	{name: "pwd-after-cd", src: `cd / && mytool "$PWD"`},
	{name: "pwd-after-cd-home", src: `cd; mytool "$PWD"`},

	// IFS.
	{name: "ifs-as-separator", src: `rm$IFS-rf$IFS/x`},
	{name: "ifs-braced", src: `rm${IFS}-rf${IFS}x`},
	{name: "ifs-quoted-not-split", src: `mytool "a${IFS}b"`},
	{name: "ifs-changed", src: `IFS=,; c=rm,-rf,y; $c`},
	{name: "ifs-changed-literals-not-split", src: `IFS=-; x=a-b; mytool a-b "$x" $x`},
	{name: "ifs-newline", src: `x=$'a\nb'; IFS=$'\n'; mytool $x`},

	// Arithmetic.
	{name: "arithmetic", src: `mytool $((1+2))`},
	{name: "arithmetic-operators", src: `mytool $((2**10)) $((7/2)) $((-7%3)) $((16#ff))`},
	{name: "arithmetic-more-operators", src: `mytool $((1<<4)) $((5>3)) $((1?2:3)) $((0x10)) $((010))`},
	{name: "arithmetic-variable", src: `x=5; mytool $((x*2)) $(($x+1))`},
	{name: "arithmetic-variable-holding-name", src: `x=5; y=x; mytool $((y))`},
	{name: "arithmetic-old-syntax", src: `mytool $[1+2]`},

	// Globs in an empty directory.
	{name: "unmatched-glob-stays-literal", src: `mytool *.nomatch`},
	{name: "quoted-glob", src: `mytool '*.nomatch' "*"`},
	{name: "unmatched-glob-classes", src: `mytool x?y [ab]c`},
	{name: "glob-from-variable", src: `x='*'; mytool $x "$x"`},
	{name: "noglob", src: `set -f; mytool *`},

	// Assignments, --, positional parameters and functions.
	{name: "assignment-before-command", src: `FOO=1 mytool a`},
	{name: "assignments-before-command", src: `FOO=1 BAR='x y' mytool a`},
	{name: "double-dash", src: `rm -- -rf`},
	{name: "options-then-double-dash", src: `rm -rf -- x y`},
	{name: "positional-from-set", src: `set -- a 'b c'; mytool "$2" $# "$@"`},
	{name: "positional-shift", src: `set -- rm -rf y; shift; mytool "$@"`},
	{name: "function-arguments", src: `f() { mytool "$1" x; }; f arg`},
	{name: "function-runs-arguments", src: `f() { shift; "$@"; }; f x rm y`},
	{name: "function-local", src: `f() { local c=$1; $c -rf y; }; f rm`},
	{name: "function-shadows-program", src: `rm() { cat "$@"; }; \rm x`},
	{name: "hash-p-rebinds-name", src: `hash -p ~/rm ls; ls -rf y`},

	// Builtins, wrappers and nested shells that run their arguments.
	{name: "command-builtin", src: `command rm -rf x`},
	{name: "exec-builtin", src: `exec rm x`},
	{name: "eval-quoted", src: `eval 'rm "a b"'`},
	{name: "eval-words", src: `eval rm '"a b"'`},
	{name: "eval-variable", src: `x='rm y'; eval "$x"`},
	{name: "bash-c", src: `bash -c 'rm -rf x'`},
	{name: "bash-c-positional", src: `bash -c 'rm "$1"' _ x`},
	{name: "bash-c-exported-variable", src: `export c=rm; bash -c '$c y'`},
	{name: "env-wrapper", src: `env rm -rf x`, needs: "env"},
	{name: "timeout-wrapper", src: `timeout 5 rm x`, needs: "timeout"},

	// Programs from the knowledge base.
	{name: "git-format", src: `git log --format='%H %s' -n1`},
	{name: "curl-header", src: `curl -H "X-A: b" https://example.com/x`},
	{name: "redirect-not-in-argv", src: `grep -r foo . 2>/dev/null`},
	{name: "find-pattern", src: `find . -name '*.go' -type f`},
	{name: "chmod-mode", src: `chmod 644 "a b"`},
	{name: "cp-quoted-names", src: `cp -- "a b" 'c d'`},

	// Known bugs. A case where bash runs a program and the analyzer reports
	// no unit at all gets Analyze's ErrEmpty, which the engine allows as
	// "builtins-only".
	{name: "unset-then-default", src: `unset c; ${c-rm -rf y}`},
	{name: "unset-then-assign-default", src: `unset c; x=${c=rm}; mytool $x $c`},
	{name: "assign-default-in-expansion", src: `c=; : ${c:=rm -rf y}; $c`},
	{name: "arithmetic-assignment", src: `x=ls; : $((x=5)); mytool $x`},
	{name: "arithmetic-post-increment", src: `x=3; mytool $((x++)) $x`},
	{name: "bug-arithmetic-injection-expansion", src: `x='a[$(rm -rf y)]'; : $((x))`,
		bug: "BUG: bash evaluates a variable's value as an arithmetic expression, running the command substitution in an array subscript: no unit (ErrEmpty)"},
	{name: "bug-arithmetic-injection-test", src: `x='a[$(rm -rf y)]'; [[ $x -eq 1 ]]`,
		bug: "BUG: [[ -eq ]] evaluates its operands arithmetically and runs the substitution in the subscript: no unit (ErrEmpty)"},
	{name: "bug-arithmetic-injection-subscript", src: `x='a[$(rm -rf y)]'; a=(1); : ${a[x]}`,
		bug: "BUG: an array subscript is arithmetic and runs the substitution in the variable's value: no unit (ErrEmpty)"},
	{name: "bug-prompt-expansion", src: `c='$(rm -rf y)'; : "${c@P}"`,
		bug: "BUG: ${c@P} expands the value as a prompt, running its command substitutions: no unit (ErrEmpty)"},
	{name: "function-assignment", src: `c=; f() { c='rm -rf y'; }; f; $c`},
	{name: "function-assignment-stale-value", src: `f() { c=rm; }; c=ls; f; $c -rf y`},
	{name: "function-cd", src: `f() { cd /; }; f; mytool "$PWD"`},
	{name: "eval-assignment", src: `c=; eval 'c="rm -rf y"'; $c`},
	{name: "eval-set-positional", src: `set -- ls; eval 'set -- rm'; $1 -rf y`},
	{name: "bug-debug-trap-assignment", src: `c=; trap 'c="rm -rf y"' DEBUG; $c`,
		bug: "BUG: a DEBUG trap runs before every command and its assignments are lost: no unit (ErrEmpty)"},
	{name: "prefix-assignment-to-eval", src: `c=; c='rm -rf y' eval '$c'`},
	{name: "prefix-assignment-to-function", src: `c=ls; f() { $c -rf y; }; c=rm f`},
	{name: "bug-posix-special-builtin-assignment", src: `set -o posix; c=; c='rm -rf y' :; $c`,
		bug: "BUG: in POSIX mode an assignment before a special builtin persists: no unit (ErrEmpty) while bash runs rm -rf y"},
	{name: "bug-nameref", src: `c=; declare -n r=c; r='rm -rf y'; $c`,
		bug: "BUG: declare -n (nameref) is ignored, so assigning r does not change c: no unit (ErrEmpty)"},
	{name: "bug-nameref-stale-value", src: `c=ls; declare -n r=c; r=rm; $c -rf y`,
		bug: "BUG: declare -n (nameref) is ignored: analyzer runs ls, bash runs rm"},
	{name: "bug-sparse-array", src: `a=([1]='rm -rf y' [0]=); ${a[1]}`,
		bug: "BUG: explicit indices in an array literal are ignored (and [0]= is dropped): no unit (ErrEmpty)"},
	{name: "bug-array-explicit-indices", src: `a=([1]=ls [0]=rm); "${a[@]}" -rf y`,
		bug: "BUG: explicit indices in an array literal are ignored: analyzer runs ls, bash runs rm"},
	{name: "bug-associative-array", src: `declare -A m=([k]=ls [j]=rm); ${m[j]} -rf y`,
		bug: "BUG: associative arrays are treated as indexed arrays: ${m[j]} is folded to the first value"},
	{name: "bug-lowercase-attribute", src: `declare -l c=RM; $c -rf y`,
		bug: "BUG: declare -l/-u (case attributes) are ignored: analyzer runs RM, bash runs rm"},
	{name: "bug-integer-attribute", src: `declare -i n; n=1+2; mytool $n`,
		bug: "BUG: declare -i is ignored: assignments are not evaluated arithmetically"},
	{name: "bash-cmds", src: `BASH_CMDS[ls]=~/rm; ls -rf y`},
	{name: "bug-cd-failure", src: `cd sub; mytool "$PWD"`,
		bug: "BUG: cd is assumed to succeed; when it fails (no such directory) the next command runs in the old directory"},
	{name: "tilde-plus", src: `mytool ~+`},
	{name: "bug-tilde-minus", src: `cd /; mytool ~-`,
		bug: "BUG: ~- is $OLDPWD, but the analyzer expands it as the home of a user named -"},
}

// dynamicCase is a command with a value the analyzer cannot know. It must
// say so: the unit for prog keeps the word's source text raw in its argv
// (for the program name: a dynamic-command finding), rather than folding it
// to a guess.
type dynamicCase struct {
	name string
	src  string
	prog string // program of the unit; "" when the program name is the dynamic word
	raw  string // source text of the dynamic word
}

var dynamicCases = []dynamicCase{
	// A prefix assignment to a builtin or function may outlive the command
	// (bash in POSIX mode keeps it): the analysis holds the value unknown.
	{name: "prefix-assignment-to-builtin", src: `x=0; x=1 :; mytool $x`, prog: "mytool", raw: `$x`},
	{name: "prefix-assignment-to-function-call", src: `c=rm; c=ls true; $c y`, prog: "", raw: `$c`},
	{name: "random", src: `rm $RANDOM`, prog: "rm", raw: `$RANDOM`},
	{name: "command-substitution", src: `rm "$(date)"`, prog: "rm", raw: `"$(date)"`},
	{name: "backquotes", src: "rm `mytool`", prog: "rm", raw: `$(mytool)`},
	{name: "unset-positional", src: `rm $1`, prog: "rm", raw: `$1`},
	{name: "all-positionals", src: `rm "$@"`, prog: "rm", raw: `"$@"`},
	{name: "special-parameters", src: `mytool $$`, prog: "mytool", raw: `$$`},
	{name: "environment-variable", src: `rm "$UNSET_VAR"/x`, prog: "rm", raw: `"$UNSET_VAR"/x`},
	{name: "user-in-home", src: `rm ~/$USER`, prog: "rm", raw: `~/$USER`},
	{name: "indirect", src: `rm ${!ref}`, prog: "rm", raw: `${!ref}`},
	{name: "arithmetic-with-unknown", src: `rm $((RANDOM % 2))`, prog: "rm", raw: `$((RANDOM % 2))`},
	{name: "process-substitution", src: `rm <(mytool)`, prog: "rm", raw: `<(mytool)`},
	{name: "variable-from-substitution", src: `x=$(mytool); rm $x`, prog: "rm", raw: `$x`},
	{name: "variable-from-read", src: `read x; rm $x`, prog: "rm", raw: `$x`},
	{name: "variable-from-printf-v", src: `printf -v x %s rm; mytool $x`, prog: "mytool", raw: `$x`},
	{name: "default-may-come-from-environment", src: `mytool ${x:-default}`, prog: "mytool", raw: `${x:-default}`},
	{name: "alternative-may-come-from-environment", src: `mytool ${x:+alt} y`, prog: "mytool", raw: `${x:+alt}`},
	{name: "assign-default-may-come-from-environment", src: `mytool "${x:=assigned}"`, prog: "mytool", raw: `"${x:=assigned}"`},
	{name: "command-from-environment", src: `$CMD -rf x`, raw: `$CMD`},
	{name: "command-from-substitution", src: `$(mytool) x`, raw: `$(mytool)`},
	{name: "command-is-glob", src: `r? x`, raw: `r?`},
	{name: "command-from-array-element-assignment", src: `a=(rm x); a[0]=ls; "${a[@]}"`, raw: `"${a[@]}"`},
	{name: "command-in-nested-shell-from-prefix", src: `c=rm bash -c '$c y'`, raw: `$c`},
}

// TestDifferentialBash runs every static case with the real bash, in an
// environment where PATH holds only fakes that record their argv, and checks
// that the analyzer's canonical argv is what bash executed.
func TestDifferentialBash(t *testing.T) {
	start := time.Now()
	e := newBashEnv(t)
	a, err := shellcmd.New(nil, shellcmd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	static := 0
	for _, tc := range staticCases {
		if tc.bug == "" {
			static++
		}
	}
	if static < 60 {
		t.Fatalf("only %d static cases; want at least 60", static)
	}
	for _, tc := range staticCases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needs != "" && !e.has(tc.needs) {
				t.Skipf("%s is not installed", tc.needs)
			}
			d := compare(a, tc.src, e.work, e.run(t, tc.src))
			switch {
			case d != "" && tc.bug != "":
				// A known difference must still fail closed: some unit the
				// analysis cannot follow, which is never allowed.
				if units, _ := a.Analyze(tc.src, e.work); !slices.ContainsFunc(units, func(u analysis.Unit) bool {
					return u.Effects.Has(analysis.Unknown)
				}) {
					t.Fatalf("%s\n%s\nthe analysis differs from bash and has no unit it marks unknown, so it could be allowed:\n%s",
						tc.bug, tc.src, describeUnits(units))
				}
				t.Skipf("%s\n%s\n%s", tc.bug, tc.src, d)
			case d != "":
				t.Errorf("%s\n%s", tc.src, d)
			case tc.bug != "":
				t.Errorf("%s\nanalyzer and bash now agree; the bug seems fixed, so remove the bug marker: %s", tc.src, tc.bug)
			}
		})
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("differential test took %v; keep it under 10s", d)
	}
}

// TestDynamicValues checks that words whose value is only known at run time
// are reported as such, never folded to a guess.
func TestDynamicValues(t *testing.T) {
	a, err := shellcmd.New(nil, shellcmd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	workdir := t.TempDir()
	for _, tc := range dynamicCases {
		t.Run(tc.name, func(t *testing.T) {
			units, err := a.Analyze(tc.src, workdir)
			if err != nil {
				t.Fatalf("Analyze(%q): %v", tc.src, err)
			}
			for _, u := range units {
				if len(u.Argv) == 0 {
					continue
				}
				if tc.prog == "" {
					if u.Argv[0] == tc.raw && u.HasFinding(analysis.FindingDynamicCommand) {
						if !u.Opaque() {
							t.Errorf("%s: the unit with a dynamic program name is not opaque: %+v", tc.src, u)
						}
						return
					}
					continue
				}
				if u.Program == tc.prog && slices.Contains(u.Argv[1:], tc.raw) {
					return
				}
			}
			what := fmt.Sprintf("a %s unit with the argument %q", tc.prog, tc.raw)
			if tc.prog == "" {
				what = fmt.Sprintf("a unit with the program name %q and a %s finding", tc.raw, analysis.FindingDynamicCommand)
			}
			t.Errorf("%s: want %s, got:\n%s", tc.src, what, describeUnits(units))
		})
	}
}
