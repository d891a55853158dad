package execute_test

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/execute"
)

// TestShellRunAs runs a command as another user: it gets that uid, and
// cannot read a file only the gateway's user can.
func TestShellRunAs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(dir), dir} { // t.TempDir's are 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(dir, "admin.token")
	if err := os.WriteFile(secret, []byte("gha_secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := run(t, &execute.Shell{Workdir: work, User: "nobody"}, "id -u; cat "+secret+" || echo refused")
	if !strings.HasPrefix(res.Output, nobody.Uid+"\n") || strings.Contains(res.Output, "gha_secret") || !strings.Contains(res.Output, "refused") {
		t.Errorf("output %q", res.Output)
	}
	if _, err := (&execute.Shell{Workdir: work, User: "no-such-user-here"}).Run(t.Context(), "true"); err == nil {
		t.Error("an unknown user ran")
	}
}
