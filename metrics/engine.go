package metrics

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Compute computes one KPI for q.Period, with the previous period when
// q.Compare is set and a trend of q.Trend periods, all in one query per
// source. It returns an *InputError for an unknown KPI, a bad period, a bad
// group_by or a bad filter.
func (e *Engine) Compute(ctx context.Context, q Query) (Result, error) {
	d, err := e.check(q.KPI, q.Period, q.GroupBy, q.Filter)
	if err != nil {
		return Result{}, err
	}
	if q.Trend < 0 || q.Trend > 120 {
		return Result{}, inputErr("trend", fmt.Sprintf("%d: want 0–120 periods", q.Trend))
	}
	pl := newPlan(q.Period, q.Compare, q.Trend)
	out, err := e.compute(ctx, []Definition{d}, pl, q.GroupBy, q.Filter, q.Scope)
	if err != nil {
		return Result{}, err
	}
	r := e.finish(d, q, pl, out[d.Name])
	fresh, err := e.freshness(ctx)
	if err != nil {
		return Result{}, err
	}
	r.Freshness, r.Stale = e.freshnessFor(d, fresh)
	return r, nil
}

// Scorecard computes every KPI of the catalog for q.Period and its previous
// period (and q.Trend trend periods), in as few queries as the sources
// allow: one pass over finding_events for mttr, survival, SLA, backlog,
// reopen and secrets of all the periods, one for the exploitable backlog,
// and one per alert, ticket and coverage KPI. A scorecard kept
// precomputed for the current data (precompute.go) is answered from that
// pass instead, with the same values.
func (e *Engine) Scorecard(ctx context.Context, q ScorecardQuery) (Scorecard, error) {
	defs := Catalog()
	if _, err := e.check(defs[0].ID, q.Period, "", q.Filter); err != nil {
		return Scorecard{}, err
	}
	if q.GroupBy != "" && !slices.Contains(GroupBys, q.GroupBy) {
		return Scorecard{}, inputErr("group_by", quote(q.GroupBy)+" is not one of "+quoteList(GroupBys))
	}
	if q.Trend < 0 || q.Trend > 120 {
		return Scorecard{}, inputErr("trend", fmt.Sprintf("%d: want 0–120 periods", q.Trend))
	}
	out, pl, at, pre := e.fromPrecomputed(ctx, q)
	if !pre {
		pl = newPlan(q.Period, true, q.Trend)
		var err error
		if out, err = e.compute(ctx, defs, pl, q.GroupBy, q.Filter, q.Scope); err != nil {
			return Scorecard{}, err
		}
	}
	fresh, err := e.freshness(ctx)
	if err != nil {
		return Scorecard{}, err
	}
	sc := Scorecard{Period: pl.periods[pl.cur], Previous: pl.periods[pl.prev]}
	if pre {
		sc.PrecomputedAt = &at
	}
	for _, d := range defs {
		gb := q.GroupBy
		if gb != "" && !slices.Contains(d.GroupBys, gb) {
			gb = "" // a dimension the KPI lacks: reported ungrouped
		}
		r := e.finish(d, Query{KPI: d.ID, Period: q.Period, Compare: true, Trend: q.Trend, GroupBy: gb, Filter: q.Filter, Scope: q.Scope}, pl, out[d.Name])
		for _, dim := range q.Filter.dimensions() {
			if !slices.Contains(d.GroupBys, dim) {
				r.UnappliedFilters = append(r.UnappliedFilters, dim)
			}
		}
		r.Freshness, r.Stale = e.freshnessFor(d, fresh)
		sc.Results = append(sc.Results, r)
	}
	sc.Freshness, sc.Stale = e.freshnessAll(defs, fresh)
	return sc, nil
}

// computed is what one KPI's SQL produced.
type computed struct {
	t           table
	curves      map[cellKey]Curve // vuln_ttr_survival
	countBased  map[int]bool      // toil_ratio, per period index
	provisional bool
	toil        []toilRow // toil_ratio's rows, to decide its fallback again for a scope
}

// computeParallel bounds how many KPI statements run at once in one
// engine, whatever the number of requests: a request alone overlaps the
// vulnerability pass with the small statements, and under load requests
// wait for a slot rather than all slowing down together (32 concurrent
// scorecards with a per-request bound timed out on 2 cores).
const computeParallel = 3

// compute runs the SQL of defs for the periods of pl, sharing passes where
// KPIs share one; the statements run concurrently, within the engine's
// slots (computeParallel).
func (e *Engine) compute(ctx context.Context, defs []Definition, pl plan, groupBy string, f Filter, s Scope) (map[string]computed, error) {
	want := map[string]bool{}
	for _, d := range defs {
		want[d.Name] = true
	}
	gb := func(d Definition) string {
		if slices.Contains(d.GroupBys, groupBy) {
			return groupBy
		}
		return ""
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		out      = map[string]computed{}
		firstErr error
		slots    = e.slots
	)
	if slots == nil {
		slots = make(chan struct{}, computeParallel)
	}
	run := func(fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-slots }()
			if err := fn(); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	vuln := slices.IndexFunc(vulnKPIs, func(k string) bool { return want[k] })
	if vuln >= 0 {
		d, _ := Lookup(vulnKPIs[vuln])
		run(func() error {
			start := time.Now()
			ts, err := e.vulnPass(ctx, pl, gb(d), f, s)
			if err != nil {
				return err
			}
			e.log.Debug("kpi computed", "kpi", "vulnerability pass", "periods", len(pl.periods), "duration", time.Since(start))
			mu.Lock()
			defer mu.Unlock()
			for _, k := range vulnKPIs {
				if want[k] {
					out[k] = ts[k]
				}
			}
			return nil
		})
	}
	for _, d := range defs {
		if slices.Contains(vulnKPIs, d.Name) {
			continue
		}
		fn, ok := e.runners()[d.Name]
		if !ok {
			cancel()
			wg.Wait()
			return nil, fmt.Errorf("metrics: no implementation for %s", d.ID)
		}
		run(func() error {
			start := time.Now()
			c, err := fn(ctx, d, pl, gb(d), f, s)
			if err != nil {
				return fmt.Errorf("%s: %w", d.ID, err)
			}
			e.log.Debug("kpi computed", "kpi", d.ID, "periods", len(pl.periods), "duration", time.Since(start))
			mu.Lock()
			out[d.Name] = c
			mu.Unlock()
			return nil
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.markProvisional(out, pl)
	return out, nil
}

// markProvisional sets what depends on the clock rather than the data:
// reopen_rate is provisional within 60 days of the period end.
func (e *Engine) markProvisional(out map[string]computed, pl plan) {
	if c, ok := out["reopen_rate"]; ok {
		c.provisional = e.Now().Before(pl.periods[pl.cur].To.Add(reopenWindow))
		out["reopen_rate"] = c
	}
}

type runner func(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error)

func (e *Engine) runners() map[string]runner {
	return map[string]runner{
		"exploitable_backlog":               e.exploitable,
		"scan_coverage":                     e.coverage,
		"threat_model_coverage":             e.threatModels,
		"detection_precision":               e.precision,
		"mean_time_to_triage":               e.triage,
		"mean_time_to_contain":              e.contain,
		"toil_ratio":                        e.toil,
		"design_review_cycle_time":          e.cycleTime,
		"customer_escalation_time_to_close": e.cycleTime,
		"security_debt_burndown":            e.debt,
	}
}

// finish assembles a computed KPI into its Result.
func (e *Engine) finish(d Definition, q Query, pl plan, c computed) Result {
	r := e.assemble(d, q, pl, c.t)
	r.Provisional = c.provisional
	r.CountBased = c.countBased[pl.cur]
	if c.curves != nil {
		bySlice := q.GroupBy != "" && q.GroupBy == d.Slices
		for i := range r.Groups {
			g := &r.Groups[i]
			for k, cv := range c.curves {
				if k.pi != pl.cur {
					continue
				}
				if (bySlice && k.slice == g.Key) || (!bySlice && k.g == g.Key) {
					g.Curves = append(g.Curves, cv)
				}
			}
			slices.SortFunc(g.Curves, func(a, b Curve) int { return sliceOrder[a.Slice] - sliceOrder[b.Slice] })
		}
	}
	if d.Name == "vuln_ttr_survival" {
		markNotReached(r.Groups)
		for i := range r.Trend {
			markNotReached(r.Trend[i].Groups)
		}
	}
	note := ""
	switch {
	case r.Provisional:
		note = "provisional"
	case r.CountBased:
		note = "count_based"
	}
	if note != "" {
		for i := range r.Groups {
			for j := range r.Groups[i].Values {
				r.Groups[i].Values[j].Note = note
			}
		}
	}
	return r
}

func (e *Engine) check(kpi string, p Period, groupBy string, f Filter) (Definition, error) {
	d, ok := Lookup(kpi)
	if !ok {
		return Definition{}, inputErr("kpi", "unknown KPI "+quote(kpi))
	}
	if !p.From.Before(p.To) {
		return Definition{}, inputErr("period", "missing or empty period")
	}
	if groupBy != "" && !slices.Contains(d.GroupBys, groupBy) {
		return Definition{}, inputErr("group_by", quote(groupBy)+" is not one of "+quoteList(d.GroupBys)+" for "+d.ID)
	}
	if err := f.validate(); err != nil {
		return Definition{}, err
	}
	for _, dim := range f.dimensions() {
		if !slices.Contains(d.GroupBys, dim) {
			return Definition{}, inputErr("filter", d.ID+" cannot be filtered by "+dim+" (its dimensions: "+quoteList(d.GroupBys)+")")
		}
	}
	return d, nil
}

func (e *Engine) now() time.Time { return e.Now().UTC() }

// markNotReached notes survival percentiles that the curve never reached.
func markNotReached(gs []Group) {
	for i := range gs {
		for j := range gs[i].Values {
			v := &gs[i].Values[j]
			if (v.Measure == "median" || v.Measure == "p90") && v.Value == nil && v.N > 0 {
				v.Note = "not_reached"
			}
		}
	}
}
