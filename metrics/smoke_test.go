package metrics_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

func TestSmokeVuln(t *testing.T) {
	db := chtest.New(t)
	load(t, db, Rows{
		"assets": {{"asset": "repo-a", "valid_from": "2026-01-01", "team": "payments", "tier": 1, "asset_kind": "repository", "active": 1, "in_inventory": 1}},
		"finding_events": {
			{"finding_id": "f1", "event_time": "2026-07-01 00:00:00", "event_type": "detected", "severity": "critical", "asset": "repo-a", "scanner": "semgrep", "kind": "sast"},
			{"finding_id": "f1", "event_time": "2026-07-05 00:00:00", "event_type": "fixed", "severity": "critical", "asset": "repo-a", "scanner": "semgrep", "kind": "sast"},
		},
	})
	e, err := metrics.New(db, metrics.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := e.ParsePeriod("2026-Q3")
	for _, k := range []string{"vuln_mttr", "vuln_ttr_survival", "exploitable_backlog"} {
		r, err := e.Compute(context.Background(), metrics.Query{KPI: k, Period: p, Compare: true, Trend: 3})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.MarshalIndent(r.Groups, "", " ")
		t.Logf("%s", b)
	}
}

func TestSmokeScorecard(t *testing.T) {
	db := chtest.New(t)
	e, err := metrics.New(db, metrics.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := e.ParsePeriod("2026-Q3")
	for _, gb := range []string{"", "team", "severity"} {
		sc, err := e.Scorecard(context.Background(), metrics.ScorecardQuery{Period: p, GroupBy: gb, Scope: metrics.Scope{Teams: []string{"a"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(sc.Results) != 16 {
			t.Fatalf("results %d", len(sc.Results))
		}
	}
}
