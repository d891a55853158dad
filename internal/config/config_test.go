package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

func TestValidConfig(t *testing.T) {
	c, err := config.Load("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.TargetNames(); strings.Join(got, ",") != "app-db,github,workspace" {
		t.Errorf("targets = %v", got)
	}
	db := c.Targets["app-db"]
	if db.Kind != "postgres" || db.Class != "customer-data" || db.DSNEnv != "APP_DB_DSN" || db.Tables[0] != "app.orders" {
		t.Errorf("app-db = %+v", db)
	}
	if len(c.Egress.Allow) != 3 || !c.Egress.Allow[1].Review || c.Egress.Allow[1].Ports[0] != 5432 {
		t.Errorf("egress = %+v", c.Egress)
	}
	if !filepath.IsAbs(c.DataDir) {
		t.Errorf("data_dir %q should be made absolute against the config file", c.DataDir)
	}
	if c.Webhooks[0].Format != "slack" {
		t.Errorf("webhooks = %+v", c.Webhooks)
	}
}

func TestDefaults(t *testing.T) {
	c := config.Default("/work/x")
	local := c.Targets[config.DefaultTargetName]
	if local == nil || local.Kind != "shell" || local.Class != "non-critical" || local.Workdir != "/work/x" {
		t.Fatalf("default target = %+v", local)
	}
	if c.Listen != "127.0.0.1:8700" || c.ProxyListen != "127.0.0.1:8701" {
		t.Errorf("listen = %s / %s", c.Listen, c.ProxyListen)
	}
}

// TestInvalidConfigs: each fixture's first line holds the error it must give.
func TestInvalidConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(src), "\n")
			want := strings.TrimPrefix(first, "# want: ")
			_, err = config.Parse(src, "/cfg")
			if err == nil {
				t.Fatalf("parsed; want %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q\ndoes not contain %q", err, want)
			}
			if strings.Contains(err.Error(), "secretpw") {
				t.Fatalf("the error repeats a secret: %q", err)
			}
		})
	}
}

// TestAllErrorsReported: a file with several mistakes reports all of them.
func TestAllErrorsReported(t *testing.T) {
	_, err := config.Parse([]byte("version: 1\ntargets:\n  a: {kind: x, class: non-critical}\n  b: {kind: shell, class: nope, workdir: /tmp}\n"), "/")
	if err == nil || !strings.Contains(err.Error(), "targets.a.kind") || !strings.Contains(err.Error(), "targets.b.class") {
		t.Fatalf("got %v; want both mistakes", err)
	}
}
