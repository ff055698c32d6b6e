package metrics

import (
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Severities lists the normalized severities, most severe first, as stored
// in the Enum8 columns (unknown = 0 … critical = 5).
var Severities = []string{"critical", "high", "medium", "low", "info", "unknown"}

// severityCode is a severity's Enum8 value.
func severityCode(s string) (int, bool) {
	switch s {
	case "unknown":
		return 0, true
	case "info":
		return 1, true
	case "low":
		return 2, true
	case "medium":
		return 3, true
	case "high":
		return 4, true
	case "critical":
		return 5, true
	}
	return 0, false
}

// SLAPolicy is the remediation SLA: days per severity and service tier,
// with the KEV rules of the spec. It is the one implementation of due
// dates: Due in Go and DueSQL in ClickHouse both read the table that
// Table returns.
type SLAPolicy struct {
	// Days is the SLA in days per severity for every tier. Entries merge
	// over the defaults (critical 7, high 30, medium 90, low 180; info and
	// unknown none); a negative number removes a severity's SLA.
	Days map[string]int `yaml:"days"`
	// Tiers overrides Days for one tier (0 unknown, 1–4), per severity.
	Tiers map[int]map[string]int `yaml:"tiers"`
	// KEVSLA is the severity whose SLA a finding in the KEV catalog (as
	// known at the evaluation time) gets when shorter than its own.
	// Default "critical"; "none" disables the rule.
	KEVSLA string `yaml:"kev_sla"`
	// KEVDueDateCap also caps a KEV finding's due date at the end of the
	// catalog's due_date (UTC), the FedRAMP rule. Default off.
	KEVDueDateCap bool `yaml:"kev_due_date_cap"`
	// RestartOnReopen starts the clock of a reopened finding at its latest
	// reopen before the evaluation time instead of first_seen. Default off.
	RestartOnReopen bool `yaml:"restart_sla_on_reopen"`
}

// DefaultSLADays are the spec's default SLA days per severity.
var DefaultSLADays = map[string]int{"critical": 7, "high": 30, "medium": 90, "low": 180}

func (p SLAPolicy) withDefaults() SLAPolicy {
	days := map[string]int{}
	for k, v := range DefaultSLADays {
		days[k] = v
	}
	for k, v := range p.Days {
		days[k] = v
	}
	p.Days = days
	if p.KEVSLA == "" {
		p.KEVSLA = "critical"
	}
	return p
}

func (p SLAPolicy) validate(pr *problems) {
	for s := range p.Days {
		if _, ok := severityCode(s); !ok {
			pr.add(fmt.Sprintf("sla.days: unknown severity %q", s))
		}
	}
	for tier, m := range p.Tiers {
		if tier < 0 || tier > 4 {
			pr.add(fmt.Sprintf("sla.tiers: tier %d: want 0–4", tier))
		}
		for s := range m {
			if _, ok := severityCode(s); !ok {
				pr.add(fmt.Sprintf("sla.tiers.%d: unknown severity %q", tier, s))
			}
		}
	}
	if _, ok := severityCode(p.KEVSLA); !ok && p.KEVSLA != "none" {
		pr.add(fmt.Sprintf("sla.kev_sla: %q is not a severity or none", p.KEVSLA))
	}
}

// DaysFor returns the SLA days of a severity on a tier, and false when the
// policy gives it none.
func (p SLAPolicy) DaysFor(severity string, tier int) (int, bool) {
	d, ok := p.Days[severity]
	if m, tok := p.Tiers[tier]; tok {
		if td, sok := m[severity]; sok {
			d, ok = td, true
		}
	}
	if !ok || d < 0 {
		return 0, false
	}
	return d, true
}

// DueInput is what a due date depends on, everything as of the evaluation
// time (the fix time for a fixed finding, the period end for an open one).
type DueInput struct {
	FirstSeen time.Time
	// LastReopen is the latest reopen before the evaluation time (zero when
	// none); it matters only with RestartOnReopen.
	LastReopen time.Time
	Severity   string
	Tier       int
	// KEV is whether the CVE (or an alias) was in the KEV catalog at the
	// evaluation time; KEVDue is the catalog's due_date (zero when none).
	KEV    bool
	KEVDue time.Time
}

// Due returns the due date, and false when the finding has no SLA.
func (p SLAPolicy) Due(in DueInput) (time.Time, bool) {
	days, ok := p.DaysFor(in.Severity, in.Tier)
	if in.KEV && p.KEVSLA != "none" {
		if kd, kok := p.DaysFor(p.KEVSLA, in.Tier); kok && (!ok || kd < days) {
			days, ok = kd, true
		}
	}
	start := in.FirstSeen
	if p.RestartOnReopen && !in.LastReopen.IsZero() {
		start = in.LastReopen
	}
	var due time.Time
	if ok {
		due = start.Add(time.Duration(days) * 24 * time.Hour)
	}
	if p.KEVDueDateCap && in.KEV && !in.KEVDue.IsZero() {
		capAt := kevDueEnd(in.KEVDue)
		if !ok || capAt.Before(due) {
			due, ok = capAt, true
		}
	}
	return due.UTC(), ok
}

// kevDueEnd is the instant a KEV due_date (a calendar date) ends: the next
// midnight UTC, so a fix on the due date is on time.
func kevDueEnd(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
}

// Table returns the policy as the arrays DueSQL binds: days indexed by
// severity code × 5 + tier (−1 for none), and the KEV days per tier.
func (p SLAPolicy) Table() (days []int32, kevDays []int32) {
	days = make([]int32, 6*5)
	for _, s := range Severities {
		c, _ := severityCode(s)
		for tier := 0; tier <= 4; tier++ {
			d, ok := p.DaysFor(s, tier)
			if !ok {
				d = -1
			}
			days[c*5+tier] = int32(d)
		}
	}
	kevDays = make([]int32, 5)
	for tier := 0; tier <= 4; tier++ {
		d, ok := -1, false
		if p.KEVSLA != "none" {
			d, ok = p.DaysFor(p.KEVSLA, tier)
		}
		if !ok {
			d = -1
		}
		kevDays[tier] = int32(d)
	}
	return days, kevDays
}

// DueArgs returns the named parameters DueSQL refers to: sla_days,
// sla_kev_days, sla_kev_cap and sla_restart.
func (p SLAPolicy) DueArgs() []any {
	days, kev := p.Table()
	return []any{
		clickhouse.Named("sla_days", days),
		clickhouse.Named("sla_kev_days", kev),
		clickhouse.Named("sla_kev_cap", boolInt(p.KEVDueDateCap)),
		clickhouse.Named("sla_restart", boolInt(p.RestartOnReopen)),
	}
}

// DueColumns names the SQL expressions DueSQL reads. They are chosen by the
// calling code (constants), never taken from user input.
type DueColumns struct {
	FirstSeen  string // DateTime
	LastReopen string // DateTime, toDateTime(0) when none
	Severity   string // UInt8 severity code (toUInt8 of the Enum8)
	Tier       string // UInt8 tier 0–4
	KEV        string // UInt8, 1 when in KEV at the evaluation time
	KEVDue     string // DateTime end of the catalog due date, toDateTime(0) when none
}

// DueSQL returns a ClickHouse expression for the due date of the finding
// described by c, under the policy bound by DueArgs; it evaluates to
// toDateTime(0) when the finding has no SLA. Callers bind DueArgs with the
// query (named parameters), so the text never changes with the policy.
func DueSQL(c DueColumns) string {
	own := fmt.Sprintf("@sla_days[toUInt32(%s) * 5 + toUInt32(%s) + 1]", c.Severity, c.Tier)
	kev := fmt.Sprintf("@sla_kev_days[toUInt32(%s) + 1]", c.Tier)
	days := fmt.Sprintf("if(%[1]s = 1 AND %[2]s >= 0 AND (%[3]s < 0 OR %[2]s < %[3]s), %[2]s, %[3]s)", c.KEV, kev, own)
	start := fmt.Sprintf("if(@sla_restart = 1 AND %[1]s > toDateTime(0), %[1]s, %[2]s)", c.LastReopen, c.FirstSeen)
	byDays := fmt.Sprintf("toDateTime(toUInt32(%s) + toUInt32(%s) * 86400, 'UTC')", start, days)
	capOn := fmt.Sprintf("@sla_kev_cap = 1 AND %s = 1 AND %s > toDateTime(0)", c.KEV, c.KEVDue)
	return strings.Join(strings.Fields(fmt.Sprintf(`multiIf(
		%[1]s >= 0 AND %[2]s, least(%[3]s, %[4]s),
		%[1]s >= 0, %[3]s,
		%[2]s, %[4]s,
		toDateTime(0))`, days, capOn, byDays, c.KEVDue)), " ")
}

func boolInt(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
