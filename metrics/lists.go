package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

const (
	defaultLimit = 100
	maxLimit     = 100_000
)

// listPlan checks a list query and returns its one-period plan and the
// bound limit.
func listPlan(q ListQuery) (plan, any, error) {
	if !q.Period.From.Before(q.Period.To) {
		return plan{}, nil, inputErr("period", "missing or empty period")
	}
	if err := q.Filter.validate(); err != nil {
		return plan{}, nil, err
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = defaultLimit
	case limit < 0 || limit > maxLimit:
		return plan{}, nil, inputErr("limit", fmt.Sprintf("%d: want 1–%d", limit, maxLimit))
	}
	return newPlan(q.Period, false, 0), clickhouse.Named("limit", uint32(limit)), nil
}

func dateOrNil(t time.Time) *time.Time {
	if t.Unix() <= 0 {
		return nil
	}
	t = t.UTC()
	return &t
}

// OverdueFindings lists open findings past their due date at the period
// end (status none), most overdue first, in scope. It returns an
// *InputError for a bad period, filter or limit.
func (e *Engine) OverdueFindings(ctx context.Context, q ListQuery) ([]OverdueFinding, error) {
	pl, limit, err := listPlan(q)
	if err != nil {
		return nil, err
	}
	sql, err := e.statesSQL("overdue_findings.sql", len(pl.periods), statesOpts{Group: "''", Open: true})
	if err != nil {
		return nil, err
	}
	var rows []struct {
		OverdueFinding
		KEVFlag bool `ch:"kev"`
	}
	args := concat(periodArgs(pl.periods), filterArgs(q.Filter, q.Scope), e.cfg.SLA.DueArgs(), []any{limit})
	if err := e.db.Select(ctx, &rows, sql, args...); err != nil {
		return nil, fmt.Errorf("overdue findings: %w", err)
	}
	out := make([]OverdueFinding, len(rows))
	for i, r := range rows {
		out[i] = r.OverdueFinding
		out[i].KEV = r.KEVFlag
		out[i].FirstSeen, out[i].Due = out[i].FirstSeen.UTC(), out[i].Due.UTC()
	}
	return out, nil
}

// OverdueTeams lists teams by open-overdue findings at the period end, most
// first, in scope.
func (e *Engine) OverdueTeams(ctx context.Context, q ListQuery) ([]TeamOverdue, error) {
	pl, limit, err := listPlan(q)
	if err != nil {
		return nil, err
	}
	sql, err := e.statesSQL("overdue_teams.sql", len(pl.periods), statesOpts{Group: "''", Open: true})
	if err != nil {
		return nil, err
	}
	out := []TeamOverdue{}
	args := concat(periodArgs(pl.periods), filterArgs(q.Filter, q.Scope), e.cfg.SLA.DueArgs(), []any{limit})
	if err := e.db.Select(ctx, &out, sql, args...); err != nil {
		return nil, fmt.Errorf("overdue teams: %w", err)
	}
	return out, nil
}

// UncoveredAssets lists in-scope assets (scan_coverage's denominator)
// without a recent successful scan of every required kind at the period
// end, by tier (unknown last), team and asset.
func (e *Engine) UncoveredAssets(ctx context.Context, q ListQuery) ([]UncoveredAsset, error) {
	pl, limit, err := listPlan(q)
	if err != nil {
		return nil, err
	}
	sql, err := render("scan_coverage.sql", tmplData{Group: "''", List: true})
	if err != nil {
		return nil, err
	}
	var rows []struct {
		UncoveredAsset
		Last time.Time `ch:"last_scan"`
	}
	args := concat(periodArgs(pl.periods), filterArgs(q.Filter, q.Scope), e.coverageArgs(), []any{limit})
	if err := e.db.Select(ctx, &rows, sql, args...); err != nil {
		return nil, fmt.Errorf("uncovered assets: %w", err)
	}
	out := make([]UncoveredAsset, len(rows))
	for i, r := range rows {
		out[i] = r.UncoveredAsset
		out[i].LastScan = dateOrNil(r.Last)
	}
	return out, nil
}

// NoisiestRules lists detection rules by closed alerts in the period that
// were not true positives, noisiest first, in scope.
func (e *Engine) NoisiestRules(ctx context.Context, q ListQuery) ([]RuleStat, error) {
	pl, limit, err := listPlan(q)
	if err != nil {
		return nil, err
	}
	sql, err := workSQL("detection_precision.sql", "rows_alerts.sql", closedInPeriods, "''", true)
	if err != nil {
		return nil, err
	}
	out := []RuleStat{}
	args := append(workArgs(pl, q.Filter, q.Scope), clickhouse.Named("benign_true", boolInt(e.cfg.BenignCountsAsTrue)), limit)
	if err := e.db.Select(ctx, &out, sql, args...); err != nil {
		return nil, fmt.Errorf("noisiest rules: %w", err)
	}
	for i := range out {
		tp := out[i].TruePositive
		if e.cfg.BenignCountsAsTrue {
			tp += out[i].BenignPositive
		}
		out[i].Precision = ratio(tp, out[i].TruePositive+out[i].BenignPositive+out[i].FalsePositive)
	}
	return out, nil
}

// ExploitableFindings lists the open exploitable findings at the period
// end, KEV first, then by EPSS, in scope.
func (e *Engine) ExploitableFindings(ctx context.Context, q ListQuery) ([]ExploitableFinding, error) {
	pl, limit, err := listPlan(q)
	if err != nil {
		return nil, err
	}
	sql, err := e.statesSQL("exploitable_backlog.sql", len(pl.periods), statesOpts{Group: "''", List: true, Open: true})
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ExploitableFinding
		KEVFlag bool `ch:"kev"`
	}
	args := concat(periodArgs(pl.periods), filterArgs(q.Filter, q.Scope), e.cfg.SLA.DueArgs(),
		[]any{clickhouse.Named("epss_threshold", e.cfg.EPSSThreshold), limit})
	if err := e.db.Select(ctx, &rows, sql, args...); err != nil {
		return nil, fmt.Errorf("exploitable findings: %w", err)
	}
	out := make([]ExploitableFinding, len(rows))
	for i, r := range rows {
		out[i] = r.ExploitableFinding
		out[i].KEV = r.KEVFlag
		out[i].FirstSeen = out[i].FirstSeen.UTC()
	}
	return out, nil
}
