package sarif

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/secmetrics/secmetrics/ingest"
)

// FuzzParse checks that no input makes Parse panic, that every error is a
// FormatError (the input is in memory, emit never fails), and that every
// finding has a key and a valid severity and kind.
func FuzzParse(f *testing.F) {
	f.Add(readSample(f))
	f.Add(codeQLLog(3, "abc:1"))
	f.Add(sarifLog(`"name":"Trivy","rules":[{"id":"CVE-2020-1","name":"OsPackageVulnerability","properties":{"security-severity":"7.5"}}]`,
		`[{"ruleId":"CVE-2020-1","ruleIndex":0,"message":{"text":"Package: a\nInstalled Version: 1"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"x"},"region":{"startLine":1}}}]}]`))
	f.Add([]byte(`{"runs":[{"results":[{"ruleId":"r","suppressions":[{"kind":"inSource"}],"baselineState":"absent"},{"rule":{"index":0,"toolComponent":{"index":0}},"kind":"review"}],"tool":{"driver":{"name":"gitleaks"},"extensions":[{"rules":[{"id":"r"}]}]},"properties":{"imageName":"a"}}],"version":"2.1.0"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []ingest.Finding
		_, st, err := Parser{}.ParseStats(context.Background(), bytes.NewReader(data), func(f ingest.Finding) error {
			got = append(got, f)
			return nil
		})
		if err != nil {
			var fe *ingest.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a FormatError", err, err)
			}
			return
		}
		if st.Emitted != len(got) || st.Results != st.Emitted+st.Absent+st.Passed {
			t.Errorf("stats %+v do not add up (%d findings)", st, len(got))
		}
		for _, f := range got {
			if f.Key == "" {
				t.Errorf("finding without key: %+v", f)
			}
			if !slices.Contains(ingest.Severities, f.Severity) {
				t.Errorf("invalid severity %q", f.Severity)
			}
			if !slices.Contains(ingest.Kinds, f.Kind) {
				t.Errorf("invalid kind %q", f.Kind)
			}
		}
	})
}
