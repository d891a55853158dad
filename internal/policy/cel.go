package policy

import (
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// UnknownRows is what impact.estimated_rows holds in a condition when the
// estimate could not be made: unknown is scored as large, never as 0.
const UnknownRows = math.MaxInt32

func pathMatch(pattern, s string) (bool, error) { return path.Match(pattern, s) }

func celEnv() (*cel.Env, error) {
	env, err := cel.NewEnv(
		cel.Variable("request", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("unit", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("impact", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("risk", cel.MapType(cel.StringType, cel.DynType)),
	)
	if err != nil {
		return nil, fmt.Errorf("build CEL environment: %w", err)
	}
	return env, nil
}

// conditionFields are the fields of each variable a condition can use; the
// variables are maps, so CEL itself would not catch unit.programm.
var conditionFields = map[string][]string{
	"request": {"kind", "target", "class", "command", "agent"},
	"unit": {"kind", "text", "program", "subcommand", "argv", "via", "effects", "scope", "paths", "hosts", "findings",
		"statement", "tables", "where", "functions"},
	"impact": {"estimated", "estimated_rows", "rows_known", "reversible"},
	"risk":   {"score"},
}

func compileCondition(env *cel.Env, expr string) (cel.Program, error) {
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("bad CEL condition: %w", iss.Err())
	}
	nav := celast.NavigateAST(ast.NativeRep())
	for _, e := range celast.MatchDescendants(nav, celast.KindMatcher(celast.SelectKind)) {
		sel := e.AsSelect()
		if sel.Operand().Kind() != celast.IdentKind {
			continue
		}
		v := sel.Operand().AsIdent()
		if fields, ok := conditionFields[v]; ok && !slices.Contains(fields, sel.FieldName()) {
			return nil, fmt.Errorf("bad CEL condition: %s has no field %q (it has %s)", v, sel.FieldName(), strings.Join(fields, ", "))
		}
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, fmt.Errorf("the condition must be true or false, but it is of type %v", ast.OutputType())
	}
	prg, err := env.Program(ast, cel.CostLimit(100000))
	if err != nil {
		return nil, fmt.Errorf("bad CEL condition: %w", err)
	}
	return prg, nil
}

// Request is the request-level input of conditions.
type Request struct {
	Kind    analysis.Kind
	Target  string
	Class   string
	Command string
	Agent   string
	Impact  *Impact
}

// Impact is the impact known before running.
type Impact struct {
	EstimatedRows *int64
	Reversible    *bool
	Estimated     bool // an estimate was attempted: a nil EstimatedRows means it failed
}

// activation gives a condition its variables, each built only when the
// condition reads it (cel-go calls a func value lazily).
func activation(req *Request, s *Subject) map[string]any {
	u := s.Unit
	return map[string]any{
		"request": func() any {
			return map[string]any{"kind": req.Kind.String(), "target": req.Target, "class": req.Class,
				"command": req.Command, "agent": req.Agent}
		},
		"unit": func() any {
			paths := make([]map[string]any, len(u.Paths))
			for i, p := range u.Paths {
				paths[i] = map[string]any{"path": p.Value, "class": p.Class.String(), "access": p.Access.String()}
			}
			findings := make([]string, len(u.Findings))
			for i, f := range u.Findings {
				findings[i] = string(f.Kind)
			}
			return map[string]any{"kind": u.Kind.String(), "text": u.Text, "program": u.Program, "subcommand": u.Subcommand,
				"argv": nonNil(u.Argv), "via": nonNil(u.Via), "effects": u.Effects.Strings(), "scope": u.Scopes.Strings(),
				"paths": paths, "hosts": nonNil(u.Hosts), "findings": findings, "statement": u.Statement,
				"tables": nonNil(u.Tables), "where": u.Where, "functions": nonNil(u.Functions)}
		},
		"impact": func() any {
			impact := map[string]any{"estimated_rows": int64(UnknownRows), "rows_known": false, "reversible": false, "estimated": false}
			if req.Impact != nil {
				impact["estimated"] = req.Impact.Estimated || req.Impact.EstimatedRows != nil
				if req.Impact.EstimatedRows != nil {
					impact["estimated_rows"] = *req.Impact.EstimatedRows
					impact["rows_known"] = true
				}
				if req.Impact.Reversible != nil {
					impact["reversible"] = *req.Impact.Reversible
				}
			}
			return impact
		},
		"risk": func() any { return map[string]any{"score": int64(s.Risk)} },
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ErrCondition marks a condition that could not be evaluated.
var ErrCondition = errors.New("condition could not be evaluated")

func (r *Rule) evalCondition(req *Request, s *Subject) (bool, error) {
	out, _, err := r.program.Eval(activation(req, s))
	if err != nil {
		return false, fmt.Errorf("%w: rule %s: %w", ErrCondition, r.ID, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("%w: rule %s: the condition gave %v, not true or false", ErrCondition, r.ID, out.Value())
	}
	return b, nil
}
