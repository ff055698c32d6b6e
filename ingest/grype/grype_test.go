package grype

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/secmetrics/secmetrics/ingest"
)

const sample = "../../../shared/samples/grype/many_vulns_with_epss_values.json"

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseAll(t testing.TB, report []byte) ([]ingest.Finding, ingest.Scan, error) {
	t.Helper()
	var fs []ingest.Finding
	scan, err := Parser{}.Parse(context.Background(), bytes.NewReader(report), func(f ingest.Finding) error {
		fs = append(fs, f)
		return nil
	})
	return fs, scan, err
}

func mustParse(t testing.TB, report []byte) ([]ingest.Finding, ingest.Scan) {
	t.Helper()
	fs, scan, err := parseAll(t, report)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return fs, scan
}

func edit(t testing.TB, report []byte, change func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(report, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func matches(m map[string]any) []any { return m["matches"].([]any) }

func vuln(m map[string]any, i int) map[string]any {
	return matches(m)[i].(map[string]any)["vulnerability"].(map[string]any)
}

// The expected values were read from the sample with
// jq '.matches[] | [.vulnerability.id, .vulnerability.severity, .vulnerability.epss, .vulnerability.fix, .artifact.name, .artifact.version, .artifact.type, [.artifact.locations[].path]]'.
func TestSample(t *testing.T) {
	fs, scan := mustParse(t, readSample(t, sample))

	wantScan := ingest.Scan{
		Format:         "grype",
		Scanner:        "grype",
		ScannerVersion: "0.94.0",
		Asset:          "busybox",
		Kinds:          []ingest.Kind{ingest.Container},
		Time:           time.Date(2025, 6, 19, 11, 43, 35, 523947199, time.UTC),
	}
	if d := cmp.Diff(wantScan, scan, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("scan (-want +got):\n%s", d)
	}
	if len(fs) != 15 {
		t.Fatalf("got %d findings, want 15", len(fs))
	}

	count := map[ingest.Severity]int{}
	for _, f := range fs {
		count[f.Severity]++
		if f.Kind != ingest.Container || !f.HasEPSS || f.KEV || f.Package != "busybox" || f.InstalledVersion != "1.32.1" || f.CVE != f.RuleID {
			t.Errorf("%s: kind %q epss %v kev %v package %s@%s cve %q", f.Key, f.Kind, f.HasEPSS, f.KEV, f.Package, f.InstalledVersion, f.CVE)
		}
	}
	if d := cmp.Diff(map[ingest.Severity]int{ingest.Critical: 1, ingest.High: 10, ingest.Medium: 2, ingest.Low: 2}, count); d != "" {
		t.Errorf("severity counts (-want +got):\n%s", d)
	}

	want0 := ingest.Finding{
		Key:              "CVE-2022-28391|busybox|binary|/bin/[",
		KeySource:        "composite:vulnerability+package+type+locations",
		Kind:             ingest.Container,
		RuleID:           "CVE-2022-28391",
		Severity:         ingest.High,
		OriginalSeverity: "High",
		CVE:              "CVE-2022-28391",
		Package:          "busybox",
		InstalledVersion: "1.32.1",
		File:             "/bin/[",
		EPSS:             0.0719,
		EPSSPercentile:   0.91123,
		HasEPSS:          true,
		URL:              "https://nvd.nist.gov/vuln/detail/CVE-2022-28391",
	}
	if d := cmp.Diff(want0, fs[0]); d != "" {
		t.Errorf("finding 0 (-want +got):\n%s", d)
	}

	type row struct {
		cve, sev, fixed string
		epss, pct       float64
	}
	for i, want := range map[int]row{
		2:  {"CVE-2022-48174", "critical", "", 0.00451, 0.62761},
		11: {"CVE-2021-42374", "medium", "", 0.00077, 0.23977},
		12: {"CVE-2021-42376", "medium", "1.34.0", 0.00028, 0.06078},
		14: {"CVE-2025-46394", "low", "", 0.00017, 0.02652},
	} {
		f := fs[i]
		got := row{f.CVE, string(f.Severity), f.FixedVersion, f.EPSS, f.EPSSPercentile}
		if got != want {
			t.Errorf("finding %d = %+v, want %+v", i, got, want)
		}
	}
}

// A rebuilt image has new digests, image id, tags and layer ids; keys and
// asset stay.
func TestRebuiltImage(t *testing.T) {
	orig := readSample(t, sample)
	digest := "sha256:" + strings.Repeat("cd", 32)
	rebuilt := edit(t, orig, func(m map[string]any) {
		target := m["source"].(map[string]any)["target"].(map[string]any)
		target["userInput"] = "busybox@" + digest
		target["imageID"] = digest
		target["manifestDigest"] = digest
		target["tags"] = []any{"busybox:1.32.1-rebuild"}
		for _, mt := range matches(m) {
			for _, l := range mt.(map[string]any)["artifact"].(map[string]any)["locations"].([]any) {
				l.(map[string]any)["layerID"] = digest
			}
		}
	})
	a, scanA := mustParse(t, orig)
	b, scanB := mustParse(t, rebuilt)
	if scanA.Asset != scanB.Asset || scanA.Asset != "busybox" {
		t.Errorf("asset %q -> %q, want busybox twice", scanA.Asset, scanB.Asset)
	}
	if len(a) != 15 || len(b) != 15 {
		t.Fatalf("got %d and %d findings", len(a), len(b))
	}
	for i := range a {
		if d := cmp.Diff(a[i], b[i]); d != "" {
			t.Errorf("finding %d changed on rebuild (-before +after):\n%s", i, d)
		}
	}
}

// A directory scan of a Go module with a GHSA match whose CVE, EPSS and KEV
// entry come from its related vulnerability, and an ignored match.
const dirReport = `{
 "matches": [
  {"vulnerability": {"id": "GHSA-aaaa-bbbb-cccc", "dataSource": "https://github.com/advisories/GHSA-aaaa-bbbb-cccc",
    "namespace": "github:language:go", "severity": "Negligible", "fix": {"versions": ["0.17.0", "0.23.0"], "state": "fixed"}},
   "relatedVulnerabilities": [{"id": "CVE-2023-0001", "dataSource": "https://nvd.nist.gov/vuln/detail/CVE-2023-0001",
    "epss": [{"cve": "CVE-2023-0001", "epss": 0.5, "percentile": 0.97, "date": "2025-06-18"}],
    "knownExploited": [{"cve": "CVE-2023-0001", "knownRansomwareCampaignUse": "Known"}]}],
   "artifact": {"id": "1", "name": "golang.org/x/net", "version": "v0.1.0", "type": "go-module",
    "locations": [{"path": "/go.sum"}, {"path": "/cmd/go.sum"}, {"path": "/go.sum"}]}}
 ],
 "ignoredMatches": [
  {"vulnerability": {"id": "CVE-2023-0002", "severity": "Unknown", "fix": {"versions": ["1.2"], "state": "wont-fix"}},
   "relatedVulnerabilities": [],
   "artifact": {"name": "golang.org/x/text", "version": "v0.3.0", "type": "go-module", "locations": [{"path": "/go.sum"}]},
   "appliedIgnoreRules": [{"vulnerability": "CVE-2023-0002", "reason": "not reachable"}, {"vex-justification": "vulnerable_code_not_present"}]}
 ],
 "source": {"type": "directory", "target": "https://github.com/Org/Svc.git"},
 "distro": {"name": "", "version": "", "idLike": null},
 "descriptor": {"name": "grype", "version": "0.100.0", "timestamp": "2025-09-01T10:00:00+02:00"}
}`

func TestDirectoryRelatedAndIgnored(t *testing.T) {
	fs, scan := mustParse(t, []byte(dirReport))
	want := []ingest.Finding{
		{
			Key: "GHSA-aaaa-bbbb-cccc|golang.org/x/net|go-module|/cmd/go.sum|/go.sum", KeySource: "composite:vulnerability+package+type+locations",
			Kind: ingest.SCA, RuleID: "GHSA-aaaa-bbbb-cccc", Severity: ingest.Low, OriginalSeverity: "Negligible",
			CVE: "CVE-2023-0001", Aliases: []string{"GHSA-aaaa-bbbb-cccc"},
			Package: "golang.org/x/net", InstalledVersion: "v0.1.0", FixedVersion: "0.17.0, 0.23.0", File: "/cmd/go.sum",
			EPSS: 0.5, EPSSPercentile: 0.97, HasEPSS: true, KEV: true,
			URL: "https://github.com/advisories/GHSA-aaaa-bbbb-cccc",
		},
		{
			Key: "CVE-2023-0002|golang.org/x/text|go-module|/go.sum", KeySource: "composite:vulnerability+package+type+locations",
			Kind: ingest.SCA, RuleID: "CVE-2023-0002", Severity: ingest.Unknown, OriginalSeverity: "Unknown",
			CVE: "CVE-2023-0002", Package: "golang.org/x/text", InstalledVersion: "v0.3.0", File: "/go.sum",
			Suppression: "grype:ignored", StatusReason: "not reachable; vulnerable_code_not_present",
		},
	}
	if d := cmp.Diff(want, fs); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	wantScan := ingest.Scan{
		Format: "grype", Scanner: "grype", ScannerVersion: "0.100.0", Asset: "github.com/Org/Svc",
		Kinds: []ingest.Kind{ingest.SCA}, Time: time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC),
	}
	if d := cmp.Diff(wantScan, scan, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("scan (-want +got):\n%s", d)
	}
}

func TestFormatErrors(t *testing.T) {
	orig := readSample(t, sample)
	fourth := bytes.Index(orig, []byte(`"id": "CVE-2021-42380"`))
	if fourth < 0 {
		t.Fatal("fourth match not found")
	}
	tests := []struct {
		name   string
		report []byte
		path   string
		msg    string
	}{
		{"empty", []byte("  "), "", "unexpected end of input"},
		{"truncated", orig[:fourth], "matches[3]", "unexpected end of input"},
		{"malformed", []byte(`{"matches": [{"vulnerability": {"id": "X",}}]}`), "matches[0]", "malformed JSON"},
		{"no matches", []byte(`{"source": {"type": "image"}}`), "", "missing matches"},
		{"matches an object", []byte(`{"matches": {}}`), "matches", "is an object, want an array"},
		{"severity a number", edit(t, orig, func(m map[string]any) { vuln(m, 1)["severity"] = 7 }),
			"matches[1].vulnerability.severity", "is a JSON number, want a string"},
		{"epss a string", edit(t, orig, func(m map[string]any) { vuln(m, 5)["epss"].([]any)[0].(map[string]any)["epss"] = "0.1" }),
			"matches[5].vulnerability.epss.epss", "is a JSON string, want a number"},
		{"epss out of range", edit(t, orig, func(m map[string]any) { vuln(m, 6)["epss"].([]any)[0].(map[string]any)["epss"] = 7.5 }),
			"matches[6].vulnerability.epss[0]", "outside [0, 1]"},
		{"knownExploited a string", edit(t, orig, func(m map[string]any) { vuln(m, 0)["knownExploited"] = "yes" }),
			"matches[0].vulnerability.knownExploited", "is a JSON string, want an array"},
		{"missing id", edit(t, orig, func(m map[string]any) { delete(vuln(m, 14), "id") }),
			"matches[14].vulnerability.id", "missing"},
		{"bad timestamp", edit(t, orig, func(m map[string]any) { m["descriptor"].(map[string]any)["timestamp"] = "today" }),
			"descriptor.timestamp", "not an RFC 3339 time"},
		{"long string", edit(t, orig, func(m map[string]any) {
			matches(m)[2].(map[string]any)["artifact"].(map[string]any)["version"] = strings.Repeat("1", maxString+1)
		}), "matches[2].artifact.version", "longer than the 1 MiB limit"},
		{"target a number", edit(t, orig, func(m map[string]any) { m["source"].(map[string]any)["target"] = 3 }),
			"source.target", "neither a string nor an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseAll(t, tt.report)
			var fe *ingest.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error = %v (%T), want *ingest.FormatError", err, err)
			}
			if fe.Format != "grype" || fe.Path != tt.path || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("error = format %q path %q msg %q, want grype %q containing %q", fe.Format, fe.Path, fe.Msg, tt.path, tt.msg)
			}
		})
	}
}

func TestEmitErrorAndCancel(t *testing.T) {
	report := readSample(t, sample)
	stop := errors.New("stop")
	_, err := Parser{}.Parse(context.Background(), bytes.NewReader(report), func(ingest.Finding) error { return stop })
	if err != stop {
		t.Errorf("emit error: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Parser{}.Parse(ctx, bytes.NewReader(report), func(ingest.Finding) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: got %v", err)
	}
}

func TestDetect(t *testing.T) {
	for name, want := range map[string]bool{
		"grype/many_vulns_with_epss_values.json":      true,
		"trivy/alpine-310.json":                       false,
		"snyk/single_project_many_vulns.json":         false,
		"osv-scanner/many_findings.json":              false,
		"sarif/semgrep-1.69.sarif":                    false,
		"semgrep/semgrep_version_1_30_0_line_26.json": false,
		"gitleaks/gitleaks8_many.json":                false,
		"github/dependabot_alerts.json":               false,
		"kev/known_exploited_vulnerabilities.json":    false,
		"jira/search_page1.json":                      false,
	} {
		head := readSample(t, "../../../shared/samples/"+name)
		if len(head) > 64<<10 {
			head = head[:64<<10]
		}
		if got := Detect(head); got != want {
			t.Errorf("Detect(%s) = %v, want %v", name, got, want)
		}
	}
	for in, want := range map[string]bool{
		dirReport: true,
		`{"matches": [], "source": {"type": "directory", "target": "."}, "descriptor": {"name": "grype"}}`: true,
		`{"matches": []}`:         false,
		`{"matches": [{"a": 1}]}`: false,
	} {
		if got := Detect([]byte(in)); got != want {
			t.Errorf("Detect(%.40s) = %v, want %v", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	// The sample cut to two matches without long texts, so that fuzzing
	// mutates a small input.
	f.Add(edit(f, readSample(f, sample), func(m map[string]any) {
		m["matches"] = matches(m)[:2]
		for _, mt := range matches(m) {
			for _, k := range []string{"urls", "description", "cvss"} {
				delete(mt.(map[string]any)["vulnerability"].(map[string]any), k)
			}
		}
		target := m["source"].(map[string]any)["target"].(map[string]any)
		delete(target, "manifest")
		delete(target, "config")
		delete(m["descriptor"].(map[string]any), "configuration")
	}))
	f.Add([]byte(dirReport))
	f.Fuzz(func(t *testing.T, report []byte) {
		_, _ = Parser{}.Parse(context.Background(), bytes.NewReader(report), func(f ingest.Finding) error {
			if f.Key == "" {
				t.Errorf("finding without key: %+v", f)
			}
			if !validSeverity(f.Severity) {
				t.Errorf("invalid severity %q", f.Severity)
			}
			return nil
		})
	})
}

func validSeverity(s ingest.Severity) bool {
	for _, v := range ingest.Severities {
		if s == v {
			return true
		}
	}
	return false
}
