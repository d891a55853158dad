package shellcmd

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// redirInfo is what a statement's redirections do.
type redirInfo struct {
	stdin  *stdinInfo
	paths  []analysis.Path
	hosts  []string
	text   []string
	device bool
	trunc  bool     // a ">" that empties its file
	config []string // writes to files that make tools run code later
}

func (rd *redirInfo) any() bool { return len(rd.paths) > 0 || len(rd.hosts) > 0 }

func isFD(s string) bool {
	if s == "-" {
		return true
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// redirects expands a statement's redirections once and says what they do.
func (w *walker) redirects(sc *scope, s *syntax.Stmt) *redirInfo {
	rd := &redirInfo{}
	for _, r := range s.Redirs {
		switch r.Op {
		case syntax.Hdoc, syntax.DashHdoc:
			text, known := "", false
			if r.Hdoc != nil {
				d, _ := w.wordInfo(sc, r.Hdoc)
				text, known = w.hdocText(sc, r), !d
			}
			rd.stdin = &stdinInfo{kind: stdinHeredoc, text: text, known: known, desc: "a heredoc"}
			continue
		case syntax.WordHdoc:
			a := w.literal(sc, r.Word)
			rd.stdin = &stdinInfo{kind: stdinHeredoc, text: a.s + "\n", known: !a.dynamic, desc: "a here-string",
				effects: a.src, decoded: a.decoded}
			continue
		}
		target := w.literal(sc, r.Word)
		var access analysis.Access
		switch r.Op {
		case syntax.RdrIn:
			access = analysis.AccessRead
		case syntax.DplIn, syntax.DplOut:
			if isFD(target.s) {
				if h, ok := w.netFDs[target.s]; ok {
					// <&5 or >&5 where 5 was opened on /dev/tcp.
					rd.hosts = append(rd.hosts, h)
					if r.Op == syntax.DplIn {
						rd.stdin = &stdinInfo{kind: stdinPipe, effects: analysis.Effects(analysis.Network), desc: "a network socket"}
					}
				}
				continue
			}
			access = analysis.AccessWrite
			if r.Op == syntax.DplIn {
				access = analysis.AccessRead
			}
		case syntax.RdrInOut:
			access = analysis.AccessWrite
		default:
			access = analysis.AccessWrite
		}
		rd.text = append(rd.text, r.Op.String()+" "+target.display())
		if h, ok := networkPath(target.s); ok && !target.dynamic {
			rd.hosts = append(rd.hosts, h)
			if r.N != nil {
				w.netFDs[r.N.Value] = h
			}
			if r.Op == syntax.RdrIn || r.Op == syntax.RdrInOut || r.Op == syntax.DplIn {
				rd.stdin = &stdinInfo{kind: stdinPipe, effects: analysis.Effects(analysis.Network), desc: "a network socket"}
			}
			continue
		}
		if !target.dynamic && pseudoPath(target.s) {
			continue
		}
		shown, class := w.classifyPath(sc, target)
		rd.paths = append(rd.paths, analysis.Path{Value: shown, Class: class, Access: access})
		if class == analysis.Device && access == analysis.AccessWrite {
			rd.device = true
		}
		if access == analysis.AccessWrite {
			if p, ok := resolvePath(sc, target); ok {
				w.written[p] = true
				if codeConfigPath(p) {
					rd.config = append(rd.config, shown)
				}
			}
			if r.Op == syntax.RdrOut || r.Op == syntax.RdrClob || r.Op == syntax.RdrAll {
				rd.trunc = true
			}
		}
		if r.Op == syntax.RdrIn {
			in := &stdinInfo{kind: stdinFile, desc: "the file " + shown}
			if class == analysis.Secret {
				in.effects = analysis.Effects(analysis.SecretRead)
			}
			rd.stdin = in
		}
	}
	return rd
}

// hdocText returns a heredoc's body: verbatim for a quoted delimiter,
// expanded otherwise.
func (w *walker) hdocText(sc *scope, r *syntax.Redirect) string {
	if r.Hdoc == nil {
		return ""
	}
	quoted := false
	if r.Word != nil {
		for _, p := range r.Word.Parts {
			switch p := p.(type) {
			case *syntax.SglQuoted, *syntax.DblQuoted:
				quoted = true
			case *syntax.Lit:
				if strings.Contains(p.Value, "\\") {
					quoted = true
				}
			}
		}
	}
	if quoted {
		var sb strings.Builder
		for _, p := range r.Hdoc.Parts {
			if l, ok := p.(*syntax.Lit); ok {
				sb.WriteString(l.Value)
			}
		}
		return sb.String()
	}
	return w.document(sc, r.Hdoc).s
}

// attachRedirs records what a statement's redirections do: on the
// statement's own unit for a simple command, else on a unit of their own.
// start is the index of the first unit the statement produced.
func (w *walker) attachRedirs(sc *scope, rd *redirInfo, start int, simple bool) {
	if !rd.any() {
		return
	}
	var data analysis.EffectSet // what the statement's commands did, i.e. what its output may carry
	shell := false
	for i := start; i < len(w.units); i++ {
		data |= w.units[i].Effects
		if p, ok := w.kb.Lookup(w.units[i].Program); ok && (p.Handler == "shell" || p.Handler == "interpreter") {
			shell = true
		}
	}
	if sc.stdin != nil {
		data |= sc.stdin.effects
	}
	var u *analysis.Unit
	fresh := false
	if simple {
		for i := len(w.units) - 1; i >= start; i-- {
			if len(w.units[i].Via) == len(sc.via) && w.units[i].Kind == analysis.KindShell {
				u = &w.units[i]
				break
			}
		}
	}
	if u == nil {
		fresh = true
		u = w.newUnit(sc, nil)
		u.Program = ""
		u.Text = strings.Join(rd.text, " ")
		u = w.add(u)
		if w.full {
			return
		}
	}
	if fresh && simple && rd.trunc && start == len(w.units)-1 {
		// "> file" or ": > file" with no command: the point is to empty it.
		u.Effects = u.Effects.With(analysis.Destructive)
		u.AddFinding(analysis.FindingIrreversible, "truncates the file to zero length")
	}
	for _, c := range rd.config {
		u.AddFinding(analysis.FindingCodeConfig, "writes "+c+", which makes tools run code later")
	}
	for _, p := range rd.paths {
		u.AddPath(p)
		switch p.Access {
		case analysis.AccessWrite:
			u.Effects = u.Effects.With(analysis.LocalWrite)
		case analysis.AccessRead:
			u.Effects = u.Effects.With(analysis.Read)
			if p.Class == analysis.Secret {
				u.Effects = u.Effects.With(analysis.SecretRead)
			}
		}
	}
	if rd.device {
		u.Effects = u.Effects.With(analysis.Destructive)
		u.AddFinding(analysis.FindingIrreversible, "writes straight to a block device")
	}
	for _, h := range rd.hosts {
		u.AddHost(h)
		u.Effects = u.Effects.With(analysis.Network).With(analysis.Exfiltration)
		if shell {
			u.Effects = u.Effects.With(analysis.RemoteCode)
			u.AddFinding(analysis.FindingReverseShell, "a shell's input or output is wired to "+h)
		}
		if data.Has(analysis.SecretRead) {
			u.AddFinding(analysis.FindingSecretFlow, "secret data is written to the network socket "+h)
		}
	}
}
