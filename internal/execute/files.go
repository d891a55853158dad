package execute

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// errLimit stops a walk at the limit.
var errLimit = errors.New("limit reached")

// CountFiles counts the files and directories under paths, each path
// counted itself plus everything beneath it, without following symbolic
// links (a link counts as one). Missing paths count 0; paths are counted
// independently, so overlapping ones count twice. It stops at limit (no
// limit when limit <= 0). exact is false when the limit was reached, or a
// directory could not be read, so that n is only a lower bound.
func CountFiles(paths []string, limit int64) (n int64, exact bool) {
	exact = true
	for _, root := range paths {
		if _, err := os.Lstat(root); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				exact = false
			}
			continue
		}
		err := filepath.WalkDir(root, func(_ string, _ fs.DirEntry, err error) error {
			if err != nil {
				// WalkDir has already shown us the directory it
				// cannot read; what is inside it is unknown.
				exact = false
				return nil
			}
			if limit > 0 && n >= limit {
				return errLimit
			}
			n++
			return nil
		})
		if errors.Is(err, errLimit) {
			return n, false
		}
	}
	return n, exact
}
