package metrics

import (
	"context"
	"fmt"
)

// KMRow is one distinct duration of a Kaplan–Meier sample: how many
// findings were fixed (events) and how many were still open (censored)
// after exactly Seconds.
type KMRow struct {
	Seconds  float64
	Events   uint64
	Censored uint64
}

// KaplanMeier returns the survival curve of rows sorted by duration: after
// each duration tᵢ, S(tᵢ) = ∏ over tⱼ ≤ tᵢ of (1 − dⱼ/nⱼ), where nⱼ counts
// every finding whose duration is ≥ tⱼ (a finding censored at tⱼ is still
// at risk at tⱼ). It also returns the median (smallest t with S(t) ≤ 0.5)
// and P90 (smallest t with S(t) ≤ 0.1), in seconds; ok is false when not
// reached.
func KaplanMeier(rows []KMRow) (points []SurvivalPoint, median, p90 float64, medianOK, p90OK bool) {
	var atRisk uint64
	for _, r := range rows {
		atRisk += r.Events + r.Censored
	}
	s := 1.0
	for _, r := range rows {
		if r.Events > 0 {
			s *= 1 - float64(r.Events)/float64(atRisk)
		}
		points = append(points, SurvivalPoint{Days: r.Seconds / secondsPerDay, AtRisk: atRisk, Events: r.Events, Censored: r.Censored, Survival: s})
		if r.Events > 0 {
			if !medianOK && s <= 0.5 {
				median, medianOK = r.Seconds, true
			}
			if !p90OK && s <= 0.1 {
				p90, p90OK = r.Seconds, true
			}
		}
		atRisk -= r.Events + r.Censored
	}
	return points, median, p90, medianOK, p90OK
}

// survival computes vuln_ttr_survival from grouped durations.
func (e *Engine) survival(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	sql, err := statesSQL("vuln_ttr_survival.sql", groupExpr("findings", groupBy, d), "", false)
	if err != nil {
		return computed{}, err
	}
	var rows []struct {
		PI       uint32 `ch:"pi"`
		G        string `ch:"g"`
		Slice    string `ch:"slice"`
		D        int64  `ch:"d"`
		Events   uint64 `ch:"events"`
		Censored uint64 `ch:"censored"`
	}
	if err := e.db.Select(ctx, &rows, sql, concat(periodArgs(pl.periods), filterArgs(f, s), e.cfg.SLA.DueArgs())...); err != nil {
		return computed{}, fmt.Errorf("survival: %w", err)
	}
	samples := map[cellKey][]KMRow{}
	var order []cellKey
	for _, r := range rows {
		k := cellKey{int(r.PI) - 1, r.G, r.Slice}
		if _, ok := samples[k]; !ok {
			order = append(order, k)
		}
		samples[k] = append(samples[k], KMRow{Seconds: float64(r.D), Events: r.Events, Censored: r.Censored})
	}
	c := computed{t: table{}, curves: map[cellKey]Curve{}}
	for _, k := range order {
		pts, med, p90, medOK, p90OK := KaplanMeier(samples[k])
		var n, ev, cens uint64
		for _, r := range samples[k] {
			n += r.Events + r.Censored
			ev += r.Events
			cens += r.Censored
		}
		c.t.set(k.pi, k.g, k.slice, "median", reached(med, medOK), n)
		c.t.set(k.pi, k.g, k.slice, "p90", reached(p90, p90OK), n)
		c.t.set(k.pi, k.g, k.slice, "events", num(float64(ev)), ev)
		c.t.set(k.pi, k.g, k.slice, "censored", num(float64(cens)), cens)
		c.curves[k] = Curve{Slice: k.slice, Points: pts}
	}
	return c, nil
}

func reached(sec float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return num(sec / secondsPerDay)
}
