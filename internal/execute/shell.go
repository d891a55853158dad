package execute

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// basePath is the PATH of every shell command; nothing of the gateway's
// own environment reaches a command.
const basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// waitDelay bounds how long Run waits, once the command has exited or been
// killed, for the output pipe to close: a background process that escaped
// the kill (or was started to outlive the command) can hold it open forever.
const waitDelay = 2 * time.Second

// shellArgv is how a command runs: bash without startup files, or sh when
// the machine has no bash. It is looked up once, in basePath rather than
// the gateway's PATH, because that is the PATH the command sees.
var shellArgv = sync.OnceValue(func() []string {
	for _, dir := range filepath.SplitList(basePath) {
		if p, err := exec.LookPath(filepath.Join(dir, "bash")); err == nil {
			return []string{p, "--noprofile", "--norc", "-c"}
		}
	}
	return []string{"/bin/sh", "-c"}
})

// Shell runs commands for a shell target.
type Shell struct {
	// Workdir is the command's working directory and HOME. Required.
	Workdir string
	// Env is added to the clean base environment (PATH, HOME, LANG, PWD),
	// overriding it.
	Env map[string]string
	// Timeout bounds a command's run time; 0 means 5 minutes.
	Timeout time.Duration
	// MaxOutput is how many bytes of output are kept; 0 means 1 MiB.
	MaxOutput int
	// User, when set, is the account commands run as (the gateway must
	// be able to switch to it, i.e. run as root). Running them as the
	// gateway's own user lets them read whatever the gateway can.
	User string
}

// Run runs command with bash in the target's workdir, in a clean
// environment, with stdin from /dev/null and stdout and stderr interleaved
// into one capped Output. The command runs in its own process group, all of
// which is killed on timeout or when ctx ends. Background processes left
// behind by a command that exits on its own are not killed; Run stops
// waiting for their output 2 seconds after the command exits.
//
// A command that runs and fails, or times out, is a Result, not an error:
// ExitCode says how it ended and Error why it was stopped. Run returns an
// error only when the command could not be started at all (a missing
// workdir, an invalid Env name).
func (s *Shell) Run(ctx context.Context, command string) (*Result, error) {
	if s.Workdir == "" {
		return nil, errors.New("shell target has no workdir")
	}
	// HOME and PWD must be absolute to mean the same thing to the command.
	workdir, err := filepath.Abs(s.Workdir)
	if err != nil {
		return nil, fmt.Errorf("shell workdir: %w", err)
	}
	env, err := environ(workdir, s.Env)
	if err != nil {
		return nil, err
	}
	timeout := cmp.Or(s.Timeout, defaultTimeout)
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	argv := append(slices.Clone(shellArgv()), command)
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	cmd.Dir = workdir
	cmd.Env = env
	// The same writer for both makes os/exec use one pipe, so the
	// interleaving is the order the command wrote in.
	out := newCappedBuffer(cmp.Or(s.MaxOutput, defaultMaxOutput))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = waitDelay
	killGroupOnCancel(cmd)
	if s.User != "" {
		if err := runAs(cmd, s.User); err != nil {
			return nil, err
		}
	}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start shell command: %w", err)
	}
	waitErr := cmd.Wait()
	res := &Result{DurationMS: time.Since(start).Milliseconds()}
	res.Output, res.Truncated = out.output()

	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	res.ExitCode = &code
	switch {
	case ctx.Err() != nil:
		res.Error = "canceled: " + context.Cause(ctx).Error()
	case runCtx.Err() != nil:
		res.Error = "timed out after " + timeout.String()
	case code == -1 && cmd.ProcessState != nil:
		res.Error = "terminated: " + cmd.ProcessState.String()
	case code == -1:
		res.Error = "wait for shell command: " + waitErr.Error()
	}
	return res, nil
}

// environ is a command's environment: the base for workdir plus extra,
// sorted.
func environ(workdir string, extra map[string]string) ([]string, error) {
	vars := map[string]string{
		"PATH": basePath,
		"HOME": workdir,
		"LANG": "C.UTF-8",
		"PWD":  workdir,
	}
	for k, v := range extra {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("invalid environment variable %q", k)
		}
		vars[k] = v
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env, nil
}
