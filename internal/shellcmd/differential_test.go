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

// fakePrograms are installed as tiny scripts that print their own name and
// arguments, NUL-separated, so that the argv bash really executes can be
// read back. They are never the real programs: nothing is removed or fetched.
var fakePrograms = []string{"rm", "ls", "cat", "grep", "git", "curl", "mytool", "chmod", "cp", "find"}

// fakeScript prints the program's base name and its arguments. It uses no
// external program (not even basename): PATH holds only the fakes.
const fakeScript = "#!/bin/sh\nprintf '%s\\0' \"${0##*/}\" \"$@\"\n"

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
// (the whole PATH), an empty home and an empty working directory.
type bashEnv struct {
	bash, bin, home, work string
}

func newBashEnv(t *testing.T) *bashEnv {
	t.Helper()
	e := &bashEnv{bash: requireBash(t), bin: t.TempDir(), home: t.TempDir(), work: t.TempDir()}
	for _, name := range fakePrograms {
		if err := os.WriteFile(filepath.Join(e.bin, name), []byte(fakeScript), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// run executes src with bash -c and returns the argv of the fake program
// it ran, with the real home directory written as "~" (the analyzer's name
// for it).
func (e *bashEnv) run(t *testing.T, src string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bash, "--norc", "--noprofile", "-c", src)
	cmd.Env = []string{"PATH=" + e.bin, "HOME=" + e.home}
	cmd.Dir = e.work
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bash -c %q: %v\nstderr: %s", src, err, stderr.String())
	}
	out := stdout.String()
	if out == "" {
		t.Fatalf("bash -c %q ran no fake program\nstderr: %s", src, stderr.String())
	}
	if !strings.HasSuffix(out, "\x00") {
		t.Fatalf("bash -c %q: output is not NUL-terminated: %q", src, out)
	}
	argv := strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
	for i, a := range argv {
		if a == e.home {
			argv[i] = "~"
		} else if rest, ok := strings.CutPrefix(a, e.home+"/"); ok {
			argv[i] = "~/" + rest
		}
	}
	return argv
}

// analyzeOne analyzes src and returns its only unit.
func analyzeOne(t *testing.T, a *shellcmd.Analyzer, src, workdir string) analysis.Unit {
	t.Helper()
	units, err := a.Analyze(src, workdir)
	if err != nil {
		t.Fatalf("Analyze(%q): %v", src, err)
	}
	if len(units) != 1 {
		t.Fatalf("Analyze(%q) = %d units, want 1:\n%s", src, len(units), describeUnits(units))
	}
	return units[0]
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
		var w, g string = "<none>", "<none>"
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

// staticCases are commands whose argv is fully known before they run: the
// analyzer's canonical argv must be what bash executes.
var staticCases = []struct {
	name string
	src  string
	skip string // "BUG: ..." for a known analyzer bug
}{
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
	{name: "ansi-c-tab", src: `mytool $'a\tb'`},
	{name: "ansi-c-newline", src: `mytool $'a\nb'`},
	{name: "ansi-c-escaped-quote", src: `mytool $'it\'s'`},
	{name: "ansi-c-unicode-arg", src: `mytool $'\u00e9\U0001F642'`},
	{name: "locale-string", src: `mytool $"hello world"`},
	{name: "locale-string-no-escapes", src: `mytool $"a\tb"`},
	{name: "escaped-space", src: `mytool a\ b c`},
	{name: "quoted-spaces", src: `mytool 'a b' "c  d"`},
	{name: "line-continuation-between-args", src: "mytool a \\\n b"},
	{name: "line-continuation-inside-name", src: "my\\\ntool x"},
	{name: "line-continuation-in-double-quotes", src: "mytool \"a\\\nb\""},
	{name: "variable-as-name", src: `a=rm; $a -rf x`},
	{name: "variable-as-option", src: `F=-rf; rm $F x`},
	{name: "variable-split-into-options", src: `F='-r -f'; rm $F x`},
	{name: "quoted-variable-not-split", src: `F='-r -f'; rm "$F" x`},
	{name: "array-as-command", src: `a=(rm -rf x); "${a[@]}"`},
	{name: "array-elements", src: `a=(rm -rf x); ${a[0]} ${a[2]}`},
	{name: "array-element-with-space", src: `a=(rm 'two words'); "${a[@]}"`},
	{name: "array-star-joined", src: `a=(x y z); mytool "${a[*]}"`},
	{name: "array-length", src: `a=(x y z); mytool ${#a[@]}`},
	{name: "default-when-unset", src: `mytool ${x:-default}`},
	{name: "default-when-set", src: `x=set; mytool ${x:-default}`},
	{name: "alternative-when-unset-vanishes", src: `mytool ${x:+alt} y`},
	{name: "alternative-when-set", src: `x=1; mytool ${x:+alt}`},
	{name: "assign-default", src: `mytool "${x:=assigned}" "$x"`},
	{name: "replace-first", src: `x=abca; mytool ${x/a/b}`},
	{name: "replace-all", src: `x=abca; mytool ${x//a/b}`},
	{name: "string-length", src: `x=hello; mytool ${#x}`},
	{name: "substring", src: `x=hello; mytool ${x:1:3} "${x:0:1}"`},
	{name: "trim-suffix-prefix", src: `x=file.tar.gz; mytool ${x%.*} ${x%%.*} ${x#*.} ${x##*.}`},
	{name: "case-conversion", src: `x=abc; mytool ${x^^} ${x^}`},
	{name: "append-assignment", src: `x=1; x+=2; mytool $x`},
	{name: "brace-list", src: `mytool {a,b}`},
	{name: "brace-list-with-affixes", src: `mytool x{a,b}y`},
	{name: "brace-empty-alternative", src: `mytool a{,}b`},
	{name: "brace-sequence", src: `mytool {1..3}`},
	{name: "brace-letter-sequence", src: `mytool {a..c}`},
	{name: "brace-sequence-with-step", src: `mytool {1..10..3}`},
	{name: "brace-quoted", src: `mytool '{a,b}' \{a,b\}`},
	{name: "brace-before-parameter", src: `i=3; mytool {1..$i}`},
	{name: "tilde-path", src: `mytool ~/x`},
	{name: "tilde-alone", src: `mytool ~`},
	{name: "tilde-quoted", src: `mytool "~/x" '~'`},
	{name: "home-variable", src: `mytool "$HOME/x"`},
	{name: "ifs-as-separator", src: `rm$IFS-rf$IFS/x`},
	{name: "ifs-braced", src: `rm${IFS}-rf${IFS}x`},
	{name: "ifs-quoted-not-split", src: `mytool "a${IFS}b"`},
	{name: "single-inside-double", src: `mytool "'nested'"`},
	{name: "double-inside-single", src: `mytool '"nested"'`},
	{name: "mixed-quotes", src: `mytool "a'b\"c" 'x"y'`},
	{name: "adjacent-quotes", src: `mytool "a"'b'c`},
	{name: "escaped-dollar", src: `mytool "\$x" '\$x' \$x`},
	{name: "backslashes", src: `mytool "a\\b" 'a\\b' a\\b`},
	{name: "backslash-kept-in-double-quotes", src: `mytool "\a" "\q"`},
	{name: "escaped-double-quotes", src: `mytool \"a\"`},
	{name: "empty-arguments", src: `mytool '' x ""`},
	{name: "empty-unquoted-variable-vanishes", src: `x=''; mytool $x "$x" y`},
	{name: "double-spaces-split", src: `x='a  b'; mytool $x "$x"`},
	{name: "arithmetic", src: `mytool $((1+2))`},
	{name: "arithmetic-operators", src: `mytool $((2**10)) $((7/2)) $((-7%3)) $((16#ff))`},
	{name: "arithmetic-variable", src: `x=5; mytool $((x*2)) $(($x+1))`},
	{name: "unmatched-glob-stays-literal", src: `mytool *.nomatch`},
	{name: "quoted-glob", src: `mytool '*.nomatch' "*"`},
	{name: "unmatched-glob-classes", src: `mytool x?y [ab]c`},
	{name: "assignment-before-command", src: `FOO=1 mytool a`},
	{name: "assignments-before-command", src: `FOO=1 BAR='x y' mytool a`},
	{name: "double-dash", src: `rm -- -rf`},
	{name: "options-then-double-dash", src: `rm -rf -- x y`},
	{name: "unicode-arguments", src: `mytool héllo 日本語 '🙂' "ü"`},
	{name: "comment", src: `mytool a#b '#c' #comment`},
	{name: "command-builtin", src: `command rm -rf x`},
	{name: "exec-builtin", src: `exec rm x`},
	{name: "positional-from-set", src: `set -- a 'b c'; mytool "$2" $# "$@"`},
	{name: "function-arguments", src: `f() { mytool "$1" x; }; f arg`},
	{name: "pwd-after-cd", src: `cd / && mytool "$PWD"`},
	{name: "git-format", src: `git log --format='%H %s' -n1`},
	{name: "curl-header", src: `curl -H "X-A: b" https://example.com/x`},
	{name: "redirect-not-in-argv", src: `grep -r foo . 2>/dev/null`},
}

func TestDifferentialBash(t *testing.T) {
	start := time.Now()
	e := newBashEnv(t)
	a, err := shellcmd.New(nil, shellcmd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(staticCases) < 60 {
		t.Fatalf("only %d static cases; want at least 60", len(staticCases))
	}
	for _, tc := range staticCases {
		t.Run(tc.name, func(t *testing.T) {
			want := e.run(t, tc.src)
			u := analyzeOne(t, a, tc.src, e.work)
			got := slices.Clone(u.Argv)
			if len(got) > 0 {
				got[0] = path.Base(got[0])
			}
			if d := diffArgv(want, got); d != "" {
				if tc.skip != "" {
					t.Skipf("%s\n%s", tc.skip, d)
				}
				t.Errorf("%s\n%s", tc.src, d)
			}
		})
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("differential test took %v; keep it under 10s", d)
	}
}
