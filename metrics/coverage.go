package metrics

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// coverageArgs binds what kpi/scan_coverage.sql needs besides the periods
// and filters.
func (e *Engine) coverageArgs() []any {
	req := make([][]string, 5)
	for tier := range req {
		ks, ok := e.cfg.Coverage.ByTier[tier]
		if !ok {
			ks = e.cfg.Coverage.RequiredKinds
		}
		req[tier] = nonNil(ks)
	}
	return []any{
		clickhouse.Named("window_s", uint32(e.cfg.Coverage.Window/time.Second)),
		clickhouse.Named("asset_kinds", nonNil(e.cfg.Coverage.AssetKinds)),
		clickhouse.Named("req_by_tier", req),
	}
}

// coverage computes scan_coverage per kind and overall.
func (e *Engine) coverage(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	sql, err := render("scan_coverage.sql", tmplData{Group: groupExpr("assets", groupBy, d)})
	if err != nil {
		return computed{}, err
	}
	var rows []struct {
		PI      uint32 `ch:"pi"`
		G       string `ch:"g"`
		Slice   string `ch:"slice"`
		N       uint64 `ch:"n"`
		Covered uint64 `ch:"covered"`
	}
	args := concat(periodArgs(pl.periods), filterArgs(f, s), e.coverageArgs())
	if err := e.db.Select(ctx, &rows, sql, args...); err != nil {
		return computed{}, err
	}
	c := computed{t: table{}}
	for _, r := range rows {
		c.t.set(int(r.PI)-1, r.G, r.Slice, "coverage", ratio(r.Covered, r.N), r.N)
	}
	return c, nil
}

// threatModels computes threat_model_coverage.
func (e *Engine) threatModels(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	sql, err := render("threat_model_coverage.sql", tmplData{Group: groupExpr("assets", groupBy, d)})
	if err != nil {
		return computed{}, err
	}
	var rows []struct {
		PI      uint32 `ch:"pi"`
		G       string `ch:"g"`
		N       uint64 `ch:"n"`
		Covered uint64 `ch:"covered"`
	}
	if err := e.db.Select(ctx, &rows, sql, concat(periodArgs(pl.periods), filterArgs(f, s))...); err != nil {
		return computed{}, err
	}
	c := computed{t: table{}}
	for _, r := range rows {
		c.t.set(int(r.PI)-1, r.G, "all", "coverage", ratio(r.Covered, r.N), r.N)
	}
	return c, nil
}
