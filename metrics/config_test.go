package metrics_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/secmetrics/secmetrics/metrics"
)

// TestConfigErrors checks that every problem of a bad configuration is
// reported at once, as an input error.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		yaml string
		want []string
	}{
		{"time_zone: Mars/Olympus\nfiscal_year_start_month: 13\n", []string{`time_zone "Mars/Olympus"`, "fiscal_year_start_month 13"}},
		{"targets:\n  vuln_mttr: [{measure: p75, op: '<', value: 7}]\n  nope: []\n", []string{`measure "p75"`, `unknown KPI "nope"`}},
		{"targets:\n  toil_ratio: [{measure: ratio, op: '=', value: 30}]\n", []string{`op "="`}},
		{"sla:\n  days: {urgent: 3}\n  tiers: {7: {high: 1}}\n  kev_sla: sometimes\n", []string{`unknown severity "urgent"`, "tier 7", `kev_sla: "sometimes"`}},
		{"coverage:\n  required_kinds: [sast, fuzz]\n  by_tier: {1: [dast, magic]}\n", []string{`unknown kind "fuzz"`, `unknown kind "magic"`}},
		{"epss_threshold: 2\n", []string{"epss_threshold 2"}},
		{"precompute:\n  periods: [last_year]\n  group_by: [tier]\n", []string{`precompute.periods: "last_year"`, `precompute.group_by: "tier"`}},
	}
	for _, tt := range tests {
		var c metrics.Config
		if err := yaml.Unmarshal([]byte(tt.yaml), &c); err != nil {
			t.Fatalf("%q: %v", tt.yaml, err)
		}
		_, err := metrics.New(nil, c, nil)
		if err == nil || !metrics.IsInputError(err) {
			t.Errorf("%q: got %v, want an input error", tt.yaml, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tt.yaml, err, w)
			}
		}
	}
	var c metrics.Config
	if err := yaml.Unmarshal([]byte("time_zone: Europe/Berlin\nstale_after: 48h\nsla: {days: {low: -1}}\ntargets: {reopen_rate: []}\n"), &c); err != nil {
		t.Fatal(err)
	}
	e, err := metrics.New(nil, c, nil)
	if err != nil {
		t.Fatalf("valid config: %v", err)
	}
	if got := e.Config(); got.StaleAfter != 48*time.Hour || got.SLA.Days["critical"] != 7 || e.Location().String() != "Europe/Berlin" {
		t.Errorf("defaults not merged: %+v", got)
	}
	pc := e.Config().Precompute
	if !slices.Equal(pc.Periods, []string{"previous_quarter"}) || !slices.Equal(pc.GroupBy, []string{"team"}) || pc.Interval != 10*time.Second {
		t.Errorf("precompute defaults: %+v", pc)
	}
	// An empty list turns precomputing off; it is not replaced by the default.
	c = metrics.Config{}
	if err := yaml.Unmarshal([]byte("precompute: {periods: []}\n"), &c); err != nil {
		t.Fatal(err)
	}
	if e, err = metrics.New(nil, c, nil); err != nil || len(e.Config().Precompute.Periods) != 0 {
		t.Errorf("periods: [] gave %v (err %v), want none", e.Config().Precompute.Periods, err)
	}
}

// TestQuarterContaining checks the quarters precomputing and the QBR
// default period are named from, in a fiscal year and a time zone.
func TestQuarterContaining(t *testing.T) {
	e, err := metrics.New(nil, metrics.Config{TimeZone: "America/New_York", FiscalYearStartMonth: 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), "2027-Q1"},
		// 2026-10-01 03:00 UTC is still September 30 in New York: FY2026 Q4.
		{time.Date(2026, 10, 1, 3, 0, 0, 0, time.UTC), "2026-Q4"},
		{time.Date(2026, 10, 1, 4, 0, 0, 0, time.UTC), "2027-Q1"},
	} {
		p, err := e.QuarterContaining(tt.at)
		if err != nil || p.Name != tt.want {
			t.Errorf("%s: %s (err %v), want %s", tt.at, p.Name, err, tt.want)
		}
	}
}

// TestInputErrors checks that bad requests are input errors before any
// query runs (the engine has no database here).
func TestInputErrors(t *testing.T) {
	e, err := metrics.New(nil, metrics.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := e.ParsePeriod("2026-Q3")
	ctx := context.Background()
	for name, q := range map[string]metrics.Query{
		"unknown kpi":    {KPI: "vuln_mttr@2", Period: p},
		"no period":      {KPI: "vuln_mttr"},
		"bad group_by":   {KPI: "vuln_mttr", Period: p, GroupBy: "owner"},
		"group_by n/a":   {KPI: "threat_model_coverage", Period: p, GroupBy: "severity"},
		"bad severity":   {KPI: "vuln_mttr", Period: p, Filter: metrics.Filter{Severities: []string{"urgent"}}},
		"bad tier":       {KPI: "vuln_mttr", Period: p, Filter: metrics.Filter{Tiers: []int{9}}},
		"trend too long": {KPI: "vuln_mttr", Period: p, Trend: 1000},
	} {
		if _, err := e.Compute(ctx, q); !metrics.IsInputError(err) {
			t.Errorf("%s: got %v, want an input error", name, err)
		}
	}
	if _, err := e.Scorecard(ctx, metrics.ScorecardQuery{Period: p, GroupBy: "owner"}); !metrics.IsInputError(err) {
		t.Errorf("scorecard group_by: got %v, want an input error", err)
	}
	if _, err := e.OverdueFindings(ctx, metrics.ListQuery{Period: p, Limit: -1}); !metrics.IsInputError(err) {
		t.Errorf("list limit: got %v, want an input error", err)
	}
}
