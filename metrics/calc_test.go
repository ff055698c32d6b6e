package metrics_test

import (
	"math"
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/metrics"
)

func TestPercentileInc(t *testing.T) {
	// Expected values computed by hand: h = (n − 1)·p, interpolate.
	tests := []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{[]float64{15, 20, 35, 40, 50}, 0.5, 35},  // h = 2
		{[]float64{15, 20, 35, 40, 50}, 0.9, 46},  // h = 3.6: 40 + 0.6·10
		{[]float64{15, 20, 35, 40, 50}, 0.25, 20}, // h = 1
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},         // h = 1.5
		{[]float64{1, 2, 3, 4}, 0.9, 3.7},         // h = 2.7
		{[]float64{7}, 0.9, 7},                    // one value
		{[]float64{0, 10}, 0.9, 9},                // h = 0.9
		{[]float64{1, 1, 1, 100}, 0.5, 1},         // h = 1.5 between equal values
		{[]float64{2, 4, 8, 16, 32, 64}, 0.9, 48}, // h = 4.5: 32 + 0.5·32
		{[]float64{2, 4, 8, 16, 32, 64}, 0.5, 12}, // h = 2.5: 8 + 0.5·8
		{[]float64{2, 4, 8, 16, 32, 64}, 1, 64},   // h = 5
		{[]float64{2, 4, 8, 16, 32, 64}, 0, 2},    // h = 0
	}
	for _, tt := range tests {
		if got := metrics.PercentileInc(tt.xs, tt.p); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("PercentileInc(%v, %g) = %g, want %g", tt.xs, tt.p, got, tt.want)
		}
	}
	if !math.IsNaN(metrics.PercentileInc(nil, 0.5)) {
		t.Errorf("no values: want NaN")
	}
}

func TestStatusOf(t *testing.T) {
	pct := metrics.Measure{Name: "ratio", Kind: metrics.Ratio}
	pctl := metrics.Measure{Name: "p50", Kind: metrics.Percentile}
	cnt := metrics.Measure{Name: "open", Kind: metrics.Total}
	lt7 := &metrics.Target{Op: "<", Value: 7}
	gt90 := &metrics.Target{Op: ">", Value: 90}
	toil := &metrics.Target{Op: "<", Value: 30, Amber: 40}
	v := func(x float64) *float64 { return &x }
	tests := []struct {
		m    metrics.Measure
		v    *float64
		n    uint64
		t    *metrics.Target
		want metrics.Status
	}{
		{pctl, v(5), 10, lt7, metrics.Green},
		{pctl, v(7), 10, lt7, metrics.Amber}, // misses by 0
		{pctl, v(8.4), 10, lt7, metrics.Amber},
		{pctl, v(8.41), 10, lt7, metrics.Red},
		{pct, v(95), 10, gt90, metrics.Green},
		{pct, v(90), 10, gt90, metrics.Amber},
		{pct, v(72), 10, gt90, metrics.Amber}, // 90 − 20 % of 90
		{pct, v(71.9), 10, gt90, metrics.Red},
		{pct, v(29.9), 10, toil, metrics.Green},
		{pct, v(40), 10, toil, metrics.Amber}, // explicit amber bound
		{pct, v(40.1), 10, toil, metrics.Red},
		{pct, v(10), 4, gt90, metrics.InsufficientData},
		{pctl, v(1), 4, nil, metrics.InsufficientData},
		{pctl, nil, 0, lt7, metrics.InsufficientData},
		{pctl, v(1), 5, nil, metrics.NoTarget},
		{cnt, v(0), 0, nil, metrics.NoTarget},
		{cnt, v(3), 3, &metrics.Target{Op: "<", Value: 5}, metrics.Green},
	}
	for i, tt := range tests {
		if got := metrics.StatusOf(tt.m, tt.v, tt.n, tt.t); got != tt.want {
			t.Errorf("case %d: got %s, want %s", i, got, tt.want)
		}
	}
}

func TestKaplanMeier(t *testing.T) {
	day := 86400.0
	// Fixed after 1, 1, 2 and 4 days; still open after 2 and 3 days.
	// t=1: 6 at risk, 2 events: S = 4/6. t=2: 4 at risk (the one censored at
	// 2 is still at risk), 1 event: S = 4/6 · 3/4 = 0.5 → median 2 days.
	// t=3: censoring only. t=4: 1 at risk, 1 event: S = 0 → P90 4 days.
	rows := []metrics.KMRow{
		{Seconds: 1 * day, Events: 2},
		{Seconds: 2 * day, Events: 1, Censored: 1},
		{Seconds: 3 * day, Censored: 1},
		{Seconds: 4 * day, Events: 1},
	}
	pts, med, p90, medOK, p90OK := metrics.KaplanMeier(rows)
	if !medOK || med != 2*day || !p90OK || p90 != 4*day {
		t.Fatalf("median %v (%v), p90 %v (%v); want 2 and 4 days", med/day, medOK, p90/day, p90OK)
	}
	wantS := []float64{4.0 / 6, 0.5, 0.5, 0}
	wantRisk := []uint64{6, 4, 2, 1}
	for i, p := range pts {
		if math.Abs(p.Survival-wantS[i]) > 1e-12 || p.AtRisk != wantRisk[i] {
			t.Errorf("point %d: S %g at risk %d, want %g and %d", i, p.Survival, p.AtRisk, wantS[i], wantRisk[i])
		}
	}
	// Only censorings: nothing is reached.
	if _, _, _, medOK, p90OK := metrics.KaplanMeier([]metrics.KMRow{{Seconds: day, Censored: 3}}); medOK || p90OK {
		t.Errorf("all censored: want not reached")
	}
}

func TestSLADue(t *testing.T) {
	fs := utc("2026-07-01T00:00:00Z")
	def := metrics.Defaults().SLA
	custom := metrics.SLAPolicy{Days: map[string]int{"low": -1}, Tiers: map[int]map[string]int{1: {"high": 14}}, KEVSLA: "none"}
	custom = withDefaults(custom)
	capped := def
	capped.KEVDueDateCap = true
	restart := def
	restart.RestartOnReopen = true
	tests := []struct {
		name string
		p    metrics.SLAPolicy
		in   metrics.DueInput
		want string // "" = no SLA
	}{
		{"critical", def, metrics.DueInput{FirstSeen: fs, Severity: "critical", Tier: 1}, "2026-07-08T00:00:00Z"},
		{"high", def, metrics.DueInput{FirstSeen: fs, Severity: "high", Tier: 3}, "2026-07-31T00:00:00Z"},
		{"medium", def, metrics.DueInput{FirstSeen: fs, Severity: "medium"}, "2026-09-29T00:00:00Z"},
		{"low", def, metrics.DueInput{FirstSeen: fs, Severity: "low"}, "2026-12-28T00:00:00Z"},
		{"info has none", def, metrics.DueInput{FirstSeen: fs, Severity: "info"}, ""},
		{"unknown has none", def, metrics.DueInput{FirstSeen: fs, Severity: "unknown"}, ""},
		{"kev gets critical", def, metrics.DueInput{FirstSeen: fs, Severity: "medium", KEV: true}, "2026-07-08T00:00:00Z"},
		{"kev gives info an SLA", def, metrics.DueInput{FirstSeen: fs, Severity: "info", KEV: true}, "2026-07-08T00:00:00Z"},
		{"tier override", custom, metrics.DueInput{FirstSeen: fs, Severity: "high", Tier: 1}, "2026-07-15T00:00:00Z"},
		{"tier override elsewhere", custom, metrics.DueInput{FirstSeen: fs, Severity: "high", Tier: 2}, "2026-07-31T00:00:00Z"},
		{"removed severity", custom, metrics.DueInput{FirstSeen: fs, Severity: "low"}, ""},
		{"kev rule off", custom, metrics.DueInput{FirstSeen: fs, Severity: "medium", KEV: true}, "2026-09-29T00:00:00Z"},
		{"cap off", def, metrics.DueInput{FirstSeen: fs, Severity: "critical", KEV: true, KEVDue: utc("2026-07-03T00:00:00Z")}, "2026-07-08T00:00:00Z"},
		{"cap at end of due day", capped, metrics.DueInput{FirstSeen: fs, Severity: "critical", KEV: true, KEVDue: utc("2026-07-03T00:00:00Z")}, "2026-07-04T00:00:00Z"},
		{"cap later than SLA", capped, metrics.DueInput{FirstSeen: fs, Severity: "critical", KEV: true, KEVDue: utc("2026-08-01T00:00:00Z")}, "2026-07-08T00:00:00Z"},
		{"no restart", def, metrics.DueInput{FirstSeen: fs, LastReopen: utc("2026-08-01T00:00:00Z"), Severity: "critical"}, "2026-07-08T00:00:00Z"},
		{"restart on reopen", restart, metrics.DueInput{FirstSeen: fs, LastReopen: utc("2026-08-01T00:00:00Z"), Severity: "critical"}, "2026-08-08T00:00:00Z"},
	}
	for _, tt := range tests {
		got, ok := tt.p.Due(tt.in)
		switch {
		case tt.want == "" && ok:
			t.Errorf("%s: due %s, want none", tt.name, got)
		case tt.want != "" && (!ok || !got.Equal(utc(tt.want))):
			t.Errorf("%s: due %s (%v), want %s", tt.name, got, ok, tt.want)
		}
	}
}

// withDefaults fills a policy the way the engine's config does.
func withDefaults(p metrics.SLAPolicy) metrics.SLAPolicy {
	c := metrics.Config{SLA: p}
	e, err := metrics.New(nil, c, nil)
	if err != nil {
		panic(err)
	}
	return e.Config().SLA
}

var _ = time.Second
