// Package engine decides: it analyzes a command (shell or SQL), scores
// every command that would run, evaluates the policy on each and combines
// the results into one explained decision. It executes nothing.
package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/analysis"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/risk"
	"github.com/gatehouse/gatehouse/internal/shellcmd"
	"github.com/gatehouse/gatehouse/internal/sqlcheck"
)

// MaxCommandBytes is the largest command decided; larger input is refused.
const MaxCommandBytes = 1 << 20

// Errors for input that is not a command at all.
var (
	ErrEmpty         = errors.New("empty command")
	ErrTooLarge      = fmt.Errorf("command larger than %d bytes", MaxCommandBytes)
	ErrInvalidUTF8   = errors.New("command is not valid UTF-8")
	ErrNUL           = errors.New("command contains a NUL byte")
	ErrUnknownTarget = errors.New("unknown target")
	ErrKind          = errors.New("unsupported kind")
)

// Target is what the engine needs to know of a target.
type Target struct {
	Name    string
	Kind    string // shell, postgres, http
	Class   string
	Workdir string
}

// Engine decides requests. It is safe for concurrent use.
type Engine struct {
	shell         *shellcmd.Analyzer
	policy        *policy.Policy
	targets       map[string]Target
	defaultTarget string
}

// Option configures an engine.
type Option func(*Engine)

// Protect names the gateway's own files and directories: any command
// touching them, a glob reaching them or a walk of a directory holding
// them has a path of class gateway, which the built-in policy denies.
func Protect(paths ...string) Option {
	return func(e *Engine) { e.shell.Protect(paths...) }
}

// New returns an engine for a policy and the targets it may be asked
// about. defaultTarget is used when a request names none.
func New(p *policy.Policy, targets []Target, defaultTarget string, opts ...Option) (*Engine, error) {
	kb, err := shellcmd.DefaultKnowledge()
	if err != nil {
		return nil, err
	}
	if p.Knowledge != nil {
		ext, err := shellcmd.ParseKnowledgeSection(p.Knowledge, "knowledge")
		if err != nil {
			return nil, fmt.Errorf("policy knowledge: %w", err)
		}
		kb = kb.Merge(ext)
	}
	sh, err := shellcmd.New(kb, shellcmd.Limits{MaxBytes: MaxCommandBytes})
	if err != nil {
		return nil, err
	}
	e := &Engine{shell: sh, policy: p, targets: map[string]Target{}, defaultTarget: defaultTarget}
	for _, o := range opts {
		o(e)
	}
	for _, t := range targets {
		e.targets[t.Name] = t
	}
	if _, ok := e.targets[defaultTarget]; defaultTarget != "" && !ok {
		return nil, fmt.Errorf("%w: default target %q", ErrUnknownTarget, defaultTarget)
	}
	return e, nil
}

// Request is one command to decide.
type Request struct {
	Kind    string // shell, sql or http; empty: from the target's kind
	Command string
	Target  string // empty: the default target
	Class   string // overrides the target's class, for policy examples only: never take it from an agent
	Agent   string
	Impact  *risk.Impact
}

// Command is the decision about one command that would run.
type Command struct {
	analysis.Unit
	Decision  policy.Decision `json:"decision"`
	Rule      string          `json:"rule"`
	RiskScore int             `json:"risk_score"`
}

// Impact is what is known of a request's reach before it runs.
type Impact struct {
	EstimatedRows *int64   `json:"estimated_rows"` // nil: unknown (scored as large when an estimate failed)
	Reversible    *bool    `json:"reversible"`
	Touched       []string `json:"touched,omitempty"`
	// Set by the gateway from the target: files a workspace deletion
	// would remove, whether the estimate was counted rather than planned,
	// and why an estimate could not be made.
	EstimatedFiles *int64 `json:"estimated_files,omitempty"`
	Exact          bool   `json:"exact,omitempty"`
	EstimateNote   string `json:"estimate_note,omitempty"`
}

// Decision is the engine's answer, with everything needed to explain it.
type Decision struct {
	Decision          policy.Decision `json:"decision"`
	RiskScore         int             `json:"risk_score"`
	RiskLevel         risk.Level      `json:"risk_level"`
	Reasons           []risk.Factor   `json:"reasons"`
	Rule              string          `json:"rule"`
	ApprovalsRequired int             `json:"approvals_required"`
	Summary           string          `json:"summary"`
	Kind              string          `json:"kind"`
	Target            string          `json:"target"`
	Class             string          `json:"class"`
	Policy            string          `json:"policy"`
	PolicyHash        string          `json:"policy_hash"`
	Impact            Impact          `json:"impact"`
	Commands          []Command       `json:"commands"`
	Warnings          []string        `json:"warnings,omitempty"`
}

func kindOf(targetKind string) string {
	switch targetKind {
	case "postgres":
		return "sql"
	case "http":
		return "http"
	}
	return "shell"
}

// Decide analyzes and decides a request. Errors are for input that is not
// a command at all (empty, too large, not UTF-8) and for unknown targets or
// kinds; anything that is a command, even one that does not parse, gets a
// decision, and never allow when it is not understood. When ctx is done
// the analysis stops where it is and the decision is at least review.
func (e *Engine) Decide(ctx context.Context, req Request) (*Decision, error) {
	name := req.Target
	if name == "" {
		name = e.defaultTarget
	}
	t, ok := e.targets[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownTarget, name)
	}
	class := t.Class
	if req.Class != "" {
		class = req.Class
	}
	kind := req.Kind
	if kind == "" {
		kind = kindOf(t.Kind)
	}
	switch {
	case strings.TrimSpace(req.Command) == "":
		return nil, ErrEmpty
	case len(req.Command) > MaxCommandBytes:
		return nil, fmt.Errorf("%w: it is %d bytes", ErrTooLarge, len(req.Command))
	case !utf8.ValidString(req.Command):
		return nil, ErrInvalidUTF8
	case strings.IndexByte(req.Command, 0) >= 0:
		return nil, ErrNUL
	}
	var units []analysis.Unit
	var akind analysis.Kind
	switch kind {
	case "shell":
		akind = analysis.KindShell
		var err error
		units, err = e.shell.AnalyzeContext(ctx, req.Command, t.Workdir)
		if errors.Is(err, shellcmd.ErrEmpty) {
			units = nil
		}
	case "sql":
		akind = analysis.KindSQL
		units = analyzeSQL(req.Command)
	default:
		return nil, fmt.Errorf("%w %q: want shell or sql", ErrKind, kind)
	}
	d := &Decision{Kind: kind, Target: name, Class: class, Policy: e.policy.Name, PolicyHash: e.policy.Hash,
		Decision: policy.Allow, Rule: "builtins-only", Reasons: []risk.Factor{}, Commands: make([]Command, 0, len(units))}
	if len(units) == 0 {
		d.RiskLevel = risk.Low
		d.Summary = "0: runs only shell builtins (cd, export, ...)"
		d.Reasons = append(d.Reasons, risk.Factor{Name: "builtins-only", Text: "runs only shell builtins, which change nothing outside the shell"})
		return d, nil
	}
	var preq = &policy.Request{Kind: akind, Target: name, Class: class, Command: req.Command, Agent: req.Agent}
	if req.Impact != nil {
		preq.Impact = &policy.Impact{EstimatedRows: req.Impact.EstimatedRows, Reversible: req.Impact.Reversible,
			Estimated: req.Impact.Estimated}
		d.Impact.EstimatedRows, d.Impact.Reversible = req.Impact.EstimatedRows, req.Impact.Reversible
	}
	var topScore, decisiveScore risk.Score
	decisive, top := -1, -1
	for i := range units {
		u := &units[i]
		sc := risk.ScoreUnit(u, class, req.Impact)
		out := e.policy.Evaluate(preq, &policy.Subject{Unit: u, Kind: akind, Target: name, Class: class, Risk: sc.Score})
		if out.Decision == policy.Allow && (u.Effects.Has(analysis.Opaque) || u.Effects.Has(analysis.Unknown)) {
			out.Decision, out.Rule = policy.Review, "engine-not-understood"
			out.Reason = "the analysis cannot tell what this does, so it is never allowed without a human"
		}
		d.Warnings = append(d.Warnings, out.Errors...)
		d.Commands = append(d.Commands, Command{Unit: *u, Decision: out.Decision, Rule: out.Rule, RiskScore: sc.Score})
		if top < 0 || sc.Score > topScore.Score {
			top, topScore = i, sc
		}
		if decisive < 0 || out.Decision.Stricter(d.Decision) {
			decisive, decisiveScore = i, sc
			d.Decision, d.Rule = out.Decision, out.Rule
			d.Reasons = d.Reasons[:0]
			d.Reasons = append(d.Reasons, risk.Factor{Name: "policy", Text: policyText(out, u)})
		}
		if out.Decision == policy.Review && out.Approvals > d.ApprovalsRequired {
			d.ApprovalsRequired = out.Approvals
		}
		for _, tb := range u.Tables {
			d.Impact.Touched = appendOnce(d.Impact.Touched, tb)
		}
		for _, p := range u.Paths {
			if p.Access == analysis.AccessWrite || p.Access == analysis.AccessDelete {
				d.Impact.Touched = appendOnce(d.Impact.Touched, p.Value)
			}
		}
	}
	if d.Decision != policy.Review {
		d.ApprovalsRequired = 0
	}
	// The score is the riskiest command's; the reasons explain the command
	// that decided, then name the riskiest one if it is another.
	d.RiskScore, d.RiskLevel = topScore.Score, topScore.Level
	d.Reasons = append(d.Reasons, decisiveScore.Factors...)
	if top != decisive {
		what := units[top].Text
		if len(what) > 120 {
			what = strings.ToValidUTF8(what[:117], "") + "..."
		}
		d.Reasons = append(d.Reasons, risk.Factor{Name: "riskiest-command",
			Text: fmt.Sprintf("the riskiest command scores %d: %s", topScore.Score, what)})
	}
	d.Summary = topScore.Summary()
	if d.Impact.Reversible == nil {
		rev := reversible(units)
		d.Impact.Reversible = &rev
	}
	return d, nil
}

// analyzeSQL analyzes SQL text; a panic in the analysis (a bug, or a
// parser surprise) becomes an opaque unit, so that the request is
// reviewed and the caller stays up.
func analyzeSQL(text string) (units []analysis.Unit) {
	defer func() {
		if r := recover(); r != nil {
			if len(text) > 200 {
				text = strings.ToValidUTF8(text[:200], "") + "…"
			}
			u := analysis.Unit{Kind: analysis.KindSQL, Text: text, Effects: analysis.Effects(analysis.Unknown)}
			u.AddFinding(analysis.FindingUnparsable, fmt.Sprintf("internal analysis error: %v", r))
			units = []analysis.Unit{u}
		}
	}()
	return sqlcheck.Analyze(text)
}

func policyText(out policy.Outcome, u *analysis.Unit) string {
	what := u.Text
	if len(what) > 120 {
		what = what[:117] + "..."
	}
	reason := out.Reason
	if reason == "" {
		reason = string(out.Decision)
	}
	return fmt.Sprintf("%s (rule %s): %s", reason, out.Rule, what)
}

func appendOnce(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// reversible is false when any command deletes, overwrites, changes a
// remote system or runs code whose effects are unknown. Writes count as
// reversible only inside the workspace (under version control) and temp.
func reversible(units []analysis.Unit) bool {
	for i := range units {
		u := &units[i]
		if u.Effects.Any(analysis.Effects(analysis.Destructive, analysis.Opaque, analysis.Unknown, analysis.Exfiltration,
			analysis.Publish, analysis.RemoteCode, analysis.RemoteMutation, analysis.Privilege)) || u.HasFinding(analysis.FindingIrreversible) {
			return false
		}
		for _, p := range u.Paths {
			if (p.Access == analysis.AccessWrite || p.Access == analysis.AccessDelete) && p.Class != analysis.Workspace && p.Class != analysis.Temp {
				return false
			}
		}
	}
	return true
}
