package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/engine"
	"github.com/gatehouse/gatehouse/internal/execute"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/store/postgres"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// ServeCommand runs the gateway.
type ServeCommand struct {
	m *Main
}

const serveUsage = `Usage: gatehouse serve [--config FILE] [--listen ADDR]

Runs the gateway: the HTTP API on listen (default 127.0.0.1:8700), with its
state and audit trail in SQLite under data_dir (or in PostgreSQL when the
config's store is a postgres:// URL).

With no config file it serves one shell target named "local" (class
non-critical) in the current directory, under the built-in policy.

The admin token comes from $GATEHOUSE_ADMIN_TOKEN, or is generated into
data_dir/admin.token (mode 0600) on first start.

Flags:
`

// Run runs the server until ctx ends.
func (c *ServeCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	configPath := fs.String("config", "", "configuration file (default: $GATEHOUSE_CONFIG, else the embedded defaults)")
	listen := fs.String("listen", "", "address of the API, overriding the config's listen")
	fs.Usage = func() { fmt.Fprint(c.m.Stderr, serveUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{msg: "serve takes no arguments", hint: "gatehouse serve --config gatehouse.yaml"}
	}
	cfg, err := c.m.loadConfig(*configPath)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if err := cfg.CheckLayout(); err != nil {
		return fmt.Errorf("%w\n(serve from a project directory, or give a config whose data_dir is outside every shell workdir)", err)
	}
	log := c.m.logger()
	if err := harden(); err != nil {
		return fmt.Errorf("make the gateway's process non-dumpable: %w", err)
	}
	for _, name := range cfg.TargetNames() {
		if t := cfg.Targets[name]; t.Kind == "shell" && t.RunAs == "" {
			log.Warn("shell target runs commands as the gateway's own user; its files are denied by path, but set run_as to keep approved commands away from them",
				"target", name)
		}
	}
	gw, st, closeTargets, err := c.m.buildGateway(ctx, cfg, log)
	if err != nil {
		return err
	}
	// Deferred in reverse: the gateway stops, then notices are flushed and
	// targets closed, and the store, which both write to, closes last.
	defer st.Close()
	defer closeTargets()
	if err := gw.Start(ctx); err != nil {
		return err
	}
	defer gw.Stop()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := httpapi.NewHTTPServer(cfg.Listen, httpapi.New(gw, log), log)
	// Long-polls end when the server stops, rather than holding Shutdown.
	base, stopPolls := context.WithCancel(context.Background())
	defer stopPolls()
	srv.BaseContext = func(net.Listener) context.Context { return base }
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(c.m.Stderr, "gatehouse: listening on http://%s\n", ln.Addr())
	log.Info("serving", "addr", ln.Addr().String(), "targets", cfg.TargetNames(), "store", storeName(cfg))
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stopPolls()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

func storeName(cfg *config.Config) string {
	if cfg.Store != "" {
		return "postgres"
	}
	return filepath.Join(cfg.DataDir, sqlite.FileName)
}

// logger logs text to stderr at $LOG_LEVEL (debug, info, warn, error).
func (m *Main) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(m.Getenv("LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: level}))
}

// buildGateway opens the store and the targets and wires the gateway.
// closeTargets closes the targets' connections.
func (m *Main) buildGateway(ctx context.Context, cfg *config.Config, log *slog.Logger) (gw *gateway.Service, st gateway.Store, closeTargets func(), err error) {
	pol, err := loadPolicy(cfg.PolicyPath)
	if err != nil {
		return nil, nil, nil, err
	}
	eng, err := newEngine(cfg, pol, engine.Protect(cfg.GatewayFiles()...), engine.Protect(fmt.Sprintf("/proc/%d", os.Getpid())))
	if err != nil {
		return nil, nil, nil, err
	}
	admin, err := m.adminToken(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	gcfg := gateway.Config{Targets: map[string]gateway.Target{}, Reviewers: map[string]string{}, AdminTokenHash: gateway.HashToken(admin),
		SessionTTL: cfg.SessionTTL, MaxSessionTTL: cfg.SessionMaxTTL, ReviewExpiry: cfg.ReviewExpiry,
		Exclusive: cfg.Store == ""} // SQLite is one gateway's own
	seen := map[string]string{gateway.HashToken(admin): "the admin token"}
	for _, name := range slices.Sorted(maps.Keys(cfg.Reviewers)) {
		tok, err := m.secret(cfg.Reviewers[name].TokenEnv, cfg.Reviewers[name].TokenFile)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reviewers.%s: %w", name, err)
		}
		if len(tok) < 16 {
			return nil, nil, nil, fmt.Errorf("reviewers.%s: the token is shorter than 16 characters; use e.g. openssl rand -hex 32", name)
		}
		h := gateway.HashToken(tok)
		if other, ok := seen[h]; ok {
			return nil, nil, nil, fmt.Errorf("reviewers.%s: the token is the same as %s's; every reviewer needs their own", name, other)
		}
		seen[h] = "reviewer " + name
		gcfg.Reviewers[name] = h
	}
	var closers []func()
	closeTargets = func() {
		for _, c := range closers {
			c()
		}
	}
	defer func() {
		if err != nil {
			closeTargets()
		}
	}()
	for _, name := range cfg.TargetNames() {
		t := cfg.Targets[name]
		gt := gateway.Target{Name: name, Kind: t.Kind, Class: t.Class}
		switch t.Kind {
		case "shell":
			gt.Executor = &gateway.ShellExecutor{Shell: &execute.Shell{Workdir: t.Workdir, Env: t.Env, Timeout: t.Timeout,
				MaxOutput: cfg.MaxOutputBytes, User: t.RunAs}}
		case "postgres":
			dsn, err := m.secret(t.DSNEnv, t.DSNFile)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("targets.%s: %w", name, err)
			}
			db, err := execute.OpenPostgres(ctx, dsn)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("targets.%s: %w", name, err)
			}
			closers = append(closers, db.Close)
			gt.Executor = &gateway.PostgresExecutor{DB: db, ExactBelow: cfg.ExactCountBelow, Timeout: t.Timeout, MaxOutput: cfg.MaxOutputBytes,
				Cap: execute.Cap{Percent: cfg.EffectPercent, Rows: cfg.EffectRows}}
		}
		gcfg.Targets[name] = gt
	}
	if cfg.Store != "" {
		st, err = postgres.Open(ctx, cfg.Store, log)
	} else {
		st, err = sqlite.Open(ctx, cfg.DataDir)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open store: %w", err)
	}
	var hooks []notify.Webhook
	for i, h := range cfg.Webhooks {
		wh := notify.Webhook{URL: h.URL, Format: h.Format}
		if h.SecretEnv != "" {
			sec, err := m.secret(h.SecretEnv, "")
			if err != nil {
				return nil, nil, nil, fmt.Errorf("notify.webhooks[%d].secret_env: %w", i, err)
			}
			wh.Secret = []byte(sec)
		}
		hooks = append(hooks, wh)
	}
	gcfg.LinkBase = cfg.PublicURL
	if gcfg.LinkBase == "" {
		gcfg.LinkBase = "http://" + cfg.Listen
	}
	if len(hooks) > 0 {
		n := notify.New(hooks, notify.Options{OnFailure: func(no gateway.Notice, url string, err error) { gw.NotifyFailed(no, url, err) }}, log)
		gcfg.Notifier = n
		closers = append(closers, func() { n.Close(5 * time.Second) })
	}
	gw = gateway.New(gcfg, eng, st, log)
	return gw, st, closeTargets, nil
}

// secret reads a secret from the environment variable or the file that
// a config names. Its value never appears in an error.
func (m *Main) secret(env, file string) (string, error) {
	switch {
	case env != "":
		v := strings.TrimSpace(m.Getenv(env))
		if v == "" {
			return "", fmt.Errorf("environment variable %s is not set", env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", file)
		}
		return v, nil
	}
	return "", errors.New("no secret reference")
}

// adminToken is $GATEHOUSE_ADMIN_TOKEN, or the token in
// data_dir/admin.token, generated on first start.
func (m *Main) adminToken(cfg *config.Config) (string, error) {
	if v := strings.TrimSpace(m.Getenv("GATEHOUSE_ADMIN_TOKEN")); v != "" {
		if len(v) < 16 {
			return "", errors.New("GATEHOUSE_ADMIN_TOKEN is shorter than 16 characters")
		}
		return v, nil
	}
	path := filepath.Join(cfg.DataDir, "admin.token")
	if b, err := os.ReadFile(path); err == nil {
		if v := strings.TrimSpace(string(b)); v != "" {
			return v, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	tok := gateway.NewToken("gha_")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	if _, err := fmt.Fprintln(f, tok); err != nil {
		f.Close()
		return "", fmt.Errorf("write admin token: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	fmt.Fprintf(m.Stderr, "gatehouse: generated the admin token into %s (mode 0600); export GATEHOUSE_ADMIN_TOKEN=$(cat %s)\n", path, path)
	return tok, nil
}
