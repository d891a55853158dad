//go:build !unix

package execute

import "os/exec"

// killGroupOnCancel leaves the default: a cancel kills the command's own
// process only, as this platform has no process groups to kill.
func killGroupOnCancel(cmd *exec.Cmd) {}
