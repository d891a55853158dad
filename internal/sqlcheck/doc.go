// Package sqlcheck says what a PostgreSQL command string would do.
//
// It parses with the real PostgreSQL parser (pganalyze/pg_query_go) and
// describes every statement in the string as an [analysis.Unit]: its class
// (read, write, DDL, destructive DDL, privilege, admin, server file or program
// access, opaque code), the tables it touches, DML hidden in CTEs, a WHERE
// that is missing or always true, and calls to functions with server-side
// effects. Text that does not parse is reported as unparsable, never guessed.
package sqlcheck
