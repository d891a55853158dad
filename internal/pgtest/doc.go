// Package pgtest gives tests a throwaway PostgreSQL.
//
// The first call to [DSN] in a test process starts a private cluster from
// the PostgreSQL binaries installed on the machine (initdb and pg_ctl, found
// under /usr/lib/postgresql/*/bin or on PATH) in a temporary directory,
// listening only on 127.0.0.1 on a free port, with durability switched off
// for speed. Every call then creates a fresh, empty database in that
// cluster, so tests never see each other's tables. [Run], called from
// TestMain, stops the cluster and removes its directory when the tests end;
// a watchdog process does the same if the test binary dies without getting
// there (a panic, a timeout, a signal).
//
// The superuser is "gatehouse" and connects without a password. Every other
// role must authenticate with its password (scram-sha-256), so tests can
// create roles and check what their credentials allow.
//
// When PostgreSQL is not installed, [DSN] skips the test; with CI=true or
// REQUIRE_POSTGRES=1 in the environment it fails it instead.
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.DSN(t)
//		...
//	}
package pgtest
