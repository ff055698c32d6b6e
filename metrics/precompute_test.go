package metrics_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/metrics"
)

// checkPrecomputed checks, on a golden scenario's data, that a precomputed
// scorecard answers exactly what the same scorecard computed on request
// answers, for the period of the scenario's first query, grouped by team
// and ungrouped, for no scope, a team with no data, each team of the data
// alone (at most four), all of them but one, and all of them. It also
// checks which answers come from the precomputed pass: by team for every
// scope, ungrouped for no scope or a scope of one team.
func checkPrecomputed(t *testing.T, e *metrics.Engine, sc Scenario) {
	t.Helper()
	ctx := context.Background()
	if len(sc.Queries) == 0 {
		return
	}
	for _, name := range []string{sc.Queries[0].Period} {
		p, err := e.ParsePeriod(name)
		if err != nil {
			t.Fatal(err)
		}
		live := func(gb string, scope []string) (metrics.Scorecard, string) {
			t.Helper()
			s, err := e.Scorecard(ctx, metrics.ScorecardQuery{Period: p, GroupBy: gb, Scope: metrics.Scope{Teams: scope}})
			if err != nil {
				t.Fatalf("%s by %q scope %v: %v", name, gb, scope, err)
			}
			at := s.PrecomputedAt
			s.PrecomputedAt = nil
			b, err := json.MarshalIndent(s, "", " ")
			if err != nil {
				t.Fatal(err)
			}
			if at != nil {
				return s, "precomputed\n" + string(b)
			}
			return s, string(b)
		}
		byTeam, first := live("team", nil)
		if strings.HasPrefix(first, "precomputed") {
			t.Fatalf("%s: answered from a precomputed pass before any was computed", name)
		}
		teams := byTeam.GroupKeys()
		scopes := [][]string{nil, {"no-such-team"}}
		for _, tm := range teams[:min(len(teams), 4)] {
			scopes = append(scopes, []string{tm})
		}
		if len(teams) > 2 {
			scopes = append(scopes, teams[1:])
		}
		if len(teams) > 1 {
			scopes = append(scopes, teams)
		}
		type ask struct {
			gb    string
			scope []string
		}
		want := map[int]string{}
		var asks []ask
		for _, s := range scopes {
			asks = append(asks, ask{"team", s})
		}
		for _, s := range scopes {
			asks = append(asks, ask{"", s})
		}
		for i, a := range asks {
			if a.gb == "team" && a.scope == nil {
				want[i] = first
				continue
			}
			_, want[i] = live(a.gb, a.scope)
		}
		for _, gb := range []string{"team", ""} {
			if _, err := e.Precompute(ctx, p, gb); err != nil {
				t.Fatalf("precompute %s by %q: %v", name, gb, err)
			}
		}
		for i, a := range asks {
			_, got := live(a.gb, a.scope)
			served := a.gb == "team" || len(a.scope) <= 1
			if strings.HasPrefix(got, "precomputed") != served {
				t.Errorf("%s by %q scope %v: answered from the precomputed pass: %v, want %v", name, a.gb, a.scope, !served, served)
			}
			got = strings.TrimPrefix(got, "precomputed\n")
			if diff := cmp.Diff(strings.Split(want[i], "\n"), strings.Split(got, "\n")); diff != "" {
				t.Errorf("%s by %q scope %v: precomputed answer differs from the computed one (-computed +precomputed):\n%s", name, a.gb, a.scope, diff)
			}
		}
	}
}

// TestPrecomputedFollowsTheData checks the refresh cycle serve runs: the
// configured scorecards are precomputed, a write makes the next answer a
// computed one with the new data, and the next refresh precomputes again
// with the same values as a computed answer.
func TestPrecomputedFollowsTheData(t *testing.T) {
	sc, db := loadScenario(t, "../fixtures/team_scope")
	now := time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)
	e, err := metrics.New(db, sc.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.Now = func() time.Time { return now }
	ctx := context.Background()
	q3, _ := e.ParsePeriod("2026-Q3")
	q := metrics.ScorecardQuery{Period: q3, GroupBy: "team", Scope: metrics.Scope{Teams: []string{"payments"}}}

	// The default configuration keeps the last complete quarter by team.
	if err := e.RefreshPrecomputed(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := e.Scorecard(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if before.PrecomputedAt == nil || !before.PrecomputedAt.Equal(now) {
		t.Fatalf("precomputed_at %v, want %v", before.PrecomputedAt, now)
	}
	// Answers share the kept pass: concurrent ones (run with -race in CI)
	// must not write to it.
	var wg sync.WaitGroup
	for _, scope := range [][]string{nil, {"payments"}, {"identity"}, {"payments", "identity"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := e.Scorecard(ctx, metrics.ScorecardQuery{Period: q3, GroupBy: "team", Scope: metrics.Scope{Teams: scope}})
			if err != nil || s.PrecomputedAt == nil {
				t.Errorf("scope %v: precomputed_at %v, err %v", scope, s.PrecomputedAt, err)
			}
		}()
	}
	wg.Wait()
	other, _ := e.ParsePeriod("2026-Q2")
	if s, err := e.Scorecard(ctx, metrics.ScorecardQuery{Period: other, GroupBy: "team"}); err != nil || s.PrecomputedAt != nil {
		t.Fatalf("2026-Q2 is not configured, but precomputed_at %v (err %v)", s.PrecomputedAt, err)
	}

	// A poller's run that found nothing new writes only its ingest state:
	// the pass stays in use, with the freshness of the request.
	s := ingest.NewStore(db, nil)
	s.Now = func() time.Time { return now }
	if err := s.Succeeded(ctx, "pd", "pagerduty", now, 0); err != nil {
		t.Fatal(err)
	}
	e.InvalidateVersion()
	polled, err := e.Scorecard(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if polled.PrecomputedAt == nil {
		t.Fatal("an ingest-state write made the precomputed pass unusable")
	}
	if !slices.ContainsFunc(polled.Freshness, func(f metrics.Freshness) bool { return f.SourceType == "pagerduty" && f.LastSuccess != nil }) {
		t.Fatalf("freshness not read at the request: %+v", polled.Freshness)
	}

	// A new payments alert closed in Q3: a true positive.
	if err := s.SaveAlerts(ctx, []ingest.Alert{{
		Source: "webhook:soar", ID: "a9", RuleID: "r9", Severity: ingest.High, Team: "payments",
		Created: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), Closed: time.Date(2026, 8, 2, 0, 0, 0, 0, time.UTC),
		Disposition: ingest.DispositionTruePositive,
	}}); err != nil {
		t.Fatal(err)
	}
	e.InvalidateVersion() // as the API does after a write; another process's write is seen within a second
	after, err := e.Scorecard(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if after.PrecomputedAt != nil {
		t.Fatal("answered from a pass precomputed before the write")
	}
	if a, b := closedAlerts(t, before), closedAlerts(t, after); b != a+1 {
		t.Fatalf("detection_precision n after the write %d, want %d", b, a+1)
	}

	if err := e.RefreshPrecomputed(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := e.Scorecard(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if again.PrecomputedAt == nil {
		t.Fatal("not precomputed again after the refresh")
	}
	again.PrecomputedAt = nil
	if diff := cmp.Diff(after, again); diff != "" {
		t.Fatalf("refreshed precomputed answer differs from the computed one (-computed +precomputed):\n%s", diff)
	}

	// serve's loop precomputes at start and returns when its context ends.
	cfg := sc.Config
	cfg.Precompute.Interval = 20 * time.Millisecond
	e2, err := metrics.New(db, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	e2.Now = e.Now
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e2.KeepPrecomputed(lctx)
	}()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		s, err := e2.Scorecard(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if s.PrecomputedAt != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("KeepPrecomputed did not precompute the last complete quarter within 2 minutes")
		}
	}
	stop()
	<-done
}

// closedAlerts returns detection_precision's unclassified-share n (alerts
// closed in the period) of the payments group.
func closedAlerts(t *testing.T, s metrics.Scorecard) uint64 {
	t.Helper()
	for _, r := range s.Results {
		if r.KPI != "detection_precision@1" {
			continue
		}
		for _, g := range r.Groups {
			for _, v := range g.Values {
				if g.Key == "payments" && v.Measure == "unclassified_share" && v.Slice == "all" {
					return v.N
				}
			}
		}
	}
	t.Fatal("no detection_precision value for payments")
	return 0
}
