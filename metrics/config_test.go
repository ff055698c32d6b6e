package metrics_test

import (
	"context"
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
