package metrics

import (
	"context"
	"testing"

	"github.com/secmetrics/secmetrics/queries/chtest"
)

// TestSQLRunsEverywhere runs the whole scorecard and every list on 18.16
// (chtest) and, with SECMETRICS_CHDB_CHECK set, the same bound statements
// on current ClickHouse.
func TestSQLRunsEverywhere(t *testing.T) {
	db := chtest.New(t)
	e, err := New(db, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &chtest.Recorder{DB: db}
	e.db = rec
	p, _ := e.ParsePeriod("2026-Q3")
	ctx := context.Background()
	for _, gb := range []string{"", "team"} {
		if _, err := e.Scorecard(ctx, ScorecardQuery{Period: p, GroupBy: gb, Scope: Scope{Teams: []string{"payments"}}}); err != nil {
			t.Fatalf("scorecard by %q: %v", gb, err)
		}
	}
	// A trend (more periods in the per-period loops) with the reopen-restart
	// SQL variant.
	er, err := New(db, Config{SLA: SLAPolicy{RestartOnReopen: true, KEVDueDateCap: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	er.db = rec
	for _, k := range []string{"vuln_mttr", "exploitable_backlog", "scan_coverage", "detection_precision"} {
		if _, err := er.Compute(ctx, Query{KPI: k, Period: p, Compare: true, Trend: 4, GroupBy: "tier"}); err != nil {
			t.Fatalf("%s trend: %v", k, err)
		}
	}
	lq := ListQuery{Period: p, Limit: 10}
	if _, err := e.OverdueFindings(ctx, lq); err != nil {
		t.Fatal(err)
	}
	if _, err := e.OverdueTeams(ctx, lq); err != nil {
		t.Fatal(err)
	}
	if _, err := e.UncoveredAssets(ctx, lq); err != nil {
		t.Fatal(err)
	}
	if _, err := e.NoisiestRules(ctx, lq); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ExploitableFindings(ctx, lq); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DataVersion(ctx); err != nil {
		t.Fatal(err)
	}
	chtest.CheckCurrent(t, rec.SQL)
}
