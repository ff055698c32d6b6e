package sarif

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

// samplePath is the Semgrep 1.69 SARIF sample (77 results; see
// shared/samples/SOURCES.md), relative to this package's directory.
const samplePath = "../../../shared/samples/sarif/semgrep-1.69.sarif"

// parseAll parses data and returns every emitted finding.
func parseAll(t testing.TB, p Parser, data []byte) ([]ingest.Finding, ingest.Scan, Stats, error) {
	t.Helper()
	var got []ingest.Finding
	scan, st, err := p.ParseStats(context.Background(), bytes.NewReader(data), func(f ingest.Finding) error {
		got = append(got, f)
		return nil
	})
	return got, scan, st, err
}

func mustParse(t *testing.T, data []byte) ([]ingest.Finding, ingest.Scan, Stats) {
	t.Helper()
	got, scan, st, err := parseAll(t, Parser{}, data)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return got, scan, st
}

func readSample(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	return data
}

const semgrepRule = "vulnerability-management-registry.semgrep-rules.gitlab-rules.sast-rules."

// The expected values below were read from the sample with jq/python, not
// from this parser's output.
func TestSemgrepSample(t *testing.T) {
	got, scan, st := mustParse(t, readSample(t))

	if len(got) != 77 {
		t.Fatalf("got %d findings, want 77", len(got))
	}
	wantScan := ingest.Scan{Format: "sarif", Scanner: "semgrep", ScannerVersion: "1.69.0", Kinds: []ingest.Kind{ingest.SAST}}
	if d := cmp.Diff(wantScan, scan); d != "" {
		t.Errorf("scan (-want +got):\n%s", d)
	}
	// The sample's run has its keys sorted: results come before tool, so all
	// 77 results wait for the rules.
	if d := cmp.Diff(Stats{Results: 77, Emitted: 77, MaxPending: 77}, st); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}

	bySeverity := map[ingest.Severity]int{}
	keys := map[string]bool{}
	for _, f := range got {
		bySeverity[f.Severity]++
		if f.Key == "" || keys[f.Key] {
			t.Errorf("empty or repeated key %q", f.Key)
		}
		keys[f.Key] = true
		if f.Kind != ingest.SAST || f.KeySource != "sarif:matchBasedId/v1" {
			t.Errorf("finding %s: kind %q key source %q", f.Key, f.Kind, f.KeySource)
		}
	}
	// Rules' security-severity words: 42 results of MEDIUM rules, 34 of
	// CRITICAL rules, 1 of the HIGH rule.
	if d := cmp.Diff(map[ingest.Severity]int{ingest.Medium: 42, ingest.Critical: 34, ingest.High: 1}, bySeverity); d != "" {
		t.Errorf("severities (-want +got):\n%s", d)
	}

	want := map[int]ingest.Finding{
		0: {
			Key:              "e5aea7d033ad2f52b0c68a45048d8297e59597971eb74ca387ebdb598e9d2631c1de6945ffea9d9dc2fce6bb0f1e8f8e966061e685f3f72c40459c30f9fe7235_0",
			KeySource:        "sarif:matchBasedId/v1",
			Kind:             ingest.SAST,
			RuleID:           semgrepRule + "javascript.pathtraversal.javascript_pathtraversal_rule-non-literal-fs-filename",
			Title:            "The application dynamically constructs file or path information.",
			Severity:         ingest.Medium,
			OriginalSeverity: "MEDIUM",
			File:             "Gruntfile.js",
			Line:             75,
		},
		// The one HIGH rule; its defaultConfiguration.level is "error", but
		// security-severity comes first.
		19: {
			Key:              "4a3e2ee59c608b0ad2e3ad574212e0b0ab7389f85eb224d1f99a6b1293502a57fecfc5ae3d123dcf44a478b361513002d7c033413f57da2b616614ece35fc48a_0",
			KeySource:        "sarif:matchBasedId/v1",
			Kind:             ingest.SAST,
			RuleID:           semgrepRule + "rules.lgpl.javascript.jwt.rules_lgpl_javascript_jwt_rule-hardcoded-jwt-secret",
			Title:            "Hardcoded JWT secret or private key was found.",
			Severity:         ingest.High,
			OriginalSeverity: "HIGH",
			File:             "lib/insecurity.ts",
			Line:             56,
		},
		// The first result of a CRITICAL rule.
		21: {
			Key:              "b791fb07e2b974ef6c94f59fcceb71ac7a979fd78002fe5989e865d07c6e072e3bd993c830fa00d80a426a9b8382ce8f4015ecefb1927667b662f1ed7919c767_0",
			KeySource:        "sarif:matchBasedId/v1",
			Kind:             ingest.SAST,
			RuleID:           semgrepRule + "rules.lgpl.javascript.database.rules_lgpl_javascript_database_rule-node-nosqli-injection",
			Title:            "Untrusted user input in findOne() function can result in NoSQL Injection.",
			Severity:         ingest.Critical,
			OriginalSeverity: "CRITICAL",
			File:             "routes/address.ts",
			Line:             18,
		},
		76: {
			Key:              "88b51bcad11122c1bfd3dc2afed67bc806e6246d01bf772ed6e20fb93564ebe332472796871cf8f5dd25abaaa9372e18eab44ca8d3cfb672f7107201a21f94cb_0",
			KeySource:        "sarif:matchBasedId/v1",
			Kind:             ingest.SAST,
			RuleID:           semgrepRule + "rules.lgpl.javascript.headers.rules_lgpl_javascript_headers_rule-generic-cors",
			Title:            `Access-Control-Allow-Origin response header is set to "*".`,
			Severity:         ingest.Medium,
			OriginalSeverity: "MEDIUM",
			File:             "server.ts",
			Line:             164,
		},
	}
	for i, w := range want {
		if d := cmp.Diff(w, got[i]); d != "" {
			t.Errorf("finding %d (-want +got):\n%s", i, d)
		}
	}
}

// TestSampleKeyOrder re-encodes the sample's run with tool before results:
// the findings are the same, and none is held back.
func TestSampleKeyOrder(t *testing.T) {
	data := readSample(t)
	var log struct {
		Runs []map[string]json.RawMessage `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	reordered := fmt.Sprintf(`{"runs":[{"tool":%s,"invocations":%s,"results":%s}],"version":"2.1.0"}`,
		run["tool"], run["invocations"], run["results"])

	sorted, _, _ := mustParse(t, data)
	toolFirst, _, st := mustParse(t, []byte(reordered))
	if d := cmp.Diff(sorted, toolFirst); d != "" {
		t.Errorf("findings differ by key order (-results first +tool first):\n%s", d)
	}
	if st.MaxPending != 0 {
		t.Errorf("MaxPending = %d with the tool first, want 0", st.MaxPending)
	}
}

// sarifLog builds a one-run log from the run's tool.driver members (without
// braces) and its results (a JSON array).
func sarifLog(driver, results string) []byte {
	return []byte(`{"version":"2.1.0","runs":[{"tool":{"driver":{` + driver + `}},"results":` + results + `}]}`)
}

func TestSeverity(t *testing.T) {
	tests := []struct {
		name     string
		rule     string // the rule's members after "id"
		result   string // the result's members after ruleId
		want     ingest.Severity
		original string
	}{
		{"rule score", `"properties":{"security-severity":"8.8"}`, ``, ingest.High, "8.8"},
		{"rule score as JSON number", `"properties":{"security-severity":9.1}`, ``, ingest.Critical, "9.1"},
		{"rule score zero", `"properties":{"security-severity":"0.0"}`, ``, ingest.Info, "0.0"},
		{"rule word", `"properties":{"security-severity":"high"}`, ``, ingest.High, "high"},
		{"rule word upper", `"properties":{"security-severity":"MEDIUM"}`, ``, ingest.Medium, "MEDIUM"},
		{"score out of range", `"properties":{"security-severity":"12"}`, ``, ingest.Unknown, "12"},
		{"unknown word", `"properties":{"security-severity":"bogus"}`, `,"level":"error"`, ingest.Unknown, "bogus"},
		{"result score beats rule", `"properties":{"security-severity":"9.8"}`, `,"properties":{"security-severity":"3.1"}`, ingest.Low, "3.1"},
		{"security-severity beats level", `"properties":{"security-severity":"5.0"},"defaultConfiguration":{"level":"error"}`, `,"level":"error"`, ingest.Medium, "5.0"},
		{"properties severity word", `"properties":{"severity":"CRITICAL"}`, `,"level":"note"`, ingest.Critical, "CRITICAL"},
		{"unknown properties severity passed over", `"properties":{"severity":"3"}`, `,"level":"note"`, ingest.Low, "note"},
		{"severity tag", `"properties":{"tags":["vulnerability","HIGH","openssl"]}`, ``, ingest.High, "HIGH"},
		{"result level", ``, `,"level":"error"`, ingest.High, "error"},
		{"result level beats rule default", `"defaultConfiguration":{"level":"error"}`, `,"level":"note"`, ingest.Low, "note"},
		{"rule default level", `"defaultConfiguration":{"level":"warning"}`, ``, ingest.Medium, "warning"},
		{"level none", ``, `,"level":"none"`, ingest.Info, "none"},
		{"nothing: SARIF default warning", ``, ``, ingest.Medium, ""},
		{"nothing, kind review: default none", ``, `,"kind":"review"`, ingest.Info, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := `{"id":"r1"` + prefixComma(tt.rule) + `}`
			data := sarifLog(`"name":"ExampleTool","rules":[`+rule+`]`,
				`[{"ruleId":"r1","message":{"text":"m"}`+tt.result+`}]`)
			got, _, _ := mustParse(t, data)
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			if got[0].Severity != tt.want || got[0].OriginalSeverity != tt.original {
				t.Errorf("severity %q (original %q), want %q (original %q)", got[0].Severity, got[0].OriginalSeverity, tt.want, tt.original)
			}
		})
	}
}

func prefixComma(s string) string {
	if s == "" {
		return ""
	}
	return "," + s
}

func TestSuppressionsAndSkips(t *testing.T) {
	results := `[
	 {"ruleId":"r","message":{"text":"accepted in source"},"suppressions":[{"kind":"inSource","status":"accepted","justification":" test fixture "}]},
	 {"ruleId":"r","message":{"text":"external without status"},"suppressions":[{"kind":"external"}]},
	 {"ruleId":"r","message":{"text":"rejected"},"suppressions":[{"kind":"inSource","status":"rejected","justification":"no"}]},
	 {"ruleId":"r","message":{"text":"under review"},"suppressions":[{"kind":"external","status":"underReview"}]},
	 {"ruleId":"r","message":{"text":"rejected then accepted"},"suppressions":[{"kind":"inSource","status":"rejected"},{"kind":"external","status":"accepted","justification":"risk accepted"}]},
	 {"ruleId":"r","message":{"text":"gone"},"baselineState":"absent"},
	 {"ruleId":"r","message":{"text":"new"},"baselineState":"new"},
	 {"ruleId":"r","message":{"text":"passed"},"kind":"pass"},
	 {"ruleId":"r","message":{"text":"not applicable"},"kind":"notApplicable"}
	]`
	got, _, st := mustParse(t, sarifLog(`"name":"ExampleTool"`, results))
	type row struct{ Title, Suppression, StatusReason string }
	var rows []row
	for _, f := range got {
		rows = append(rows, row{f.Title, f.Suppression, f.StatusReason})
	}
	want := []row{
		{"accepted in source", "sarif:inSource", "test fixture"},
		{"external without status", "sarif:external", ""},
		{"rejected", "", ""},
		{"under review", "", ""},
		{"rejected then accepted", "sarif:external", "risk accepted"},
		{"new", "", ""},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if d := cmp.Diff(Stats{Results: 9, Emitted: 6, Absent: 1, Passed: 2}, st); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
}

// codeQLLog is a CodeQL-shaped log: rules in a query-pack extension,
// results pointing at them through rule.toolComponent, line-hash partial
// fingerprints.
func codeQLLog(line int, lineHash string) []byte {
	return []byte(fmt.Sprintf(`{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{
	 "tool":{"driver":{"name":"CodeQL","semanticVersion":"2.17.0","rules":[]},
	  "extensions":[{"name":"codeql/javascript-queries","rules":[
	   {"id":"js/sql-injection","name":"js/sql-injection","shortDescription":{"text":"Database query built from user-controlled sources"},
	    "defaultConfiguration":{"level":"error"},
	    "properties":{"tags":["security","external/cwe/cwe-089"],"security-severity":"8.8","problem.severity":"error"}}]}]},
	 "versionControlProvenance":[{"repositoryUri":"https://github.com/Org/App.git","revisionId":"0123abcd","branch":"refs/heads/main"}],
	 "invocations":[{"executionSuccessful":true,"startTimeUtc":"2024-05-01T10:00:00.123Z"}],
	 "results":[{"ruleId":"js/sql-injection","rule":{"id":"js/sql-injection","index":0,"toolComponent":{"index":0}},
	   "message":{"text":"This query string depends on a [user-provided value](1)."},
	   "locations":[{"physicalLocation":{"artifactLocation":{"uri":"src/db%%20layer/query.js","uriBaseId":"%%SRCROOT%%","index":3},
	     "region":{"startLine":%d,"startColumn":5}}}],
	   "partialFingerprints":{"primaryLocationLineHash":%q,"primaryLocationStartColumnFingerprint":"4"}}]}]}`, line, lineHash))
}

func TestCodeQL(t *testing.T) {
	got, scan, _ := mustParse(t, codeQLLog(42, "39fa2ee980eb94b0:1"))
	want := []ingest.Finding{{
		Key:              "js/sql-injection|src/db layer/query.js|39fa2ee980eb94b0:1",
		KeySource:        "sarif:primaryLocationLineHash",
		Kind:             ingest.SAST,
		RuleID:           "js/sql-injection",
		Title:            "This query string depends on a [user-provided value](1).",
		Severity:         ingest.High,
		OriginalSeverity: "8.8",
		File:             "src/db layer/query.js",
		Line:             42,
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	wantScan := ingest.Scan{
		Format: "sarif", Scanner: "codeql", ScannerVersion: "2.17.0",
		Asset: "github.com/Org/App", Branch: "refs/heads/main", Commit: "0123abcd",
		Kinds: []ingest.Kind{ingest.SAST},
		Time:  time.Date(2024, 5, 1, 10, 0, 0, 123e6, time.UTC),
	}
	if d := cmp.Diff(wantScan, scan); d != "" {
		t.Errorf("scan (-want +got):\n%s", d)
	}
}

// keysOf parses data and returns its findings' keys.
func keysOf(t *testing.T, data []byte) []string {
	t.Helper()
	got, _, _ := mustParse(t, data)
	var keys []string
	for _, f := range got {
		keys = append(keys, f.Key)
	}
	return keys
}

func TestKeyStability(t *testing.T) {
	semgrepResult := func(line int, fp string) []byte {
		return sarifLog(`"name":"Semgrep OSS","rules":[{"id":"r","properties":{"security-severity":"HIGH"}}]`,
			fmt.Sprintf(`[{"ruleId":"r","message":{"text":"m"},"fingerprints":{"matchBasedId/v1":%q},
			 "locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.py"},"region":{"startLine":%d,"snippet":{"text":"eval(x)"}}}}]}]`, fp, line))
	}
	composite := func(line int, indent string) []byte {
		return sarifLog(`"name":"SomeTool"`, fmt.Sprintf(`[
		 {"ruleId":"r","message":{"text":"eval of input"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.py"},"region":{"startLine":%d,"snippet":{"text":"%seval(x)"}}}}]},
		 {"ruleId":"r","message":{"text":"eval of input"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.py"},"region":{"startLine":%d}}}]},
		 {"ruleId":"r","message":{"text":"eval of input"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.py"},"region":{"startLine":%d}}}]}]`,
			line, indent, line+10, line+20))
	}
	tests := []struct {
		name string
		a, b []byte
	}{
		{"same report twice", readSample(t), readSample(t)},
		{"fingerprint, line shifted", semgrepResult(10, "abc_0"), semgrepResult(99, "abc_0")},
		{"line hash, line shifted", codeQLLog(42, "39fa2ee980eb94b0:1"), codeQLLog(57, "39fa2ee980eb94b0:1")},
		{"composite, lines shifted and reindented", composite(3, ""), composite(40, "    ")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := keysOf(t, tt.a), keysOf(t, tt.b)
			if len(ka) == 0 {
				t.Fatal("no findings")
			}
			if d := cmp.Diff(ka, kb); d != "" {
				t.Errorf("keys differ (-a +b):\n%s", d)
			}
		})
	}

	// Changed fingerprints are different findings; repeated composite keys
	// are numbered.
	if a, b := keysOf(t, semgrepResult(10, "abc_0")), keysOf(t, semgrepResult(10, "abd_0")); a[0] == b[0] {
		t.Errorf("different fingerprints gave one key %q", a[0])
	}
	keys := keysOf(t, composite(3, ""))
	want := []string{
		"r|a.py|snippet:" + textHash("eval(x)"),
		"r|a.py|message:" + textHash("eval of input"),
		"r|a.py|message:" + textHash("eval of input") + "#2",
	}
	if d := cmp.Diff(want, keys); d != "" {
		t.Errorf("composite keys (-want +got):\n%s", d)
	}
}

func TestTrivy(t *testing.T) {
	// Shaped like Trivy 0.5x's SARIF for an image: rules per vulnerability
	// id, results with a "Package: ..." message, run.properties after the
	// results.
	rules := `"name":"Trivy","version":"0.50.1","rules":[
	 {"id":"CVE-2019-1549","name":"OsPackageVulnerability","shortDescription":{"text":"openssl: information disclosure in fork()"},
	  "helpUri":"https://avd.aquasec.com/nvd/cve-2019-1549","defaultConfiguration":{"level":"warning"},
	  "help":{"text":"Vulnerability CVE-2019-1549\nSeverity: MEDIUM\nPackage: libssl1.1\nFixed Version: 1.1.1d-r0\nLink: x"},
	  "properties":{"precision":"very-high","security-severity":"5.3","tags":["vulnerability","security","MEDIUM"]}},
	 {"id":"GHSA-h4j5-c7cj-74xg","name":"LanguageSpecificPackageVulnerability","shortDescription":{"text":"xmlhttprequest: code injection"},
	  "properties":{"security-severity":"9.8","tags":["vulnerability","security","CRITICAL"]}},
	 {"id":"aws-access-key-id","name":"Secret","shortDescription":{"text":"AWS Access Key ID"},
	  "properties":{"security-severity":"9.5","tags":["secret","security","CRITICAL"]}}]`
	results := `[
	 {"ruleId":"CVE-2019-1549","ruleIndex":0,"level":"warning",
	  "message":{"text":"Package: libcrypto1.1\nInstalled Version: 1.1.1c-r0\nVulnerability CVE-2019-1549\nSeverity: MEDIUM\nFixed Version: 1.1.1d-r0\nLink: [CVE-2019-1549](https://avd.aquasec.com/nvd/cve-2019-1549)"},
	  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"library/alpine","uriBaseId":"ROOTPATH"},"region":{"startLine":1}}}]},
	 {"ruleId":"GHSA-h4j5-c7cj-74xg","ruleIndex":1,"level":"error",
	  "message":{"text":"Package: xmlhttprequest\nInstalled Version: 1.6.0\nVulnerability GHSA-h4j5-c7cj-74xg\nSeverity: CRITICAL\nFixed Version: 1.7.0"},
	  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"app/package-lock.json"},"region":{"startLine":1}}}]},
	 {"ruleId":"aws-access-key-id","ruleIndex":2,"level":"error",
	  "message":{"text":"Artifact: app/.env\nType: \nSecret AWS Access Key ID\nSeverity: CRITICAL\nMatch: AWS_ACCESS_KEY_ID=AKIAZZZZZZZZZZZZZZZZ"},
	  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"app/.env"},"region":{"startLine":3}}}]}]`
	image := []byte(`{"version":"2.1.0","runs":[{"tool":{"driver":{` + rules + `}},"results":` + results +
		`,"properties":{"imageName":"ghcr.io/org/app:1.2","repoDigests":["ghcr.io/org/app@sha256:ab"]}}]}`)
	got, scan, st := mustParse(t, image)
	want := []ingest.Finding{
		{
			Key: "CVE-2019-1549|library/alpine|libcrypto1.1", KeySource: "composite:rule+file+package",
			Kind: ingest.Container, RuleID: "CVE-2019-1549", Title: "openssl: information disclosure in fork()",
			Severity: ingest.Medium, OriginalSeverity: "5.3", CVE: "CVE-2019-1549",
			Package: "libcrypto1.1", InstalledVersion: "1.1.1c-r0", FixedVersion: "1.1.1d-r0",
			File: "library/alpine", Line: 1, URL: "https://avd.aquasec.com/nvd/cve-2019-1549",
		},
		{
			Key: "GHSA-h4j5-c7cj-74xg|app/package-lock.json|xmlhttprequest", KeySource: "composite:rule+file+package",
			Kind: ingest.Container, RuleID: "GHSA-h4j5-c7cj-74xg", Title: "xmlhttprequest: code injection",
			Severity: ingest.Critical, OriginalSeverity: "9.8", Aliases: []string{"GHSA-h4j5-c7cj-74xg"},
			Package: "xmlhttprequest", InstalledVersion: "1.6.0", FixedVersion: "1.7.0",
			File: "app/package-lock.json", Line: 1,
		},
		{
			Key: "app/.env:aws-access-key-id:3", KeySource: "composite:file+rule+line",
			Kind: ingest.Secret, RuleID: "aws-access-key-id", Title: "AWS Access Key ID",
			Severity: ingest.Critical, OriginalSeverity: "9.5", File: "app/.env", Line: 3,
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if st.MaxPending != 3 {
		t.Errorf("MaxPending = %d, want 3 (Trivy waits for run.properties)", st.MaxPending)
	}
	if scan.Asset != "ghcr.io/org/app" || scan.ScannerVersion != "0.50.1" {
		t.Errorf("scan asset %q version %q", scan.Asset, scan.ScannerVersion)
	}
	if d := cmp.Diff([]ingest.Kind{ingest.SCA, ingest.Container, ingest.Secret}, scan.Kinds); d != "" {
		t.Errorf("kinds (-want +got):\n%s", d)
	}
	if strings.Contains(mustJSON(t, got), "AKIAZZZZ") {
		t.Error("the secret's match is in the findings")
	}

	// Without an image the language package is sca; the OS package stays
	// container.
	fs := sarifLog(rules, results)
	got, _, _ = mustParse(t, fs)
	if got[0].Kind != ingest.Container || got[1].Kind != ingest.SCA {
		t.Errorf("filesystem scan kinds %q, %q, want container, sca", got[0].Kind, got[1].Kind)
	}
}

func TestGitleaksSARIF(t *testing.T) {
	const secret = "AKIAIMNOJVGFDXXXE4OA"
	data := []byte(`{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{
	 "tool":{"driver":{"name":"gitleaks","semanticVersion":"v8.18.2","informationUri":"https://github.com/gitleaks/gitleaks",
	  "rules":[{"id":"aws-access-token","shortDescription":{"text":"Identified a pattern that may indicate AWS credentials."}}]}},
	 "results":[
	  {"message":{"text":"aws-access-token has detected secret for file config.yml at commit 3a1b. ` + secret + `"},"ruleId":"aws-access-token",
	   "locations":[{"physicalLocation":{"artifactLocation":{"uri":"config.yml"},"region":{"startLine":7,"startColumn":12,"endLine":7,"endColumn":32,"snippet":{"text":"` + secret + `"}}}}],
	   "partialFingerprints":{"commitSha":"3a1b","email":"dev@example.com","author":"Dev","date":"2024-01-01T00:00:00Z","commitMessage":"add ` + secret + `"},
	   "properties":{"tags":[],"offender":"` + secret + `"}},
	  {"message":{"text":"aws-access-token has detected secret for file .env."},"ruleId":"aws-access-token",
	   "locations":[{"physicalLocation":{"artifactLocation":{"uri":".env"},"region":{"startLine":2,"snippet":{"text":"` + secret + `"}}}}],
	   "partialFingerprints":{"commitSha":""}}]}]}`)
	got, scan, _ := mustParse(t, data)
	want := []ingest.Finding{
		{
			Key: "3a1b:config.yml:aws-access-token:7", KeySource: "composite:commit+file+rule+line",
			Kind: ingest.Secret, RuleID: "aws-access-token", Title: "Identified a pattern that may indicate AWS credentials.",
			Severity: ingest.Medium, File: "config.yml", Line: 7,
		},
		{
			Key: ".env:aws-access-token:2", KeySource: "composite:file+rule+line",
			Kind: ingest.Secret, RuleID: "aws-access-token", Title: "Identified a pattern that may indicate AWS credentials.",
			Severity: ingest.Medium, File: ".env", Line: 2,
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if strings.Contains(mustJSON(t, got), secret) {
		t.Error("the secret is in the findings")
	}
	if d := cmp.Diff([]ingest.Kind{ingest.Secret}, scan.Kinds); d != "" {
		t.Errorf("kinds (-want +got):\n%s", d)
	}

	// Results before the tool: the message is held until the tool is known,
	// then dropped.
	reordered := bytes.Replace(data, []byte(`"tool":`), []byte(`"x-tool":`), 1)
	var log struct {
		Runs []map[string]json.RawMessage `json:"runs"`
	}
	if err := json.Unmarshal(reordered, &log); err != nil {
		t.Fatal(err)
	}
	late := fmt.Sprintf(`{"version":"2.1.0","runs":[{"results":%s,"tool":%s}]}`, log.Runs[0]["results"], log.Runs[0]["x-tool"])
	gotLate, _, _ := mustParse(t, []byte(late))
	if d := cmp.Diff(want, gotLate); d != "" {
		t.Errorf("findings with results first (-want +got):\n%s", d)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestKinds(t *testing.T) {
	tests := []struct {
		driver    string
		results   string
		wantKind  ingest.Kind // of the one finding; "" for none
		wantKinds []ingest.Kind
	}{
		{`"name":"grype","rules":[{"id":"CVE-1999-0001-package-1","properties":{"security-severity":"4.0","purls":["pkg:deb/debian/package-1@1.1.1"]},
		  "help":{"text":"Vulnerability CVE-1999-0001\nSeverity: low\nPackage: package-1\nVersion: 1.1.1\nFix Version: 1.2.0\nType: deb"}}]`,
			`[{"ruleId":"CVE-1999-0001-package-1","message":{"text":"The path /usr/lib reports package-1 at version 1.1.1  which is a vulnerable (deb) package installed in the container"},
			  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"image/usr/lib"}}}]}]`,
			ingest.Container, []ingest.Kind{ingest.SCA, ingest.Container}},
		{`"name":"grype","rules":[{"id":"GHSA-aaaa-bbbb-cccc-lodash","properties":{"purls":["pkg:npm/lodash@4.17.20"]}}]`,
			`[{"ruleId":"GHSA-aaaa-bbbb-cccc-lodash","message":{"text":"A high vulnerability in npm package: lodash, version 4.17.20 was found at: /app/package-lock.json"},
			  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"/app/package-lock.json"}}}]}]`,
			ingest.SCA, []ingest.Kind{ingest.SCA, ingest.Container}},
		{`"name":"Checkov","rules":[{"id":"CKV_AWS_20"}]`, `[{"ruleId":"CKV_AWS_20","level":"error","message":{"text":"S3 bucket is public"}}]`,
			ingest.IaC, []ingest.Kind{ingest.IaC}},
		{`"name":"KICS"`, `[]`, "", []ingest.Kind{ingest.IaC}},
		{`"name":"gitleaks"`, `[]`, "", []ingest.Kind{ingest.Secret}},
		{`"name":"Trivy"`, `[]`, "", []ingest.Kind{ingest.SCA, ingest.Container}},
		{`"name":"Semgrep PRO"`, `[]`, "", []ingest.Kind{ingest.SAST}},
		{`"name":"Some New Analyzer"`, `[{"ruleId":"x","message":{"text":"m"}}]`, ingest.SAST, []ingest.Kind{ingest.SAST}},
		{`"name":"CodeQL"`, `null`, "", nil},
	}
	for _, tt := range tests {
		got, scan, _ := mustParse(t, sarifLog(tt.driver, tt.results))
		name := tt.driver[:min(len(tt.driver), 24)]
		if tt.wantKind != "" && (len(got) != 1 || got[0].Kind != tt.wantKind) {
			t.Errorf("%s: findings %+v, want one of kind %q", name, got, tt.wantKind)
		}
		if d := cmp.Diff(tt.wantKinds, scan.Kinds); d != "" {
			t.Errorf("%s: kinds (-want +got):\n%s", name, d)
		}
	}

	// Grype's package fields come from the rule (help text, then purls).
	got, _, _ := mustParse(t, sarifLog(tests[0].driver, tests[0].results))
	if f := got[0]; f.Package != "package-1" || f.InstalledVersion != "1.1.1" || f.FixedVersion != "1.2.0" || f.CVE != "CVE-1999-0001" {
		t.Errorf("grype package fields: %+v", f)
	}
	got, _, _ = mustParse(t, sarifLog(tests[1].driver, tests[1].results))
	if f := got[0]; f.Package != "lodash" || f.InstalledVersion != "4.17.20" || f.CVE != "" || !cmp.Equal(f.Aliases, []string{"GHSA-aaaa-bbbb-cccc"}) {
		t.Errorf("grype purl fields: %+v", f)
	}
}

func TestFailedInvocationClaimsNoKinds(t *testing.T) {
	data := []byte(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"CodeQL"}},"invocations":[{"executionSuccessful":false}],"results":[]}]}`)
	_, scan, _ := mustParse(t, data)
	if scan.Kinds != nil {
		t.Errorf("kinds %v, want none", scan.Kinds)
	}
}

func TestFormatErrors(t *testing.T) {
	const driver = `"name":"ExampleTool","rules":[{"id":"r"}]`
	valid := string(sarifLog(driver, `[{"ruleId":"r","message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.go"},"region":{"startLine":3}}}]}]`))
	tests := []struct {
		name   string
		parser Parser
		input  string
		path   string
		msg    string // a part of the message
	}{
		{"empty", Parser{}, ``, "", "empty input"},
		{"top-level array", Parser{}, `[{"version":"2.1.0"}]`, "", "want a SARIF log object"},
		{"truncated", Parser{}, valid[:len(valid)-40], "runs[0].results[0]", "unexpected end of input"},
		{"truncated between results", Parser{}, strings.TrimSuffix(valid, "]}]}") + ",", "runs[0].results[1]", "unexpected end of input"},
		{"malformed", Parser{}, strings.Replace(valid, `"message":`, `"message" `, 1), "runs[0].results[0]", "invalid JSON"},
		{"trailing data", Parser{}, valid + `{}`, "", "unexpected data after"},
		{"wrong version", Parser{}, strings.Replace(valid, `"2.1.0"`, `"2.0.0"`, 1), "version", "unsupported SARIF version"},
		{"version not a string", Parser{}, strings.Replace(valid, `"2.1.0"`, `2.1`, 1), "version", "want a string, got a number"},
		{"missing version", Parser{}, strings.Replace(valid, `"version":"2.1.0",`, ``, 1), "version", "missing"},
		{"runs not an array", Parser{}, `{"version":"2.1.0","runs":{}}`, "runs", "want an array, got an object"},
		{"no runs", Parser{}, `{"version":"2.1.0","runs":[]}`, "runs", "no runs"},
		{"missing tool", Parser{}, `{"version":"2.1.0","runs":[{"results":[]}]}`, "runs[0].tool", "missing"},
		{"missing driver name", Parser{}, `{"version":"2.1.0","runs":[{"tool":{"driver":{}}}]}`, "runs[0].tool.driver.name", "missing"},
		{"rule without id", Parser{}, string(sarifLog(`"name":"x","rules":[{"id":"a"},{"name":"b"}]`, `[]`)), "runs[0].tool.driver.rules[1].id", "missing"},
		{"startLine string", Parser{}, strings.Replace(valid, `"startLine":3`, `"startLine":"x"`, 1),
			"runs[0].results[0].locations[0].physicalLocation.region.startLine", "want an integer, got string"},
		{"startLine in second result", Parser{}, string(sarifLog(driver, `[{"ruleId":"r","message":{"text":"m"}},{"ruleId":"r","locations":[{"physicalLocation":{"region":{"startLine":1}}},{"physicalLocation":{"region":{"startLine":2.5}}}]}]`)),
			"runs[0].results[1].locations[1].physicalLocation.region.startLine", "want an integer, got number 2.5"},
		{"startLine zero", Parser{}, strings.Replace(valid, `"startLine":3`, `"startLine":0`, 1),
			"runs[0].results[0].locations[0].physicalLocation.region.startLine", "must be at least 1"},
		{"message text object", Parser{}, strings.Replace(valid, `{"text":"m"}`, `{"text":{"x":1}}`, 1), "runs[0].results[0].message.text", "want a string, got object"},
		{"fingerprint number", Parser{}, strings.Replace(valid, `"message":`, `"fingerprints":{"matchBasedId/v1":7},"message":`, 1),
			"runs[0].results[0].fingerprints.matchBasedId/v1", "want a string, got number"},
		{"missing ruleId", Parser{}, strings.Replace(valid, `"ruleId":"r",`, ``, 1), "runs[0].results[0].ruleId", "missing"},
		{"ruleIndex out of range", Parser{}, strings.Replace(valid, `"ruleId":"r",`, `"ruleIndex":4,`, 1), "runs[0].results[0].ruleIndex", "no rule 4"},
		{"negative ruleIndex", Parser{}, strings.Replace(valid, `"ruleId":"r",`, `"ruleId":"r","ruleIndex":-2,`, 1), "runs[0].results[0].ruleIndex", "must not be negative"},
		{"suppression without kind", Parser{}, strings.Replace(valid, `"message":`, `"suppressions":[{"status":"accepted"}],"message":`, 1), "runs[0].results[0].suppressions[0].kind", "missing"},
		{"suppression bad status", Parser{}, strings.Replace(valid, `"message":`, `"suppressions":[{"kind":"inSource"},{"kind":"external","status":"maybe"}],"message":`, 1), "runs[0].results[0].suppressions[1].status", "unknown status"},
		{"bad start time", Parser{}, strings.Replace(valid, `"results":`, `"invocations":[{"executionSuccessful":true,"startTimeUtc":"yesterday"}],"results":`, 1), "runs[0].invocations[0].startTimeUtc", "RFC 3339"},
		{"two tools", Parser{}, `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"CodeQL"}},"results":[]},{"tool":{"driver":{"name":"Semgrep OSS"}},"results":[]}]}`,
			"runs[1].tool.driver.name", `"semgrep" is not runs[0]'s "codeql"`},
		{"long string in a record", Parser{MaxString: 100}, strings.Replace(valid, `{"text":"m"}`, `{"text":"`+strings.Repeat("a", 200)+`"}`, 1), "runs[0].results[0].message.text", "string longer than 100 bytes"},
		{"long string token", Parser{MaxString: 100}, strings.Replace(valid, `"name":"ExampleTool"`, `"name":"`+strings.Repeat("a", 20000)+`"`, 1), "runs[0].tool.driver.name", "string longer than 100 bytes"},
		{"large record", Parser{MaxRecord: 1000}, strings.Replace(valid, `{"text":"m"}`, `{"text":"m","x":[`+strings.Repeat(`"aaaaaaaaaa",`, 200)+`1]}`, 1), "runs[0].results[0]", "larger than 1000 bytes"},
		{"deep nesting in a skipped value", Parser{}, strings.Replace(valid, `"results":`, `"graphs":`+strings.Repeat("[", 600)+strings.Repeat("]", 600)+`,"results":`, 1), "runs[0].graphs", "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := parseAll(t, tt.parser, []byte(tt.input))
			var fe *ingest.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *ingest.FormatError", err, err)
			}
			if fe.Format != "sarif" || fe.Path != tt.path || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("got format %q path %q msg %q, want path %q and a message with %q", fe.Format, fe.Path, fe.Msg, tt.path, tt.msg)
			}
			if tt.path != "" && !strings.Contains(fe.Error(), tt.path) {
				t.Errorf("Error() %q does not say where", fe.Error())
			}
		})
	}
}

func TestEmitErrorAndCancel(t *testing.T) {
	data := readSample(t)
	stop := errors.New("stop")
	n := 0
	_, err := Parser{}.Parse(context.Background(), bytes.NewReader(data), func(ingest.Finding) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Errorf("emit error: got %v after %d findings, want stop after 3", err, n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Parser{}.Parse(ctx, bytes.NewReader(data), func(ingest.Finding) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: got %v", err)
	}
}

func TestDetect(t *testing.T) {
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		head []byte
		want bool
	}{
		{"sample", readSample(t), true},
		{"sample head cut", readSample(t)[:3000], true},
		{"codeql", codeQLLog(1, "x"), true},
		{"sorted keys, no schema, version at the end", []byte(`{"runs":[{"invocations":[],"results":[{"ruleId":"a"`), true},
		{"version first", []byte(`{"version":"2.1.0","runs":[`), true},
		{"sarif 2.0", []byte(`{"version":"2.0.0","$schema":"sarif-2.0.0.json","runs":[{"tool":{}}]}`), false},
		{"semgrep json", read("../../../shared/samples/semgrep/semgrep_version_1_30_0_line_26.json"), false},
		{"gitleaks json", read("../../../shared/samples/gitleaks/gitleaks8_many.json"), false},
		{"nested runs only", []byte(`{"data":{"runs":[{"tool":{}}],"version":"2.1.0"}}`), false},
		{"runs not an array", []byte(`{"version":"2.1.0","runs":{}}`), false},
		{"empty", nil, false},
		{"garbage", []byte("\x00\x01 not json"), false},
	}
	for _, tt := range tests {
		if got := Detect(tt.head); got != tt.want {
			t.Errorf("%s: Detect = %v, want %v", tt.name, got, tt.want)
		}
	}
}
