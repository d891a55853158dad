// Package risk scores what a command would do, deterministically and
// explainably: a score from 0 to 100 that is the sum of named factors, each
// with its points and a sentence a reviewer understands at a glance.
package risk

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// Level is the band a score falls in.
type Level string

// The levels of SPEC §2: low < 30 ≤ medium < 60 ≤ high < 80 ≤ critical.
const (
	Low      Level = "low"
	Medium   Level = "medium"
	High     Level = "high"
	Critical Level = "critical"
)

// LevelOf returns the level of a score.
func LevelOf(score int) Level {
	switch {
	case score < 30:
		return Low
	case score < 60:
		return Medium
	case score < 80:
		return High
	}
	return Critical
}

// Factor is one named reason with its points.
type Factor struct {
	Name   string `json:"factor"`
	Points int    `json:"points"`
	Text   string `json:"text"`
}

// Score is a unit's score with the factors that make it up. Score is the
// sum of the factors' points, capped at 100.
type Score struct {
	Score   int      `json:"risk_score"`
	Level   Level    `json:"risk_level"`
	Factors []Factor `json:"reasons"`
}

// Impact is what is known, before running, of how much a command touches.
type Impact struct {
	EstimatedRows *int64 // nil: unknown
	Reversible    *bool  // nil: unknown
	Estimated     bool   // an estimate was attempted (so a nil EstimatedRows is a failure)
}

// Summary renders the score as "87: bulk deletion; customer data; irreversible".
func (s Score) Summary() string {
	var parts []string
	for _, f := range s.Factors {
		if f.Points > 0 && len(parts) < 4 {
			parts = append(parts, f.Text)
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing risky found")
	}
	return fmt.Sprintf("%d: %s", s.Score, strings.Join(parts, "; "))
}

// effectPoints is the weight of the gravest effect of a unit.
var effectPoints = map[analysis.Effect]struct {
	points int
	text   string
}{
	analysis.Read:           {0, "reads"},
	analysis.Network:        {5, "talks to the network"},
	analysis.LocalWrite:     {10, "writes files"},
	analysis.WorkspaceExec:  {15, "runs code from the workspace"},
	analysis.ProcessControl: {30, "stops or signals processes"},
	analysis.RemoteMutation: {35, "changes a remote system"},
	analysis.Unknown:        {35, "does something the analysis does not know"},
	analysis.Publish:        {40, "publishes outside the organisation"},
	analysis.Destructive:    {45, "deletes or overwrites data"},
	analysis.Privilege:      {45, "changes or uses privileges"},
	analysis.Opaque:         {45, "runs code the analysis cannot see"},
	analysis.SecretRead:     {50, "reads secrets or credentials"},
	analysis.RemoteCode:     {55, "runs code fetched from elsewhere"},
	analysis.Exfiltration:   {65, "may send local data out"},
}

// secondary effects add points when they come on top of the gravest one.
var secondary = []analysis.Effect{
	analysis.Destructive, analysis.Privilege, analysis.SecretRead, analysis.Exfiltration, analysis.RemoteCode,
	analysis.Opaque, analysis.Publish,
}

var scopePoints = map[analysis.Scope]Factor{
	analysis.Recursive:     {"recursive", 10, "recursive"},
	analysis.Bulk:          {"bulk", 15, "bulk: affects everything that matches, without a limit"},
	analysis.Force:         {"force", 5, "forced: skips the usual safety checks"},
	analysis.AllNamespaces: {"all-namespaces", 10, "across all namespaces"},
	analysis.Production:    {"production", 20, "in a production context"},
	analysis.Remote:        {"remote-host", 5, "on another host or container"},
}

var pathPoints = map[analysis.PathClass]Factor{
	analysis.Root:        {"path-root", 35, "touches the root filesystem"},
	analysis.Device:      {"path-device", 35, "writes to a disk device"},
	analysis.System:      {"path-system", 20, "writes system files"},
	analysis.Secret:      {"path-secret", 20, "writes credential files"},
	analysis.Home:        {"path-home", 10, "writes outside the workspace, in a home directory"},
	analysis.Outside:     {"path-outside", 5, "writes outside the workspace"},
	analysis.UnknownPath: {"path-unknown", 10, "writes where only run-time data says"},
	analysis.GatewayPath: {"path-gateway", 50, "writes the gateway's own files"},
}

var classPoints = map[string]Factor{
	"read-only":     {"target-read-only", 15, "a change on a read-only target"},
	"customer-data": {"target-customer-data", 10, "customer data"},
	"production":    {"target-production", 20, "a production system"},
	"financial":     {"target-financial", 25, "a financial system"},
}

var findingPoints = map[analysis.FindingKind]Factor{
	analysis.FindingReverseShell:  {"reverse-shell", 30, "a shell wired to a network socket"},
	analysis.FindingForkBomb:      {"fork-bomb", 50, "a fork bomb"},
	analysis.FindingObfuscated:    {"obfuscated", 20, "runs decoded or obfuscated code"},
	analysis.FindingSecretFlow:    {"secret-flow", 20, "secret data flows to the network"},
	analysis.FindingSecretNetwork: {"secret-and-network", 10, "reads a secret and uses the network"},
	analysis.FindingMetadata:      {"cloud-metadata", 15, "asks for cloud or cluster credentials"},
	analysis.FindingDynamicPath:   {"dynamic-path", 10, "a path only known at run time"},
	analysis.FindingNoWhere:       {"no-where", 10, "without a WHERE clause"},
	analysis.FindingTautology:     {"always-true-where", 10, "with a WHERE that matches every row"},
	analysis.FindingCTEWrite:      {"hidden-write", 10, "a write hidden inside a query"},
	analysis.FindingServerProgram: {"server-program", 30, "runs a program on the database server"},
	analysis.FindingServerFile:    {"server-file", 15, "touches files on the database server"},
	analysis.FindingRoleChange:    {"role-change", 15, "changes roles or privileges"},
	analysis.FindingSystemConfig:  {"system-config", 15, "changes server configuration"},
	analysis.FindingLock:          {"lock", 5, "takes heavy locks"},
	analysis.FindingRemoteExec:    {"remote-exec", 10, "runs commands on another machine"},
	analysis.FindingCodeConfig:    {"code-config", 10, "configures a program to run other code"},
	analysis.FindingPathOverride:  {"path-override", 10, "changes which programs names resolve to"},
	analysis.FindingInstall:       {"installs", 10, "installs third-party packages"},
}

// ScoreUnit scores one unit on a target of the given class. impact may be
// nil when nothing is known.
func ScoreUnit(u *analysis.Unit, class string, impact *Impact) Score {
	var fs []Factor
	add := func(f Factor) {
		for _, g := range fs {
			if g.Name == f.Name {
				return
			}
		}
		fs = append(fs, f)
	}

	// The gravest effect sets the base.
	top, topPts := analysis.Read, -1
	for _, e := range u.Effects.List() {
		if p := effectPoints[e]; p.points > topPts {
			top, topPts = e, p.points
		}
	}
	if topPts > 0 {
		add(Factor{"effect-" + top.String(), topPts, effectPoints[top].text})
	}
	for _, e := range secondary {
		if e != top && u.Effects.Has(e) {
			add(Factor{"also-" + e.String(), 10, "also " + effectPoints[e].text})
		}
	}
	mutates := u.Effects.Any(analysis.Effects(analysis.LocalWrite, analysis.Destructive, analysis.RemoteMutation,
		analysis.Privilege, analysis.RemoteCode, analysis.Publish, analysis.ProcessControl, analysis.WorkspaceExec,
		analysis.Exfiltration, analysis.Opaque, analysis.Unknown))

	for _, s := range []analysis.Scope{analysis.Bulk, analysis.Recursive, analysis.Production, analysis.AllNamespaces,
		analysis.Force, analysis.Remote} {
		if !u.Scopes.Has(s) {
			continue
		}
		if !mutates && s != analysis.Production {
			continue // reading recursively is not a risk
		}
		add(scopePoints[s])
	}
	if u.Effects.Has(analysis.Destructive) && (u.HasFinding(analysis.FindingIrreversible) || !onlyTemp(u)) {
		add(Factor{"irreversible", 10, "irreversible"})
	}

	// The gateway's own files: reading them is as bad as writing.
	for _, p := range u.Paths {
		if p.Class == analysis.GatewayPath && p.Access != analysis.AccessWrite && p.Access != analysis.AccessDelete {
			add(Factor{"gateway-files", 50, "reads the gateway's own files (" + p.Value + ")"})
			break
		}
	}

	// The most sensitive place written or deleted.
	worst, worstPts := Factor{}, 0
	for _, p := range u.Paths {
		if p.Access != analysis.AccessWrite && p.Access != analysis.AccessDelete {
			continue
		}
		if f, ok := pathPoints[p.Class]; ok && f.Points > worstPts {
			worst, worstPts = f, f.Points
			worst.Text += " (" + p.Value + ")"
		}
	}
	if worstPts > 0 {
		add(worst)
	}
	if mutates {
		if f, ok := classPoints[class]; ok {
			add(f)
		}
	}
	for _, fd := range u.Findings {
		if f, ok := findingPoints[fd.Kind]; ok {
			add(f)
		}
	}
	if impact != nil && u.Kind == analysis.KindSQL && u.Effects.Any(analysis.Effects(analysis.RemoteMutation, analysis.Destructive)) {
		switch {
		case impact.EstimatedRows == nil && impact.Estimated:
			add(Factor{"rows-unknown", 20, "the number of rows affected could not be estimated"})
		case impact.EstimatedRows != nil && *impact.EstimatedRows > 100000:
			add(Factor{"rows-huge", 25, fmt.Sprintf("about %d rows", *impact.EstimatedRows)})
		case impact.EstimatedRows != nil && *impact.EstimatedRows > 1000:
			add(Factor{"rows-many", 15, fmt.Sprintf("about %d rows", *impact.EstimatedRows)})
		}
	}

	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Points > fs[j].Points })
	total := 0
	for _, f := range fs {
		total += f.Points
	}
	total = min(total, 100)
	if fs == nil {
		fs = []Factor{}
	}
	return Score{Score: total, Level: LevelOf(total), Factors: fs}
}

func onlyTemp(u *analysis.Unit) bool {
	any := false
	for _, p := range u.Paths {
		if p.Access == analysis.AccessDelete || p.Access == analysis.AccessWrite {
			any = true
			if p.Class != analysis.Temp {
				return false
			}
		}
	}
	return any
}
