package metrics_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

// TestDueSQLMatchesGo checks that the SQL due date and the Go one agree on
// every case of a grid of policies and inputs.
func TestDueSQLMatchesGo(t *testing.T) {
	db := chtest.New(t)
	ctx := context.Background()
	expr := metrics.DueSQL(metrics.DueColumns{FirstSeen: "fs", LastReopen: "ro", Severity: "sev", Tier: "tier", KEV: "kev", KEVDue: "kdue"})
	// One query per policy: the cases are bound as parallel arrays.
	query := "SELECT " + expr + ` AS due FROM (
		SELECT arrayJoin(arrayEnumerate(@c_fs)) AS i, @c_fs[i] AS fs, @c_ro[i] AS ro, toUInt8(@c_sev[i]) AS sev,
			toUInt8(@c_tier[i]) AS tier, toUInt8(@c_kev[i]) AS kev, @c_kdue[i] AS kdue) ORDER BY i`
	policies := []metrics.SLAPolicy{
		{},
		{KEVDueDateCap: true, RestartOnReopen: true},
		{Days: map[string]int{"low": -1, "info": 365}, Tiers: map[int]map[string]int{1: {"critical": 3, "high": 14}, 0: {"medium": 60}}, KEVSLA: "high"},
		{KEVSLA: "none", KEVDueDateCap: true},
	}
	fs := utc("2026-07-01T10:00:00Z")
	epoch := time.Unix(0, 0).UTC()
	sevs := []string{"unknown", "info", "low", "medium", "high", "critical"}
	n := 0
	for pi, p := range policies {
		p = withDefaults(p)
		var cFS, cRO, cKdue []time.Time
		var cSev, cTier, cKev []int32
		var want []time.Time
		var names []string
		for sc, sev := range sevs {
			for tier := 0; tier <= 4; tier++ {
				for _, kev := range []bool{false, true} {
					for _, reopen := range []time.Time{{}, utc("2026-08-01T00:00:00Z")} {
						for _, kdue := range []time.Time{{}, utc("2026-07-03T00:00:00Z")} {
							in := metrics.DueInput{FirstSeen: fs, LastReopen: reopen, Severity: sev, Tier: tier, KEV: kev, KEVDue: kdue}
							ro, kdueEnd := epoch, epoch
							if !reopen.IsZero() {
								ro = reopen
							}
							if !kdue.IsZero() {
								kdueEnd = kdue.AddDate(0, 0, 1)
							}
							d, ok := p.Due(in)
							if !ok {
								d = epoch
							}
							cFS, cRO, cKdue = append(cFS, fs), append(cRO, ro), append(cKdue, kdueEnd)
							cSev, cTier, cKev = append(cSev, int32(sc)), append(cTier, int32(tier)), append(cKev, int32(b2i(kev)))
							want = append(want, d)
							names = append(names, fmt.Sprintf("policy %d %s tier %d kev %v reopen %v kev due %v", pi, sev, tier, kev, !reopen.IsZero(), !kdue.IsZero()))
						}
					}
				}
			}
		}
		var rows []struct {
			Due time.Time `ch:"due"`
		}
		args := append(p.DueArgs(), clickhouse.Named("c_fs", cFS), clickhouse.Named("c_ro", cRO), clickhouse.Named("c_kdue", cKdue),
			clickhouse.Named("c_sev", cSev), clickhouse.Named("c_tier", cTier), clickhouse.Named("c_kev", cKev))
		if err := db.Select(ctx, &rows, query, args...); err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(want) {
			t.Fatalf("policy %d: %d rows, want %d", pi, len(rows), len(want))
		}
		for i, r := range rows {
			if !r.Due.Equal(want[i]) {
				t.Errorf("%s: SQL %s, Go %s", names[i], r.Due, want[i])
			}
			n++
		}
	}
	t.Logf("%d cases agree", n)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPercentileSQLMatchesGo loads fixed findings with random remediation
// times and compares the engine's P50/P90/mean with the Go reference.
func TestPercentileSQLMatchesGo(t *testing.T) {
	db := chtest.New(t)
	r := rand.New(rand.NewPCG(1, 2))
	var events []map[string]any
	var days []float64
	for i := range 37 {
		fs := utc("2026-06-01T00:00:00Z").Add(time.Duration(r.IntN(30*86400)) * time.Second)
		fix := utc("2026-07-01T00:00:00Z").Add(time.Duration(r.IntN(90*86400)) * time.Second)
		days = append(days, fix.Sub(fs).Seconds()/86400)
		id := fmt.Sprintf("p%d", i)
		events = append(events,
			map[string]any{"finding_id": id, "event_time": fs.Format(time.RFC3339), "event_type": "detected", "severity": "high", "asset": "a"},
			map[string]any{"finding_id": id, "event_time": fix.Format(time.RFC3339), "event_type": "fixed", "severity": "high", "asset": "a"})
	}
	load(t, db, Rows{"finding_events": events})
	e, err := metrics.New(db, metrics.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := e.ParsePeriod("2026-Q3")
	res, err := e.Compute(context.Background(), metrics.Query{KPI: "vuln_mttr", Period: p})
	if err != nil {
		t.Fatal(err)
	}
	sort.Float64s(days)
	sum := 0.0
	for _, d := range days {
		sum += d
	}
	want := map[string]float64{"p50": metrics.PercentileInc(days, 0.5), "p90": metrics.PercentileInc(days, 0.9), "mean": sum / float64(len(days))}
	checked := 0
	for _, v := range res.Groups[0].Values {
		if v.Slice != "all" {
			continue
		}
		if v.N != uint64(len(days)) || v.Value == nil || math.Abs(*v.Value-want[v.Measure]) > 1e-9 {
			t.Errorf("%s: got %v (n %d), want %g (n %d)", v.Measure, v.Value, v.N, want[v.Measure], len(days))
		}
		checked++
	}
	if checked != 3 {
		t.Errorf("checked %d measures, want 3", checked)
	}
}
