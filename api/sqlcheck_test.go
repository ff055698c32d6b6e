package api

import (
	"context"
	"strings"
	"testing"

	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

// TestSQLRunsEverywhere runs every API statement with filters, cursors
// and a team scope on 18.16 (chtest) and, with SECMETRICS_CHDB_CHECK set,
// the same bound statements on current ClickHouse.
func TestSQLRunsEverywhere(t *testing.T) {
	e := newEnv(t, nil)
	f := loadFixture(t, e)
	rec := &chtest.Recorder{DB: e.db}
	e.srv.db = rec
	all := e.token("all", []string{"*"}, Admin)
	alpha := e.token("alpha", []string{"alpha"}, ReadFindings, ReadKPIs)
	paths := []string{
		"/api/v1/findings?limit=1&sort=-severity&team=alpha&state=open&status=none&kind=sast&overdue=true&kev=false&cve=CVE-1&rule=r&tier=1&severity=high&business_unit=payments&asset=repo-a&source=semgrep",
		"/api/v1/findings?limit=1&sort=epss", "/api/v1/findings?limit=1&sort=due", "/api/v1/findings/" + f.ids["a1"],
		"/api/v1/alerts?limit=1&disposition=none&rule=r-1&closed=false&from=2026-01-01&to=2027-01-01&severity=high",
		"/api/v1/alerts?limit=1&sort=severity", "/api/v1/tickets?limit=1&kind=security_debt&state=new&project=SEC",
		"/api/v1/tickets?limit=1&sort=-updated", "/api/v1/assets?limit=1&covered=false&active=true&kind=repository",
		"/api/v1/assets?limit=1&sort=-last_scan", "/api/v1/sources", "/api/v1/audit?limit=1&route=/api/v1/findings&status=200&method=GET",
	}
	for _, p := range paths {
		for _, tok := range []string{all, alpha} {
			r := e.get(p, tok)
			if r.Code != 200 && !(r.Code == 403 && strings.Contains(p, "audit")) {
				t.Fatalf("%s: %d %s", p, r.Code, r.body)
			}
			var page struct {
				Next string `json:"next_cursor"`
			}
			r.json(t, &page)
			if page.Next != "" {
				want(t, e.get(p+"&cursor="+page.Next, tok), 200)
			}
		}
	}
	// The SLA options that add joins to the findings statement.
	e2 := newEnvMetrics(t, chtest.New(t), nil, metrics.Config{SLA: metrics.SLAPolicy{KEVDueDateCap: true, RestartOnReopen: true}})
	f2 := loadFixture(t, e2)
	e2.srv.db = &chtest.Recorder{DB: e2.db}
	tok2 := e2.token("all", []string{"*"}, ReadFindings)
	want(t, e2.get("/api/v1/findings?kev=false&overdue=true&sort=due", tok2), 200)
	want(t, e2.get("/api/v1/findings/"+f2.ids["a1"], tok2), 200)
	rec.SQL = append(rec.SQL, e2.srv.db.(*chtest.Recorder).SQL...)
	ctx := context.Background()
	var n []struct {
		Asset string `ch:"asset"`
		Team  string `ch:"team"`
	}
	sql := queries.SQL("api/asset_teams.sql")
	if err := rec.Select(ctx, &n, sql, clickhouseNamed("assets", []string{"repo-a"}), clickhouseNamed("now", testNow)); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.ReadDataVersion(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rec.SQL = append(rec.SQL, queries.SQL("api/tokens.sql"))
	chtest.CheckCurrent(t, rec.SQL)
}
