package metrics

import (
	"context"
	"errors"
	"slices"
)

// errNotImplemented marks entry points whose implementation lands in a
// later commit.
var errNotImplemented = errors.New("metrics: not implemented yet")

// Compute computes one KPI for q.Period, with the previous period when
// q.Compare is set and a trend of q.Trend periods. It returns an
// *InputError for an unknown KPI, a bad period or a bad group_by.
func (e *Engine) Compute(ctx context.Context, q Query) (Result, error) {
	if _, err := e.check(q.KPI, q.Period, q.GroupBy); err != nil {
		return Result{}, err
	}
	return Result{}, errNotImplemented
}

// Scorecard computes every KPI of the catalog for q.Period and its previous
// period, in as few queries as the sources allow (one pass over
// finding_events for all vulnerability KPIs of both periods).
func (e *Engine) Scorecard(ctx context.Context, q ScorecardQuery) (Scorecard, error) {
	return Scorecard{}, errNotImplemented
}

// OverdueFindings lists open findings past their due date at the period
// end, most overdue first.
func (e *Engine) OverdueFindings(ctx context.Context, q ListQuery) ([]OverdueFinding, error) {
	return nil, errNotImplemented
}

// OverdueTeams lists teams by open-overdue count at the period end, most
// first.
func (e *Engine) OverdueTeams(ctx context.Context, q ListQuery) ([]TeamOverdue, error) {
	return nil, errNotImplemented
}

// UncoveredAssets lists in-scope assets without a recent successful scan of
// every required kind at the period end.
func (e *Engine) UncoveredAssets(ctx context.Context, q ListQuery) ([]UncoveredAsset, error) {
	return nil, errNotImplemented
}

// NoisiestRules lists detection rules by non-true-positive closed alerts in
// the period, noisiest first.
func (e *Engine) NoisiestRules(ctx context.Context, q ListQuery) ([]RuleStat, error) {
	return nil, errNotImplemented
}

// ExploitableFindings lists the open exploitable findings at the period
// end, highest EPSS first (KEV first on ties).
func (e *Engine) ExploitableFindings(ctx context.Context, q ListQuery) ([]ExploitableFinding, error) {
	return nil, errNotImplemented
}

func (e *Engine) check(kpi string, p Period, groupBy string) (Definition, error) {
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
	return d, nil
}
