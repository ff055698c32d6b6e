package reports

import (
	"context"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/metrics"
)

// Format says how a list column's values are written: the workbook picks
// the cell number format from it, CSV the text form.
type Format int

// The column formats.
const (
	Text    Format = iota // text (neutralized)
	Integer               // a count, #,##0
	Days                  // days as a number, 0.00
	Hours                 // hours as a number, 0.0
	Percent               // a percentage 0–100 (metrics' unit); the workbook writes value ÷ 100 as 0.0%
	Share                 // a probability 0–1, 0.0% in the workbook
	Time                  // an instant, in the reporting time zone
	Flag                  // a yes/no, written as "yes" or ""
)

// Column is one column of a drill-down list.
type Column[T any] struct {
	Header string
	Format Format
	Width  float64 // workbook column width in characters
	Value  func(T) any
}

// The drill-down lists' columns, shared by the workbook's sheets and CSV.
var (
	OverdueColumns = []Column[metrics.OverdueFinding]{
		{"Finding", Text, 38, func(f metrics.OverdueFinding) any { return f.FindingID }},
		{"Asset", Text, 40, func(f metrics.OverdueFinding) any { return f.Asset }},
		{"Team", Text, 18, func(f metrics.OverdueFinding) any { return f.Team }},
		{"Tier", Integer, 6, func(f metrics.OverdueFinding) any { return int(f.Tier) }},
		{"Severity", Text, 10, func(f metrics.OverdueFinding) any { return f.Severity }},
		{"Source", Text, 14, func(f metrics.OverdueFinding) any { return f.Source }},
		{"First seen", Time, 17, func(f metrics.OverdueFinding) any { return f.FirstSeen }},
		{"Due", Time, 17, func(f metrics.OverdueFinding) any { return f.Due }},
		{"Days overdue", Days, 13, func(f metrics.OverdueFinding) any { return f.DaysOverdue }},
		{"KEV", Flag, 6, func(f metrics.OverdueFinding) any { return f.KEV }},
	}
	UncoveredColumns = []Column[metrics.UncoveredAsset]{
		{"Asset", Text, 44, func(a metrics.UncoveredAsset) any { return a.Asset }},
		{"Team", Text, 18, func(a metrics.UncoveredAsset) any { return a.Team }},
		{"Tier", Integer, 6, func(a metrics.UncoveredAsset) any { return int(a.Tier) }},
		{"Asset kind", Text, 12, func(a metrics.UncoveredAsset) any { return a.AssetKind }},
		{"Missing scans", Text, 16, func(a metrics.UncoveredAsset) any { return strings.Join(a.Missing, ", ") }},
		{"Last scan", Time, 17, func(a metrics.UncoveredAsset) any { return a.LastScan }},
	}
	RuleColumns = []Column[metrics.RuleStat]{
		{"Rule", Text, 22, func(r metrics.RuleStat) any { return r.RuleID }},
		{"Rule name", Text, 44, func(r metrics.RuleStat) any { return r.RuleName }},
		{"Closed", Integer, 9, func(r metrics.RuleStat) any { return r.Closed }},
		{"True positive", Integer, 13, func(r metrics.RuleStat) any { return r.TruePositive }},
		{"Benign positive", Integer, 15, func(r metrics.RuleStat) any { return r.BenignPositive }},
		{"False positive", Integer, 14, func(r metrics.RuleStat) any { return r.FalsePositive }},
		{"Unclassified", Integer, 12, func(r metrics.RuleStat) any { return r.Unclassified }},
		{"Precision", Percent, 10, func(r metrics.RuleStat) any { return r.Precision }},
	}
	ExploitableColumns = []Column[metrics.ExploitableFinding]{
		{"Finding", Text, 38, func(f metrics.ExploitableFinding) any { return f.FindingID }},
		{"Asset", Text, 40, func(f metrics.ExploitableFinding) any { return f.Asset }},
		{"Team", Text, 18, func(f metrics.ExploitableFinding) any { return f.Team }},
		{"Severity", Text, 10, func(f metrics.ExploitableFinding) any { return f.Severity }},
		{"CVE", Text, 17, func(f metrics.ExploitableFinding) any { return f.CVE }},
		{"KEV", Flag, 6, func(f metrics.ExploitableFinding) any { return f.KEV }},
		{"EPSS", Share, 8, func(f metrics.ExploitableFinding) any { return f.EPSS }},
		{"First seen", Time, 17, func(f metrics.ExploitableFinding) any { return f.FirstSeen }},
	}
)

// Headers returns the columns' headers.
func Headers[T any](cols []Column[T]) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Header
	}
	return out
}

// WriteListCSV writes a drill-down list as CSV: a header row, then one row
// per item, every text field neutralized (SafeText), times in loc. Use it
// for "?format=csv" with the *Columns of the list, e.g.
//
//	reports.WriteListCSV(w, loc, reports.OverdueColumns, reports.Items(list))
func WriteListCSV[T any](w io.Writer, loc *time.Location, cols []Column[T], items iter.Seq2[T, error]) error {
	rows := func(yield func([]any, error) bool) {
		for it, err := range items {
			if err != nil {
				yield(nil, err)
				return
			}
			row := make([]any, len(cols))
			for i, c := range cols {
				row[i] = csvValue(c.Format, c.Value(it))
			}
			if !yield(row, nil) {
				return
			}
		}
	}
	return WriteCSV(w, loc, Headers(cols), rows)
}

// Items adapts a slice to the sequence WriteListCSV takes.
func Items[T any](items []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
	}
}

func csvValue(f Format, v any) any {
	if f == Flag {
		if b, ok := v.(bool); ok && b {
			return "yes"
		}
		return ""
	}
	return v
}

// ScorecardColumns are the columns of the scorecard CSV: one row per value
// of every KPI (every measure and slice) of the period.
var ScorecardColumns = []string{"period", "kpi", "definition", "measure", "slice", "value", "unit", "target", "status",
	"previous_period", "previous", "change", "relative_change_percent", "n", "note", "stale"}

// ScorecardCSV writes every KPI value of q's period and scope as CSV
// (ScorecardColumns), with the comparison with the previous period. Values
// are in the KPI's unit (percentages 0–100, durations as numbers in
// days, hours or minutes); text is neutralized (SafeText). A zero period
// means DefaultPeriod. The scheduled exports in format csv write it.
func (r *Reports) ScorecardCSV(ctx context.Context, w io.Writer, q WorkbookQuery) error {
	p := q.Period
	if p.From.IsZero() && p.To.IsZero() {
		var err error
		if p, err = r.DefaultPeriod(); err != nil {
			return err
		}
	}
	sc, err := r.e.Scorecard(ctx, metrics.ScorecardQuery{Period: p, Filter: q.Filter, Scope: q.Scope})
	if err != nil {
		return err
	}
	rows := func(yield func([]any, error) bool) {
		for _, res := range sc.Results {
			d := definition(res)
			for _, g := range res.Groups {
				for _, v := range g.Values {
					var rel *float64
					if v.RelativeChange != nil {
						x := 100 * *v.RelativeChange
						rel = &x
					}
					target := ""
					if v.Target != nil {
						target = strings.TrimSpace(v.Target.Op + " " + strconv.FormatFloat(v.Target.Value, 'f', -1, 64))
					}
					var n any = v.N
					row := []any{sc.Period.Name, d.Title, d.ID, v.Measure, v.Slice, v.Value, string(v.Unit), target, string(v.Status),
						sc.Previous.Name, v.Previous, v.Change, rel, n, v.Note, res.Stale}
					if !yield(row, nil) {
						return
					}
				}
			}
		}
	}
	return WriteCSV(w, r.Location(), ScorecardColumns, rows)
}

// ListNames are the drill-down lists ListCSV writes.
var ListNames = []string{"overdue", "uncovered", "rules", "exploitable"}

// ListCSV writes one of the QBR's drill-down lists as of q's period end, in
// q's scope and filter, as CSV (the lists' *Columns): "overdue" (open
// findings past due), "uncovered" (assets without a recent scan of every
// required kind), "rules" (detection rules, noisiest first) or
// "exploitable" (open findings in KEV or above the EPSS threshold). These
// are the exact lists behind the numbers, where the API's own lists show
// the current state. It returns a *metrics.InputError for an unknown list
// or a bad query.
func (r *Reports) ListCSV(ctx context.Context, w io.Writer, list string, q metrics.ListQuery) error {
	loc := r.Location()
	switch list {
	case "overdue":
		rows, err := r.e.OverdueFindings(ctx, q)
		if err != nil {
			return err
		}
		return WriteListCSV(w, loc, OverdueColumns, Items(rows))
	case "uncovered":
		rows, err := r.e.UncoveredAssets(ctx, q)
		if err != nil {
			return err
		}
		return WriteListCSV(w, loc, UncoveredColumns, Items(rows))
	case "rules":
		rows, err := r.e.NoisiestRules(ctx, q)
		if err != nil {
			return err
		}
		return WriteListCSV(w, loc, RuleColumns, Items(rows))
	case "exploitable":
		rows, err := r.e.ExploitableFindings(ctx, q)
		if err != nil {
			return err
		}
		return WriteListCSV(w, loc, ExploitableColumns, Items(rows))
	}
	return &metrics.InputError{Field: "list", Message: strconv.Quote(list) + ": want one of " + strings.Join(ListNames, ", ")}
}
