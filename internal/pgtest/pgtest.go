package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// superuser is the cluster's bootstrap superuser; it connects without a
// password (see hbaConf).
const superuser = "gatehouse"

// errNotInstalled says the PostgreSQL server binaries were not found: the
// one failure that skips rather than fails a test outside CI.
var errNotInstalled = errors.New("postgresql server binaries (initdb, pg_ctl) not found")

// The cluster is per test process, shared by every test in it, because
// starting one costs about a second and a fresh database costs milliseconds.
var (
	once     sync.Once
	mu       sync.Mutex // guards running and seq
	running  *cluster
	startErr error
	seq      int
)

// Run runs the package's tests and then stops the cluster, if a test started
// one, and removes its directory. It returns the exit code for os.Exit. Use
// it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
func Run(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	c := running
	running = nil
	mu.Unlock()
	if c != nil {
		if err := c.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	return code
}

// DSN returns a postgres:// URL, for the superuser "gatehouse", of a fresh,
// empty database in this test process's cluster, starting the cluster on the
// first call. When PostgreSQL is not installed it skips the test, or fails it
// when CI=true or REQUIRE_POSTGRES=1; any other failure fails the test.
func DSN(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		c, err := startCluster()
		mu.Lock()
		running, startErr = c, err
		mu.Unlock()
	})
	mu.Lock()
	c, err := running, startErr
	if c == nil && err == nil {
		err = errors.New("cluster already stopped: DSN called after Run's tests finished")
	}
	seq++
	name := "t_" + strconv.Itoa(seq)
	mu.Unlock()

	if errors.Is(err, errNotInstalled) && !required() {
		t.Skipf("pgtest: %v", err)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.createDatabase(ctx, name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return c.dsn(name)
}

// required says whether a missing PostgreSQL must fail the test instead of
// skipping it.
func required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("REQUIRE_POSTGRES") == "1"
}

// dsn is the URL of database name for the superuser.
func (c *cluster) dsn(name string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// createDatabase creates the empty database name.
func (c *cluster) createDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.dsn("postgres"))
	if err != nil {
		return fmt.Errorf("connect to test cluster: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}
