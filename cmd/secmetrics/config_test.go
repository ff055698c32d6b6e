package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBrokenConfigs loads each testdata/config/*.yaml and compares every
// reported problem with the matching .want file.
func TestBrokenConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/config/*.yaml")
	if len(files) == 0 {
		t.Fatal("no test configs")
	}
	getenv := func(k string) string {
		if k == "SECMETRICS_TEST_CH_HOST" {
			return "ch.internal"
		}
		return ""
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".want")
			if err != nil {
				t.Fatalf("missing .want file: %v", err)
			}
			_, err = loadConfig(f, getenv)
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("loadConfig = %v, want a configError", err)
			}
			if diff := cmp.Diff(strings.Split(strings.TrimSpace(string(want)), "\n"), ce.problems); diff != "" {
				t.Fatalf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnvExpansionIsNotYAML(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(f, []byte("clickhouse:\n  user: ${U}\n  database: secm\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A value that looks like YAML structure stays a plain string.
	cfg, err := loadConfig(f, func(string) string { return "x\n  database: evil" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClickHouse.User != "x\n  database: evil" || cfg.ClickHouse.Database != "secm" {
		t.Fatalf("user %q database %q", cfg.ClickHouse.User, cfg.ClickHouse.Database)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	cfg, err := loadConfig("../../secmetrics.example.yaml", func(k string) string {
		return "value-of-" + k
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen == "" {
		t.Fatal("example config lost the defaults")
	}
}

func TestPasswordFromFile(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(f, []byte("clickhouse:\n  password_file: "+pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(f, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClickHouse.Password != "s3cret" {
		t.Fatalf("password %q", cfg.ClickHouse.Password)
	}
}
