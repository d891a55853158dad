package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/analysis"
	"github.com/gatehouse/gatehouse/internal/policy"
)

func TestDefaultPolicyParses(t *testing.T) {
	p, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	if p.Default != policy.Review {
		t.Errorf("default decision = %s, want review", p.Default)
	}
	if got := p.Classes["financial"].Approvals; got != 2 {
		t.Errorf("financial approvals = %d, want 2", got)
	}
	if len(p.Examples) < 40 {
		t.Errorf("the default policy documents itself with %d examples; want at least 40", len(p.Examples))
	}
	if !strings.HasPrefix(p.Hash, "sha256:") || len(p.Hash) != len("sha256:")+64 {
		t.Errorf("hash = %q", p.Hash)
	}
}

// TestInvalidPolicies loads every fixture in testdata/invalid; the first
// line of each says which error it must produce.
func TestInvalidPolicies(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(src), "\n")
			want := strings.TrimPrefix(first, "# want: ")
			p, err := policy.Parse(src)
			if err == nil && p.Knowledge != nil {
				err = checkKnowledge(p)
			}
			if err == nil {
				t.Fatalf("parsed; want error containing %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q\ndoes not contain %q", err, want)
			}
		})
	}
}

func unit(effects ...analysis.Effect) *analysis.Unit {
	return &analysis.Unit{Kind: analysis.KindShell, Program: "x", Effects: analysis.Effects(effects...)}
}

func mustParse(t *testing.T, src string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedence(t *testing.T) {
	p := mustParse(t, `
version: 1
rules:
  - {id: allow-all-reads, match: {effects: [read]}, decision: allow}
  - {id: review-writes, match: {effects: [local-write]}, decision: review, approvals: 3}
  - {id: deny-destroy, match: {effects: [destructive]}, decision: deny}
`)
	tests := []struct {
		name string
		u    *analysis.Unit
		want policy.Decision
		rule string
	}{
		{"allow alone", unit(analysis.Read), policy.Allow, "allow-all-reads"},
		{"review beats allow", unit(analysis.Read, analysis.LocalWrite), policy.Review, "review-writes"},
		{"deny beats review and allow", unit(analysis.Read, analysis.LocalWrite, analysis.Destructive), policy.Deny, "deny-destroy"},
		{"no match is the default", unit(analysis.Network), policy.Review, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := p.Evaluate(&policy.Request{}, &policy.Subject{Unit: tt.u, Class: "non-critical"})
			if out.Decision != tt.want || out.Rule != tt.rule {
				t.Fatalf("got %s by %s, want %s by %s", out.Decision, out.Rule, tt.want, tt.rule)
			}
		})
	}
	out := p.Evaluate(&policy.Request{}, &policy.Subject{Unit: unit(analysis.LocalWrite), Class: "non-critical"})
	if out.Approvals != 3 {
		t.Errorf("approvals = %d, want the rule's 3", out.Approvals)
	}
	out = p.Evaluate(&policy.Request{}, &policy.Subject{Unit: unit(analysis.Network), Class: "financial"})
	if out.Approvals != 2 {
		t.Errorf("approvals = %d, want the financial class's 2", out.Approvals)
	}
}

// TestApprovalsNeverBelowClass: a rule can ask for more reviewers than its
// class, never fewer (SPEC §1: financial needs two).
func TestApprovalsNeverBelowClass(t *testing.T) {
	p := mustParse(t, `
version: 1
rules:
  - {id: one, match: {effects: [local-write]}, decision: review, approvals: 1}
  - {id: three, match: {effects: [destructive]}, decision: review, approvals: 3}
`)
	tests := []struct {
		name  string
		u     *analysis.Unit
		class string
		want  int
	}{
		{"rule below class", unit(analysis.LocalWrite), "financial", 2},
		{"rule above class", unit(analysis.Destructive), "financial", 3},
		{"most demanding matching rule", unit(analysis.LocalWrite, analysis.Destructive), "non-critical", 3},
	}
	for _, tt := range tests {
		out := p.Evaluate(&policy.Request{}, &policy.Subject{Unit: tt.u, Class: tt.class})
		if out.Decision != policy.Review || out.Approvals != tt.want {
			t.Errorf("%s: got %s with %d approvals, want review with %d", tt.name, out.Decision, out.Approvals, tt.want)
		}
	}
}

// TestClassDefault: a command no rule matches gets its class's default,
// else the policy's.
func TestClassDefault(t *testing.T) {
	p := mustParse(t, `
version: 1
default: review
classes:
  production: {default: deny}
rules:
  - {id: reads, match: {only_effects: [read]}, decision: allow}
`)
	for class, want := range map[string]policy.Decision{"production": policy.Deny, "non-critical": policy.Review} {
		out := p.Evaluate(&policy.Request{}, &policy.Subject{Unit: unit(analysis.Network, analysis.LocalWrite), Class: class})
		if out.Decision != want || out.Rule != "default" {
			t.Errorf("%s: got %s by %s, want %s by default", class, out.Decision, out.Rule, want)
		}
	}
	out := p.Evaluate(&policy.Request{}, &policy.Subject{Unit: unit(analysis.Read), Class: "production"})
	if out.Decision != policy.Allow {
		t.Errorf("a matching rule still decides: got %s", out.Decision)
	}
}

// TestBrokenConditionFailsClosed: a condition that errors at run time can
// make a decision stricter, never looser.
func TestBrokenConditionFailsClosed(t *testing.T) {
	p := mustParse(t, `
version: 1
default: deny
rules:
  - {id: allow-if, match: {effects: [read]}, condition: 'unit["nonexistent"] == 1', decision: allow}
  - {id: review-if, match: {effects: [local-write]}, condition: 'unit["nonexistent"] == 1', decision: review}
`)
	out := p.Evaluate(&policy.Request{}, &policy.Subject{Unit: unit(analysis.Read), Class: "non-critical"})
	if out.Decision != policy.Deny || len(out.Errors) == 0 {
		t.Errorf("broken allow condition: got %s (errors %v), want the default deny and an error", out.Decision, out.Errors)
	}
	p2 := mustParse(t, `
version: 1
rules:
  - {id: allow-writes, match: {effects: [local-write]}, decision: allow}
  - {id: deny-if, match: {effects: [local-write]}, condition: 'unit["nonexistent"] == 1', decision: deny}
`)
	out = p2.Evaluate(&policy.Request{}, &policy.Subject{Unit: unit(analysis.LocalWrite), Class: "non-critical"})
	if out.Decision != policy.Deny {
		t.Errorf("broken deny condition: got %s, want deny", out.Decision)
	}
}

func TestConditions(t *testing.T) {
	p := mustParse(t, `
version: 1
rules:
  - id: big-delete
    match: {kind: [sql]}
    condition: 'impact.estimated_rows > 1000 && "users" in unit.tables'
    decision: deny
  - {id: sql, match: {kind: [sql]}, decision: allow}
`)
	rows := func(n int64) *policy.Impact { return &policy.Impact{EstimatedRows: &n} }
	u := &analysis.Unit{Kind: analysis.KindSQL, Effects: analysis.Effects(analysis.Destructive), Tables: []string{"users"}}
	other := &analysis.Unit{Kind: analysis.KindSQL, Effects: analysis.Effects(analysis.Destructive), Tables: []string{"logs"}}
	tests := []struct {
		name   string
		u      *analysis.Unit
		impact *policy.Impact
		want   policy.Decision
	}{
		{"few rows", u, rows(10), policy.Allow},
		{"many rows", u, rows(5000), policy.Deny},
		{"unknown rows count as many", u, nil, policy.Deny},
		{"other table", other, rows(5000), policy.Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := p.Evaluate(&policy.Request{Kind: analysis.KindSQL, Impact: tt.impact}, &policy.Subject{Unit: tt.u, Class: "non-critical"})
			if out.Decision != tt.want {
				t.Fatalf("got %s by %s (errors %v), want %s", out.Decision, out.Rule, out.Errors, tt.want)
			}
		})
	}
}

// TestREADMEPolicy keeps the README's example policy true: it loads and
// its examples pass their own checks at parse time.
func TestREADMEPolicy(t *testing.T) {
	src, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(src), "```yaml\nversion: 1\n")
	if !ok {
		t.Fatal("README has no example policy (a ```yaml block starting with version: 1)")
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("the README's example policy block is not closed")
	}
	p, err := policy.Parse([]byte("version: 1\n" + block))
	if err != nil {
		t.Fatalf("the README's example policy does not load: %v", err)
	}
	if len(p.Rules) == 0 || len(p.Examples) == 0 || p.Knowledge == nil {
		t.Errorf("the README's example lost its rules, examples or knowledge: %d rules, %d examples", len(p.Rules), len(p.Examples))
	}
	if err := checkKnowledge(p); err != nil {
		t.Errorf("the README's example knowledge does not load: %v", err)
	}
}
