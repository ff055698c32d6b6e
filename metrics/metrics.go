// Package metrics computes every KPI of the normative spec
// (../shared/spec/kpis.md, documented in docs/metrics.md) from the ClickHouse
// tables that ingest writes. It is the only place where a KPI's rules live:
// the JSON API and the reports call an Engine and present its results as
// they are.
//
// Everything is computed as of a period's end from the event history (see
// docs/metrics.md, "As-of rules"); a team Scope is applied inside every
// query before anything is aggregated.
package metrics

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/secmetrics/secmetrics/queries"
)

// Engine computes KPIs, scorecards and drill-down lists. It is safe for
// concurrent use.
type Engine struct {
	db  selecter
	cfg Config
	loc *time.Location
	log *slog.Logger
	// Now is the clock, used for data freshness and for "provisional"
	// flags; tests replace it.
	Now func() time.Time
	// slots bounds the KPI statements running at once across all requests
	// (computeParallel): one request alone runs its statements side by
	// side, many requests queue here instead of overloading ClickHouse.
	slots chan struct{}
	// version is the data version, read at most once a second
	// (DataVersion); pre holds the precomputed scorecards (precompute.go).
	version versionCache
	pre     precomputed
}

// selecter is the part of *queries.DB the engine uses; tests wrap it to
// see the statements it runs.
type selecter interface {
	Select(ctx context.Context, dest any, query string, args ...any) error
}

var _ selecter = (*queries.DB)(nil)

// New returns an Engine over db. It returns an *InputError when cfg is
// invalid (every problem at once); a zero Config means the defaults.
func New(db *queries.DB, cfg Config, log *slog.Logger) (*Engine, error) {
	cfg = cfg.withDefaults()
	loc, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{db: db, cfg: cfg, loc: loc, log: log, Now: time.Now, slots: make(chan struct{}, computeParallel)}, nil
}

// Config returns the effective configuration (defaults applied).
func (e *Engine) Config() Config { return e.cfg }

// Location returns the reporting time zone.
func (e *Engine) Location() *time.Location { return e.loc }

// ParsePeriod parses a period name with the engine's time zone and fiscal
// year (see the package function ParsePeriod).
func (e *Engine) ParsePeriod(s string) (Period, error) {
	return ParsePeriod(s, e.loc, e.cfg.FiscalYearStartMonth)
}

// Query asks for one KPI.
type Query struct {
	// KPI is a definition id ("vuln_mttr@1") or a bare name ("vuln_mttr",
	// meaning the current version).
	KPI    string
	Period Period
	// Compare adds the previous period's values, the changes and the
	// statuses computed against the previous period (the status itself is
	// always computed).
	Compare bool
	// Trend, when > 0, adds the values of the Trend periods ending with
	// Period (Period included), oldest first, computed in one query.
	Trend int
	// GroupBy is one of GroupBys, or "" for the whole scope.
	GroupBy string
	Filter  Filter
	Scope   Scope
}

// GroupBys lists the dimensions a result can be grouped by. Each maps to a
// fixed SQL expression per source table in Go; user text never reaches SQL.
var GroupBys = []string{"team", "business_unit", "tier", "severity", "source", "asset"}

// Filter restricts the items a KPI is computed from. Empty fields do not
// filter; values within a field are alternatives, fields combine with AND.
// Team, business unit and tier are the asset's as of the period end (the
// fix time for a fixed finding's SLA tier); severity is the severity the
// measure uses (at the fix for remediation times, at the period end for
// open findings).
type Filter struct {
	Teams         []string `json:"teams,omitempty"`
	BusinessUnits []string `json:"business_units,omitempty"`
	Tiers         []int    `json:"tiers,omitempty"`
	Severities    []string `json:"severities,omitempty"`
	Sources       []string `json:"sources,omitempty"`
	Assets        []string `json:"assets,omitempty"`
}

// Scope is the set of teams a caller may see; empty means every team. It
// is applied inside every query, before aggregation, to the team of each
// finding, asset, alert and ticket as of the period end, so no aggregate,
// trend point or list can include data of a team outside it. Items with no
// owner belong to the team "unowned".
type Scope struct {
	Teams []string `json:"teams,omitempty"`
}

// Result is one KPI for one period. It is returned by the JSON API as is.
type Result struct {
	KPI      string  `json:"kpi"` // definition id, e.g. "vuln_mttr@1"
	Title    string  `json:"title"`
	Unit     Unit    `json:"unit"`
	Period   Period  `json:"period"`
	Previous *Period `json:"previous,omitempty"`
	GroupBy  string  `json:"group_by,omitempty"`
	// Groups holds one group per value of GroupBy (Key "" when ungrouped),
	// sorted by key.
	Groups []Group `json:"groups"`
	// Trend holds one point per trend period, oldest first (Query.Trend).
	Trend []Point `json:"trend,omitempty"`
	// Provisional is set when the value can still change without new
	// source data being wrong, e.g. reopen_rate within 60 days of the end.
	Provisional bool `json:"provisional,omitempty"`
	// CountBased is set when a ratio fell back to counting items instead of
	// hours (toil_ratio without worklogs).
	CountBased bool `json:"count_based,omitempty"`
	// UnappliedFilters lists the filter dimensions a scorecard was asked for
	// that this KPI does not have (e.g. severity for scan_coverage): its
	// values are computed without them. Compute rejects such filters.
	UnappliedFilters []string `json:"unapplied_filters,omitempty"`
	// Freshness lists the last successful ingest of every source type the
	// KPI depends on; Stale is set when any of them is stale.
	Freshness []Freshness `json:"freshness"`
	Stale     bool        `json:"stale"`
}

// Group is the values of one group of a result.
type Group struct {
	Key    string  `json:"key"`
	Values []Value `json:"values"`
	// Curves holds the Kaplan–Meier curves of vuln_ttr_survival, by slice.
	Curves []Curve `json:"curves,omitempty"`
}

// Point is one trend period's values.
type Point struct {
	Period Period  `json:"period"`
	Groups []Group `json:"groups"`
}

// Value is one measure of a KPI (e.g. the P50 of critical findings) with
// its comparison and status.
type Value struct {
	// Measure names what the number is: "p50", "p90", "mean", "ratio",
	// "count", ... (see Definition.Measures).
	Measure string `json:"measure"`
	// Slice is the KPI's own breakdown the value belongs to (a severity for
	// remediation KPIs, a kind for coverage, an incident type), "all" for
	// the total.
	Slice string `json:"slice"`
	Unit  Unit   `json:"unit"`
	// Value is nil when it cannot be computed (n = 0, "not reached").
	Value *float64 `json:"value"`
	// N is the number of items the value was computed from.
	N         uint64   `json:"n"`
	Previous  *float64 `json:"previous,omitempty"`
	PreviousN *uint64  `json:"previous_n,omitempty"`
	// Change is Value − Previous; RelativeChange is Change ÷ |Previous|
	// (nil when Previous is 0 or missing).
	Change         *float64 `json:"change,omitempty"`
	RelativeChange *float64 `json:"relative_change,omitempty"`
	Target         *Target  `json:"target,omitempty"`
	Status         Status   `json:"status"`
	// Note qualifies the value: "not_reached" (a survival percentile),
	// "provisional", "count_based".
	Note string `json:"note,omitempty"`
}

// Status is a value's standing against its target.
type Status string

// The statuses. Amber means the value misses its target by at most 20 %
// of the target (or the target's explicit amber bound).
const (
	Green            Status = "green"
	Amber            Status = "amber"
	Red              Status = "red"
	NoTarget         Status = "no_target"
	InsufficientData Status = "insufficient_data"
)

// Curve is a Kaplan–Meier survival curve: S(t) after each distinct event
// or censoring time, t in days.
type Curve struct {
	Slice  string          `json:"slice"`
	Points []SurvivalPoint `json:"points"`
}

// SurvivalPoint is the curve at one duration.
type SurvivalPoint struct {
	Days     float64 `json:"days"`
	AtRisk   uint64  `json:"at_risk"`
	Events   uint64  `json:"events"`
	Censored uint64  `json:"censored"`
	Survival float64 `json:"survival"`
}

// Freshness is the last successful ingest of one source type.
type Freshness struct {
	SourceType  string     `json:"source_type"`
	LastSuccess *time.Time `json:"last_success"` // nil: never ingested
	Stale       bool       `json:"stale"`
}

// ScorecardQuery asks for every KPI of a period.
type ScorecardQuery struct {
	Period  Period
	GroupBy string
	Filter  Filter
	Scope   Scope
	// Trend, when > 0, adds every KPI's values of the Trend periods ending
	// with Period, as Query.Trend does, computed in the scorecard's shared
	// passes (one over finding_events for all six vulnerability KPIs).
	Trend int
}

// Scorecard is every KPI for a period, each compared with the previous
// period.
type Scorecard struct {
	Period    Period      `json:"period"`
	Previous  Period      `json:"previous"`
	Results   []Result    `json:"results"`
	Freshness []Freshness `json:"freshness"`
	Stale     bool        `json:"stale"`
	// PrecomputedAt is set when the values come from a scorecard computed
	// ahead of the request for the same data (Config.Precompute): when that
	// computation finished. Freshness and statuses are evaluated at the
	// request either way.
	PrecomputedAt *time.Time `json:"precomputed_at,omitempty"`
}

// GroupKeys returns the distinct group keys of every result, sorted (with
// GroupBy "team", the teams that have any value), leaving out the empty key
// a result without any value reports.
func (s Scorecard) GroupKeys() []string {
	var keys []string
	for _, r := range s.Results {
		for _, g := range r.Groups {
			if g.Key != "" && !slices.Contains(keys, g.Key) {
				keys = append(keys, g.Key)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// ListQuery asks for a drill-down list as of a period's end.
type ListQuery struct {
	Period Period
	Filter Filter
	Scope  Scope
	// Limit caps the rows (default 100, at most 10,000).
	Limit int
}

// OverdueFinding is an open finding past its due date at the period end.
type OverdueFinding struct {
	FindingID   string    `json:"finding_id" ch:"finding_id"`
	Asset       string    `json:"asset" ch:"asset"`
	Team        string    `json:"team" ch:"team"`
	Tier        uint8     `json:"tier" ch:"tier"`
	Severity    string    `json:"severity" ch:"severity"`
	Source      string    `json:"source" ch:"source"`
	FirstSeen   time.Time `json:"first_seen" ch:"first_seen"`
	Due         time.Time `json:"due" ch:"due"`
	DaysOverdue float64   `json:"days_overdue" ch:"days_overdue"`
	KEV         bool      `json:"kev" ch:"-"`
}

// TeamOverdue is one team's open-overdue count at the period end.
type TeamOverdue struct {
	Team    string `json:"team" ch:"team"`
	Open    uint64 `json:"open" ch:"open"`
	Overdue uint64 `json:"overdue" ch:"overdue"`
}

// UncoveredAsset is an in-scope asset lacking a recent successful scan of a
// required kind at the period end.
type UncoveredAsset struct {
	Asset     string     `json:"asset" ch:"asset"`
	Team      string     `json:"team" ch:"team"`
	Tier      uint8      `json:"tier" ch:"tier"`
	AssetKind string     `json:"asset_kind" ch:"asset_kind"`
	Missing   []string   `json:"missing_kinds" ch:"missing"`
	LastScan  *time.Time `json:"last_scan" ch:"-"`
}

// RuleStat is one detection rule's alert outcome over the period.
type RuleStat struct {
	RuleID         string   `json:"rule_id" ch:"rule_id"`
	RuleName       string   `json:"rule_name" ch:"rule_name"`
	Closed         uint64   `json:"closed" ch:"closed_n"`
	TruePositive   uint64   `json:"true_positive" ch:"tp"`
	BenignPositive uint64   `json:"benign_positive" ch:"bp"`
	FalsePositive  uint64   `json:"false_positive" ch:"fp"`
	Unclassified   uint64   `json:"unclassified" ch:"unclassified"`
	Precision      *float64 `json:"precision" ch:"-"`
}

// ExploitableFinding is an open finding in KEV or with EPSS at or above the
// threshold at the period end.
type ExploitableFinding struct {
	FindingID string    `json:"finding_id" ch:"finding_id"`
	Asset     string    `json:"asset" ch:"asset"`
	Team      string    `json:"team" ch:"team"`
	Severity  string    `json:"severity" ch:"severity"`
	CVE       string    `json:"cve" ch:"cve"`
	KEV       bool      `json:"kev" ch:"-"`
	EPSS      float64   `json:"epss" ch:"epss"`
	FirstSeen time.Time `json:"first_seen" ch:"first_seen"`
}
