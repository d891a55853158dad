// Package config loads the gateway's configuration file (SPEC §5).
//
// Decoding is strict: an unknown key or a bad value is an error that names
// the YAML path and the fix. Parsing has no side effects: it reads no
// secrets, opens no sockets and starts nothing. Secret values are never in
// the file; *_env and *_file keys name where they are.
package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/yamlstrict"
)

// Config is the validated configuration.
type Config struct {
	Listen      string
	PublicURL   string // how reviewers reach the gateway, for links in notifications; empty: http://LISTEN
	ProxyListen string
	DataDir     string
	Store       string
	PolicyPath  string // empty: the built-in policy
	Targets     map[string]*Target
	Reviewers   map[string]*Reviewer
	Egress      Egress
	Webhooks    []Webhook
	Path        string // the file it came from; empty for the defaults

	SessionTTL      time.Duration // a session's TTL when the admin gives none
	SessionMaxTTL   time.Duration // the longest TTL a session may have
	ReviewExpiry    time.Duration // a review not decided by then ends expired
	ExactCountBelow int64         // count DML rows exactly when the plan estimates at most this many
	EffectPercent   float64       // effect cap: approved estimate + this percent...
	EffectRows      int64         // ... + this many rows; beyond it the execution rolls back
	MaxOutputBytes  int           // output kept per execution
}

// Target is an external system agents may act on.
type Target struct {
	Name    string
	Kind    string // shell, postgres, http
	Class   string
	Workdir string // shell: where commands run; relative paths in commands resolve here
	RunAs   string // shell: the account commands run as (empty: the gateway's own)
	Env     map[string]string
	Timeout time.Duration

	DSNEnv, DSNFile string   // postgres: the gateway's own credential
	Schemas, Tables []string // postgres: scope of minted credentials

	BaseURL                       string // http
	Methods                       []string
	PathPrefixes                  []string
	CredentialHeader              string
	CredentialEnv, CredentialFile string
}

// Reviewer is a human who approves requests.
type Reviewer struct {
	Name      string
	TokenEnv  string
	TokenFile string
}

// Egress is the egress proxy's allowlist.
type Egress struct {
	Allow []EgressRule
}

// EgressRule allows one destination.
type EgressRule struct {
	Host   string
	Ports  []int
	Review bool
}

// Webhook is a notification endpoint.
type Webhook struct {
	URL       string
	Format    string // slack or json
	SecretEnv string
}

// targetKinds are the kinds of target.
var targetKinds = []string{"shell", "postgres", "http"}

// DefaultTargetName is the name of the target of the embedded defaults.
const DefaultTargetName = "local"

// Default returns the configuration used when no file is given: one shell
// target named local (class non-critical) working in workdir.
func Default(workdir string) *Config {
	return &Config{
		Listen:      "127.0.0.1:8700",
		ProxyListen: "127.0.0.1:8701",
		DataDir:     filepath.Join(workdir, "gatehouse-data"),
		Targets: map[string]*Target{DefaultTargetName: {
			Name: DefaultTargetName, Kind: "shell", Class: "non-critical", Workdir: workdir, Timeout: 5 * time.Minute,
		}},
		Reviewers:       map[string]*Reviewer{},
		SessionTTL:      time.Hour,
		SessionMaxTTL:   24 * time.Hour,
		ReviewExpiry:    15 * time.Minute,
		ExactCountBelow: 100000,
		EffectPercent:   10,
		EffectRows:      10,
		MaxOutputBytes:  1 << 20,
	}
}

type fileDTO struct {
	Version     int                     `yaml:"version"`
	Listen      string                  `yaml:"listen"`
	PublicURL   string                  `yaml:"public_url"`
	ProxyListen string                  `yaml:"proxy_listen"`
	DataDir     string                  `yaml:"data_dir"`
	Store       string                  `yaml:"store"`
	Policy      string                  `yaml:"policy"`
	Targets     map[string]*targetDTO   `yaml:"targets"`
	Reviewers   map[string]*reviewerDTO `yaml:"reviewers"`
	Egress      *egressDTO              `yaml:"egress"`
	Notify      *notifyDTO              `yaml:"notify"`
	Sessions    *sessionsDTO            `yaml:"sessions"`
	Review      *reviewDTO              `yaml:"review"`
	Execution   *executionDTO           `yaml:"execution"`
}

type sessionsDTO struct {
	TTL    string `yaml:"ttl"`
	MaxTTL string `yaml:"max_ttl"`
}

type reviewDTO struct {
	Expiry string `yaml:"expiry"`
}

// executionDTO uses pointers where zero is a meaningful setting that
// must differ from "not set".
type executionDTO struct {
	ExactCountBelow *int64   `yaml:"exact_count_below"`
	EffectPercent   *float64 `yaml:"effect_tolerance_percent"`
	EffectRows      *int64   `yaml:"effect_tolerance_rows"`
	MaxOutputBytes  int      `yaml:"max_output_bytes"`
}

type targetDTO struct {
	Kind             string            `yaml:"kind"`
	Class            string            `yaml:"class"`
	Workdir          string            `yaml:"workdir"`
	RunAs            string            `yaml:"run_as"`
	Env              map[string]string `yaml:"env"`
	Timeout          string            `yaml:"timeout"`
	DSNEnv           string            `yaml:"dsn_env"`
	DSNFile          string            `yaml:"dsn_file"`
	Schemas          []string          `yaml:"schemas"`
	Tables           []string          `yaml:"tables"`
	BaseURL          string            `yaml:"base_url"`
	Methods          []string          `yaml:"methods"`
	PathPrefixes     []string          `yaml:"path_prefixes"`
	CredentialHeader string            `yaml:"credential_header"`
	CredentialEnv    string            `yaml:"credential_env"`
	CredentialFile   string            `yaml:"credential_file"`
}

type reviewerDTO struct {
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
}

type egressDTO struct {
	Allow []*egressRuleDTO `yaml:"allow"`
}

type egressRuleDTO struct {
	Host   string `yaml:"host"`
	Ports  []int  `yaml:"ports"`
	Review bool   `yaml:"review"`
}

type notifyDTO struct {
	Webhooks []*webhookDTO `yaml:"webhooks"`
}

type webhookDTO struct {
	URL       string `yaml:"url"`
	Format    string `yaml:"format"`
	SecretEnv string `yaml:"secret_env"`
}

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c, err := Parse(data, dir)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.Path = path
	if err := c.CheckLayout(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

var (
	namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)
	envPattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Parse decodes and validates configuration text; relative paths in it
// resolve against dir.
func Parse(data []byte, dir string) (*Config, error) {
	var f fileDTO
	if err := yamlstrict.Decode(data, &f); err != nil {
		return nil, err
	}
	if f.Version != 1 {
		return nil, yamlstrict.Errorf("version", "unsupported version %d; write version: 1", f.Version)
	}
	c := Default(dir)
	delete(c.Targets, DefaultTargetName)
	var errs []error
	bad := func(path, format string, args ...any) { errs = append(errs, yamlstrict.Errorf(path, format, args...)) }
	if f.Listen != "" {
		c.Listen = f.Listen
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "want host:port, got %q", c.Listen)
	}
	if f.PublicURL != "" {
		u, err := url.Parse(f.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("public_url", "want the gateway's URL as reviewers reach it, such as https://gatehouse.example.com, got %q", f.PublicURL)
		}
		c.PublicURL = strings.TrimRight(f.PublicURL, "/")
	}
	if f.ProxyListen != "" {
		c.ProxyListen = f.ProxyListen
	}
	if _, _, err := net.SplitHostPort(c.ProxyListen); err != nil {
		bad("proxy_listen", "want host:port, got %q", c.ProxyListen)
	}
	if f.DataDir != "" {
		c.DataDir = f.DataDir
	}
	c.DataDir = abs(dir, c.DataDir)
	c.Store = f.Store
	if c.Store != "" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		bad("store", "want empty (embedded SQLite) or a postgres:// URL, got %q", redactURL(c.Store))
	}
	if f.Policy != "" {
		c.PolicyPath = abs(dir, f.Policy)
	}
	for _, name := range slices.Sorted(maps.Keys(f.Targets)) {
		t := f.Targets[name]
		p := "targets." + name
		if !namePattern.MatchString(name) {
			bad(p, "a target name is lowercase letters, digits, '.', '_' or '-' (got %q)", name)
			continue
		}
		if t == nil {
			bad(p, "empty target; give at least kind and class")
			continue
		}
		tg, terrs := buildTarget(name, t, dir, p)
		errs = append(errs, terrs...)
		c.Targets[name] = tg
	}
	if len(f.Targets) == 0 {
		c.Targets = Default(dir).Targets
	}
	for name, r := range f.Reviewers {
		p := "reviewers." + name
		if !namePattern.MatchString(name) {
			bad(p, "a reviewer name is lowercase letters, digits, '.', '_' or '-' (got %q)", name)
			continue
		}
		if r == nil || (r.TokenEnv == "") == (r.TokenFile == "") {
			bad(p, "give exactly one of token_env or token_file")
			continue
		}
		if r.TokenEnv != "" && !envPattern.MatchString(r.TokenEnv) {
			bad(p+".token_env", "not an environment variable name: %q", r.TokenEnv)
		}
		c.Reviewers[name] = &Reviewer{Name: name, TokenEnv: r.TokenEnv, TokenFile: abs(dir, r.TokenFile)}
	}
	if f.Egress != nil {
		for i, r := range f.Egress.Allow {
			p := fmt.Sprintf("egress.allow[%d]", i)
			if r == nil || r.Host == "" {
				bad(p+".host", "an allow entry needs a host (a name, an address or a CIDR)")
				continue
			}
			if err := validHost(r.Host); err != nil {
				bad(p+".host", "%v", err)
			}
			for j, port := range r.Ports {
				if port < 1 || port > 65535 {
					bad(fmt.Sprintf("%s.ports[%d]", p, j), "want a port from 1 to 65535, got %d", port)
				}
			}
			c.Egress.Allow = append(c.Egress.Allow, EgressRule{Host: strings.ToLower(r.Host), Ports: r.Ports, Review: r.Review})
		}
	}
	if f.Notify != nil {
		for i, h := range f.Notify.Webhooks {
			p := fmt.Sprintf("notify.webhooks[%d]", i)
			if h == nil {
				bad(p, "empty webhook")
				continue
			}
			u, err := url.Parse(h.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				bad(p+".url", "want an http(s) URL, got %q", h.URL)
			}
			format := h.Format
			if format == "" {
				format = "json"
			}
			if format != "json" && format != "slack" {
				bad(p+".format", "want slack or json, got %q", h.Format)
			}
			if h.SecretEnv != "" && !envPattern.MatchString(h.SecretEnv) {
				bad(p+".secret_env", "not an environment variable name: %q", h.SecretEnv)
			}
			c.Webhooks = append(c.Webhooks, Webhook{URL: h.URL, Format: format, SecretEnv: h.SecretEnv})
		}
	}
	duration := func(path, v string, into *time.Duration) {
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad(path, "want a positive duration such as 30m or 8h, got %q", v)
			return
		}
		*into = d
	}
	if f.Sessions != nil {
		duration("sessions.ttl", f.Sessions.TTL, &c.SessionTTL)
		duration("sessions.max_ttl", f.Sessions.MaxTTL, &c.SessionMaxTTL)
		if c.SessionTTL > c.SessionMaxTTL {
			bad("sessions.ttl", "the default TTL %s is longer than sessions.max_ttl %s", c.SessionTTL, c.SessionMaxTTL)
		}
	}
	if f.Review != nil {
		duration("review.expiry", f.Review.Expiry, &c.ReviewExpiry)
	}
	if x := f.Execution; x != nil {
		if x.ExactCountBelow != nil {
			if *x.ExactCountBelow < 0 {
				bad("execution.exact_count_below", "want 0 (never count) or more, got %d", *x.ExactCountBelow)
			}
			c.ExactCountBelow = *x.ExactCountBelow
		}
		if x.EffectPercent != nil {
			if *x.EffectPercent < 0 || *x.EffectPercent > 1000 {
				bad("execution.effect_tolerance_percent", "want 0 to 1000, got %v", *x.EffectPercent)
			}
			c.EffectPercent = *x.EffectPercent
		}
		if x.EffectRows != nil {
			if *x.EffectRows < 0 {
				bad("execution.effect_tolerance_rows", "want 0 or more, got %d", *x.EffectRows)
			}
			c.EffectRows = *x.EffectRows
		}
		if x.MaxOutputBytes != 0 {
			if x.MaxOutputBytes < 1024 || x.MaxOutputBytes > 64<<20 {
				bad("execution.max_output_bytes", "want 1024 to 67108864, got %d", x.MaxOutputBytes)
			}
			c.MaxOutputBytes = x.MaxOutputBytes
		}
	}
	errs = append(errs, c.layoutErrors(false)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// GatewayFiles lists the gateway's own files and directories: its data
// directory, configuration, policy and the files its secrets are read
// from. Agents' commands must never reach them.
func (c *Config) GatewayFiles() []string {
	var out []string
	add := func(p string) {
		if p != "" {
			if a, err := filepath.Abs(p); err == nil {
				out = append(out, a)
			}
		}
	}
	add(c.DataDir)
	add(c.Path)
	add(c.PolicyPath)
	for _, name := range slices.Sorted(maps.Keys(c.Reviewers)) {
		add(c.Reviewers[name].TokenFile)
	}
	for _, name := range c.TargetNames() {
		t := c.Targets[name]
		add(t.DSNFile)
		add(t.CredentialFile)
	}
	return out
}

// CheckLayout refuses a layout in which a shell target's commands run
// where the gateway's own files are: a plain "cat" or "grep -r ." in the
// workspace would read the tokens that approve requests. Load checks it;
// callers that build a Config otherwise (the defaults) call it.
func (c *Config) CheckLayout() error {
	return errors.Join(c.layoutErrors(true)...)
}

// layoutErrors checks the gateway's files against the shell workdirs;
// without withConfig, the config file itself is left out (Parse does not
// know it).
func (c *Config) layoutErrors(withConfig bool) []error {
	if !withConfig {
		saved := c.Path
		c.Path = ""
		defer func() { c.Path = saved }()
	}
	var errs []error
	for _, name := range c.TargetNames() {
		t := c.Targets[name]
		if t.Kind != "shell" || t.Workdir == "" {
			continue
		}
		for _, f := range c.GatewayFiles() {
			if f == t.Workdir || strings.HasPrefix(f, strings.TrimSuffix(t.Workdir, "/")+"/") {
				errs = append(errs, yamlstrict.Errorf("targets."+name+".workdir",
					"%s holds the gateway's own file %s (data_dir, config, policy or a secret file); commands run there could read it: move one of them", t.Workdir, f))
			}
		}
	}
	return errs
}

// TargetNames lists the targets' names, sorted.
func (c *Config) TargetNames() []string {
	return slices.Sorted(maps.Keys(c.Targets))
}

func buildTarget(name string, t *targetDTO, dir, p string) (*Target, []error) {
	var errs []error
	bad := func(path, format string, args ...any) { errs = append(errs, yamlstrict.Errorf(path, format, args...)) }
	tg := &Target{Name: name, Kind: t.Kind, Class: t.Class, Env: t.Env, Schemas: t.Schemas, Tables: t.Tables,
		DSNEnv: t.DSNEnv, DSNFile: abs(dir, t.DSNFile), BaseURL: t.BaseURL, Methods: t.Methods, PathPrefixes: t.PathPrefixes,
		CredentialHeader: t.CredentialHeader, CredentialEnv: t.CredentialEnv, CredentialFile: abs(dir, t.CredentialFile),
		Timeout: 5 * time.Minute}
	if !slices.Contains(targetKinds, t.Kind) {
		bad(p+".kind", "want one of %s, got %q", strings.Join(targetKinds, ", "), t.Kind)
	}
	if !policy.IsClass(t.Class) {
		bad(p+".class", "want one of %s, got %q", strings.Join(policy.ClassNames(), ", "), t.Class)
	}
	if t.Timeout != "" {
		d, err := time.ParseDuration(t.Timeout)
		if err != nil || d <= 0 {
			bad(p+".timeout", "want a positive duration such as 30s or 5m, got %q", t.Timeout)
		}
		tg.Timeout = d
	}
	if t.Kind != "shell" && t.RunAs != "" {
		bad(p+".run_as", "only shell targets run commands as a user")
	}
	switch t.Kind {
	case "shell":
		if t.Workdir == "" {
			bad(p+".workdir", "a shell target needs a workdir")
		}
		tg.Workdir = abs(dir, t.Workdir)
		tg.RunAs = t.RunAs
		if t.RunAs != "" && !namePattern.MatchString(t.RunAs) {
			bad(p+".run_as", "want a user name, got %q", t.RunAs)
		}
	case "postgres":
		if (t.DSNEnv == "") == (t.DSNFile == "") {
			bad(p, "a postgres target needs exactly one of dsn_env or dsn_file (never the DSN itself)")
		}
		if t.DSNEnv != "" && !envPattern.MatchString(t.DSNEnv) {
			bad(p+".dsn_env", "not an environment variable name: %q", t.DSNEnv)
		}
	case "http":
		u, err := url.Parse(t.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(p+".base_url", "an http target needs a base_url such as https://api.example.com, got %q", t.BaseURL)
		}
	}
	return tg, errs
}

func abs(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func validHost(h string) error {
	if strings.ContainsAny(h, " /@:") && net.ParseIP(h) == nil {
		if _, _, err := net.ParseCIDR(h); err == nil {
			return nil
		}
		return fmt.Errorf("want a host name, an IP address or a CIDR, got %q", h)
	}
	if strings.Contains(strings.TrimPrefix(h, "*."), "*") {
		return fmt.Errorf("a wildcard is only allowed as the leading label (got %q)", h)
	}
	return nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
