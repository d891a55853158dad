package execute_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/execute"
)

// run runs command in a fresh workdir and fails the test if it could not
// start.
func run(t *testing.T, s *execute.Shell, command string) *execute.Result {
	t.Helper()
	if s.Workdir == "" {
		s.Workdir = t.TempDir()
	}
	res, err := s.Run(t.Context(), command)
	if err != nil {
		t.Fatalf("Run(%q): %v", command, err)
	}
	return res
}

func TestShellExitCode(t *testing.T) {
	for _, tc := range []struct {
		command  string
		wantCode int
		wantOK   bool
		wantErr  string
	}{
		{"true", 0, true, ""},
		{"exit 3", 3, false, ""},
		{"false || exit 42", 42, false, ""},
		{"echo not found >&2; exit 127", 127, false, ""},
		{"kill -TERM $$", -1, false, "terminated: signal: terminated"},
	} {
		t.Run(tc.command, func(t *testing.T) {
			res := run(t, &execute.Shell{}, tc.command)
			if res.ExitCode == nil || *res.ExitCode != tc.wantCode {
				t.Fatalf("ExitCode = %v, want %d (result %+v)", res.ExitCode, tc.wantCode, res)
			}
			if res.OK() != tc.wantOK {
				t.Errorf("OK() = %v, want %v", res.OK(), tc.wantOK)
			}
			if res.Error != tc.wantErr {
				t.Errorf("Error = %q, want %q", res.Error, tc.wantErr)
			}
		})
	}
}

func TestShellWorkdir(t *testing.T) {
	dir := t.TempDir()
	res := run(t, &execute.Shell{Workdir: dir}, "pwd -P; touch made-here")
	want, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(res.Output); got != want {
		t.Errorf("pwd = %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "made-here")); err != nil {
		t.Errorf("relative path did not land in the workdir: %v", err)
	}
}

func TestShellCleanEnvironment(t *testing.T) {
	t.Setenv("GATEHOUSE_SECRET_PROBE", "x")
	dir := t.TempDir()
	res := run(t, &execute.Shell{Workdir: dir, Env: map[string]string{"TARGET_VAR": "from target", "LANG": "C"}}, "env")
	env := map[string]string{}
	for line := range strings.Lines(res.Output) {
		k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		env[k] = v
	}
	if _, ok := env["GATEHOUSE_SECRET_PROBE"]; ok {
		t.Error("the gateway's environment reached the command")
	}
	want := map[string]string{
		"TARGET_VAR": "from target",
		"LANG":       "C", // the target's Env overrides the base
		"HOME":       dir,
		"PATH":       "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	// Nothing else, beyond what bash itself sets.
	for k := range env {
		switch k {
		case "TARGET_VAR", "LANG", "HOME", "PATH", "PWD", "SHLVL", "_":
		default:
			t.Errorf("unexpected variable %s=%q", k, env[k])
		}
	}
}

func TestShellRejectsBadEnvName(t *testing.T) {
	s := &execute.Shell{Workdir: t.TempDir(), Env: map[string]string{"A=B": "x"}}
	if _, err := s.Run(t.Context(), "true"); err == nil {
		t.Error("Run with an env name containing '=' succeeded")
	}
}

func TestShellStartFailure(t *testing.T) {
	for name, s := range map[string]*execute.Shell{
		"missing workdir": {Workdir: filepath.Join(t.TempDir(), "nope")},
		"no workdir":      {},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := s.Run(t.Context(), "true")
			if err == nil {
				t.Fatalf("Run = %+v, want an error", res)
			}
		})
	}
}

func TestShellOutput(t *testing.T) {
	for _, tc := range []struct {
		name          string
		max           int
		command       string
		want          string
		wantTruncated bool
	}{
		{"stdout and stderr interleaved", 0, "echo 1; echo 2 >&2; echo 3", "1\n2\n3\n", false},
		{"stdin is empty", 0, "cat; echo done", "done\n", false},
		{"capped with a marker", 1000, `head -c 5000 /dev/zero | tr '\0' a`,
			strings.Repeat("a", 1000) + "\n[output truncated: 4000 more bytes]", true},
		{"exactly at the cap", 4, "printf abcd", "abcd", false},
		{"cap does not split a rune", 5, `printf 'abcd\xc3\xa9xyz'`,
			"abcd\n[output truncated: 5 more bytes]", true},
		{"invalid UTF-8 replaced", 0, `printf 'ok \xff\xfe end'`, "ok \uFFFD end", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, &execute.Shell{MaxOutput: tc.max}, tc.command)
			if res.Output != tc.want {
				t.Errorf("Output = %q, want %q", res.Output, tc.want)
			}
			if res.Truncated != tc.wantTruncated {
				t.Errorf("Truncated = %v, want %v", res.Truncated, tc.wantTruncated)
			}
			if !utf8.ValidString(res.Output) {
				t.Error("Output is not valid UTF-8")
			}
		})
	}
}
