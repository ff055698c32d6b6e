package reports

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/secmetrics/secmetrics/metrics"
)

// testWorkbook writes the QBR workbook and reads it back with excelize:
// sheets, values against the engine's, status fills, number formats,
// charts, frozen headers, autofilters, document properties, times in the
// reporting zone, and no formula anywhere even for hostile names.
func testWorkbook(t *testing.T, fx *fixture) []byte {
	ctx := context.Background()
	r := fx.reports()
	p := fx.period(t, "2026-Q3")
	var buf bytes.Buffer
	if err := r.Workbook(ctx, &buf, WorkbookQuery{Period: p}); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(artifactDir(t), "qbr.xlsx"), buf.Bytes(), 0o644)
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// Sheets, in order.
	want := []string{sheetSummary, sheetTeams}
	for _, d := range metrics.Catalog() {
		want = append(want, sheetName(d.Name))
	}
	want = append(want, sheetOverdue, sheetUncovered, sheetRules, sheetExploitable, sheetMethod)
	if got := f.GetSheetList(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("sheets\n got %q\nwant %q", got, want)
	}

	// Summary: every headline value as the engine computed it, with its
	// status colour and number format.
	res, err := fx.engine.Compute(ctx, metrics.Query{KPI: "vuln_mttr", Period: p, Compare: true})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows(sheetSummary, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	hdr := -1
	for i, row := range rows {
		if len(row) > 0 && row[0] == "KPI" {
			hdr = i
		}
	}
	if hdr < 0 || strings.Join(rows[hdr], "|") != "KPI|Definition|Measure|Slice|Value|Unit|Target|Status|Previous|Change|Change %|n|Note|Data freshness" {
		t.Fatalf("summary header: %q", rows[max(hdr, 0)])
	}
	checked := 0
	statuses := map[metrics.Status]bool{}
	for i, row := range rows[hdr+1:] {
		if len(row) < 12 {
			continue
		}
		cell := func(col int) string { c, _ := excelize.CoordinatesToCellName(col, hdr+2+i); return c }
		id, measure, slice := row[1], row[2], row[3]
		d, ok := metrics.Lookup(id)
		if !ok {
			t.Fatalf("summary row %d: unknown definition %q", hdr+2+i, id)
		}
		var v *metrics.Value
		for _, l := range views[d.Name].Lines {
			if measureLabel(l.Measure) == measure && l.Slice == slice && d.Name == "vuln_mttr" {
				v = value(res.Groups, "", l.Measure, l.Slice)
			}
		}
		// The status fill is the status's colour.
		status := metrics.Status("")
		for s, l := range statusLabels {
			if l == row[7] {
				status = s
			}
		}
		if status == "" {
			t.Errorf("row %d: status %q", hdr+2+i, row[7])
			continue
		}
		statuses[status] = true
		st := styleOf(t, f, sheetSummary, cell(8))
		if len(st.Fill.Color) != 1 || !strings.EqualFold(st.Fill.Color[0], statusFill[status][0]) {
			t.Errorf("%s %s %s: status %s filled %v, want %s", id, measure, slice, status, st.Fill.Color, statusFill[status][0])
		}
		m, _ := d.Measure(measureKey(d, measure))
		vs := styleOf(t, f, sheetSummary, cell(5))
		if vs.CustomNumFmt == nil || *vs.CustomNumFmt != numFmt(m.Unit) {
			t.Errorf("%s %s: value format %v, want %s", id, measure, vs.CustomNumFmt, numFmt(m.Unit))
		}
		if v != nil {
			checked++
			got, _ := strconv.ParseFloat(row[4], 64)
			if v.Value == nil || math.Abs(got-*v.Value) > 1e-9 {
				t.Errorf("%s %s %s: workbook %s, engine %v", id, measure, slice, row[4], v.Value)
			}
		}
	}
	if checked < 4 {
		t.Errorf("compared %d summary values with the engine, want the vuln_mttr headlines", checked)
	}
	for _, s := range []metrics.Status{metrics.Green, metrics.Red, metrics.NoTarget, metrics.InsufficientData} {
		if !statuses[s] {
			t.Errorf("no %s status in the summary: the fixture should exercise every fill", s)
		}
	}

	// A negative change is a number, not neutralized text.
	negative := false
	for i, row := range rows[hdr+1:] {
		if len(row) > 9 && strings.HasPrefix(row[9], "-") {
			c, _ := excelize.CoordinatesToCellName(10, hdr+2+i)
			if ct, _ := f.GetCellType(sheetSummary, c); ct != excelize.CellTypeNumber && ct != excelize.CellTypeUnset {
				t.Errorf("negative change %s is %v, want a number", c, ct)
			}
			if _, err := strconv.ParseFloat(row[9], 64); err != nil {
				t.Errorf("negative change %s = %q", c, row[9])
			}
			negative = true
		}
	}
	if !negative {
		t.Error("no negative change in the summary to check")
	}

	// Percentages are fractions with a percent format.
	cov := rowWith(t, f, "Scan coverage", "Coverage", "all")
	if cov == nil {
		t.Fatal("scan coverage row missing on its sheet")
	}
	if x, _ := strconv.ParseFloat(cov[2], 64); x <= 0 || x > 1 {
		t.Errorf("coverage cell %q: want a fraction", cov[2])
	}

	// Charts: one native chart per KPI sheet.
	xml := zipFiles(t, buf.Bytes())
	charts := 0
	for name := range xml {
		if strings.HasPrefix(name, "xl/charts/chart") {
			charts++
		}
	}
	if charts != len(metrics.Catalog()) {
		t.Errorf("%d charts, want one per KPI (%d)", charts, len(metrics.Catalog()))
	}
	for name, body := range xml {
		if strings.HasPrefix(name, "xl/charts/chart") && !strings.Contains(body, "<lineChart>") && !strings.Contains(body, "<barChart>") {
			t.Errorf("%s: neither a line nor a column chart", name)
		}
	}

	// No formula in any cell of any sheet.
	formula := regexp.MustCompile(`<f[ >]`)
	for name, body := range xml {
		if strings.HasPrefix(name, "xl/worksheets/") && formula.MatchString(body) {
			t.Errorf("%s contains a formula", name)
		}
	}
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for ri, row := range rows {
			for ci, v := range row {
				c, _ := excelize.CoordinatesToCellName(ci+1, ri+1)
				if fm, _ := f.GetCellFormula(sheet, c); fm != "" {
					t.Errorf("%s!%s has formula %q", sheet, c, fm)
				}
				if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
					if ct, _ := f.GetCellType(sheet, c); ct == excelize.CellTypeSharedString || ct == excelize.CellTypeInlineString {
						t.Errorf("%s!%s: text %q starts with a formula character", sheet, c, v)
					}
				}
			}
		}
	}
	// The hostile names are there, as text with a leading apostrophe.
	if !sheetHas(t, f, sheetRules, "'"+formulaRule) {
		t.Errorf("rule %q not written neutralized on %s", formulaRule, sheetRules)
	}
	if !sheetHas(t, f, sheetTeams, "'"+formulaTeam) || !sheetHas(t, f, sheetTeams, xssTeam) {
		t.Errorf("hostile team names not written as text on %s", sheetTeams)
	}

	// Frozen headers, autofilters, widths.
	for _, s := range []string{sheetSummary, sheetTeams, sheetOverdue, sheetUncovered, sheetRules, sheetExploitable} {
		if p, err := f.GetPanes(s); err != nil || !p.Freeze || p.YSplit < 1 {
			t.Errorf("%s: panes %+v, %v: want a frozen header", s, p, err)
		}
	}
	for _, s := range []string{sheetSummary, sheetOverdue, sheetExploitable} {
		if !strings.Contains(xml[sheetPath(t, f, xml, s)], "<autoFilter ref=") {
			t.Errorf("%s: no autofilter", s)
		}
	}
	if w, _ := f.GetColWidth(sheetOverdue, "B"); w != 40 {
		t.Errorf("%s column B width %v, want 40", sheetOverdue, w)
	}

	// Drill-down lists: times in the reporting zone, days as numbers.
	over, err := fx.engine.OverdueFindings(ctx, metrics.ListQuery{Period: p, Limit: listLimit})
	if err != nil {
		t.Fatal(err)
	}
	lrows, _ := f.GetRows(sheetOverdue, excelize.Options{RawCellValue: true})
	if len(lrows) != len(over)+3 {
		t.Fatalf("%s: %d rows, want %d findings + 3", sheetOverdue, len(lrows), len(over))
	}
	if len(over) > 0 {
		serial, _ := strconv.ParseFloat(lrows[3][7], 64)
		due, _ := excelize.ExcelDateToTime(serial, false)
		local := over[0].Due.In(fx.engine.Location())
		if !due.Equal(time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), 0, time.UTC)) {
			t.Errorf("due %v in the sheet, want the wall clock of %v", due, local)
		}
		if d, _ := strconv.ParseFloat(lrows[3][8], 64); math.Abs(d-over[0].DaysOverdue) > 1e-9 {
			t.Errorf("days overdue %v, want %v", lrows[3][8], over[0].DaysOverdue)
		}
		if st := styleOf(t, f, sheetOverdue, "H4"); st.CustomNumFmt == nil || *st.CustomNumFmt != fmtTime {
			t.Errorf("due format %v", st.CustomNumFmt)
		}
		if st := styleOf(t, f, sheetOverdue, "I4"); st.CustomNumFmt == nil || *st.CustomNumFmt != "0.00" {
			t.Errorf("days format %v", st.CustomNumFmt)
		}
	}

	// Document properties and the Method sheet.
	props, err := f.GetDocProps()
	if err != nil {
		t.Fatal(err)
	}
	if props.Creator != "secmetrics" || !strings.Contains(props.Title, "2026-Q3") || props.Created != fixtureNow.Format(time.RFC3339) || props.Subject == "" {
		t.Errorf("document properties %+v", props)
	}
	for _, want := range []string{fixtureZone, "secmetrics v-test", "2026-10-02 09:00:00 CEST", "vuln_mttr@1", "2026-06-30T22:00:00Z"} {
		if !sheetHas(t, f, sheetMethod, want) {
			t.Errorf("Method sheet lacks %q", want)
		}
	}
	return buf.Bytes()
}

// measureKey maps a measure label back to its name.
func measureKey(d metrics.Definition, label string) string {
	for _, m := range d.Measures {
		if measureLabel(m.Name) == label {
			return m.Name
		}
	}
	return label
}

func styleOf(t *testing.T, f *excelize.File, sheet, cell string) *excelize.Style {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func rowWith(t *testing.T, f *excelize.File, sheet string, cells ...string) []string {
	rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		if len(row) >= len(cells) && slicesHasPrefix(row, cells) {
			return row
		}
	}
	return nil
}

func slicesHasPrefix(row, prefix []string) bool {
	for i, p := range prefix {
		if row[i] != p {
			return false
		}
	}
	return true
}

func sheetHas(t *testing.T, f *excelize.File, sheet, text string) bool {
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		for _, v := range row {
			if strings.Contains(v, text) {
				return true
			}
		}
	}
	return false
}

func zipFiles(t *testing.T, b []byte) map[string]string {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		out[zf.Name] = string(body)
	}
	return out
}

// sheetPath finds the worksheet part of a sheet through the workbook's
// relationships.
func sheetPath(t *testing.T, f *excelize.File, xml map[string]string, sheet string) string {
	t.Helper()
	idx, err := f.GetSheetIndex(sheet)
	if err != nil || idx < 0 {
		t.Fatalf("sheet %s: %v", sheet, err)
	}
	re := regexp.MustCompile(`<sheet name="` + regexp.QuoteMeta(sheet) + `" sheetId="\d+" r:id="(rId\d+)"`)
	m := re.FindStringSubmatch(xml["xl/workbook.xml"])
	if m == nil {
		t.Fatalf("sheet %s not in workbook.xml", sheet)
	}
	rel := regexp.MustCompile(`Id="` + m[1] + `"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="` + m[1] + `"`).FindStringSubmatch(xml["xl/_rels/workbook.xml.rels"])
	if rel == nil {
		t.Fatalf("no relationship %s", m[1])
	}
	target := rel[1] + rel[2]
	return "xl/" + strings.TrimPrefix(target, "/xl/")
}

// testWorkbookLibreOffice opens the workbook with LibreOffice (headless)
// and converts it to PDF: the file must open and print cleanly.
func testWorkbookLibreOffice(t *testing.T, book []byte) {
	soffice := requireTool(t, "apt-get install -y libreoffice-calc-nogui (Debian)", "soffice", "libreoffice")
	dir := t.TempDir()
	in := filepath.Join(dir, "qbr.xlsx")
	if err := os.WriteFile(in, book, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, soffice, "--headless", "--norestore", "--nolockcheck", "--nodefault",
		"-env:UserInstallation=file://"+filepath.Join(dir, "profile"), "--convert-to", "pdf", "--outdir", dir, in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	if strings.Contains(strings.ToLower(string(out)), "error") {
		t.Errorf("soffice reported an error:\n%s", out)
	}
	pdf, err := os.ReadFile(filepath.Join(dir, "qbr.pdf"))
	if err != nil {
		t.Fatalf("no PDF: %v\n%s", err, out)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF")) || len(pdf) < 20_000 {
		t.Errorf("PDF of %d bytes", len(pdf))
	}
	pages := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(pdf, -1))
	if pages < 23 || pages > 60 {
		t.Errorf("PDF has %d pages, want one or two per sheet", pages)
	}
	_ = os.WriteFile(filepath.Join(artifactDir(t), "qbr-libreoffice.pdf"), pdf, 0o644)
	t.Logf("LibreOffice: %d-byte PDF, %d pages", len(pdf), pages)
}
