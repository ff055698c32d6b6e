// Package reports presents the metrics engine's results to people: the
// QBR dashboard (an HTML page with ECharts charts), the QBR Excel workbook,
// CSV drill-down lists and scheduled exports (docs/reports.md).
//
// It never computes a KPI: every number comes from metrics as it is, and is
// only formatted here. Scope is never decided here either: the caller (the
// API, which authenticates the session, or the export configuration)
// passes the metrics.Scope, and every query carries it.
//
// Everything derived from data (team, asset and rule names) is untrusted
// text: it is HTML-escaped in pages, JSON-escaped with <, > and & as
// \u003c, \u003e, \u0026 and "__f__" neutralized in chart options, and
// neutralized against formula injection in workbooks and CSV (SafeText).
package reports

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/metrics"
)

// Engine is what reports read: the metrics engine. *metrics.Engine
// implements it; tests and benchmarks substitute lists.
type Engine interface {
	Compute(ctx context.Context, q metrics.Query) (metrics.Result, error)
	Scorecard(ctx context.Context, q metrics.ScorecardQuery) (metrics.Scorecard, error)
	OverdueFindings(ctx context.Context, q metrics.ListQuery) ([]metrics.OverdueFinding, error)
	UncoveredAssets(ctx context.Context, q metrics.ListQuery) ([]metrics.UncoveredAsset, error)
	NoisiestRules(ctx context.Context, q metrics.ListQuery) ([]metrics.RuleStat, error)
	ExploitableFindings(ctx context.Context, q metrics.ListQuery) ([]metrics.ExploitableFinding, error)
	ParsePeriod(s string) (metrics.Period, error)
	QuarterContaining(t time.Time) (metrics.Period, error)
	Location() *time.Location
	Config() metrics.Config
}

var _ Engine = (*metrics.Engine)(nil)

// Options configures Reports.
type Options struct {
	// Version is the service version written into workbooks and pages.
	Version string
	// Now is the clock (generation times, the default period); default
	// time.Now.
	Now func() time.Time
	Log *slog.Logger
	// AssetsPath is the path the service serves AssetsHandler at, as the
	// page's links name it (go-echarts' AssetsHost); default
	// "/reports/assets/".
	AssetsPath string
}

// Reports renders dashboards, workbooks and CSV from an Engine. It is safe
// for concurrent use.
type Reports struct {
	e       Engine
	version string
	now     func() time.Time
	log     *slog.Logger
	assets  string
}

// New returns Reports reading from e.
func New(e Engine, o Options) *Reports {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.AssetsPath == "" {
		o.AssetsPath = "/reports/assets/"
	}
	if !strings.HasSuffix(o.AssetsPath, "/") {
		o.AssetsPath += "/"
	}
	return &Reports{e: e, version: o.Version, now: o.Now, log: o.Log, assets: o.AssetsPath}
}

// DefaultPeriod is the period a QBR shows when the request names none: the
// last complete quarter (calendar or fiscal, in the reporting time zone).
func (r *Reports) DefaultPeriod() (metrics.Period, error) {
	p, err := r.e.QuarterContaining(r.now())
	if err != nil {
		return metrics.Period{}, err
	}
	return p.Previous(), nil
}

// Location returns the reporting time zone: every time in a page, workbook
// or CSV is written in it.
func (r *Reports) Location() *time.Location { return r.e.Location() }

// ParsePeriod parses a period name as the engine does (its reporting time
// zone and fiscal year).
func (r *Reports) ParsePeriod(s string) (metrics.Period, error) { return r.e.ParsePeriod(s) }

// TrendPeriods is how many periods (the reported one included) the trend
// charts and tables show: 8 quarters for a quarter.
const TrendPeriods = 8

// listLimit is how many rows the workbook asks of each drill-down list:
// the most metrics.ListQuery allows.
const listLimit = 100_000

// pageListLimit is how many rows of each drill-down list the dashboard
// shows; the full list is one click away.
const pageListLimit = 15

// qbr is everything a dashboard or workbook shows for one period and scope.
type qbr struct {
	Period    metrics.Period
	Previous  metrics.Period
	Scope     metrics.Scope
	Filter    metrics.Filter
	Generated time.Time
	// Results holds one result per KPI, in catalog order, compared with the
	// previous period and with TrendPeriods trend points.
	Results []metrics.Result
	// Teams is the scorecard grouped by team, over every team of the scope
	// (the team filter does not apply: it is the comparison).
	Teams    metrics.Scorecard
	Coverage metrics.Result // scan_coverage grouped by tier
	Fresh    []metrics.Freshness
	Stale    bool

	// The drill-down lists, read by collect for the dashboard only.
	Overdue     []metrics.OverdueFinding
	Uncovered   []metrics.UncoveredAsset
	Rules       []metrics.RuleStat
	Exploitable []metrics.ExploitableFinding
}

// collect reads everything a QBR shows: every KPI with trend and
// comparison, the scorecard by team, coverage by tier and, when limit > 0,
// the four drill-down lists (limit rows each; the workbook reads its lists
// one at a time while it writes them instead, see writeWorkbook). A zero
// period means DefaultPeriod. It returns a *metrics.InputError for a bad
// period or filter, as Compute would for any KPI.
func (r *Reports) collect(ctx context.Context, p metrics.Period, scope metrics.Scope, f metrics.Filter, limit int) (*qbr, error) {
	if p.From.IsZero() && p.To.IsZero() {
		var err error
		if p, err = r.DefaultPeriod(); err != nil {
			return nil, err
		}
	}
	q := &qbr{Period: p, Previous: p.Previous(), Scope: scope, Filter: f, Generated: r.now()}
	// One scorecard with the trend, not one Compute per KPI: the six
	// vulnerability KPIs share one pass over finding_events there, where
	// six Computes ran that pass (and decoded its survival arrays, about
	// 100 MB over 1M findings) six times, three at once.
	sc, err := r.e.Scorecard(ctx, metrics.ScorecardQuery{Period: p, Trend: TrendPeriods, Filter: f, Scope: scope})
	if err != nil {
		return nil, err
	}
	for _, res := range sc.Results {
		if len(res.UnappliedFilters) > 0 {
			d := definition(res)
			return nil, &metrics.InputError{Field: "filter", Message: d.ID + " cannot be filtered by " + strings.Join(res.UnappliedFilters, ", ") +
				" (its dimensions: " + strings.Join(d.GroupBys, ", ") + ")"}
		}
	}
	q.Results = sc.Results
	tf := f
	tf.Teams = nil // the comparison shows every team of the scope
	q.Teams, err = r.e.Scorecard(ctx, metrics.ScorecardQuery{Period: p, GroupBy: "team", Filter: tf, Scope: scope})
	if err != nil {
		return nil, fmt.Errorf("scorecard by team: %w", err)
	}
	q.Fresh, q.Stale = q.Teams.Freshness, q.Teams.Stale
	q.Coverage, err = r.e.Compute(ctx, metrics.Query{KPI: "scan_coverage", Period: p, GroupBy: "tier", Filter: f, Scope: scope})
	if err != nil {
		return nil, fmt.Errorf("coverage by tier: %w", err)
	}
	if limit <= 0 {
		return q, nil
	}
	lq := q.listQuery(limit)
	if q.Overdue, err = r.e.OverdueFindings(ctx, lq); err != nil {
		return nil, err
	}
	if q.Uncovered, err = r.e.UncoveredAssets(ctx, lq); err != nil {
		return nil, err
	}
	if q.Rules, err = r.e.NoisiestRules(ctx, lq); err != nil {
		return nil, err
	}
	if q.Exploitable, err = r.e.ExploitableFindings(ctx, lq); err != nil {
		return nil, err
	}
	return q, nil
}

// listQuery asks for a drill-down list of q's period, scope and filter.
func (q *qbr) listQuery(limit int) metrics.ListQuery {
	return metrics.ListQuery{Period: q.Period, Filter: q.Filter, Scope: q.Scope, Limit: limit}
}

// result returns the result of KPI name.
func (q *qbr) result(name string) metrics.Result {
	for _, r := range q.Results {
		if d, ok := metrics.Lookup(r.KPI); ok && d.Name == name {
			return r
		}
	}
	return metrics.Result{}
}

// value returns the value of measure in slice of the ungrouped group g
// (nil when absent).
func value(groups []metrics.Group, key, measure, slice string) *metrics.Value {
	for i := range groups {
		if groups[i].Key != key {
			continue
		}
		for j := range groups[i].Values {
			v := &groups[i].Values[j]
			if v.Measure == measure && v.Slice == slice {
				return v
			}
		}
	}
	return nil
}
