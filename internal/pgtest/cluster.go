package pgtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// hbaConf lets the superuser in without a password and makes every other
// role authenticate, so tests can check what a role's credential allows.
// Only loopback connections are accepted at all.
const hbaConf = `# written by pgtest
local all ` + superuser + ` trust
local all all scram-sha-256
host all ` + superuser + ` 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
`

// startAttempts bounds the retries when the free port picked for the server
// is taken by someone else before the server binds it.
const startAttempts = 3

// cluster is one running PostgreSQL server in a temporary directory.
type cluster struct {
	dir  string // holds data/, log and the unix socket
	bin  string // directory of initdb and pg_ctl
	port int
	// runuser is the path of runuser when running as root: PostgreSQL
	// refuses to run as root, so the server runs as the postgres user.
	runuser string

	watchdog   *exec.Cmd
	watchdogIn *os.File // closing it tells the watchdog to clean up
}

// startCluster creates, configures and starts a cluster.
func startCluster() (_ *cluster, err error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	c := &cluster{dir: dir, bin: bin}
	defer func() {
		if err != nil {
			c.stopWatchdog() // stops a half-started server, removes dir
			os.RemoveAll(dir)
		}
	}()
	if os.Geteuid() == 0 {
		if err := c.dropRoot(); err != nil {
			return nil, err
		}
	}

	out, err := c.command("initdb", "-D", c.data(), "-A", "trust", "-U", superuser,
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, tail(out, 20))
	}
	// WriteFile truncates the existing file, keeping initdb's owner and mode.
	if err := os.WriteFile(filepath.Join(c.data(), "pg_hba.conf"), []byte(hbaConf), 0o600); err != nil {
		return nil, fmt.Errorf("write pg_hba.conf: %w", err)
	}
	if err := c.startWatchdog(); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		if err = c.start(); err == nil {
			return c, nil
		}
		if attempt == startAttempts {
			return nil, err
		}
	}
}

// dropRoot arranges for the cluster to run as the postgres user.
func (c *cluster) dropRoot() error {
	runuser, err := exec.LookPath("runuser")
	if err != nil {
		return fmt.Errorf("running as root needs runuser to start the cluster as postgres: %w", err)
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres user to run the cluster as: %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return fmt.Errorf("postgres user id %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return fmt.Errorf("postgres group id %q: %w", u.Gid, err)
	}
	if err := os.Chown(c.dir, uid, gid); err != nil {
		return fmt.Errorf("chown cluster directory to postgres: %w", err)
	}
	c.runuser = runuser
	return nil
}

// start starts the server on a free loopback port.
func (c *cluster) start() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s"+
		" -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
		port, shellQuote(c.dir))
	logFile := filepath.Join(c.dir, "log")
	out, err := c.command("pg_ctl", "-D", c.data(), "-w", "-l", logFile, "-o", opts, "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("start postgresql on port %d: %w\n%s\nlog:\n%s", port, err, tail(out, 10), tail(log, 20))
	}
	c.port = port
	return nil
}

// stop stops the server, removes the directory and ends the watchdog.
func (c *cluster) stop() error {
	out, err := c.command("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil {
		err = fmt.Errorf("stop postgresql: %w\n%s", err, tail(out, 10))
	}
	if rmErr := os.RemoveAll(c.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("remove cluster directory: %w", rmErr))
	}
	c.stopWatchdog()
	return err
}

// startWatchdog starts a process that stops the server and removes the
// directory once its stdin reaches EOF, which happens when this process
// closes it or dies. The server outlives a crashed test binary otherwise:
// pg_ctl puts it in a session of its own.
func (c *cluster) startWatchdog() error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("watchdog pipe: %w", err)
	}
	defer r.Close()
	stop := c.argv("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
	script := `d=$1; shift; read -r _; "$@" >/dev/null 2>&1; rm -rf "$d"`
	cmd := exec.Command("/bin/sh", append([]string{"-c", script, "pgtest-watchdog", c.dir}, stop...)...)
	cmd.Stdin = r
	cmd.Dir = c.dir
	// Its own process group keeps a Ctrl-C meant for the tests from
	// killing it before it has cleaned up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start watchdog: %w", err)
	}
	c.watchdog, c.watchdogIn = cmd, w
	return nil
}

// stopWatchdog lets the watchdog run its (by now redundant) cleanup and
// waits for it.
func (c *cluster) stopWatchdog() {
	if c.watchdog == nil {
		return
	}
	c.watchdogIn.Close()
	_ = c.watchdog.Wait() // its pg_ctl stop fails when the server is already down
	c.watchdog = nil
}

// data is the data directory.
func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

// command is an exec.Cmd running the PostgreSQL program name, as the
// postgres user when running as root.
func (c *cluster) command(name string, args ...string) *exec.Cmd {
	argv := c.argv(name, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.dir // the postgres user may not be able to enter ours
	cmd.Env = cleanEnv()
	return cmd
}

// argv is the full argument vector that runs the PostgreSQL program name.
func (c *cluster) argv(name string, args ...string) []string {
	prog := append([]string{filepath.Join(c.bin, name)}, args...)
	if c.runuser == "" {
		return prog
	}
	return append([]string{c.runuser, "-u", "postgres", "--"}, prog...)
}

// cleanEnv is this process's environment without the PG* variables that
// would change how initdb, pg_ctl or the server behave.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PG")
	})
}

// findBin finds the directory holding initdb and pg_ctl: the newest
// /usr/lib/postgresql/*/bin (Debian, Ubuntu), else the one on PATH.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(a)), filepath.Base(filepath.Dir(b)))
	})
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		dirs = append([]string{filepath.Dir(p)}, dirs...)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if isExecutable(filepath.Join(dirs[i], "initdb")) && isExecutable(filepath.Join(dirs[i], "pg_ctl")) {
			return dirs[i], nil
		}
	}
	return "", errNotInstalled
}

// compareVersions orders dotted version numbers numerically ("9.6" < "15").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return strings.Compare(a, b)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// shellQuote quotes s for the shell that pg_ctl runs the server through.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tail is the last n lines of b.
func tail(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
