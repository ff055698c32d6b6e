package snyk

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

const sample = "../../../shared/samples/snyk/single_project_many_vulns.json"

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

func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func edit(t testing.TB, report []byte, change func(m map[string]any)) []byte {
	t.Helper()
	m := decode(t, report)
	change(m)
	return encode(t, m)
}

func vulns(m map[string]any) []any { return m["vulnerabilities"].([]any) }

// clone deep-copies a decoded JSON value.
func clone(t testing.TB, v any) any {
	t.Helper()
	var c any
	if err := json.Unmarshal(encode(t, v), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// The expected values were read from the sample with
// jq '.vulnerabilities[] | [.id, .packageName, .version, .severity, .severityWithCritical, .identifiers, .fixedIn]'.
func TestSample(t *testing.T) {
	fs, scan := mustParse(t, readSample(t, sample))

	wantScan := ingest.Scan{Format: "snyk", Scanner: "snyk", Asset: "com.test:myframework", Kinds: []ingest.Kind{ingest.SCA}}
	if d := cmp.Diff(wantScan, scan); d != "" {
		t.Errorf("scan (-want +got):\n%s", d)
	}
	// 41 paths, 41 distinct (id, package, version): uniqueCount is 41.
	if len(fs) != 41 {
		t.Fatalf("got %d findings, want 41", len(fs))
	}
	count := map[ingest.Severity]int{}
	for _, f := range fs {
		count[f.Severity]++
		if f.Kind != ingest.SCA || f.File != "pom.xml" || f.Asset != "" || f.Suppression != "" {
			t.Errorf("%s: kind %q file %q asset %q suppression %q", f.Key, f.Kind, f.File, f.Asset, f.Suppression)
		}
	}
	if d := cmp.Diff(map[ingest.Severity]int{ingest.Critical: 3, ingest.High: 9, ingest.Medium: 29}, count); d != "" {
		t.Errorf("severity counts (-want +got):\n%s", d)
	}

	want1 := ingest.Finding{
		Key:              "pom.xml|SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302|com.fasterxml.jackson.core:jackson-databind|2.10.5",
		KeySource:        "composite:targetfile+id+package+version",
		Kind:             ingest.SCA,
		RuleID:           "SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302",
		Title:            "XML External Entity (XXE) Injection",
		Severity:         ingest.High,
		OriginalSeverity: "high",
		CVE:              "CVE-2020-25649",
		Package:          "com.fasterxml.jackson.core:jackson-databind",
		InstalledVersion: "2.10.5",
		FixedVersion:     "2.6.7.4, 2.9.10.7, 2.10.5.1",
		File:             "pom.xml",
		URL:              "https://security.snyk.io/vuln/SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302",
	}
	if d := cmp.Diff(want1, fs[1]); d != "" {
		t.Errorf("finding 1 (-want +got):\n%s", d)
	}

	type row struct {
		id, sev, orig, cve string
		aliases            []string
		pkg, ver, fixed    string
	}
	for i, want := range map[int]row{
		0:  {"SNYK-JAVA-COMBEUST-174815", "medium", "medium", "", nil, "com.beust:jcommander", "1.72", "1.75"},
		5:  {"SNYK-JAVA-COMMONSFILEUPLOAD-30401", "critical", "critical", "CVE-2016-1000031", nil, "commons-fileupload:commons-fileupload", "1.2", "1.3.3"},
		7:  {"SNYK-JAVA-COMMONSHTTPCLIENT-30083", "medium", "medium", "CVE-2012-5783", nil, "commons-httpclient:commons-httpclient", "3.1", ""},
		36: {"SNYK-JAVA-ORGWEBJARS-479774", "medium", "medium", "CVE-2019-11358", []string{"CVE-2019-5428", "GHSA-wv67-q8rr-grjp"}, "org.webjars:jquery", "1.11.1", "3.4.0"},
		40: {"SNYK-JAVA-XALAN-31385", "high", "high", "CVE-2014-0107", nil, "xalan:xalan", "2.7.0", "2.7.2"},
	} {
		f := fs[i]
		got := row{f.RuleID, string(f.Severity), f.OriginalSeverity, f.CVE, f.Aliases, f.Package, f.InstalledVersion, f.FixedVersion}
		if d := cmp.Diff(want, got, cmp.AllowUnexported(row{})); d != "" {
			t.Errorf("finding %d (-want +got):\n%s", i, d)
		}
	}
}

// allProjects builds an --all-projects array: the sample with two extra
// paths to known vulnerabilities, an npm project with paths, ignores and a
// license issue, and a container project.
func allProjects(t testing.TB) []byte {
	maven := decode(t, readSample(t, sample))
	vs := vulns(maven)
	for _, i := range []int{1, 5} {
		dup := clone(t, vs[i]).(map[string]any)
		dup["from"] = []any{"com.test:myframework@1.0.0-SNAPSHOT", "some:other-path@1", dup["name"].(string) + "@" + dup["version"].(string)}
		vs = append(vs, dup)
	}
	maven["vulnerabilities"] = vs

	lodash := func(from string) map[string]any {
		return map[string]any{
			"id": "SNYK-JS-LODASH-567746", "title": "Prototype Pollution", "severity": "high", "packageName": "lodash",
			"version": "4.17.15", "fixedIn": []any{"4.17.16"}, "from": []any{"goof@1.0.1", from, "lodash@4.17.15"},
			"identifiers": map[string]any{"CVE": []any{"CVE-2020-8203"}, "GHSA": []any{"GHSA-p6mc-m468-83gw"}, "CWE": []any{"CWE-400"}},
		}
	}
	ignoredLodash := lodash("express-fileupload@1.1.7")
	ignoredLodash["filtered"] = map[string]any{"ignored": []any{map[string]any{
		"reason": "dev only", "expires": "2030-01-01T00:00:00.000Z", "source": "cli", "path": []any{"express-fileupload > lodash"},
	}}}
	minimist := func(from, reason, expires string) map[string]any {
		return map[string]any{
			"id": "SNYK-JS-MINIMIST-559764", "title": "Prototype Pollution", "severity": "medium", "packageName": "minimist",
			"version": "0.0.8", "fixedIn": []any{"0.2.1", "1.2.3"}, "from": []any{"goof@1.0.1", from, "minimist@0.0.8"},
			"identifiers": map[string]any{"CVE": []any{"CVE-2020-7598"}},
			"filtered":    map[string]any{"ignored": []any{map[string]any{"reason": reason, "expires": expires}}},
		}
	}
	npm := map[string]any{
		"vulnerabilities": []any{
			lodash("mongoose@4.2.4"), lodash("express@4.12.4"),
			map[string]any{"id": "snyk:lic:npm:foo:GPL-2.0", "type": "license", "severity": "medium", "packageName": "foo", "version": "1.0.0"},
		},
		"ok": false, "dependencyCount": 420, "org": "demo", "packageManager": "npm",
		"filtered": map[string]any{
			"ignore": []any{ignoredLodash, minimist("mkdirp@0.5.1", "no fix in our range", "2030-06-01T00:00:00.000Z"), minimist("optimist@0.6.1", "", "2029-12-31")},
			"patch":  []any{},
		},
		"uniqueCount": 2, "projectName": "goof", "displayTargetFile": "package-lock.json", "path": "/src/goof",
	}
	container := map[string]any{
		"vulnerabilities": []any{map[string]any{
			"id": "SNYK-DEBIAN10-BASH-536280", "title": "Improper Check for Dropped Privileges", "severity": "low",
			"severityWithCritical": "low", "packageName": "bash", "version": "5.0-4", "fixedIn": []any{},
			"identifiers": map[string]any{"ALTERNATIVE": []any{}, "CVE": []any{"CVE-2019-18276"}, "CWE": []any{"CWE-273"}},
			"from":        []any{"docker-image|docker-scan@e2e", "bash@5.0-4"},
		}},
		"ok": false, "packageManager": "deb", "docker": map[string]any{"baseImage": "debian:10"},
		"projectName": "docker-image|registry.example.com/team/api", "platform": "linux/amd64",
		"path": "registry.example.com/team/api:1.4@sha256:" + strings.Repeat("ef", 32),
	}
	return encode(t, []any{maven, npm, container})
}

func TestAllProjects(t *testing.T) {
	fs, scan := mustParse(t, allProjects(t))
	wantScan := ingest.Scan{Format: "snyk", Scanner: "snyk", Kinds: []ingest.Kind{ingest.SCA, ingest.Container}}
	if d := cmp.Diff(wantScan, scan); d != "" {
		t.Errorf("scan (-want +got):\n%s", d)
	}
	// Maven: 43 paths, 41 findings. npm: 2 open lodash paths, 1 ignored
	// lodash path, 2 ignored minimist paths, 1 license issue: 2 findings.
	// Container: 1.
	if len(fs) != 41+2+1 {
		t.Fatalf("got %d findings, want 44", len(fs))
	}
	perAsset := map[string]int{}
	for _, f := range fs {
		perAsset[f.Asset]++
	}
	if d := cmp.Diff(map[string]int{"com.test:myframework": 41, "goof": 2, "registry.example.com/team/api": 1}, perAsset); d != "" {
		t.Errorf("findings per asset (-want +got):\n%s", d)
	}
	want := []ingest.Finding{
		{
			Key: "package-lock.json|SNYK-JS-LODASH-567746|lodash|4.17.15", KeySource: "composite:targetfile+id+package+version",
			Kind: ingest.SCA, RuleID: "SNYK-JS-LODASH-567746", Title: "Prototype Pollution", Severity: ingest.High, OriginalSeverity: "high",
			CVE: "CVE-2020-8203", Aliases: []string{"GHSA-p6mc-m468-83gw"}, Package: "lodash", InstalledVersion: "4.17.15",
			FixedVersion: "4.17.16", File: "package-lock.json", Asset: "goof", URL: "https://security.snyk.io/vuln/SNYK-JS-LODASH-567746",
		},
		{
			Key: "package-lock.json|SNYK-JS-MINIMIST-559764|minimist|0.0.8", KeySource: "composite:targetfile+id+package+version",
			Kind: ingest.SCA, RuleID: "SNYK-JS-MINIMIST-559764", Title: "Prototype Pollution", Severity: ingest.Medium, OriginalSeverity: "medium",
			CVE: "CVE-2020-7598", Package: "minimist", InstalledVersion: "0.0.8", FixedVersion: "0.2.1, 1.2.3",
			File: "package-lock.json", Asset: "goof", URL: "https://security.snyk.io/vuln/SNYK-JS-MINIMIST-559764",
			Suppression: "snyk:ignore", StatusReason: "no fix in our range", StatusUntil: time.Date(2029, 12, 31, 0, 0, 0, 0, time.UTC),
		},
		{
			Key: "|SNYK-DEBIAN10-BASH-536280|bash|5.0-4", KeySource: "composite:targetfile+id+package+version",
			Kind: ingest.Container, RuleID: "SNYK-DEBIAN10-BASH-536280", Title: "Improper Check for Dropped Privileges",
			Severity: ingest.Low, OriginalSeverity: "low", CVE: "CVE-2019-18276", Package: "bash", InstalledVersion: "5.0-4",
			Asset: "registry.example.com/team/api", URL: "https://security.snyk.io/vuln/SNYK-DEBIAN10-BASH-536280",
		},
	}
	if d := cmp.Diff(want, fs[41:]); d != "" {
		t.Errorf("npm and container findings (-want +got):\n%s", d)
	}
	// The maven project's findings are those of the single report, plus the asset.
	single, _ := mustParse(t, readSample(t, sample))
	for i := range single {
		single[i].Asset = "com.test:myframework"
	}
	if d := cmp.Diff(single, fs[:41]); d != "" {
		t.Errorf("maven findings differ from the single-project report (-single +array):\n%s", d)
	}
}

func TestFormatErrors(t *testing.T) {
	orig := readSample(t, sample)
	third := bytes.Index(orig, []byte(`"id": "SNYK-JAVA-COMMONSFILEUPLOAD-30079"`))
	if third < 0 {
		t.Fatal("third vulnerability not found")
	}
	tests := []struct {
		name   string
		report []byte
		path   string
		msg    string
	}{
		{"empty", nil, "", "unexpected end of input"},
		{"truncated", orig[:third], "vulnerabilities[2]", "unexpected end of input"},
		{"truncated array", []byte(`[{"vulnerabilities": []}, {"vulnerabilities": [`), "[1].vulnerabilities", "unexpected end of input"},
		{"malformed", []byte(`{"vulnerabilities": [}`), "vulnerabilities", "malformed JSON"},
		{"a string", []byte(`"snyk"`), "", "want a project object or an array"},
		{"snyk error", []byte(`{"ok": false, "error": "Could not detect supported target files in /src", "path": "/src"}`), "", "snyk reported an error"},
		{"error in array", []byte(`[{"vulnerabilities": []}, {"ok": false, "error": "Failed to test maven project"}]`), "[1]", "snyk reported an error"},
		{"no vulnerabilities", []byte(`{"ok": true}`), "", "missing vulnerabilities"},
		{"severity a number", edit(t, orig, func(m map[string]any) { vulns(m)[3].(map[string]any)["severity"] = 3 }),
			"vulnerabilities[3].severity", "is a JSON number, want a string"},
		{"CVE a string", edit(t, orig, func(m map[string]any) {
			vulns(m)[4].(map[string]any)["identifiers"].(map[string]any)["CVE"] = "CVE-2014-0050"
		}), "vulnerabilities[4].identifiers.CVE", "is a JSON string, want an array"},
		{"missing id", edit(t, orig, func(m map[string]any) { delete(vulns(m)[40].(map[string]any), "id") }),
			"vulnerabilities[40].id", "missing"},
		{"bad expiry", edit(t, orig, func(m map[string]any) {
			v := clone(t, vulns(m)[0]).(map[string]any)
			v["filtered"] = map[string]any{"ignored": []any{map[string]any{"reason": "x", "expires": "someday"}}}
			m["filtered"] = map[string]any{"ignore": []any{v}}
		}), "filtered.ignore[0].filtered.ignored[0].expires", "not a date"},
		{"long title", edit(t, orig, func(m map[string]any) { vulns(m)[9].(map[string]any)["title"] = strings.Repeat("t", maxString+1) }),
			"vulnerabilities[9].title", "longer than the 1 MiB limit"},
		{"trailing data", append(append([]byte{}, orig...), ']'), "", "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseAll(t, tt.report)
			var fe *ingest.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error = %v (%T), want *ingest.FormatError", err, err)
			}
			if fe.Format != "snyk" || fe.Path != tt.path || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("error = format %q path %q msg %q, want snyk %q containing %q", fe.Format, fe.Path, fe.Msg, tt.path, tt.msg)
			}
		})
	}
}

func TestEmitErrorAndCancel(t *testing.T) {
	report := allProjects(t)
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
		"snyk/single_project_many_vulns.json":         true,
		"trivy/alpine-310.json":                       false,
		"grype/many_vulns_with_epss_values.json":      false,
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
	all := allProjects(t)
	for in, want := range map[string]bool{
		string(all[:64<<10]): true,
		`{"vulnerabilities": [], "ok": true, "dependencyCount": 3, "packageManager": "npm"}`: true,
		`{"vulnerabilities": []}`:                   false,
		`{"vulnerabilities": [{"cveID": "CVE-1"}]}`: false,
	} {
		if got := Detect([]byte(in)); got != want {
			t.Errorf("Detect(%.50s) = %v, want %v", in, got, want)
		}
	}
}

// small trims a project to its first n vulnerabilities without their long
// texts, so that fuzzing mutates a small input.
func small(t testing.TB, project map[string]any, n int) map[string]any {
	vs := vulns(project)[:n]
	for _, v := range vs {
		for _, k := range []string{"description", "references", "credit", "semver", "functions", "functions_new"} {
			delete(v.(map[string]any), k)
		}
	}
	project["vulnerabilities"] = vs
	delete(project, "policy")
	delete(project, "licensesPolicy")
	delete(project, "remediation")
	return project
}

func FuzzParse(f *testing.F) {
	f.Add(encode(f, small(f, decode(f, readSample(f, sample)), 2)))
	var all []any
	if err := json.Unmarshal(allProjects(f), &all); err != nil {
		f.Fatal(err)
	}
	all[0] = small(f, all[0].(map[string]any), 1)
	f.Add(encode(f, all))
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
