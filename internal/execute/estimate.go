package execute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	pg "github.com/pganalyze/pg_query_go/v6"
)

// Statement timeouts of an estimate: planning should take milliseconds, and
// an exact count is worth a short wait only.
const (
	explainTimeout = "5s"
	countTimeout   = "2s"
)

// Estimate is what is known of how many rows a statement would touch, before
// it runs.
type Estimate struct {
	// Rows is the number of rows; nil when it could not be estimated (never
	// 0 for unknown).
	Rows *int64
	// Exact says Rows was counted, not planned.
	Exact bool
	// Error says why there is no estimate.
	Error string
}

// dml is one statement of the SQL that modifies rows.
type dml struct {
	explain string   // the SQL to EXPLAIN: the statement, or what EXPLAIN ANALYZE would run
	stmt    *pg.Node // its parse tree
	version int32    // of the parser, which Deparse insists on
}

// Estimate estimates the rows the DML statements in sql (DELETE, UPDATE,
// INSERT, MERGE, a SELECT with a data-modifying WITH, EXPLAIN ANALYZE of
// one of those) would touch, summed; other statements contribute 0. It
// plans each with EXPLAIN inside a READ ONLY transaction that is always
// rolled back, so nothing of sql executes. If any DML statement cannot be
// explained (a syntax error, a missing table), Rows is nil and Error says
// why.
//
// When the planned total is at most exactBelow and every DML statement is a
// plain DELETE or UPDATE of one table without a WITH clause, a USING or
// FROM list or a subquery, whose WHERE calls only side-effect-free
// built-in functions, Estimate
// counts the rows exactly with the statement's own WHERE, in the same
// transaction with a 2 second timeout; if the count fails it keeps the
// planned estimate.
func (p *Postgres) Estimate(ctx context.Context, sql string, exactBelow int64) Estimate {
	stmts, err := pg.SplitWithParser(sql, true)
	if err != nil {
		return Estimate{Error: "parse: " + err.Error()}
	}
	var todo []dml
	for _, s := range stmts {
		tree, err := pg.Parse(s)
		if err != nil {
			return Estimate{Error: "parse: " + err.Error()}
		}
		for _, raw := range tree.Stmts {
			d, ok, err := modifying(raw.Stmt, s, tree.Version)
			if err != nil {
				return Estimate{Error: err.Error()}
			}
			if ok {
				todo = append(todo, d)
			}
		}
	}
	if len(todo) == 0 {
		return Estimate{Rows: new(int64)}
	}

	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return Estimate{Error: "connect to target database: " + err.Error()}
	}
	defer conn.Release()
	pc := conn.Conn().PgConn()
	if _, err := execOne(ctx, pc, "BEGIN TRANSACTION READ ONLY"); err != nil {
		return Estimate{Error: "begin transaction: " + err.Error()}
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if _, err := execOne(cctx, pc, "ROLLBACK"); err != nil {
			// Never hand a connection in a transaction back to the pool.
			conn.Conn().Close(cctx)
		}
	}()
	return estimate(ctx, pc, todo, exactBelow)
}

// estimate plans, and maybe counts, todo inside the open transaction.
func estimate(ctx context.Context, pc *pgconn.PgConn, todo []dml, exactBelow int64) Estimate {
	if _, err := execOne(ctx, pc, "SET LOCAL statement_timeout = '"+explainTimeout+"'"); err != nil {
		return Estimate{Error: "set statement_timeout: " + err.Error()}
	}
	var planned int64
	for i, d := range todo {
		plan, err := queryValue(ctx, pc, "EXPLAIN (FORMAT JSON) "+d.explain)
		if err != nil {
			return Estimate{Error: fmt.Sprintf("explain DML statement %d: %v", i+1, err)}
		}
		rows, err := plannedRows(plan)
		if err != nil {
			return Estimate{Error: fmt.Sprintf("explain DML statement %d: %v", i+1, err)}
		}
		planned += rows
	}
	est := Estimate{Rows: &planned}
	if planned > exactBelow {
		return est
	}
	var counts []string
	for _, d := range todo {
		q, ok := countQuery(d.stmt, d.version)
		if !ok {
			return est
		}
		counts = append(counts, q)
	}
	if _, err := execOne(ctx, pc, "SET LOCAL statement_timeout = '"+countTimeout+"'"); err != nil {
		return est
	}
	var exact int64
	for _, q := range counts {
		v, err := queryValue(ctx, pc, q)
		if err != nil {
			return est
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return est
		}
		exact += n
	}
	return Estimate{Rows: &exact, Exact: true}
}

// modifying says whether stmt (whose text is text) modifies rows, and
// what to EXPLAIN to see how many.
func modifying(stmt *pg.Node, text string, version int32) (dml, bool, error) {
	d := dml{explain: text, stmt: stmt, version: version}
	switch n := stmt.Node.(type) {
	case *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt, *pg.Node_MergeStmt:
		return d, true, nil
	case *pg.Node_SelectStmt:
		return d, modifyingWith(n.SelectStmt.WithClause), nil
	case *pg.Node_ExplainStmt:
		// EXPLAIN ANALYZE runs the statement it explains.
		if !hasOption(n.ExplainStmt.Options, "analyze") {
			return dml{}, false, nil
		}
		inner := n.ExplainStmt.Query
		text, err := deparse(inner, version)
		if err != nil {
			return dml{}, false, fmt.Errorf("deparse the statement EXPLAIN ANALYZE runs: %w", err)
		}
		return modifying(inner, text, version)
	}
	return dml{}, false, nil
}

// deparse is the SQL text of one statement's parse tree.
func deparse(stmt *pg.Node, version int32) (string, error) {
	return pg.Deparse(&pg.ParseResult{Version: version, Stmts: []*pg.RawStmt{{Stmt: stmt}}})
}

// modifyingWith says whether a WITH clause holds a data-modifying statement.
func modifyingWith(w *pg.WithClause) bool {
	if w == nil {
		return false
	}
	for _, c := range w.Ctes {
		if cte := c.GetCommonTableExpr(); cte != nil {
			switch cte.Ctequery.GetNode().(type) {
			case *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt, *pg.Node_MergeStmt:
				return true
			}
		}
	}
	return false
}

// hasOption says whether an option list (of DefElems) names opt.
func hasOption(opts []*pg.Node, opt string) bool {
	for _, o := range opts {
		if o.GetDefElem().GetDefname() == opt {
			return true
		}
	}
	return false
}

// planNode is the part of EXPLAIN (FORMAT JSON) output that is read.
type planNode struct {
	NodeType     string     `json:"Node Type"`
	Relationship string     `json:"Parent Relationship"`
	PlanRows     float64    `json:"Plan Rows"`
	Plans        []planNode `json:"Plans"`
}

// plannedRows sums, over the ModifyTable nodes of a plan, the rows their
// input is planned to produce: the ModifyTable node itself plans 0 rows
// (it returns none without RETURNING).
func plannedRows(plan string) (int64, error) {
	var out []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(plan), &out); err != nil {
		return 0, fmt.Errorf("read plan: %w", err)
	}
	if len(out) == 0 {
		return 0, errors.New("read plan: empty")
	}
	var walk func(n planNode) float64
	walk = func(n planNode) float64 {
		var rows float64
		for _, c := range n.Plans {
			// The input is the "Outer" child (PostgreSQL 14 on) or the
			// "Member" children (before); InitPlans and SubPlans are not.
			if n.NodeType == "ModifyTable" && (c.Relationship == "Outer" || c.Relationship == "Member") {
				rows += c.PlanRows
			}
			rows += walk(c)
		}
		return rows
	}
	rows := walk(out[0].Plan)
	if rows > math.MaxInt64/2 {
		return math.MaxInt64 / 2, nil
	}
	return int64(math.Round(rows)), nil
}
