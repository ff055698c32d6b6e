package trivy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/secmetrics/secmetrics/ingest"
)

const sample = "../../../shared/samples/trivy/alpine-310.json"

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseAll parses a report and collects what it emits.
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

// edit decodes a report, applies change to it and encodes it again.
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

func results(m map[string]any) []any { return m["Results"].([]any) }

func vulns(m map[string]any, i int) []any {
	return results(m)[i].(map[string]any)["Vulnerabilities"].([]any)
}

// The expected values below were read from the sample with
// jq '.Results[0].Vulnerabilities[] | {VulnerabilityID, PkgName, InstalledVersion, FixedVersion, Severity}'.
func TestSample(t *testing.T) {
	fs, scan := mustParse(t, readSample(t, sample))

	wantScan := ingest.Scan{
		Format:         "trivy",
		Scanner:        "trivy",
		ScannerVersion: "dev",
		Asset:          "ghcr.io/aquasecurity/trivy-test-images",
		Kinds:          []ingest.Kind{ingest.Container},
		Time:           time.Date(2021, 8, 25, 12, 20, 30, 5, time.UTC),
	}
	if d := cmp.Diff(wantScan, scan); d != "" {
		t.Errorf("scan (-want +got):\n%s", d)
	}
	if len(fs) != 4 {
		t.Fatalf("got %d findings, want 4", len(fs))
	}

	target := "testdata/fixtures/images/alpine-310.tar.gz (alpine 3.10.2)"
	want0 := ingest.Finding{
		Key:              "os-pkgs|CVE-2019-1549|libcrypto1.1|",
		KeySource:        "composite:class+vulnerability+package+path",
		Kind:             ingest.Container,
		RuleID:           "CVE-2019-1549",
		Title:            "openssl: information disclosure in fork()",
		Severity:         ingest.Medium,
		OriginalSeverity: "MEDIUM",
		CVE:              "CVE-2019-1549",
		Package:          "libcrypto1.1",
		InstalledVersion: "1.1.1c-r0",
		FixedVersion:     "1.1.1d-r0",
		File:             target,
		URL:              "https://avd.aquasec.com/nvd/cve-2019-1549",
	}
	if d := cmp.Diff(want0, fs[0]); d != "" {
		t.Errorf("finding 0 (-want +got):\n%s", d)
	}

	type row struct{ key, cve, pkg, installed, fixed string }
	want := []row{
		{"os-pkgs|CVE-2019-1549|libcrypto1.1|", "CVE-2019-1549", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r0"},
		{"os-pkgs|CVE-2019-1551|libcrypto1.1|", "CVE-2019-1551", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r2"},
		{"os-pkgs|CVE-2019-1549|libssl1.1|", "CVE-2019-1549", "libssl1.1", "1.1.1c-r0", "1.1.1d-r0"},
		{"os-pkgs|CVE-2019-1551|libssl1.1|", "CVE-2019-1551", "libssl1.1", "1.1.1c-r0", "1.1.1d-r2"},
	}
	var got []row
	for _, f := range fs {
		got = append(got, row{f.Key, f.CVE, f.Package, f.InstalledVersion, f.FixedVersion})
		if f.Severity != ingest.Medium || f.Kind != ingest.Container || f.Suppression != "" {
			t.Errorf("%s: severity %q kind %q suppression %q, want medium container unsuppressed", f.Key, f.Severity, f.Kind, f.Suppression)
		}
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(row{})); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
}

// A rebuilt image has a new digest, image id, tag and fingerprints; its
// findings must keep their keys and the scan its asset.
func TestRebuiltImage(t *testing.T) {
	orig := readSample(t, sample)
	rebuilt := edit(t, orig, func(m map[string]any) {
		digest := "sha256:" + strings.Repeat("ab", 32)
		m["ArtifactName"] = "ghcr.io/aquasecurity/trivy-test-images@" + digest
		m["ArtifactID"] = digest
		meta := m["Metadata"].(map[string]any)
		meta["ImageID"] = digest
		meta["RepoTags"] = []any{"ghcr.io/aquasecurity/trivy-test-images:alpine-310-rebuild-7"}
		meta["RepoDigests"] = []any{"ghcr.io/aquasecurity/trivy-test-images@" + digest}
		res := results(m)[0].(map[string]any)
		res["Target"] = "ghcr.io/aquasecurity/trivy-test-images:alpine-310-rebuild-7 (alpine 3.10.2)"
		for i, v := range vulns(m, 0) {
			v := v.(map[string]any)
			v["Fingerprint"] = fmt.Sprintf("sha256:%064d", i)
			v["Layer"] = map[string]any{"Digest": digest, "DiffID": digest}
		}
	})
	a, scanA := mustParse(t, orig)
	b, scanB := mustParse(t, rebuilt)
	if scanA.Asset != scanB.Asset {
		t.Errorf("asset changed on rebuild: %q -> %q", scanA.Asset, scanB.Asset)
	}
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("got %d and %d findings", len(a), len(b))
	}
	for i := range a {
		if a[i].Key != b[i].Key {
			t.Errorf("finding %d: key changed on rebuild: %q -> %q", i, a[i].Key, b[i].Key)
		}
	}
	if a[0].File == b[0].File {
		t.Errorf("the derived report did not change the target (%q): the test proves nothing", a[0].File)
	}
}

const fakeSecret = "AKIAZZZZFAKE7EXAMPLE9-wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEKEY"

// secretReport is a filesystem scan of a repository with one package
// result, one config result and one secret result; the secret appears in
// Match, in Code and in a suppressed secret.
var secretReport = `{
  "SchemaVersion": 2,
  "CreatedAt": "2025-01-02T03:04:05Z",
  "ArtifactName": "https://github.com/Org/App.git",
  "ArtifactType": "repository",
  "Metadata": {"RepoURL": "https://github.com/Org/App", "Branch": "main", "Commit": "0123abcd"},
  "Results": [
    {"Target": "go.sum", "Class": "lang-pkgs", "Type": "gomod", "Vulnerabilities": [
      {"VulnerabilityID": "GHSA-xxxx-yyyy-zzzz", "VendorIDs": ["CVE-2024-0001", "GO-2024-0001"], "PkgName": "golang.org/x/net",
       "InstalledVersion": "v0.1.0", "FixedVersion": "0.23.0, 0.24.1", "Severity": "HIGH", "SeveritySource": "ghsa",
       "PrimaryURL": "https://github.com/advisories/GHSA-xxxx-yyyy-zzzz", "Title": "net: something",
       "Fingerprint": "sha256:1111"}
    ]},
    {"Target": "deploy/Dockerfile", "Class": "config", "Type": "dockerfile",
     "MisconfSummary": {"Successes": 1, "Failures": 1},
     "Misconfigurations": [
      {"Type": "Dockerfile Security Check", "ID": "DS002", "AVDID": "AVD-DS-0002", "Title": "Image user should not be 'root'",
       "Severity": "HIGH", "PrimaryURL": "https://avd.aquasec.com/misconfig/ds002", "Status": "FAIL",
       "CauseMetadata": {"Provider": "Dockerfile", "Service": "general", "StartLine": 4, "EndLine": 4}},
      {"Type": "Dockerfile Security Check", "ID": "DS001", "AVDID": "AVD-DS-0001", "Title": "':latest' tag used",
       "Severity": "MEDIUM", "Status": "PASS"},
      {"Type": "Terraform Security Check", "ID": "AVD-AWS-0086", "Title": "S3 Access block should block public ACL",
       "Severity": "HIGH", "Status": "EXCEPTION", "CauseMetadata": {"Resource": "aws_s3_bucket.logs", "StartLine": 10}}
    ]},
    {"Target": "config/app.env", "Class": "secret", "Secrets": [
      {"RuleID": "aws-access-key-id", "Category": "AWS", "Severity": "CRITICAL", "Title": "AWS Access Key ID",
       "StartLine": 3, "EndLine": 3,
       "Code": {"Lines": [{"Number": 3, "Content": "AWS_KEY=` + fakeSecret + `", "IsCause": true, "Highlighted": "AWS_KEY=` + fakeSecret + `"}]},
       "Match": "AWS_KEY=` + fakeSecret + `",
       "Layer": {}}
    ],
     "ModifiedFindings": [
      {"Type": "secret", "Status": "ignored", "Statement": "test fixture", "Source": ".trivyignore",
       "Finding": {"RuleID": "generic-api-key", "Category": "Generic", "Severity": "HIGH", "Title": "Generic API key",
         "StartLine": 9, "EndLine": 9, "Match": "API_KEY=` + fakeSecret + `",
         "Code": {"Lines": [{"Number": 9, "Content": "API_KEY=` + fakeSecret + `"}]}}}
    ]}
  ]
}`

func TestSecretsAndConfig(t *testing.T) {
	fs, scan := mustParse(t, []byte(secretReport))

	all, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{fakeSecret, "AKIAZZZZFAKE", "bPxRfiCYFAKEKEY"} {
		if bytes.Contains(all, []byte(part)) {
			t.Errorf("secret text %q appears in the emitted findings: %s", part, all)
		}
	}
	if !strings.Contains(secretReport, fakeSecret) {
		t.Fatal("the fixture does not contain the secret: the test proves nothing")
	}

	wantScan := ingest.Scan{
		Format: "trivy", Scanner: "trivy", Asset: "github.com/Org/App", Branch: "main", Commit: "0123abcd",
		Kinds: []ingest.Kind{ingest.SCA, ingest.Secret, ingest.IaC},
		Time:  time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	if d := cmp.Diff(wantScan, scan); d != "" {
		t.Errorf("scan (-want +got):\n%s", d)
	}

	want := []ingest.Finding{
		{
			Key: "lang-pkgs|go.sum|GHSA-xxxx-yyyy-zzzz|golang.org/x/net|", KeySource: "composite:class+target+vulnerability+package+path",
			Kind: ingest.SCA, RuleID: "GHSA-xxxx-yyyy-zzzz", Title: "net: something", Severity: ingest.High, OriginalSeverity: "HIGH",
			CVE: "CVE-2024-0001", Aliases: []string{"GHSA-xxxx-yyyy-zzzz", "GO-2024-0001"},
			Package: "golang.org/x/net", InstalledVersion: "v0.1.0", FixedVersion: "0.23.0, 0.24.1", File: "go.sum",
			URL: "https://github.com/advisories/GHSA-xxxx-yyyy-zzzz",
		},
		{
			Key: "config|deploy/Dockerfile|DS002|line:4", KeySource: "composite:target+check+line",
			Kind: ingest.IaC, RuleID: "DS002", Aliases: []string{"AVD-DS-0002"}, Title: "Image user should not be 'root'",
			Severity: ingest.High, OriginalSeverity: "HIGH", File: "deploy/Dockerfile", Line: 4,
			URL: "https://avd.aquasec.com/misconfig/ds002",
		},
		{
			Key: "config|deploy/Dockerfile|AVD-AWS-0086|aws_s3_bucket.logs", KeySource: "composite:target+check+resource",
			Kind: ingest.IaC, RuleID: "AVD-AWS-0086", Title: "S3 Access block should block public ACL",
			Severity: ingest.High, OriginalSeverity: "HIGH", File: "deploy/Dockerfile", Line: 10,
			Suppression: "trivy:exception",
		},
		{
			Key: "secret|config/app.env|aws-access-key-id|line:3", KeySource: "composite:target+rule+line",
			Kind: ingest.Secret, RuleID: "aws-access-key-id", Title: "AWS Access Key ID",
			Severity: ingest.Critical, OriginalSeverity: "CRITICAL", File: "config/app.env", Line: 3,
		},
		{
			Key: "secret|config/app.env|generic-api-key|line:9", KeySource: "composite:target+rule+line",
			Kind: ingest.Secret, RuleID: "generic-api-key", Title: "Generic API key",
			Severity: ingest.High, OriginalSeverity: "HIGH", File: "config/app.env", Line: 9,
			Suppression: "trivy:ignored", StatusReason: "test fixture",
		},
	}
	if d := cmp.Diff(want, fs); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
}

// A container image scan with secret results covers container and secret.
func TestImageKinds(t *testing.T) {
	report := edit(t, readSample(t, sample), func(m map[string]any) {
		m["Results"] = append(results(m), map[string]any{"Target": "/app/.env", "Class": "secret"})
	})
	_, scan := mustParse(t, report)
	if d := cmp.Diff([]ingest.Kind{ingest.Container, ingest.Secret}, scan.Kinds); d != "" {
		t.Errorf("kinds (-want +got):\n%s", d)
	}
	// Without any package result the image scan does not claim container.
	report = edit(t, readSample(t, sample), func(m map[string]any) {
		m["Results"] = []any{map[string]any{"Target": "/app/.env", "Class": "secret"}}
	})
	_, scan = mustParse(t, report)
	if d := cmp.Diff([]ingest.Kind{ingest.Secret}, scan.Kinds); d != "" {
		t.Errorf("secret-only kinds (-want +got):\n%s", d)
	}
}

func TestModifiedVulnerability(t *testing.T) {
	report := edit(t, readSample(t, sample), func(m map[string]any) {
		res := results(m)[0].(map[string]any)
		vs := vulns(m, 0)
		res["Vulnerabilities"] = vs[1:]
		res["ModifiedFindings"] = []any{map[string]any{
			"Type": "vulnerability", "Status": "ignored", "Statement": "not reachable", "Source": ".trivyignore.yaml",
			"Finding": vs[0],
		}}
	})
	fs, _ := mustParse(t, report)
	if len(fs) != 4 {
		t.Fatalf("got %d findings, want 4", len(fs))
	}
	// ModifiedFindings sorts before Vulnerabilities in the re-encoded report.
	f := fs[0]
	if f.Key != "os-pkgs|CVE-2019-1549|libcrypto1.1|" || f.Suppression != "trivy:ignored" || f.StatusReason != "not reachable" {
		t.Errorf("ignored finding = key %q suppression %q reason %q", f.Key, f.Suppression, f.StatusReason)
	}
	for _, f := range fs[1:] {
		if f.Suppression != "" {
			t.Errorf("%s: unexpected suppression %q", f.Key, f.Suppression)
		}
	}
}

// Fields may come in any order: a result's header after its arrays and
// ArtifactType after Results give the same findings.
func TestReordered(t *testing.T) {
	const vuln = `{"VulnerabilityID": "CVE-2020-1", "PkgName": "zlib", "InstalledVersion": "1", "Severity": "LOW"}`
	inOrder := `{"SchemaVersion": 2, "ArtifactName": "alpine:3.19", "ArtifactType": "container_image", "Results": [
		{"Target": "alpine:3.19 (alpine 3.19.1)", "Class": "os-pkgs", "Type": "alpine", "Vulnerabilities": [` + vuln + `]},
		{"Target": "app/package-lock.json", "Class": "lang-pkgs", "Type": "npm", "Vulnerabilities": [` + vuln + `]}]}`
	reordered := `{"Results": [
		{"Vulnerabilities": [` + vuln + `], "Type": "alpine", "Class": "os-pkgs", "Target": "alpine:3.19 (alpine 3.19.1)"},
		{"Class": "lang-pkgs", "Vulnerabilities": [` + vuln + `], "Target": "app/package-lock.json"}],
		"ArtifactType": "container_image", "ArtifactName": "alpine:3.19", "SchemaVersion": 2}`
	a, scanA := mustParse(t, []byte(inOrder))
	b, scanB := mustParse(t, []byte(reordered))
	if len(a) != 2 {
		t.Fatalf("got %d findings, want 2", len(a))
	}
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("reordered findings differ (-in order +reordered):\n%s", d)
	}
	if d := cmp.Diff(scanA, scanB); d != "" {
		t.Errorf("reordered scan differs (-in order +reordered):\n%s", d)
	}
	if a[1].Key != "lang-pkgs|app/package-lock.json|CVE-2020-1|zlib|" || a[1].Kind != ingest.Container {
		t.Errorf("lang-pkgs finding = %q %q", a[1].Key, a[1].Kind)
	}
}

func TestFormatErrors(t *testing.T) {
	orig := readSample(t, sample)
	// Cut the report 100 bytes into its third vulnerability.
	third := bytes.Index(orig, []byte(`"VulnerabilityID": "CVE-2019-1549",`+"\n          \"PkgID\": \"libssl"))
	if third < 0 {
		t.Fatal("third vulnerability not found in the sample")
	}
	long := strings.Repeat("x", maxString+1)
	// ArtifactType after more than maxPending vulnerabilities.
	late := `{"SchemaVersion": 2, "Results": [{"Target": "t", "Class": "os-pkgs", "Vulnerabilities": [` +
		strings.Repeat(`{"VulnerabilityID": "CVE-1", "PkgName": "p"},`, maxPending) +
		`{"VulnerabilityID": "CVE-2", "PkgName": "p"}]}], "ArtifactType": "container_image"}`
	tests := []struct {
		name   string
		report []byte
		path   string
		msg    string
	}{
		{"empty", nil, "", "unexpected end of input"},
		{"truncated", orig[:third+100], "Results[0].Vulnerabilities[2]", "unexpected end of input"},
		{"truncated after results", orig[:len(orig)-3], "", "unexpected end of input"},
		{"malformed", []byte(`{"SchemaVersion": 2, "Results": [}`), "Results", "malformed JSON"},
		{"not an object", []byte(`[1, 2]`), "", "is an array, want an object"},
		{"schema version 1", edit(t, orig, func(m map[string]any) { m["SchemaVersion"] = 1 }), "SchemaVersion", "unsupported SchemaVersion 1"},
		{"schema version string", edit(t, orig, func(m map[string]any) { m["SchemaVersion"] = "2" }), "SchemaVersion", "is a JSON string, want a number"},
		{"no schema version", edit(t, orig, func(m map[string]any) { delete(m, "SchemaVersion") }), "", "missing SchemaVersion"},
		{"results not an array", edit(t, orig, func(m map[string]any) { m["Results"] = "none" }), "Results", "is a string, want an array"},
		{"severity a number", edit(t, orig, func(m map[string]any) { vulns(m, 0)[1].(map[string]any)["Severity"] = 3 }),
			"Results[0].Vulnerabilities[1].Severity", "is a JSON number, want a string"},
		{"vulnerability a string", edit(t, orig, func(m map[string]any) { vulns(m, 0)[2] = "CVE-1" }),
			"Results[0].Vulnerabilities[2]", "is a JSON string, want an object"},
		{"missing id", edit(t, orig, func(m map[string]any) { delete(vulns(m, 0)[3].(map[string]any), "VulnerabilityID") }),
			"Results[0].Vulnerabilities[3].VulnerabilityID", "missing"},
		{"line not an integer", []byte(`{"SchemaVersion": 2, "ArtifactType": "filesystem", "Results": [{"Target": "a", "Class": "secret",
			"Secrets": [{"RuleID": "r", "StartLine": 1.5}]}]}`), "Results[0].Secrets[0].StartLine", "is a JSON number 1.5, want an integer"},
		{"bad time", edit(t, orig, func(m map[string]any) { m["CreatedAt"] = "yesterday" }), "CreatedAt", "not an RFC 3339 time"},
		{"unknown modified type", edit(t, orig, func(m map[string]any) {
			results(m)[0].(map[string]any)["ModifiedFindings"] = []any{map[string]any{"Type": "weird", "Status": "ignored"}}
		}), "Results[0].ModifiedFindings[0].Type", "unknown finding type"},
		{"missing class", edit(t, orig, func(m map[string]any) { delete(results(m)[0].(map[string]any), "Class") }),
			"Results[0]", "missing Class"},
		{"trailing data", append(append([]byte{}, orig...), "{}"...), "", "unexpected data after the report"},
		{"string too long", edit(t, orig, func(m map[string]any) { vulns(m, 0)[0].(map[string]any)["Title"] = long }),
			"Results[0].Vulnerabilities[0].Title", "longer than the 1 MiB limit"},
		{"too many waiting", []byte(late), "Results[0].Vulnerabilities[10000]", "more than 10000 findings come before ArtifactType"},
		{"value too large", []byte(`{"SchemaVersion": 2, "Metadata": {"x": "` + strings.Repeat("y", maxValue+1) + `"}}`),
			"Metadata", "value larger than 16 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			_, err := Parser{}.Parse(context.Background(), bytes.NewReader(tt.report), func(ingest.Finding) error { n++; return nil })
			var fe *ingest.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error = %v (%T), want *ingest.FormatError", err, err)
			}
			if fe.Format != "trivy" || fe.Path != tt.path || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("error = format %q path %q msg %q, want trivy %q containing %q", fe.Format, fe.Path, fe.Msg, tt.path, tt.msg)
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("message %q does not say where (%q)", err, tt.path)
			}
		})
	}
}

func TestEmitErrorAndCancel(t *testing.T) {
	report := readSample(t, sample)
	stop := errors.New("stop")
	n := 0
	_, err := Parser{}.Parse(context.Background(), bytes.NewReader(report), func(ingest.Finding) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Errorf("emit error: got %v after %d findings, want the emit error after 1", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Parser{}.Parse(ctx, bytes.NewReader(report), func(ingest.Finding) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: got %v, want context.Canceled", err)
	}
}

func TestDetect(t *testing.T) {
	for name, want := range map[string]bool{
		"trivy/alpine-310.json":                       true,
		"grype/many_vulns_with_epss_values.json":      false,
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
	if Detect([]byte(secretReport)) != true {
		t.Error("Detect(secret report) = false")
	}
	if Detect([]byte(`{"SchemaVersion": 2`)) != false {
		t.Error("Detect(bare SchemaVersion) = true")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(readSample(f, sample))
	f.Add([]byte(secretReport))
	f.Add([]byte(`{"Results": [{"Vulnerabilities": [{"VulnerabilityID": "X", "PkgName": "p"}], "Class": "os-pkgs", "Target": "t"}], "ArtifactType": "x", "SchemaVersion": 2}`))
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
