package sqlcheck

import (
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

// mentionsColumns reports whether a condition refers to any column. One
// that does not (length('a') = 1, random() < 2, (SELECT true)) is the same
// for every row: it filters nothing.
func mentionsColumns(n *pg.Node) bool {
	found := false
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if found {
			return
		}
		if _, ok := m.Interface().(*pg.ColumnRef); ok {
			found = true
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if fd.Message() == nil || fd.IsMap() {
				return true
			}
			if fd.IsList() {
				l := v.List()
				for i := range l.Len() {
					walk(l.Get(i).Message())
				}
				return !found
			}
			walk(v.Message())
			return !found
		})
	}
	walk(n.ProtoReflect())
	return found
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
			all := alwaysFalse
			for _, a := range b.Args {
				switch truth(a) {
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

// nullOrNotNull reports "x IS NULL OR x IS NOT NULL" among OR branches.
func nullOrNotNull(args []*pg.Node) bool {
	for _, a := range args {
		na := a.GetNullTest()
		if na == nil || na.Nulltesttype != pg.NullTestType_IS_NULL {
			continue
		}
		for _, b := range args {
			nb := b.GetNullTest()
			if nb != nil && nb.Nulltesttype == pg.NullTestType_IS_NOT_NULL && sameExpr(na.Arg, nb.Arg) {
				return true
			}
		}
	}
	return false
}

func sameExpr(a, b *pg.Node) bool {
	if sameColumn(a, b) {
		return true
	}
	return isConst(a) && isConst(b) && constText(a) == constText(b)
}

func exprTruth(e *pg.A_Expr) truthValue {
	op := ""
	if len(e.Name) > 0 {
		op = constText(e.Name[len(e.Name)-1])
	}
	switch e.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		l, r := e.Lexpr, e.Rexpr
		if l == nil || r == nil {
			return unknownTruth
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
		if isConst(e.Lexpr) {
			if l := e.Rexpr.GetList(); l != nil {
				for _, it := range l.Items {
					if isConst(it) && constText(it) == constText(e.Lexpr) {
						if op == "=" {
							return alwaysTrue
						}
						return alwaysFalse
					}
				}
			}
		}
	case pg.A_Expr_Kind_AEXPR_BETWEEN:
		if sameColumn(e.Lexpr, firstOf(e.Rexpr)) && sameColumn(e.Lexpr, secondOf(e.Rexpr)) {
			return alwaysTrue
		}
	}
	return unknownTruth
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

func sameColumn(a, b *pg.Node) bool {
	if a == nil || b == nil {
		return false
	}
	ca, cb := a.GetColumnRef(), b.GetColumnRef()
	if ca == nil || cb == nil {
		return false
	}
	return proto.Equal(stripLocations(ca), stripLocations(cb))
}

// sameTree reports two expressions that are the same but for where they
// are in the text: upper(email) = upper(email).
func sameTree(a, b *pg.Node) bool {
	ca, cb := proto.Clone(a), proto.Clone(b)
	clearLocations(ca.ProtoReflect())
	clearLocations(cb.ProtoReflect())
	return proto.Equal(ca, cb) && mentionsColumns(a) && !volatile(a)
}

func clearLocations(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Name() == "location" && fd.Kind() == protoreflect.Int32Kind:
			m.Clear(fd)
		case fd.Message() != nil && fd.IsList():
			l := v.List()
			for i := range l.Len() {
				clearLocations(l.Get(i).Message())
			}
		case fd.Message() != nil && !fd.IsMap():
			clearLocations(v.Message())
		}
		return true
	})
}

// volatile reports calls such as random() whose two copies may differ.
func volatile(n *pg.Node) bool {
	v := false
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if f, ok := m.Interface().(*pg.FuncCall); ok && len(f.Funcname) > 0 {
			switch strings.ToLower(constText(f.Funcname[len(f.Funcname)-1])) {
			case "random", "nextval", "clock_timestamp", "gen_random_uuid", "timeofday":
				v = true
			}
		}
		m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
			if fd.Message() == nil || fd.IsMap() {
				return true
			}
			if fd.IsList() {
				l := val.List()
				for i := range l.Len() {
					walk(l.Get(i).Message())
				}
				return true
			}
			walk(val.Message())
			return true
		})
	}
	walk(n.ProtoReflect())
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
