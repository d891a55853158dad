package shellcmd

import (
	"net/url"
	"path"
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// call analyzes a simple command: its assignments, its arguments (and the
// substitutions in them) and then the command itself.
func (w *walker) call(sc *scope, ce *syntax.CallExpr) {
	w.seen[ce] = true
	if w.full {
		return
	}
	if len(ce.Args) == 0 {
		for _, as := range ce.Assigns {
			w.assign(sc, as, true)
		}
		return
	}
	env := map[string]arg{}
	for _, as := range ce.Assigns {
		if as.Name == nil {
			continue
		}
		env[as.Name.Value] = w.assignValue(sc, as)
	}
	args := w.fields(sc, ce.Args)
	if len(args) == 0 {
		return
	}
	w.command(sc, args, env)
}

// assignValue expands the value of an assignment.
func (w *walker) assignValue(sc *scope, as *syntax.Assign) arg {
	if as.Array != nil {
		var words []*syntax.Word
		for _, e := range as.Array.Elems {
			if e.Value != nil {
				words = append(words, e.Value)
			}
		}
		items := w.fields(sc, words)
		a := arg{s: strings.Join(args2strings(items), " "), raw: "(...)"}
		for _, it := range items {
			a.dynamic = a.dynamic || it.dynamic
			a.src |= it.src
		}
		return a
	}
	if as.Value == nil {
		return arg{}
	}
	return w.literal(sc, as.Value)
}

// assignVar sets a variable, unless the analysis cannot follow it.
func (w *walker) assignVar(sc *scope, name string, v variable) {
	if _, ok := w.tainted[name]; ok {
		v = variable{}
	}
	if w.intVars[name] && v.known && !v.isList {
		w.dataCode(sc, name, v.str, "declare -i evaluates what is assigned to "+name+" as arithmetic")
		v = variable{}
	}
	sc.set(name, v)
}

// dataCode is called where bash evaluates a variable's value again as code
// (arithmetic, ${x@P}, subscripts): a value holding a command substitution
// runs it. It analyzes those commands and marks the evaluation opaque.
func (w *walker) dataCode(sc *scope, name, value, why string) {
	if !strings.Contains(value, "$(") && !strings.Contains(value, "`") && !strings.Contains(value, "${") &&
		!strings.Contains(value, "<(") && !strings.Contains(value, ">(") {
		return
	}
	key := name + "\x00" + value
	if w.dataSeen[key] {
		return
	}
	w.dataSeen[key] = true
	u := w.opaque(sc, name+"="+value, analysis.FindingDynamicCode, why+": its value "+truncate(value, 80)+" holds a command")
	u.Program = name
	// Parse the value as a word to find the commands it would run.
	p := w.a.parsers.Get().(*syntax.Parser)
	word, err := p.Document(strings.NewReader(value))
	w.a.parsers.Put(p)
	if err != nil {
		return
	}
	w.srcs = append(w.srcs, value)
	syntax.Walk(word, func(n syntax.Node) bool { return !w.substitutionNode(sc, n) })
	w.srcs = w.srcs[:len(w.srcs)-1]
}

// evalVarsIn checks the variables a word makes bash evaluate again as code:
// names in arithmetic, subscripts and ${x@P}.
func (w *walker) evalVarsIn(sc *scope, node syntax.Node) {
	check := func(name, why string) {
		if v, ok := sc.lookup(name); ok && v.known && !v.isList {
			w.dataCode(sc, name, v.str, why)
		}
	}
	syntax.Walk(node, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.ArithmExp, *syntax.ArithmCmd, *syntax.LetClause:
			syntax.Walk(n, func(m syntax.Node) bool {
				switch m := m.(type) {
				case *syntax.Lit:
					if isName(m.Value) {
						check(m.Value, "arithmetic evaluates "+m.Value)
					}
				case *syntax.ParamExp:
					if m.Param != nil {
						check(m.Param.Value, "arithmetic evaluates $"+m.Param.Value)
					}
				}
				return true
			})
			return false
		case *syntax.ParamExp:
			if n.Param == nil {
				return true
			}
			if n.Index != nil {
				w.evalVarsIn(sc, &syntax.ArithmExp{X: n.Index})
			}
			if n.Slice != nil {
				// ${s:x:y} evaluates x and y as arithmetic.
				for _, x := range []syntax.ArithmExpr{n.Slice.Offset, n.Slice.Length} {
					if x != nil {
						w.evalVarsIn(sc, &syntax.ArithmExp{X: x})
					}
				}
			}
			if n.Excl {
				check(n.Param.Value, "${!"+n.Param.Value+"} looks up the variable its value names")
			}
			if n.Exp != nil && n.Exp.Op == syntax.OtherParamOps && n.Exp.Word != nil && n.Exp.Word.Lit() == "P" {
				check(n.Param.Value, "${"+n.Param.Value+"@P} expands its value as a prompt")
			}
		}
		return true
	})
}

// assign performs a shell variable assignment in sc.
func (w *walker) assign(sc *scope, as *syntax.Assign, exported bool) {
	if as.Name == nil {
		if as.Value != nil {
			// "declare $x": the word may expand to anything.
			w.literal(sc, as.Value)
		}
		return
	}
	name := as.Name.Value
	if as.Naked {
		return
	}
	if (name == "BASH_CMDS" || name == "BASH_ALIASES") && as.Index == nil {
		// BASH_CMDS=([ls]=/bin/rm), +=, declare -A: rebinds command names
		// in ways not followed here.
		w.defs++
		w.opaque(sc, name+"=...", analysis.FindingDynamicCode, name+" rebinds command names")
		return
	}
	if as.Index != nil {
		w.arithm(sc, as.Index)
		if idx := printArith(as.Index); strings.ContainsAny(idx, "$`") {
			w.dataCode(sc, name, idx, "the subscript of "+name+" is evaluated as arithmetic")
		}
		if as.Value != nil && (name == "BASH_CMDS" || name == "BASH_ALIASES") {
			// BASH_CMDS[ls]=/bin/rm makes "ls" run /bin/rm.
			key := strings.Trim(printArith(as.Index), `"'`)
			val := w.literal(sc, as.Value)
			if val.dynamic || !isName(strings.ReplaceAll(key, "-", "_")) {
				w.opaque(sc, name+"["+key+"]="+val.display(), analysis.FindingDynamicCode, name+" rebinds command names")
			} else if name == "BASH_CMDS" {
				w.hashed[key] = val
				w.markDefined("hash "+key, w.cond > 0)
				w.defs++
			} else {
				w.aliases[key] = val.s
				w.aliasDefs = append(w.aliasDefs, key)
			}
			return
		}
		w.assignVar(sc, name, variable{})
		return
	}
	if as.Array != nil {
		var words []*syntax.Word
		for _, e := range as.Array.Elems {
			if e.Index != nil {
				w.arithm(sc, e.Index)
			}
			if e.Value != nil {
				words = append(words, e.Value)
			}
		}
		items := w.fields(sc, words)
		v := variable{isList: true, known: true}
		for _, it := range items {
			if it.dynamic || it.glob {
				v.known = false
			}
			v.list = append(v.list, it.s)
		}
		for _, e := range as.Array.Elems {
			if e.Index != nil {
				v.known = false // [1]=x [0]=y: indices, or an associative array
			}
		}
		if as.Append {
			v.known = false
		}
		w.assignVar(sc, name, v)
		return
	}
	val := w.literal(sc, as.Value)
	v := variable{str: val.s, known: !val.dynamic}
	if as.Append {
		old, ok := sc.lookup(name)
		v.str = old.str + val.s
		v.known = ok && old.known && v.known
	}
	w.assignVar(sc, name, v)
	w.envEffects(sc, name, arg{s: v.str, raw: val.raw, dynamic: !v.known, src: val.src, decoded: val.decoded}, nil)
}

// decl handles declare, local, export, readonly and typeset.
func (w *walker) decl(sc *scope, d *syntax.DeclClause) {
	// Attributes that change what later assignments mean: -n (a name
	// reference), -l/-u/-c (case), -i (arithmetic). The analysis does not
	// follow them: those variables become unknown.
	var flags string
	if d.Variant.Value == "nameref" {
		flags = "n"
	}
	for _, as := range d.Args {
		if as.Naked && as.Name == nil && as.Value != nil {
			if f := as.Value.Lit(); strings.HasPrefix(f, "-") {
				flags += f[1:]
			}
		}
	}
	if strings.Contains(flags, "f") && (d.Variant.Value == "readonly" || strings.Contains(flags, "r")) {
		// readonly -f NAME: later definitions of NAME fail.
		for _, as := range d.Args {
			if as.Name != nil {
				w.readonly[as.Name.Value] = w.cond == 0 || w.readonly[as.Name.Value]
			}
		}
	}
	if strings.ContainsAny(flags, "nluci") {
		for _, as := range d.Args {
			if as.Name == nil {
				continue
			}
			if strings.ContainsAny(flags, "nluc") {
				w.tainted[as.Name.Value] = "declare -" + flags
				if strings.Contains(flags, "n") && as.Value != nil {
					// The target of a reference changes through it.
					if t := w.literal(sc, as.Value); !t.dynamic {
						w.dataCode(sc, as.Name.Value, t.s, "the name reference "+as.Name.Value+" evaluates its target")
						w.tainted[t.s] = "the target of declare -n " + as.Name.Value
						sc.set(t.s, variable{})
					}
				}
			}
			if strings.Contains(flags, "i") {
				w.intVars[as.Name.Value] = true
				if as.Value != nil {
					// declare -i n=x evaluates x, and the value of a variable x.
					if v := w.literal(sc, as.Value); !v.dynamic {
						w.dataCode(sc, as.Name.Value, v.s, "declare -i evaluates "+as.Name.Value+" as arithmetic")
						if ref, ok := sc.lookup(v.s); ok && ref.known && isName(v.s) {
							w.dataCode(sc, v.s, ref.str, "declare -i evaluates "+v.s+" as arithmetic")
						}
					}
				}
			}
		}
	}
	for _, as := range d.Args {
		if as.Naked && as.Name == nil && as.Value != nil {
			a := w.literal(sc, as.Value)
			if !a.dynamic && !strings.HasPrefix(a.s, "-") {
				// declare 'arr=($(cmd))': bash parses the argument again.
				w.dataCode(sc, d.Variant.Value, a.s, d.Variant.Value+" parses "+truncate(a.s, 40)+" again as an assignment")
			}
			if a.dynamic {
				// "export $(cat .env)" sets names only known at run time.
				u := w.newUnit(sc, []arg{{s: d.Variant.Value}, a})
				u.Program = d.Variant.Value
				u.Effects = u.Effects.With(analysis.Read)
				if a.src.Has(analysis.SecretRead) {
					u.Effects = u.Effects.With(analysis.SecretRead)
				}
				u.AddFinding(analysis.FindingDynamicArg, "sets variables whose names are only known at run time")
				w.add(u)
			}
			continue
		}
		if as.Naked && as.Name == nil {
			continue
		}
		w.assign(sc, as, d.Variant.Value == "export")
	}
}

func printArith(x syntax.ArithmExpr) string {
	var sb strings.Builder
	p := printers.Get().(*syntax.Printer)
	defer printers.Put(p)
	if err := p.Print(&sb, x); err != nil {
		return "?"
	}
	return sb.String()
}

// commandEnvVars are variables whose value is a command line that programs
// run later (git runs $PAGER, ssh runs $SSH_ASKPASS, ...).
var commandEnvVars = map[string]bool{
	"PAGER": true, "GIT_PAGER": true, "MANPAGER": true, "SYSTEMD_PAGER": true, "EDITOR": true, "VISUAL": true,
	"GIT_EDITOR": true, "GIT_SEQUENCE_EDITOR": true, "GIT_SSH_COMMAND": true, "GIT_SSH": true,
	"GIT_EXTERNAL_DIFF": true, "GIT_ASKPASS": true, "SSH_ASKPASS": true, "SUDO_ASKPASS": true,
	"PROMPT_COMMAND": true, "LESSOPEN": true, "LESSCLOSE": true, "BROWSER": true, "KUBE_EDITOR": true,
	"GIT_PROXY_COMMAND": true, "RSYNC_RSH": true, "CVS_RSH": true, "FZF_DEFAULT_COMMAND": true,
	"SVN_EDITOR": true, "HGEDITOR": true, "FCEDIT": true, "TERMINAL": true, "CC": true, "CXX": true, "LD": true,
	"AR": true, "CPP": true, "FC": true, "GIT_SEQUENCE_EDITOR_CMD": true, "DIFFTOOL": true, "MERGETOOL": true,
	"GH_PAGER": true, "GH_BROWSER": true, "GH_EDITOR": true, "GLAB_PAGER": true, "AWS_PAGER": true, "GCCGO": true,
	"CC_FOR_TARGET": true, "CXX_FOR_TARGET": true, "PKG_CONFIG": true, "GPG_TTY_PROGRAM": true, "PSQL_PAGER": true,
	"PSQL_EDITOR": true, "SUDO_EDITOR": true, "SELECTED_EDITOR": true, "BAT_PAGER": true, "DELTA_PAGER": true,
	"MANPAGER_CMD": true, "LESSEDIT": true, "GIT_DIFF_OPTS_CMD": true, "HGMERGE": true, "AS": true, "NM": true,
	"OBJCOPY": true, "OBJDUMP": true, "STRIP": true, "RANLIB": true, "READELF": true, "CC_LD": true, "CXX_LD": true,
	"LINK": true,
}

// codeEnvVars are variables that make programs load or run code the
// analysis cannot see.
var codeEnvVars = map[string]bool{
	"LD_PRELOAD": true, "LD_AUDIT": true, "LD_LIBRARY_PATH": true, "DYLD_INSERT_LIBRARIES": true,
	"DYLD_LIBRARY_PATH": true, "BASH_ENV": true, "ENV": true, "PYTHONSTARTUP": true, "PERL5OPT": true,
	"PERL5DB": true, "RUBYOPT": true, "JAVA_TOOL_OPTIONS": true, "_JAVA_OPTIONS": true, "JDK_JAVA_OPTIONS": true,
	"GIT_EXEC_PATH": true, "GIT_TEMPLATE_DIR": true, "GIT_CONFIG_PARAMETERS": true, "GIT_CONFIG_GLOBAL": true,
	"GIT_CONFIG_SYSTEM": true, "GIT_CONFIG": true, "PS0": true, "PS4": true, "SHELLOPTS": true, "BASHOPTS": true,
	"NODE_OPTIONS": true, "PYTHONINSPECT": true, "LUA_INIT": true, "PYTHONHOME": true,
	"RUSTC": true, "RUSTC_WRAPPER": true, "RUSTC_WORKSPACE_WRAPPER": true, "RUSTDOC": true, "GOROOT": true,
	"GOENV": true, "CGO_CFLAGS": true, "CGO_CXXFLAGS": true, "CGO_LDFLAGS": true, "CGO_CPPFLAGS": true,
	"COMPILER_PATH": true, "GCC_EXEC_PREFIX": true, "LIBRARY_PATH": true, "CPATH": true, "C_INCLUDE_PATH": true,
	"CPLUS_INCLUDE_PATH": true, "GCC_COMPARE_DEBUG": true, "DEPENDENCIES_OUTPUT": true, "SUNPRO_DEPENDENCIES": true,
	"CCACHE_PREFIX": true, "CCACHE_COMPILER": true, "DISTCC_HOSTS": true, "RUSTC_LINKER": true, "CARGO_HOME_BIN": true,
	"MAKEFILES": true, "MAKEFLAGS": true, "MFLAGS": true, "GNUMAKEFLAGS": true, "MAKESHELL": true, ".SHELLFLAGS": true,
	"GCONV_PATH": true, "LESSKEY": true, "LESSKEY_SRC": true, "LESSKEYIN": true,
	// Configuration files and homes: the files they point at can run code.
	"HOME": true, "XDG_CONFIG_HOME": true, "CURL_HOME": true, "WGETRC": true, "AWS_CONFIG_FILE": true,
	"PIP_CONFIG_FILE": true, "NPM_CONFIG_USERCONFIG": true, "NPM_CONFIG_GLOBALCONFIG": true, "GEMRC": true,
	"IRBRC": true, "INPUTRC": true, "DOCKER_CONFIG": true, "CARGO_HOME": true, "BUNDLE_GEMFILE": true,
	"PYTHONUSERBASE": true, "GNUPGHOME": true, "ZDOTDIR": true, "PSQLRC": true, "MYSQL_HOME": true, "MANOPT": true,
	"AWS_SHARED_CREDENTIALS_FILE": true, "TF_CLI_CONFIG_FILE": true, "TERRAFORM_CONFIG": true, "HELM_PLUGINS": true,
	"SHELL": true, "LOCPATH": true, "PYTHONBREAKPOINT": true, "GIT_ALLOW_PROTOCOL": true, "GIT_SSL_NO_VERIFY": true,
	"SSL_CERT_FILE": true, "SSL_CERT_DIR": true, "CURL_CA_BUNDLE": true, "REQUESTS_CA_BUNDLE": true,
	"NODE_EXTRA_CA_CERTS": true, "NODE_TLS_REJECT_UNAUTHORIZED": true, "DOCKER_HOST": true, "CONTAINER_HOST": true,
	// Package sources: where dependencies are fetched from.
	"PIP_INDEX_URL": true, "PIP_EXTRA_INDEX_URL": true, "PIP_FIND_LINKS": true, "PIP_TRUSTED_HOST": true,
	"UV_INDEX_URL": true, "UV_EXTRA_INDEX_URL": true, "UV_DEFAULT_INDEX": true, "UV_INDEX": true,
	"YARN_NPM_REGISTRY_SERVER": true, "YARN_REGISTRY": true, "BUN_CONFIG_REGISTRY": true, "GOPROXY": true,
	"GONOSUMDB": true, "GONOSUMCHECK": true, "GOINSECURE": true, "GOFLAGS": true, "CARGO_REGISTRIES_CRATES_IO_PROTOCOL": true,
	// Default options read from the environment: they can add options that
	// run commands (tar --checkpoint-action, zip -TT, rg --pre).
	"TAR_OPTIONS": true, "ZIPOPT": true, "UNZIP": true, "UNZIPOPT": true, "ZIPINFO": true, "GZIP": true, "BZIP2": true,
	"BZIP": true, "XZ_OPT": true, "XZ_DEFAULTS": true, "RIPGREP_CONFIG_PATH": true, "GREP_OPTIONS": true, "LESS_TERMCAP_": true,
	"RUSTFLAGS": true, "RUSTDOCFLAGS": true, "CARGO_ENCODED_RUSTFLAGS": true, "CFLAGS": true, "CXXFLAGS": true,
	"LDFLAGS": true, "CPPFLAGS": true, "GOGC_CMD": true, "NPM_CONFIG_SCRIPT_SHELL": true, "PYTEST_ADDOPTS": true,
	"PYTEST_PLUGINS": true, "DENO_DIR": true, "COMPOSER_HOME": true, "BUNDLE_CONFIG": true, "GRADLE_USER_HOME": true,
}

// compilerFlagVars pass flags to compilers and linkers: harmless unless a
// flag loads or runs another program.
var compilerFlagVars = map[string]bool{"CFLAGS": true, "CXXFLAGS": true, "LDFLAGS": true, "CPPFLAGS": true,
	"RUSTFLAGS": true, "RUSTDOCFLAGS": true}

// benignCompilerFlags reports flags that optimize, warn, define or pick a
// standard, and none that names a program, plugin, linker or response file.
func benignCompilerFlags(v string) bool {
	for _, f := range strings.Fields(v) {
		l := strings.ToLower(f)
		if strings.HasPrefix(l, "@") || strings.HasPrefix(l, "-b") || strings.HasPrefix(l, "-wl,") ||
			strings.HasPrefix(l, "-wa,") || strings.HasPrefix(l, "-wp,") || strings.HasPrefix(l, "-x") ||
			strings.Contains(l, "plugin") || strings.Contains(l, "wrapper") || strings.Contains(l, "linker") ||
			strings.Contains(l, "specs") || strings.Contains(l, "fuse-ld") || strings.Contains(l, "load") ||
			strings.HasPrefix(l, "-c") && l != "-c" || l == "-z" || strings.Contains(l, "=/") || strings.Contains(l, "~") {
			return false
		}
	}
	return true
}

// codeEnvSuffixes are families of such variables named by their end:
// MAVEN_OPTS, GRADLE_OPTS, SBT_OPTS pass options, -javaagent among them, to
// a JVM.
var codeEnvSuffixes = []string{"_OPTS", "_JAVA_OPTIONS", "_OPTIONS_FILE"}

// codeEnvPrefixes are families of such variables.
var codeEnvPrefixes = []string{"GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_", "BASH_FUNC_", "npm_config_", "NPM_CONFIG_", "YARN_",
	"CARGO_TARGET_", "CARGO_BUILD_", "POETRY_REPOSITORIES_", "POETRY_SOURCE_", "UV_INDEX_", "AWS_ENDPOINT_URL",
	"TF_CLI_ARGS"}

// searchPathVars list directories code is loaded from: harmless when
// every entry is in the workspace.
var searchPathVars = map[string]bool{"PYTHONPATH": true, "NODE_PATH": true, "PERL5LIB": true, "PERLLIB": true,
	"RUBYLIB": true, "CLASSPATH": true, "GEM_PATH": true, "LD_RUN_PATH": true, "GEM_HOME": true, "GOPATH": true,
	"GOMODCACHE": true, "BUNDLE_PATH": true, "VIRTUAL_ENV": true}

// traceFileVars name a file the program writes.
var traceFileVars = map[string]bool{"GIT_TRACE": true, "GIT_TRACE2": true, "GIT_TRACE2_EVENT": true,
	"GIT_TRACE2_PERF": true, "GIT_TRACE_PACKET": true, "GIT_TRACE_PERFORMANCE": true, "GIT_TRACE_SETUP": true,
	"SSLKEYLOGFILE": true, "HISTFILE": true, "LD_DEBUG_OUTPUT": true, "PYTHONPYCACHEPREFIX": true}

var prodValue = regexp.MustCompile(`(?i)(^|[^a-z])(prod|production|prd|live)([^a-z]|$)`)

// envEffects judges one environment assignment. u, when given, is the unit
// of the command the assignment is for.
func (w *walker) envEffects(sc *scope, name string, val arg, u *analysis.Unit) {
	switch {
	case proxyVar(name):
		x := w.opaque(sc, name+"="+val.display(), analysis.FindingProxyBypass, name+" changes how programs reach the network")
		x.Program = name
	case commandEnvVars[name]:
		if val.s == "" {
			return
		}
		if val.dynamic {
			w.opaque(sc, name+"="+val.display(), analysis.FindingCodeConfig, name+" is set to a command only known at run time")
			return
		}
		w.script(sc.nested(name+"=", 0, 0), val.s, name)
	case searchPathVars[name]:
		for _, dir := range strings.Split(val.s, ":") {
			if dir == "" {
				continue
			}
			if strings.Contains(dir, dyn) || strings.HasPrefix(dir, "$") {
				x := w.opaque(sc, name+"="+val.display(), analysis.FindingCodeConfig, name+" loads code from a directory only known at run time")
				x.Program = name
				return
			}
			if _, c := w.classifyPath(sc, arg{s: dir, raw: dir, dynamic: strings.Contains(dir, dyn)}); c != analysis.Workspace && c != analysis.Home {
				x := w.opaque(sc, name+"="+val.display(), analysis.FindingCodeConfig, name+" loads code from "+dir+", outside the workspace")
				x.Program = name
				return
			}
		}
	case traceFileVars[name]:
		if strings.ContainsAny(val.s, "/~.") && u != nil {
			w.operand(sc, u, OperandWrite, withValue(val, val.s))
		}
	case name == "HOME" && !val.dynamic && homeDir(val.s):
	case name == "GOFLAGS" && !val.dynamic && !strings.Contains(val.s, "exec") && !strings.Contains(val.s, "vettool") &&
		!strings.Contains(val.s, "overlay") && !strings.Contains(val.s, "modfile"):
	case name == "GOPROXY" && !val.dynamic && goProxyOK(val.s):
	case name == "NODE_OPTIONS" && !val.dynamic && benignNodeOptions(val.s):
	case compilerFlagVars[name] && !val.dynamic && benignCompilerFlags(val.s):
	case name == "KUBECONFIG" && !val.dynamic && allUnder(val.s, "~/.kube"):
	case name == "KUBECONFIG":
		x := w.opaque(sc, name+"="+val.display(), analysis.FindingCodeConfig, "a kubeconfig can run credential plugins: "+val.display())
		x.Program = name
	case name == "SHELL" && !val.dynamic && (val.s == "/bin/bash" || val.s == "/bin/sh" || val.s == "/usr/bin/bash" || val.s == "/bin/zsh"):
	case name == "LESS" && (strings.Contains(val.s, "lesskey") || val.dynamic):
		x := w.opaque(sc, name+"="+val.display(), analysis.FindingCodeConfig, "LESS loads a lesskey file that can run commands")
		x.Program = name
	case name == "GOTOOLCHAIN" && strings.Contains(val.s, "path"):
		x := w.opaque(sc, name+"="+val.display(), analysis.FindingCodeConfig, "GOTOOLCHAIN runs a go toolchain found on PATH")
		x.Program = name
	case codeEnvVars[name] || hasAnyPrefix(name, codeEnvPrefixes) || hasAnySuffix(name, codeEnvSuffixes):
		x := w.opaque(sc, name+"="+val.display(), analysis.FindingCodeConfig, name+" makes programs load code the analysis cannot see")
		x.Program = name
	case name == "PATH":
		if bad := w.pathEntries(sc, val); bad != "" {
			x := w.opaque(sc, "PATH="+val.display(), analysis.FindingPathOverride,
				"PATH puts "+bad+" before the system's programs, so program names may resolve to other files")
			x.Effects = x.Effects.With(analysis.WorkspaceExec)
		}
	case name == "GIT_DIR" || name == "GIT_WORK_TREE" || name == "GIT_INDEX_FILE":
		if d, ok := resolvePath(sc, val); u != nil && (!ok || w.classifyClean(d) != analysis.Workspace) {
			u.AddFinding(analysis.FindingRetarget, name+" points git outside the workspace, at "+val.display())
		}
	case name == "KUBECONFIG" || name == "AWS_PROFILE" || name == "KUBE_CONTEXT" || name == "CLOUDSDK_CORE_PROJECT" ||
		name == "GOOGLE_CLOUD_PROJECT" || name == "AZURE_SUBSCRIPTION_ID" || name == "TF_WORKSPACE" || name == "ENVIRONMENT" ||
		name == "ENV_NAME" || name == "STAGE" || name == "RAILS_ENV" || name == "NODE_ENV" || name == "APP_ENV" ||
		name == "PGHOST" || name == "PGDATABASE" || name == "PGSERVICE" || name == "DATABASE_URL" || name == "MYSQL_HOST" ||
		name == "REDIS_URL" || name == "MONGODB_URI" || name == "DOCKER_CONTEXT" || name == "CLOUDSDK_ACTIVE_CONFIG_NAME":
		if u != nil && prodValue.MatchString(val.s) && name != "NODE_ENV" {
			u.Scopes = u.Scopes.With(analysis.Production)
		}
	}
}

// command analyzes one command given as an argv: a function call, an alias,
// a builtin or a program.
func (w *walker) command(sc *scope, args []arg, env map[string]arg) {
	if w.full || len(args) == 0 {
		return
	}
	if sc.depth > w.a.limits.MaxDepth {
		w.opaque(sc, shellJoin(args2strings(args)), analysis.FindingDepthExceeded,
			"wrappers nested more than "+itoa(w.a.limits.MaxDepth)+" levels deep")
		return
	}
	name := args[0]
	if name.dynamic || name.glob {
		u := w.newUnit(sc, args)
		u.Effects = u.Effects.With(analysis.Unknown)
		what := "the program name " + name.display() + " is only known at run time"
		if name.glob {
			what = "the program name " + name.display() + " is a glob"
		}
		u.AddFinding(analysis.FindingDynamicCommand, what)
		if name.src.Has(analysis.Network) {
			u.Effects = u.Effects.With(analysis.RemoteCode)
		}
		w.genericPaths(sc, u, args[1:])
		w.add(u)
		return
	}
	// Bash looks a name up as a function first (even one with a slash in
	// it), then as a builtin, then in the hash table and PATH. In this
	// shell a function hides the program of the same name; started fresh
	// (sudo, xargs, bash -c), or defined where it may not take effect, the
	// program may run instead: judge both.
	w.evaluatedArgs(sc, args)
	if fd, ok := w.funcs[name.s]; ok {
		prog := name.s
		w.withPrefix(sc, env, func() { w.callFunction(sc, prog, fd, args) })
		for _, alt := range w.funcAlts[prog] {
			w.withPrefix(sc, env, func() { w.callFunction(sc, prog, alt, args) })
		}
		if !sc.fresh && !w.uncertain["func "+prog] {
			return
		}
	}
	if h, ok := w.hashed[name.s]; ok && !strings.Contains(name.s, "/") {
		if !sc.fresh && !w.uncertain["hash "+name.s] {
			args = append([]arg{h}, args[1:]...)
			name = h
		} else {
			// The hash entry may or may not apply (an exported table, or
			// none): judge both.
			w.command(sc, append([]arg{h}, args[1:]...), env)
		}
	}
	prog := name.s
	base := prog
	if strings.Contains(prog, "/") {
		base = path.Base(prog)
	}
	if !strings.Contains(prog, "/") {
		if text, ok := w.aliases[prog]; ok && w.funcs[prog] == nil {
			w.called["alias "+prog] = true
			delete(w.aliases, prog) // aliases do not expand recursively
			rest := append([]string{text}, quoteAll(args2strings(args[1:]))...)
			w.script(sc.nestedSame("alias "+prog), strings.Join(rest, " "), "alias "+prog)
			w.aliases[prog] = text
			// Whether bash expands it depends on expand_aliases and on
			// where the line was split: the program may run instead.
		}
		handled := false
		w.withPrefix(sc, env, func() { handled = w.builtin(sc, args, env) })
		if handled {
			return
		}
	}
	u := w.newUnit(sc, args)
	u.Program = base
	for k, v := range env {
		w.envEffects(sc, k, v, u)
	}
	byName, workspace := true, false
	if strings.Contains(prog, "/") {
		byName, workspace = w.programPath(sc, u, name)
		if workspace {
			// The workspace's own file, which may be anything: judged as
			// workspace code and, when it has a program's name, as that
			// program too (./rm -rf ~).
			sc = sc.child()
			sc.effects = sc.effects.With(analysis.WorkspaceExec)
		}
	}
	p, ok := w.kb.Lookup(base)
	if !ok || !byName {
		if byName && !workspace {
			u.Effects = u.Effects.With(analysis.Unknown)
			u.AddFinding(analysis.FindingUnknownProgram, base+" is not in the knowledge base")
		}
		w.genericPaths(sc, u, args[1:])
		w.finishUnit(sc, u, args)
		return
	}
	w.classify(sc, u, p, args, env)
}

// nameArgBuiltins take variable names, whose subscripts bash evaluates as
// arithmetic: read 'a[$(cmd)]' runs cmd.
var nameArgBuiltins = map[string]bool{"let": true, "read": true, "mapfile": true, "readarray": true, "unset": true,
	"wait": true, "getopts": true, "declare": true, "typeset": true, "local": true, "readonly": true, "export": true}

// evaluatedArgs finds arguments that bash evaluates again as code.
func (w *walker) evaluatedArgs(sc *scope, args []arg) {
	name := args[0].s
	if (name == "builtin" || name == "command") && len(args) > 1 {
		w.evaluatedArgs(sc, args[1:])
		return
	}
	if name == "printf" && len(args) > 2 && strings.ContainsAny(args[1].s, "diouxXc") {
		// printf %d evaluates its arguments as arithmetic.
		for _, a := range args[2:] {
			if !a.dynamic {
				w.dataCode(sc, name, a.s, "printf evaluates "+truncate(a.s, 40)+" as a number")
			}
		}
	}
	for i, a := range args[1:] {
		if a.dynamic {
			continue
		}
		prev := ""
		if i > 0 {
			prev = args[i].s
		}
		switch {
		case (name == "mapfile" || name == "readarray") && prev == "-C",
			(name == "compgen" || name == "complete") && prev == "-C":
			c := sc.nestedSame(name + " " + prev)
			w.evalCode(c, name+" "+prev, []arg{a}, name+" runs a callback")
		case (name == "compgen" || name == "complete") && prev == "-F":
			if fd, ok := w.funcs[a.s]; ok {
				w.callFunction(sc, a.s, fd, []arg{a})
			}
		case nameArgBuiltins[name]:
			w.dataCode(sc, name, a.s, name+" evaluates "+truncate(a.s, 40))
		case (name == "printf" || name == "test" || name == "[" || name == "[[") && (prev == "-v" || prev == "-R"):
			w.dataCode(sc, name, a.s, name+" "+prev+" evaluates the subscript of "+truncate(a.s, 40))
		case name == "test" || name == "[":
			next := ""
			if i+2 < len(args) {
				next = args[i+2].s
			}
			if arithTestOp(prev) || arithTestOp(next) {
				w.dataCode(sc, name, a.s, name+" evaluates "+truncate(a.s, 40)+" as arithmetic")
			}
		}
	}
}

// benignNodeOptions accepts the NODE_OPTIONS that only tune the runtime.
func benignNodeOptions(v string) bool {
	for _, f := range strings.Fields(v) {
		name, _, _ := strings.Cut(f, "=")
		switch name {
		case "--max-old-space-size", "--max-semi-space-size", "--enable-source-maps", "--no-warnings",
			"--experimental-vm-modules", "--openssl-legacy-provider", "--trace-warnings", "--trace-deprecation",
			"--unhandled-rejections", "--stack-trace-limit", "--experimental-specifier-resolution", "--dns-result-order":
		default:
			return false
		}
	}
	return true
}

// allUnder reports whether every entry of a colon-separated list of paths
// lies under dir, after cleaning (~/.kube/../../tmp is not under ~/.kube).
func allUnder(list, dir string) bool {
	for _, p := range strings.Split(list, ":") {
		if strings.HasPrefix(p, "$HOME/") {
			p = "~" + strings.TrimPrefix(p, "$HOME")
		}
		if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "~/") || !under(cleanPath(p), dir) {
			return false
		}
	}
	return true
}

// homeDir reports a value of HOME that is a real home directory: ~, /root
// or /home/NAME, not a directory chosen for its configuration files.
func homeDir(v string) bool {
	c := cleanPath(v)
	if c == "~" || c == "/root" {
		return true
	}
	user, ok := strings.CutPrefix(c, "/home/")
	return ok && user != "" && !strings.Contains(user, "/")
}

// goProxyOK reports a GOPROXY list whose every entry is the public Go
// module proxy, direct or off.
func goProxyOK(v string) bool {
	for _, e := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '|' }) {
		if e == "direct" || e == "off" {
			continue
		}
		u, err := url.Parse(e)
		if err != nil || u.Scheme != "https" || u.Host != "proxy.golang.org" || u.User != nil {
			return false
		}
	}
	return v != ""
}

func hasAnySuffix(s string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// pathEntries returns the first PATH entry that could make a program name
// run another file: the current directory, temp, or data only known at
// run time, placed before the system directories. System directories, tool
// directories in the home (~/.local/bin, ~/go/bin) and the workspace's own
// (node_modules/.bin, .venv/bin) are fine.
func (w *walker) pathEntries(sc *scope, val arg) string {
	entries := strings.Split(val.raw, ":")
	if !val.dynamic {
		entries = strings.Split(val.s, ":")
	}
	for _, e := range entries {
		e = strings.Trim(e, `"'`)
		switch e {
		case "$PATH", "${PATH}":
			return "" // what follows comes after the system's programs
		case "", ".":
			return "the current directory"
		}
		if strings.HasPrefix(e, "$HOME") || strings.HasPrefix(e, "${HOME}") {
			e = "~" + strings.TrimPrefix(strings.TrimPrefix(e, "${HOME}"), "$HOME")
		}
		if strings.Contains(e, "$") || strings.Contains(e, dyn) {
			return e
		}
		_, c := w.classifyPath(sc, arg{s: e, raw: e})
		switch c {
		case analysis.System, analysis.Workspace:
			continue
		case analysis.Home:
			if homeToolDir(e) {
				continue
			}
		}
		return e
	}
	return ""
}

func homeToolDir(e string) bool {
	for _, d := range []string{"~/.local/bin", "~/bin", "~/go/bin", "~/.cargo/bin", "~/.npm-global/bin", "~/.bun/bin",
		"~/.deno/bin", "~/.pyenv/shims", "~/.pyenv/bin", "~/.rbenv/shims", "~/.rbenv/bin", "~/.nvm", "~/.volta/bin",
		"~/.yarn/bin", "~/.poetry/bin", "~/.rustup", "~/.sdkman", "~/.asdf/shims", "~/.local/share/pnpm", "~/.krew/bin"} {
		if e == d || strings.HasPrefix(e, d+"/") {
			return true
		}
	}
	return false
}

func arithTestOp(s string) bool {
	switch s {
	case "-eq", "-ne", "-lt", "-le", "-gt", "-ge":
		return true
	}
	return false
}

// withPrefix runs f with prefix assignments (c=x f, c=x eval ...) visible
// to code that runs in this shell; afterwards those variables are unknown,
// since bash keeps them after special builtins in POSIX mode.
func (w *walker) withPrefix(sc *scope, env map[string]arg, f func()) {
	if len(env) == 0 {
		f()
		return
	}
	for k, v := range env {
		w.assignVar(sc, k, variable{str: v.s, known: !v.dynamic})
	}
	f()
	for k := range env {
		sc.set(k, variable{})
	}
}

// programPath handles a command named by path. An installed program
// (/usr/bin/rm) is judged by its name: byName. A file in the workspace
// (./build.sh, but also ./ls) is the workspace's own code, trusted as a
// build is, and judged by its name too when it has a program's name;
// anything else runs a file whose content is not analyzed.
func (w *walker) programPath(sc *scope, u *analysis.Unit, name arg) (byName, workspace bool) {
	shown, class := w.classifyPath(sc, name)
	u.AddPath(analysis.Path{Value: shown, Class: class, Access: analysis.AccessExec})
	p, resolved := resolvePath(sc, name)
	if resolved && w.written[p] {
		u.AddFinding(analysis.FindingDynamicCode, "runs "+shown+", which this command line wrote")
	}
	_, linked := w.links[p]
	switch {
	case class == analysis.System && resolved && binDirs[path.Dir(p)] && !linked:
		return true, false
	case class == analysis.Workspace && !linked:
		u.Effects = u.Effects.With(analysis.WorkspaceExec)
		u.AddFinding(analysis.FindingTrusted, "runs "+shown+" from the workspace")
		if w.wroteCode() {
			u.AddFinding(analysis.FindingDynamicCode, "runs workspace code after this command line changed code files")
		}
		return true, true
	default:
		u.Effects = u.Effects.With(analysis.Unknown)
		u.AddFinding(analysis.FindingScript, "runs "+shown+", whose content is not analyzed")
	}
	return false, false
}

// callFunction analyzes a call of a function defined in this command line,
// with its arguments as positional parameters.
func (w *walker) callFunction(sc *scope, name string, fd *syntax.FuncDecl, args []arg) {
	w.called[name] = true
	if w.calling[name] {
		u := w.newUnit(sc, args)
		u.Program = name
		u.Effects = u.Effects.With(analysis.ProcessControl)
		if sc.scopes.Has(analysis.Background) || sc.stdin != nil {
			u.AddFinding(analysis.FindingForkBomb, "the function "+name+" calls itself and spawns copies (a fork bomb)")
		} else {
			u.AddFinding(analysis.FindingDepthExceeded, "the function "+name+" calls itself")
		}
		w.add(u)
		return
	}
	if sc.depth > w.a.limits.MaxDepth {
		w.opaque(sc, name, analysis.FindingDepthExceeded, "function calls nested too deep")
		return
	}
	w.calling[name] = true
	// A function runs in the caller's shell: its assignments and cd stay.
	c := sc.inline(name + "()")
	c.pos, c.posKnown, c.posDynamic = nil, true, false
	for _, a := range args[1:] {
		c.pos = append(c.pos, a.s)
		if a.dynamic {
			c.posDynamic = true
		}
	}
	w.stmt(c, fd.Body)
	sc.settle(c, false)
	w.calling[name] = false
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = shellQuote(s)
	}
	return out
}

// shellQuote quotes s for bash when needed.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%^~", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellJoin(argv []string) string {
	return strings.Join(quoteAll(argv), " ")
}
