package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/engine"
	"github.com/gatehouse/gatehouse/internal/policy"
)

// loadConfig reads --config, or returns the embedded defaults.
func (m *Main) loadConfig(path string) (*config.Config, error) {
	if path == "" {
		path = m.Getenv("GATEHOUSE_CONFIG")
	}
	if path == "" {
		wd, err := m.Getwd()
		if err != nil {
			return nil, fmt.Errorf("working directory: %w", err)
		}
		c := config.Default(wd)
		// The defaults' shell target works in the current directory, so
		// the gateway's data (its tokens) must live elsewhere; serve
		// checks that it does.
		c.DataDir = m.stateDir(wd)
		return c, nil
	}
	return config.Load(path)
}

// stateDir is where the defaults keep the gateway's data: under
// $XDG_STATE_HOME (or ~/.local/state), one directory per working
// directory served.
func (m *Main) stateDir(wd string) string {
	base := m.Getenv("XDG_STATE_HOME")
	if base == "" {
		home := m.Getenv("HOME")
		if home == "" {
			home = "/var/lib"
		}
		base = filepath.Join(home, ".local", "state")
	}
	sum := sha256.Sum256([]byte(wd))
	return filepath.Join(base, "gatehouse", filepath.Base(wd)+"-"+hex.EncodeToString(sum[:4]))
}

// loadPolicy reads a policy file, or returns the built-in policy.
func loadPolicy(path string) (*policy.Policy, error) {
	if path == "" {
		return policy.Default()
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	p, err := policy.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	return p, nil
}

// newEngine builds the decision engine for a configuration.
func newEngine(cfg *config.Config, p *policy.Policy, opts ...engine.Option) (*engine.Engine, error) {
	var targets []engine.Target
	def := ""
	for name, t := range cfg.Targets {
		targets = append(targets, engine.Target{Name: name, Kind: t.Kind, Class: t.Class, Workdir: t.Workdir})
		if def == "" || name == config.DefaultTargetName {
			def = name
		}
	}
	if len(cfg.Targets) > 1 {
		if _, ok := cfg.Targets[config.DefaultTargetName]; !ok {
			def = "" // several targets and no "local": requests must name one
		}
	}
	e, err := engine.New(p, targets, def, opts...)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return e, nil
}
