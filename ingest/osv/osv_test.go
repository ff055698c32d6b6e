package osv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/secmetrics/secmetrics/ingest"
)

const sample = "../../../shared/samples/osv-scanner/many_findings.json"

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

func result(m map[string]any, i int) map[string]any {
	return m["results"].([]any)[i].(map[string]any)
}

func pkgAt(m map[string]any, r, p int) map[string]any {
	return result(m, r)["packages"].([]any)[p].(map[string]any)
}

// The expected values were read from the sample with python3: per package,
// the groups' sorted ids, the CVEs among the ids and aliases, the records'
// severity[].score vectors and database_specific.severity words, and the
// "fixed" events of ECOSYSTEM ranges for the package. Severities are the
// CVSS v3.1 base scores of those vectors (NVD publishes the same scores for
// CVE-2022-31090 7.7, CVE-2023-50094 8.8, CVE-2023-46136 7.5).
func TestSample(t *testing.T) {
	fs, scan := mustParse(t, readSample(t, sample))
	if d := cmp.Diff(ingest.Scan{Format: "osv-scanner", Scanner: "osv-scanner", Kinds: []ingest.Kind{ingest.SCA}}, scan); d != "" {
		t.Errorf("scan (-want +got):\n%s", d)
	}
	// 66 package/record pairs in 37 groups.
	if len(fs) != 37 {
		t.Fatalf("got %d findings, want 37", len(fs))
	}
	count := map[ingest.Severity]int{}
	for _, f := range fs {
		count[f.Severity]++
		if f.Kind != ingest.SCA || f.Key == "" || f.CVE == "" {
			t.Errorf("%s: kind %q cve %q", f.Key, f.Kind, f.CVE)
		}
	}
	if d := cmp.Diff(map[ingest.Severity]int{ingest.Critical: 5, ingest.High: 20, ingest.Medium: 12}, count); d != "" {
		t.Errorf("severity counts (-want +got):\n%s", d)
	}

	want11 := ingest.Finding{
		Key:              "GHSA-2gwj-7jmv-h26r|PyPI|django|/tmprengine/web/requirements.txt",
		KeySource:        "composite:first-id+ecosystem+package+source",
		Kind:             ingest.SCA,
		RuleID:           "GHSA-2gwj-7jmv-h26r",
		Title:            "SQL Injection in Django",
		Severity:         ingest.Critical,
		OriginalSeverity: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		CVE:              "CVE-2022-28346",
		Aliases:          []string{"BIT-django-2022-28346", "GHSA-2gwj-7jmv-h26r", "PYSEC-2022-190"},
		Package:          "django",
		InstalledVersion: "3.2.4",
		FixedVersion:     "2.2.28, 3.2.13, 4.0.4",
		File:             "/tmprengine/web/requirements.txt",
		URL:              "https://osv.dev/vulnerability/GHSA-2gwj-7jmv-h26r",
	}
	if d := cmp.Diff(want11, fs[11]); d != "" {
		t.Errorf("finding 11 (-want +got):\n%s", d)
	}

	type row struct {
		key, cve, sev, orig, pkg, ver, fixed string
		aliases                              int
	}
	for i, want := range map[int]row{
		0: {"GHSA-25mq-v84q-4j7r|Packagist|guzzlehttp/guzzle|/tmpcardmarket-api/composer.lock", "CVE-2022-31090", "high",
			"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:N/A:N", "guzzlehttp/guzzle", "6.3.3", "6.5.8, 7.4.5", 1},
		5: {"GHSA-q7rv-6hp3-vh96|Packagist|guzzlehttp/psr7|/tmpcardmarket-api/composer.lock", "CVE-2022-24775", "medium",
			"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N", "guzzlehttp/psr7", "1.6.1", "1.8.4, 2.1.1, 1.9.1, 2.4.5", 6},
		// GitHub calls it MODERATE; the higher of its two vectors (PYSEC's, 7.5) wins.
		8: {"GHSA-hrfv-mqp8-q5rw|PyPI|werkzeug|/tmpgapps/requirements.txt", "CVE-2023-46136", "high",
			"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "werkzeug", "2.2.3", "3.0.1, 2.3.8", 2},
		// A git source: no package, the commit as version, a GIT range only.
		10: {"CVE-2023-50094|||/tmprengine/", "CVE-2023-50094", "high",
			"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", "", "f5f3c22f3ed5a6804a2a8d9ee9fa43044cfa24a6", "", 0},
		// No vector in either record: GitHub's word.
		30: {"GHSA-xxj9-f6rv-m3x4|PyPI|django|/tmprengine/web/requirements.txt", "CVE-2024-24680", "medium",
			"MODERATE", "django", "3.2.4", "3.2.24, 4.2.10, 5.0.2", 3},
		32: {"PYSEC-2023-206|PyPI|selenium|/tmprengine/web/requirements.txt", "CVE-2023-5590", "high",
			"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "selenium", "3.141.0", "4.14.0", 1},
		36: {"GHSA-qvrw-v9rv-5rjx|PyPI|aiohttp|/tmptrivy-dojo-report-operator/poetry.lock", "CVE-2023-49082", "medium",
			"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N", "aiohttp", "3.8.6", "3.9.0", 2},
	} {
		f := fs[i]
		got := row{f.Key, f.CVE, string(f.Severity), f.OriginalSeverity, f.Package, f.InstalledVersion, f.FixedVersion, len(f.Aliases)}
		if got != want {
			t.Errorf("finding %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	if d := cmp.Diff([]string{"BIT-drupal-2022-24775", "CVE-2023-29197", "CVE-2023-29530", "GHSA-q7rv-6hp3-vh96", "GHSA-wxmh-65f7-jcvw", "GHSA-xv3h-4844-9h36"}, fs[5].Aliases); d != "" {
		t.Errorf("psr7 aliases (-want +got):\n%s", d)
	}
}

// Newer OSV-Scanner writes max_severity in groups; older writes no groups
// at all; source may come after packages.
func TestGroupsVariants(t *testing.T) {
	orig := readSample(t, sample)
	withMax := edit(t, orig, func(m map[string]any) {
		pkgAt(m, 0, 0)["groups"].([]any)[0].(map[string]any)["max_severity"] = "9.1"
	})
	fs, _ := mustParse(t, withMax)
	if f := fs[0]; f.Severity != ingest.Critical || f.OriginalSeverity != "9.1" {
		t.Errorf("max_severity 9.1: severity %q original %q", f.Severity, f.OriginalSeverity)
	}

	noGroups := edit(t, orig, func(m map[string]any) {
		for _, r := range m["results"].([]any) {
			for _, p := range r.(map[string]any)["packages"].([]any) {
				delete(p.(map[string]any), "groups")
			}
		}
	})
	fs, _ = mustParse(t, noGroups)
	if len(fs) != 66 {
		t.Errorf("without groups: got %d findings, want one per record (66)", len(fs))
	}

	a, _ := mustParse(t, orig)
	// Re-encoding sorts keys: packages before source, and in each package
	// groups before package before vulnerabilities.
	b, _ := mustParse(t, edit(t, orig, func(map[string]any) {}))
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("reordered output gives other findings (-original +reordered):\n%s", d)
	}
}

func TestCVSS3(t *testing.T) {
	for vector, want := range map[string]float64{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H":     9.8,
		"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:N/A:N":     7.7,
		"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:H/A:N":     8.0,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N":     6.1,
		"CVSS:3.1/AV:A/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N":     4.2,
		"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H/E:F": 7.8,
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H":     10,
		"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H":     5.9,
		"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N":     1.6,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N":     0,
	} {
		got, ok := cvss3(vector)
		if !ok || got != want {
			t.Errorf("cvss3(%s) = %v, %v; want %v", vector, got, ok, want)
		}
	}
	for _, vector := range []string{
		"", "AV:N/AC:L/Au:N/C:P/I:N/A:N", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A",
	} {
		if got, ok := cvss3(vector); ok {
			t.Errorf("cvss3(%q) = %v, want not ok", vector, got)
		}
	}
}

func TestFormatErrors(t *testing.T) {
	orig := readSample(t, sample)
	cut := bytes.Index(orig, []byte(`"id": "GHSA-cwmx-hcrq-mhc3"`))
	if cut < 0 {
		t.Fatal("second record not found")
	}
	tests := []struct {
		name   string
		report []byte
		path   string
		msg    string
	}{
		{"empty", nil, "", "unexpected end of input"},
		{"truncated", orig[:cut], "results[0].packages[0].vulnerabilities[1]", "unexpected end of input"},
		{"malformed", []byte(`{"results": [{"source": {"path": "a"}, "packages": [{]}]}`), "results[0].packages[0]", "malformed JSON"},
		{"no results", []byte(`{"experimental_config": {}}`), "", "missing results"},
		{"results an object", []byte(`{"results": {}}`), "results", "is an object, want an array"},
		{"version a number", edit(t, orig, func(m map[string]any) { pkgAt(m, 1, 0)["package"].(map[string]any)["version"] = 3.0 }),
			"results[1].packages[0].package.version", "is a JSON number, want a string"},
		{"aliases a string", edit(t, orig, func(m map[string]any) {
			pkgAt(m, 2, 0)["vulnerabilities"].([]any)[1].(map[string]any)["aliases"] = "CVE-2023-32681"
		}), "results[2].packages[0].vulnerabilities[1].aliases", "is a JSON string, want an array"},
		{"record without id", edit(t, orig, func(m map[string]any) {
			delete(pkgAt(m, 5, 0)["vulnerabilities"].([]any)[7].(map[string]any), "id")
		}), "results[5].packages[0].vulnerabilities[7].id", "missing"},
		{"group without ids", edit(t, orig, func(m map[string]any) {
			pkgAt(m, 4, 2)["groups"].([]any)[0].(map[string]any)["ids"] = []any{}
		}), "results[4].packages[2].groups[0].ids", "missing"},
		{"max_severity a word", edit(t, orig, func(m map[string]any) {
			pkgAt(m, 0, 1)["groups"].([]any)[0].(map[string]any)["max_severity"] = "HIGH"
		}), "results[0].packages[1].groups[0].max_severity", "not a CVSS score"},
		{"no source", edit(t, orig, func(m map[string]any) { delete(result(m, 3), "source") }), "results[3]", "missing source"},
		{"long summary", edit(t, orig, func(m map[string]any) {
			pkgAt(m, 1, 0)["vulnerabilities"].([]any)[0].(map[string]any)["summary"] = strings.Repeat("s", maxString+1)
		}), "results[1].packages[0].vulnerabilities[0].summary", "longer than the 1 MiB limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseAll(t, tt.report)
			var fe *ingest.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error = %v (%T), want *ingest.FormatError", err, err)
			}
			if fe.Format != "osv-scanner" || fe.Path != tt.path || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("error = format %q path %q msg %q, want osv-scanner %q containing %q", fe.Format, fe.Path, fe.Msg, tt.path, tt.msg)
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
		"osv-scanner/many_findings.json":              true,
		"trivy/alpine-310.json":                       false,
		"grype/many_vulns_with_epss_values.json":      false,
		"snyk/single_project_many_vulns.json":         false,
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
		`{"results": [], "experimental_config": {"licenses": {"summary": false}}}`: true,
		`{"results": []}`: true,
		`{"errors": [], "results": [], "version": "1.30.0"}`:             false,
		`{"results": [{"check_id": "x", "path": "a.go"}], "errors": []}`: false,
	} {
		if got := Detect([]byte(in)); got != want {
			t.Errorf("Detect(%.50s) = %v, want %v", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	// Two results of the sample, each record without its long texts and
	// version lists, so that fuzzing mutates a small input.
	f.Add(edit(f, readSample(f, sample), func(m map[string]any) {
		m["results"] = []any{result(m, 1), result(m, 3)}
		for _, r := range m["results"].([]any) {
			for _, p := range r.(map[string]any)["packages"].([]any) {
				for _, v := range p.(map[string]any)["vulnerabilities"].([]any) {
					v := v.(map[string]any)
					delete(v, "details")
					delete(v, "references")
					for _, a := range v["affected"].([]any) {
						delete(a.(map[string]any), "versions")
					}
				}
			}
		}
	}))
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
