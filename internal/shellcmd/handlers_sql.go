package shellcmd

import (
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
	"github.com/gatehouse/gatehouse/internal/sqlcheck"
)

// handleSQLClient: psql -c, mysql -e, sqlite3 DB SQL, SQL on standard
// input; redis-cli and similar take commands instead of SQL.
func handleSQLClient(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	cl := p.SQL
	if cl == nil {
		return false
	}
	given := false
	var texts []arg
	for _, o := range ps.opts {
		switch {
		case cl.CommandOptions[o.name] && o.hasVal:
			given = true
			texts = append(texts, o.val)
		case cl.FileOptions[o.name] && o.hasVal:
			given = true
			shown, class := w.classifyPath(sc, o.val)
			u.AddPath(analysis.Path{Value: shown, Class: class, Access: analysis.AccessExec})
			u.Effects = u.Effects.With(analysis.Unknown)
			u.AddFinding(analysis.FindingScript, u.Program+" runs the script "+shown+", whose content is not analyzed")
		case cl.HostOptions[o.name] && o.hasVal:
			w.operand(sc, u, OperandHost, o.val)
		}
	}
	ops := ps.operands
	for _, a := range ops {
		// A connection string names the server.
		if strings.Contains(a.s, "://") {
			w.url(sc, u, a)
		} else if prodValue.MatchString(a.s) && !cl.NoSQL {
			u.Scopes = u.Scopes.With(analysis.Production)
		}
	}
	if cl.SQLOperand > 1 && len(ops) > 0 && !strings.Contains(ops[0].s, "://") {
		// sqlite3 DB SQL: the first operand is a database file, read
		// (and written, if the SQL writes) whole; file:PATH?query is a URI
		// naming one.
		db := ops[0]
		if len(db.s) > 5 && strings.EqualFold(db.s[:5], "file:") {
			p, _, _ := strings.Cut(db.s[5:], "?")
			if strings.HasPrefix(p, "//") {
				p = strings.TrimPrefix(p, "//localhost")
				p = strings.TrimPrefix(p, "//")
				if !strings.HasPrefix(p, "/") {
					p = "/" + p
				}
			}
			db = withValue(db, p)
		}
		w.operand(sc, u, OperandRead, db)
	}
	if cl.SQLOperand > 0 && len(ops) >= cl.SQLOperand {
		given = true
		texts = append(texts, ops[cl.SQLOperand-1:]...)
	}
	if cl.NoSQL {
		// redis-cli GET key: the verbs in the data classify the command;
		// redis-cli --scan: an option says what to do.
		if len(ops) > 0 {
			given = true
		}
		for _, o := range ps.opts {
			if o.rule != nil && (o.rule.Effects != 0 || o.rule.Value != "") {
				given = true
			}
		}
	}
	if !given {
		in := sc.stdin
		switch {
		case in == nil || in.kind == stdinTerminal:
			if len(ps.opts) > 0 && ps.has("-l", "--list", "--version", "-V", "--help", "-?") {
				u.Effects = u.Effects.With(analysis.Read)
				break
			}
			u.AddFinding(analysis.FindingInteractive, u.Program+" without a command reads commands interactively")
		case in.known && !cl.NoSQL:
			texts = append(texts, arg{s: in.text, raw: in.text})
		default:
			u.AddFinding(analysis.FindingStdinToShell, u.Program+" runs commands read from "+in.desc)
			if in.effects.Has(analysis.Network) {
				u.Effects = u.Effects.With(analysis.RemoteCode)
			}
		}
	}
	// Meta-commands (\o file, .load lib, backticks) change the client's own
	// unit, so they are judged before it is recorded; the SQL statements
	// follow it as units of their own.
	var sqlTexts []string
	if !cl.NoSQL {
		msc := sc.child() // \cd in one text moves where the next ones write
		for _, t := range texts {
			if s, ok := w.clientMeta(msc, u, t, cl.Meta); ok {
				sqlTexts = append(sqlTexts, s)
			}
		}
	}
	w.finishUnit(sc, u, args)
	for _, s := range sqlTexts {
		w.sqlUnits(sc, u, s)
	}
	return true
}

// sql analyzes SQL text given to a database client.
func (w *walker) sql(sc *scope, u *analysis.Unit, a arg, meta byte) {
	if text, ok := w.clientMeta(sc.child(), u, a, meta); ok {
		w.sqlUnits(sc, u, text)
	}
}

// clientMeta judges a client's meta-commands and returns the SQL left. A
// \cd changes sc: pass a scope of the client's own.
func (w *walker) clientMeta(sc *scope, u *analysis.Unit, a arg, meta byte) (string, bool) {
	if a.dynamic {
		u.AddFinding(analysis.FindingDynamicCode, "the SQL is only known at run time")
		return "", false
	}
	text := a.s
	if meta != 0 {
		var metas []string
		text, metas = splitMeta(text, meta)
		for _, m := range metas {
			w.metaCommand(sc, u, m, meta)
		}
	}
	return text, strings.TrimSpace(text) != ""
}

// sqlUnits records the statements of SQL text as units of their own.
func (w *walker) sqlUnits(sc *scope, u *analysis.Unit, text string) {
	via := append(append([]string(nil), sc.via...), u.Program)
	for _, su := range sqlcheck.Analyze(text) {
		su.Via = via
		su.Scopes |= u.Scopes | sc.scopes
		su.Effects |= sc.effects
		w.add(&su)
	}
}

// splitMeta separates client meta-commands (psql's \cmd, sqlite3's .cmd)
// from SQL. Quotes and comments are respected well enough to find them.
func splitMeta(s string, meta byte) (sql string, metas []string) {
	var b strings.Builder
	if meta == '.' {
		for _, line := range strings.Split(s, "\n") {
			if t := strings.TrimSpace(line); strings.HasPrefix(t, ".") {
				metas = append(metas, t)
				continue
			}
			b.WriteString(line)
			b.WriteByte('\n')
		}
		return b.String(), metas
	}
	inSingle, inDouble := false, false
	dollarTag := ""
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case dollarTag != "":
			if strings.HasPrefix(s[i:], dollarTag) {
				b.WriteString(dollarTag)
				i += len(dollarTag) - 1
				dollarTag = ""
				continue
			}
		case inSingle:
			if c == '\'' {
				inSingle = false
			}
		case inDouble:
			if c == '"' {
				inDouble = false
			}
		case c == '\'':
			inSingle = true
		case c == '"':
			inDouble = true
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return b.String(), metas
			}
			i += j
			b.WriteByte('\n')
			continue
		case c == '$':
			if j := strings.IndexByte(s[i+1:], '$'); j >= 0 && isTag(s[i+1:i+1+j]) {
				dollarTag = s[i : i+j+2]
				b.WriteString(dollarTag)
				i += j + 1
				continue
			}
		case c == meta:
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				j = len(s) - i
			}
			metas = append(metas, strings.TrimSpace(s[i:i+j]))
			i += j - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), metas
}

var (
	copyProgram = regexp.MustCompile(`(?is)\b(?:to|from)\s+program\s*(.+)$`)
	copyFile    = regexp.MustCompile(`(?is)\b(to|from)\s+('[^']*'|"[^"]*"|\S+)`)
)

// backtickParts returns the texts between backquotes.
func backtickParts(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i+1:], '`')
		if j < 0 {
			return append(out, s[i+1:])
		}
		out = append(out, s[i+1:i+1+j])
		s = s[i+2+j:]
	}
}

func isTag(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// metaCommand judges one psql or sqlite3 meta-command.
func (w *walker) metaCommand(sc *scope, u *analysis.Unit, m string, meta byte) {
	name, rest, _ := strings.Cut(strings.TrimPrefix(m, string(meta)), " ")
	rest = strings.TrimSpace(rest)
	if meta == '\\' && strings.Contains(rest, "`") {
		// psql runs `text` in a meta-command's arguments as a shell command.
		for _, part := range backtickParts(rest) {
			w.evalCode(sc.nested(u.Program+" `...`", 0, 0), "psql backquotes", []arg{{s: part, raw: part}}, "psql backquotes")
		}
		u.AddFinding(analysis.FindingDynamicCode, "psql runs the backquoted text in "+truncate(m, 60)+" as a shell command")
	}
	unq := strings.Trim(rest, `'"`)
	target := func(access OperandMode) {
		rest := unq
		if strings.HasPrefix(rest, "|") {
			w.evalCode(sc.nested(u.Program+" "+string(meta)+name, 0, 0), string(meta)+name, []arg{{s: strings.TrimPrefix(rest, "|")}}, string(meta)+name)
			return
		}
		if f := strings.Fields(rest); len(f) > 0 {
			w.operand(sc, u, access, arg{s: strings.Trim(f[len(f)-1], `'"`), raw: f[len(f)-1]})
		}
	}
	switch name {
	case "!", "shell", "system":
		w.evalCode(sc.nested(u.Program+" "+string(meta)+name, 0, 0), string(meta)+name, []arg{{s: rest, raw: rest}}, string(meta)+name)
	case "o", "out", "w", "write", "output", "once", "save", "backup", "s", "g", "gx", "log", "trace", "dump":
		if strings.Contains(" "+rest+" ", " -x ") || strings.Contains(" "+rest+" ", " -e ") {
			u.AddFinding(analysis.FindingCodeConfig, "."+name+" "+rest+" opens the output in another program")
		}
		if rest != "" && !strings.HasPrefix(rest, "-") {
			target(OperandWrite)
		}
	case "i", "ir", "include", "include_relative", "read":
		if strings.HasPrefix(rest, "|") {
			target(OperandExec)
			return
		}
		u.Effects = u.Effects.With(analysis.Unknown)
		u.AddFinding(analysis.FindingScript, string(meta)+name+" runs the script "+rest)
	case "gexec":
		u.AddFinding(analysis.FindingDynamicCode, `\gexec runs the query's results as SQL`)
	case "copy":
		if m := copyProgram.FindStringSubmatch(rest); m != nil {
			cmd := strings.Trim(m[1], `'"`)
			w.evalCode(sc.nested(u.Program+` \copy program`, 0, 0), `\copy program`, []arg{{s: cmd, raw: cmd}}, `\copy program`)
			u.AddFinding(analysis.FindingDynamicCode, `\copy ... program runs a local command`)
			return
		}
		// The last TO or FROM is the file: (SELECT 'a to b') TO 'f'.
		dir, file := "", ""
		if ms := copyFile.FindAllStringSubmatch(rest, -1); len(ms) > 0 {
			m := ms[len(ms)-1]
			dir, file = strings.ToLower(m[1]), strings.Trim(m[2], `'"`)
		}
		switch {
		case dir == "from":
			u.Effects = u.Effects.With(analysis.RemoteMutation)
			if file != "" && file != "stdin" && file != "pstdin" {
				w.operand(sc, u, OperandRead, arg{s: file, raw: file})
			}
		case file != "" && file != "stdout" && file != "pstdout":
			w.operand(sc, u, OperandWrite, arg{s: file, raw: file})
		}
	case "lo_import", "import":
		if f := strings.Fields(rest); len(f) > 0 && strings.HasPrefix(strings.Trim(f[0], `'"`), "|") {
			cmd := strings.TrimPrefix(strings.Trim(f[0], `'"`), "|")
			w.evalCode(sc.nested(u.Program+" ."+name, 0, 0), "."+name, []arg{{s: cmd, raw: cmd}}, "."+name)
			return
		}
		if f := strings.Fields(unq); len(f) > 0 {
			w.operand(sc, u, OperandRead, arg{s: strings.Trim(f[0], `'"`), raw: f[0]})
		}
		u.Effects = u.Effects.With(analysis.RemoteMutation)
	case "lo_export", "restore":
		target(OperandWrite)
	case "setenv":
		// \setenv PAGER 'cmd': psql runs its pager and editor from these.
		if k, v, ok := strings.Cut(rest, " "); ok {
			v = strings.Trim(strings.TrimSpace(v), `'"`)
			w.envEffects(sc, k, arg{s: v, raw: v}, u)
		}
	case "excel":
		u.AddFinding(analysis.FindingCodeConfig, ".excel opens the output in another program")
	case "e", "edit", "ef", "ev":
		u.AddFinding(analysis.FindingInteractive, string(meta)+name+" opens an editor")
	case "load":
		u.AddFinding(analysis.FindingCodeConfig, ".load loads a shared library")
	case "c", "connect":
		u.AddFinding(analysis.FindingRetarget, string(meta)+name+" connects elsewhere: "+rest)
	case "open", "clone":
		target(OperandWrite)
	case "cd":
		if d := strings.Trim(rest, `'"`); d != "" && !strings.ContainsAny(d, "`$") {
			sc.chdir(arg{s: d, raw: d}, true)
		} else {
			sc.cwdKnown = false
		}
	case "ar", "archive":
		// .ar -x extracts into the directory of -C, or here.
		f := strings.Fields(rest)
		extract := false
		dir := "."
		for i, x := range f {
			switch {
			case x == "-x" || x == "--extract" || strings.HasPrefix(x, "-") && !strings.HasPrefix(x, "--") && strings.Contains(x, "x"):
				extract = true
			case (x == "-C" || x == "--directory") && i+1 < len(f):
				dir = strings.Trim(f[i+1], `'"`)
			}
		}
		if extract {
			w.operand(sc, u, OperandWrite, arg{s: dir, raw: dir})
		}
	}
}
