package sqlcheck

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// Class is the broad class of a statement.
type Class string

// The statement classes.
const (
	ClassRead           Class = "read"
	ClassWrite          Class = "write"
	ClassDDL            Class = "ddl"
	ClassDestructiveDDL Class = "destructive-ddl"
	ClassPrivilege      Class = "privilege"
	ClassAdmin          Class = "admin"
	ClassFile           Class = "server-file-or-program"
	ClassOpaque         Class = "opaque"
	ClassTransaction    Class = "transaction"
	ClassUnknown        Class = "unknown"
)

// MaxBytes is the largest SQL text analyzed.
const MaxBytes = 1 << 20

// MaxStatements is the most statements judged in one string.
const MaxStatements = 10000

// ErrTooLarge is returned for SQL text over [MaxBytes].
var ErrTooLarge = errors.New("sql text too large")

// Statement is what one statement would do.
type Statement struct {
	Text   string
	Type   string // select, insert, update, delete, merge, drop, create_function, ...
	Class  Class
	Tables []string // every table or view named, schema-qualified as written
	Where  string   // present, missing or always-true for UPDATE, DELETE and MERGE
	Funcs  []string
	unit   analysis.Unit
}

// Unit returns the statement as an analysis unit.
func (s *Statement) Unit() analysis.Unit { return s.unit }

// Analyze parses sql and describes each statement. A parse error is
// reported as a single opaque unit, never as an empty result.
func Analyze(sql string) []analysis.Unit {
	stmts, err := Parse(sql)
	if err != nil {
		u := analysis.Unit{Kind: analysis.KindSQL, Text: truncate(sql, 200), Effects: analysis.Effects(analysis.Unknown)}
		kind := analysis.FindingUnparsable
		if errors.Is(err, ErrTooLarge) {
			kind = analysis.FindingBoundExceeded
		}
		u.AddFinding(kind, err.Error())
		return []analysis.Unit{u}
	}
	out := make([]analysis.Unit, 0, len(stmts))
	for _, s := range stmts {
		out = append(out, s.unit)
	}
	return out
}

// Parse parses sql and describes each statement.
func Parse(sql string) ([]*Statement, error) {
	if len(sql) > MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes; the limit is %d", ErrTooLarge, len(sql), MaxBytes)
	}
	if !utf8.ValidString(sql) {
		return nil, errors.New("sql text is not valid UTF-8")
	}
	if strings.IndexByte(sql, 0) >= 0 {
		return nil, errors.New("sql text contains a NUL byte")
	}
	tree, err := pg.Parse(sql)
	if err != nil {
		return nil, fmt.Errorf("parse sql: %w", err)
	}
	if len(tree.Stmts) == 0 {
		return nil, errors.New("no SQL statement")
	}
	if len(tree.Stmts) > MaxStatements {
		return nil, fmt.Errorf("%w: %d statements; the limit is %d", ErrTooLarge, len(tree.Stmts), MaxStatements)
	}
	out := make([]*Statement, 0, len(tree.Stmts))
	for _, raw := range tree.Stmts {
		text := stmtText(sql, raw)
		out = append(out, analyzeStmt(raw.Stmt, text))
	}
	return out, nil
}

// stmtText cuts one statement's text out of the input. Locations are byte
// offsets.
func stmtText(sql string, raw *pg.RawStmt) string {
	start := int(raw.StmtLocation)
	end := len(sql)
	if raw.StmtLen > 0 {
		end = start + int(raw.StmtLen)
	}
	if start < 0 || start > len(sql) || end > len(sql) || start > end {
		return strings.TrimSpace(sql)
	}
	return strings.TrimSpace(sql[start:end])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
