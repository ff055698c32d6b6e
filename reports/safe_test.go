package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/metrics"
)

func TestSafeText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"payments", "payments"},
		{`=HYPERLINK("http://x","y")`, `'=HYPERLINK("http://x","y")`},
		{`+cmd|' /C calc'!A0`, `'+cmd|' /C calc'!A0`},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"a=b", "a=b"},
		{" =x", " =x"},
		{"'already", "'already"},
	} {
		if got := SafeText(c.in); got != c.want {
			t.Errorf("SafeText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := strings.Repeat("é", maxCellText)
	if got := cellText(long); len(got) > maxCellText || !strings.HasSuffix(got, "[truncated]") {
		t.Errorf("long text: %d bytes", len(got))
	}
}

// TestWriteCSV: text neutralized, numbers (negative ones too) kept as
// numbers, times in the zone given, NaN and nil empty, errors passed on.
func TestWriteCSV(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := time.Date(2026, 9, 30, 22, 0, 0, 0, time.UTC)
	neg := -3.5
	rows := Rows([][]any{
		{formulaRule, -3.5, &neg, 42, uint64(7), at, true},
		{"-5", math.NaN(), (*float64)(nil), nil, int64(-2), &at, false},
	}, func(r []any) []any { return r })
	var buf bytes.Buffer
	if err := WriteCSV(&buf, berlin, []string{"name", "a", "b", "c", "d", "time", "flag"}, rows); err != nil {
		t.Fatal(err)
	}
	want := "name,a,b,c,d,time,flag\r\n" +
		`"'=HYPERLINK(""http://x"",""y"")",-3.5,-3.5,42,7,2026-10-01T00:00:00+02:00,true` + "\r\n" +
		"'-5,,,,-2,2026-10-01T00:00:00+02:00,false\r\n"
	if buf.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", buf.String(), want)
	}
	boom := errors.New("boom")
	err := WriteCSV(&bytes.Buffer{}, nil, []string{"x"}, func(yield func([]any, error) bool) { yield(nil, boom) })
	if !errors.Is(err, boom) {
		t.Errorf("error from the rows: %v", err)
	}
}

func TestWriteListCSV(t *testing.T) {
	p := 12.5
	var buf bytes.Buffer
	rules := []metrics.RuleStat{{RuleID: "R-5", RuleName: formulaRule, Closed: 10, FalsePositive: 6, Precision: &p}, {RuleID: "@x", RuleName: "ok"}}
	if err := WriteListCSV(&buf, time.UTC, RuleColumns, Items(rules)); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || strings.Join(recs[0], "|") != "Rule|Rule name|Closed|True positive|Benign positive|False positive|Unclassified|Precision" {
		t.Fatalf("records %q", recs)
	}
	if recs[1][1] != "'"+formulaRule || recs[1][7] != "12.5" || recs[2][0] != "'@x" || recs[2][7] != "" {
		t.Errorf("rows %q", recs[1:])
	}
}

// TestChartJSON: data strings cannot end the script element or become
// JavaScript through go-echarts' "__f__" marker; the value is unchanged
// for JSON.parse.
func TestChartJSON(t *testing.T) {
	for _, s := range []string{xssTeam, markerTeam, "__f__", "___f___", "a&b", "\u2028", `"__f__function(){alert(1)}__f__"`} {
		b, err := chartJSON(map[string]any{"name": s, "data": []any{1, nil}})
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if bytes.ContainsAny(b, "<>&") || bytes.Contains(b, []byte("__f__")) || bytes.Contains(b, []byte("\u2028")) {
			t.Errorf("%q marshals to %s", s, b)
		}
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil || back["name"] != s {
			t.Errorf("%q round trip: %v %v", s, back["name"], err)
		}
	}
	if _, err := chartJSON(map[string]any{"v": math.NaN()}); err == nil {
		t.Error("NaN marshalled: it must be null before")
	}
	nan := math.NaN()
	if num(&nan) != nil || point(metrics.Days, &nan) != nil {
		t.Error("NaN is not null")
	}
	x := 11.229166666
	if p := point(metrics.Days, &x); p == nil || *p != 11.23 {
		t.Errorf("point rounds to the displayed decimals: %v", p)
	}
	pr := 0.938
	if p := point(metrics.Probability, &pr); p == nil || *p != 93.8 {
		t.Errorf("probability as a percentage: %v", p)
	}
}

// TestViewsCoverCatalog: every KPI has a view, every line a measure it
// reports, every sheet name fits Excel.
func TestViewsCoverCatalog(t *testing.T) {
	sheets := map[string]bool{}
	for _, d := range metrics.Catalog() {
		v, ok := views[d.Name]
		if !ok {
			t.Errorf("%s has no view", d.ID)
			continue
		}
		if len(v.Sheet) > 31 || strings.ContainsAny(v.Sheet, `[]:*?/\`) || sheets[v.Sheet] {
			t.Errorf("%s: bad or duplicate sheet name %q", d.ID, v.Sheet)
		}
		sheets[v.Sheet] = true
		for _, l := range append(append([]line{}, v.Lines...), teamLines(v)...) {
			if _, ok := d.Measure(l.Measure); !ok {
				t.Errorf("%s: view names measure %q it does not report", d.ID, l.Measure)
			}
		}
		if len(v.Lines) == 0 {
			t.Errorf("%s: no headline", d.ID)
		}
	}
	for _, s := range []string{sheetSummary, sheetTeams, sheetOverdue, sheetUncovered, sheetRules, sheetExploitable, sheetMethod} {
		if sheets[s] {
			t.Errorf("sheet %q used twice", s)
		}
	}
}

func teamLines(v view) []line {
	var out []line
	for _, l := range v.Team {
		out = append(out, l.line)
	}
	return out
}

func TestFormat(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	for _, c := range []struct{ got, want string }{
		{formatValue(metrics.Days, f(1234.5)), "1,234.50 d"},
		{formatValue(metrics.Percent, f(74.54)), "74.5 %"},
		{formatValue(metrics.Probability, f(0.938)), "93.8 %"},
		{formatValue(metrics.Count, f(-2)), "−2"},
		{formatValue(metrics.Hours, nil), "–"},
		{formatChange(metrics.Percent, f(-10.72)), "−10.7 pp"},
		{formatChange(metrics.Days, f(0.001)), "±0.00 d"},
		{formatChange(metrics.Count, f(15)), "+15"},
		{formatTarget(metrics.Percent, &metrics.Target{Op: ">=", Value: 90}), "≥ 90.0 %"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	d, _ := metrics.Lookup("sla_adherence")
	ch := -3.0
	if changeTrend(d, metrics.Value{Measure: "closed_within_sla", Change: &ch}) != worse || changeTrend(d, metrics.Value{Measure: "open_overdue", Change: &ch}) != better {
		t.Error("direction of good")
	}
}
