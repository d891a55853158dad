package main

import (
	"syscall"
	"testing"
)

func TestHardenMakesTheProcessNonDumpable(t *testing.T) {
	if err := harden(); err != nil {
		t.Fatal(err)
	}
	v, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_GET_DUMPABLE, 0, 0)
	if errno != 0 || v != 0 {
		t.Errorf("dumpable = %d (%v), want 0", v, errno)
	}
}
