package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
	"github.com/gatehouse/gatehouse/internal/yamlstrict"
)

// Match is the static part of a rule: every field given must hold; a list
// holds when any of its members does.
type Match struct {
	Kinds        []analysis.Kind
	Targets      []string // globs
	Classes      []string
	Programs     []string // globs on the canonical program name
	Subcommands  []string // "push", "s3 rm": equal, or a prefix followed by a space
	Effects      analysis.EffectSet
	OnlyEffects  *analysis.EffectSet
	NotEffects   analysis.EffectSet
	Scopes       analysis.ScopeSet
	Paths        analysis.PathClassSet
	WritePaths   analysis.PathClassSet
	WritesWithin *analysis.PathClassSet
	Findings     []analysis.FindingKind
	Statements   []string
	Tables       []string // globs
	Where        []string
	Hosts        []string // globs
	RiskAtLeast  *int
	RiskBelow    *int
}

type matchDTO struct {
	Kind         []string `yaml:"kind"`
	Target       []string `yaml:"target"`
	Class        []string `yaml:"class"`
	Program      []string `yaml:"program"`
	Subcommand   []string `yaml:"subcommand"`
	Effects      []string `yaml:"effects"`
	OnlyEffects  []string `yaml:"only_effects"`
	NotEffects   []string `yaml:"not_effects"`
	Scope        []string `yaml:"scope"`
	Paths        []string `yaml:"paths"`
	WritePaths   []string `yaml:"write_paths"`
	WritesWithin []string `yaml:"writes_within"`
	Findings     []string `yaml:"findings"`
	Statement    []string `yaml:"statement"`
	Tables       []string `yaml:"tables"`
	Where        []string `yaml:"where"`
	Hosts        []string `yaml:"hosts"`
	RiskAtLeast  *int     `yaml:"risk_at_least"` // pointer: 0 is a valid bound
	RiskBelow    *int     `yaml:"risk_below"`
}

var knownFindings = func() map[analysis.FindingKind]bool {
	m := map[analysis.FindingKind]bool{}
	for _, k := range []analysis.FindingKind{analysis.FindingUnparsable, analysis.FindingDynamicCommand,
		analysis.FindingDynamicCode, analysis.FindingStdinToShell, analysis.FindingInlineCode, analysis.FindingHeredocShell,
		analysis.FindingInteractive, analysis.FindingScript, analysis.FindingDepthExceeded, analysis.FindingBoundExceeded,
		analysis.FindingExecEnv, analysis.FindingObfuscated, analysis.FindingForkBomb, analysis.FindingUnknownProgram,
		analysis.FindingUnknownSub, analysis.FindingUnknownOption, analysis.FindingUnknownFunc, analysis.FindingDangerousFunc, analysis.FindingNoWhere,
		analysis.FindingTautology, analysis.FindingCTEWrite, analysis.FindingServerFile, analysis.FindingServerProgram,
		analysis.FindingRoleChange, analysis.FindingSystemConfig, analysis.FindingReverseShell, analysis.FindingRemoteExec,
		analysis.FindingSecretFlow, analysis.FindingSecretNetwork, analysis.FindingDataInURL, analysis.FindingPathOverride,
		analysis.FindingRetarget, analysis.FindingMetadata, analysis.FindingLock, analysis.FindingIrreversible,
		analysis.FindingTrusted, analysis.FindingInstall, analysis.FindingLimitExceeded, analysis.FindingDynamicArg,
		analysis.FindingDynamicPath, analysis.FindingCodeConfig, analysis.FindingProxyBypass} {
		m[k] = true
	}
	return m
}()

func effects(names []string, p string) (analysis.EffectSet, error) {
	var s analysis.EffectSet
	for i, n := range names {
		e, err := analysis.ParseEffect(n)
		if err != nil {
			return 0, yamlstrict.Errorf(fmt.Sprintf("%s[%d]", p, i), "%v", err)
		}
		s = s.With(e)
	}
	return s, nil
}

func pathClasses(names []string, p string) (analysis.PathClassSet, error) {
	var s analysis.PathClassSet
	for i, n := range names {
		c, err := analysis.ParsePathClass(n)
		if err != nil {
			return 0, yamlstrict.Errorf(fmt.Sprintf("%s[%d]", p, i), "%v", err)
		}
		s = s.With(c)
	}
	return s, nil
}

func (d *matchDTO) build(p string) (Match, error) {
	var m Match
	var err error
	for i, k := range d.Kind {
		kind, err := analysis.ParseKind(k)
		if err != nil {
			return m, yamlstrict.Errorf(fmt.Sprintf("%s.kind[%d]", p, i), "%v", err)
		}
		m.Kinds = append(m.Kinds, kind)
	}
	for i, c := range d.Class {
		if !IsClass(c) {
			return m, yamlstrict.Errorf(fmt.Sprintf("%s.class[%d]", p, i), "unknown class %q (want one of %s)", c, strings.Join(classNames, ", "))
		}
	}
	m.Targets, m.Classes, m.Programs, m.Subcommands = d.Target, d.Class, d.Program, d.Subcommand
	m.Statements, m.Tables, m.Hosts = d.Statement, d.Tables, d.Hosts
	for i, w := range d.Where {
		switch w {
		case "present", "missing", "always-true":
		default:
			return m, yamlstrict.Errorf(fmt.Sprintf("%s.where[%d]", p, i), "unknown WHERE state %q (want present, missing or always-true)", w)
		}
	}
	m.Where = d.Where
	if m.Effects, err = effects(d.Effects, p+".effects"); err != nil {
		return m, err
	}
	if d.OnlyEffects != nil {
		s, err := effects(d.OnlyEffects, p+".only_effects")
		if err != nil {
			return m, err
		}
		m.OnlyEffects = &s
	}
	if m.NotEffects, err = effects(d.NotEffects, p+".not_effects"); err != nil {
		return m, err
	}
	for i, n := range d.Scope {
		s, err := analysis.ParseScope(n)
		if err != nil {
			return m, yamlstrict.Errorf(fmt.Sprintf("%s.scope[%d]", p, i), "%v", err)
		}
		m.Scopes = m.Scopes.With(s)
	}
	if m.Paths, err = pathClasses(d.Paths, p+".paths"); err != nil {
		return m, err
	}
	if m.WritePaths, err = pathClasses(d.WritePaths, p+".write_paths"); err != nil {
		return m, err
	}
	if d.WritesWithin != nil {
		s, err := pathClasses(d.WritesWithin, p+".writes_within")
		if err != nil {
			return m, err
		}
		m.WritesWithin = &s
	}
	for i, f := range d.Findings {
		if !knownFindings[analysis.FindingKind(f)] {
			return m, yamlstrict.Errorf(fmt.Sprintf("%s.findings[%d]", p, i), "unknown finding %q", f)
		}
		m.Findings = append(m.Findings, analysis.FindingKind(f))
	}
	for _, g := range append(append(append([]string{}, d.Target...), d.Program...), append(d.Tables, d.Hosts...)...) {
		if !validGlob(g) {
			return m, yamlstrict.Errorf(p, "bad glob pattern %q", g)
		}
	}
	m.RiskAtLeast, m.RiskBelow = d.RiskAtLeast, d.RiskBelow
	return m, nil
}

func validGlob(g string) bool {
	_, err := pathMatch(g, "")
	return err == nil
}

// Subject is what a rule is evaluated against: one unit of a request.
type Subject struct {
	Unit   *analysis.Unit
	Kind   analysis.Kind
	Target string
	Class  string
	Risk   int
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if globMatch(p, s) {
			return true
		}
	}
	return false
}

func (m *Match) matches(s *Subject) bool {
	u := s.Unit
	if len(m.Kinds) > 0 && !slices.Contains(m.Kinds, u.Kind) {
		return false
	}
	if len(m.Targets) > 0 && !anyGlob(m.Targets, s.Target) {
		return false
	}
	if len(m.Classes) > 0 && !slices.Contains(m.Classes, s.Class) {
		return false
	}
	if len(m.Programs) > 0 && !anyGlob(m.Programs, u.Program) {
		return false
	}
	if len(m.Subcommands) > 0 && !slices.ContainsFunc(m.Subcommands, func(sc string) bool {
		return u.Subcommand == sc || strings.HasPrefix(u.Subcommand, sc+" ")
	}) {
		return false
	}
	if m.Effects != 0 && !u.Effects.Any(m.Effects) {
		return false
	}
	if m.OnlyEffects != nil && !u.Effects.Within(*m.OnlyEffects) {
		return false
	}
	if m.NotEffects != 0 && u.Effects.Any(m.NotEffects) {
		return false
	}
	if m.Scopes != 0 && !u.Scopes.Any(m.Scopes) {
		return false
	}
	if m.Paths != 0 && !u.PathClasses().Any(m.Paths) {
		return false
	}
	if m.WritePaths != 0 && !u.PathClasses(analysis.AccessWrite, analysis.AccessDelete).Any(m.WritePaths) {
		return false
	}
	if m.WritesWithin != nil && !u.PathClasses(analysis.AccessWrite, analysis.AccessDelete).Within(*m.WritesWithin) {
		return false
	}
	if len(m.Findings) > 0 && !slices.ContainsFunc(m.Findings, u.HasFinding) {
		return false
	}
	if len(m.Statements) > 0 && !slices.Contains(m.Statements, u.Statement) {
		return false
	}
	if len(m.Tables) > 0 && !slices.ContainsFunc(u.Tables, func(t string) bool { return anyGlob(m.Tables, t) }) {
		return false
	}
	if len(m.Where) > 0 && !slices.Contains(m.Where, u.Where) {
		return false
	}
	if len(m.Hosts) > 0 && !slices.ContainsFunc(u.Hosts, func(h string) bool { return anyGlob(m.Hosts, h) }) {
		return false
	}
	if m.RiskAtLeast != nil && s.Risk < *m.RiskAtLeast {
		return false
	}
	if m.RiskBelow != nil && s.Risk >= *m.RiskBelow {
		return false
	}
	return true
}
