package github

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/secmetrics/secmetrics/ingest"
)

// FuzzParse feeds both parsers arbitrary input: they must not panic, and
// whatever they accept must be a well-formed finding.
func FuzzParse(f *testing.F) {
	// Seeds are the sample's alerts, one or three per array rather than the
	// whole 400 KB export, which makes every mutation and minimization slow
	// (TestDependabotSample reads the whole file).
	var alerts []json.RawMessage
	if err := json.Unmarshal(readFile(f, dependabotSample), &alerts); err != nil {
		f.Fatal(err)
	}
	for _, a := range alerts[:3] {
		f.Add(append(append([]byte("["), a...), ']'))
	}
	if three, err := json.Marshal(alerts[70:73]); err == nil {
		f.Add(three)
	}
	f.Add(readFile(f, codeScanningSample))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"number":1,"state":"dismissed","created_at":"2024-01-01T00:00:00Z","html_url":"https://github.com/o/r/security/code-scanning/1","rule":{"id":"x"},"tool":{"name":"t"},"dismissed_reason":"won't fix"}]`))

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range []ingest.Parser{DependabotParser{}, CodeScanningParser{Asset: "fallback"}} {
			var fs []ingest.Finding
			scan, err := p.Parse(context.Background(), bytes.NewReader(data), func(f ingest.Finding) error {
				fs = append(fs, f)
				return nil
			})
			if err != nil {
				continue
			}
			if !scan.Tracked || scan.Format == "" || scan.Scanner == "" {
				t.Errorf("scan %+v", scan)
			}
			if !json.Valid(data) {
				t.Errorf("accepted invalid JSON %q", data)
			}
			for _, f := range fs {
				if f.Key == "" || f.Asset == "" || f.RuleID == "" || f.DetectedAt.IsZero() {
					t.Errorf("incomplete finding %+v", f)
				}
				if f.HasEPSS && !(f.EPSS >= 0 && f.EPSS <= 1 && f.EPSSPercentile >= 0 && f.EPSSPercentile <= 1) {
					t.Errorf("EPSS out of range: %+v", f)
				}
				if f.Line < 0 {
					t.Errorf("negative line: %+v", f)
				}
			}
		}
	})
}
