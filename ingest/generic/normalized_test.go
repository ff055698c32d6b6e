package generic_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/generic"
	"github.com/secmetrics/secmetrics/ingest/transport"
)

func TestDecodeNormalized(t *testing.T) {
	f, err := os.Open("testdata/normalized.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := generic.DecodeNormalized(f, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := []ingest.Alert{
		{Source: "webhook:soar", ID: "A-1042", RuleID: "R-7", RuleName: "Impossible travel", Severity: ingest.High, OriginalSeverity: "P2",
			Created: at("2026-03-01T08:00:00Z"), FirstTriage: at("2026-03-01T08:04:00Z"), Closed: at("2026-03-01T09:30:00Z"), Updated: at("2026-03-01T09:30:00Z"),
			Status: "closed", Disposition: ingest.DispositionFalsePositive, OriginalDisposition: "FP - VPN egress",
			Assignee: "ann", Team: "soc", Asset: "vpn-gw-1", Incident: "INC-42"},
		{Source: "webhook:soar", ID: "A-1043", Severity: ingest.Unknown, Created: at("2026-03-01T07:30:00Z")},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(ingest.Alert{}, "Raw")); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
	if len(got) == 2 && !strings.Contains(string(got[1].Raw), `"A-1043"`) {
		t.Errorf("raw payload %s", got[1].Raw)
	}
}

func TestDecodeNormalizedRejects(t *testing.T) {
	ok := `{"id":"a","created":"2026-03-01T08:00:00Z"}`
	for _, c := range []struct{ name, doc, want string }{
		{"not json", `{"source":`, "malformed alerts document"},
		{"unknown top field", `{"source":"x:y","alerts":[` + ok + `],"token":"t"}`, `unknown field "token"`},
		{"trailing data", `{"source":"x:y","alerts":[` + ok + `]} {}`, "data after the document"},
		{"no source", `{"alerts":[` + ok + `]}`, "source: required"},
		{"bad source", `{"source":"Bad Source","alerts":[` + ok + `]}`, `source: "Bad Source" is not "<system>:<instance>"`},
		{"no alerts", `{"source":"x:y"}`, "alerts: required"},
		{"empty alerts", `{"source":"x:y","alerts":[]}`, "alerts: empty"},
		{"unknown alert field", `{"source":"x:y","alerts":[{"id":"a","created":"2026-03-01T08:00:00Z","verdict":"fp"}]}`, `alerts[0]: json: unknown field "verdict"`},
		{"alert not an object", `{"source":"x:y","alerts":[1]}`, "alerts[0]: json: cannot unmarshal number"},
		{"missing id and created", `{"source":"x:y","alerts":[` + ok + `,{}]}`, "alerts[1].id: required; alerts[1].created: required"},
		{"not rfc3339", `{"source":"x:y","alerts":[{"id":"a","created":"2026-03-01 08:00:00"}]}`, `alerts[0].created: "2026-03-01 08:00:00" is not an RFC 3339 time`},
		{"no offset", `{"source":"x:y","alerts":[{"id":"a","created":"2026-03-01T08:00:00"}]}`, "is not an RFC 3339 time"},
		{"closed before created", `{"source":"x:y","alerts":[{"id":"a","created":"2026-03-01T08:00:00Z","closed":"2026-03-01T07:00:00Z"}]}`, "alerts[0].closed: before created"},
		{"bad severity", `{"source":"x:y","alerts":[{"id":"a","created":"2026-03-01T08:00:00Z","severity":"P1"}]}`, `alerts[0].severity: "P1" is not critical`},
		{"bad disposition", `{"source":"x:y","alerts":[{"id":"a","created":"2026-03-01T08:00:00Z","disposition":"FalsePositive"}]}`, `alerts[0].disposition: "FalsePositive" is not`},
		{"duplicate id", `{"source":"x:y","alerts":[` + ok + `,` + ok + `]}`, `alerts[1].id: "a" repeats alerts[0].id`},
		{"long text", `{"source":"x:y","alerts":[{"id":"a","created":"2026-03-01T08:00:00Z","asset":"` + strings.Repeat("x", 5000) + `"}]}`, "alerts[0].asset: longer than 4096 bytes"},
		{"wrong type", `{"source":"x:y","alerts":[{"id":"a","created":"2026-03-01T08:00:00Z","auto_closed":"yes"}]}`, "cannot unmarshal string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := generic.DecodeNormalized(strings.NewReader(c.doc), 1<<20)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want %q", err, c.want)
			}
			if got != nil {
				t.Errorf("alerts returned with an error")
			}
		})
	}
	// Every problem is listed, as a *ValidationError.
	_, err := generic.DecodeNormalized(strings.NewReader(`{"source":"x:y","alerts":[{"id":"","created":"x"},{"id":"b","created":"2026-03-01T08:00:00Z","severity":"huge"}]}`), 1<<20)
	var ve *generic.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 3 {
		t.Errorf("error %v, want a ValidationError with 3 problems", err)
	}
	// Over the size limit.
	_, err = generic.DecodeNormalized(strings.NewReader(`{"source":"x:y","alerts":[`+ok+`]}`), 10)
	if !errors.Is(err, transport.ErrTooLarge) {
		t.Errorf("size limit: %v", err)
	}
}

// FuzzDecodeNormalized checks that any body either fails or yields
// writable alerts.
func FuzzDecodeNormalized(f *testing.F) {
	b, err := os.ReadFile("testdata/normalized.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"source":"x:y","alerts":[{"id":"a","created":"2026-03-01T08:00:00+02:00","disposition":"none"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		alerts, err := generic.DecodeNormalized(strings.NewReader(string(data)), 1<<16)
		if err != nil {
			return
		}
		for _, a := range alerts {
			if a.ID == "" || a.Source == "" || a.Created.IsZero() {
				t.Fatalf("unwritable alert %+v", a)
			}
			if _, err := ingest.ParseDisposition(string(a.Disposition)); err != nil {
				t.Fatal(err)
			}
		}
	})
}
