package execute_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/execute"
)

func TestCountFiles(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"d", "d/e", "empty"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a", "d/b", "d/e/c"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A link to a directory counts once: it is not followed.
	if err := os.Symlink(filepath.Join(root, "d"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	at := func(rel ...string) []string {
		var ps []string
		for _, r := range rel {
			ps = append(ps, filepath.Join(root, r))
		}
		return ps
	}

	for _, tc := range []struct {
		name      string
		paths     []string
		limit     int64
		wantN     int64
		wantExact bool
	}{
		// root, a, d, d/b, d/e, d/e/c, empty, link
		{"whole tree", []string{root}, 0, 8, true},
		{"limit above the count", []string{root}, 100, 8, true},
		{"limit equal to the count", []string{root}, 8, 8, true},
		{"limit reached", []string{root}, 3, 3, false},
		{"subtree", at("d"), 0, 4, true},
		{"file", at("a"), 0, 1, true},
		{"link given as a path", at("link"), 0, 1, true},
		{"missing path counts 0", at("missing", "d/e"), 0, 2, true},
		{"several paths share the limit", at("d", "a", "empty"), 5, 5, false},
		{"no paths", nil, 10, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, exact := execute.CountFiles(tc.paths, tc.limit)
			if n != tc.wantN || exact != tc.wantExact {
				t.Errorf("CountFiles = %d, %v; want %d, %v", n, exact, tc.wantN, tc.wantExact)
			}
		})
	}
}
