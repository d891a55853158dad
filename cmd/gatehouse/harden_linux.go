package main

import "syscall"

// harden makes the gateway's process non-dumpable: its /proc entries
// (environ, fd, cwd, root, mem) then belong to root, so a command running
// as the gateway's own (non-root) user cannot read its environment or open
// files through them.
func harden() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0); errno != 0 {
		return errno
	}
	return nil
}
