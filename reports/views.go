package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/metrics"
)

// line names one value of a KPI: a measure in a slice.
type line struct{ Measure, Slice string }

// view is how a KPI is presented: the values its scorecard rows and trend
// chart show (the ones with default targets first), its workbook sheet,
// and whether its trend is drawn as lines or columns.
type view struct {
	Sheet  string // workbook sheet name, at most 31 characters
	Lines  []line
	Column bool // counts: a column chart
	// Team lists the values shown in the team comparison.
	Team []teamLine
}

// teamLine is a value of the team comparison with its column label.
type teamLine struct {
	line
	Label string
}

// views holds every KPI of the catalog (TestViewsCoverCatalog checks that
// each KPI has one and that every line names a measure it reports).
var views = map[string]view{
	"vuln_mttr": {Sheet: "Time to remediate",
		Lines: []line{{"p50", "critical"}, {"p90", "critical"}, {"p50", "high"}, {"p50", "all"}, {"p90", "all"}},
		Team:  []teamLine{{line{"p50", "all"}, "MTTR P50"}}},
	"vuln_ttr_survival": {Sheet: "TTR survival",
		Lines: []line{{"median", "all"}, {"p90", "all"}}},
	"sla_adherence": {Sheet: "SLA adherence",
		Lines: []line{{"closed_within_sla", "high"}, {"closed_within_sla", "critical"}, {"closed_within_sla", "all"}, {"open_overdue", "all"}, {"overdue", "all"}},
		Team:  []teamLine{{line{"closed_within_sla", "all"}, "Fixed within SLA"}, {line{"overdue", "all"}, "Overdue"}}},
	"vuln_backlog": {Sheet: "Backlog", Column: true,
		Lines: []line{{"open", "all"}, {"opened", "all"}, {"fixed", "all"}, {"net", "all"}},
		Team:  []teamLine{{line{"open", "all"}, "Open"}}},
	"reopen_rate": {Sheet: "Reopen rate",
		Lines: []line{{"rate", "all"}}},
	"exploitable_backlog": {Sheet: "Exploitable", Column: true,
		Lines: []line{{"count", "all"}, {"p_any_30d", "all"}},
		Team:  []teamLine{{line{"count", "all"}, "Exploitable"}}},
	"secrets_exposure": {Sheet: "Secrets",
		Lines: []line{{"rotate_p50", "critical"}, {"rotate_p50", "high"}, {"new", "all"}, {"rotate_p50", "all"}}},
	"scan_coverage": {Sheet: "Scan coverage",
		Lines: []line{{"coverage", "all"}, {"coverage", "sast"}, {"coverage", "sca"}},
		Team:  []teamLine{{line{"coverage", "all"}, "Scan coverage"}}},
	"threat_model_coverage": {Sheet: "Threat models",
		Lines: []line{{"coverage", "all"}}},
	"detection_precision": {Sheet: "Detection precision",
		Lines: []line{{"precision", "high"}, {"precision", "all"}, {"unclassified_share", "all"}},
		Team:  []teamLine{{line{"precision", "all"}, "Detection precision"}}},
	"mean_time_to_triage": {Sheet: "Time to triage",
		Lines: []line{{"p50", "all"}, {"p90", "all"}, {"untriaged", "all"}},
		Team:  []teamLine{{line{"p50", "all"}, "Triage P50"}}},
	"mean_time_to_contain": {Sheet: "Time to contain",
		Lines: []line{{"p50", "all"}, {"p90", "all"}}},
	"toil_ratio": {Sheet: "Toil ratio",
		Lines: []line{{"ratio", "all"}},
		Team:  []teamLine{{line{"ratio", "all"}, "Toil ratio"}}},
	"design_review_cycle_time": {Sheet: "Design reviews",
		Lines: []line{{"p50", "all"}, {"p90", "all"}}},
	"customer_escalation_time_to_close": {Sheet: "Customer escalations",
		Lines: []line{{"p50", "all"}, {"p90", "all"}}},
	"security_debt_burndown": {Sheet: "Security debt", Column: true,
		Lines: []line{{"created", "all"}, {"resolved", "all"}, {"net", "all"}}},
}

// measureLabels are the display names of measures; others are shown with
// underscores as spaces.
var measureLabels = map[string]string{
	"p50": "P50", "p90": "P90", "mean": "Mean", "median": "Median",
	"closed_within_sla": "Closed within SLA", "open_overdue": "Open overdue", "overdue": "Overdue",
	"open": "Open", "opened": "Opened", "fixed": "Fixed", "net": "Net change",
	"age_0_30": "Age 0–30 d", "age_31_90": "Age 31–90 d", "age_91_180": "Age 91–180 d", "age_over_180": "Age > 180 d",
	"risk_accepted": "Risk accepted", "rate": "Reopen rate", "count": "Exploitable open",
	"epss_sum": "EPSS sum", "p_any_30d": "P(any exploited in 30 d)",
	"new": "New", "new_per_month": "New per month", "rotate_p50": "Rotate P50", "rotate_p90": "Rotate P90",
	"coverage": "Coverage", "precision": "Precision", "unclassified_share": "Unclassified share",
	"untriaged": "Untriaged", "ratio": "Toil ratio", "created": "Created", "resolved": "Resolved",
	"events": "Fixed (events)", "censored": "Open (censored)",
}

func measureLabel(m string) string {
	if l, ok := measureLabels[m]; ok {
		return l
	}
	return strings.ReplaceAll(m, "_", " ")
}

// lineLabel is "P50 · critical", or the measure alone for the slice all.
func lineLabel(measure, slice string) string {
	if slice == "" || slice == "all" {
		return measureLabel(measure)
	}
	return measureLabel(measure) + " · " + slice
}

// statusLabels are the words shown beside a status colour.
var statusLabels = map[metrics.Status]string{
	metrics.Green:            "On target",
	metrics.Amber:            "Near target",
	metrics.Red:              "Off target",
	metrics.NoTarget:         "No target",
	metrics.InsufficientData: "Insufficient data",
}

func statusLabel(s metrics.Status) string {
	if l, ok := statusLabels[s]; ok {
		return l
	}
	return string(s)
}

// unitSuffix is the short unit written after a number.
func unitSuffix(u metrics.Unit) string {
	switch u {
	case metrics.Days:
		return " d"
	case metrics.BusinessDays:
		return " business days"
	case metrics.Hours:
		return " h"
	case metrics.Minutes:
		return " min"
	case metrics.Percent, metrics.Probability:
		return " %"
	case metrics.PerMonth:
		return " / month"
	}
	return ""
}

// unitName is the unit as a column header says it.
func unitName(u metrics.Unit) string {
	switch u {
	case metrics.BusinessDays:
		return "business days"
	case metrics.Percent, metrics.Probability:
		return "%"
	case metrics.PerMonth:
		return "per month"
	}
	return string(u)
}

// decimals is how many decimals a unit is displayed with (values are
// rounded only for display).
func decimals(u metrics.Unit) int {
	switch u {
	case metrics.Days, metrics.BusinessDays, metrics.Score:
		return 2
	case metrics.Hours, metrics.Minutes, metrics.Percent, metrics.Probability, metrics.PerMonth:
		return 1
	}
	return 0
}

// display scales a value for display: probabilities (0–1) as percentages.
func display(u metrics.Unit, v float64) float64 {
	if u == metrics.Probability {
		return 100 * v
	}
	return v
}

// formatNumber formats v in unit u for people: fixed decimals, thousands
// separators, "–" when there is no value.
func formatNumber(u metrics.Unit, v *float64) string {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return "–"
	}
	return groupThousands(strconv.FormatFloat(display(u, *v), 'f', decimals(u), 64))
}

// formatValue is formatNumber with the unit.
func formatValue(u metrics.Unit, v *float64) string {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return "–"
	}
	return formatNumber(u, v) + unitSuffix(u)
}

// formatChange is a signed change ("+1.50 d", "−3").
func formatChange(u metrics.Unit, v *float64) string {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return "–"
	}
	x := *v
	sign := "+"
	if x < 0 {
		sign, x = "−", -x
	}
	if strconv.FormatFloat(display(u, x), 'f', decimals(u), 64) == strconv.FormatFloat(0, 'f', decimals(u), 64) {
		sign = "±"
	}
	suffix := unitSuffix(u)
	if u == metrics.Percent || u == metrics.Probability {
		suffix = " pp" // a change of a percentage is in percentage points
	}
	return sign + formatNumber(u, &x) + suffix
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if hasFrac {
		out += "." + frac
	}
	if neg {
		out = "−" + out
	}
	return out
}

// formatTarget is "< 7 d", "> 90 %".
func formatTarget(u metrics.Unit, t *metrics.Target) string {
	if t == nil {
		return ""
	}
	v := t.Value
	op := strings.NewReplacer("<=", "≤", ">=", "≥").Replace(t.Op)
	return op + " " + formatValue(u, &v)
}

// trend says whether a change is good, bad or neither for a measure.
type trend string

const (
	better  trend = "better"
	worse   trend = "worse"
	neutral trend = "neutral"
)

// changeTrend judges the change of v by its measure's direction of good.
func changeTrend(d metrics.Definition, v metrics.Value) trend {
	if v.Change == nil || *v.Change == 0 {
		return neutral
	}
	m, ok := d.Measure(v.Measure)
	if !ok {
		return neutral
	}
	switch {
	case m.Direction == metrics.LowerIsBetter && *v.Change < 0, m.Direction == metrics.HigherIsBetter && *v.Change > 0:
		return better
	case m.Direction == metrics.LowerIsBetter, m.Direction == metrics.HigherIsBetter:
		return worse
	}
	return neutral
}

// arrow is the direction of a change.
func arrow(v *float64) string {
	switch {
	case v == nil || *v == 0:
		return "→"
	case *v > 0:
		return "▲"
	}
	return "▼"
}

// directionLabel says which way is good, for legends and the Method sheet.
func directionLabel(d metrics.Direction) string {
	switch d {
	case metrics.LowerIsBetter:
		return "lower is better"
	case metrics.HigherIsBetter:
		return "higher is better"
	}
	return "neutral"
}

// periodRange is "1 Jul 2026 – 30 Sep 2026" in the period's time zone (the
// end is the last day included).
func periodRange(p metrics.Period) string {
	loc := location(p.TimeZone)
	from := p.From.In(loc)
	last := p.To.In(loc).Add(-1)
	if p.Kind == metrics.Range {
		return from.Format("2 Jan 2006 15:04") + " – " + p.To.In(loc).Format("2 Jan 2006 15:04") + " (end excluded)"
	}
	return from.Format("2 Jan 2006") + " – " + last.Format("2 Jan 2006")
}

// freshnessText is "scan 2026-09-30 12:00" or "scan never", with "(stale)".
func freshnessText(f metrics.Freshness, loc *time.Location) string {
	s := f.SourceType + " never ingested"
	if f.LastSuccess != nil {
		s = f.SourceType + " " + f.LastSuccess.In(loc).Format("2006-01-02 15:04")
	}
	if f.Stale {
		s += " (stale)"
	}
	return s
}

// definition returns the catalog definition of a result.
func definition(r metrics.Result) metrics.Definition {
	d, _ := metrics.Lookup(r.KPI)
	return d
}

// headlines returns the values of r's ungrouped group that its view shows,
// in view order; a view line the result lacks is skipped.
func headlines(r metrics.Result) []metrics.Value {
	d := definition(r)
	v, ok := views[d.Name]
	var out []metrics.Value
	if !ok {
		return out
	}
	for _, l := range v.Lines {
		if x := value(r.Groups, "", l.Measure, l.Slice); x != nil {
			out = append(out, *x)
		}
	}
	return out
}

func sheetName(name string) string {
	if v, ok := views[name]; ok {
		return v.Sheet
	}
	if len(name) > 31 {
		return name[:31]
	}
	return name
}

func noteText(v metrics.Value) string {
	switch v.Note {
	case "":
		return ""
	case "not_reached":
		return "not reached"
	case "count_based":
		return "count-based"
	}
	return strings.ReplaceAll(v.Note, "_", " ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
