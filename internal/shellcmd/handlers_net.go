package shellcmd

import (
	"net/url"
	"path"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// metadataHosts are cloud instance-metadata endpoints: they hand out the
// machine's credentials to anyone who asks.
var metadataHosts = map[string]bool{
	"169.254.169.254": true, "metadata.google.internal": true, "metadata": true, "100.100.100.200": true,
	"169.254.170.2": true, "fd00:ec2::254": true, "192.0.0.192": true, "metadata.azure.com": true,
	"169.254.169.123": true, "instance-data": true, "instance-data.ec2.internal": true,
}

func normalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if i := strings.LastIndexByte(h, '@'); i >= 0 {
		h = h[i+1:]
	}
	if strings.HasPrefix(h, "[") {
		if j := strings.IndexByte(h, ']'); j > 0 {
			return h[1:j]
		}
	}
	if strings.Count(h, ":") == 1 {
		h, _, _ = strings.Cut(h, ":")
	}
	return strings.TrimSuffix(h, ".")
}

func (w *walker) hostEffects(u *analysis.Unit, host string) {
	h := normalizeHost(host)
	if metadataHosts[h] || strings.HasPrefix(h, "169.254.") {
		u.Effects = u.Effects.With(analysis.SecretRead)
		u.AddFinding(analysis.FindingMetadata, h+" is a cloud metadata endpoint that hands out credentials")
	}
	if prodValue.MatchString(h) {
		u.Scopes = u.Scopes.With(analysis.Production)
	}
}

// url records a URL argument: its host, a local file for file://, and
// run-time data in it.
func (w *walker) url(sc *scope, u *analysis.Unit, a arg) {
	s := a.s
	if a.dynamic {
		static := a.static()
		if i := strings.Index(static, "://"); i >= 0 {
			rest := static[i+3:]
			if j := strings.IndexAny(rest, "/?#"); j >= 0 {
				h := normalizeHost(rest[:j])
				u.AddHost(h)
				w.hostEffects(u, h)
				u.AddFinding(analysis.FindingDataInURL, "the URL "+a.display()+" carries data only known at run time")
				if a.src.Any(analysis.Effects(analysis.SecretRead, analysis.Read)) || a.src == 0 {
					// Local data, or a variable from the environment, which
					// may hold a credential whatever its name.
					u.Effects = u.Effects.With(analysis.Exfiltration)
				}
				return
			}
		}
		u.AddFinding(analysis.FindingDataInURL, "the destination "+a.display()+" is only known at run time")
		if a.src.Any(analysis.Effects(analysis.SecretRead, analysis.Read)) || a.src == 0 {
			u.Effects = u.Effects.With(analysis.Exfiltration)
		}
		return
	}
	if strings.HasPrefix(strings.ToLower(s), "file:") {
		p := strings.TrimPrefix(strings.TrimPrefix(s[5:], "//"), "localhost")
		fa := arg{s: p, raw: s}
		// %XX is decoded; curl expands {a,b} and [x-y] itself: a pattern.
		if dec, err := url.PathUnescape(p); err != nil {
			fa.dynamic = true
		} else {
			fa.s = dec
		}
		switch {
		case strings.ContainsAny(fa.s, "{}"):
			fa.dynamic = true
		case strings.ContainsAny(fa.s, "[]*?"):
			fa.glob = true
		}
		w.operand(sc, u, OperandRead, fa)
		return
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	parsed, err := url.Parse(s)
	if err != nil || parsed.Host == "" {
		u.AddFinding(analysis.FindingDataInURL, "the destination "+a.s+" could not be read")
		return
	}
	h := normalizeHost(parsed.Host)
	u.AddHost(h)
	w.hostEffects(u, h)
}

// savedFromURL records the file a download saves under the URL's name,
// so that running it later in the same command line is seen.
func (w *walker) savedFromURL(sc *scope, u *analysis.Unit, a arg) {
	if a.dynamic {
		return
	}
	s := a.s
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	pu, err := url.Parse(s)
	if err != nil {
		return
	}
	base := path.Base(pu.Path)
	if base == "" || base == "/" || base == "." {
		base = "index.html"
	}
	w.operand(sc, u, OperandWrite, arg{s: base, raw: base})
}

// handleGit judges git's global options: -c settings that run commands,
// aliases, and retargeting.
func handleGit(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	aliases := map[string]string{}
	for _, o := range ps.opts {
		switch o.name {
		case "-c", "--config-env":
			key, val, _ := strings.Cut(o.val.s, "=")
			if o.name == "--config-env" {
				val = "$" + val
			}
			w.gitConfig(sc, u, strings.ToLower(key), arg{s: val, raw: val, dynamic: o.val.dynamic || o.name == "--config-env"}, aliases)
		case "--git-dir", "--work-tree":
			if d, ok := resolvePath(sc, o.val); !ok || w.classifyClean(d) != analysis.Workspace {
				u.AddFinding(analysis.FindingRetarget, o.name+" "+o.val.display()+" points git outside the workspace")
			}
		case "--exec-path":
			if o.hasVal {
				u.AddFinding(analysis.FindingCodeConfig, "--exec-path makes git run its commands from "+o.val.display())
			}
		}
	}
	if ps.unknownSub != "" {
		if a, ok := aliases[ps.unknownSub]; ok && !strings.HasPrefix(a, "!") {
			// git -c alias.st=status st: judge what the alias expands to.
			inner := []arg{{s: "git", raw: "git"}}
			for _, f := range strings.Fields(a) {
				inner = append(inner, arg{s: f, raw: f})
			}
			for i, x := range ps.operands {
				if i > 0 {
					inner = append(inner, x)
				}
			}
			w.command(sc.nested("git alias "+ps.unknownSub, 0, 0), inner, env)
			return true
		}
	}
	switch u.Subcommand {
	case "config":
		ops := append([]arg(nil), ps.operands...)
		global := ps.has("--global")
		if ps.has("--system") {
			w.operand(sc, u, OperandWrite, arg{s: "/etc/gitconfig", raw: "/etc/gitconfig"})
		}
		getting := ps.has("--get", "--get-all", "--get-regexp", "-l", "--list", "--show-origin", "--name-only", "--get-urlmatch")
		unset := ps.has("--unset", "--unset-all", "--remove-section", "--rename-section", "--replace-all", "--add")
		if len(ops) >= 1 && ops[0].s == "get" || len(ops) >= 1 && ops[0].s == "list" {
			getting = true
		}
		if len(ops) >= 2 && ops[0].s == "set" {
			ops = ops[1:]
		}
		switch {
		case getting:
			u.Effects = u.Effects.With(analysis.Read)
		case len(ops) >= 2 || unset:
			u.Effects = u.Effects.With(analysis.LocalWrite)
			if global {
				w.operand(sc, u, OperandWrite, arg{s: "~/.gitconfig", raw: "~/.gitconfig"})
			}
			if len(ops) >= 2 {
				before := len(u.Findings)
				w.gitConfig(sc, u, strings.ToLower(ops[0].s), ops[1], map[string]string{})
				if len(u.Findings) > before {
					u.AddFinding(analysis.FindingCodeConfig, "stores a setting that makes later git commands run code")
				}
			}
		default:
			u.Effects = u.Effects.With(analysis.Read)
		}
	case "checkout":
		if ps.dd >= 0 || ps.has("-f", "--force", "-p", "--patch", "--ours", "--theirs") || hasOperand(ps, ".") {
			u.Effects = u.Effects.With(analysis.Destructive)
			u.AddFinding(analysis.FindingIrreversible, "discards uncommitted changes in the working tree")
		}
	case "restore":
		if !ps.has("--staged", "-S") || ps.has("--worktree", "-W") {
			u.Effects = u.Effects.With(analysis.Destructive)
			u.AddFinding(analysis.FindingIrreversible, "discards uncommitted changes in the working tree")
		}
	case "submodule foreach", "bisect run":
		w.finishUnit(sc, u, args)
		w.evalCode(sc.nested("git "+u.Subcommand, 0, 0), "git "+u.Subcommand, ps.operands, "git "+u.Subcommand)
		return true
	}
	return false
}

func hasOperand(ps *parsed, s string) bool {
	for _, a := range ps.operands {
		if !a.dynamic && a.s == s {
			return true
		}
	}
	return false
}

// gitConfig judges one git configuration setting.
func (w *walker) gitConfig(sc *scope, u *analysis.Unit, key string, val arg, aliases map[string]string) {
	runs := func(what string) {
		if val.dynamic {
			u.AddFinding(analysis.FindingCodeConfig, key+" runs a command only known at run time")
			return
		}
		if val.s == "" || val.s == "cat" || val.s == "less" || val.s == "more" {
			return
		}
		u.AddFinding(analysis.FindingExecEnv, key+" makes git run "+truncate(val.s, 80))
		w.script(sc.nested("git -c "+key, 0, 0), val.s, "git -c "+key)
	}
	switch {
	case strings.HasPrefix(key, "submodule.") && strings.HasSuffix(key, ".update") && strings.HasPrefix(val.s, "!"):
		val.s = strings.TrimPrefix(val.s, "!")
		runs(key)
	case strings.HasPrefix(key, "gc.") && (val.s == "now" || val.s == "all" || val.s == "0"):
		u.Effects = u.Effects.With(analysis.Destructive)
		u.AddFinding(analysis.FindingIrreversible, key+"="+val.s+" makes git gc destroy history that could be recovered")
	case strings.HasPrefix(key, "alias."):
		name := strings.TrimPrefix(key, "alias.")
		aliases[name] = val.s
		if strings.HasPrefix(val.s, "!") {
			val.s = strings.TrimPrefix(val.s, "!")
			runs("alias")
		}
	case key == "core.pager" || strings.HasPrefix(key, "pager.") || key == "core.editor" || key == "sequence.editor" ||
		key == "core.sshcommand" || key == "core.fsmonitor" || key == "core.askpass" || key == "core.gitproxy" ||
		key == "diff.external" || strings.HasSuffix(key, ".textconv") || strings.HasSuffix(key, ".command") ||
		strings.HasSuffix(key, ".driver") || strings.HasSuffix(key, ".clean") || strings.HasSuffix(key, ".smudge") ||
		strings.HasSuffix(key, ".process") || key == "credential.helper" || strings.HasSuffix(key, ".helper") ||
		key == "gpg.program" || strings.HasSuffix(key, ".program") || key == "uploadpack.packobjectshook" ||
		strings.HasSuffix(key, ".uploadpack") || strings.HasSuffix(key, ".receivepack") || key == "web.browser" ||
		strings.HasSuffix(key, ".cmd") || strings.HasSuffix(key, "command") || key == "interactive.difffilter" || key == "sendemail.tocmd" ||
		key == "sendemail.cccmd" || key == "sendemail.smtpserver" || strings.HasSuffix(key, ".proxycommand"):
		runs(key)
	case key == "core.hookspath" && !val.dynamic && !strings.HasPrefix(val.s, "/") && !strings.HasPrefix(val.s, "~") &&
		!strings.Contains(val.s, ".."):
		// Hooks kept in the workspace are workspace code, like a Makefile.
	case key == "core.hookspath" || strings.HasPrefix(key, "include") || key == "core.worktree" ||
		strings.HasPrefix(key, "protocol.") || strings.HasSuffix(key, ".insteadof") || strings.HasSuffix(key, ".pushinsteadof") ||
		key == "http.proxy" || key == "core.sshcommand" || key == "safe.directory":
		u.AddFinding(analysis.FindingCodeConfig, key+"="+truncate(val.display(), 60)+" changes what git runs or where it connects")
	}
}

// handleCurl judges method, uploads, outputs and config files.
func handleCurl(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	method := ""
	sends := false
	for _, o := range ps.opts {
		switch o.name {
		case "-X", "--request":
			method = strings.ToUpper(o.val.s)
		case "-G", "--get":
			method = "GET" // the data goes into the URL's query
		case "-d", "--data", "--data-binary", "--data-raw", "--data-ascii", "--data-urlencode", "--json", "-F", "--form",
			"--form-string":
			sends = true
			v := o.val.s
			if o.name == "-F" || o.name == "--form" || o.name == "--data-urlencode" {
				if _, after, ok := strings.Cut(v, "@"); ok {
					v = "@" + after
				} else if _, after, ok := strings.Cut(v, "<"); ok {
					v = "@" + after
				}
			}
			if strings.HasPrefix(v, "@") && o.name != "--data-raw" {
				f := withValue(o.val, strings.TrimPrefix(v, "@"))
				if i := strings.IndexByte(f.s, ';'); i >= 0 && (o.name == "-F" || o.name == "--form") {
					f.s = f.s[:i]
				}
				w.operand(sc, u, OperandUpload, f)
			}
		case "-T", "--upload-file":
			sends = true
			w.operand(sc, u, OperandUpload, o.val)
		case "-K", "--config":
			u.Effects = u.Effects.With(analysis.Unknown)
			u.AddFinding(analysis.FindingScript, "curl reads more options from "+o.val.display())
		case "--unix-socket", "--abstract-unix-socket":
			if strings.Contains(o.val.s, "docker.sock") || strings.Contains(o.val.s, "containerd") {
				u.Effects = u.Effects.With(analysis.Privilege)
				u.AddFinding(analysis.FindingRetarget, "talks to the container runtime socket "+o.val.s)
			}
		case "--url":
			w.url(sc, u, o.val)
		case "--variable":
			// --variable %NAME imports an environment variable into the request.
			if name, ok := strings.CutPrefix(o.val.s, "%"); ok {
				name, _, _ = strings.Cut(name, "=")
				if secretVarName.MatchString(name) {
					u.Effects = u.Effects.With(analysis.SecretRead).With(analysis.Exfiltration)
					u.AddFinding(analysis.FindingSecretFlow, "sends the environment variable "+name)
				}
			}
		case "--resolve", "--connect-to":
			u.AddFinding(analysis.FindingRetarget, o.name+" "+o.val.display()+" sends the request to another address")
		}
		switch o.name {
		case "-d", "--data", "--data-binary", "--data-raw", "--data-ascii", "--data-urlencode", "--json", "-F", "--form",
			"--form-string", "-T", "--upload-file", "-K", "--config":
		default:
			// Many more options read their value from a file with @:
			// -H @headers, --url-query name@file, --variable name@file.
			if !o.hasVal || o.val.dynamic {
				break
			}
			v := o.val.s
			if o.name == "--url-query" || o.name == "--variable" {
				if _, after, ok := strings.Cut(v, "@"); ok {
					v = "@" + after
				}
			}
			if f, ok := strings.CutPrefix(v, "@"); ok && f != "" {
				sends = true
				w.operand(sc, u, OperandUpload, withValue(o.val, f))
			}
		}
	}
	for _, a := range ps.operands {
		w.url(sc, u, a)
		if ps.has("-O", "--remote-name", "--remote-name-all") {
			w.savedFromURL(sc, u, a)
		}
	}
	for _, o := range ps.opts {
		if o.name == "--noproxy" || ((o.name == "-x" || o.name == "--proxy") && (o.val.s == "" || o.val.s == "direct://")) {
			u.AddFinding(analysis.FindingProxyBypass, "curl "+o.name+" "+o.val.display()+" goes around the egress proxy")
		}
	}
	switch {
	case method == "DELETE":
		u.Effects = u.Effects.With(analysis.RemoteMutation).With(analysis.Destructive)
	case method == "POST" || method == "PUT" || method == "PATCH" || (method == "" && sends):
		u.Effects = u.Effects.With(analysis.RemoteMutation)
	case method == "" || method == "GET" || method == "HEAD" || method == "OPTIONS":
	default:
		u.Effects = u.Effects.With(analysis.RemoteMutation)
	}
	return false
}

// handleWget judges uploads and outputs.
func handleWget(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	for _, o := range ps.opts {
		switch o.name {
		case "--post-data", "--body-data":
			u.Effects = u.Effects.With(analysis.RemoteMutation)
		case "--post-file", "--body-file":
			u.Effects = u.Effects.With(analysis.RemoteMutation)
			w.operand(sc, u, OperandUpload, o.val)
		case "--method":
			if m := strings.ToUpper(o.val.s); m != "GET" && m != "HEAD" {
				u.Effects = u.Effects.With(analysis.RemoteMutation)
				if m == "DELETE" {
					u.Effects = u.Effects.With(analysis.Destructive)
				}
			}
		case "-e", "--execute", "--config":
			u.Effects = u.Effects.With(analysis.Unknown)
			u.AddFinding(analysis.FindingScript, "wget takes extra settings from "+o.val.display())
		}
	}
	saves := !ps.has("-O", "--output-document", "-P", "--directory-prefix", "--spider")
	if saves {
		u.Effects = u.Effects.With(analysis.LocalWrite)
	}
	for _, a := range ps.operands {
		w.url(sc, u, a)
		if saves {
			w.savedFromURL(sc, u, a)
		}
	}
	return false
}

// handleSSH handles -o settings that run local commands and tunnels; the
// remote command is handled by the generic wrapper.
func handleSSH(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	for _, o := range ps.opts {
		switch o.name {
		case "-o":
			k, v, ok := strings.Cut(o.val.s, "=")
			if !ok {
				k, v, _ = strings.Cut(o.val.s, " ")
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "proxycommand", "localcommand", "knownhostscommand", "remotecommand":
				val := withValue(o.val, strings.TrimSpace(v))
				u.AddFinding(analysis.FindingExecEnv, k+" runs a command")
				w.evalCode(sc.nested("ssh -o "+k, 0, 0), "ssh -o "+k, []arg{val}, "ssh -o "+k)
			case "permitlocalcommand":
			}
		case "-L", "-R", "-D", "-w":
			u.AddFinding(analysis.FindingRetarget, "opens a tunnel ("+o.name+" "+o.val.display()+")")
			u.Effects = u.Effects.With(analysis.Network)
		case "-F":
			u.AddFinding(analysis.FindingScript, "reads ssh settings (which can run commands) from "+o.val.display())
			u.Effects = u.Effects.With(analysis.Unknown)
		}
	}
	if ps.has("-N", "-W", "-O") && len(ps.rest) <= 1 {
		if len(ps.rest) == 1 {
			w.operand(sc, u, OperandHost, ps.rest[0])
		}
		w.finishUnit(sc, u, args)
		return true
	}
	if len(ps.rest) == 1 && sc.stdin != nil && sc.stdin.kind != stdinTerminal {
		// ssh host < script.sh: the remote shell runs whatever arrives.
		w.operand(sc, u, OperandHost, ps.rest[0])
		u.Scopes = u.Scopes.With(analysis.Remote)
		if sc.stdin.kind == stdinHeredoc {
			u.AddFinding(analysis.FindingHeredocShell, "a remote shell runs "+sc.stdin.desc)
		} else {
			u.AddFinding(analysis.FindingStdinToShell, "a remote shell runs code from "+sc.stdin.desc)
		}
		w.finishUnit(sc, u, args)
		if sc.stdin.known {
			c := sc.nested("ssh "+ps.rest[0].display(), analysis.Effects(analysis.Network), analysis.Scopes(analysis.Remote))
			c.stdin = nil
			w.script(c, sc.stdin.text, "ssh stdin")
		}
		return true
	}
	return false
}

// remoteSpec splits scp/rsync operands of the form [user@]host:path.
func remoteSpec(s string) (host string, ok bool) {
	if strings.HasPrefix(s, "rsync://") {
		rest := strings.TrimPrefix(s, "rsync://")
		h, _, _ := strings.Cut(rest, "/")
		return normalizeHost(h), true
	}
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "~") {
		return "", false
	}
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return "", false
	}
	if j := strings.IndexByte(s, '/'); j >= 0 && j < i {
		return "", false
	}
	return normalizeHost(s[:i]), true
}

// handleCopyRemote: scp and rsync copy between local paths and hosts.
func handleCopyRemote(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	for _, o := range ps.opts {
		switch o.name {
		case "-e", "--rsh", "-S":
			w.evalCode(sc.nested(u.Program+" "+o.name, 0, 0), u.Program+" "+o.name, []arg{o.val}, u.Program+" "+o.name)
		case "--rsync-path":
			w.evalCode(sc.nested(u.Program+" --rsync-path", analysis.Effects(analysis.Network), analysis.Scopes(analysis.Remote)),
				"rsync --rsync-path", []arg{o.val}, "rsync --rsync-path")
		case "-o":
			if k, v, ok := strings.Cut(o.val.s, "="); ok && strings.EqualFold(k, "ProxyCommand") {
				w.evalCode(sc.nested(u.Program+" -o ProxyCommand", 0, 0), "ProxyCommand", []arg{withValue(o.val, v)}, "ProxyCommand")
			}
		}
	}
	ops := ps.operands
	if len(ops) == 0 {
		w.finishUnit(sc, u, args)
		return true
	}
	dst := ops[len(ops)-1]
	srcs := ops[:len(ops)-1]
	dstHost, dstRemote := remoteSpec(dst.s)
	for _, s := range srcs {
		if h, remote := remoteSpec(s.s); remote {
			u.AddHost(h)
			w.hostEffects(u, h)
			u.Effects = u.Effects.With(analysis.Network)
			continue
		}
		if dstRemote {
			w.operand(sc, u, OperandUpload, s)
		} else {
			w.operand(sc, u, OperandRead, s)
		}
	}
	if dstRemote {
		u.AddHost(dstHost)
		w.hostEffects(u, dstHost)
		u.Effects = u.Effects.With(analysis.Network).With(analysis.RemoteMutation)
	} else {
		w.operand(sc, u, OperandWrite, dst)
	}
	w.finishUnit(sc, u, args)
	return true
}

// handleNetcat: nc -e/-c is a shell wired to a socket; nc host port sends
// its input.
func handleNetcat(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	for _, o := range ps.opts {
		switch o.name {
		case "-e", "-c", "--exec", "--sh-exec", "--lua-exec":
			u.Effects = u.Effects.With(analysis.RemoteCode).With(analysis.Exfiltration)
			u.AddFinding(analysis.FindingReverseShell, "nc "+o.name+" gives the other end a program to drive: "+o.val.display())
		}
	}
	if len(ps.operands) > 0 {
		w.operand(sc, u, OperandHost, ps.operands[0])
	}
	if !ps.has("-z") {
		u.Effects = u.Effects.With(analysis.RemoteMutation)
	}
	if ps.has("-l", "--listen") {
		u.AddFinding(analysis.FindingRetarget, "listens for incoming connections")
	}
	return false
}

// handleSocat: addresses such as EXEC: and SYSTEM: run programs.
func handleSocat(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	execs, nets := 0, 0
	for _, a := range ps.operands {
		kind, rest, _ := strings.Cut(a.s, ":")
		switch strings.ToUpper(kind) {
		case "EXEC", "SYSTEM":
			execs++
			cmd, _, _ := strings.Cut(rest, ",")
			w.evalCode(sc.nested("socat "+kind, 0, 0), "socat", []arg{withValue(a, cmd)}, "socat")
		case "TCP", "TCP4", "TCP6", "UDP", "UDP4", "UDP6", "OPENSSL", "SCTP", "SOCKS4", "SOCKS4A", "PROXY":
			nets++
			h, _, _ := strings.Cut(rest, ":")
			u.AddHost(h)
			w.hostEffects(u, h)
		case "TCP-LISTEN", "TCP4-LISTEN", "TCP6-LISTEN", "UDP-LISTEN", "OPENSSL-LISTEN":
			nets++
		case "FILE", "OPEN", "CREATE", "GOPEN":
			f, _, _ := strings.Cut(rest, ",")
			w.operand(sc, u, OperandRead, withValue(a, f))
		}
	}
	if execs > 0 && nets > 0 {
		u.Effects = u.Effects.With(analysis.RemoteCode).With(analysis.Exfiltration)
		u.AddFinding(analysis.FindingReverseShell, "socat wires a program to a network socket")
	}
	if nets > 0 {
		u.Effects = u.Effects.With(analysis.RemoteMutation)
	}
	return false
}

// handleHTTPie: http [METHOD] URL [ITEMS].
func handleHTTPie(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	ops := ps.operands
	method := ""
	if len(ops) > 0 && !ops[0].dynamic {
		switch m := strings.ToUpper(ops[0].s); m {
		case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
			method = m
			ops = ops[1:]
		}
	}
	if len(ops) > 0 {
		w.url(sc, u, ops[0])
		ops = ops[1:]
	}
	data := false
	for _, it := range ops {
		switch {
		case strings.Contains(it.s, "=@") || strings.Contains(it.s, ":=@") || strings.Contains(it.s, "@") && !strings.Contains(it.s, "="):
			_, f, _ := strings.Cut(it.s, "@")
			w.operand(sc, u, OperandUpload, withValue(it, f))
			data = true
		case strings.Contains(it.s, "="):
			data = true
		}
	}
	switch {
	case method == "DELETE":
		u.Effects = u.Effects.With(analysis.RemoteMutation).With(analysis.Destructive)
	case method == "POST" || method == "PUT" || method == "PATCH" || (method == "" && data):
		u.Effects = u.Effects.With(analysis.RemoteMutation)
	}
	return false
}
