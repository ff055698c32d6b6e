package gitleaks

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

// samplePath is a Gitleaks v8 report with 4 findings and no Fingerprint
// member (see shared/samples/SOURCES.md), relative to this package's
// directory.
const samplePath = "../../../shared/samples/gitleaks/gitleaks8_many.json"

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

// The expected values below were read from the sample with python, not
// from this parser's output.
func TestSample(t *testing.T) {
	data := readSample(t)
	got, scan, err := parseAll(t, Parser{}, data)
	if err != nil {
		t.Fatal(err)
	}
	want := []ingest.Finding{
		{
			Key:       "74d53286c550630f80847d37f68aa3065554ac813544072ccd1278da71fafe31:/conf/aws.tf:aws-access-token:2",
			KeySource: "composite:commit+file+rule+line",
			Kind:      ingest.Secret, RuleID: "aws-access-token", Title: "AWS", Severity: ingest.High,
			File: "/conf/aws.tf", Line: 2,
		},
		{
			Key:       "9619c91b3fd2998be5d9ce198833d7ac9489d9bc378ad7cd28963d5a967f8699:/conf/aws.tf:aws-access-token:2",
			KeySource: "composite:commit+file+rule+line",
			Kind:      ingest.Secret, RuleID: "aws-access-token", Title: "AWS", Severity: ingest.High,
			File: "/conf/aws.tf", Line: 2,
		},
		{
			Key:       "conf/rsa.pk:RSA-PK:57",
			KeySource: "composite:file+rule+line",
			Kind:      ingest.Secret, RuleID: "RSA-PK", Title: "RSA private key", Severity: ingest.High,
			File: "conf/rsa.pk", Line: 57,
		},
		{
			Key:       "69235ea9ea4d59e18e2cc3c295526de46aa1365c1f0c7a95a22ff1537acdf517:tests/api.py:generic-api-key:21",
			KeySource: "composite:commit+file+rule+line",
			Kind:      ingest.Secret, RuleID: "generic-api-key", Title: "Generic API Key", Severity: ingest.High,
			File: "tests/api.py", Line: 21,
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	wantScan := ingest.Scan{Format: "gitleaks", Scanner: "gitleaks", Kinds: []ingest.Kind{ingest.Secret}}
	if d := cmp.Diff(wantScan, scan); d != "" {
		t.Errorf("scan (-want +got):\n%s", d)
	}

	// No finding carries a secret, a match or the commit author: marshal
	// them all and look for every such value of the sample.
	var sample []map[string]any
	if err := json.Unmarshal(data, &sample); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sample {
		for _, member := range []string{"Secret", "Match", "Email"} {
			v, _ := s[member].(string)
			if v != "" && bytes.Contains(out, []byte(v)) {
				t.Errorf("the sample's %s %q is in the findings", member, v)
			}
		}
	}
	for _, secret := range []string{"secretAWSsecret", "BEGIN RSA PRIVATE KEY", "dfjksdjfs3294dfjlsdaf213"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("secret %q is in the findings", secret)
		}
	}
}

func TestKeys(t *testing.T) {
	// Newer Gitleaks writes its fingerprint; it is used as is, and a line
	// shift with the same fingerprint keeps the key.
	withFP := func(line int) string {
		return `[{"RuleID":"github-pat","Description":"GitHub Personal Access Token","StartLine":` + itoa(line) + `,"EndLine":1,
		 "Secret":"ghp_x","Match":"token=ghp_x","Line":"token=ghp_x","File":"a.env","SymlinkFile":"","Commit":"c1",
		 "Link":"https://github.com/org/repo/blob/c1/a.env#L1","Entropy":3.5,"Tags":[],"Fingerprint":"c1:a.env:github-pat:1"}]`
	}
	a, _, err := parseAll(t, Parser{}, []byte(withFP(1)))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := parseAll(t, Parser{}, []byte(withFP(9)))
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Key != "c1:a.env:github-pat:1" || a[0].KeySource != "gitleaks:fingerprint" || b[0].Key != a[0].Key {
		t.Errorf("fingerprint keys %q (%s), %q", a[0].Key, a[0].KeySource, b[0].Key)
	}
	if a[0].URL != "https://github.com/org/repo/blob/c1/a.env#L1" || a[0].Line != 1 {
		t.Errorf("url %q line %d", a[0].URL, a[0].Line)
	}

	// The same report twice gives the same keys; two secrets on one line
	// are numbered.
	k1, _, _ := parseAll(t, Parser{}, readSample(t))
	k2, _, _ := parseAll(t, Parser{}, readSample(t))
	if d := cmp.Diff(k1, k2); d != "" {
		t.Errorf("same report, different findings:\n%s", d)
	}
	two := `[{"RuleID":"r","StartLine":3,"File":"f","Commit":""},{"RuleID":"r","StartLine":3,"File":"f","Commit":""}]`
	got, _, err := parseAll(t, Parser{}, []byte(two))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Key != "f:r:3" || got[1].Key != "f:r:3#2" {
		t.Errorf("keys %q, %q", got[0].Key, got[1].Key)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestEmpty(t *testing.T) {
	got, scan, err := parseAll(t, Parser{}, []byte("[]\n"))
	if err != nil || len(got) != 0 {
		t.Fatalf("got %d findings, err %v", len(got), err)
	}
	if d := cmp.Diff([]ingest.Kind{ingest.Secret}, scan.Kinds); d != "" {
		t.Errorf("kinds (-want +got):\n%s", d)
	}
}

func TestFormatErrors(t *testing.T) {
	const secret = "hunter2-very-secret"
	valid := `[{"RuleID":"r","StartLine":1,"File":"a","Secret":"` + secret + `"},{"RuleID":"r","StartLine":2,"File":"b","Secret":"` + secret + `"}]`
	tests := []struct {
		name   string
		parser Parser
		input  string
		path   string
		msg    string
	}{
		{"empty", Parser{}, "", "", "empty input"},
		{"object", Parser{}, `{"RuleID":"r"}`, "", "want a Gitleaks v8 report"},
		{"truncated", Parser{}, valid[:len(valid)-20], "[1]", "unexpected end of input"},
		{"truncated after a finding", Parser{}, valid[:strings.Index(valid, "},")+2], "[1]", "unexpected end of input"},
		{"malformed", Parser{}, strings.Replace(valid, `"File":"b",`, `"File":"b" `, 1), "[1]", "invalid JSON"},
		{"StartLine string", Parser{}, strings.Replace(valid, `"StartLine":2`, `"StartLine":"x"`, 1), "[1].StartLine", "want an integer, got string"},
		{"StartLine fraction", Parser{}, strings.Replace(valid, `"StartLine":2`, `"StartLine":2.5`, 1), "[1].StartLine", "want an integer, got number 2.5"},
		{"StartLine negative", Parser{}, strings.Replace(valid, `"StartLine":2`, `"StartLine":-2`, 1), "[1].StartLine", "must not be negative"},
		{"missing StartLine", Parser{}, strings.Replace(valid, `"StartLine":2,`, ``, 1), "[1].StartLine", "missing"},
		{"missing RuleID", Parser{}, strings.Replace(valid, `"RuleID":"r","StartLine":2`, `"StartLine":2`, 1), "[1].RuleID", "missing"},
		{"File not a string", Parser{}, strings.Replace(valid, `"File":"b"`, `"File":["b"]`, 1), "[1].File", "want a string, got array"},
		{"element not an object", Parser{}, `[{"RuleID":"r","StartLine":1},7]`, "[1]", "want an object"},
		{"trailing data", Parser{}, valid + "]", "", "unexpected data after"},
		{"long string", Parser{MaxString: 10}, valid, "[0].Secret", "string longer than 10 bytes"},
		{"large finding", Parser{MaxRecord: 30}, valid, "[0]", "larger than 30 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseAll(t, tt.parser, []byte(tt.input))
			var fe *ingest.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *ingest.FormatError", err, err)
			}
			if fe.Format != "gitleaks" || fe.Path != tt.path || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("got format %q path %q msg %q, want path %q and a message with %q", fe.Format, fe.Path, fe.Msg, tt.path, tt.msg)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error %q quotes the secret", err)
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
	tests := []struct {
		name string
		head []byte
		want bool
	}{
		{"sample", readSample(t), true},
		{"sample head cut after the first finding", readSample(t)[:1000], true},
		{"sample head cut inside the first finding", readSample(t)[:420], false},
		{"empty report", []byte("[]"), false},
		{"dependabot alerts", read("../../../shared/samples/github/dependabot_alerts.json"), false},
		{"semgrep", read("../../../shared/samples/semgrep/semgrep_version_1_30_0_line_26.json"), false},
		{"sarif", read("../../../shared/samples/sarif/semgrep-1.69.sarif"), false},
		{"gitleaks v7", []byte(`[{"line":"x","lineNumber":3,"offender":"x","rule":"AWS"}]`), false},
		{"nested", []byte(`[[{"RuleID":"r","StartLine":1}]]`), false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		if got := Detect(tt.head); got != tt.want {
			t.Errorf("%s: Detect = %v, want %v", tt.name, got, tt.want)
		}
	}
}
