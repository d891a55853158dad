//go:build !unix

package execute

import (
	"errors"
	"os/exec"
)

// killGroupOnCancel leaves the default: a cancel kills the command's own
// process only, as this platform has no process groups to kill.
func killGroupOnCancel(cmd *exec.Cmd) {}

// runAs is not supported here.
func runAs(cmd *exec.Cmd, name string) error {
	return errors.New("run_as is not supported on this platform")
}
