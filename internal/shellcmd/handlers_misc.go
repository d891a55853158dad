package shellcmd

import (
	"net/url"
	"path"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// handleTar works out whether tar creates, extracts or lists, and where.
func handleTar(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	mode := byte('t')
	for _, o := range ps.opts {
		switch o.name {
		case "-c", "--create", "-r", "--append", "-u", "--update", "-A", "--catenate", "--concatenate":
			mode = 'c'
		case "-x", "--extract", "--get":
			mode = 'x'
		case "--delete":
			mode = 'd'
		case "--to-command", "--use-compress-program", "-I", "--info-script", "-F", "--new-volume-script",
			"--rsh-command", "--rmt-command":
			w.evalCode(sc.nested("tar "+o.name, 0, 0), "tar "+o.name, []arg{o.val}, "tar "+o.name)
		case "--checkpoint-action":
			if cmd, ok := strings.CutPrefix(o.val.s, "exec="); ok {
				w.evalCode(sc.nested("tar --checkpoint-action", 0, 0), "tar --checkpoint-action", []arg{withValue(o.val, cmd)}, "tar")
			}
		case "-P", "--absolute-names":
			u.AddFinding(analysis.FindingRetarget, "absolute names let the archive write anywhere")
		}
	}
	archive, hasArchive := ps.value("-f", "--file")
	dest := arg{s: ".", raw: "."}
	if d, ok := ps.value("-C", "--directory"); ok {
		dest = d
	}
	if hasArchive && !archive.dynamic {
		if h, remote := remoteSpec(archive.s); remote {
			u.AddHost(h)
			u.Effects = u.Effects.With(analysis.Network)
			hasArchive = false
		}
	}
	switch mode {
	case 'c':
		u.Effects = u.Effects.With(analysis.Read)
		if hasArchive {
			w.operand(sc, u, OperandWrite, archive)
		}
		_, hasDir := ps.value("-C", "--directory")
		for _, a := range ps.operands {
			// tar -C DIR reads relative names from DIR.
			if hasDir && !strings.HasPrefix(a.s, "/") && !strings.HasPrefix(a.s, "~") {
				if dest.dynamic {
					a.dynamic = true
				}
				a.s, a.raw = path.Join(dest.s, a.s), path.Join(dest.raw, a.raw)
			}
			w.operand(sc, u, OperandRead, a)
		}
		// Names listed in a file are read from wherever they point.
		for _, o := range ps.opts {
			if o.name == "-T" || o.name == "--files-from" {
				u.Effects = u.Effects.With(analysis.Unknown)
				u.AddFinding(analysis.FindingDynamicPath, "tar "+o.name+" reads the names to archive from a file")
				w.operand(sc, u, OperandRead, o.val)
			}
		}
	case 'x':
		u.Effects = u.Effects.With(analysis.LocalWrite)
		if hasArchive {
			w.operand(sc, u, OperandRead, archive)
		}
		w.operand(sc, u, OperandWrite, dest)
		if ps.has("--overwrite", "--recursive-unlink", "-U", "--unlink-first") {
			u.Effects = u.Effects.With(analysis.Destructive)
		}
	case 'd':
		u.Effects = u.Effects.With(analysis.Destructive)
		if hasArchive {
			w.operand(sc, u, OperandWrite, archive)
		}
	default:
		u.Effects = u.Effects.With(analysis.Read)
		if hasArchive {
			w.operand(sc, u, OperandRead, archive)
		}
	}
	w.finishUnit(sc, u, args)
	return true
}

// normalizeTar turns tar's old-style first argument ("tar xzf a.tgz")
// into options.
func normalizeTar(args []arg) []arg {
	if len(args) < 2 || args[1].dynamic || strings.HasPrefix(args[1].s, "-") || args[1].s == "" {
		return args
	}
	for _, r := range args[1].s {
		if !strings.ContainsRune(tarLetters, r) {
			return args
		}
	}
	// "tar xfC a.tar dir": every letter is an option, and the letters that
	// take a value take the next operands in order (-f a.tar -C dir).
	out := []arg{args[0]}
	next := 2
	for _, r := range args[1].s {
		o := "-" + string(r)
		out = append(out, withValue(args[1], o))
		if strings.ContainsRune(tarValueLetters, r) && next < len(args) {
			out = append(out, args[next])
			next++
		}
	}
	return append(out, args[next:]...)
}

// tarLetters are tar's one-letter options; tarValueLetters take a value.
const (
	tarLetters      = "AcdrtuxfvzjJZaphkmoOPSWlGgMiBnNCTXbHKLVIFsUwe"
	tarValueLetters = "fCTXbHKLNVIFg"
)

// handleDD reads if= and of= operands.
func handleDD(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	u.Effects = u.Effects.With(analysis.Read)
	for _, a := range ps.operands {
		k, v, ok := strings.Cut(a.s, "=")
		if !ok {
			continue
		}
		switch k {
		case "if":
			w.operand(sc, u, OperandRead, withValue(a, v))
		case "of":
			before := len(u.Paths)
			w.operand(sc, u, OperandWrite, withValue(a, v))
			for _, pth := range u.Paths[before:] {
				if pth.Class == analysis.Device || pth.Class == analysis.System || pth.Class == analysis.Root {
					u.Effects = u.Effects.With(analysis.Destructive)
					u.AddFinding(analysis.FindingIrreversible, "dd overwrites "+pth.Value)
				}
			}
		}
	}
	w.finishUnit(sc, u, args)
	return true
}

// handleChmod flags setuid bits and world-writable modes.
func handleChmod(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	ops := ps.operands
	if _, ref := ps.value("--reference"); !ref && len(ops) > 0 {
		m := ops[0].s
		ops = ops[1:]
		if strings.ContainsAny(m, "s") && strings.ContainsAny(m, "+=") || octalSpecial(m) {
			u.Effects = u.Effects.With(analysis.Privilege)
			u.AddFinding(analysis.FindingRetarget, "sets the setuid/setgid bit ("+m+")")
		}
		if m == "777" || m == "666" || strings.HasSuffix(m, "777") || strings.Contains(m, "o+w") || strings.Contains(m, "a+w") ||
			strings.HasPrefix(m, "+w") {
			u.AddFinding(analysis.FindingRetarget, "makes files writable by everyone ("+m+")")
			u.Effects = u.Effects.With(analysis.Privilege)
		}
	}
	for _, a := range ops {
		w.operand(sc, u, OperandMeta, a)
	}
	w.finishUnit(sc, u, args)
	return true
}

func octalSpecial(m string) bool {
	if len(m) != 4 {
		return false
	}
	for _, r := range m {
		if r < '0' || r > '7' {
			return false
		}
	}
	return m[0] != '0' && m[0] != '1'
}

// handleKill: listing signals is harmless; signalling -1 hits every process.
func handleKill(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	if ps.has("-l", "-L", "--list", "--table") {
		u.Effects = u.Effects.With(analysis.Read)
		w.finishUnit(sc, u, args)
		return true
	}
	u.Effects = u.Effects.With(analysis.ProcessControl)
	for _, o := range ps.opts {
		if o.name == "-1" && len(ps.operands) == 0 {
			u.Scopes = u.Scopes.With(analysis.Bulk)
		}
	}
	for _, a := range ps.operands {
		if a.s == "-1" || a.s == "0" || a.s == "1" {
			u.Scopes = u.Scopes.With(analysis.Bulk)
			u.AddFinding(analysis.FindingIrreversible, "signals every process it can ("+a.s+")")
		}
	}
	w.finishUnit(sc, u, args)
	return true
}

// handleDocker flags options that hand the container the host.
func handleDocker(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	for _, o := range ps.opts {
		switch o.name {
		case "--privileged":
			u.Effects = u.Effects.With(analysis.Privilege)
			u.AddFinding(analysis.FindingRetarget, "--privileged gives the container the host's devices and capabilities")
		case "-v", "--volume", "--mount":
			host := o.val.s
			if o.name == "--mount" {
				for _, kv := range strings.Split(host, ",") {
					if k, v, ok := strings.Cut(kv, "="); ok && (k == "source" || k == "src") {
						host = v
					}
				}
			} else {
				host, _, _ = strings.Cut(host, ":")
			}
			if !strings.HasPrefix(host, "/") && !strings.HasPrefix(host, "~") && !strings.HasPrefix(host, ".") {
				continue // a named volume
			}
			shown, class := w.classifyPath(sc, withValue(o.val, host))
			u.AddPath(analysis.Path{Value: shown, Class: class, Access: analysis.AccessWrite})
			if class == analysis.Root || class == analysis.System || class == analysis.Secret || class == analysis.Home ||
				strings.Contains(host, "docker.sock") {
				u.Effects = u.Effects.With(analysis.Privilege)
				u.AddFinding(analysis.FindingRetarget, "mounts the host path "+shown+" into the container")
			}
			if class == analysis.Secret {
				u.Effects = u.Effects.With(analysis.SecretRead)
			}
		case "--pid", "--network", "--net", "--ipc", "--uts", "--userns", "--cgroupns":
			if o.val.s == "host" {
				u.Effects = u.Effects.With(analysis.Privilege)
				u.AddFinding(analysis.FindingRetarget, o.name+"=host shares the host's namespace")
			}
		case "--cap-add", "--device", "--security-opt":
			u.Effects = u.Effects.With(analysis.Privilege)
			u.AddFinding(analysis.FindingRetarget, o.name+" "+o.val.display()+" weakens the container's isolation")
		case "--env-file":
			w.operand(sc, u, OperandRead, o.val)
		case "--entrypoint":
			w.evalCode(sc.nested("docker --entrypoint", 0, analysis.Scopes(analysis.Remote)), "docker --entrypoint", []arg{o.val}, "entrypoint")
		}
	}
	return false
}

// handleGH: gh api defaults to GET, and to POST with fields; -X sets it.
func handleGH(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	if (u.Subcommand == "repo clone" || u.Subcommand == "repo fork") && ps.dd >= 0 {
		// Arguments after -- go to git clone.
		inner := []arg{{s: "git", raw: "git"}, {s: "clone", raw: "clone"}}
		inner = append(inner, args[1+ps.dd+1:]...)
		w.command(sc.nested("gh "+u.Subcommand+" --", 0, 0), inner, env)
	}
	if u.Subcommand != "api" {
		return false
	}
	if len(ps.operands) > 0 && ps.operands[0].s == "graphql" {
		mutation := false
		for _, o := range ps.opts {
			if o.hasVal && strings.Contains(strings.ToLower(o.val.s), "mutation") {
				mutation = true
			}
		}
		if !mutation {
			u.Effects = analysis.Effects(analysis.Network, analysis.Read) | sc.effects
		}
		return false
	}
	if m, ok := ps.value("-X", "--method"); ok {
		switch strings.ToUpper(m.s) {
		case "GET", "HEAD":
		case "DELETE":
			u.Effects = u.Effects.With(analysis.RemoteMutation).With(analysis.Destructive)
		default:
			u.Effects = u.Effects.With(analysis.RemoteMutation)
		}
	}
	return false
}

// handleLn remembers symbolic links, so that a write through a link made
// earlier in the command line is judged by where it points.
func handleLn(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	if !ps.has("-s", "--symbolic") || len(ps.operands) < 2 {
		return false
	}
	target, link := ps.operands[0], ps.operands[len(ps.operands)-1]
	t, okT := resolvePath(sc, target)
	l, okL := resolvePath(sc, link)
	if okT && okL {
		if !strings.HasPrefix(target.s, "/") && !strings.HasPrefix(target.s, "~") {
			// A relative target is relative to the link's directory.
			t = cleanPath(path.Dir(l) + "/" + target.s)
		}
		w.links[l] = t
		if c := w.classifyClean(t); c != analysis.Workspace && c != analysis.Temp {
			u.AddFinding(analysis.FindingRetarget, "links "+link.display()+" to "+target.display()+" ("+c.String()+")")
		}
	}
	return false
}

// rawSecret reports an API path that may read secrets or tokens: percent
// escapes decoded first (%73ecrets is secrets); one only known at run time
// may be anything.
func rawSecret(v arg) bool {
	if v.dynamic {
		return true
	}
	p := v.s
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	} else if strings.Contains(p, "%") {
		return true
	}
	p = strings.ToLower(p)
	return strings.Contains(p, "secret") || strings.Contains(p, "token") || strings.Contains(p, "proxy") ||
		strings.Contains(p, "/exec") || strings.Contains(p, "/attach")
}

// handleKubectl flags manifests fetched from the network and secrets.
func handleKubectl(w *walker, sc *scope, u *analysis.Unit, p *Program, ps *parsed, args []arg, env map[string]arg) bool {
	for _, o := range ps.opts {
		switch o.name {
		case "-f", "--filename", "-k", "--kustomize":
			if strings.Contains(o.val.s, "://") {
				w.url(sc, u, o.val)
				if u.Effects.Any(analysis.Effects(analysis.RemoteMutation, analysis.Destructive)) {
					u.Effects = u.Effects.With(analysis.RemoteCode)
					u.AddFinding(analysis.FindingScript, "applies a manifest fetched from "+o.val.s)
				}
			} else if o.val.s != "-" {
				w.operand(sc, u, OperandRead, o.val)
			}
			if out, ok := ps.value("-o", "--output"); u.Subcommand == "get" && ok && !strings.HasPrefix(out.s, "name") &&
				!strings.HasPrefix(out.s, "wide") {
				// The objects the file names may be Secrets, printed whole.
				u.Effects = u.Effects.With(analysis.SecretRead)
				u.AddFinding(analysis.FindingMetadata, "prints the objects "+o.val.display()+" names, which may be secrets")
			}
		case "--raw", "--flatten":
			switch {
			case u.Subcommand == "config view":
				u.Effects = u.Effects.With(analysis.SecretRead)
				u.AddFinding(analysis.FindingMetadata, "prints the kubeconfig's credentials")
			case rawSecret(o.val):
				u.Effects = u.Effects.With(analysis.SecretRead)
				u.AddFinding(analysis.FindingMetadata, "reads secrets through the API ("+o.val.display()+")")
			}
		case "--kubeconfig":
			w.operand(sc, u, OperandRead, o.val)
			if p, ok := resolvePath(sc, o.val); !ok || !(p == "~/.kube" || strings.HasPrefix(p, "~/.kube/")) {
				u.AddFinding(analysis.FindingCodeConfig, "a kubeconfig can run credential plugins: "+o.val.display())
			}
		case "--replicas":
			if o.val.s == "0" {
				u.Effects = u.Effects.With(analysis.Destructive)
				u.AddFinding(analysis.FindingIrreversible, "scales to zero replicas: the service stops")
			}
		}
	}
	return false
}
