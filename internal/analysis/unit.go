package analysis

import "strings"

// FindingKind names a fact about a command that the policy and the reviewer
// must know, most often why it could not be understood.
type FindingKind string

// The finding kinds. Those for which [FindingKind.Opaque] is true make a unit
// opaque: it can never be allowed without a human.
const (
	FindingUnparsable     FindingKind = "unparsable"          // the command could not be parsed
	FindingDynamicCommand FindingKind = "dynamic-command"     // the program name is not a constant
	FindingDynamicCode    FindingKind = "dynamic-code"        // eval or shell -c of data only known at run time
	FindingStdinToShell   FindingKind = "stdin-to-shell"      // a shell or interpreter reads its program from a pipe or file
	FindingInlineCode     FindingKind = "inline-code"         // interpreter code given inline (python -c, node -e, ...)
	FindingHeredocShell   FindingKind = "heredoc-to-shell"    // a heredoc or here-string fed to a shell or interpreter
	FindingInteractive    FindingKind = "interactive"         // an interactive program whose input is not known
	FindingScript         FindingKind = "script-file"         // runs a script file whose content is not analyzed
	FindingDepthExceeded  FindingKind = "depth-exceeded"      // nesting deeper than the analysis follows
	FindingBoundExceeded  FindingKind = "bound-exceeded"      // more commands or text than the analysis judges
	FindingExecEnv        FindingKind = "exec-environment"    // sets a variable that makes programs run other code
	FindingObfuscated     FindingKind = "obfuscated"          // decoded or transformed text is executed
	FindingForkBomb       FindingKind = "fork-bomb"           // a function that spawns itself
	FindingUnknownProgram FindingKind = "unknown-program"     // a program the knowledge base does not know
	FindingUnknownSub     FindingKind = "unknown-subcommand"  // a subcommand the knowledge base does not know
	FindingUnknownOption  FindingKind = "unknown-option"      // an option the knowledge base does not know, where it matters
	FindingUnknownFunc    FindingKind = "unknown-function"    // an SQL function whose effects are not known
	FindingDangerousFunc  FindingKind = "dangerous-function"  // an SQL function with server-side effects
	FindingNoWhere        FindingKind = "no-where"            // UPDATE/DELETE without WHERE
	FindingTautology      FindingKind = "always-true-where"   // WHERE that holds for every row
	FindingCTEWrite       FindingKind = "write-in-cte"        // DML hidden inside a WITH clause
	FindingServerFile     FindingKind = "server-file-access"  // COPY to/from a server file, pg_read_file, lo_import
	FindingServerProgram  FindingKind = "server-program"      // COPY ... PROGRAM
	FindingRoleChange     FindingKind = "role-change"         // SET ROLE, SET SESSION AUTHORIZATION, ALTER ROLE
	FindingSystemConfig   FindingKind = "system-config"       // ALTER SYSTEM, server settings
	FindingReverseShell   FindingKind = "reverse-shell"       // a shell wired to a network socket
	FindingRemoteExec     FindingKind = "remote-exec"         // runs a command on another host or container
	FindingSecretFlow     FindingKind = "secret-to-network"   // secret data flows to a network command
	FindingSecretNetwork  FindingKind = "secret-and-network"  // a secret is read and the network is used in one request
	FindingDataInURL      FindingKind = "data-in-destination" // run-time data in a network destination
	FindingPathOverride   FindingKind = "path-override"       // PATH changed so program names resolve elsewhere
	FindingRetarget       FindingKind = "retarget"            // --git-dir, -C and similar redirect the command
	FindingMetadata       FindingKind = "cloud-metadata"      // talks to a cloud metadata endpoint
	FindingLock           FindingKind = "lock"                // takes heavy locks (LOCK TABLE, VACUUM FULL)
	FindingIrreversible   FindingKind = "irreversible"        // cannot be undone
	FindingTrusted        FindingKind = "trusted-code"        // runs code from the workspace (builds, tests)
	FindingInstall        FindingKind = "installs-packages"   // fetches and runs third-party packages
	FindingLimitExceeded  FindingKind = "analysis-limit"      // a bounded analysis stopped early
	FindingDynamicArg     FindingKind = "dynamic-argument"    // an argument known only at run time
	FindingDynamicPath    FindingKind = "dynamic-path"        // a path known only at run time
	FindingCodeConfig     FindingKind = "executes-config"     // an option whose value is run as a command
	FindingProxyBypass    FindingKind = "proxy-bypass"        // goes around the egress proxy
)

// Opaque reports whether a finding of this kind means the unit's behaviour is
// not known statically.
func (k FindingKind) Opaque() bool {
	switch k {
	case FindingUnparsable, FindingDynamicCommand, FindingDynamicCode, FindingStdinToShell,
		FindingInlineCode, FindingHeredocShell, FindingInteractive, FindingDepthExceeded,
		FindingBoundExceeded, FindingObfuscated, FindingLimitExceeded, FindingCodeConfig:
		return true
	}
	return false
}

// Finding is one fact about a unit, with a detail a reviewer can read.
type Finding struct {
	Kind   FindingKind `json:"kind"`
	Detail string      `json:"detail"`
}

// Path is a path a unit touches.
type Path struct {
	Value  string    `json:"path"`
	Class  PathClass `json:"class"`
	Access Access    `json:"access"`
}

// Unit is one command that would run: a simple shell command after
// unwrapping, or one SQL statement. Policy rules and risk factors are
// evaluated per unit; a request is as strict as its strictest unit.
type Unit struct {
	Kind       Kind      `json:"kind"`
	Text       string    `json:"text"`                 // canonical text: the argv joined, or the SQL statement
	Program    string    `json:"program,omitempty"`    // canonical program name (base name), or the SQL statement type
	Subcommand string    `json:"subcommand,omitempty"` // e.g. "push", "s3 rm", "delete"
	Argv       []string  `json:"argv,omitempty"`
	Via        []string  `json:"via,omitempty"` // wrappers and nested shells it was found through
	Effects    EffectSet `json:"effects"`
	Scopes     ScopeSet  `json:"scope"`
	Paths      []Path    `json:"paths,omitempty"`
	Hosts      []string  `json:"hosts,omitempty"`
	Findings   []Finding `json:"findings,omitempty"`

	// SQL statements only.
	Statement string   `json:"statement,omitempty"` // statement type, e.g. "delete", "create_function"
	Tables    []string `json:"tables,omitempty"`
	Where     string   `json:"where,omitempty"` // "present", "missing", "always-true"; empty when not applicable
	Functions []string `json:"functions,omitempty"`
}

// AddFinding records a finding once; it also marks opaque findings with the
// [Opaque] effect.
func (u *Unit) AddFinding(k FindingKind, detail string) {
	for _, f := range u.Findings {
		if f.Kind == k && f.Detail == detail {
			return
		}
	}
	u.Findings = append(u.Findings, Finding{Kind: k, Detail: detail})
	if k.Opaque() {
		u.Effects = u.Effects.With(Opaque)
	}
}

// HasFinding reports whether the unit has a finding of kind k.
func (u *Unit) HasFinding(k FindingKind) bool {
	for _, f := range u.Findings {
		if f.Kind == k {
			return true
		}
	}
	return false
}

// AddPath records a path once.
func (u *Unit) AddPath(p Path) {
	for _, q := range u.Paths {
		if q == p {
			return
		}
	}
	u.Paths = append(u.Paths, p)
}

// AddHost records a network destination once.
func (u *Unit) AddHost(h string) {
	h = strings.ToLower(h)
	for _, x := range u.Hosts {
		if x == h {
			return
		}
	}
	u.Hosts = append(u.Hosts, h)
}

// PathClasses returns the classes of the unit's paths with the given
// accesses; no accesses means every access.
func (u *Unit) PathClasses(access ...Access) PathClassSet {
	var s PathClassSet
	for _, p := range u.Paths {
		if len(access) == 0 {
			s = s.With(p.Class)
			continue
		}
		for _, a := range access {
			if p.Access == a {
				s = s.With(p.Class)
			}
		}
	}
	return s
}

// Opaque reports whether the unit's behaviour is not known statically.
func (u *Unit) Opaque() bool { return u.Effects.Has(Opaque) }
