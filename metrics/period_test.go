package metrics_test

import (
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/metrics"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParsePeriod(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		in       string
		loc      *time.Location
		fiscal   int
		name     string
		from, to string
		prev     [2]string // previous period's from, to
	}{
		{"2026-Q3", nil, 0, "2026-Q3", "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z", [2]string{"2026-04-01T00:00:00Z", "2026-07-01T00:00:00Z"}},
		{"2026-Q1", nil, 1, "2026-Q1", "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z", [2]string{"2025-10-01T00:00:00Z", "2026-01-01T00:00:00Z"}},
		// Fiscal year 2026 ends in calendar 2026: with an October start, Q1 is
		// October–December 2025 and Q4 July–September 2026.
		{"2026-Q1", nil, 10, "2026-Q1", "2025-10-01T00:00:00Z", "2026-01-01T00:00:00Z", [2]string{"2025-07-01T00:00:00Z", "2025-10-01T00:00:00Z"}},
		{"FY2026-Q4", nil, 10, "2026-Q4", "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z", [2]string{"2026-04-01T00:00:00Z", "2026-07-01T00:00:00Z"}},
		{"2026-Q2", nil, 4, "2026-Q2", "2025-07-01T00:00:00Z", "2025-10-01T00:00:00Z", [2]string{"2025-04-01T00:00:00Z", "2025-07-01T00:00:00Z"}},
		{"2026-Q1", ny, 10, "2026-Q1", "2025-10-01T04:00:00Z", "2026-01-01T05:00:00Z", [2]string{"2025-07-01T04:00:00Z", "2025-10-01T04:00:00Z"}},
		{"2026-09", nil, 0, "2026-09", "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", [2]string{"2026-08-01T00:00:00Z", "2026-09-01T00:00:00Z"}},
		{"2026-09", berlin, 0, "2026-09", "2026-08-31T22:00:00Z", "2026-09-30T22:00:00Z", [2]string{"2026-07-31T22:00:00Z", "2026-08-31T22:00:00Z"}},
		// March in New York changes from EST to EDT: 31 days minus one hour.
		{"2026-03", ny, 0, "2026-03", "2026-03-01T05:00:00Z", "2026-04-01T04:00:00Z", [2]string{"2026-02-01T05:00:00Z", "2026-03-01T05:00:00Z"}},
		{"2026-01", nil, 0, "2026-01", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", [2]string{"2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z"}},
		// ISO weeks: 2026-01-01 is a Thursday, so week 1 starts Monday
		// 2025-12-29 and 2026 has 53 weeks.
		{"2026-W38", nil, 0, "2026-W38", "2026-09-14T00:00:00Z", "2026-09-21T00:00:00Z", [2]string{"2026-09-07T00:00:00Z", "2026-09-14T00:00:00Z"}},
		{"2026-W01", nil, 0, "2026-W01", "2025-12-29T00:00:00Z", "2026-01-05T00:00:00Z", [2]string{"2025-12-22T00:00:00Z", "2025-12-29T00:00:00Z"}},
		{"2026-W53", nil, 0, "2026-W53", "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z", [2]string{"2026-12-21T00:00:00Z", "2026-12-28T00:00:00Z"}},
		{"2026-07-01/2026-07-15", nil, 0, "2026-07-01T00:00:00Z/2026-07-15T00:00:00Z", "2026-07-01T00:00:00Z", "2026-07-15T00:00:00Z", [2]string{"2026-06-17T00:00:00Z", "2026-07-01T00:00:00Z"}},
		{"2026-07-01T12:00:00Z..2026-07-02T00:00:00Z", nil, 0, "2026-07-01T12:00:00Z/2026-07-02T00:00:00Z", "2026-07-01T12:00:00Z", "2026-07-02T00:00:00Z", [2]string{"2026-07-01T00:00:00Z", "2026-07-01T12:00:00Z"}},
		{"2026-07-01/2026-07-02", berlin, 0, "2026-06-30T22:00:00Z/2026-07-01T22:00:00Z", "2026-06-30T22:00:00Z", "2026-07-01T22:00:00Z", [2]string{"2026-06-29T22:00:00Z", "2026-06-30T22:00:00Z"}},
	}
	for _, tt := range tests {
		p, err := metrics.ParsePeriod(tt.in, tt.loc, tt.fiscal)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if p.Name != tt.name || !p.From.Equal(utc(tt.from)) || !p.To.Equal(utc(tt.to)) {
			t.Errorf("%s (fiscal %d): got %s [%s, %s), want %s [%s, %s)", tt.in, tt.fiscal, p.Name, p.From.Format(time.RFC3339), p.To.Format(time.RFC3339), tt.name, tt.from, tt.to)
		}
		prev := p.Previous()
		if !prev.From.Equal(utc(tt.prev[0])) || !prev.To.Equal(utc(tt.prev[1])) {
			t.Errorf("%s: previous [%s, %s), want [%s, %s)", tt.in, prev.From.Format(time.RFC3339), prev.To.Format(time.RFC3339), tt.prev[0], tt.prev[1])
		}
	}
}

func TestParsePeriodErrors(t *testing.T) {
	for _, in := range []string{"", "2026", "2026-Q5", "2026-Q0", "2026-13", "2026-00", "2025-W53", "2026-W00", "2026-07-15/2026-07-01", "2026-07-01/2026-07-01", "last quarter"} {
		if _, err := metrics.ParsePeriod(in, nil, 0); err == nil || !metrics.IsInputError(err) {
			t.Errorf("%q: got %v, want an input error", in, err)
		}
	}
	if _, err := metrics.ParsePeriod("2026-Q1", nil, 13); !metrics.IsInputError(err) {
		t.Errorf("fiscal start 13: got %v, want an input error", err)
	}
}

func TestLast(t *testing.T) {
	p, _ := metrics.ParsePeriod("2026-Q2", nil, 0)
	got := p.Last(8)
	want := []string{"2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"}
	if len(got) != len(want) {
		t.Fatalf("got %d periods", len(got))
	}
	for i := range want {
		if got[i].Name != want[i] {
			t.Errorf("point %d: %s, want %s", i, got[i].Name, want[i])
		}
		if i > 0 && !got[i-1].To.Equal(got[i].From) {
			t.Errorf("gap between %s and %s", got[i-1].Name, got[i].Name)
		}
	}
}
