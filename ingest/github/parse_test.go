package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/secmetrics/secmetrics/ingest"
)

const (
	dependabotSample   = "../../../shared/samples/github/dependabot_alerts.json"
	codeScanningSample = "testdata/code_scanning_alerts.json"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseAll(t testing.TB, p ingest.Parser, data []byte) ([]ingest.Finding, ingest.Scan, error) {
	t.Helper()
	var fs []ingest.Finding
	scan, err := p.Parse(context.Background(), bytes.NewReader(data), func(f ingest.Finding) error {
		fs = append(fs, f)
		return nil
	})
	return fs, scan, err
}

func byNumber(t *testing.T, fs []ingest.Finding, repo string) map[string]ingest.Finding {
	t.Helper()
	m := map[string]ingest.Finding{}
	for _, f := range fs {
		if _, dup := m[f.Key]; dup {
			t.Errorf("duplicate key %q", f.Key)
		}
		m[strings.TrimPrefix(f.Key, repo+"#")] = f
	}
	return m
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The expected figures were computed from the sample with python3's json
// module (see the commit message), not from this parser's output.
func TestDependabotSample(t *testing.T) {
	fs, scan, err := parseAll(t, DependabotParser{}, readFile(t, dependabotSample))
	if err != nil {
		t.Fatal(err)
	}
	const repo = "github.com/hassancs91/SimplerLLM"
	if diff := cmp.Diff(ingest.Scan{Format: "github-dependabot", Scanner: "dependabot", Asset: repo, Tracked: true}, scan); diff != "" {
		t.Errorf("scan (-want +got):\n%s", diff)
	}
	if len(fs) != 76 {
		t.Fatalf("findings = %d, want 76", len(fs))
	}

	count := func(key func(ingest.Finding) string) map[string]int {
		m := map[string]int{}
		for _, f := range fs {
			m[key(f)]++
		}
		return m
	}
	for name, tc := range map[string]struct {
		key  func(ingest.Finding) string
		want map[string]int
	}{
		"severity":    {func(f ingest.Finding) string { return string(f.Severity) }, map[string]int{"critical": 2, "high": 42, "medium": 24, "low": 8}},
		"kind":        {func(f ingest.Finding) string { return string(f.Kind) }, map[string]int{"sca": 76}},
		"state":       {func(f ingest.Finding) string { return lifecycleOf(f) }, map[string]int{"open": 76}},
		"suppression": {func(f ingest.Finding) string { return f.Suppression }, map[string]int{"": 76}},
		"manifest": {func(f ingest.Finding) string { return f.File }, map[string]int{
			"simplerllm_desktop_app/package-lock.json":     38,
			"simplerllm_img_desktop_app/package-lock.json": 38,
		}},
		"has epss": {func(f ingest.Finding) string { return map[bool]string{true: "yes", false: "no"}[f.HasEPSS] }, map[string]int{"yes": 74, "no": 2}},
		"asset":    {func(f ingest.Finding) string { return f.Asset }, map[string]int{repo: 76}},
		"fixed version": {func(f ingest.Finding) string {
			return map[bool]string{true: "none", false: "some"}[f.FixedVersion == ""]
		}, map[string]int{"some": 76}},
	} {
		if diff := cmp.Diff(tc.want, count(tc.key)); diff != "" {
			t.Errorf("%s counts (-want +got):\n%s", name, diff)
		}
	}
	if n := len(count(func(f ingest.Finding) string { return f.CVE })); n != 36 {
		t.Errorf("distinct CVEs = %d, want 36", n)
	}
	if n := count(func(f ingest.Finding) string { return f.Package })["electron"]; n != 32 {
		t.Errorf("electron alerts = %d, want 32", n)
	}

	m := byNumber(t, fs, repo)
	if diff := cmp.Diff(ingest.Finding{
		Key:              repo + "#184",
		KeySource:        "github:repository+number",
		Kind:             ingest.SCA,
		RuleID:           "GHSA-w7jw-789q-3m8p",
		Title:            "shell-quote quote() does not escape newlines in object .op values",
		Severity:         ingest.Critical,
		OriginalSeverity: "critical",
		CVE:              "CVE-2026-9277",
		Aliases:          []string{"GHSA-w7jw-789q-3m8p"},
		Package:          "shell-quote",
		FixedVersion:     "1.8.4",
		File:             "simplerllm_img_desktop_app/package-lock.json",
		Asset:            repo,
		EPSS:             0.00068,
		EPSSPercentile:   0.2098,
		HasEPSS:          true,
		DetectedAt:       date("2026-06-10T17:48:15Z"),
		URL:              "https://github.com/advisories/GHSA-w7jw-789q-3m8p",
	}, m["184"]); diff != "" {
		t.Errorf("alert 184 (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		number, pkg, cve, fixed, file, sev string
		epss, pct                          float64
		hasEPSS                            bool
		detected                           string
	}{
		{"181", "tmp", "CVE-2026-44705", "0.2.6", "simplerllm_desktop_app/package-lock.json", "high", 0, 0, false, "2026-05-28T03:28:10Z"},
		{"172", "@xmldom/xmldom", "CVE-2026-41672", "0.8.13", "simplerllm_img_desktop_app/package-lock.json", "high", 0.00081, 0.2378, true, "2026-04-23T03:20:39Z"},
		{"43", "electron", "CVE-2025-55305", "35.7.5", "simplerllm_desktop_app/package-lock.json", "medium", 0.00009, 0.00951, true, "2025-12-28T07:21:17Z"},
		{"75", "minimatch", "CVE-2026-27903", "5.1.8", "simplerllm_desktop_app/package-lock.json", "high", 0.00036, 0.10542, true, "2026-03-01T00:47:00Z"},
	} {
		f, ok := m[tc.number]
		if !ok {
			t.Errorf("alert %s missing", tc.number)
			continue
		}
		got := []any{f.Package, f.CVE, f.FixedVersion, f.File, string(f.Severity), f.EPSS, f.EPSSPercentile, f.HasEPSS, f.DetectedAt}
		want := []any{tc.pkg, tc.cve, tc.fixed, tc.file, tc.sev, tc.epss, tc.pct, tc.hasEPSS, date(tc.detected)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("alert %s (-want +got):\n%s", tc.number, diff)
		}
	}

	// One advisory, one package, several alerts (one per vulnerable range
	// and manifest): a composite cve+package+manifest key would merge
	// 75, 77 and 83 (and 76, 78, 84); the alert number keeps them apart.
	var minimatch []string
	for n, f := range m {
		if f.CVE == "CVE-2026-27903" {
			minimatch = append(minimatch, n)
		}
	}
	sort.Strings(minimatch)
	if diff := cmp.Diff([]string{"75", "76", "77", "78", "83", "84"}, minimatch); diff != "" {
		t.Errorf("CVE-2026-27903 alerts (-want +got):\n%s", diff)
	}
}

// lifecycleOf names a finding's lifecycle as the alert state it came from.
func lifecycleOf(f ingest.Finding) string {
	switch {
	case !f.FixedAt.IsZero():
		return "fixed"
	case f.Suppression == "github:auto_dismissed":
		return "auto_dismissed"
	case f.Suppression != "":
		return "dismissed"
	}
	return "open"
}

// variant returns the sample's first alert changed by edit, as a one-alert
// export.
func variant(t *testing.T, edit func(a map[string]any)) []byte {
	t.Helper()
	var alerts []map[string]any
	if err := json.Unmarshal(readFile(t, dependabotSample), &alerts); err != nil {
		t.Fatal(err)
	}
	a := alerts[0]
	edit(a)
	b, err := json.Marshal([]any{a})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDependabotLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(a map[string]any)
		want func(f *ingest.Finding)
	}{{
		name: "fixed",
		edit: func(a map[string]any) { a["state"] = "fixed"; a["fixed_at"] = "2026-06-12T08:00:00Z" },
		want: func(f *ingest.Finding) { f.FixedAt = date("2026-06-12T08:00:00Z") },
	}, {
		name: "dismissed tolerable_risk with comment",
		edit: func(a map[string]any) {
			a["state"] = "dismissed"
			a["dismissed_at"] = "2026-06-11T09:30:00Z"
			a["dismissed_reason"] = "tolerable_risk"
			a["dismissed_comment"] = "dev-only dependency"
		},
		want: func(f *ingest.Finding) {
			f.Suppression = "github:tolerable_risk"
			f.StatusAt = date("2026-06-11T09:30:00Z")
			f.StatusReason = "dev-only dependency"
		},
	}, {
		name: "dismissed not_used without comment",
		edit: func(a map[string]any) {
			a["state"] = "dismissed"
			a["dismissed_at"] = "2026-06-11T09:30:00Z"
			a["dismissed_reason"] = "not_used"
		},
		want: func(f *ingest.Finding) {
			f.Suppression = "github:not_used"
			f.StatusAt = date("2026-06-11T09:30:00Z")
		},
	}, {
		name: "dismissed without a reason",
		edit: func(a map[string]any) { a["state"] = "dismissed" },
		want: func(f *ingest.Finding) { f.Suppression = "github:dismissed" },
	}, {
		name: "auto_dismissed",
		edit: func(a map[string]any) { a["state"] = "auto_dismissed"; a["auto_dismissed_at"] = "2026-06-10T18:00:00Z" },
		want: func(f *ingest.Finding) {
			f.Suppression = "github:auto_dismissed"
			f.StatusAt = date("2026-06-10T18:00:00Z")
		},
	}, {
		name: "organization export: repository object",
		edit: func(a map[string]any) {
			a["repository"] = map[string]any{"full_name": "octo-org/other", "html_url": "https://github.com/octo-org/other"}
		},
		want: func(f *ingest.Finding) {
			f.Asset = "github.com/octo-org/other"
			f.Key = "github.com/octo-org/other#184"
		},
	}, {
		name: "GitHub Enterprise API url only",
		edit: func(a map[string]any) {
			delete(a, "html_url")
			a["url"] = "https://ghe.example.com/api/v3/repos/team/svc/dependabot/alerts/184"
		},
		want: func(f *ingest.Finding) { f.Asset = "ghe.example.com/team/svc"; f.Key = "ghe.example.com/team/svc#184" },
	}, {
		name: "EPSS as the documented array, percentile as a string",
		edit: func(a map[string]any) {
			a["security_advisory"].(map[string]any)["epss"] = []any{map[string]any{"percentage": 0.00045, "percentile": "0.16001e0"}}
		},
		want: func(f *ingest.Finding) { f.EPSS, f.EPSSPercentile = 0.00045, 0.16001 },
	}, {
		name: "null EPSS",
		edit: func(a map[string]any) { a["security_advisory"].(map[string]any)["epss"] = nil },
		want: func(f *ingest.Finding) { f.EPSS, f.EPSSPercentile, f.HasEPSS = 0, 0, false },
	}, {
		name: "no patched version, no cve_id but a CVE identifier, an extra alias",
		edit: func(a map[string]any) {
			a["security_vulnerability"].(map[string]any)["first_patched_version"] = nil
			adv := a["security_advisory"].(map[string]any)
			adv["cve_id"] = nil
			adv["identifiers"] = []any{
				map[string]any{"type": "GHSA", "value": "GHSA-w7jw-789q-3m8p"},
				map[string]any{"type": "CVE", "value": "CVE-2026-9277"},
				map[string]any{"type": "CVE", "value": "CVE-2026-9278"},
			}
		},
		want: func(f *ingest.Finding) {
			f.FixedVersion = ""
			f.Aliases = []string{"GHSA-w7jw-789q-3m8p", "CVE-2026-9278"}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			base, _, err := parseAll(t, DependabotParser{}, variant(t, func(map[string]any) {}))
			if err != nil {
				t.Fatal(err)
			}
			want := base[0]
			tc.want(&want)
			got, _, err := parseAll(t, DependabotParser{}, variant(t, tc.edit))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]ingest.Finding{want}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAssetOption(t *testing.T) {
	data := variant(t, func(a map[string]any) { delete(a, "html_url"); delete(a, "url") })
	if _, _, err := parseAll(t, DependabotParser{}, data); err == nil || !strings.Contains(err.Error(), "names no repository") {
		t.Errorf("no repository, no Asset: err = %v", err)
	}
	fs, scan, err := parseAll(t, DependabotParser{Asset: "github.com/o/r"}, data)
	if err != nil {
		t.Fatal(err)
	}
	if fs[0].Key != "github.com/o/r#184" || fs[0].Asset != "github.com/o/r" || scan.Asset != "github.com/o/r" {
		t.Errorf("key %q asset %q scan asset %q", fs[0].Key, fs[0].Asset, scan.Asset)
	}
}

func TestCodeScanning(t *testing.T) {
	fs, scan, err := parseAll(t, CodeScanningParser{}, readFile(t, codeScanningSample))
	if err != nil {
		t.Fatal(err)
	}
	const repo = "github.com/octo-org/payments-api"
	if diff := cmp.Diff(ingest.Scan{Format: "github-code-scanning", Scanner: "codeql", Asset: repo, Tracked: true}, scan); diff != "" {
		t.Errorf("scan (-want +got):\n%s", diff)
	}
	f := func(n, rule, title string, sev ingest.Severity, orig, file string, line int, detected string, edit func(*ingest.Finding)) ingest.Finding {
		x := ingest.Finding{
			Key: repo + "#" + n, KeySource: KeySource, Kind: ingest.SAST,
			RuleID: rule, Title: title, Severity: sev, OriginalSeverity: orig,
			File: file, Line: line, Asset: repo, DetectedAt: date(detected),
		}
		if edit != nil {
			edit(&x)
		}
		return x
	}
	want := []ingest.Finding{
		f("42", "go/sql-injection", "Database query built from user-controlled sources", ingest.High, "high", "internal/store/orders.go", 118, "2025-03-04T09:12:44Z", nil),
		f("37", "go/path-injection", "Uncontrolled data used in path expression", ingest.High, "high", "cmd/server/files.go", 57, "2025-01-20T14:00:03Z", func(x *ingest.Finding) {
			x.Suppression = "github:false_positive"
			x.StatusAt = date("2025-02-11T08:30:00Z")
			x.StatusReason = "Input is validated by the router's regexp."
		}),
		f("31", "go/weak-crypto-algorithm", "Use of a weak cryptographic algorithm", ingest.Medium, "medium", "internal/legacy/etag.go", 21, "2024-11-02T10:00:00Z", func(x *ingest.Finding) {
			x.Suppression = "github:won't_fix"
			x.StatusAt = date("2024-12-01T16:45:10Z")
		}),
		f("29", "go/hardcoded-credentials", "Hard-coded credentials", ingest.Critical, "critical", "internal/store/store_test.go", 14, "2024-10-15T07:31:09Z", func(x *ingest.Finding) {
			x.Suppression = "github:used_in_tests"
			x.StatusAt = date("2024-10-15T07:40:00Z")
			x.StatusReason = "Fixture credentials for the integration tests."
		}),
		f("12", "go/log-injection", "Log entries created from user input", ingest.Medium, "medium", "cmd/server/main.go", 88, "2024-06-30T22:05:51Z", func(x *ingest.Finding) {
			x.FixedAt = date("2024-08-09T11:20:33Z")
		}),
		f("7", "go/unhandled-writable-file-close", "Writable file handle closed without error handling", ingest.Low, "note", "internal/export/csv.go", 40, "2024-05-02T12:00:00Z", nil),
	}
	if diff := cmp.Diff(want, fs); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	// The dispositions the store will apply.
	for key, st := range map[string]ingest.Status{
		"github:false_positive": ingest.FalsePositive,
		"github:used_in_tests":  ingest.FalsePositive,
	} {
		if got := ingest.DefaultDispositions.Map(key); got != st {
			t.Errorf("DefaultDispositions.Map(%q) = %q, want %q", key, got, st)
		}
	}
}

func TestCodeScanningTools(t *testing.T) {
	var alerts []map[string]any
	if err := json.Unmarshal(readFile(t, codeScanningSample), &alerts); err != nil {
		t.Fatal(err)
	}
	alerts = alerts[:2]
	for _, a := range alerts {
		a["tool"].(map[string]any)["version"] = "2.20.5"
	}
	one, _ := json.Marshal(alerts)
	_, scan, err := parseAll(t, CodeScanningParser{}, one)
	if err != nil || scan.Scanner != "codeql" || scan.ScannerVersion != "2.20.5" {
		t.Errorf("one tool: scanner %q version %q err %v", scan.Scanner, scan.ScannerVersion, err)
	}
	alerts[1]["tool"] = map[string]any{"name": "Semgrep OSS", "version": "1.69.0"}
	mixed, _ := json.Marshal(alerts)
	_, scan, err = parseAll(t, CodeScanningParser{}, mixed)
	if err != nil || scan.Scanner != "github-code-scanning" || scan.ScannerVersion != "" {
		t.Errorf("two tools: scanner %q version %q err %v", scan.Scanner, scan.ScannerVersion, err)
	}
	_, scan, err = parseAll(t, CodeScanningParser{Asset: "payments"}, []byte(" [ ] \n"))
	if err != nil || scan.Scanner != "github-code-scanning" || scan.Asset != "payments" {
		t.Errorf("empty: scan %+v err %v", scan, err)
	}
}

func TestMalformed(t *testing.T) {
	sample := readFile(t, codeScanningSample)
	edit := func(edit func(a map[string]any)) string {
		var alerts []map[string]any
		if err := json.Unmarshal(sample, &alerts); err != nil {
			t.Fatal(err)
		}
		edit(alerts[1])
		b, _ := json.Marshal(alerts)
		return string(b)
	}
	for _, tc := range []struct {
		name, in, wantPath, wantMsg string
	}{
		{"empty input", "", "", "truncated"},
		{"object, not array", `{"message":"Not Found"}`, "", "want a JSON array"},
		{"truncated", string(sample[:len(sample)/2]), "[3]", "truncated"},
		{"trailing data", string(sample) + `{}`, "", "after the array"},
		{"second array", "[][]", "", "after the array"},
		{"syntax", `[{"number": 1,}]`, "[0]", "invalid character"},
		{"number is a string", edit(func(a map[string]any) { a["number"] = "37" }), "[1].number", "cannot be a int64"},
		{"number missing", edit(func(a map[string]any) { delete(a, "number") }), "[1].number", "missing"},
		{"number zero", edit(func(a map[string]any) { a["number"] = 0 }), "[1].number", "not an alert number"},
		{"number fraction", edit(func(a map[string]any) { a["number"] = 1.5 }), "[1].number", "cannot be"},
		{"unknown state", edit(func(a map[string]any) { a["state"] = "closed" }), "[1].state", `unknown state "closed"`},
		{"created_at missing", edit(func(a map[string]any) { a["created_at"] = nil }), "[1].created_at", "missing"},
		{"created_at bad", edit(func(a map[string]any) { a["created_at"] = "yesterday" }), "[1].created_at", "RFC 3339"},
		{"fixed without fixed_at", edit(func(a map[string]any) { a["state"] = "fixed" }), "[1].fixed_at", "missing for a fixed alert"},
		{"dismissed_at bad", edit(func(a map[string]any) { a["dismissed_at"] = "2025-13-01" }), "[1].dismissed_at", "RFC 3339"},
		{"rule missing", edit(func(a map[string]any) { delete(a, "rule") }), "[1].rule.id", "missing"},
		{"rule is a string", edit(func(a map[string]any) { a["rule"] = "x" }), "[1].rule", "cannot be"},
		{"line negative", edit(func(a map[string]any) {
			a["most_recent_instance"].(map[string]any)["location"].(map[string]any)["start_line"] = -3
		}), "[1].most_recent_instance.location.start_line", "not a line number"},
		{"tool missing", edit(func(a map[string]any) { delete(a, "tool") }), "[1].tool.name", "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			_, err := CodeScanningParser{}.Parse(context.Background(), strings.NewReader(tc.in), func(ingest.Finding) error { n++; return nil })
			var fe *ingest.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *ingest.FormatError", err)
			}
			if fe.Format != FormatCodeScanning || fe.Path != tc.wantPath || !strings.Contains(fe.Msg, tc.wantMsg) {
				t.Errorf("err = %q (path %q), want path %q and %q", err, fe.Path, tc.wantPath, tc.wantMsg)
			}
		})
	}

	dependabot := readFile(t, dependabotSample)
	for _, tc := range []struct {
		name, in, wantPath, wantMsg string
	}{
		{"no advisory", string(variant(t, func(a map[string]any) { delete(a, "security_advisory") })), "[0].security_advisory", "missing"},
		{"no ghsa", string(variant(t, func(a map[string]any) { a["security_advisory"].(map[string]any)["ghsa_id"] = "" })), "[0].security_advisory.ghsa_id", "missing"},
		{"no package", string(variant(t, func(a map[string]any) {
			delete(a, "dependency")
			delete(a["security_vulnerability"].(map[string]any), "package")
		})), "[0].dependency.package.name", "missing"},
		{"epss out of range", string(variant(t, func(a map[string]any) {
			a["security_advisory"].(map[string]any)["epss"] = map[string]any{"percentage": 3, "percentile": 0.5}
		})), "[0].security_advisory.epss", "outside [0, 1]"},
		{"epss not a number", string(variant(t, func(a map[string]any) {
			a["security_advisory"].(map[string]any)["epss"] = map[string]any{"percentage": "NaN"}
		})), "[0].security_advisory.epss", "not a number"},
		{"epss without percentage", string(variant(t, func(a map[string]any) {
			a["security_advisory"].(map[string]any)["epss"] = map[string]any{"percentile": 0.5}
		})), "[0].security_advisory.epss", "percentage missing"},
		{"auto_dismissed_at bad", string(variant(t, func(a map[string]any) {
			a["state"] = "auto_dismissed"
			a["auto_dismissed_at"] = "soon"
		})), "[0].auto_dismissed_at", "RFC 3339"},
		{"severity wrong type", string(variant(t, func(a map[string]any) {
			a["security_vulnerability"].(map[string]any)["severity"] = 7
		})), "[0].security_vulnerability.severity", "cannot be a string"},
		{"cut in the middle", string(dependabot[:len(dependabot)-300]), "[75]", "truncated"},
	} {
		t.Run("dependabot "+tc.name, func(t *testing.T) {
			_, _, err := parseAll(t, DependabotParser{}, []byte(tc.in))
			var fe *ingest.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *ingest.FormatError", err)
			}
			if fe.Format != FormatDependabot || fe.Path != tc.wantPath || !strings.Contains(fe.Msg, tc.wantMsg) {
				t.Errorf("err = %q (path %q), want path %q and %q", err, fe.Path, tc.wantPath, tc.wantMsg)
			}
		})
	}
}

func TestParseStopsOnEmitErrorAndContext(t *testing.T) {
	data := readFile(t, dependabotSample)
	stop := errors.New("stop")
	n := 0
	_, err := DependabotParser{}.Parse(context.Background(), bytes.NewReader(data), func(ingest.Finding) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Errorf("err = %v after %d findings, want the emit error as is after 3", err, n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	_, err = DependabotParser{}.Parse(ctx, bytes.NewReader(data), func(ingest.Finding) error {
		n++
		if n == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 5 {
		t.Errorf("err = %v after %d findings, want context.Canceled after 5", err, n)
	}
}

func TestDetect(t *testing.T) {
	dependabot := readFile(t, dependabotSample)
	codeScanning := readFile(t, codeScanningSample)
	for _, tc := range []struct {
		name                     string
		head                     []byte
		isDependabot, isScanning bool
	}{
		{"dependabot sample", dependabot, true, false},
		{"dependabot cut inside the first alert", dependabot[:1500], true, false},
		{"code scanning", codeScanning, false, true},
		{"code scanning cut", codeScanning[:bytes.Index(codeScanning, []byte(`"most_recent_instance"`))+40], false, true},
		{"empty array", []byte("[]"), false, false},
		{"empty", nil, false, false},
		{"object", []byte(`{"number":1,"state":"open","dependency":{},"security_advisory":{}}`), false, false},
		{"garbage", []byte("\x1f\x8b\x08\x00"), false, false},
	} {
		if got := DetectDependabot(tc.head); got != tc.isDependabot {
			t.Errorf("%s: DetectDependabot = %v", tc.name, got)
		}
		if got := DetectCodeScanning(tc.head); got != tc.isScanning {
			t.Errorf("%s: DetectCodeScanning = %v", tc.name, got)
		}
	}
	// No other shared sample is taken for a GitHub export.
	others, _ := filepath.Glob("../../../shared/samples/*/*.json")
	others2, _ := filepath.Glob("../../../shared/samples/*/*.sarif")
	others = append(others, others2...)
	if len(others) < 5 {
		t.Fatalf("found only %d samples", len(others))
	}
	for _, p := range others {
		if strings.Contains(p, "/github/") {
			continue
		}
		head := readFile(t, p)
		if DetectDependabot(head) || DetectCodeScanning(head) {
			t.Errorf("%s detected as a GitHub alert export", p)
		}
	}
}
