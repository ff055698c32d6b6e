package api

import (
	"net/url"
	"strings"
	"testing"
)

// TestMalformedParameters: bad dates, unknown KPIs, SQL-looking strings,
// huge values, negative limits and bad cursors are 400 problems naming
// the parameter, never 500, and nothing internal leaks.
func TestMalformedParameters(t *testing.T) {
	e := newEnv(t, nil)
	f := loadFixture(t, e)
	tok := e.token("fuzzer", []string{"*"}, Admin)
	sqlish := url.QueryEscape("' OR 1=1 --")
	long := strings.Repeat("a", 300)
	cases := []struct{ path, param string }{
		{"/api/v1/kpis/vuln_mttr", "period"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q5", "period"},
		{"/api/v1/kpis/vuln_mttr?period=2026-13", "period"},
		{"/api/v1/kpis/vuln_mttr?period=2026-W54", "period"},
		{"/api/v1/kpis/vuln_mttr?period=" + sqlish, "period"},
		{"/api/v1/kpis/vuln_mttr?period=9999-Q1", "period"},
		{"/api/v1/kpis/vuln_mttr?period=1970-Q1", "period"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&period=2026-Q2", "period"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&from=2026-01-01&to=2026-02-01", "period"},
		{"/api/v1/kpis/vuln_mttr?period=2026-01-01/2026-02-01", "period"},
		{"/api/v1/kpis/vuln_mttr?from=2026-02-30&to=2026-03-01", "from"},
		{"/api/v1/kpis/vuln_mttr?from=2026-03-01", "to"},
		{"/api/v1/kpis/vuln_mttr?from=2026-03-01&to=2026-02-01", "to"},
		{"/api/v1/kpis/vuln_mttr?from=0001-01-01&to=2026-02-01", "from"},
		{"/api/v1/kpis/vuln_mttr?from=2026-01-01&to=99999-01-01", "to"},
		{"/api/v1/kpis/nope?period=2026-Q3", "id"},
		{"/api/v1/kpis/" + sqlish + "?period=2026-Q3", "id"},
		{"/api/v1/kpis/vuln_mttr@99?period=2026-Q3", "id"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&group_by=" + sqlish, "group_by"},
		{"/api/v1/kpis/scan_coverage?period=2026-Q3&group_by=severity", "group_by"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&trend=121", "trend"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&trend=-1", "trend"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&trend=99999999999999999999", "trend"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&compare=maybe", "compare"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&tier=5", "tier"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&tier=" + sqlish, "tier"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&severity=" + sqlish, "severity"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&team=" + long, "team"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&team=a%00b", "team"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&team=" + manyTeams(101), "team"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&teams=alpha", "teams"},
		{"/api/v1/kpis/vuln_mttr?period=2026-Q3&asset=%ff%fe", "asset"},
		{"/api/v1/scorecard", "period"},
		{"/api/v1/scorecard?period=" + sqlish, "period"},
		{"/api/v1/scorecard?period=2026-Q3&group_by=nope", "group_by"},
		{"/api/v1/kpis?x=1", "x"},
		{"/api/v1/findings?limit=-1", "limit"},
		{"/api/v1/findings?limit=0", "limit"},
		{"/api/v1/findings?limit=1000000", "limit"},
		{"/api/v1/findings?limit=" + sqlish, "limit"},
		{"/api/v1/findings?sort=" + sqlish, "sort"},
		{"/api/v1/findings?sort=finding_id;DROP", "query"},
		{"/api/v1/findings?sort=%zz", "query"},
		{"/api/v1/findings?cursor=" + sqlish, "cursor"},
		{"/api/v1/findings?cursor=eyJxIjoiIn0.AAAA", "cursor"},
		{"/api/v1/findings?cursor=" + long, "cursor"},
		{"/api/v1/findings?state=" + sqlish, "state"},
		{"/api/v1/findings?status=accepted", "status"},
		{"/api/v1/findings?kind=sast,web", "kind"},
		{"/api/v1/findings?overdue=yes", "overdue"},
		{"/api/v1/findings?kev=2", "kev"},
		{"/api/v1/findings?format=xml", "format"},
		{"/api/v1/findings?period=2026-Q3", "period"},
		{"/api/v1/findings/" + sqlish, "id"},
		{"/api/v1/findings/" + f.ids["a1"] + "x", "id"},
		{"/api/v1/findings/" + f.ids["a1"] + "?verbose=1", "verbose"},
		{"/api/v1/alerts?from=yesterday", "from"},
		{"/api/v1/alerts?disposition=" + sqlish, "disposition"},
		{"/api/v1/alerts?closed=" + sqlish, "closed"},
		{"/api/v1/alerts?sort=closed", "sort"},
		{"/api/v1/tickets?kind=" + sqlish, "kind"},
		{"/api/v1/tickets?state=open", "state"},
		{"/api/v1/assets?covered=" + sqlish, "covered"},
		{"/api/v1/assets?sort=-" + sqlish, "sort"},
		{"/api/v1/audit?status=600", "status"},
		{"/api/v1/audit?from=2026-01-01&to=2025-01-01", "to"},
		{"/api/v1/sources?team=alpha", "team"},
	}
	for _, c := range cases {
		r := e.get(c.path, tok)
		if r.Code != 400 {
			t.Errorf("%s: %d, want 400: %.300s", c.path, r.Code, r.body)
			continue
		}
		p := r.problem(t)
		if p.Param != c.param || p.Code != CodeInvalidParameter || p.Type != TypePrefix+string(CodeInvalidParameter) || p.Detail == "" {
			t.Errorf("%s: %+v, want param %q", c.path, p, c.param)
		}
		for _, leak := range []string{"clickhouse", "SELECT", "/work/", ".go:", "goroutine", "Code:", ".sql"} {
			if strings.Contains(string(r.body), leak) {
				t.Errorf("%s: the problem leaks %q: %s", c.path, leak, r.body)
			}
		}
	}
	// A SQL-looking value in a free-text filter is just a value: no match.
	for _, p := range []string{"/api/v1/findings?team=" + sqlish, "/api/v1/findings?asset=" + sqlish + "&cve=" + sqlish,
		"/api/v1/alerts?rule=" + sqlish, "/api/v1/kpis/vuln_backlog?period=2026-Q3&team=" + sqlish + "&source=" + sqlish} {
		r := e.get(p, tok)
		want(t, r, 200)
		if strings.Contains(p, "findings") || strings.Contains(p, "alerts") {
			var pg listPage[Finding]
			r.json(t, &pg)
			if len(pg.Items) != 0 {
				t.Errorf("%s matched %d items", p, len(pg.Items))
			}
		}
	}
	if strings.Contains(e.logs.String(), `"level":"ERROR"`) {
		t.Fatalf("malformed input logged an error (an internal failure): %s", e.logs.String())
	}
}

func manyTeams(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("t")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(string(rune('a' + i/26)))
	}
	return b.String()
}
