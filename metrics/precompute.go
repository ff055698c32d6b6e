package metrics

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Precomputed scorecards.
//
// A scorecard computes every KPI from the event history; over millions of
// findings that takes seconds (docs/benchmarks.md). The service therefore
// keeps the scorecards a QBR asks for (Config.Precompute: by default the
// last complete quarter, by team) computed ahead of requests, for the
// current data version (DataVersion): serve runs KeepPrecomputed, which
// computes them again whenever an insert changed the data. Scorecard
// answers from a precomputed pass when the question is one of them and the
// data has not changed since; anything else is computed on request.
//
// A pass by team serves every scope: each team's values depend only on
// that team's rows (the scope is a set of teams and is applied to the same
// team column the pass groups by), so a scoped answer is the pass's groups
// of the scope's teams, and the ungrouped answer for a scope of one team
// is that team's group. The one value decided over the whole scope,
// toil_ratio's fallback to ticket counts, is decided again from the kept
// rows (computed.scoped). What depends on the clock rather than the data
// (freshness, reopen_rate's provisional flag) is evaluated at each request.

// PrecomputeConfig says which scorecards serve keeps computed ahead of
// requests.
type PrecomputeConfig struct {
	// Periods names the periods kept, relative to now in the reporting time
	// zone: previous_quarter (the last complete quarter, the period a QBR
	// shows by default), current_quarter, previous_month, current_month.
	// Default [previous_quarter]; an empty list turns precomputing off.
	Periods []string `yaml:"periods"`
	// GroupBy lists the groupings kept: team (serves callers of any scope)
	// and none (the ungrouped scorecard; serves callers who see every
	// team). Default [team].
	GroupBy []string `yaml:"group_by"`
	// Interval is how often serve checks the data version (default 10s);
	// a change is computed over once the version has stayed the same this
	// long. Negative turns precomputing off.
	Interval time.Duration `yaml:"interval"`
}

// PrecomputePeriods are the period names of PrecomputeConfig.Periods.
var PrecomputePeriods = []string{"previous_quarter", "current_quarter", "previous_month", "current_month"}

func (c PrecomputeConfig) withDefaults() PrecomputeConfig {
	if c.Periods == nil {
		c.Periods = []string{"previous_quarter"}
	}
	if c.GroupBy == nil {
		c.GroupBy = []string{"team"}
	}
	if c.Interval == 0 {
		c.Interval = 10 * time.Second
	}
	return c
}

func (c PrecomputeConfig) check(p *problems) {
	for _, n := range c.Periods {
		if !slices.Contains(PrecomputePeriods, n) {
			p.add(fmt.Sprintf("precompute.periods: %q is not one of %v", n, PrecomputePeriods))
		}
	}
	for _, g := range c.GroupBy {
		if g != "team" && g != "none" {
			p.add(fmt.Sprintf("precompute.group_by: %q: want team or none", g))
		}
	}
}

func (c PrecomputeConfig) enabled() bool {
	return c.Interval > 0 && len(c.Periods) > 0 && len(c.GroupBy) > 0
}

// precomputed holds the precomputed scorecard passes, by preKey.
type precomputed struct {
	mu sync.Mutex
	m  map[string]*preEntry
}

// preEntry is one precomputed scorecard pass: every KPI of a period and
// its previous period, over every team, grouped by team or not at all.
type preEntry struct {
	version string // the data version read before the pass started
	period  Period
	pl      plan
	out     map[string]computed
	at      time.Time
}

func preKey(p Period, groupBy string) string {
	return string(p.Kind) + "|" + p.Name + "|" + strconv.FormatInt(p.From.Unix(), 10) + "|" +
		strconv.FormatInt(p.To.Unix(), 10) + "|" + groupBy
}

func (pc *precomputed) get(key string) *preEntry {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.m[key]
}

func (pc *precomputed) put(key string, ent *preEntry) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.m == nil {
		pc.m = map[string]*preEntry{}
	}
	pc.m[key] = ent
}

// retain drops the entries whose key is not in keep.
func (pc *precomputed) retain(keep map[string]bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for k := range pc.m {
		if !keep[k] {
			delete(pc.m, k)
		}
	}
}

// Precompute computes the scorecard of period p (with its previous period)
// over every team, grouped by team (groupBy "team") or not at all (""),
// for the current data version, and keeps it for Scorecard. It returns how
// long the computation took.
func (e *Engine) Precompute(ctx context.Context, p Period, groupBy string) (time.Duration, error) {
	if groupBy != "" && groupBy != "team" {
		return 0, inputErr("group_by", quote(groupBy)+": a scorecard is precomputed by team or ungrouped")
	}
	if !p.From.Before(p.To) {
		return 0, inputErr("period", "missing or empty period")
	}
	// The version is read before the pass: a write during the pass makes
	// the current version differ from it, so the pass is not used.
	e.InvalidateVersion()
	v, err := e.DataVersion(ctx)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	pl := newPlan(p, true, 0)
	out, err := e.compute(ctx, Catalog(), pl, groupBy, Filter{}, Scope{})
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	e.pre.put(preKey(p, groupBy), &preEntry{version: v, period: p, pl: pl, out: out, at: e.now()})
	return took, nil
}

// fromPrecomputed returns the passes of a precomputed scorecard that
// answers q exactly, restricted to q's scope, and when it was computed; ok
// is false when there is none for q or the data changed since.
func (e *Engine) fromPrecomputed(ctx context.Context, q ScorecardQuery) (out map[string]computed, pl plan, at time.Time, ok bool) {
	if q.Trend > 1 || len(q.Filter.dimensions()) > 0 {
		return nil, plan{}, time.Time{}, false
	}
	// Ungrouped with a one-team scope is that team's group of a pass by
	// team, under the key "".
	key, single := q.GroupBy, ""
	switch {
	case q.GroupBy == "team":
	case q.GroupBy == "" && len(q.Scope.Teams) == 0:
	case q.GroupBy == "" && len(q.Scope.Teams) == 1:
		key, single = "team", q.Scope.Teams[0]
	default:
		return nil, plan{}, time.Time{}, false
	}
	ent := e.pre.get(preKey(q.Period, key))
	if ent == nil || !ent.period.Equal(q.Period) {
		return nil, plan{}, time.Time{}, false
	}
	v, err := e.DataVersion(ctx)
	if err != nil {
		// Not knowing the version, the pass cannot be trusted; the
		// computation on request reports what is wrong with the database.
		e.log.Warn("precomputed scorecard not used: data version", "err", err)
		return nil, plan{}, time.Time{}, false
	}
	if v != ent.version {
		return nil, plan{}, time.Time{}, false
	}
	out = make(map[string]computed, len(ent.out))
	for k, c := range ent.out {
		switch {
		case single != "":
			c = c.scoped(q.Scope.Teams).ungrouped()
		case len(q.Scope.Teams) > 0:
			c = c.scoped(q.Scope.Teams)
		}
		out[k] = c
	}
	e.markProvisional(out, ent.pl)
	return out, ent.pl, ent.at, true
}

// scoped returns the part of a pass grouped by team that belongs to the
// given teams: their groups, and toil_ratio's fallback decided again over
// their rows only, as a query with that scope decides it.
func (c computed) scoped(teams []string) computed {
	in := make(map[string]bool, len(teams))
	for _, t := range teams {
		in[t] = true
	}
	out := c
	out.t = table{}
	for k, v := range c.t {
		if in[k.g] {
			out.t[k] = v
		}
	}
	if c.curves != nil {
		out.curves = map[cellKey]Curve{}
		for k, v := range c.curves {
			if in[k.g] {
				out.curves[k] = v
			}
		}
	}
	if c.toil != nil || c.countBased != nil {
		var rows []toilRow
		for _, r := range c.toil {
			if in[r.G] {
				rows = append(rows, r)
			}
		}
		t := toilComputed(rows, len(c.countBased))
		out.t, out.countBased, out.toil = t.t, t.countBased, t.toil
	}
	return out
}

// ungrouped returns a pass grouped by team that holds one team's groups
// (scoped) as the ungrouped pass of a scope of that team alone: the same
// values under the group key "".
func (c computed) ungrouped() computed {
	out := c
	out.t = make(table, len(c.t))
	for k, v := range c.t {
		k.g = ""
		out.t[k] = v
	}
	if c.curves != nil {
		out.curves = make(map[cellKey]Curve, len(c.curves))
		for k, v := range c.curves {
			k.g = ""
			out.curves[k] = v
		}
	}
	out.toil = nil // already decided for the team (scoped); not scoped again
	return out
}

// precomputeTarget is one scorecard Config.Precompute asks for.
type precomputeTarget struct {
	period  Period
	groupBy string
}

// precomputeTargets returns the scorecards Config.Precompute asks for at
// instant now.
func (e *Engine) precomputeTargets(now time.Time) ([]precomputeTarget, error) {
	pc := e.cfg.Precompute
	var out []precomputeTarget
	for _, name := range pc.Periods {
		p, err := e.relativePeriod(name, now)
		if err != nil {
			return nil, err
		}
		for _, g := range pc.GroupBy {
			if g == "none" {
				g = ""
			}
			out = append(out, precomputeTarget{p, g})
		}
	}
	return out, nil
}

// relativePeriod returns the period of PrecomputePeriods named name, as of
// instant now.
func (e *Engine) relativePeriod(name string, now time.Time) (Period, error) {
	switch name {
	case "previous_quarter", "current_quarter":
		q, err := e.QuarterContaining(now)
		if err != nil || name == "current_quarter" {
			return q, err
		}
		return q.Previous(), nil
	case "previous_month", "current_month":
		m, err := e.ParsePeriod(now.In(e.loc).Format("2006-01"))
		if err != nil || name == "current_month" {
			return m, err
		}
		return m.Previous(), nil
	}
	return Period{}, fmt.Errorf("metrics: unknown relative period %q", name)
}

// QuarterContaining returns the quarter (calendar or fiscal, as the engine
// names quarters) that contains instant t.
func (e *Engine) QuarterContaining(t time.Time) (Period, error) {
	y := t.In(e.loc).Year()
	for _, fy := range []int{y - 1, y, y + 1} {
		for q := 1; q <= 4; q++ {
			p, err := e.ParsePeriod(fmt.Sprintf("%d-Q%d", fy, q))
			if err != nil {
				return Period{}, err
			}
			if !t.Before(p.From) && t.Before(p.To) {
				return p, nil
			}
		}
	}
	return Period{}, fmt.Errorf("no quarter contains %s", t.Format(time.RFC3339))
}

// RefreshPrecomputed brings the scorecards of Config.Precompute up to the
// current data version: it computes again each one whose data changed (or
// that is missing, as at a quarter's turn) and drops those no longer asked
// for. It returns the first error; the scorecards computed before it are
// kept.
func (e *Engine) RefreshPrecomputed(ctx context.Context) error {
	targets, err := e.precomputeTargets(e.now())
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, t := range targets {
		keep[preKey(t.period, t.groupBy)] = true
	}
	e.pre.retain(keep)
	for _, t := range targets {
		e.InvalidateVersion()
		v, err := e.DataVersion(ctx)
		if err != nil {
			return err
		}
		if ent := e.pre.get(preKey(t.period, t.groupBy)); ent != nil && ent.version == v {
			continue
		}
		took, err := e.Precompute(ctx, t.period, t.groupBy)
		if err != nil {
			return fmt.Errorf("precompute the %s scorecard: %w", t.period.Name, err)
		}
		e.log.Info("scorecard precomputed", "period", t.period.Name, "group_by", t.groupBy, "duration", took.Round(time.Millisecond))
	}
	return nil
}

// KeepPrecomputed runs RefreshPrecomputed at start and then every
// Config.Precompute.Interval once the data version has stayed the same
// for one interval, so that an ingest writing for minutes (a Jira sync
// page by page, a bulk load) is computed over once, after it, not after
// each of its writes. It runs until ctx ends (serve runs it). A failed
// refresh is logged and tried again at the next interval; until then
// Scorecard computes on request.
func (e *Engine) KeepPrecomputed(ctx context.Context) {
	pc := e.cfg.Precompute
	if !pc.enabled() {
		return
	}
	t := time.NewTicker(pc.Interval)
	defer t.Stop()
	last, first := "", true
	for {
		e.InvalidateVersion()
		v, err := e.DataVersion(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				e.log.Warn("precomputed scorecards: data version", "err", err)
			}
		case first || v == last:
			if err := e.RefreshPrecomputed(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("precomputed scorecards", "err", err)
			}
			first = false
		}
		last = v
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
