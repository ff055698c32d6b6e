package semgrep

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
	f.Add(report(`{"code":3,"level":"warn","type":["Timeout"]}`,
		result("r", "a.py", 2, "m $X", `"severity":"INFO","metavars":{"$X":{"abstract_content":"v"}},"metadata":{"product":"secrets"}`),
		result("s", "go.mod", 1, "m", `"severity":"WARNING","sca_info":{"dependency_match":{"found_dependency":{"package":"p","version":"1"}}},"metadata":{"cve":["CVE-2020-1234"],"sca-fix-versions":[{"p":"2"}]}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []ingest.Finding
		_, err := Parser{}.Parse(context.Background(), bytes.NewReader(data), func(f ingest.Finding) error {
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
