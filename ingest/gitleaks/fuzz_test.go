package gitleaks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/secmetrics/secmetrics/ingest"
)

// FuzzParse checks that no input makes Parse panic, that every error is a
// FormatError (the input is in memory, emit never fails), that every
// finding has a key and a valid severity, and that no finding carries a
// Secret or Match value of the input.
func FuzzParse(f *testing.F) {
	f.Add(readSample(f))
	f.Add([]byte(`[{"RuleID":"r","StartLine":0,"File":"f","Fingerprint":"x","Secret":"s3cr3t","Match":"k=s3cr3t"}]`))
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
			if !slices.Contains(ingest.Severities, f.Severity) || f.Kind != ingest.Secret {
				t.Errorf("severity %q kind %q", f.Severity, f.Kind)
			}
		}
		// Any Secret or Match value of the input must not be in the finding
		// built from it, unless it is also part of what the finding does
		// carry (rule, file, commit, description, link, fingerprint).
		var in []struct{ Secret, Match, RuleID, File, Description, Commit, Fingerprint, Link string }
		if json.Unmarshal(data, &in) != nil || len(in) != len(got) {
			return
		}
		for i, x := range in {
			f := got[i]
			composite := x.Commit + ":" + x.File + ":" + x.RuleID + ":" + strconv.Itoa(f.Line)
			carried := strings.Join([]string{composite, x.Description, x.Link, x.Fingerprint}, "\x00")
			for _, v := range []string{x.Secret, x.Match} {
				if v == "" || strings.Contains(carried, v) {
					continue
				}
				for _, fv := range []string{f.Key, f.Title, f.RuleID, f.File, f.URL, f.OriginalSeverity, f.StatusReason} {
					if strings.Contains(fv, v) {
						t.Errorf("secret %q is in finding %d: %+v", v, i, f)
					}
				}
			}
		}
	})
}
