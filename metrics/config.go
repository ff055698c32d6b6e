package metrics

import (
	"fmt"
	"slices"
	"time"
)

// Config is the metrics section of the service configuration. The zero
// value means every default (see Defaults).
type Config struct {
	// TimeZone is the IANA reporting time zone: named periods start at local
	// midnight in it, and business days skip its Saturdays and Sundays.
	// Default "UTC".
	TimeZone string `yaml:"time_zone"`
	// FiscalYearStartMonth (1–12) is the first month of the fiscal year;
	// 0 or 1 means quarters are calendar quarters. Fiscal year N ends in
	// calendar year N: with 10 (October), FY2026 Q1 is October–December
	// 2025.
	FiscalYearStartMonth int `yaml:"fiscal_year_start_month"`
	// Targets replaces the default targets of a KPI, by KPI name (without
	// version). An empty list removes the KPI's targets.
	Targets map[string][]Target `yaml:"targets"`
	SLA     SLAPolicy           `yaml:"sla"`
	// Coverage configures scan_coverage.
	Coverage CoverageConfig `yaml:"coverage"`
	// EPSSThreshold is the EPSS score at or above which an open finding
	// counts as exploitable (default 0.1).
	EPSSThreshold float64 `yaml:"epss_threshold"`
	// BenignCountsAsTrue counts benign_positive alerts as true positives in
	// detection_precision (default off).
	BenignCountsAsTrue bool       `yaml:"benign_counts_as_true"`
	Toil               ToilConfig `yaml:"toil"`
	// StaleAfter is the age of the last successful ingest past which a
	// source is flagged stale (default 7 days).
	StaleAfter time.Duration `yaml:"stale_after"`
	// SourceTypes maps each KPI source (Definition.Sources) to the ingest
	// source types (ingest_state.source_type) whose freshness it depends on.
	// Defaults: findings and scans → scan, inventory → inventory, kev →
	// kev, epss → epss, tickets and worklogs → jira, alerts → pagerduty.
	SourceTypes map[string][]string `yaml:"source_types"`
	// Precompute says which scorecards serve keeps computed ahead of
	// requests (precompute.go).
	Precompute PrecomputeConfig `yaml:"precompute"`
}

// CoverageConfig says which scan kinds an asset must have had recently.
type CoverageConfig struct {
	// RequiredKinds are the kinds every in-scope asset needs (default sast,
	// sca).
	RequiredKinds []string `yaml:"required_kinds"`
	// ByTier overrides RequiredKinds for a tier (1–4, 0 unknown).
	ByTier map[int][]string `yaml:"by_tier"`
	// AssetKinds are the asset kinds in scope (default: repository). An
	// empty list after defaults means every kind.
	AssetKinds []string `yaml:"asset_kinds"`
	// Window is how recent the scan must be (default 30 days).
	Window time.Duration `yaml:"window"`
}

// ToilConfig configures toil_ratio.
type ToilConfig struct {
	// SecurityUsers are the Jira users (worklog authors) of the security
	// team; the denominator is their logged hours. Empty means every author.
	SecurityUsers []string `yaml:"security_users"`
	// TriageLabels mark alert-triage tickets, which count as toil beside
	// tickets of kind toil (default: alert-triage).
	TriageLabels []string `yaml:"triage_labels"`
}

// Defaults returns the configuration with every default filled in.
func Defaults() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	if c.TimeZone == "" {
		c.TimeZone = "UTC"
	}
	if c.Targets == nil {
		c.Targets = map[string][]Target{}
	}
	c.SLA = c.SLA.withDefaults()
	if c.Coverage.RequiredKinds == nil {
		c.Coverage.RequiredKinds = []string{"sast", "sca"}
	}
	if c.Coverage.AssetKinds == nil {
		c.Coverage.AssetKinds = []string{"repository"}
	}
	if c.Coverage.Window == 0 {
		c.Coverage.Window = 30 * 24 * time.Hour
	}
	if c.EPSSThreshold == 0 {
		c.EPSSThreshold = 0.1
	}
	if c.Toil.TriageLabels == nil {
		c.Toil.TriageLabels = []string{"alert-triage"}
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = 7 * 24 * time.Hour
	}
	c.Precompute = c.Precompute.withDefaults()
	return c
}

// Check lists every problem of c (defaults applied), each prefixed with
// prefix and its key, for the service's configuration check.
func (c Config) Check(prefix string) []error {
	_, p := c.withDefaults().check()
	errs := make([]error, len(p))
	for i, m := range p {
		errs[i] = fmt.Errorf("%s.%s", prefix, m)
	}
	return errs
}

func (c Config) validate() (*time.Location, error) {
	loc, p := c.check()
	if err := p.err(); err != nil {
		return nil, err
	}
	return loc, nil
}

func (c Config) check() (*time.Location, problems) {
	var p problems
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		p.add(fmt.Sprintf("time_zone %q: %v", c.TimeZone, err))
	}
	if c.FiscalYearStartMonth < 0 || c.FiscalYearStartMonth > 12 {
		p.add(fmt.Sprintf("fiscal_year_start_month %d: want 1–12 (or 0 for calendar)", c.FiscalYearStartMonth))
	}
	for name, ts := range c.Targets {
		d, ok := Lookup(name)
		if !ok {
			p.add(fmt.Sprintf("targets: unknown KPI %q", name))
			continue
		}
		for _, t := range ts {
			if _, ok := d.Measure(t.Measure); !ok {
				p.add(fmt.Sprintf("targets.%s: measure %q is not one of %v", name, t.Measure, d.measureNames()))
			}
			if t.Op != "<" && t.Op != ">" && t.Op != "<=" && t.Op != ">=" {
				p.add(fmt.Sprintf("targets.%s: op %q: want <, <=, > or >=", name, t.Op))
			}
		}
	}
	c.SLA.validate(&p)
	for tier, ks := range c.Coverage.ByTier {
		if tier < 0 || tier > 4 {
			p.add(fmt.Sprintf("coverage.by_tier: tier %d: want 0–4", tier))
		}
		checkKinds(&p, "coverage.by_tier", ks)
	}
	checkKinds(&p, "coverage.required_kinds", c.Coverage.RequiredKinds)
	if c.Coverage.Window < 0 {
		p.add("coverage.window must be positive")
	}
	if c.EPSSThreshold < 0 || c.EPSSThreshold > 1 {
		p.add(fmt.Sprintf("epss_threshold %g: want 0–1", c.EPSSThreshold))
	}
	if c.StaleAfter < 0 {
		p.add("stale_after must be positive")
	}
	c.Precompute.check(&p)
	return loc, p
}

var scanKinds = []string{"sast", "sca", "container", "secret", "iac", "dast"}

func checkKinds(p *problems, field string, ks []string) {
	for _, k := range ks {
		if !slices.Contains(scanKinds, k) {
			p.add(fmt.Sprintf("%s: unknown kind %q (want one of %v)", field, k, scanKinds))
		}
	}
}
