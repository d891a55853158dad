package execute

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gatehouse/gatehouse/internal/sqlcheck"
)

// pureFuncs are built-in functions without side effects that WHERE clauses
// commonly use. An exact count evaluates the statement's WHERE before the
// statement is approved, so it is done only when every function called is
// one of these: anything else (dblink_exec, pg_terminate_backend,
// pg_advisory_lock, a user's function) must not run before approval, even
// in a read-only transaction.
var pureFuncs = map[string]bool{
	// time
	"now": true, "clock_timestamp": true, "statement_timestamp": true, "transaction_timestamp": true,
	"timezone": true, "date_trunc": true, "date_part": true, "extract": true, "age": true,
	"make_date": true, "make_time": true, "make_timestamp": true, "make_timestamptz": true, "make_interval": true,
	"to_char": true, "to_date": true, "to_timestamp": true, "to_number": true, "isfinite": true,
	// text
	"lower": true, "upper": true, "initcap": true, "length": true, "char_length": true,
	"character_length": true, "octet_length": true, "substr": true, "substring": true,
	"left": true, "right": true, "strpos": true, "position": true, "btrim": true, "ltrim": true,
	"rtrim": true, "replace": true, "concat": true, "concat_ws": true, "split_part": true,
	"starts_with": true, "md5": true, "regexp_like": true, "regexp_replace": true, "like_escape": true,
	"overlay": true, "reverse": true, "lpad": true, "rpad": true, "translate": true,
	// numbers
	"abs": true, "round": true, "floor": true, "ceil": true, "ceiling": true, "trunc": true,
	"mod": true, "sign": true, "div": true, "power": true, "sqrt": true,
	// arrays, json
	"array_length": true, "cardinality": true, "array_position": true, "array_lower": true, "array_upper": true,
	"jsonb_extract_path": true, "jsonb_extract_path_text": true, "json_extract_path": true,
	"json_extract_path_text": true, "jsonb_typeof": true, "json_typeof": true,
	"jsonb_array_length": true, "json_array_length": true,
	// aggregates, for subqueries
	"count": true, "sum": true, "min": true, "max": true, "avg": true, "bool_and": true, "bool_or": true,
}

// countQuery builds a query counting exactly the rows stmt would modify, if
// stmt is a DELETE or UPDATE whose count is safe to evaluate before
// approval: no WITH clause, no USING/FROM list or subquery (nothing but
// the target table read), and only [pureFuncs] called.
//
//	DELETE FROM rel [alias] WHERE cond
//	  -> SELECT pg_catalog.count(*) FROM rel [alias] WHERE cond
func countQuery(stmt *pg.Node, version int32) (string, bool) {
	var (
		rel   *pg.RangeVar
		from  []*pg.Node
		where *pg.Node
	)
	switch n := stmt.Node.(type) {
	case *pg.Node_DeleteStmt:
		if n.DeleteStmt.WithClause != nil {
			return "", false
		}
		rel, from, where = n.DeleteStmt.Relation, n.DeleteStmt.UsingClause, n.DeleteStmt.WhereClause
	case *pg.Node_UpdateStmt:
		if n.UpdateStmt.WithClause != nil {
			return "", false
		}
		rel, from, where = n.UpdateStmt.Relation, n.UpdateStmt.FromClause, n.UpdateStmt.WhereClause
	default:
		return "", false
	}
	// The count's answer reaches the agent before any review, so it must
	// not read anything but the target table: no USING/FROM list and no
	// subquery, or "DELETE … WHERE (SELECT … FROM pg_authid …) = …" would
	// answer questions about tables the agent may not read.
	if rel == nil || len(from) > 0 || !onlyPureFuncs(where) || readsOtherRelations(where) {
		return "", false
	}

	count := &pg.Node{Node: &pg.Node_FuncCall{FuncCall: &pg.FuncCall{
		Funcname:   []*pg.Node{pg.MakeStrNode("pg_catalog"), pg.MakeStrNode("count")},
		AggStar:    true,
		Funcformat: pg.CoercionForm_COERCE_EXPLICIT_CALL,
		Location:   -1,
	}}}
	sel := &pg.SelectStmt{
		TargetList:  []*pg.Node{pg.MakeResTargetNodeWithVal(count, -1)},
		FromClause:  []*pg.Node{{Node: &pg.Node_RangeVar{RangeVar: rel}}},
		WhereClause: where,
	}
	q, err := deparse(&pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: sel}}, version)
	if err != nil {
		return "", false
	}
	return q, true
}

// onlyPureFuncs says whether every function n calls, at any depth, is one of
// [pureFuncs], unqualified or in pg_catalog.
func onlyPureFuncs(n *pg.Node) bool {
	ok := true
	if n != nil {
		sqlcheck.Inspect(n.ProtoReflect(), func(m protoreflect.Message) bool {
			if f, isFunc := m.Interface().(*pg.FuncCall); isFunc && !pureFunc(f.Funcname) {
				ok = false
			}
			return ok
		})
	}
	return ok
}

// pureFunc says whether a function name is one of [pureFuncs].
func pureFunc(name []*pg.Node) bool {
	switch len(name) {
	case 1:
		return pureFuncs[name[0].GetString_().GetSval()]
	case 2:
		return name[0].GetString_().GetSval() == "pg_catalog" && pureFuncs[name[1].GetString_().GetSval()]
	}
	return false
}

// readsOtherRelations says whether n refers to any relation: a subquery,
// a table, a function in FROM.
func readsOtherRelations(n *pg.Node) bool {
	found := false
	if n != nil {
		sqlcheck.Inspect(n.ProtoReflect(), func(m protoreflect.Message) bool {
			switch m.Interface().(type) {
			case *pg.SubLink, *pg.RangeVar, *pg.RangeSubselect, *pg.RangeFunction, *pg.SelectStmt:
				found = true
			}
			return !found
		})
	}
	return found
}
