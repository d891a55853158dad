package shellcmd

import (
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// awkRisky matches awk program text that runs commands, writes files or
// reads files named in the program.
var awkRisky = regexp.MustCompile(`\bsystem\s*\(|\|\s*getline|\|&|getline[^;{}\n]*<|\bprint[f]?\b[^;{}\n]*(>|\|)|@[a-zA-Z_]|\bENVIRON\b.*\||\bARGV\s*\[[^]]*\]\s*=[^=]|\bARGC\s*=[^=]|\bPROCINFO\b`)

// handleAwk judges the awk program: plain text processing is a read; a
// program that runs commands or writes files is opaque.
func handleAwk(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	ops := ps.operands
	for _, o := range ps.opts {
		switch o.name {
		case "-l", "--load":
			u.AddFinding(analysis.FindingCodeConfig, "awk "+o.name+" loads the extension "+o.val.display())
		case "-i", "--include":
			if o.val.s != "inplace" {
				u.AddFinding(analysis.FindingScript, "awk includes the program file "+o.val.display())
				u.Effects = u.Effects.With(analysis.Unknown)
			}
		}
	}
	if f, ok := ps.value("-f", "--file", "-E", "--exec"); ok {
		shown, class := w.classifyPath(sc, f)
		u.AddPath(analysis.Path{Value: shown, Class: class, Access: analysis.AccessExec})
		u.AddFinding(analysis.FindingScript, "awk runs the program file "+shown)
		u.Effects = u.Effects.With(analysis.Unknown)
	} else if prog, ok := ps.value("-e", "--source"); ok {
		w.awkProgram(u, prog)
	} else if len(ops) > 0 {
		w.awkProgram(u, ops[0])
		ops = ops[1:]
	}
	inplace := false
	if v, ok := ps.value("-i", "--include"); ok && v.s == "inplace" {
		inplace = true
	}
	for _, a := range ops {
		if !a.dynamic && assignmentRE.MatchString(a.s) {
			continue
		}
		if inplace {
			w.operand(sc, u, OperandWrite, a)
		} else {
			w.operand(sc, u, OperandRead, a)
		}
	}
	w.finishUnit(sc, u, args)
	return true
}

func (w *walker) awkProgram(u *analysis.Unit, prog arg) {
	switch {
	case prog.dynamic:
		u.AddFinding(analysis.FindingDynamicCode, "the awk program is only known at run time")
	case awkRisky.MatchString(prog.s):
		u.AddFinding(analysis.FindingInlineCode, "the awk program runs commands or touches files: "+truncate(prog.s, 120))
	}
}

// handleSed judges sed scripts: the e command and the e flag run
// commands, w writes files, r reads them.
func handleSed(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	ops := ps.operands
	var scripts []arg
	for _, o := range ps.opts {
		switch o.name {
		case "-e", "--expression":
			scripts = append(scripts, o.val)
		case "-f", "--file":
			shown, class := w.classifyPath(sc, o.val)
			u.AddPath(analysis.Path{Value: shown, Class: class, Access: analysis.AccessExec})
			u.AddFinding(analysis.FindingScript, "sed runs the script file "+shown)
			u.Effects = u.Effects.With(analysis.Unknown)
			scripts = append(scripts, arg{s: ""})
		}
	}
	if len(scripts) == 0 && len(ops) > 0 {
		scripts = append(scripts, ops[0])
		ops = ops[1:]
	}
	for _, s := range scripts {
		if s.dynamic {
			u.AddFinding(analysis.FindingDynamicCode, "the sed script is only known at run time")
			continue
		}
		exec, writes, reads, ok := scanSed(s.s)
		if !ok {
			u.AddFinding(analysis.FindingInlineCode, "the sed script could not be read: "+truncate(s.s, 80))
		}
		if exec {
			u.AddFinding(analysis.FindingInlineCode, "the sed script runs shell commands: "+truncate(s.s, 80))
		}
		for _, f := range writes {
			w.operand(sc, u, OperandWrite, arg{s: f, raw: f})
		}
		for _, f := range reads {
			w.operand(sc, u, OperandRead, arg{s: f, raw: f})
		}
	}
	mode := OperandRead
	if ps.has("-i", "--in-place") || hasInPlace(ps) {
		mode = OperandWrite
	}
	for _, a := range ops {
		w.operand(sc, u, mode, a)
	}
	w.finishUnit(sc, u, args)
	return true
}

func hasInPlace(ps *parsed) bool {
	for _, o := range ps.opts {
		if strings.HasPrefix(o.name, "--in-place") {
			return true
		}
	}
	return false
}

// scanSed reads a sed script far enough to find the commands that act
// outside the stream. ok is false when the script cannot be read.
func scanSed(s string) (exec bool, writes, reads []string, ok bool) {
	i := 0
	n := len(s)
	skipSpace := func() {
		for i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ';' || s[i] == '\n') {
			i++
		}
	}
	readDelimited := func(d byte) bool {
		for i < n && s[i] != d {
			if s[i] == '\\' {
				i++
			}
			if i < n && s[i] == '\n' && d != '\n' {
				return false
			}
			i++
		}
		if i >= n {
			return false
		}
		i++
		return true
	}
	restOfLine := func() string {
		start := i
		for i < n && s[i] != '\n' {
			i++
		}
		return strings.TrimSpace(s[start:i])
	}
	for guard := 0; guard < 100000; guard++ {
		skipSpace()
		if i >= n {
			return exec, writes, reads, true
		}
		// Addresses: numbers, $, /re/, \cREc, first~step, ranges, +N, ~N.
		for i < n {
			c := s[i]
			switch {
			case c >= '0' && c <= '9' || c == '$' || c == ',' || c == '~' || c == '+' || c == ' ':
				i++
				continue
			case c == '/':
				i++
				if !readDelimited('/') {
					return exec, writes, reads, false
				}
				for i < n && (s[i] == 'I' || s[i] == 'M') {
					i++
				}
				continue
			case c == '\\' && i+1 < n:
				d := s[i+1]
				i += 2
				if !readDelimited(d) {
					return exec, writes, reads, false
				}
				continue
			}
			break
		}
		for i < n && (s[i] == '!' || s[i] == ' ') {
			i++
		}
		if i >= n {
			return exec, writes, reads, true
		}
		cmd := s[i]
		i++
		switch cmd {
		case '{', '}', '=', 'd', 'D', 'g', 'G', 'h', 'H', 'l', 'n', 'N', 'p', 'P', 'x', 'z', 'F':
		case 'q', 'Q', 'L':
			for i < n && (s[i] >= '0' && s[i] <= '9' || s[i] == ' ') {
				i++
			}
		case ':', 'b', 't', 'T':
			for i < n && s[i] != ';' && s[i] != '\n' && s[i] != '}' {
				i++
			}
		case 'a', 'i', 'c':
			restOfLine()
		case 'e':
			exec = true
			restOfLine()
		case 'w', 'W':
			writes = append(writes, restOfLine())
		case 'r', 'R':
			reads = append(reads, restOfLine())
		case 's', 'y':
			if i >= n {
				return exec, writes, reads, false
			}
			d := s[i]
			i++
			// The pattern, then the replacement.
			if !readDelimited(d) {
				return exec, writes, reads, false
			}
			if !readDelimited(d) {
				return exec, writes, reads, false
			}
			if cmd == 'y' {
				continue
			}
			for i < n {
				f := s[i]
				if f == 'e' {
					exec = true
				}
				if f == 'w' {
					i++
					writes = append(writes, restOfLine())
					break
				}
				if f == ';' || f == '\n' || f == '}' || f == ' ' {
					break
				}
				i++
			}
		case '#':
			restOfLine()
		default:
			return exec, writes, reads, false
		}
	}
	return exec, writes, reads, false
}

// handleFind: start paths, -exec and friends, -delete, -fprint.
func handleFind(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	rest := args[1:]
	i := 0
	for i < len(rest) && !rest[i].dynamic && (rest[i].s == "-H" || rest[i].s == "-L" || rest[i].s == "-P" ||
		strings.HasPrefix(rest[i].s, "-O") || rest[i].s == "-D") {
		if rest[i].s == "-D" {
			i++
		}
		i++
	}
	var roots []arg
	for i < len(rest) {
		s := rest[i].static()
		if strings.HasPrefix(s, "-") && !rest[i].dynamic || s == "(" || s == "!" || s == "," {
			break
		}
		roots = append(roots, rest[i])
		i++
	}
	if len(roots) == 0 {
		roots = []arg{{s: ".", raw: "."}}
	}
	u.Effects = u.Effects.With(analysis.Read)
	u.Scopes = u.Scopes.With(analysis.Recursive)
	inWorkspace := true
	for _, r := range roots {
		w.operand(sc, u, OperandRead, r)
		if _, c := w.classifyPath(sc, r); c != analysis.Workspace {
			inWorkspace = false
		}
	}
	one := map[string]bool{"-name": true, "-iname": true, "-path": true, "-ipath": true, "-regex": true, "-iregex": true,
		"-wholename": true, "-iwholename": true, "-lname": true, "-ilname": true, "-type": true, "-xtype": true, "-user": true,
		"-group": true, "-perm": true, "-size": true, "-mtime": true, "-atime": true, "-ctime": true, "-mmin": true,
		"-amin": true, "-cmin": true, "-maxdepth": true, "-mindepth": true, "-inum": true, "-links": true, "-uid": true,
		"-gid": true, "-used": true, "-printf": true, "-context": true, "-fstype": true, "-newer": true, "-anewer": true,
		"-cnewer": true, "-samefile": true, "-regextype": true, "-files0-from": true, "-newerXY": true}
	for i < len(rest) {
		a := rest[i]
		s := a.s
		switch {
		case s == "-exec" || s == "-execdir" || s == "-ok" || s == "-okdir":
			// The command ends at ";", or at "+" right after "{}" (a "+"
			// anywhere else is an argument).
			j := i + 1
			for j < len(rest) && rest[j].s != ";" && !(rest[j].s == "+" && j > i+1 && rest[j-1].s == "{}" && !rest[j-1].dynamic) {
				j++
			}
			inner := make([]arg, 0, j-i-1)
			for _, x := range rest[i+1 : min(j, len(rest))] {
				if strings.Contains(x.s, "{}") {
					x.s = strings.ReplaceAll(x.s, "{}", roots[0].s+"/"+dyn)
					x.dynamic, x.listed = true, inWorkspace
				}
				inner = append(inner, x)
			}
			if len(inner) > 0 {
				c := sc.nested("find "+s, 0, analysis.Scopes(analysis.Recursive, analysis.Bulk))
				c.stdin = nil
				w.command(c, inner, env)
			}
			i = j + 1
		case s == "-delete":
			u.Effects = u.Effects.With(analysis.Destructive)
			u.Scopes = u.Scopes.With(analysis.Bulk)
			for _, r := range roots {
				w.operand(sc, u, OperandDelete, r)
			}
			i++
		case s == "-fprint" || s == "-fprint0" || s == "-fls" || s == "-fprintf":
			if i+1 < len(rest) {
				w.operand(sc, u, OperandWrite, rest[i+1])
			}
			i += 2
			if s == "-fprintf" {
				i++
			}
		case s == "-name" || s == "-iname" || s == "-path" || s == "-ipath" || s == "-wholename" || s == "-regex" || s == "-iregex":
			if i+1 < len(rest) {
				pat := strings.NewReplacer("*", "", "?", "", "\\", "").Replace(rest[i+1].s)
				if pat != "" && (secretName(pat) || secretName("x"+pat) || secretPath(pat) || secretPath("/x/"+strings.TrimPrefix(pat, "/"))) {
					u.Effects = u.Effects.With(analysis.SecretRead)
					u.AddFinding(analysis.FindingMetadata, "searches for credential files ("+rest[i+1].display()+")")
				}
			}
			i += 2
		case strings.HasPrefix(s, "-newer") || one[s]:
			i += 2
		default:
			i++
		}
	}
	w.finishUnit(sc, u, args)
	return true
}

// handleXargs runs its command with arguments read from standard input.
func handleXargs(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	inner := ps.rest
	if len(inner) == 0 {
		inner = []arg{{s: "echo", raw: "echo"}}
	}
	var src analysis.EffectSet
	decoded, listed := false, false
	if sc.stdin != nil {
		src, decoded, listed = sc.stdin.effects, sc.stdin.decoded, sc.stdin.listed
	}
	if f, ok := ps.value("-a", "--arg-file"); ok {
		w.operand(sc, u, OperandRead, f)
		shown, class := w.classifyPath(sc, f)
		switch class {
		case analysis.Secret:
			src = src.With(analysis.SecretRead)
		case analysis.GatewayPath:
			// The file's lines become arguments of the command xargs runs;
			// the read itself is a unit of its own, so that it is judged.
			r := &analysis.Unit{Kind: analysis.KindShell, Text: "xargs -a " + shown, Program: "xargs", Argv: []string{"xargs", "-a", shown},
				Effects: analysis.Effects(analysis.Read)}
			r.AddPath(analysis.Path{Value: shown, Class: class, Access: analysis.AccessRead})
			w.add(r)
		}
	}
	repl := ""
	if v, ok := ps.value("-I", "--replace"); ok {
		repl = v.s
	} else if ps.has("-i", "--replace") {
		repl = "{}"
	}
	out := make([]arg, 0, len(inner)+1)
	for _, a := range inner {
		if repl != "" && strings.Contains(a.s, repl) {
			a.s = strings.ReplaceAll(a.s, repl, dyn)
			a.dynamic, a.src, a.decoded, a.listed = true, a.src|src, a.decoded || decoded, listed
		}
		out = append(out, a)
	}
	if repl == "" {
		out = append(out, arg{s: dyn, raw: "{input}", dynamic: true, src: src, decoded: decoded, listed: listed})
	}
	c := sc.nested("xargs", 0, 0)
	c.stdin = nil
	w.command(c, out, env)
	return true
}

// handleParallel: GNU parallel runs a command template (through a shell)
// for each input, or each input as a command.
func handleParallel(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	var template, inputs []arg
	sep := false
	for _, a := range ps.rest {
		if !a.dynamic && strings.HasPrefix(a.s, ":::") {
			sep = true
			continue
		}
		if sep {
			inputs = append(inputs, a)
		} else {
			template = append(template, a)
		}
	}
	c := sc.nested("parallel", 0, 0)
	c.stdin = nil
	if len(template) == 0 {
		if !sep {
			u.AddFinding(analysis.FindingStdinToShell, "parallel runs each line of its input as a command")
			w.finishUnit(sc, u, args)
			return true
		}
		for _, in := range inputs {
			w.evalCode(c, "parallel", []arg{in}, "parallel")
		}
		return true
	}
	tpl := make([]arg, len(template))
	for i, a := range template {
		if strings.Contains(a.s, "{") {
			a.s = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(a.s, "_")
		}
		tpl[i] = a
	}
	u.AddFinding(analysis.FindingDynamicArg, "parallel fills its command template with input data")
	w.finishUnit(sc, u, args)
	w.evalCode(c, "parallel", append(tpl, arg{s: "_", raw: "_"}), "parallel")
	return true
}
