package metrics

import (
	"slices"
	"strconv"
	"strings"
)

// Unit is the unit a value is reported in.
type Unit string

// The units. Durations are computed in seconds and converted only here.
const (
	Days         Unit = "days"
	BusinessDays Unit = "business_days"
	Hours        Unit = "hours"
	Minutes      Unit = "minutes"
	Percent      Unit = "percent" // 0–100
	Count        Unit = "count"
	PerMonth     Unit = "per_month"
	Probability  Unit = "probability" // 0–1
	Score        Unit = "score"       // a sum of EPSS probabilities
)

// Direction says which way a measure improves.
type Direction string

// The directions.
const (
	LowerIsBetter  Direction = "lower"
	HigherIsBetter Direction = "higher"
	Neutral        Direction = "neutral"
)

// MeasureKind decides the sample-size rule: percentiles, means and ratios
// with n < 5 get the status insufficient_data; counts never do.
type MeasureKind string

// The measure kinds.
const (
	Percentile MeasureKind = "percentile"
	Mean       MeasureKind = "mean"
	Ratio      MeasureKind = "ratio"
	Total      MeasureKind = "count"
)

// Measure is one number a KPI reports per slice.
type Measure struct {
	Name      string      `json:"name"`
	Unit      Unit        `json:"unit"`
	Kind      MeasureKind `json:"kind"`
	Direction Direction   `json:"direction"`
	Doc       string      `json:"doc"`
}

// Target is a KPI goal for one measure, optionally for one slice. A value
// meets it when `value Op Value` holds; it is amber when it misses by at
// most 20 % of Value, or up to Amber when Amber is set.
type Target struct {
	Measure string  `yaml:"measure" json:"measure"`
	Slice   string  `yaml:"slice" json:"slice,omitempty"` // "" = every slice
	Op      string  `yaml:"op" json:"op"`                 // <, <=, >, >=
	Value   float64 `yaml:"value" json:"value"`
	Amber   float64 `yaml:"amber" json:"amber,omitempty"`
}

// Definition is one KPI of the catalog.
type Definition struct {
	ID         string    `json:"id"` // name@version
	Name       string    `json:"name"`
	Version    int       `json:"version"`
	Title      string    `json:"title"`
	Unit       Unit      `json:"unit"` // of the headline measure
	Direction  Direction `json:"direction"`
	Definition string    `json:"definition"`
	// Slices names the KPI's own breakdown ("severity", "kind",
	// "incident_type") or is empty when a value has only the slice "all".
	Slices   string    `json:"slices,omitempty"`
	Measures []Measure `json:"measures"`
	Targets  []Target  `json:"default_targets"`
	// Sources are the data it is computed from; each maps to ingest source
	// types for freshness (Config.SourceTypes).
	Sources []string `json:"sources"`
	// Tables are the ClickHouse tables it reads; SQL is its statement file.
	Tables []string `json:"tables"`
	SQL    string   `json:"sql"`
	// GroupBys are the dimensions it can be grouped and filtered by.
	GroupBys []string `json:"group_bys"`
}

// Measure returns the measure named name.
func (d Definition) Measure(name string) (Measure, bool) {
	for _, m := range d.Measures {
		if m.Name == name {
			return m, true
		}
	}
	return Measure{}, false
}

func (d Definition) measureNames() []string {
	var out []string
	for _, m := range d.Measures {
		out = append(out, m.Name)
	}
	return out
}

var (
	vulnSources = []string{"findings", "inventory"}
	vulnTables  = []string{"finding_intervals", "assets", "findings", "kev"}
	allDims     = GroupBys
	// Alerts and tickets carry their own team and severity; tier and
	// business unit come from their asset.
	workDims = []string{"team", "business_unit", "tier", "severity", "source", "asset"}
)

func pct(name, doc string, dir Direction) Measure {
	return Measure{Name: name, Unit: Percent, Kind: Ratio, Direction: dir, Doc: doc}
}

func dur(name string, u Unit, kind MeasureKind, doc string) Measure {
	return Measure{Name: name, Unit: u, Kind: kind, Direction: LowerIsBetter, Doc: doc}
}

func cnt(name string, dir Direction, doc string) Measure {
	return Measure{Name: name, Unit: Count, Kind: Total, Direction: dir, Doc: doc}
}

func percentiles(u Unit, what string) []Measure {
	return []Measure{
		dur("p50", u, Percentile, "P50 of "+what),
		dur("p90", u, Percentile, "P90 of "+what),
	}
}

// catalog is the KPI catalog in spec order. Definition texts follow
// ../shared/spec/kpis.md; docs/metrics.md is generated from it.
var catalog = []Definition{
	{
		Name: "vuln_mttr", Version: 1, Title: "Time to remediate, by severity", Unit: Days, Direction: LowerIsBetter, Slices: "severity",
		Definition: "Over findings fixed in the period (a finding counts once, at its last fix in the period, with its severity at that fix): P50, P90 and mean of (fix time − first_seen), in days. Findings whose status at the fix is false_positive, duplicate or risk_accepted are excluded.",
		Measures:   append(percentiles(Days, "fix time − first_seen"), dur("mean", Days, Mean, "mean of fix time − first_seen")),
		Targets: []Target{
			{Measure: "p50", Slice: "critical", Op: "<", Value: 7},
			{Measure: "p90", Slice: "critical", Op: "<", Value: 14},
		},
		Sources: vulnSources, Tables: vulnTables, SQL: "kpi/vuln_findings.sql", GroupBys: allDims,
	},
	{
		Name: "vuln_ttr_survival", Version: 1, Title: "Unbiased time to remediate (Kaplan–Meier)", Unit: Days, Direction: LowerIsBetter, Slices: "severity",
		Definition: "Kaplan–Meier estimate over findings first seen in [end − 365 d, end), by severity: a finding fixed at the period end has an event at (its last fix before the end − first_seen); one open at the end is censored at (end − first_seen). S(t) = ∏ over event times tᵢ ≤ t of (1 − dᵢ/nᵢ), with censorings at tᵢ still at risk at tᵢ. The median is the smallest t with S(t) ≤ 0.5, P90 the smallest with S(t) ≤ 0.1, or \"not reached\". Severity is the one at the end; false_positive, duplicate and risk_accepted findings (status at the end) are excluded.",
		Measures: []Measure{
			dur("median", Days, Percentile, "smallest t with S(t) ≤ 0.5"),
			dur("p90", Days, Percentile, "smallest t with S(t) ≤ 0.1"),
			cnt("events", Neutral, "findings fixed (events)"),
			cnt("censored", Neutral, "findings still open (censored)"),
		},
		Sources: vulnSources, Tables: vulnTables, SQL: "kpi/vuln_findings.sql", GroupBys: allDims,
	},
	{
		Name: "sla_adherence", Version: 1, Title: "Remediation within SLA", Unit: Percent, Direction: HigherIsBetter, Slices: "severity",
		Definition: "Two ratios by severity: closed within SLA = fixed in period with fixed_at ≤ due ÷ fixed in period (findings with an SLA); open overdue = open at period end with due < period end ÷ open at period end (findings with an SLA, risk_accepted excluded). Due dates follow the SLA policy (docs/metrics.md, \"SLA policy\").",
		Measures: []Measure{
			pct("closed_within_sla", "fixed in period on time ÷ fixed in period", HigherIsBetter),
			pct("open_overdue", "open overdue at end ÷ open at end", LowerIsBetter),
			cnt("overdue", LowerIsBetter, "open overdue at period end"),
		},
		Targets: []Target{{Measure: "closed_within_sla", Slice: "high", Op: ">", Value: 90}},
		Sources: vulnSources, Tables: vulnTables, SQL: "kpi/vuln_findings.sql", GroupBys: allDims,
	},
	{
		Name: "vuln_backlog", Version: 1, Title: "Open findings", Unit: Count, Direction: LowerIsBetter, Slices: "severity",
		Definition: "Count open at period end by severity, with age buckets 0–30, 31–90, 91–180, >180 days (age = end − first_seen in whole days), and opened (first seen) vs fixed during the period (net burn-down = opened − fixed). risk_accepted findings open at the end are counted in their own column, not in open.",
		Measures: []Measure{
			cnt("open", LowerIsBetter, "open at period end"),
			cnt("age_0_30", Neutral, "open, age 0–30 days"),
			cnt("age_31_90", Neutral, "open, age 31–90 days"),
			cnt("age_91_180", Neutral, "open, age 91–180 days"),
			cnt("age_over_180", LowerIsBetter, "open, age > 180 days"),
			cnt("risk_accepted", Neutral, "open and risk_accepted at period end"),
			cnt("opened", Neutral, "first seen in the period"),
			cnt("fixed", HigherIsBetter, "fixed in the period"),
			cnt("net", LowerIsBetter, "opened − fixed"),
		},
		Sources: vulnSources, Tables: vulnTables, SQL: "kpi/vuln_findings.sql", GroupBys: allDims,
	},
	{
		Name: "reopen_rate", Version: 1, Title: "Fix quality (reopen rate)", Unit: Percent, Direction: LowerIsBetter, Slices: "severity",
		Definition: "Of the fix events in the period, the share followed by a reopen of the same finding within 60 days of that fix. Reported as provisional while 60 days have not elapsed since the period end.",
		Measures:   []Measure{pct("rate", "fix events reopened within 60 days ÷ fix events", LowerIsBetter)},
		Targets:    []Target{{Measure: "rate", Op: "<", Value: 5}},
		Sources:    vulnSources, Tables: vulnTables, SQL: "kpi/vuln_findings.sql", GroupBys: allDims,
	},
	{
		Name: "exploitable_backlog", Version: 1, Title: "Exploitable open findings", Unit: Count, Direction: LowerIsBetter, Slices: "severity",
		Definition: "Open at period end and (in KEV or EPSS ≥ 0.1, threshold configurable): the count, the sum of EPSS, and the probability that at least one is exploited in 30 days, 1 − ∏(1 − epss). KEV as known at the end (date_added), EPSS the latest score dated before the end (else the report's own score).",
		Measures: []Measure{
			cnt("count", LowerIsBetter, "open exploitable findings"),
			{Name: "epss_sum", Unit: Score, Kind: Total, Direction: LowerIsBetter, Doc: "sum of EPSS"},
			{Name: "p_any_30d", Unit: Probability, Kind: Total, Direction: LowerIsBetter, Doc: "1 − ∏(1 − epss)"},
		},
		Sources: []string{"findings", "inventory", "kev", "epss"}, Tables: []string{"finding_intervals", "findings", "assets", "kev", "epss"},
		SQL: "kpi/exploitable_backlog.sql", GroupBys: allDims,
	},
	{
		Name: "secrets_exposure", Version: 1, Title: "Secrets hygiene", Unit: Hours, Direction: LowerIsBetter, Slices: "severity",
		Definition: "New confirmed secret findings per month (first seen in the period, status at the end not false_positive or duplicate; per month = count ÷ period days × 30.436875), and time to rotate: P50/P90 of (fixed_at − first_seen) in hours for secret findings fixed in the period.",
		Measures: []Measure{
			cnt("new", LowerIsBetter, "new confirmed secret findings in the period"),
			{Name: "new_per_month", Unit: PerMonth, Kind: Total, Direction: LowerIsBetter, Doc: "new ÷ period length in months"},
			dur("rotate_p50", Hours, Percentile, "P50 of fixed_at − first_seen"),
			dur("rotate_p90", Hours, Percentile, "P90 of fixed_at − first_seen"),
		},
		Targets: []Target{
			{Measure: "rotate_p50", Slice: "critical", Op: "<", Value: 24},
			{Measure: "rotate_p50", Slice: "high", Op: "<", Value: 24},
		},
		Sources: vulnSources, Tables: vulnTables, SQL: "kpi/vuln_findings.sql", GroupBys: allDims,
	},
	{
		Name: "scan_coverage", Version: 1, Title: "Scanners reach the estate", Unit: Percent, Direction: HigherIsBetter, Slices: "kind",
		Definition: "Of active in-scope assets in the inventory at period end, the share that had a successful scan of every required kind (default: SAST and SCA; configurable per tier) in [end − 30 d, end); a scan run with zero findings counts as a scan. Reported per kind and overall, with the list of uncovered assets.",
		Measures:   []Measure{pct("coverage", "covered assets ÷ in-scope assets", HigherIsBetter)},
		Targets:    []Target{{Measure: "coverage", Slice: "all", Op: ">", Value: 95}},
		Sources:    []string{"inventory", "scans"}, Tables: []string{"assets", "scan_runs"},
		SQL: "kpi/scan_coverage.sql", GroupBys: []string{"team", "business_unit", "tier", "asset"},
	},
	{
		Name: "threat_model_coverage", Version: 1, Title: "Design-level risk (threat models)", Unit: Percent, Direction: HigherIsBetter,
		Definition: "Of active tier-1 assets, the share with a completed threat-model ticket (kind threat_model, resolved) in the 365 days before period end.",
		Measures:   []Measure{pct("coverage", "tier-1 assets with a threat model ÷ active tier-1 assets", HigherIsBetter)},
		Targets:    []Target{{Measure: "coverage", Op: ">", Value: 90}},
		Sources:    []string{"inventory", "tickets"}, Tables: []string{"assets", "tickets"},
		SQL: "kpi/threat_model_coverage.sql", GroupBys: []string{"team", "business_unit", "asset"},
	},
	{
		Name: "detection_precision", Version: 1, Title: "Alert quality (detection precision)", Unit: Percent, Direction: HigherIsBetter, Slices: "severity",
		Definition: "Over alerts closed in the period with a disposition: true_positive ÷ (true_positive + benign_positive + false_positive). Duplicates, undetermined and undispositioned alerts are left out of the ratio and reported as the unclassified share beside it. Option benign_counts_as_true (default off). Also reported per detection rule, so the noisiest rules can be named.",
		Measures: []Measure{
			pct("precision", "true ÷ classified closed alerts", HigherIsBetter),
			pct("unclassified_share", "duplicate, undetermined or no disposition ÷ closed alerts", LowerIsBetter),
		},
		Targets: []Target{{Measure: "precision", Slice: "high", Op: ">", Value: 60}},
		Sources: []string{"alerts"}, Tables: []string{"alerts", "assets"}, SQL: "kpi/detection_precision.sql", GroupBys: workDims,
	},
	{
		Name: "mean_time_to_triage", Version: 1, Title: "Responsiveness (time to triage)", Unit: Minutes, Direction: LowerIsBetter, Slices: "severity",
		Definition: "Over alerts created in the period: P50 and P90 of (first acknowledgement or first status change out of new − created) in minutes, over alerts triaged before the period end; alerts still untriaged at period end are counted separately.",
		Measures:   append(percentiles(Minutes, "first triage − created"), cnt("untriaged", LowerIsBetter, "created in the period, not triaged at its end")),
		Targets: []Target{
			{Measure: "p50", Slice: "all", Op: "<", Value: 30},
			{Measure: "p90", Slice: "all", Op: "<", Value: 120},
		},
		Sources: []string{"alerts"}, Tables: []string{"alerts", "assets"}, SQL: "kpi/mean_time_to_triage.sql", GroupBys: workDims,
	},
	{
		Name: "mean_time_to_contain", Version: 1, Title: "Incident response (time to contain)", Unit: Hours, Direction: LowerIsBetter, Slices: "incident_type",
		Definition: "Over incident tickets that reached the contained state in the period (contained_at in [from, to)): P50/P90 of (contained_at − created) in hours, by incident type.",
		Measures:   percentiles(Hours, "contained_at − created"),
		Sources:    []string{"tickets"}, Tables: []string{"tickets", "assets"}, SQL: "kpi/mean_time_to_contain.sql", GroupBys: workDims,
	},
	{
		Name: "toil_ratio", Version: 1, Title: "Sustainability (toil ratio)", Unit: Percent, Direction: LowerIsBetter,
		Definition: "Hours logged (Jira worklogs started in the period) on toil work (tickets of kind toil, plus alert-triage tickets) ÷ all hours logged by the security team (configured Jira users) in the period. When no worklogs exist in the period and scope, the ratio of resolved toil tickets to all resolved tickets, labelled as count-based.",
		Measures:   []Measure{pct("ratio", "toil hours ÷ security team hours", LowerIsBetter)},
		Targets:    []Target{{Measure: "ratio", Op: "<", Value: 30, Amber: 40}},
		Sources:    []string{"worklogs", "tickets"}, Tables: []string{"worklogs", "tickets", "assets"}, SQL: "kpi/toil_ratio.sql", GroupBys: workDims,
	},
	{
		Name: "design_review_cycle_time", Version: 1, Title: "Design review cycle time", Unit: BusinessDays, Direction: LowerIsBetter,
		Definition: "P50/P90 of (resolved − created) in business days for design-review tickets resolved in the period.",
		Measures:   percentiles(BusinessDays, "resolved − created"),
		Targets:    []Target{{Measure: "p50", Op: "<", Value: 5}},
		Sources:    []string{"tickets"}, Tables: []string{"tickets", "assets"}, SQL: "kpi/ticket_cycle_time.sql", GroupBys: workDims,
	},
	{
		Name: "customer_escalation_time_to_close", Version: 1, Title: "Customer escalation time to close", Unit: BusinessDays, Direction: LowerIsBetter,
		Definition: "P50/P90 of (resolved − created) in business days for customer-escalation tickets resolved in the period.",
		Measures:   percentiles(BusinessDays, "resolved − created"),
		Targets:    []Target{{Measure: "p50", Op: "<", Value: 10}},
		Sources:    []string{"tickets"}, Tables: []string{"tickets", "assets"}, SQL: "kpi/ticket_cycle_time.sql", GroupBys: workDims,
	},
	{
		Name: "security_debt_burndown", Version: 1, Title: "Security debt burn-down", Unit: Count, Direction: LowerIsBetter,
		Definition: "Security-debt tickets created vs resolved in the period and the net change (created − resolved; negative is burn-down).",
		Measures: []Measure{
			cnt("created", Neutral, "security-debt tickets created in the period"),
			cnt("resolved", HigherIsBetter, "security-debt tickets resolved in the period"),
			cnt("net", LowerIsBetter, "created − resolved"),
		},
		Sources: []string{"tickets"}, Tables: []string{"tickets", "assets"}, SQL: "kpi/security_debt_burndown.sql", GroupBys: workDims,
	},
}

// Catalog returns every KPI definition with its default targets, in spec
// order.
func Catalog() []Definition {
	out := make([]Definition, len(catalog))
	for i, d := range catalog {
		d.ID = d.Name + "@" + strconv.Itoa(d.Version)
		d.Measures = slices.Clone(d.Measures)
		d.Targets = slices.Clone(d.Targets)
		out[i] = d
	}
	return out
}

// Lookup returns the definition with id ("vuln_mttr@1") or bare name
// ("vuln_mttr", the current version).
func Lookup(id string) (Definition, bool) {
	name, ver, versioned := strings.Cut(id, "@")
	for _, d := range Catalog() {
		if d.Name == name && (!versioned || strconv.Itoa(d.Version) == ver) {
			return d, true
		}
	}
	return Definition{}, false
}
