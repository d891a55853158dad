package policy

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/internal/analysis"
	"github.com/gatehouse/gatehouse/internal/yamlstrict"
)

//go:embed default.yaml
var defaultPolicy []byte

// DefaultSource returns the text of the built-in default policy.
func DefaultSource() []byte { return slices.Clone(defaultPolicy) }

// Decision is what the policy says to do with a command.
type Decision string

// The decisions, from least to most strict.
const (
	Allow  Decision = "allow"
	Review Decision = "review"
	Deny   Decision = "deny"
)

func (d Decision) rank() int {
	switch d {
	case Allow:
		return 0
	case Review:
		return 1
	}
	return 2
}

// Stricter reports whether d is stricter than o.
func (d Decision) Stricter(o Decision) bool { return d.rank() > o.rank() }

func parseDecision(s string) (Decision, error) {
	switch d := Decision(s); d {
	case Allow, Review, Deny:
		return d, nil
	}
	return "", fmt.Errorf("unknown decision %q (want allow, review or deny)", s)
}

// classNames are the target classes of SPEC §1, least to most guarded.
var classNames = []string{"read-only", "non-critical", "customer-data", "production", "financial"}

// ClassNames returns the target classes of SPEC §1.
func ClassNames() []string { return slices.Clone(classNames) }

// IsClass reports whether name is a target class.
func IsClass(name string) bool { return slices.Contains(classNames, name) }

// Class is the policy's settings for one target class.
type Class struct {
	Approvals int      // distinct reviewers a review needs, at least
	Default   Decision // for commands no rule matches; "" means the policy's default
}

// Policy is a loaded, validated policy.
type Policy struct {
	Name        string
	Description string
	Hash        string // sha256 of the source text
	Default     Decision
	Classes     map[string]Class
	Rules       []*Rule
	Examples    []Example
	Knowledge   []byte // the policy's knowledge-base extension, as YAML; nil if none
}

// Rule is one policy rule.
type Rule struct {
	ID          string
	Description string
	Reason      string
	Decision    Decision
	Approvals   int
	Match       Match
	Condition   string
	program     cel.Program
}

// Example is a command with the decision the policy must give it.
type Example struct {
	Command string
	Kind    string // shell or sql; empty: from the target
	Target  string
	Class   string
	Expect  Decision
	Path    string // YAML path, for messages
}

type fileDTO struct {
	Version     int                  `yaml:"version"`
	Name        string               `yaml:"name"`
	Description string               `yaml:"description"`
	Default     string               `yaml:"default"`
	Classes     map[string]*classDTO `yaml:"classes"`
	Rules       []*ruleDTO           `yaml:"rules"`
	Examples    []*exampleDTO        `yaml:"examples"`
	Knowledge   yaml.Node            `yaml:"knowledge"`
}

type classDTO struct {
	Approvals *int   `yaml:"approvals"` // pointer: 0 is an error, not "unset"
	Default   string `yaml:"default"`
}

type ruleDTO struct {
	ID          string    `yaml:"id"`
	Description string    `yaml:"description"`
	Reason      string    `yaml:"reason"`
	Decision    string    `yaml:"decision"`
	Approvals   int       `yaml:"approvals"`
	Match       *matchDTO `yaml:"match"`
	Condition   string    `yaml:"condition"`
}

type exampleDTO struct {
	Command string `yaml:"command"`
	Kind    string `yaml:"kind"`
	Target  string `yaml:"target"`
	Class   string `yaml:"class"`
	Expect  string `yaml:"expect"`
}

// Parse decodes and validates a policy. Every error names the YAML path.
func Parse(src []byte) (*Policy, error) {
	var f fileDTO
	if err := yamlstrict.Decode(src, &f); err != nil {
		return nil, err
	}
	if f.Version != 1 {
		return nil, yamlstrict.Errorf("version", "unsupported version %d; this Gatehouse reads version: 1", f.Version)
	}
	sum := sha256.Sum256(src)
	p := &Policy{Name: f.Name, Description: f.Description, Hash: "sha256:" + hex.EncodeToString(sum[:]),
		Default: Review, Classes: map[string]Class{}}
	if f.Default != "" {
		d, err := parseDecision(f.Default)
		if err != nil {
			return nil, yamlstrict.Errorf("default", "%v", err)
		}
		if d == Allow {
			return nil, yamlstrict.Errorf("default", "the default cannot be allow: a command no rule understands must never run unreviewed; use review or deny")
		}
		p.Default = d
	}
	for _, c := range classNames {
		p.Classes[c] = Class{Approvals: 1}
	}
	p.Classes["financial"] = Class{Approvals: 2}
	for name, c := range f.Classes {
		if !IsClass(name) {
			return nil, yamlstrict.Errorf("classes."+name, "unknown class %q (want one of %s)", name, strings.Join(classNames, ", "))
		}
		if c == nil {
			continue
		}
		cl := p.Classes[name]
		if c.Approvals != nil {
			if *c.Approvals < 1 || *c.Approvals > 10 {
				return nil, yamlstrict.Errorf("classes."+name+".approvals", "want 1 to 10 distinct reviewers, got %d", *c.Approvals)
			}
			cl.Approvals = *c.Approvals
		}
		if c.Default != "" {
			d, err := parseDecision(c.Default)
			if err != nil {
				return nil, yamlstrict.Errorf("classes."+name+".default", "%v", err)
			}
			if d == Allow {
				return nil, yamlstrict.Errorf("classes."+name+".default", "a class default cannot be allow: a command no rule understands must never run unreviewed; use review or deny")
			}
			cl.Default = d
		}
		p.Classes[name] = cl
	}
	env, err := celEnv()
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for i, rd := range f.Rules {
		rp := fmt.Sprintf("rules[%d]", i)
		if rd == nil {
			return nil, yamlstrict.Errorf(rp, "empty rule")
		}
		r, err := buildRule(env, rd, rp)
		if err != nil {
			return nil, err
		}
		if ids[r.ID] {
			return nil, yamlstrict.Errorf(rp+".id", "duplicate rule id %q", r.ID)
		}
		ids[r.ID] = true
		p.Rules = append(p.Rules, r)
	}
	for i, ed := range f.Examples {
		ep := fmt.Sprintf("examples[%d]", i)
		if ed == nil || ed.Command == "" {
			return nil, yamlstrict.Errorf(ep+".command", "an example needs a command")
		}
		ex := Example{Command: ed.Command, Target: ed.Target, Class: ed.Class, Path: ep}
		if ed.Kind != "" {
			if _, err := analysis.ParseKind(ed.Kind); err != nil {
				return nil, yamlstrict.Errorf(ep+".kind", "%v", err)
			}
			ex.Kind = ed.Kind
		}
		if ed.Class != "" && !IsClass(ed.Class) {
			return nil, yamlstrict.Errorf(ep+".class", "unknown class %q (want one of %s)", ed.Class, strings.Join(classNames, ", "))
		}
		d, err := parseDecision(ed.Expect)
		if err != nil {
			return nil, yamlstrict.Errorf(ep+".expect", "%v", err)
		}
		ex.Expect = d
		p.Examples = append(p.Examples, ex)
	}
	if !f.Knowledge.IsZero() {
		b, err := yaml.Marshal(&f.Knowledge)
		if err != nil {
			return nil, yamlstrict.Errorf("knowledge", "%v", err)
		}
		p.Knowledge = b
	}
	return p, nil
}

// Default returns the built-in default policy.
func Default() (*Policy, error) {
	p, err := Parse(defaultPolicy)
	if err != nil {
		return nil, fmt.Errorf("built-in default policy: %w", err)
	}
	return p, nil
}

var idPattern = func(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func buildRule(env *cel.Env, d *ruleDTO, rp string) (*Rule, error) {
	if !idPattern(d.ID) {
		return nil, yamlstrict.Errorf(rp+".id", "want an id of lowercase letters, digits, '-', '_' or '.', got %q", d.ID)
	}
	dec, err := parseDecision(d.Decision)
	if err != nil {
		return nil, yamlstrict.Errorf(rp+".decision", "%v", err)
	}
	r := &Rule{ID: d.ID, Description: d.Description, Reason: d.Reason, Decision: dec, Approvals: d.Approvals, Condition: d.Condition}
	if r.Approvals < 0 || r.Approvals > 10 {
		return nil, yamlstrict.Errorf(rp+".approvals", "want 1 to 10 distinct reviewers, got %d", r.Approvals)
	}
	if r.Approvals > 0 && dec != Review {
		return nil, yamlstrict.Errorf(rp+".approvals", "approvals only apply to decision: review")
	}
	if d.Match == nil && d.Condition == "" {
		return nil, yamlstrict.Errorf(rp, "a rule needs a match, a condition or both; a rule matching everything is the policy's default")
	}
	if d.Match != nil {
		m, err := d.Match.build(rp + ".match")
		if err != nil {
			return nil, err
		}
		if reflect.ValueOf(m).IsZero() && d.Condition == "" {
			return nil, yamlstrict.Errorf(rp+".match", "an empty match matches every command; name what the rule is about, or use the policy's default")
		}
		r.Match = m
	}
	if d.Condition != "" {
		prg, err := compileCondition(env, d.Condition)
		if err != nil {
			return nil, yamlstrict.Errorf(rp+".condition", "%v", err)
		}
		r.program = prg
	}
	return r, nil
}

func globMatch(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}
