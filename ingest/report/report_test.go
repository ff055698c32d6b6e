package report_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/report"
)

const samples = "../../../shared/samples/"

// TestDetectSamples: every real sample is claimed by exactly its format,
// plain and gzipped, and parses to the end.
func TestDetectSamples(t *testing.T) {
	for file, want := range map[string]string{
		"sarif/semgrep-1.69.sarif":                    "sarif",
		"trivy/alpine-310.json":                       "trivy",
		"grype/many_vulns_with_epss_values.json":      "grype",
		"semgrep/semgrep_version_1_30_0_line_26.json": "semgrep",
		"gitleaks/gitleaks8_many.json":                "gitleaks",
		"snyk/single_project_many_vulns.json":         "snyk",
		"osv-scanner/many_findings.json":              "osv-scanner",
		"github/dependabot_alerts.json":               "github-dependabot",
	} {
		data, err := os.ReadFile(samples + file)
		if err != nil {
			t.Fatal(err)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(data)
		zw.Close()
		for variant, body := range map[string][]byte{"plain": data, "gzip": gz.Bytes()} {
			f, r, err := report.Open(bytes.NewReader(body), "")
			if err != nil {
				t.Errorf("%s (%s): %v", file, variant, err)
				continue
			}
			if f.Name != want {
				t.Errorf("%s (%s): detected %s, want %s", file, variant, f.Name, want)
				continue
			}
			n := 0
			if _, err := f.Parser.Parse(context.Background(), r, func(ingest.Finding) error { n++; return nil }); err != nil {
				t.Errorf("%s (%s): parse: %v", file, variant, err)
			}
			if n == 0 {
				t.Errorf("%s (%s): no findings", file, variant)
			}
		}
	}
}

func TestDetectUnknownAndForced(t *testing.T) {
	_, _, err := report.Open(strings.NewReader(`{"hello": "world"}`), "")
	if !errors.Is(err, report.ErrUnknown) || !strings.Contains(err.Error(), "SARIF 2.1.0") || !strings.Contains(err.Error(), "Trivy JSON") {
		t.Fatalf("unknown report: %v", err)
	}
	_, _, err = report.Open(strings.NewReader(``), "")
	if !errors.Is(err, report.ErrUnknown) {
		t.Fatalf("empty report: %v", err)
	}
	f, r, err := report.Open(strings.NewReader(`{}`), "trivy")
	if err != nil || f.Name != "trivy" {
		t.Fatalf("forced format: %v %v", f.Name, err)
	}
	if b, _ := io.ReadAll(r); string(b) != `{}` {
		t.Fatalf("forced format body = %q", b)
	}
	if _, _, err := report.Open(strings.NewReader(`{}`), "nessus"); err == nil || !strings.Contains(err.Error(), `unknown format "nessus"`) {
		t.Fatalf("unknown forced format: %v", err)
	}
	if _, _, err := report.Open(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}), ""); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Fatalf("broken gzip: %v", err)
	}
}
