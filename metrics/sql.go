package metrics

import (
	"bytes"
	"fmt"
	"slices"
	"text/template"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/secmetrics/secmetrics/queries"
)

// reopenWindow is the spec's reopen look-ahead after a fix.
const reopenWindow = 60 * 24 * time.Hour

// groupExprs maps a group_by name to its SQL expression, per row source.
// These are the only texts a request can select; an absent entry means the
// dimension is a KPI slice or does not apply ("" groups everything).
var groupExprs = map[string]map[string]string{
	// finding_states columns.
	"findings": {"": "''", "team": "team", "business_unit": "business_unit", "tier": "toString(tier)", "source": "scanner", "asset": "asset", "severity": "''"},
	// alert and ticket rows joined to their asset (see work KPIs).
	"work": {"": "''", "team": "team", "business_unit": "business_unit", "tier": "toString(tier)", "source": "source", "asset": "asset", "severity": "severity_name"},
	// asset rows (coverage).
	"assets": {"": "''", "team": "team", "business_unit": "business_unit", "tier": "toString(tier)", "asset": "asset"},
}

func groupExpr(rows, groupBy string, d Definition) string {
	if groupBy == d.Slices { // the KPI's own breakdown: grouped from slices
		groupBy = ""
	}
	e, ok := groupExprs[rows][groupBy]
	if !ok {
		return "''"
	}
	return e
}

// tmplData fills the template fields of the kpi/*.sql files.
type tmplData struct {
	Group, DueEnd, DueFix, States, Assets, Rows, Scope string
	// List selects a statement's drill-down form (one row per item).
	List bool
	// Restart is SLAPolicy.RestartOnReopen.
	Restart bool
	// Window is a condition on a work row source's columns (workSQL).
	Window string
	// Open keeps only the findings open at each period end (for the
	// statements that read nothing else: the exploitable backlog and the
	// overdue lists), which skips more than half the state rows.
	Open bool
	// P holds the period indexes 0 … n − 1 for the per-period loops.
	P []int
}

// render returns the statement kpi/<name>.sql with its template fields;
// Assets is always the asset_history fragment. Only constants and
// allowlisted expressions reach the text; values are bound parameters.
func render(name string, d tmplData) (string, error) {
	if name != "asset_history.sql" {
		d.Assets = queries.SQL("kpi/asset_history.sql")
	}
	funcs := template.FuncMap{
		// to and from are period i's bounds as bound-array elements.
		"to":   func(i int) string { return fmt.Sprintf("CAST(@tos AS Array(DateTime))[%d]", i+1) },
		"from": func(i int) string { return fmt.Sprintf("CAST(@froms AS Array(DateTime))[%d]", i+1) },
	}
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(queries.SQL("kpi/" + name))
	if err != nil {
		return "", fmt.Errorf("parse kpi/%s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render kpi/%s: %w", name, err)
	}
	return b.String(), nil
}

// statesOpts selects what a statement over kpi/finding_states.sql needs.
type statesOpts struct {
	// Group is the allowlisted group expression (groupExpr), "''" for none.
	Group string
	// List selects the statement's drill-down form.
	List bool
	// Open: the statement reads only findings open at the period end.
	Open bool
}

// statesSQL renders a vulnerability statement over kpi/finding_states.sql
// for n periods.
func (e *Engine) statesSQL(name string, n int, o statesOpts) (string, error) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	states, err := render("finding_states.sql", tmplData{
		Group: o.Group,
		DueEnd: DueSQL(DueColumns{FirstSeen: "first_seen", LastReopen: "reopen_end", Severity: "sev_end",
			Tier: "tier", KEV: "kev_end", KEVDue: "kev_due"}),
		DueFix: DueSQL(DueColumns{FirstSeen: "first_seen", LastReopen: "reopen_fix", Severity: "sev_fix",
			Tier: "tier_fix", KEV: "kev_fix", KEVDue: "kev_due"}),
		Restart: e.cfg.SLA.RestartOnReopen,
		P:       p,
		Open:    o.Open,
	})
	if err != nil {
		return "", err
	}
	return render(name, tmplData{States: states, List: o.List})
}

// periodArgs binds the periods (1-based pi in SQL is index+1 here).
func periodArgs(ps []Period) []any {
	froms := make([]time.Time, len(ps))
	tos := make([]time.Time, len(ps))
	var minFrom, minTo, maxTo time.Time
	for i, p := range ps {
		froms[i], tos[i] = p.From.UTC(), p.To.UTC()
		if minFrom.IsZero() || p.From.Before(minFrom) {
			minFrom = p.From
		}
		if p.To.After(maxTo) {
			maxTo = p.To
		}
		if minTo.IsZero() || p.To.Before(minTo) {
			minTo = p.To
		}
	}
	return []any{
		clickhouse.Named("froms", froms),
		clickhouse.Named("tos", tos),
		clickhouse.Named("from_min", minFrom.UTC()),
		clickhouse.Named("to_min", minTo.UTC()),
		clickhouse.Named("to_max", maxTo.UTC()),
	}
}

// filterArgs binds the scope and the filters.
func filterArgs(f Filter, s Scope) []any {
	// Small integers bind as []int32: a []uint8 would bind as a string.
	tiers := make([]int32, 0, len(f.Tiers))
	for _, t := range f.Tiers {
		tiers = append(tiers, int32(t))
	}
	sevs := make([]int32, 0, len(f.Severities))
	names := make([]string, 0, len(f.Severities))
	for _, s := range f.Severities {
		c, _ := severityCode(s)
		sevs = append(sevs, int32(c))
		names = append(names, s)
	}
	str := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	return []any{
		clickhouse.Named("scope", str(s.Teams)),
		clickhouse.Named("f_teams", str(f.Teams)),
		clickhouse.Named("f_bus", str(f.BusinessUnits)),
		clickhouse.Named("f_sources", str(f.Sources)),
		clickhouse.Named("f_assets", str(f.Assets)),
		clickhouse.Named("f_tiers", tiers),
		clickhouse.Named("f_sevs", sevs),
		clickhouse.Named("f_sev_names", names),
	}
}

// dimensions lists the dimensions f filters on.
func (f Filter) dimensions() []string {
	var out []string
	for _, d := range []struct {
		name string
		set  bool
	}{
		{"team", len(f.Teams) > 0}, {"business_unit", len(f.BusinessUnits) > 0}, {"tier", len(f.Tiers) > 0},
		{"severity", len(f.Severities) > 0}, {"source", len(f.Sources) > 0}, {"asset", len(f.Assets) > 0},
	} {
		if d.set {
			out = append(out, d.name)
		}
	}
	return out
}

func (f Filter) validate() error {
	var p problems
	for _, t := range f.Tiers {
		if t < 0 || t > 4 {
			p.add(fmt.Sprintf("tier %d: want 0–4", t))
		}
	}
	for _, s := range f.Severities {
		if _, ok := severityCode(s); !ok {
			p.add(fmt.Sprintf("severity %q: want one of %v", s, Severities))
		}
	}
	if len(p) > 0 {
		return &InputError{Field: "filter", Message: fmt.Sprint(p)}
	}
	return nil
}

func concat(parts ...[]any) []any { return slices.Concat(parts...) }

// Windows of work_scope.sql: a condition on the row source's columns that
// every row a statement reads meets, so rows outside all its periods are
// dropped before the asset join and the per-period copies.
const (
	closedInPeriods  = "closed >= @from_min AND closed < @to_max"
	createdInPeriods = "created >= @from_min AND created < @to_max"
)

// workSQL renders an alert or ticket statement over kpi/work_scope.sql with
// the row source rows ("rows_alerts.sql", ...) and window ("" for none).
func workSQL(name, rows, window, group string, list bool) (string, error) {
	scope, err := render("work_scope.sql", tmplData{Group: group, Rows: queries.SQL("kpi/" + rows), Window: window})
	if err != nil {
		return "", err
	}
	return render(name, tmplData{Scope: scope, List: list})
}
