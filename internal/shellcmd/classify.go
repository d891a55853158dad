package shellcmd

import (
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// opt is one option as given on a command line.
type opt struct {
	name   string
	val    arg
	hasVal bool
	rule   *OptionRule
	level  *Program
	guess  bool // expanded from an abbreviation that several options share
}

// parsed is a command line laid out against a program's knowledge: the
// subcommand path, the options and the operands.
type parsed struct {
	prog       *Program // the deepest subcommand reached
	words      []string // subcommand words
	opts       []opt
	operands   []arg  // operands of the deepest level, after the subcommand words
	rest       []arg  // for programs that stop at their first operand: everything from there on
	maybeOpts  []arg  // operands only known at run time that could start with "-"
	unknownOpt string // an option not in the knowledge base, given before the subcommand
	unknownSub string
	dd         int // index in args of "--", or -1
}

func (ps *parsed) has(names ...string) bool {
	for _, o := range ps.opts {
		for _, n := range names {
			if o.name == n {
				return true
			}
		}
	}
	return false
}

func (ps *parsed) value(names ...string) (arg, bool) {
	for _, o := range ps.opts {
		for _, n := range names {
			if o.name == n && o.hasVal {
				return o.val, true
			}
		}
	}
	return arg{}, false
}

// parseArgs lays args (without the program name) out against p.
func parseArgs(p *Program, args []arg) *parsed {
	level := p
	ps := &parsed{prog: p, dd: -1}
	subDone := level.Subcommands == nil
	for i := 0; i < len(args); i++ {
		a := args[i]
		isOpt := ps.dd < 0 && len(a.s) > 1 && (strings.HasPrefix(a.static(), "-") && !(a.dynamic && a.static() == "-") ||
			level.PlusOptions && strings.HasPrefix(a.static(), "+") && !(a.dynamic && a.static() == "+"))
		if ps.dd < 0 && !a.dynamic && a.s == "--" {
			ps.dd = i
			if level.StopAtOperand {
				ps.rest = args[i+1:]
				return ps
			}
			continue
		}
		if isOpt {
			if !subDone && level == p && ps.unknownOpt == "" && !a.dynamic && !strings.Contains(a.s, "=") && !knownOption(level, a.s) && i+1 < len(args) {
				// An option this program's entry does not list, before
				// the subcommand: if it takes a value, the subcommand is
				// the word after.
				ps.unknownOpt = a.s
			}
			i += parseOption(level, ps, args, i)
			continue
		}
		if !subDone {
			subDone = true
			if !a.dynamic {
				if sub, ok := level.Subcommands[a.s]; ok {
					level = sub
					ps.prog = sub
					ps.words = append(ps.words, a.s)
					subDone = sub.Subcommands == nil
					continue
				}
			}
			ps.unknownSub = a.display()
		}
		if level.StopAtOperand {
			ps.rest = args[i:]
			ps.operands = append(ps.operands, args[i:]...)
			return ps
		}
		if ps.dd < 0 && a.dynamic && a.static() == "" && !a.listed {
			ps.maybeOpts = append(ps.maybeOpts, a)
		}
		ps.operands = append(ps.operands, a)
	}
	return ps
}

// parseOption parses the option at args[i] and returns how many extra
// arguments it consumed.
func parseOption(level *Program, ps *parsed, args []arg, i int) int {
	a := args[i]
	s := a.s
	add := func(name string, val arg, hasVal bool) {
		ps.opts = append(ps.opts, opt{name: name, val: val, hasVal: hasVal, rule: level.Options[name], level: level})
	}
	next := func() (arg, bool) {
		if i+1 < len(args) {
			return args[i+1], true
		}
		return arg{}, false
	}
	if a.dynamic {
		// An option spelled with run-time data ("-$X"): record it whole.
		add(a.display(), a, false)
		return 0
	}
	if strings.HasPrefix(s, "--") && level.LongSingleDash {
		// Go's flag package (go, terraform) reads --flag as -flag.
		if name, _, _ := strings.Cut(s, "="); !knownOption(level, name) && knownOption(level, name[1:]) {
			s = s[1:]
			a = withValue(a, s)
		}
	}
	if strings.HasPrefix(s, "--") {
		name, val, hasEq := strings.Cut(s, "=")
		names := expandPrefix(level, name)
		if len(names) > 1 {
			// Each candidate counts for what it adds, none for what it
			// takes away (a dry run): the program may mean another one.
			defer func(from int) {
				for k := from; k < len(ps.opts); k++ {
					ps.opts[k].guess = true
				}
			}(len(ps.opts))
		}
		if hasEq {
			for _, n := range names {
				add(n, withValue(a, val), true)
			}
			return 0
		}
		for _, n := range names {
			if level.ValueOptions[n] {
				if v, ok := next(); ok {
					for _, n := range names {
						add(n, v, true)
					}
					return 1
				}
			}
		}
		for _, n := range names {
			add(n, arg{}, false)
		}
		return 0
	}
	if _, ok := level.Options[s]; ok || level.ValueOptions[s] || level.LongSingleDash {
		if level.ValueOptions[s] {
			if v, ok := next(); ok {
				add(s, v, true)
				return 1
			}
		}
		if name, val, hasEq := strings.Cut(s, "="); hasEq && level.LongSingleDash {
			add(name, withValue(a, val), true)
			return 0
		}
		if _, known := level.Options[s]; !known && !level.ValueOptions[s] && len(s) > 2 && level.ValueOptions[s[:2]] {
			// -o/tmp/x: a one-letter option with its value attached.
			add(s[:2], withValue(a, s[2:]), true)
			return 0
		}
		add(s, arg{}, false)
		return 0
	}
	// A cluster of short options: -rf is -r -f; -n5 is -n 5.
	for j := 1; j < len(s); j++ {
		o := s[:1] + s[j:j+1]
		if level.ValueOptions[o] {
			if j+1 < len(s) {
				add(o, withValue(a, strings.TrimPrefix(s[j+1:], "=")), true)
				return 0
			}
			if v, ok := next(); ok {
				add(o, v, true)
				return 1
			}
			add(o, arg{}, false)
			return 0
		}
		add(o, arg{}, false)
	}
	return 0
}

// knownOption reports an option the program's entry lists, or a cluster
// of listed short flags.
func knownOption(level *Program, s string) bool {
	if _, ok := level.Options[s]; ok || level.ValueOptions[s] {
		return true
	}
	if strings.HasPrefix(s, "--") {
		for _, n := range expandPrefix(level, s) {
			if _, ok := level.Options[n]; ok || level.ValueOptions[n] {
				return true
			}
		}
		return false
	}
	if level.LongSingleDash || len(s) < 2 {
		return false
	}
	for j := 1; j < len(s); j++ {
		o := s[:1] + s[j:j+1]
		if _, ok := level.Options[o]; !ok && !level.ValueOptions[o] {
			return false
		}
		if level.ValueOptions[o] {
			return true // the rest is its value
		}
	}
	return true
}

// expandPrefix resolves a GNU-style abbreviation (--har for --hard): a
// known option is itself; otherwise every known long option it starts.
// All of them, not only a unique one: the knowledge base may not list every
// option, so what looks ambiguous here may not be to the program.
func expandPrefix(level *Program, name string) []string {
	if _, ok := level.Options[name]; ok || level.ValueOptions[name] || len(name) < 3 {
		return []string{name}
	}
	var match []string
	for o := range level.Options {
		if strings.HasPrefix(o, name) && strings.HasPrefix(o, "--") {
			match = append(match, o)
		}
	}
	for o := range level.ValueOptions {
		if _, dup := level.Options[o]; !dup && strings.HasPrefix(o, name) && strings.HasPrefix(o, "--") {
			match = append(match, o)
		}
	}
	if len(match) == 0 {
		return []string{name}
	}
	slices.Sort(match)
	return match
}

func withValue(a arg, v string) arg {
	a.s = v
	a.raw = v
	return a
}

// globalContextOptions name an environment for most tools.
var globalContextOptions = map[string]bool{
	"-n": true, "--namespace": true, "--context": true, "--kube-context": true, "--kubecontext": true,
	"--profile": true, "--project": true, "--env": true, "--environment": true, "--stage": true,
	"--cluster": true, "--account": true, "--subscription": true, "--workspace": true, "--app": true,
	"--host": true, "-h": true, "--server": true, "--org": true, "--space": true, "--site": true,
}

// classify fills u from the knowledge about p and the command's arguments,
// then hands over to p's structural handler, if any.
func (w *walker) classify(sc *scope, u *analysis.Unit, p *Program, args []arg, env map[string]arg) {
	if p.Handler == "tar" {
		args = normalizeTar(args)
	}
	// What earlier commands of this line wrote; this command's own outputs
	// come after it runs.
	wroteBefore := w.wroteCode()
	ps := parseArgs(p, args[1:])
	final := ps.prog
	u.Subcommand = strings.Join(ps.words, " ")

	operandCount := len(ps.operands)
	if ps.unknownOpt != "" && p.Subcommands != nil {
		u.Effects = u.Effects.With(analysis.Unknown)
		u.AddFinding(analysis.FindingUnknownOption, p.Name+" "+ps.unknownOpt+" is not a known option: if it takes a value, the subcommand is another word")
	}
	switch {
	case ps.unknownSub != "" && final.Subcommands != nil:
		if final.UnknownSubcommand != nil {
			u.Effects |= *final.UnknownSubcommand
		} else {
			u.Effects = u.Effects.With(analysis.Unknown)
			u.AddFinding(analysis.FindingUnknownSub, p.Name+" "+ps.unknownSub+" is not in the knowledge base")
		}
	case final.Bare != nil && operandCount == 0:
		u.Effects |= *final.Bare
	default:
		u.Effects |= final.Effects
	}
	if operandCount > 0 {
		u.Effects |= final.WithOperands
	}
	u.Scopes |= final.Scopes
	for _, f := range final.Findings {
		detail := final.Note
		if detail == "" {
			detail = strings.TrimSpace(p.Name + " " + u.Subcommand)
		}
		u.AddFinding(f, detail)
	}
	if len(final.Verbs) > 0 && (len(ps.operands) > 0 || len(ps.words) > 0) {
		w.verbs(u, final, ps)
	}

	// Options such as git -C and make -C move where the operands are.
	osc := sc
	for _, o := range ps.opts {
		if o.hasVal && final.ChdirOptions[o.name] {
			if osc == sc {
				osc = sc.child()
			}
			osc.chdir(o.val, true)
			if d, ok := resolvePath(sc, o.val); !ok || w.classifyClean(d) != analysis.Workspace {
				u.AddFinding(analysis.FindingRetarget, o.name+" "+o.val.display()+" works outside the workspace")
			}
		}
	}
	sc = osc
	operandMode, skip := final.Operands, final.SkipOperands
	var setEffects *analysis.EffectSet
	for _, o := range ps.opts {
		if o.rule != nil && o.rule.Set != nil {
			// The last occurrence counts, and only a value that means yes:
			// --dry-run=none and --dry-run=false really run.
			setEffects = nil
			if (!o.hasVal || dryRunValue(o.val)) && !o.guess {
				setEffects = o.rule.Set
			}
		}
		if o.rule != nil {
			u.Effects |= o.rule.Effects
			u.Scopes |= o.rule.Scopes
			if o.rule.Finding != "" {
				u.AddFinding(o.rule.Finding, "option "+o.name)
			}
			if o.rule.Value != "" && o.hasVal {
				w.operand(sc, u, o.rule.Value, o.val)
			}
			if o.rule.Operands != "" {
				operandMode, skip = o.rule.Operands, 0
			}
		}
		if o.hasVal && (final.ContextOptions[o.name] || globalContextOptions[o.name]) && prodValue.MatchString(o.val.s) {
			u.Scopes = u.Scopes.With(analysis.Production)
		}
		if o.val.dynamic && o.hasVal && o.val.src.Has(analysis.SecretRead) {
			u.Effects = u.Effects.With(analysis.SecretRead)
		}
		if !o.hasVal && o.val.dynamic {
			u.AddFinding(analysis.FindingDynamicArg, "an option is only known at run time")
		}
	}
	if len(ps.maybeOpts) > 0 && final.RiskyOptions {
		// git log $X: X may be --output=~/.bashrc.
		u.AddFinding(analysis.FindingDynamicArg, ps.maybeOpts[0].display()+" is only known at run time and may be an option of "+
			strings.TrimSpace(p.Name+" "+u.Subcommand))
	}
	for _, o := range ps.opts {
		if len(o.level.OptionRules) == 0 {
			continue
		}
		text := o.name
		if o.hasVal {
			text += "=" + o.val.s
		}
		for _, r := range o.level.OptionRules {
			if r.Match.MatchString(text) {
				u.Effects |= r.Effects
				u.Scopes |= r.Scopes
				if r.Finding != "" {
					u.AddFinding(r.Finding, "option "+o.name)
				}
			}
		}
	}
	if final.Assignments {
		// make CC='...' target: a variable the build runs commands with.
		var rest []arg
		for _, a := range ps.operands {
			if k, v, ok := strings.Cut(a.s, "="); ok && !a.dynamic && makeVarRE.MatchString(k) {
				w.envEffects(sc, k, withValue(a, v), u)
				continue
			}
			rest = append(rest, a)
		}
		ps.operands = rest
	}
	for _, r := range final.OperandRules {
		for _, a := range ps.operands {
			if !a.dynamic && r.Match.MatchString(a.s) {
				u.Effects |= r.Effects
				u.Scopes |= r.Scopes
				if r.Finding != "" {
					u.AddFinding(r.Finding, a.s)
				}
			}
		}
	}
	if final.Wrapper == nil {
		ops := ps.operands
		if skip > len(ops) {
			skip = len(ops)
		}
		for i, a := range ops[skip:] {
			m := operandMode
			if final.LastOperand != "" && i == len(ops)-skip-1 && len(ops)-skip >= 2 {
				m = final.LastOperand
			}
			w.operand(sc, u, m, a)
		}
	}
	if u.Effects.Has(analysis.Destructive) {
		for _, a := range ps.operands {
			if a.glob {
				u.Scopes = u.Scopes.With(analysis.Bulk)
			}
		}
	}
	if setEffects != nil {
		// A dry run (git clean -n, kubectl --dry-run, ansible --check) only
		// reports what it would do.
		u.Effects = sc.effects | *setEffects | (u.Effects & analysis.Effects(analysis.Opaque, analysis.Unknown, analysis.SecretRead))
		var kept []analysis.Finding
		for _, f := range u.Findings {
			if !slices.Contains(final.Findings, f.Kind) {
				kept = append(kept, f)
			}
		}
		u.Findings = kept
	}
	if u.Effects.Has(analysis.WorkspaceExec) && (wroteBefore || w.wroteOperandBefore(sc, ps.operands, u)) {
		u.AddFinding(analysis.FindingDynamicCode, "runs workspace code after this command line changed code or build files")
	}
	if u.Effects.Has(analysis.WorkspaceExec) && p.Handler == "" {
		// Builds and tests are trusted because they run the workspace's own
		// code; run elsewhere (a fresh clone in /tmp) they run anyone's.
		if !sc.cwdKnown {
			u.Effects = u.Effects.With(analysis.Unknown)
			u.AddFinding(analysis.FindingScript, "runs build code in a directory only known at run time")
		} else if c := w.classifyClean(sc.cwd); c != analysis.Workspace {
			u.Effects = u.Effects.With(analysis.Unknown)
			u.AddFinding(analysis.FindingScript, "runs build code outside the workspace, in "+sc.cwd)
		}
	}
	h := final.Handler
	if h == "" {
		h = p.Handler
	}
	if fn := handlerFor(h); fn != nil {
		if fn(w, sc, u, final, ps, args, env) {
			return
		}
	}
	if final.Wrapper != nil {
		w.wrap(sc, u, final, ps, args, env)
		return
	}
	w.finishUnit(sc, u, args)
}

// verbs classifies by the command words (aws s3 rm, gcloud compute
// instances delete) against the program's verb rules.
func (w *walker) verbs(u *analysis.Unit, final *Program, ps *parsed) {
	var words []string
	for _, a := range ps.operands {
		words = append(words, strings.ToLower(a.display()))
	}
	line := strings.Join(append(append([]string(nil), ps.words...), words...), " ")
	for _, r := range final.Verbs {
		if r.Match.MatchString(line) {
			u.Effects |= r.Effects
			u.Scopes |= r.Scopes
			if r.Finding != "" {
				u.AddFinding(r.Finding, line)
			}
			return
		}
	}
	if final.VerbDefault != nil {
		u.Effects |= *final.VerbDefault
		return
	}
	u.Effects = u.Effects.With(analysis.Unknown)
	u.AddFinding(analysis.FindingUnknownSub, final.Name+" "+line+" is not in the knowledge base")
}

// operand records what one operand or option value is.
func (w *walker) operand(sc *scope, u *analysis.Unit, mode OperandMode, a arg) {
	if mode == OperandOutput {
		mode = OperandWrite
		if cmd, ok := strings.CutPrefix(a.s, "|"); ok || strings.HasPrefix(a.s, "!") || a.dynamic && a.static() == "" {
			if !ok {
				cmd = strings.TrimPrefix(a.s, "!")
			}
			mode, a = OperandCommand, withValue(a, cmd)
		}
	}
	switch mode {
	case OperandNone, "":
	case OperandRead, OperandList, OperandMeta, OperandWrite, OperandDelete, OperandExec, OperandUpload:
		if !a.dynamic && (a.s == "-" || a.s == "") {
			if mode == OperandExec && a.s == "-" {
				u.AddFinding(analysis.FindingStdinToShell, u.Program+" reads code from standard input")
			}
			return
		}
		if h, ok := networkPath(a.s); ok && !a.dynamic {
			u.AddHost(h)
			u.Effects = u.Effects.With(analysis.Network)
			return
		}
		shown, class := w.classifyPath(sc, a)
		if !a.dynamic && !a.glob && pseudoPath(a.s) {
			if class == analysis.UnknownPath {
				return
			}
		}
		access := analysis.AccessRead
		if (mode == OperandWrite || mode == OperandDelete || mode == OperandMeta) && class == analysis.Secret {
			// Writing a .env or a key file in the workspace is ordinary
			// work; reading one is what exposes it.
			if p, ok := resolvePath(sc, a); ok && under(p, w.workdir) {
				class = analysis.Workspace
			}
		}
		switch mode {
		case OperandMeta:
			access = analysis.AccessWrite
			u.Effects = u.Effects.With(analysis.LocalWrite)
		case OperandWrite:
			access = analysis.AccessWrite
			u.Effects = u.Effects.With(analysis.LocalWrite)
			if p, ok := resolvePath(sc, a); ok {
				// What a trusted build writes (go build -o bin/app) is the
				// workspace's own code; anything else written is not.
				w.written[p] = !(u.Effects.Has(analysis.WorkspaceExec) && u.HasFinding(analysis.FindingTrusted) &&
					!u.Effects.Any(analysis.Effects(analysis.Unknown, analysis.Opaque)))
				if codeConfigPath(p) {
					u.AddFinding(analysis.FindingCodeConfig, "writes "+shown+", which makes tools run code later")
				}
			}
		case OperandDelete:
			access = analysis.AccessDelete
		case OperandExec:
			access = analysis.AccessExec
			if !a.dynamic && a.s == "-" {
				u.AddFinding(analysis.FindingStdinToShell, u.Program+" reads code from standard input")
			}
			if p, ok := resolvePath(sc, a); ok && w.written[p] {
				u.AddFinding(analysis.FindingDynamicCode, "runs "+shown+", which this command line wrote")
			}
			if class != analysis.Workspace {
				u.Effects = u.Effects.With(analysis.Unknown)
				u.AddFinding(analysis.FindingScript, "runs "+shown+", from outside the workspace")
			}
		}
		u.AddPath(analysis.Path{Value: shown, Class: class, Access: access})
		if class == analysis.Secret && (access == analysis.AccessRead || access == analysis.AccessExec) && mode != OperandList {
			u.Effects = u.Effects.With(analysis.SecretRead)
		}
		if access == analysis.AccessRead && u.Scopes.Has(analysis.Recursive) {
			if p, ok := resolvePath(sc, a); ok && holdsSecrets(p) {
				u.Effects = u.Effects.With(analysis.SecretRead)
				u.AddFinding(analysis.FindingDynamicPath, "reads the whole of "+shown+", which holds credential files")
			}
		}
		if class == analysis.Device && (access == analysis.AccessWrite || access == analysis.AccessDelete) {
			u.Effects = u.Effects.With(analysis.Destructive)
		}
		if mode == OperandUpload {
			u.Effects = u.Effects.With(analysis.Network)
			if class == analysis.Secret || class == analysis.UnknownPath {
				u.Effects = u.Effects.With(analysis.Exfiltration)
			}
			if class == analysis.Secret {
				u.AddFinding(analysis.FindingSecretFlow, "uploads the secret file "+shown)
			}
		}
		if a.dynamic && (mode == OperandDelete || mode == OperandWrite) {
			u.AddFinding(analysis.FindingDynamicPath, shown+" is only known at run time")
		}
	case OperandSource:
		if strings.Contains(a.s, "://") || strings.HasPrefix(a.s, "git+") || strings.HasPrefix(a.s, "git@") {
			w.url(sc, u, withValue(a, strings.TrimPrefix(a.s, "git+")))
			u.Effects = u.Effects.With(analysis.RemoteCode).With(analysis.Network)
			u.AddFinding(analysis.FindingInstall, "installs from "+a.display())
			return
		}
		w.operand(sc, u, OperandExec, a)
	case OperandURL:
		w.url(sc, u, a)
	case OperandHost:
		h := a.s
		if i := strings.LastIndexByte(h, '@'); i >= 0 {
			h = h[i+1:]
		}
		if a.dynamic {
			u.AddFinding(analysis.FindingDataInURL, "the destination "+a.display()+" is only known at run time")
			if a.src.Any(analysis.Effects(analysis.SecretRead, analysis.Read)) {
				u.Effects = u.Effects.With(analysis.Exfiltration)
			}
			return
		}
		u.AddHost(h)
		w.hostEffects(u, h)
	case OperandSQL:
		w.sql(sc, u, a, 0)
	case OperandCode:
		u.AddFinding(analysis.FindingInlineCode, "inline code: "+truncate(a.display(), 120))
		if socketCode.MatchString(a.s) && shellCode.MatchString(a.s) {
			u.Effects = u.Effects.With(analysis.RemoteCode).With(analysis.Exfiltration)
			u.AddFinding(analysis.FindingReverseShell, "the code connects a socket and runs a shell or process through it")
		}
		if a.src.Has(analysis.Network) {
			u.Effects = u.Effects.With(analysis.RemoteCode)
		}
	case OperandCommand:
		w.evalCode(sc.nested(u.Program, 0, 0), u.Program, []arg{a}, u.Program+" runs a command")
	}
}

// socketCode and shellCode together are the shape of a reverse shell in
// inline interpreter code.
var (
	socketCode = regexp.MustCompile(`(?i)(socket|tcpsocket|fsockopen|net\.connect|new net\.socket|io::socket|/dev/tcp)`)
	shellCode  = regexp.MustCompile(`(?i)(/bin/(ba|z|da)?sh|subprocess|pty\.spawn|dup2|\bexec\s*\(|spawn\(|\bsystem\s*\(|popen|proc_open|child_process|cmd\.exe)`)
)

// secretArgs is a safety net under the knowledge base: any argument that
// names a credential file (as an operand, an option value, @file, k=file)
// makes the command a secret read, even where the knowledge base does not
// say the argument is a path.
func (w *walker) secretArgs(sc *scope, u *analysis.Unit, args []arg) {
	seen := map[string]bool{}
	for _, p := range u.Paths {
		seen[p.Value] = true
	}
	for _, a := range args {
		if a.dynamic {
			continue
		}
		for _, cand := range pathCandidates(a.s) {
			if seen[cand] || !mayBeSecret(cand) {
				continue
			}
			c := withValue(a, cand)
			c.glob = hasGlobMeta(cand)
			shown, class := w.classifyPath(sc, c)
			if class == analysis.Secret {
				seen[cand] = true
				u.AddPath(analysis.Path{Value: shown, Class: class, Access: analysis.AccessRead})
				u.Effects = u.Effects.With(analysis.SecretRead)
				if senders[u.Program] {
					u.Effects = u.Effects.With(analysis.Exfiltration)
					u.AddFinding(analysis.FindingSecretFlow, u.Program+" sends the credential file "+shown)
				}
			}
		}
	}
}

// mayBeSecret is a cheap filter before the full classification: a
// credential path names a secret file, a secret directory, a system
// location, the home, a parent directory or a glob.
func mayBeSecret(s string) bool {
	if strings.ContainsAny(s, "*?[~") || strings.HasPrefix(s, "/") || strings.Contains(s, "..") {
		return true
	}
	if secretName(path.Base(s)) {
		return true
	}
	for _, ds := range secretDirSegs {
		if strings.Contains(s, ds[0]) {
			return true
		}
	}
	return false
}

// senders are programs that send the files named in their arguments.
var senders = map[string]bool{"curl": true, "wget": true, "http": true, "https": true, "xh": true, "nc": true,
	"socat": true, "telnet": true, "ftp": true, "tftp": true, "lftp": true, "aria2c": true}

// stdinSenders send their standard input over the connection they open.
var stdinSenders = map[string]bool{"nc": true, "socat": true, "telnet": true, "openssl": true}

// pathCandidates returns the parts of an argument that may be paths:
// the argument, what follows "=", "@" or ":" in it.
func pathCandidates(s string) []string {
	var out []string
	add := func(v string) {
		v = strings.Trim(v, `'"`)
		if v != "" && !strings.Contains(v, "://") {
			out = append(out, v)
		}
	}
	if !strings.HasPrefix(s, "-") {
		add(s)
	}
	for i := 0; i < len(s) && len(out) < 16; i++ {
		switch s[i] {
		case '=', '@', ':', ',':
			add(s[i+1:])
		}
	}
	return out
}

// pathCandidate returns what of an argument may be a path: the argument,
// or the value of --opt=value; ok is false for an option without one.
func pathCandidate(a arg) (arg, bool) {
	s := a.static()
	if !strings.HasPrefix(s, "-") {
		return a, true
	}
	if _, v, ok := strings.Cut(s, "="); ok {
		return withValue(a, v), true
	}
	return a, false
}

// genericPaths records operands of an unknown program that look like
// paths, so that an unknown tool touching ~/.ssh still says so.
func (w *walker) genericPaths(sc *scope, u *analysis.Unit, args []arg) {
	for _, a := range args {
		a, ok := pathCandidate(a)
		if !ok {
			continue
		}
		s := a.static()
		if !strings.Contains(s, "/") && !strings.HasPrefix(s, ".") && !strings.HasPrefix(s, "~") {
			continue
		}
		if strings.Contains(s, "://") {
			w.url(sc, u, a)
			continue
		}
		shown, class := w.classifyPath(sc, a)
		if class == analysis.UnknownPath {
			continue
		}
		u.AddPath(analysis.Path{Value: shown, Class: class, Access: analysis.AccessRead})
		if class == analysis.Secret {
			u.Effects = u.Effects.With(analysis.SecretRead)
		}
	}
}

// nameOnly programs look at a path's name or existence, never at what is
// in it: test -f .env is not reading a secret.
var nameOnly = map[string]bool{"test": true, "[": true, "[[": true, "echo": true, "printf": true, "basename": true,
	"dirname": true, "realpath": true, "readlink": true, "stat": true, "touch": true, "mkdir": true, "ls": true,
	"which": true, "type": true, "command": true}

// finishUnit relates a unit to its input and arguments and records it.
func (w *walker) finishUnit(sc *scope, u *analysis.Unit, args []arg) {
	if len(args) > 1 && u.Kind == analysis.KindShell && !nameOnly[u.Program] {
		w.secretArgs(sc, u, args[1:])
	}
	network := u.Effects.Any(analysis.Effects(analysis.Network, analysis.RemoteMutation, analysis.Exfiltration)) || len(u.Hosts) > 0
	for _, a := range args {
		if a.secretVar {
			// $GITHUB_TOKEN on a command line: the agent handles a secret.
			u.Effects = u.Effects.With(analysis.SecretRead)
			if network {
				u.Effects = u.Effects.With(analysis.Exfiltration)
			}
			break
		}
	}
	if network && stdinSenders[u.Program] && sc.stdin != nil &&
		(sc.stdin.kind == stdinFile || sc.stdin.kind == stdinPipe || sc.stdin.kind == stdinHeredoc && !sc.stdin.known) &&
		!u.HasFinding(analysis.FindingReverseShell) {
		// nc host port < file sends the file.
		u.Effects = u.Effects.With(analysis.Exfiltration)
		u.AddFinding(analysis.FindingDataInURL, u.Program+" sends what comes from "+sc.stdin.desc+" to the network")
	}
	if network {
		if sc.stdin != nil && sc.stdin.effects.Has(analysis.SecretRead) {
			u.Effects = u.Effects.With(analysis.Exfiltration)
			u.AddFinding(analysis.FindingSecretFlow, "secret data from "+sc.stdin.desc+" goes to a network command")
		}
		for _, a := range args[1:] {
			if a.src.Has(analysis.SecretRead) {
				u.Effects = u.Effects.With(analysis.Exfiltration)
				u.AddFinding(analysis.FindingSecretFlow, "an argument built from secret data goes to a network command")
				break
			}
		}
		for _, a := range args[1:] {
			local := a.src.Has(analysis.SecretRead) || (a.src.Has(analysis.Read) && !a.src.Has(analysis.Network))
			if a.dynamic && local && !a.listed && !u.Effects.Has(analysis.Exfiltration) {
				u.AddFinding(analysis.FindingDataInURL, "an argument of a network command is built from local data at run time")
				u.Effects = u.Effects.With(analysis.Exfiltration)
				break
			}
		}
	}
	if n := len(w.units); w.add(u) != u && sc.cwdKnown {
		w.dirs[n] = sc.cwd // for walks of the implicit current directory
	}
}

// makeVarRE matches a make variable name on the command line.
var makeVarRE = regexp.MustCompile(`^[.A-Za-z_][.A-Za-z0-9_]*$`)

// dryRunValue reports an option value that turns a dry run on: kubectl
// --dry-run=client or =server, --dry-run=true.
func dryRunValue(v arg) bool {
	if v.dynamic {
		return false
	}
	switch strings.ToLower(v.s) {
	case "", "client", "server", "true", "yes", "1", "on":
		return true
	}
	return false
}
