package reports

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/secmetrics/secmetrics/metrics"
)

// testWorkbookOverdue checks the streamed Overdue findings sheet of book
// row by row against the engine's list: same findings in the same order,
// every column's value, times as the wall clock of the reporting zone, and
// the formula team's name neutralized (a leading apostrophe) in its Team
// cells. The fixture must have overdue findings of that team, so the check
// cannot pass vacuously.
func testWorkbookOverdue(t *testing.T, fx *fixture, book []byte) {
	ctx := context.Background()
	p := fx.period(t, "2026-Q3")
	over, err := fx.engine.OverdueFindings(ctx, metrics.ListQuery{Period: p, Limit: listLimit})
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(book))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(sheetOverdue, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(over)+3 {
		t.Fatalf("%s: %d rows, want %d findings + 3", sheetOverdue, len(rows), len(over))
	}
	wantHeader := []string{"Finding", "Asset", "Team", "Tier", "Severity", "Source", "First seen", "Due", "Days overdue", "KEV"}
	if d := cmp.Diff(wantHeader, rows[2]); d != "" {
		t.Errorf("header (-want +got):\n%s", d)
	}
	if want := strconv.Itoa(len(over)) + " rows."; !bytes.HasSuffix([]byte(cellAt(rows, 1, 0)), []byte(want)) {
		t.Errorf("note %q does not end with %q", cellAt(rows, 1, 0), want)
	}
	loc := fx.engine.Location()
	wall := func(tm time.Time) time.Time {
		l := tm.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
	}
	neutralized := 0
	for i, o := range over {
		row := rows[i+3]
		team := o.Team
		if o.Team == formulaTeam {
			team = "'" + formulaTeam
			neutralized++
		}
		kev := ""
		if o.KEV {
			kev = "yes"
		}
		text := map[int]string{0: o.FindingID, 1: o.Asset, 2: team, 3: strconv.Itoa(int(o.Tier)), 4: o.Severity, 5: o.Source, 9: kev}
		for col, want := range text {
			if got := cellAt(rows, i+3, col); got != want {
				t.Errorf("row %d (%s) column %q: %q, want %q", i+4, o.FindingID, wantHeader[col], got, want)
			}
		}
		for col, want := range map[int]time.Time{6: o.FirstSeen, 7: o.Due} {
			serial, err := strconv.ParseFloat(cellAt(rows, i+3, col), 64)
			if err != nil {
				t.Errorf("row %d column %q: %v", i+4, wantHeader[col], err)
				continue
			}
			got, _ := excelize.ExcelDateToTime(serial, false)
			if d := got.Sub(wall(want)); d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("row %d column %q: %v, want %v", i+4, wantHeader[col], got, wall(want))
			}
		}
		if d, err := strconv.ParseFloat(cellAt(rows, i+3, 8), 64); err != nil || math.Abs(d-o.DaysOverdue) > 1e-9 {
			t.Errorf("row %d days overdue %q, want %v", i+4, cellAt(rows, i+3, 8), o.DaysOverdue)
		}
		if len(row) > len(wantHeader) {
			t.Errorf("row %d has %d cells, want at most %d", i+4, len(row), len(wantHeader))
		}
	}
	if neutralized == 0 {
		t.Errorf("no overdue finding of team %q in the fixture: the neutralization is not exercised", formulaTeam)
	}
}

// cellAt returns rows[r][c], "" where GetRows left the cell out (trailing
// empty cells).
func cellAt(rows [][]string, r, c int) string {
	if r >= len(rows) || c >= len(rows[r]) {
		return ""
	}
	return rows[r][c]
}

// testCollectResults checks that the KPIs the QBR shows, read in one
// scorecard with the trend, are the results Compute returns for each KPI
// with the comparison and the same trend.
func testCollectResults(t *testing.T, fx *fixture) {
	ctx := context.Background()
	p := fx.period(t, "2026-Q3")
	q, err := fx.reports().collect(ctx, p, metrics.Scope{}, metrics.Filter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defs := metrics.Catalog()
	if len(q.Results) != len(defs) {
		t.Fatalf("%d results, want %d", len(q.Results), len(defs))
	}
	for i, d := range defs {
		want, err := fx.engine.Compute(ctx, metrics.Query{KPI: d.ID, Period: p, Compare: true, Trend: TrendPeriods})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, q.Results[i]); diff != "" {
			t.Errorf("%s (-Compute +collect):\n%s", d.ID, diff)
		}
	}
	// A filter some KPI cannot apply is still an input error, as Compute
	// made it when the workbook ran one per KPI.
	f := metrics.Filter{Severities: []string{"critical"}}
	lacking := ""
	for _, d := range defs {
		if !slices.Contains(d.GroupBys, "severity") {
			lacking = d.ID
		}
	}
	if lacking == "" {
		t.Fatal("every KPI has a severity dimension: pick another filter")
	}
	if _, err := fx.reports().collect(ctx, p, metrics.Scope{}, f, 0); !metrics.IsInputError(err) {
		t.Errorf("severity filter (%s lacks it): %v, want an input error", lacking, err)
	}
}
