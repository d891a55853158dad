package pgtest_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestDSN(t *testing.T) {
	dsn1, dsn2 := pgtest.DSN(t), pgtest.DSN(t)
	if dsn1 == dsn2 {
		t.Fatalf("two DSN calls gave the same URL %q", dsn1)
	}
	c1, c2 := connect(t, dsn1), connect(t, dsn2)

	var one int
	if err := c1.QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}

	var db1, db2, user string
	if err := c1.QueryRow(t.Context(), "SELECT current_database(), current_user").Scan(&db1, &user); err != nil {
		t.Fatal(err)
	}
	if err := c2.QueryRow(t.Context(), "SELECT current_database()").Scan(&db2); err != nil {
		t.Fatal(err)
	}
	if db1 == db2 {
		t.Errorf("both DSNs connect to database %q", db1)
	}
	if user != "gatehouse" {
		t.Errorf("current_user = %q, want gatehouse", user)
	}

	// Fresh means empty: a table made in one database is not in the other.
	if _, err := c1.Exec(t.Context(), "CREATE TABLE only_here (id int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c2.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("second database has %d public tables, want 0", n)
	}
}

// Roles other than the superuser must give their password: tests of minted
// credentials depend on it.
func TestPasswordAuthentication(t *testing.T) {
	dsn := pgtest.DSN(t)
	admin := connect(t, dsn)
	if _, err := admin.Exec(t.Context(), "CREATE ROLE pgtest_probe LOGIN PASSWORD 'right-password'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(context.Background(), "DROP ROLE pgtest_probe") })

	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		password string
		ok       bool
	}{{"right-password", true}, {"wrong-password", false}, {"", false}} {
		c := cfg.Copy()
		c.User, c.Password = "pgtest_probe", tc.password
		conn, err := pgx.ConnectConfig(t.Context(), c)
		if err == nil {
			conn.Close(t.Context())
		}
		if (err == nil) != tc.ok {
			t.Errorf("password %q: connect error %v, want success %v", tc.password, err, tc.ok)
		}
	}
}
