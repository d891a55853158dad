package sqlcheck

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// tautology reports whether a condition holds for every row (as far as can
// be told without the data): true, 1=1, 'a'='a', x = x, x LIKE '%', or any
// OR with such a branch.
func tautology(n *pg.Node) bool { return truth(n) == alwaysTrue || !mentionsColumns(n) }

// target is the table a statement writes, as its condition may name it.
type target struct{ name, alias string }

func targetOf(rv *pg.RangeVar) *target {
	if rv == nil {
		return nil
	}
	t := &target{name: rv.Relname}
	if rv.Alias != nil {
		t.alias = rv.Alias.Aliasname
	}
	return t
}

// filtersTarget reports whether a write's condition, already known not to
// be a tautology, can tell the target's rows apart: it refers to the
// target's columns outside any subquery (WHERE EXISTS (SELECT ...) or a
// condition on only the FROM tables of UPDATE ... FROM picks all rows or
// none), and it is not "col IN (SELECT col FROM the same table)".
func filtersTarget(n *pg.Node, t *target) bool {
	if t == nil {
		return true
	}
	return refsTarget(n, t) && !selfSubquery(n, t)
}

// refsTarget reports a column of t: named outside subqueries, or named
// with t's name or alias inside one (a correlated EXISTS).
func refsTarget(n *pg.Node, t *target) bool {
	found := false
	var visit func(inSub bool) func(protoreflect.Message) bool
	visit = func(inSub bool) func(protoreflect.Message) bool {
		return func(m protoreflect.Message) bool {
			if found {
				return false
			}
			switch x := m.Interface().(type) {
			case *pg.ColumnRef:
				found = columnOf(x, t, inSub)
				return false
			case *pg.SubLink:
				if x.Testexpr != nil {
					Inspect(x.Testexpr.ProtoReflect(), visit(inSub))
				}
				if x.Subselect != nil {
					Inspect(x.Subselect.ProtoReflect(), visit(true))
				}
				return false
			}
			return true
		}
	}
	Inspect(n.ProtoReflect(), visit(false))
	return found
}

// columnOf reports whether a column reference may name a column of t: an
// unqualified name (outside subqueries), or one qualified by t's name or
// alias.
func columnOf(c *pg.ColumnRef, t *target, inSub bool) bool {
	if len(c.Fields) < 2 {
		return !inSub
	}
	q := constText(c.Fields[len(c.Fields)-2])
	return q == t.name || q == t.alias
}

// selfSubquery reports a condition that is, or has an OR branch that is,
// "col IN (SELECT col FROM t)" without a WHERE or LIMIT of its own: every
// row of t (but NULLs) matches.
func selfSubquery(n *pg.Node, t *target) bool {
	if b := n.GetBoolExpr(); b != nil && b.Boolop == pg.BoolExprType_OR_EXPR {
		for _, a := range b.Args {
			if selfSubquery(a, t) {
				return true
			}
		}
		return false
	}
	sl := n.GetSubLink()
	if sl == nil || sl.SubLinkType != pg.SubLinkType_ANY_SUBLINK {
		return false
	}
	col := unwrap(sl.Testexpr).GetColumnRef()
	sel := sl.Subselect.GetSelectStmt()
	if col == nil || sel == nil || sel.WhereClause != nil && !tautology(sel.WhereClause) || sel.LimitCount != nil || len(sel.TargetList) != 1 ||
		len(sel.FromClause) != 1 || len(sel.GroupClause) > 0 || sel.HavingClause != nil {
		return false
	}
	rv := sel.FromClause[0].GetRangeVar()
	rt := sel.TargetList[0].GetResTarget()
	if rv == nil || rv.Relname != t.name || rt == nil {
		return false
	}
	inner := unwrap(rt.Val).GetColumnRef()
	return inner != nil && lastField(inner) == lastField(col) && lastField(col) != ""
}

func lastField(c *pg.ColumnRef) string {
	if len(c.Fields) == 0 {
		return ""
	}
	return constText(c.Fields[len(c.Fields)-1])
}

// unwrap removes casts and COLLATE, which do not change which row a value
// belongs to: id::text = id is id = id.
func unwrap(n *pg.Node) *pg.Node {
	for n != nil {
		switch x := n.Node.(type) {
		case *pg.Node_TypeCast:
			n = x.TypeCast.Arg
		case *pg.Node_CollateClause:
			n = x.CollateClause.Arg
		default:
			return n
		}
	}
	return n
}

// mentionsColumns reports whether a condition refers to any column. One
// that does not (length('a') = 1, random() < 2, (SELECT true)) is the same
// for every row: it filters nothing.
func mentionsColumns(n *pg.Node) bool {
	found := false
	Inspect(n.ProtoReflect(), func(m protoreflect.Message) bool {
		if _, ok := m.Interface().(*pg.ColumnRef); ok {
			found = true
		}
		return !found
	})
	return found
}

// Inspect walks a parse tree (any pg_query message) depth-first, calling f on
// each; when f returns false the message's children are skipped.
func Inspect(m protoreflect.Message, f func(protoreflect.Message) bool) {
	if !f(m) {
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil || fd.IsMap():
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				Inspect(l.Get(i).Message(), f)
			}
		default:
			Inspect(v.Message(), f)
		}
		return true
	})
}

type truthValue uint8

const (
	unknownTruth truthValue = iota
	alwaysTrue
	alwaysFalse
)

func not(t truthValue) truthValue {
	switch t {
	case alwaysTrue:
		return alwaysFalse
	case alwaysFalse:
		return alwaysTrue
	}
	return unknownTruth
}

func truth(n *pg.Node) truthValue {
	if n == nil {
		return unknownTruth
	}
	switch x := n.Node.(type) {
	case *pg.Node_AConst:
		if b, ok := x.AConst.Val.(*pg.A_Const_Boolval); ok {
			if b.Boolval.Boolval {
				return alwaysTrue
			}
			return alwaysFalse
		}
	case *pg.Node_TypeCast:
		if typeName(x.TypeCast.TypeName) == "bool" {
			switch strings.ToLower(constText(x.TypeCast.Arg)) {
			case "t", "true", "1", "yes", "y", "on":
				return alwaysTrue
			case "f", "false", "0", "no", "n", "off":
				return alwaysFalse
			}
		}
		return truth(x.TypeCast.Arg)
	case *pg.Node_BoolExpr:
		b := x.BoolExpr
		switch b.Boolop {
		case pg.BoolExprType_OR_EXPR:
			if nullOrNotNull(b.Args) {
				return alwaysTrue
			}
			if complementary(b.Args) {
				return alwaysTrue
			}
			all := alwaysFalse
			for _, a := range b.Args {
				t := truth(a)
				if t == unknownTruth && !mentionsColumns(a) {
					// The same for every row ('x' ~ 'x', now() > '2000-01-01'):
					// when it holds, every row matches.
					t = alwaysTrue
				}
				switch t {
				case alwaysTrue:
					return alwaysTrue
				case unknownTruth:
					all = unknownTruth
				}
			}
			return all
		case pg.BoolExprType_AND_EXPR:
			all := alwaysTrue
			for _, a := range b.Args {
				switch truth(a) {
				case alwaysFalse:
					return alwaysFalse
				case unknownTruth:
					all = unknownTruth
				}
			}
			return all
		case pg.BoolExprType_NOT_EXPR:
			if len(b.Args) == 1 {
				return not(truth(b.Args[0]))
			}
		}
	case *pg.Node_BooleanTest:
		t := truth(x.BooleanTest.Arg)
		switch x.BooleanTest.Booltesttype {
		case pg.BoolTestType_IS_TRUE, pg.BoolTestType_IS_NOT_FALSE:
			return t
		case pg.BoolTestType_IS_FALSE, pg.BoolTestType_IS_NOT_TRUE:
			return not(t)
		}
	case *pg.Node_NullTest:
		if isConst(x.NullTest.Arg) {
			isNull := constIsNull(x.NullTest.Arg)
			if (x.NullTest.Nulltesttype == pg.NullTestType_IS_NULL) == isNull {
				return alwaysTrue
			}
			return alwaysFalse
		}
	case *pg.Node_AExpr:
		return exprTruth(x.AExpr)
	case *pg.Node_SubLink:
		// EXISTS (SELECT 1) with no FROM is always true.
		if x.SubLink.SubLinkType == pg.SubLinkType_EXISTS_SUBLINK {
			if s := x.SubLink.Subselect.GetSelectStmt(); s != nil && len(s.FromClause) == 0 && s.WhereClause == nil && len(s.ValuesLists) == 0 {
				return alwaysTrue
			}
		}
	}
	return unknownTruth
}

// nullOrNotNull reports "x IS NULL OR x IS NOT NULL" (or NOT x IS NULL)
// among OR branches.
func nullOrNotNull(args []*pg.Node) bool {
	for _, a := range args {
		na, isNull := nullTest(a)
		if na == nil || !isNull {
			continue
		}
		for _, b := range args {
			if nb, bNull := nullTest(b); nb != nil && !bNull && sameExpr(na.Arg, nb.Arg) {
				return true
			}
		}
	}
	return false
}

// nullTest reads x IS NULL, x IS NOT NULL and their negations.
func nullTest(n *pg.Node) (nt *pg.NullTest, isNull bool) {
	neg := false
	for {
		b := n.GetBoolExpr()
		if b == nil || b.Boolop != pg.BoolExprType_NOT_EXPR || len(b.Args) != 1 {
			break
		}
		neg, n = !neg, b.Args[0]
	}
	nt = n.GetNullTest()
	if nt == nil {
		return nil, false
	}
	return nt, (nt.Nulltesttype == pg.NullTestType_IS_NULL) != neg
}

func sameExpr(a, b *pg.Node) bool {
	if sameColumn(a, b) || sameTree(unwrap(a), unwrap(b)) {
		return true
	}
	return isConst(a) && isConst(b) && constText(a) == constText(b)
}

// negated are comparison operators and their complements.
var negated = map[string]string{"=": "<>", "<>": "=", "!=": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}

// complementary reports "a = b OR a <> b" (or < and >=, ...) among OR
// branches: every row whose values are not NULL matches.
func complementary(args []*pg.Node) bool {
	var ops []*pg.A_Expr
	for _, a := range args {
		if e := a.GetAExpr(); e != nil && e.Kind == pg.A_Expr_Kind_AEXPR_OP && len(e.Name) > 0 && e.Lexpr != nil && e.Rexpr != nil {
			ops = append(ops, e)
		}
	}
	for i, x := range ops {
		nx := negated[constText(x.Name[len(x.Name)-1])]
		for _, y := range ops[i+1:] {
			oy := constText(y.Name[len(y.Name)-1])
			if oy == "!=" {
				oy = "<>"
			}
			if nx == "" {
				continue
			}
			if nx == oy && sameExpr(x.Lexpr, y.Lexpr) && sameExpr(x.Rexpr, y.Rexpr) {
				return true
			}
			// 0 < id OR id <= 0: the same comparison with the sides swapped.
			if flipped[nx] == oy && sameExpr(x.Lexpr, y.Rexpr) && sameExpr(x.Rexpr, y.Lexpr) {
				return true
			}
		}
	}
	// x LIKE p OR x NOT LIKE p
	for i, a := range args {
		x := a.GetAExpr()
		if x == nil || (x.Kind != pg.A_Expr_Kind_AEXPR_LIKE && x.Kind != pg.A_Expr_Kind_AEXPR_ILIKE) || len(x.Name) == 0 {
			continue
		}
		for _, b := range args[i+1:] {
			y := b.GetAExpr()
			if y == nil || y.Kind != x.Kind || len(y.Name) == 0 {
				continue
			}
			ox, oy := constText(x.Name[len(x.Name)-1]), constText(y.Name[len(y.Name)-1])
			if ox != oy && strings.TrimPrefix(ox, "!") == strings.TrimPrefix(oy, "!") && sameExpr(x.Lexpr, y.Lexpr) && sameExpr(x.Rexpr, y.Rexpr) {
				return true
			}
		}
	}
	return false
}

// flipped is each comparison with its sides swapped: a < b is b > a.
var flipped = map[string]string{"=": "=", "<>": "<>", "<": ">", ">": "<", "<=": ">=", ">=": "<="}

func exprTruth(e *pg.A_Expr) truthValue {
	op := ""
	if len(e.Name) > 0 {
		op = constText(e.Name[len(e.Name)-1])
	}
	switch e.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		l, r := unwrap(e.Lexpr), unwrap(e.Rexpr)
		if l == nil || r == nil {
			return unknownTruth
		}
		// (id = id) = true: a comparison with a boolean constant.
		if b, ok := boolConst(r); ok && (op == "=" || op == "<>" || op == "!=") {
			t := truth(l)
			if b != (op == "=") {
				t = not(t)
			}
			return t
		}
		if (op == "~" || op == "~*") && isConst(r) {
			switch constText(r) {
			case "", ".*", "^", "$", "^.*$", ".*$", "^.*":
				return alwaysTrue // matches every non-null value
			}
		}
		if sameColumn(l, r) || sameTree(l, r) {
			switch op {
			case "=", "<=", ">=":
				return alwaysTrue
			case "<>", "!=", "<", ">":
				return alwaysFalse
			}
			return unknownTruth
		}
		if cl, cr := columnSet(l), columnSet(r); len(cl) > 0 && slices.Equal(cl, cr) && !volatile(l) && !volatile(r) {
			// id = id * 1, id <> id + 1, id = +id: a column compared with a
			// function of itself alone is the same test on every row, as
			// far as telling rows apart goes.
			return alwaysTrue
		}
		if isConst(l) && isConst(r) && !constIsNull(l) && !constIsNull(r) {
			return compareConsts(constText(l), constText(r), op, isNumber(l) && isNumber(r))
		}
	case pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE:
		if isConst(e.Rexpr) && strings.Trim(constText(e.Rexpr), "%") == "" && constText(e.Rexpr) != "" {
			if op == "~~" || op == "~~*" {
				return alwaysTrue
			}
		}
	case pg.A_Expr_Kind_AEXPR_IN:
		if l := e.Rexpr.GetList(); l != nil {
			for _, it := range l.Items {
				if isConst(e.Lexpr) && isConst(it) && constText(it) == constText(e.Lexpr) ||
					!isConst(e.Lexpr) && sameExpr(unwrap(e.Lexpr), unwrap(it)) {
					// 1 IN (1, 2), id IN (id)
					if op == "=" {
						return alwaysTrue
					}
					return alwaysFalse
				}
			}
		}
	case pg.A_Expr_Kind_AEXPR_OP_ANY:
		// id = ANY(ARRAY[id, 5])
		if arr := unwrap(e.Rexpr).GetAArrayExpr(); arr != nil && (op == "=" || op == "<=" || op == ">=") {
			for _, it := range arr.Elements {
				if sameExpr(unwrap(e.Lexpr), unwrap(it)) && !isConst(e.Lexpr) {
					return alwaysTrue
				}
			}
		}
	case pg.A_Expr_Kind_AEXPR_NOT_DISTINCT, pg.A_Expr_Kind_AEXPR_DISTINCT:
		// x IS NOT DISTINCT FROM x holds even for NULL.
		l, r := unwrap(e.Lexpr), unwrap(e.Rexpr)
		if sameColumn(l, r) || sameTree(l, r) || isConst(l) && isConst(r) && constText(l) == constText(r) {
			if e.Kind == pg.A_Expr_Kind_AEXPR_NOT_DISTINCT {
				return alwaysTrue
			}
			return alwaysFalse
		}
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_BETWEEN_SYM:
		if sameColumn(e.Lexpr, firstOf(e.Rexpr)) && sameColumn(e.Lexpr, secondOf(e.Rexpr)) {
			return alwaysTrue
		}
	case pg.A_Expr_Kind_AEXPR_OP_ALL:
		// id = ALL(ARRAY[id])
		if arr := unwrap(e.Rexpr).GetAArrayExpr(); arr != nil && (op == "=" || op == "<=" || op == ">=") && len(arr.Elements) > 0 {
			all := true
			for _, it := range arr.Elements {
				if !sameExpr(unwrap(e.Lexpr), unwrap(it)) || isConst(e.Lexpr) {
					all = false
				}
			}
			if all {
				return alwaysTrue
			}
		}
	}
	return unknownTruth
}

// boolConst reads a boolean constant: true, false, 't'::bool.
func boolConst(n *pg.Node) (bool, bool) {
	if n == nil {
		return false, false
	}
	if c := n.GetAConst(); c != nil {
		if b, ok := c.Val.(*pg.A_Const_Boolval); ok {
			return b.Boolval.Boolval, true
		}
	}
	return false, false
}

// columnSet returns the sorted names of the columns an expression uses,
// or nil if it uses a subquery (whose columns may be another table's).
func columnSet(n *pg.Node) []string {
	var cols []string
	sub := false
	Inspect(n.ProtoReflect(), func(m protoreflect.Message) bool {
		switch x := m.Interface().(type) {
		case *pg.ColumnRef:
			parts := make([]string, 0, len(x.Fields))
			for _, f := range x.Fields {
				parts = append(parts, constText(f))
			}
			if name := strings.Join(parts, "."); name != "" && !slices.Contains(cols, name) {
				cols = append(cols, name)
			}
			return false
		case *pg.SubLink:
			sub = true
			return false
		}
		return !sub
	})
	if sub {
		return nil
	}
	slices.Sort(cols)
	return cols
}

func firstOf(n *pg.Node) *pg.Node {
	if l := n.GetList(); l != nil && len(l.Items) == 2 {
		return l.Items[0]
	}
	return nil
}

func secondOf(n *pg.Node) *pg.Node {
	if l := n.GetList(); l != nil && len(l.Items) == 2 {
		return l.Items[1]
	}
	return nil
}

// isNumber reports a numeric literal; '10' is text and compares as text.
func isNumber(n *pg.Node) bool {
	c := n.GetAConst()
	if c == nil {
		return false
	}
	switch c.Val.(type) {
	case *pg.A_Const_Ival, *pg.A_Const_Fval:
		return true
	}
	return false
}

func compareConsts(a, b, op string, numeric bool) truthValue {
	cmp := 0
	af, aerr := strconv.ParseFloat(a, 64)
	bf, berr := strconv.ParseFloat(b, 64)
	switch {
	case numeric && aerr == nil && berr == nil:
		switch {
		case af < bf:
			cmp = -1
		case af > bf:
			cmp = 1
		}
	default:
		cmp = strings.Compare(a, b)
	}
	var r bool
	switch op {
	case "=":
		r = cmp == 0
	case "<>", "!=":
		r = cmp != 0
	case "<":
		r = cmp < 0
	case "<=":
		r = cmp <= 0
	case ">":
		r = cmp > 0
	case ">=":
		r = cmp >= 0
	default:
		return unknownTruth
	}
	if r {
		return alwaysTrue
	}
	return alwaysFalse
}

func isConst(n *pg.Node) bool {
	if n == nil {
		return false
	}
	if n.GetAConst() != nil {
		return true
	}
	if tc := n.GetTypeCast(); tc != nil {
		return isConst(tc.Arg)
	}
	return false
}

func constIsNull(n *pg.Node) bool {
	if c := n.GetAConst(); c != nil {
		return c.Isnull
	}
	if tc := n.GetTypeCast(); tc != nil {
		return constIsNull(tc.Arg)
	}
	return false
}

// sameColumn reports two references to the same column; users.id and id
// count as the same (an unqualified name could be another table's column
// in UPDATE ... FROM, which errs towards review).
func sameColumn(a, b *pg.Node) bool {
	if a == nil || b == nil {
		return false
	}
	ca, cb := unwrap(a).GetColumnRef(), unwrap(b).GetColumnRef()
	if ca == nil || cb == nil {
		return false
	}
	if proto.Equal(stripLocations(ca), stripLocations(cb)) {
		return true
	}
	return (len(ca.Fields) == 1 || len(cb.Fields) == 1) && lastField(ca) != "" && lastField(ca) == lastField(cb)
}

// sameTree reports two expressions that are the same but for where they
// are in the text: upper(email) = upper(email).
func sameTree(a, b *pg.Node) bool {
	if a == nil || b == nil || reflect.TypeOf(a.Node) != reflect.TypeOf(b.Node) || isConst(a) {
		return false // cheap answers first: cloning trees is not
	}
	ca, cb := proto.Clone(a), proto.Clone(b)
	clearLocations(ca.ProtoReflect())
	clearLocations(cb.ProtoReflect())
	return proto.Equal(ca, cb) && mentionsColumns(a) && !volatile(a)
}

func clearLocations(m protoreflect.Message) {
	Inspect(m, func(m protoreflect.Message) bool {
		if fd := m.Descriptor().Fields().ByName("location"); fd != nil && fd.Kind() == protoreflect.Int32Kind {
			m.Clear(fd)
		}
		return true
	})
}

// volatile reports calls such as random() whose two copies may differ.
func volatile(n *pg.Node) bool {
	v := false
	Inspect(n.ProtoReflect(), func(m protoreflect.Message) bool {
		if f, ok := m.Interface().(*pg.FuncCall); ok && len(f.Funcname) > 0 {
			switch strings.ToLower(constText(f.Funcname[len(f.Funcname)-1])) {
			case "random", "nextval", "clock_timestamp", "gen_random_uuid", "timeofday":
				v = true
			}
		}
		return !v
	})
	return v
}

func stripLocations(c *pg.ColumnRef) *pg.ColumnRef {
	out := &pg.ColumnRef{Fields: c.Fields}
	return out
}

func typeName(t *pg.TypeName) string {
	if t == nil || len(t.Names) == 0 {
		return ""
	}
	return strings.ToLower(constText(t.Names[len(t.Names)-1]))
}
