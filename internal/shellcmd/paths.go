package shellcmd

import (
	"path"
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

func cleanPath(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		rest := strings.TrimPrefix(p, "~")
		if climbsOut(rest) {
			// ~/../.. leaves the home directory for a place that depends on
			// where home is: unknown.
			return unknownPlace
		}
		c := path.Clean("/" + rest)
		if c == "/" {
			return "~"
		}
		return "~" + c
	}
	return path.Clean(p)
}

// unknownPlace is the clean form of a path whose location is not known
// (it climbs out of ~); it classifies as unknown.
const unknownPlace = "\x00unknown"

// climbsOut says whether a relative path (after ~) goes above its start
// at some point.
func climbsOut(rest string) bool {
	depth := 0
	for _, seg := range strings.Split(rest, "/") {
		switch seg {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// pseudoPath reports paths that are not files: they are never recorded.
func pseudoPath(p string) bool {
	switch p {
	case "/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/stdin", "/dev/stdout",
		"/dev/stderr", "/dev/tty", "/dev/full", "-":
		return true
	}
	for _, pre := range []string{"/dev/fd/", "/proc/self/fd/"} {
		if n, ok := strings.CutPrefix(p, pre); ok && isDigits(n) {
			return true // an open descriptor, not a path (/dev/fd/../.. is a path)
		}
	}
	return false
}

// networkPath reports bash's /dev/tcp and /dev/udp pseudo-files.
func networkPath(p string) (host string, ok bool) {
	for _, pre := range []string{"/dev/tcp/", "/dev/udp/"} {
		if rest, found := strings.CutPrefix(p, pre); found {
			h, _, _ := strings.Cut(rest, "/")
			return h, true
		}
	}
	return "", false
}

// resolvePath turns an argument into a clean path, resolving relative paths
// against the scope's working directory. ok is false when the location is
// not known statically.
func resolvePath(sc *scope, a arg) (p string, ok bool) {
	v := a.s
	if a.dynamic {
		v = a.static()
		// Only a prefix that ends at a separator says where the path lies.
		if i := strings.LastIndexByte(v, '/'); i >= 0 {
			v = v[:i+1]
		} else if v != "~" {
			return "", false
		}
	}
	if a.glob {
		if i := strings.IndexAny(v, "*?["); i >= 0 {
			v = v[:i]
			if j := strings.LastIndexByte(v, '/'); j >= 0 {
				v = v[:j+1]
			} else {
				v = "."
			}
		}
	}
	if v == "" {
		return "", false
	}
	if strings.HasPrefix(v, "/proc/") {
		if v, ok = procLink(sc, v); !ok {
			return "", false
		}
	}
	switch {
	case strings.HasPrefix(v, "/"), v == "~", strings.HasPrefix(v, "~/"):
		return cleanPath(v), true
	case sc.cwdKnown:
		return cleanPath(sc.cwd + "/" + v), true
	}
	return "", false
}

// procLink follows the links under /proc/PID that the kernel resolves
// before any "..": /proc/self/cwd/../x is x next to the working directory,
// /proc/1/root/etc/shadow is /etc/shadow. ok is false when the target is
// not known (another process's working directory, an open file).
func procLink(sc *scope, v string) (string, bool) {
	rest := strings.TrimPrefix(v, "/proc/")
	pid, rest, _ := strings.Cut(rest, "/")
	if pid == "self" || pid == "thread-self" || isDigits(pid) {
		if after, ok := strings.CutPrefix(rest, "task/"); ok {
			_, rest, _ = strings.Cut(after, "/")
		}
	}
	link, tail, hasTail := strings.Cut(rest, "/")
	switch link {
	case "root":
		return "/" + tail, true
	case "cwd":
		if (pid == "self" || pid == "thread-self") && sc.cwdKnown {
			return sc.cwd + "/" + tail, true
		}
		return "", false
	case "fd", "map_files", "exe":
		if hasTail && strings.Contains(tail, "/") || link == "exe" && hasTail {
			return "", false // a path through an open file or directory
		}
	}
	return v, true
}

// procWindows are the /proc entries through which a process's files,
// memory and environment can be reached.
var procWindows = map[string]bool{"root": true, "cwd": true, "fd": true, "environ": true, "mem": true,
	"map_files": true, "task": true}

// otherProcess says whether p goes through another process's /proc
// window: a pid that is not "self" (a number, a variable such as $PPID,
// a glob) followed by root, cwd, fd, environ, mem, map_files or task.
func otherProcess(p string) bool {
	rest, ok := strings.CutPrefix(p, "/proc/")
	if !ok {
		return false
	}
	pid, tail, ok := strings.Cut(rest, "/")
	if !ok || pid == "self" || pid == "thread-self" {
		return false
	}
	entry, _, _ := strings.Cut(tail, "/")
	return procWindows[entry] || strings.ContainsAny(entry, "*?[") || strings.Contains(entry, dyn)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// binDirs hold installed programs: a program named by a path in one of
// them is judged by its name (/usr/bin/rm is rm). Anywhere else, the path
// is a file that happens to have a program's name.
var binDirs = map[string]bool{"/bin": true, "/sbin": true, "/usr/bin": true, "/usr/sbin": true, "/usr/local/bin": true,
	"/usr/local/sbin": true, "/usr/games": true, "/snap/bin": true, "/opt/homebrew/bin": true,
	"/usr/lib/git-core": true, "/usr/libexec/git-core": true}

// classifyPath says where a path argument lies.
func (w *walker) classifyPath(sc *scope, a arg) (string, analysis.PathClass) {
	shown := a.display()
	if a.listed && a.dynamic {
		// A name listed by find, ls or grep -l under workspace roots.
		return shown, analysis.Workspace
	}
	if !a.dynamic && !a.glob && pseudoPath(a.s) {
		return shown, analysis.UnknownPath
	}
	if otherProcess(a.s) {
		// Another process's root, cwd, open files, memory or environment:
		// any process, the gateway (the command's parent) included.
		return shown, analysis.GatewayPath
	}
	p, ok := resolvePath(sc, a)
	if ok && otherProcess(p) {
		return shown, analysis.GatewayPath
	}
	if !ok {
		// Even without a location, some names are secrets wherever they are.
		if !a.dynamic && secretName(path.Base(a.s)) {
			return shown, analysis.Secret
		}
		return shown, analysis.UnknownPath
	}
	c := w.classifyClean(p)
	if a.glob {
		c = max(c, w.classifyGlob(sc, a))
	}
	if w.holdsProtected(p) {
		// Reading this directory recursively reads the gateway's files:
		// the unit's classification checks its scope (see classify).
		w.holdsGateway[shown] = true
	}
	if a.dynamic && !a.glob {
		// /proc/$$/environ: a run-time part in the middle of a path that
		// names a secret wherever it points.
		if q, ok := resolvePath(sc, arg{s: strings.ReplaceAll(a.s, dyn, "1")}); ok && secretPath(q) {
			return shown, analysis.Secret
		}
	}
	if sc.cwdAlt != "" && (!strings.HasPrefix(a.s, "/") && !strings.HasPrefix(a.s, "~") || strings.HasPrefix(a.s, "/proc/")) {
		// cd may have failed, leaving the shell where it was: judge the
		// path from there too.
		if alt, ok := resolvePath(&scope{cwd: sc.cwdAlt, cwdKnown: true}, a); ok {
			c = max(c, w.classifyClean(alt))
		}
	}
	for l, t := range w.links {
		// A link made earlier in this command line, or a path through
		// one: judge where it points.
		if under(p, l) {
			c = max(c, w.classifyClean(cleanPath(t+strings.TrimPrefix(p, l))))
		}
	}
	if a.dynamic && c != analysis.Secret && c != analysis.Root && c != analysis.System && c != analysis.Device {
		// A run-time suffix can climb out with "..": only a sensitive
		// prefix is worth trusting.
		return shown, analysis.UnknownPath
	}
	if a.dynamic && c == analysis.Root {
		// "/$X" could be anywhere; "/" itself is known to be sensitive.
		return shown, analysis.System
	}
	return shown, c
}

func under(p, dir string) bool {
	if dir == "" {
		return false
	}
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// sensitiveExamples are concrete credential paths that a glob is tested
// against: "~/.ss?/id_rsa" and "/home/*/.ssh/id_rsa" match one.
var sensitiveExamples = []string{
	"~/.ssh/id_rsa", "~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.aws/credentials", "~/.aws/config", "~/.netrc",
	"~/.git-credentials", "~/.kube/config", "~/.docker/config.json", "~/.gnupg/secring.gpg", "~/.pgpass",
	"~/.config/gcloud/credentials.db", "~/.config/gh/hosts.yml", "~/.azure/accessTokens.json", "~/.npmrc", "~/.pypirc",
	"~/.vault-token", "~/.bash_history", "~/.zsh_history", "/etc/shadow", "/etc/gshadow", "/etc/sudoers",
	"/root/.ssh/id_rsa", "/root/.aws/credentials", "/home/user/.ssh/id_rsa", "/home/user/.aws/credentials",
	"/var/run/secrets/kubernetes.io/serviceaccount/token", "/run/secrets/token", "/proc/self/environ", "/proc/1/environ",
	"/etc/ssl/private/server.key", "/etc/kubernetes/admin.conf",
}

// sensitiveNames are credential file names a relative glob is tested against.
var sensitiveNames = []string{
	".env", ".env.local", ".env.production", "id_rsa", "id_ed25519", "server.key", "private.pem", "key.pem",
	"credentials", "credentials.json", "secrets.yaml", "secrets.json", "terraform.tfstate", ".npmrc", ".pypirc",
	".pgpass", ".netrc", ".git-credentials", "service-account.json", "kubeconfig", ".vault-token", "token",
}

// classifyGlob says whether a glob may match a credential file, and where
// it lies when ".." follows a glob segment (.gi[t]/../../x).
func (w *walker) classifyGlob(sc *scope, a arg) analysis.PathClass {
	v := a.s
	if a.dynamic {
		return analysis.UnknownPath
	}
	var full string
	switch {
	case strings.HasPrefix(v, "/"), v == "~", strings.HasPrefix(v, "~/"):
		full = v
	case sc.cwdKnown:
		full = sc.cwd + "/" + v
	default:
		return analysis.UnknownPath
	}
	c := w.classifyClean(cleanPath(full))
	pattern := cleanPath(full)
	m := w.globMatcher()
	if w.globReachesProtected(pattern) {
		return analysis.GatewayPath
	}
	for _, ex := range sensitiveExamples {
		if m.match(pattern, ex) {
			return analysis.Secret
		}
	}
	// A name pattern with some letters of its own (.en?, *.pem, id_*), or
	// one that can match hidden names (.??*, .[!.]*, * with dotglob): does
	// it match a credential file's name in its directory?
	segs := strings.Split(pattern, "/")
	last := segs[len(segs)-1]
	if ext, ok := strings.CutPrefix(last, "*."); ok && literalLen(ext) == len(ext) && !m.nocase {
		// *.pem: only a credential extension makes it a secret.
		if secretName("x." + ext) {
			return analysis.Secret
		}
		return c
	}
	if literalLen(last) >= 2 || strings.HasPrefix(last, ".") || strings.HasPrefix(last, "[") || m.dotglob {
		for _, name := range sensitiveNames {
			if m.match(pattern, path.Dir(pattern)+"/"+name) {
				return analysis.Secret
			}
		}
	}
	return c
}

// globReachesProtected says whether a glob may name a protected path, a
// file inside one, or a directory that holds one: its segments match a
// protected path's, as far as both go.
func (w *walker) globReachesProtected(pattern string) bool {
	m := w.globMatcher()
	ps := strings.Split(pattern, "/")
	for i, seg := range ps {
		// What Go's matcher does not speak (POSIX classes, extglob) is
		// taken as matching anything in its segment.
		if strings.Contains(seg, "[[:") || extglobSeg.MatchString(seg) {
			ps[i] = "*"
		}
	}
	for _, d := range w.a.protected {
		ds := strings.Split(d, "/")
		for i, seg := range ps {
			if seg == "**" {
				// ** (globstar) spans any number of segments: reaching the
				// prefix before it is enough.
				if m.match(strings.Join(ps[:i], "/"), strings.Join(ds[:min(i, len(ds))], "/")) {
					return true
				}
				break
			}
		}
		k := min(len(ps), len(ds))
		if m.match(strings.Join(ps[:k], "/"), strings.Join(ds[:k], "/")) {
			return true
		}
	}
	return false
}

// extglobSeg matches a path segment with a bash extglob pattern.
var extglobSeg = regexp.MustCompile(`[?*+@!]\(`)

// holdsProtected says whether the directory p holds a protected path.
func (w *walker) holdsProtected(p string) bool {
	for _, d := range w.a.protected {
		if under(d, p) {
			return true
		}
	}
	return false
}

// globMatcher matches like bash with the shell options in force.
type globMatcher struct{ dotglob, nocase bool }

func (w *walker) globMatcher() globMatcher {
	return globMatcher{dotglob: w.shopts["dotglob"], nocase: w.shopts["nocaseglob"]}
}

// match matches like bash: without dotglob, a name's leading dot must be
// matched by a segment that starts with a dot or a bracket expression.
func (m globMatcher) match(pattern, name string) bool {
	if m.nocase {
		pattern, name = strings.ToLower(pattern), strings.ToLower(name)
	}
	pattern = strings.ReplaceAll(pattern, "[!", "[^") // bash's negation is Go's [^...]
	ps, ns := strings.Split(pattern, "/"), strings.Split(name, "/")
	if len(ps) != len(ns) {
		return false
	}
	for i := range ps {
		if !m.dotglob && strings.HasPrefix(ns[i], ".") && !strings.HasPrefix(ps[i], ".") && !strings.HasPrefix(ps[i], "[") {
			return false
		}
		if ok, err := path.Match(ps[i], ns[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func literalLen(seg string) int {
	n := 0
	depth := 0
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; {
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case c == '*' || c == '?':
		case depth == 0:
			n++
		}
	}
	return n
}

// classifyClean classifies a cleaned absolute or home-relative path.
func (w *walker) classifyClean(p string) analysis.PathClass {
	if p == unknownPlace {
		return analysis.UnknownPath
	}
	if rest, ok := strings.CutPrefix(p, "/dev/fd/"); ok && !isDigits(rest) {
		p = cleanPath("/proc/self/fd/" + rest) // /dev/fd is /proc/self/fd
	}
	for _, d := range w.a.protected {
		if under(p, d) {
			return analysis.GatewayPath
		}
	}
	if secretPath(p) {
		return analysis.Secret
	}
	if p == "/" {
		return analysis.Root
	}
	if devicePath(p) {
		return analysis.Device
	}
	if under(p, w.workdir) {
		return analysis.Workspace
	}
	switch {
	case under(p, "/tmp"), under(p, "/var/tmp"), under(p, "/dev/shm"):
		return analysis.Temp
	case p == "~" || strings.HasPrefix(p, "~/"), under(p, "/home"), under(p, "/root"), under(p, "/Users"):
		return analysis.Home
	}
	for _, d := range systemDirs {
		if under(p, d) {
			return analysis.System
		}
	}
	return analysis.Outside
}

var systemDirs = []string{
	"/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/sys", "/proc",
	"/dev", "/var", "/opt", "/srv", "/run", "/snap", "/mnt", "/media", "/lost+found", "/System",
	"/Library", "/private",
}

// holdsSecrets reports directories whose tree holds credential files:
// reading them recursively reads the credentials too.
func holdsSecrets(p string) bool {
	switch p {
	case "/", "~", "/home", "/root", "/etc", "/var", "/var/run", "/run", "/proc", "/etc/ssl", "/etc/kubernetes",
		"~/.config", "~/.local", "~/.local/share", "/var/lib", "/var/lib/kubelet", "/Users":
		return true
	}
	if strings.HasPrefix(p, "/home/") && strings.Count(p, "/") == 2 {
		return true
	}
	return false
}

// codeConfigPath reports files whose content other tools run later: git
// hooks and git configuration.
func codeConfigPath(p string) bool {
	return strings.Contains(p, "/.git/hooks/") || strings.HasSuffix(p, "/.git/config") ||
		strings.Contains(p, "/.husky/") || strings.HasSuffix(p, "/.envrc") ||
		strings.HasPrefix(p, ".git/hooks/") || p == ".git/config"
}

func devicePath(p string) bool {
	if p == "/proc/sysrq-trigger" || strings.HasPrefix(p, "/sys/firmware/") || p == "/proc/sys/kernel/sysrq" {
		return true
	}
	if !strings.HasPrefix(p, "/dev/") {
		return false
	}
	for _, pre := range []string{"/dev/sd", "/dev/hd", "/dev/vd", "/dev/xvd", "/dev/nvme", "/dev/mmcblk",
		"/dev/mapper/", "/dev/disk/", "/dev/md", "/dev/dm-", "/dev/loop", "/dev/mem", "/dev/kmem", "/dev/port",
		"/dev/sr", "/dev/rdisk", "/dev/disk"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// secretDirs are directories whose every file holds credentials.
var secretDirs = []string{
	".ssh", ".aws", ".gnupg", ".azure", ".kube", ".password-store", ".config/gcloud", ".config/gh",
	".config/hub", ".docker", ".oci", ".config/doctl", ".terraform.d", ".vault", ".secrets",
	".config/op", ".local/share/keyrings", ".mozilla/firefox", ".config/google-chrome", ".config/chromium",
	".config/rclone", ".config/sops", ".config/age", ".config/configstore", ".m2/settings.xml", ".m2/settings-security.xml",
	".gradle/gradle.properties", ".cargo/credentials", ".cargo/credentials.toml", ".config/pip/pip.conf", ".pip/pip.conf",
	".local/share/fish/fish_history", ".config/hcloud", ".config/doppler", ".config/netlify", ".config/vercel",
	".config/heroku", ".netlify", ".fly", ".wrangler", ".config/wrangler",
}

// secretDirSegs is secretDirs split into path segments, once.
var secretDirSegs = func() [][]string {
	out := make([][]string, len(secretDirs))
	for i, d := range secretDirs {
		out[i] = strings.Split(d, "/")
	}
	return out
}()

var secretPrefixes = []string{
	"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssl/private", "/var/run/secrets", "/run/secrets",
	"/etc/kubernetes/admin.conf", "/etc/kubernetes/pki", "/etc/ssh/ssh_host_", "/proc/kcore",
	"/etc/rancher/k3s/k3s.yaml", "/var/lib/kubelet/pki", "/etc/pki/private",
	"/etc/wireguard", "/etc/kubernetes/kubelet.conf", "/etc/kubernetes/controller-manager.conf",
	"/etc/kubernetes/scheduler.conf", "/etc/kubernetes/super-admin.conf", "/etc/NetworkManager/system-connections",
	"/var/lib/docker/containers", "/etc/ipsec.secrets", "/etc/ppp/chap-secrets", "/etc/ppp/pap-secrets", "/etc/openvpn",
	"/var/lib/rancher/k3s/server/token", "/etc/letsencrypt/live", "/etc/letsencrypt/archive", "/var/lib/kubelet/kubeconfig",
	"/etc/machine-id-secret", "/etc/krb5.keytab",
}

func secretPath(p string) bool {
	for _, pre := range secretPrefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	if strings.HasPrefix(p, "/proc/") && (strings.HasSuffix(p, "/environ") || strings.HasSuffix(p, "/mem") ||
		strings.HasSuffix(p, "/cmdline") || strings.Contains(p, "/root/")) {
		return true
	}
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i := range segs {
		for _, ds := range secretDirSegs {
			if segs[i] == ds[0] && i+len(ds) <= len(segs) && equalSegs(segs[i:i+len(ds)], ds) {
				// Public halves of key pairs and known_hosts are not secrets.
				base := segs[len(segs)-1]
				if len(ds) == 1 && ds[0] == ".ssh" && (strings.HasSuffix(base, ".pub") || base == "known_hosts" || base == "config") && i+1 < len(segs) {
					return false
				}
				return true
			}
		}
	}
	return secretName(segs[len(segs)-1])
}

func equalSegs(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// secretName reports file names that hold credentials wherever they are.
func secretName(base string) bool {
	b := strings.ToLower(base)
	switch b {
	case ".env", ".netrc", "_netrc", ".git-credentials", ".npmrc", ".pypirc", ".pgpass", ".my.cnf", ".boto",
		".s3cfg", "credentials", "credentials.json", "credentials.csv", "credentials.yml", "credentials.yaml",
		"secrets.yml", "secrets.yaml", "secrets.json", ".htpasswd", "shadow", "gshadow", "master.key",
		".vault-token", "kubeconfig", ".bash_history", ".zsh_history", "terraform.tfstate",
		"terraform.tfstate.backup", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk",
		".dockercfg", "token", "serviceaccount.json", "client_secret.json", "auth.json", ".envrc",
		".psql_history", ".mysql_history", ".python_history", ".node_repl_history", ".sqlite_history",
		".rediscli_history", ".irb_history", ".pry_history", ".lesshst", ".viminfo", "fish_history", ".terraformrc",
		"terraform.rc", "credentials.toml", "rclone.conf", ".yarnrc.yml", "vault_pass.txt", ".vault_pass",
		".vault-password", "keys.txt.age", ".git-credential-cache", "kubelet.conf", "wg0.conf", "config.v2.json":
		return true
	}
	if strings.HasPrefix(b, ".env.") {
		switch strings.TrimPrefix(b, ".env.") {
		case "example", "sample", "template", "dist", "defaults", "schema":
			return false
		}
		return true
	}
	if strings.HasSuffix(b, ".pem") && !strings.Contains(b, "key") && !strings.Contains(b, "priv") &&
		(strings.Contains(b, "cert") || strings.Contains(b, "chain") || strings.Contains(b, "bundle") ||
			strings.HasPrefix(b, "ca") || strings.Contains(b, "pub")) {
		return false // a certificate, which is public
	}
	for _, suf := range []string{".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx", ".ppk", ".tfstate", ".gpg", ".age"} {
		if strings.HasSuffix(b, suf) {
			return true
		}
	}
	if strings.HasPrefix(b, "service-account") && strings.HasSuffix(b, ".json") {
		return true
	}
	for _, pre := range []string{"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"} {
		if strings.HasPrefix(b, pre) && !strings.HasSuffix(b, ".pub") {
			return true
		}
	}
	return false
}
