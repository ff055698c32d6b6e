package semgrep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/secmetrics/secmetrics/ingest"
)

// samplePath is `semgrep --json` 1.30 output with 5 results (see
// shared/samples/SOURCES.md), relative to this package's directory.
const samplePath = "../../../shared/samples/semgrep/semgrep_version_1_30_0_line_26.json"

func readSample(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	return data
}

func parseAll(t testing.TB, p Parser, data []byte) ([]ingest.Finding, ingest.Scan, error) {
	t.Helper()
	var got []ingest.Finding
	scan, err := p.Parse(context.Background(), bytes.NewReader(data), func(f ingest.Finding) error {
		got = append(got, f)
		return nil
	})
	return got, scan, err
}

func mustParse(t *testing.T, data []byte) ([]ingest.Finding, ingest.Scan) {
	t.Helper()
	got, scan, err := parseAll(t, Parser{}, data)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return got, scan
}

// The expected values below were read from the sample with python, not
// from this parser's output.
func TestSample(t *testing.T) {
	got, scan := mustParse(t, readSample(t))
	if len(got) != 5 {
		t.Fatalf("got %d findings, want 5", len(got))
	}
	wantScan := ingest.Scan{Format: "semgrep", Scanner: "semgrep", ScannerVersion: "1.30.0", Kinds: []ingest.Kind{ingest.SAST}}
	if d := cmp.Diff(wantScan, scan); d != "" {
		t.Errorf("scan (-want +got):\n%s", d)
	}
	const rule = "go.lang.security.audit.net.formatted-template-string.formatted-template-string"
	base := ingest.Finding{
		KeySource:        "semgrep:fingerprint",
		Kind:             ingest.SAST,
		RuleID:           rule,
		Title:            "Found a formatted template string passed to 'template.HTML()'.",
		Severity:         ingest.Medium,
		OriginalSeverity: "WARNING",
		File:             "test.go",
		URL:              "https://semgrep.dev/r/" + rule,
	}
	want := map[int]struct {
		key  string
		line int
	}{
		0: {"f900d4624c2a2c2cae7cb9c94c4fb9df53a242700f19122be398d33598deb554a3fa3af3ba3864af95c90694505624e04e9e1c86fb96338f1feb40bd8b07ef2e_0", 27},
		2: {"18795c725c42a323357bf6a126fb895e11b764e80f583a69df3bd5c1812caf2259eab742aa70fcfb1663444041ea4795dfa53cc90cbe1eae03625c3feccddd53_0", 61},
		4: {"d5ee587632748693a7a70a22212cf105cdd778ee28678f970d4aed05a525226c14db4d8cd51ff6ec7e3d4f22b41c6788feebabf1f4bd70d9f8fb57ca8e70fb2b_0", 77},
	}
	for i, w := range want {
		f := base
		f.Key, f.Line = w.key, w.line
		if d := cmp.Diff(f, got[i]); d != "" {
			t.Errorf("finding %d (-want +got):\n%s", i, d)
		}
	}
	lines := []int{}
	for _, f := range got {
		lines = append(lines, f.Line)
		// The sample's cwe and owasp metadata are categories, not
		// vulnerability ids.
		if f.CVE != "" || f.Aliases != nil || f.Severity != ingest.Medium {
			t.Errorf("finding %s: CVE %q aliases %v severity %q", f.Key, f.CVE, f.Aliases, f.Severity)
		}
	}
	if d := cmp.Diff([]int{27, 54, 61, 67, 77}, lines); d != "" {
		t.Errorf("lines (-want +got):\n%s", d)
	}
}

// report builds a semgrep --json report around results (JSON objects) and
// errors.
func report(errs string, results ...string) []byte {
	return []byte(`{"errors":[` + errs + `],"paths":{"scanned":["a.py"]},"results":[` + strings.Join(results, ",") + `],"version":"1.85.0"}`)
}

// result builds one result; extra is the members of "extra" after the
// message.
func result(rule, path string, line int, message, extra string) string {
	return fmt.Sprintf(`{"check_id":%q,"path":%q,"start":{"line":%d,"col":1,"offset":0},"end":{"line":%d,"col":9,"offset":8},
	 "extra":{"message":%q,"lines":"requires login","fingerprint":"requires login"%s}}`, rule, path, line, line, message, prefixComma(extra))
}

func prefixComma(s string) string {
	if s == "" {
		return ""
	}
	return "," + s
}

func TestSeverity(t *testing.T) {
	tests := []struct {
		extra    string
		want     ingest.Severity
		original string
	}{
		{`"severity":"ERROR"`, ingest.High, "ERROR"},
		{`"severity":"WARNING"`, ingest.Medium, "WARNING"},
		{`"severity":"INFO"`, ingest.Low, "INFO"},
		{`"severity":"CRITICAL"`, ingest.Critical, "CRITICAL"},
		{`"severity":"HIGH"`, ingest.High, "HIGH"},
		{`"severity":"LOW"`, ingest.Low, "LOW"},
		{`"severity":"INVENTORY"`, ingest.Info, "INVENTORY"},
		{`"severity":"WARNING","metadata":{"impact":"HIGH","confidence":"LOW"}`, ingest.Medium, "WARNING"},
		{`"metadata":{"impact":"HIGH"}`, ingest.High, "HIGH"},
		{`"severity":"BOGUS","metadata":{"impact":["not","a","word"]}`, ingest.Unknown, "BOGUS"},
		{`"severity":"WARNING","sca_info":{"dependency_match":{"found_dependency":{"package":"p","version":"1"}}},"metadata":{"sca-severity":"MODERATE"}`, ingest.Medium, "MODERATE"},
		{`"severity":"ERROR","sca_info":{},"metadata":{"sca-severity":"CRITICAL"}`, ingest.Critical, "CRITICAL"},
	}
	for _, tt := range tests {
		got, _ := mustParse(t, report("", result("r", "a.py", 1, "m", tt.extra)))
		if got[0].Severity != tt.want || got[0].OriginalSeverity != tt.original {
			t.Errorf("%s: severity %q (original %q), want %q (%q)", tt.extra, got[0].Severity, got[0].OriginalSeverity, tt.want, tt.original)
		}
	}
}

func TestKeys(t *testing.T) {
	const vars = `"metavars":{"$X":{"start":{"line":3,"col":1,"offset":0},"end":{"line":3,"col":2,"offset":1},"abstract_content":"user_input"}}`
	keys := func(data []byte) []string {
		got, _ := mustParse(t, data)
		var k []string
		for _, f := range got {
			k = append(k, f.Key)
		}
		return k
	}
	fp := func(line int) []byte {
		return report("", strings.Replace(result("r", "a.py", line, "m", `"severity":"ERROR"`), `"fingerprint":"requires login"`, `"fingerprint":"abc123_0"`, 1))
	}
	noLogin := func(line int, x string) []byte {
		return report("",
			result("r", "a.py", line, "eval of user_input", `"severity":"ERROR",`+vars),
			result("r", "a.py", line+5, "eval of "+x, `"severity":"ERROR",`+strings.Replace(vars, "user_input", x, 1)),
			result("r", "a.py", line+9, "eval of "+x, `"severity":"ERROR",`+strings.Replace(vars, "user_input", x, 1)))
	}
	tests := []struct {
		name string
		a, b []byte
	}{
		{"same report twice", readSample(t), readSample(t)},
		{"fingerprint, line shifted", fp(3), fp(30)},
		{"requires login, lines shifted", noLogin(3, "y"), noLogin(60, "y")},
	}
	for _, tt := range tests {
		if d := cmp.Diff(keys(tt.a), keys(tt.b)); d != "" {
			t.Errorf("%s: keys differ (-a +b):\n%s", tt.name, d)
		}
	}

	got, _ := mustParse(t, noLogin(3, "y"))
	if got[0].KeySource != "composite:rule+file+match" || !strings.HasPrefix(got[0].Key, "r|a.py|match:") {
		t.Errorf("composite key %q (%s)", got[0].Key, got[0].KeySource)
	}
	if got[0].Key == got[1].Key || got[2].Key != got[1].Key+"#2" {
		t.Errorf("keys %q, %q, %q: want distinct matches, the repeat numbered", got[0].Key, got[1].Key, got[2].Key)
	}
	if k := keys(fp(3))[0]; k != "abc123_0" {
		t.Errorf("fingerprint key %q", k)
	}
}

func TestKindsAndFields(t *testing.T) {
	const secret = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
	secretResult := result("generic.secrets.gitleaks.github-pat", "config/ci.yml", 12, "GitHub token "+secret+" detected",
		`"severity":"ERROR","is_ignored":true,"metadata":{"product":"secrets","secret_type":"GitHub","cwe":["CWE-798"]},
		 "metavars":{"$TOKEN":{"start":{"line":12,"col":1,"offset":0},"end":{"line":12,"col":41,"offset":40},"abstract_content":"`+secret+`"}},
		 "validation_state":"CONFIRMED_VALID"`)
	scaResult := result("ssc-parity-0ddf890152a281f12fd6d01c3953da8d88ce2e7b", "go.mod", 6,
		"Affected versions of github.com/gin-gonic/gin are vulnerable to Download of Code Without Integrity Check.",
		`"severity":"WARNING","metadata":{"cve":"CVE-2023-29401","ghsa":"GHSA-2c4m-59x9-fr2g","sca-severity":"MODERATE",
		  "sca-fix-versions":[{"github.com/gin-gonic/gin":"1.9.1"}],"cwe":["CWE-494: Download of Code Without Integrity Check"],
		  "source":"https://semgrep.dev/orgs/-/supply-chain/advisories?q=ssc"},
		 "sca_info":{"reachable":false,"dependency_match":{"dependency_pattern":{"ecosystem":"gomod","package":"github.com/gin-gonic/gin","semver_range":"<1.9.1"},
		  "found_dependency":{"package":"github.com/gin-gonic/gin","version":"1.6.3","ecosystem":"gomod","transitivity":"transitive","line_number":6},"lockfile":"go.mod"}}`)
	got, scan := mustParse(t, report(`{"code":3,"level":"warn","type":"Syntax error","message":"x","path":"b.py"}`, secretResult, scaResult))
	want := []ingest.Finding{
		{
			Key: "config/ci.yml:generic.secrets.gitleaks.github-pat:12", KeySource: "composite:file+rule+line",
			Kind: ingest.Secret, RuleID: "generic.secrets.gitleaks.github-pat", Title: "GitHub",
			Severity: ingest.High, OriginalSeverity: "ERROR", File: "config/ci.yml", Line: 12,
			Suppression: "semgrep:nosemgrep",
		},
		{
			Key:       "ssc-parity-0ddf890152a281f12fd6d01c3953da8d88ce2e7b|go.mod|github.com/gin-gonic/gin",
			KeySource: "composite:rule+file+package",
			Kind:      ingest.SCA, RuleID: "ssc-parity-0ddf890152a281f12fd6d01c3953da8d88ce2e7b",
			Title:    "Affected versions of github.com/gin-gonic/gin are vulnerable to Download of Code Without Integrity Check.",
			Severity: ingest.Medium, OriginalSeverity: "MODERATE",
			CVE: "CVE-2023-29401", Aliases: []string{"GHSA-2c4m-59x9-fr2g"},
			Package: "github.com/gin-gonic/gin", InstalledVersion: "1.6.3", FixedVersion: "1.9.1",
			File: "go.mod", Line: 6, URL: "https://semgrep.dev/orgs/-/supply-chain/advisories?q=ssc",
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(secret)) {
		t.Error("the secret is in the findings")
	}
	if d := cmp.Diff([]ingest.Kind{ingest.SAST, ingest.SCA, ingest.Secret}, scan.Kinds); d != "" {
		t.Errorf("kinds (-want +got):\n%s (a syntax warning does not make the scan incomplete)", d)
	}
}

func TestIncompleteScans(t *testing.T) {
	for _, errs := range []string{
		`{"code":7,"level":"error","type":"Invalid rule schema","message":"bad rule"}`,
		`{"code":3,"level":"warn","type":"Timeout","message":"timeout","path":"big.js"}`,
		`{"code":3,"level":"warn","type":["Timeout",[]],"message":"timeout","path":"big.js"}`,
	} {
		_, scan := mustParse(t, report(errs, result("r", "a.py", 1, "m", `"severity":"ERROR"`)))
		if scan.Kinds != nil {
			t.Errorf("%s: kinds %v, want none", errs, scan.Kinds)
		}
	}
}

func TestFormatErrors(t *testing.T) {
	valid := string(report("", result("r", "a.py", 1, "m", `"severity":"ERROR"`), result("r", "b.py", 2, "m", `"severity":"ERROR"`)))
	tests := []struct {
		name   string
		parser Parser
		input  string
		path   string
		msg    string
	}{
		{"empty", Parser{}, "", "", "empty input"},
		{"top-level array", Parser{}, `[]`, "", "want a semgrep --json object"},
		{"truncated", Parser{}, valid[:len(valid)-80], "results[1]", "unexpected end of input"},
		{"truncated after results", Parser{}, valid[:strings.Index(valid, `"version"`)], "", "unexpected end of input"},
		{"malformed", Parser{}, strings.Replace(valid, `"path":"b.py",`, `"path":"b.py" `, 1), "results[1]", "invalid JSON"},
		{"start.line string", Parser{}, strings.Replace(valid, `"start":{"line":2`, `"start":{"line":"x"`, 1), "results[1].start.line", "want an integer, got string"},
		{"start.line zero", Parser{}, strings.Replace(valid, `"start":{"line":2`, `"start":{"line":0`, 1), "results[1].start.line", "must be at least 1"},
		{"missing check_id", Parser{}, strings.Replace(valid, `"check_id":"r","path":"b.py"`, `"path":"b.py"`, 1), "results[1].check_id", "missing"},
		{"missing path", Parser{}, strings.Replace(valid, `"path":"b.py",`, ``, 1), "results[1].path", "missing"},
		{"missing start", Parser{}, strings.Replace(valid, `"start":{"line":2,"col":1,"offset":0},`, ``, 1), "results[1].start.line", "missing"},
		{"is_ignored string", Parser{}, strings.Replace(valid, `"severity":"ERROR"`, `"severity":"ERROR","is_ignored":"yes"`, 1), "results[0].extra.is_ignored", "want a boolean"},
		{"metavar content number", Parser{}, strings.Replace(valid, `"severity":"ERROR"`, `"severity":"ERROR","metavars":{"$X":{"abstract_content":5}}`, 1), "results[0].extra.metavars.$X.abstract_content", "want a string"},
		{"results not an array", Parser{}, `{"results":{},"errors":[]}`, "results", "want an array, got an object"},
		{"results null", Parser{}, `{"results":null,"errors":[]}`, "results", "got null"},
		{"missing results", Parser{}, `{"errors":[],"version":"1.0.0"}`, "results", "missing"},
		{"error entry not an object", Parser{}, strings.Replace(valid, `"errors":[]`, `"errors":[{"level":"warn"},"boom"]`, 1), "errors[1]", "want an object"},
		{"trailing data", Parser{}, valid + "x", "", "unexpected data after"},
		{"long string", Parser{MaxString: 64}, strings.Replace(valid, `"message":"m"`, `"message":"`+strings.Repeat("z", 100)+`"`, 1), "results[0].extra.message", "string longer than 64 bytes"},
		{"large result", Parser{MaxRecord: 512}, strings.Replace(valid, `"message":"m"`, `"message":"`+strings.Repeat("z", 600)+`"`, 1), "results[0]", "larger than 512 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseAll(t, tt.parser, []byte(tt.input))
			var fe *ingest.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *ingest.FormatError", err, err)
			}
			if fe.Format != "semgrep" || fe.Path != tt.path || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("got format %q path %q msg %q, want path %q and a message with %q", fe.Format, fe.Path, fe.Msg, tt.path, tt.msg)
			}
		})
	}
}

func TestEmitErrorAndCancel(t *testing.T) {
	stop := errors.New("stop")
	_, err := Parser{}.Parse(context.Background(), bytes.NewReader(readSample(t)), func(ingest.Finding) error { return stop })
	if err != stop {
		t.Errorf("emit error: got %v, want it as is", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Parser{}.Parse(ctx, bytes.NewReader(readSample(t)), func(ingest.Finding) error { return nil })
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
	manyErrors := `{"errors":[` + strings.Repeat(`{"code":3,"level":"warn","type":"Syntax error","message":"`+strings.Repeat("x", 500)+`","path":"a.js"},`, 200) + `{}],"results":[]}`
	tests := []struct {
		name string
		head []byte
		want bool
	}{
		{"sample", readSample(t), true},
		{"sample head cut", readSample(t)[:700], true},
		{"no findings", []byte(`{"errors":[],"paths":{"scanned":[]},"results":[],"version":"1.85.0"}`), true},
		{"errors beyond the head", []byte(manyErrors), true},
		{"sarif", read("../../../shared/samples/sarif/semgrep-1.69.sarif"), false},
		{"gitleaks", read("../../../shared/samples/gitleaks/gitleaks8_many.json"), false},
		{"bandit", []byte(`{"errors":[],"generated_at":"2024-01-01T00:00:00Z","metrics":{},"results":[{"code":"x","filename":"a.py","test_id":"B101"}]}`), false},
		{"trivy", []byte(`{"SchemaVersion":2,"ArtifactName":"alpine","Results":[]}`), false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		if got := Detect(tt.head); got != tt.want {
			t.Errorf("%s: Detect = %v, want %v", tt.name, got, tt.want)
		}
	}
}
