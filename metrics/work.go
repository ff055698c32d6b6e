package metrics

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// workArgs binds what kpi/work_scope.sql needs.
func workArgs(pl plan, f Filter, s Scope) []any {
	return concat(periodArgs(pl.periods), filterArgs(f, s))
}

type pctRow struct {
	PI    uint32    `ch:"pi"`
	G     string    `ch:"g"`
	Slice string    `ch:"slice"`
	N     uint64    `ch:"n"`
	P     []float64 `ch:"p"`
}

// percentilesKPI runs a statement returning pctRow rows and fills p50 and
// p90 (measure names prefixed with prefix) in unit seconds per unit.
func (e *Engine) percentilesKPI(ctx context.Context, sql string, args []any, unit float64) (table, error) {
	var rows []pctRow
	if err := e.db.Select(ctx, &rows, sql, args...); err != nil {
		return nil, err
	}
	t := table{}
	for _, r := range rows {
		p50, p90 := pcts(r.P, r.N)
		t.set(int(r.PI)-1, r.G, r.Slice, "p50", scale(p50, unit), r.N)
		t.set(int(r.PI)-1, r.G, r.Slice, "p90", scale(p90, unit), r.N)
	}
	return t, nil
}

// precision computes detection_precision.
func (e *Engine) precision(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	sql, err := workSQL("detection_precision.sql", "rows_alerts.sql", closedInPeriods, groupExpr("work", groupBy, d), false)
	if err != nil {
		return computed{}, err
	}
	var rows []struct {
		PI         uint32 `ch:"pi"`
		G          string `ch:"g"`
		Slice      string `ch:"slice"`
		Closed     uint64 `ch:"closed"`
		Classified uint64 `ch:"classified"`
		TP         uint64 `ch:"tp"`
	}
	args := append(workArgs(pl, f, s), clickhouse.Named("benign_true", boolInt(e.cfg.BenignCountsAsTrue)))
	if err := e.db.Select(ctx, &rows, sql, args...); err != nil {
		return computed{}, err
	}
	c := computed{t: table{}}
	for _, r := range rows {
		pi := int(r.PI) - 1
		c.t.set(pi, r.G, r.Slice, "precision", ratio(r.TP, r.Classified), r.Classified)
		c.t.set(pi, r.G, r.Slice, "unclassified_share", ratio(r.Closed-r.Classified, r.Closed), r.Closed)
	}
	return c, nil
}

// triage computes mean_time_to_triage.
func (e *Engine) triage(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	sql, err := workSQL("mean_time_to_triage.sql", "rows_alerts.sql", createdInPeriods, groupExpr("work", groupBy, d), false)
	if err != nil {
		return computed{}, err
	}
	var rows []struct {
		pctRow
		Untriaged uint64 `ch:"untriaged"`
	}
	if err := e.db.Select(ctx, &rows, sql, workArgs(pl, f, s)...); err != nil {
		return computed{}, err
	}
	c := computed{t: table{}}
	for _, r := range rows {
		pi := int(r.PI) - 1
		p50, p90 := pcts(r.P, r.N)
		c.t.set(pi, r.G, r.Slice, "p50", scale(p50, 60), r.N)
		c.t.set(pi, r.G, r.Slice, "p90", scale(p90, 60), r.N)
		c.t.set(pi, r.G, r.Slice, "untriaged", num(float64(r.Untriaged)), r.Untriaged)
	}
	return c, nil
}

// contain computes mean_time_to_contain.
func (e *Engine) contain(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	sql, err := workSQL("mean_time_to_contain.sql", "rows_tickets.sql", "", groupExpr("work", groupBy, d), false)
	if err != nil {
		return computed{}, err
	}
	t, err := e.percentilesKPI(ctx, sql, workArgs(pl, f, s), secondsPerHour)
	return computed{t: t}, err
}

// cycleTime computes design_review_cycle_time and
// customer_escalation_time_to_close.
func (e *Engine) cycleTime(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	kind := map[string]string{"design_review_cycle_time": "design_review", "customer_escalation_time_to_close": "customer_escalation"}[d.Name]
	sql, err := workSQL("ticket_cycle_time.sql", "rows_tickets.sql", "", groupExpr("work", groupBy, d), false)
	if err != nil {
		return computed{}, err
	}
	args := append(workArgs(pl, f, s), clickhouse.Named("kind", kind), clickhouse.Named("tz", e.loc.String()))
	t, err := e.percentilesKPI(ctx, sql, args, secondsPerDay)
	return computed{t: t}, err
}

// debt computes security_debt_burndown.
func (e *Engine) debt(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	sql, err := workSQL("security_debt_burndown.sql", "rows_tickets.sql", "", groupExpr("work", groupBy, d), false)
	if err != nil {
		return computed{}, err
	}
	var rows []struct {
		PI       uint32 `ch:"pi"`
		G        string `ch:"g"`
		Created  uint64 `ch:"created"`
		Resolved uint64 `ch:"resolved"`
	}
	if err := e.db.Select(ctx, &rows, sql, workArgs(pl, f, s)...); err != nil {
		return computed{}, err
	}
	c := computed{t: table{}}
	for _, r := range rows {
		pi := int(r.PI) - 1
		c.t.set(pi, r.G, "all", "created", num(float64(r.Created)), r.Created)
		c.t.set(pi, r.G, "all", "resolved", num(float64(r.Resolved)), r.Resolved)
		c.t.set(pi, r.G, "all", "net", num(float64(r.Created)-float64(r.Resolved)), r.Created+r.Resolved)
	}
	return c, nil
}

// toil computes toil_ratio: hours when the period and group have worklog
// time, else resolved-ticket counts (CountBased).
func (e *Engine) toil(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	sql, err := workSQL("toil_ratio.sql", "rows_toil.sql", "", groupExpr("work", groupBy, d), false)
	if err != nil {
		return computed{}, err
	}
	var rows []toilRow
	args := append(workArgs(pl, f, s),
		clickhouse.Named("users", nonNil(e.cfg.Toil.SecurityUsers)),
		clickhouse.Named("triage_labels", nonNil(e.cfg.Toil.TriageLabels)))
	if err := e.db.Select(ctx, &rows, sql, args...); err != nil {
		return computed{}, err
	}
	return toilComputed(rows, len(pl.periods)), nil
}

// toilRow is one (period, group) row of kpi/toil_ratio.sql.
type toilRow struct {
	PI           uint32 `ch:"pi"`
	G            string `ch:"g"`
	ToilS        uint64 `ch:"toil_s"`
	AllS         uint64 `ch:"all_s"`
	Logs         uint64 `ch:"logs"`
	ToilResolved uint64 `ch:"toil_resolved"`
	AllResolved  uint64 `ch:"all_resolved"`
}

// toilComputed turns the rows of kpi/toil_ratio.sql for n periods into
// toil_ratio's values. The fallback is decided per period over the rows
// given (the whole scope): a period with any worklog time is hour-based in
// every group. The rows are kept so that a precomputed pass can decide it
// again for a narrower scope (computed.scoped).
func toilComputed(rows []toilRow, n int) computed {
	c := computed{t: table{}, countBased: map[int]bool{}, toil: rows}
	logged := map[int]bool{}
	for _, r := range rows {
		if r.AllS > 0 {
			logged[int(r.PI)-1] = true
		}
	}
	for i := range n {
		c.countBased[i] = !logged[i]
	}
	for _, r := range rows {
		pi := int(r.PI) - 1
		if logged[pi] {
			c.t.set(pi, r.G, "all", "ratio", ratio(r.ToilS, r.AllS), r.Logs)
		} else {
			c.t.set(pi, r.G, "all", "ratio", ratio(r.ToilResolved, r.AllResolved), r.AllResolved)
		}
	}
	return c
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
