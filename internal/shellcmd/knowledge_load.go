package shellcmd

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
	"github.com/gatehouse/gatehouse/internal/yamlstrict"
)

// KnowledgeFile is the YAML form of a knowledge base. Policies embed the
// same structure under their "knowledge" key to teach Gatehouse about their
// own programs.
type KnowledgeFile struct {
	Version  int                    `yaml:"version"`
	Decoders []string               `yaml:"decoders"`
	Aliases  map[string]string      `yaml:"aliases"`
	Programs map[string]*ProgramDTO `yaml:"programs"`
}

// ProgramDTO is the YAML form of a [Program].
type ProgramDTO struct {
	Also              []string               `yaml:"also"` // more names for the same entry
	Handler           string                 `yaml:"handler"`
	Effects           []string               `yaml:"effects"`
	Scope             []string               `yaml:"scope"`
	Findings          []string               `yaml:"findings"`
	Note              string                 `yaml:"note"`
	Operands          string                 `yaml:"operands"`
	LastOperand       string                 `yaml:"last_operand"`
	SkipOperands      int                    `yaml:"skip_operands"`
	ValueOptions      string                 `yaml:"value_options"`
	Options           map[string]*OptionDTO  `yaml:"options"`
	ContextOptions    string                 `yaml:"context_options"`
	ChdirOptions      string                 `yaml:"chdir_options"`
	LongSingleDash    bool                   `yaml:"long_single_dash"`
	StopAtOperand     bool                   `yaml:"stop_at_operand"`
	PlusOptions       bool                   `yaml:"plus_options"`
	Subcommands       map[string]*ProgramDTO `yaml:"subcommands"`
	UnknownSubcommand *[]string              `yaml:"unknown_subcommand"` // pointer: unset means "unknown", [] means no effect
	Bare              *[]string              `yaml:"bare"`               // pointer: unset means "as with operands"
	WithOperands      []string               `yaml:"with_operands"`
	OperandRules      []RuleDTO              `yaml:"operand_rules"`
	OptionRules       []RuleDTO              `yaml:"option_rules"`
	Flags             string                 `yaml:"flags"` // options that take no value and change nothing judged
	Assignments       bool                   `yaml:"assignments"`
	Verbs             []RuleDTO              `yaml:"verbs"`
	VerbDefault       *[]string              `yaml:"verb_default"`
	Wrapper           *WrapperDTO            `yaml:"wrapper"`
	Interpreter       *InterpreterDTO        `yaml:"interpreter"`
	SQL               *SQLClientDTO          `yaml:"sql"`
}

// OptionDTO is the YAML form of an [OptionRule].
type OptionDTO struct {
	Effects  []string  `yaml:"effects"`
	Set      *[]string `yaml:"set_effects"` // pointer: unset differs from "no effects"
	Scope    []string  `yaml:"scope"`
	Value    string    `yaml:"value"`
	Finding  string    `yaml:"finding"`
	Operands string    `yaml:"operands"`
}

// RuleDTO is the YAML form of an [OperandRule].
type RuleDTO struct {
	Match   string   `yaml:"match"`
	Effects []string `yaml:"effects"`
	Scope   []string `yaml:"scope"`
	Finding string   `yaml:"finding"`
}

// WrapperDTO is the YAML form of a [Wrapper].
type WrapperDTO struct {
	SkipOperands   int    `yaml:"skip_operands"`
	Assignments    bool   `yaml:"assignments"`
	Join           bool   `yaml:"join"`
	CommandOptions string `yaml:"command_options"`
	Separator      string `yaml:"separator"`
	Optional       bool   `yaml:"optional"`
	Remote         bool   `yaml:"remote"`
	ClosedOptions  bool   `yaml:"closed_options"`
	BareFinding    string `yaml:"bare_finding"`
}

// InterpreterDTO is the YAML form of an [Interpreter].
type InterpreterDTO struct {
	CodeOptions   string              `yaml:"code_options"`
	ModuleOptions string              `yaml:"module_options"`
	Modules       map[string][]string `yaml:"modules"`
	Remap         map[string]string   `yaml:"remap"`
	Subcommands   string              `yaml:"subcommands"`
}

// SQLClientDTO is the YAML form of a [SQLClient].
type SQLClientDTO struct {
	CommandOptions string `yaml:"command_options"`
	FileOptions    string `yaml:"file_options"`
	HostOptions    string `yaml:"host_options"`
	SQLOperand     int    `yaml:"sql_operand"`
	Meta           string `yaml:"meta"`
	NoSQL          bool   `yaml:"no_sql"`
}

// ParseKnowledge decodes a knowledge base file strictly.
func ParseKnowledge(data []byte) (*Knowledge, error) {
	var f KnowledgeFile
	if err := yamlstrict.Decode(data, &f); err != nil {
		return nil, err
	}
	if f.Version != 1 {
		return nil, yamlstrict.Errorf("version", "unsupported version %d; this Gatehouse reads version: 1", f.Version)
	}
	return f.Build("")
}

// Build converts the decoded file into a knowledge base; path prefixes the
// YAML paths in errors.
func (f *KnowledgeFile) Build(path string) (*Knowledge, error) {
	k := &Knowledge{programs: map[string]*Program{}, aliases: map[string]string{}, decoders: map[string]bool{}}
	for _, d := range f.Decoders {
		k.decoders[d] = true
	}
	owner := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(f.Programs)) {
		names := strings.Fields(key)
		if d := f.Programs[key]; d != nil {
			names = append(names, d.Also...)
		}
		for _, name := range names {
			if prev, dup := owner[name]; dup {
				return nil, yamlstrict.Errorf(joinPath(path, "programs."+key), "%q is also described under programs.%s; describe each program once", name, prev)
			}
			owner[name] = key
			p, err := buildProgram(name, f.Programs[key], nil, joinPath(path, "programs."+key))
			if err != nil {
				return nil, err
			}
			k.programs[name] = p
		}
	}
	for alias, target := range f.Aliases {
		if _, ok := k.programs[target]; !ok {
			return nil, yamlstrict.Errorf(joinPath(path, "aliases."+alias), "alias of %q, which is not a program here", target)
		}
		k.aliases[alias] = target
	}
	return k, nil
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func effectSet(names []string, path string) (analysis.EffectSet, error) {
	var s analysis.EffectSet
	for _, n := range names {
		e, err := analysis.ParseEffect(n)
		if err != nil {
			return 0, yamlstrict.Errorf(path, "%v", err)
		}
		s = s.With(e)
	}
	return s, nil
}

func scopeSet(names []string, path string) (analysis.ScopeSet, error) {
	var s analysis.ScopeSet
	for _, n := range names {
		sc, err := analysis.ParseScope(n)
		if err != nil {
			return 0, yamlstrict.Errorf(path, "%v", err)
		}
		s = s.With(sc)
	}
	return s, nil
}

func nameSet(s string, parent map[string]bool) map[string]bool {
	out := maps.Clone(parent)
	if out == nil {
		out = map[string]bool{}
	}
	for _, f := range strings.Fields(s) {
		out[f] = true
	}
	return out
}

func optionalEffects(names *[]string, path string) (*analysis.EffectSet, error) {
	if names == nil {
		return nil, nil
	}
	s, err := effectSet(*names, path)
	return &s, err
}

func buildProgram(name string, d *ProgramDTO, parent *Program, path string) (*Program, error) {
	if d == nil {
		d = &ProgramDTO{}
	}
	p := &Program{Name: name, Handler: d.Handler, Note: d.Note, SkipOperands: d.SkipOperands,
		LongSingleDash: d.LongSingleDash, StopAtOperand: d.StopAtOperand, PlusOptions: d.PlusOptions}
	if parent != nil {
		p.ValueOptions = maps.Clone(parent.ValueOptions)
		p.ContextOptions = maps.Clone(parent.ContextOptions)
		p.ChdirOptions = maps.Clone(parent.ChdirOptions)
		p.Options = maps.Clone(parent.Options)
		p.LongSingleDash = p.LongSingleDash || parent.LongSingleDash
		if p.Handler == "" {
			p.Handler = parent.Handler
		}
	}
	if p.Handler != "" && handlerFor(p.Handler) == nil {
		return nil, yamlstrict.Errorf(path+".handler", "unknown handler %q", p.Handler)
	}
	var err error
	if p.Effects, err = effectSet(d.Effects, path+".effects"); err != nil {
		return nil, err
	}
	if p.Scopes, err = scopeSet(d.Scope, path+".scope"); err != nil {
		return nil, err
	}
	for _, f := range d.Findings {
		p.Findings = append(p.Findings, analysis.FindingKind(f))
	}
	if p.Operands, err = operandMode(d.Operands, OperandNone, path+".operands"); err != nil {
		return nil, err
	}
	if p.LastOperand, err = operandMode(d.LastOperand, "", path+".last_operand"); err != nil {
		return nil, err
	}
	p.ValueOptions = nameSet(d.ValueOptions, p.ValueOptions)
	p.ContextOptions = nameSet(d.ContextOptions, p.ContextOptions)
	p.ChdirOptions = nameSet(d.ChdirOptions, p.ChdirOptions)
	for o := range p.ChdirOptions {
		p.ValueOptions[o] = true
	}
	if p.Options == nil {
		p.Options = map[string]*OptionRule{}
	}
	optOwner := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(d.Options)) {
		for _, n := range strings.Fields(key) {
			if prev, dup := optOwner[n]; dup {
				return nil, yamlstrict.Errorf(path+".options."+key, "option %s is also described under options.%s", n, prev)
			}
			optOwner[n] = key
		}
	}
	for key, od := range d.Options {
		op := path + ".options." + key
		r := &OptionRule{}
		if od != nil {
			if r.Effects, err = effectSet(od.Effects, op+".effects"); err != nil {
				return nil, err
			}
			if r.Scopes, err = scopeSet(od.Scope, op+".scope"); err != nil {
				return nil, err
			}
			if r.Value, err = operandMode(od.Value, "", op+".value"); err != nil {
				return nil, err
			}
			if r.Operands, err = operandMode(od.Operands, "", op+".operands"); err != nil {
				return nil, err
			}
			if r.Set, err = optionalEffects(od.Set, op+".set_effects"); err != nil {
				return nil, err
			}
			r.Finding = analysis.FindingKind(od.Finding)
		}
		for _, n := range strings.Fields(key) {
			p.Options[n] = r
			if r.Value != "" {
				p.ValueOptions[n] = true
			}
		}
	}
	for _, f := range strings.Fields(d.Flags) {
		if _, ok := p.Options[f]; !ok {
			p.Options[f] = &OptionRule{}
		}
	}
	p.RiskyOptions = false
	for _, r := range p.Options {
		if r.risky() {
			p.RiskyOptions = true
		}
	}
	if p.UnknownSubcommand, err = optionalEffects(d.UnknownSubcommand, path+".unknown_subcommand"); err != nil {
		return nil, err
	}
	if p.Bare, err = optionalEffects(d.Bare, path+".bare"); err != nil {
		return nil, err
	}
	if p.VerbDefault, err = optionalEffects(d.VerbDefault, path+".verb_default"); err != nil {
		return nil, err
	}
	if p.WithOperands, err = effectSet(d.WithOperands, path+".with_operands"); err != nil {
		return nil, err
	}
	if p.OperandRules, err = buildRules(d.OperandRules, path+".operand_rules"); err != nil {
		return nil, err
	}
	if p.OptionRules, err = buildRules(d.OptionRules, path+".option_rules"); err != nil {
		return nil, err
	}
	if parent != nil {
		p.OptionRules = append(slices.Clip(parent.OptionRules), p.OptionRules...)
	}
	p.Assignments = d.Assignments
	if p.Verbs, err = buildRules(d.Verbs, path+".verbs"); err != nil {
		return nil, err
	}
	if w := d.Wrapper; w != nil {
		p.Wrapper = &Wrapper{SkipOperands: w.SkipOperands, Assignments: w.Assignments, Join: w.Join,
			CommandOptions: nameSet(w.CommandOptions, nil), Separator: w.Separator, Optional: w.Optional,
			Remote: w.Remote, ClosedOptions: w.ClosedOptions, BareFinding: analysis.FindingKind(w.BareFinding)}
		p.StopAtOperand = true
		for o := range p.Wrapper.CommandOptions {
			p.ValueOptions[o] = true
		}
	}
	if in := d.Interpreter; in != nil {
		p.Interpreter = &Interpreter{CodeOptions: nameSet(in.CodeOptions, nil), ModuleOptions: nameSet(in.ModuleOptions, nil),
			Modules: map[string]*analysis.EffectSet{}, Remap: in.Remap, Subcommands: nameSet(in.Subcommands, nil)}
		for m, es := range in.Modules {
			s, err := effectSet(es, path+".interpreter.modules."+m)
			if err != nil {
				return nil, err
			}
			p.Interpreter.Modules[m] = &s
		}
		for o := range p.Interpreter.CodeOptions {
			p.ValueOptions[o] = true
		}
		for o := range p.Interpreter.ModuleOptions {
			p.ValueOptions[o] = true
		}
	}
	if s := d.SQL; s != nil {
		p.SQL = &SQLClient{CommandOptions: nameSet(s.CommandOptions, nil), FileOptions: nameSet(s.FileOptions, nil),
			HostOptions: nameSet(s.HostOptions, nil), SQLOperand: s.SQLOperand, NoSQL: s.NoSQL}
		if len(s.Meta) > 1 {
			return nil, yamlstrict.Errorf(path+".sql.meta", "want one character, got %q", s.Meta)
		}
		if s.Meta != "" {
			p.SQL.Meta = s.Meta[0]
		}
		for _, set := range []map[string]bool{p.SQL.CommandOptions, p.SQL.FileOptions, p.SQL.HostOptions} {
			for o := range set {
				p.ValueOptions[o] = true
			}
		}
	}
	if len(d.Subcommands) > 0 {
		p.Subcommands = map[string]*Program{}
		owner := map[string]string{}
		for _, key := range slices.Sorted(maps.Keys(d.Subcommands)) {
			names := strings.Fields(key)
			if sd := d.Subcommands[key]; sd != nil {
				names = append(names, sd.Also...)
			}
			for _, n := range names {
				if prev, dup := owner[n]; dup {
					return nil, yamlstrict.Errorf(path+".subcommands."+key, "%q is also described under subcommands.%s; describe each subcommand once", n, prev)
				}
				owner[n] = key
				sp, err := buildProgram(n, d.Subcommands[key], p, path+".subcommands."+key)
				if err != nil {
					return nil, err
				}
				p.Subcommands[n] = sp
			}
		}
	}
	return p, nil
}

func operandMode(s string, def OperandMode, path string) (OperandMode, error) {
	if s == "" {
		return def, nil
	}
	m, err := parseOperandMode(s)
	if err != nil {
		return "", yamlstrict.Errorf(path, "%v", err)
	}
	return m, nil
}

func buildRules(ds []RuleDTO, path string) ([]*OperandRule, error) {
	var out []*OperandRule
	for i, d := range ds {
		rp := fmt.Sprintf("%s[%d]", path, i)
		re, err := regexp.Compile(d.Match)
		if err != nil {
			return nil, yamlstrict.Errorf(rp+".match", "bad regular expression %q: %v", d.Match, err)
		}
		r := &OperandRule{Match: re, Finding: analysis.FindingKind(d.Finding)}
		if r.Effects, err = effectSet(d.Effects, rp+".effects"); err != nil {
			return nil, err
		}
		if r.Scopes, err = scopeSet(d.Scope, rp+".scope"); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ParseKnowledgeSection decodes the "knowledge" section of a policy, whose
// errors are reported under prefix.
func ParseKnowledgeSection(data []byte, prefix string) (*Knowledge, error) {
	var f KnowledgeFile
	if err := yamlstrict.Decode(data, &f); err != nil {
		return nil, yamlstrict.Prefix(err, prefix)
	}
	if f.Version != 0 && f.Version != 1 {
		return nil, yamlstrict.Errorf(prefix+".version", "unsupported version %d", f.Version)
	}
	k, err := f.Build("")
	if err != nil {
		return nil, yamlstrict.Prefix(err, prefix)
	}
	return k, nil
}
