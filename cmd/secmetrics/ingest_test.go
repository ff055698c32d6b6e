package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secmetrics/secmetrics/queries/chtest"
)

// cli runs the secmetrics command line against the test ClickHouse and a
// fresh database.
func cli(t *testing.T, db string, args ...string) (string, error) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	text := fmt.Sprintf("clickhouse:\n  addr: [%q]\n  database: %s\nlog:\n  level: error\n", chtest.Addr(), db)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"-config", cfg}, args...), &out, &out, func(string) string { return "" })
	return out.String(), err
}

func TestCLIIngest(t *testing.T) {
	db := chtest.New(t) // creates and migrates a database we then reuse by name
	name := db.Database()
	samples := "../../../shared/samples/"

	out, err := cli(t, name, "ingest", "inventory", "../../ingest/inventory/testdata/assets.csv")
	if err != nil || !strings.Contains(out, "inventory csv: 3 assets: 3 added, 0 changed, 0 deactivated, 0 unchanged") {
		t.Fatalf("inventory: %v\n%s", err, out)
	}
	out, err = cli(t, name, "ingest", "scan", "--branch", "main", "--time", "2026-10-01T00:00:00Z",
		samples+"trivy/alpine-310.json", samples+"grype/many_vulns_with_epss_values.json")
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, out)
	}
	for _, want := range []string{
		"alpine-310.json: trivy trivy on ghcr.io/aquasecurity/trivy-test-images: 4 findings: 4 new, 0 fixed, 0 reopened, 0 unchanged",
		"many_vulns_with_epss_values.json: grype grype on busybox: 15 findings: 15 new, 0 fixed, 0 reopened, 0 unchanged",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scan output lacks %q:\n%s", want, out)
		}
	}
	// The same file again is a duplicate.
	out, err = cli(t, name, "ingest", "scan", "--branch", "main", "--time", "2026-10-01T00:00:00Z", samples+"trivy/alpine-310.json")
	if err != nil || !strings.Contains(out, "0 new, 0 fixed, 0 reopened, 4 unchanged (already ingested: nothing changed)") {
		t.Fatalf("duplicate scan: %v\n%s", err, out)
	}

	// A truncated report is rejected with its place, and nothing of it is written.
	data, err := os.ReadFile(samples + "snyk/single_project_many_vulns.json")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "snyk-truncated.json")
	if err := os.WriteFile(cut, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = cli(t, name, "ingest", "scan", cut)
	if err == nil || !strings.Contains(out, "snyk-truncated.json: rejected: snyk: vulnerabilities[") {
		t.Fatalf("truncated report: %v\n%s", err, out)
	}
	var n uint64
	if err := db.QueryRow(context.Background(), "SELECT count() FROM scan_runs WHERE format = 'snyk'", nil, &n); err != nil || n != 0 {
		t.Fatalf("snyk scan runs after a rejected file: %d, %v", n, err)
	}
	if err := db.QueryRow(context.Background(), "SELECT count() FROM findings WHERE scanner = 'snyk'", nil, &n); err != nil || n != 0 {
		t.Fatalf("snyk findings after a rejected file: %d, %v", n, err)
	}

	// An unknown file names what was expected.
	junk := filepath.Join(t.TempDir(), "notes.json")
	os.WriteFile(junk, []byte(`{"notes": []}`), 0o600)
	out, _ = cli(t, name, "ingest", "scan", junk)
	if !strings.Contains(out, "notes.json: rejected: unknown report format: expected one of SARIF 2.1.0, Trivy JSON") {
		t.Fatalf("unknown format:\n%s", out)
	}
}
