//go:build !unix

package sqlite

// lockDir does not lock where flock is not available.
func lockDir(string) (func() error, error) { return func() error { return nil }, nil }
