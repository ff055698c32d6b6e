package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/metrics"
)

// testPages are dashboard pages as package reports would mount them: they
// write the scope and filters they were given, so tests can see what a
// page is asked to render.
func testPages() []Page {
	render := func(ctx context.Context, w io.Writer, h http.Header, q PageQuery) error {
		return json.NewEncoder(w).Encode(map[string]any{"scope": q.Scope.Teams, "filter": q.Filter, "period": q.Period.Name})
	}
	return []Page{
		{Path: "/reports/qbr", Scope: ReadKPIs, ContentType: "text/html; charset=utf-8", Params: []string{"team"}, Render: render},
		{Path: "/exports/qbr.xlsx", Scope: Export, ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", FileName: "qbr.xlsx", Params: filterNames, Render: render},
	}
}

func TestAccessTableCoversRoutes(t *testing.T) {
	e := newEnv(t, func(c *Config) {})
	srv, err := New(e.cfg, nil, nil, WithBackend(Backend{DB: e.db, Metrics: e.eng, Store: e.store, Pages: testPages(),
		Assets: http.FileServer(http.Dir(t.TempDir()))}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	seen := map[string]bool{}
	for _, r := range srv.Engine().Routes() {
		k := r.Method + " " + r.Path
		seen[k] = true
		if _, ok := srv.access[k]; !ok {
			t.Errorf("route %s has no access entry", k)
		}
	}
	for k := range srv.access {
		if !seen[k] {
			t.Errorf("access entry %s has no route", k)
		}
	}
	// A route added behind the table's back is refused, not served.
	srv.Engine().GET("/api/v1/sneaky", func(c *ginContext) { c.String(200, "data") })
	w := httptestDo(srv, "GET", "/api/v1/sneaky", "")
	if w.Code != 500 || strings.Contains(w.Body.String(), "data") {
		t.Fatalf("unlisted route answered %d %s", w.Code, w.Body)
	}
}

// routeCase is a request that succeeds (200) when authorized.
type routeCase struct {
	method, path string
	body         []byte
	header       map[string]string
}

func matrixCases(f fixture) map[string]routeCase {
	return map[string]routeCase{
		"GET /api/v1/kpis":           {path: "/api/v1/kpis"},
		"GET /api/v1/kpis/:id":       {path: "/api/v1/kpis/vuln_backlog?period=2026-Q3"},
		"GET /api/v1/scorecard":      {path: "/api/v1/scorecard?period=2026-Q3"},
		"GET /api/v1/sources":        {path: "/api/v1/sources"},
		"GET /api/v1/findings":       {path: "/api/v1/findings"},
		"GET /api/v1/findings/:id":   {path: "/api/v1/findings/" + f.ids["a1"]},
		"PATCH /api/v1/findings/:id": {method: "PATCH", path: "/api/v1/findings/" + f.ids["a3"], body: []byte(`{"status":"false_positive","reason":"test code"}`)},
		"GET /api/v1/alerts":         {path: "/api/v1/alerts"},
		"POST /api/v1/alerts": {method: "POST", path: "/api/v1/alerts",
			body: []byte(`{"source":"webhook:siem","alerts":[{"id":"G-1","created":"2026-07-20T00:00:00Z","team":"alpha","severity":"high"}]}`)},
		"GET /api/v1/tickets": {path: "/api/v1/tickets"},
		"GET /api/v1/assets":  {path: "/api/v1/assets"},
		"POST /api/v1/scans": {method: "POST", path: "/api/v1/scans?asset=repo-a&time=2026-08-10T09:00:00Z&branch=main",
			body:   sarifReport(result{"go.sql-injection", "error", "db.go", "fp-a1", 10}, result{"go.todo", "note", "main.go", "fp-a3", 30}),
			header: map[string]string{"Content-Type": "application/octet-stream"}},
		"GET /api/v1/audit":        {path: "/api/v1/audit"},
		"GET /api/v1/exports/runs": {path: "/api/v1/exports/runs?limit=5"},
		"GET /metrics":             {path: "/metrics"},
		"GET /reports/qbr":         {path: "/reports/qbr?period=2026-Q3"},
		"GET /exports/qbr.xlsx":    {path: "/exports/qbr.xlsx?period=2026-Q3"},
		"GET /healthz":             {path: "/healthz"},
		"GET /readyz":              {path: "/readyz"},
		"GET /openapi.json":        {path: "/openapi.json"},
		"GET /login":               {path: "/login"},
	}
}

// TestAuthorizationMatrix sends every route's request with no token and
// with a token of each single scope, and checks the status: 401 without a
// token, 403 without the route's scope, 200 with it (admin has every
// scope). Public routes answer 200 to all.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnvPages(t)
	f := loadFixture(t, e)
	cases := matrixCases(f)
	tokens := map[Scope]string{}
	for _, sc := range Scopes {
		tokens[sc] = e.token("only-"+strings.ReplaceAll(string(sc), ":", "-"), []string{"*"}, sc)
	}
	keys := make([]string, 0, len(e.srv.access))
	for k := range e.srv.access {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a := e.srv.access[k]
		if k == "POST /login" || k == "POST /logout" {
			continue // form routes: TestSessions
		}
		rc, ok := cases[k]
		if !ok {
			t.Errorf("no matrix case for %s", k)
			continue
		}
		send := func(token string) resp {
			return e.do(req{method: orGET(rc.method), path: rc.path, token: token, body: rc.body, header: rc.header})
		}
		if a.Scope == "" {
			if r := send(""); r.Code != 200 {
				t.Errorf("%s public: %d %s", k, r.Code, r.body)
			}
			continue
		}
		if r := send(""); r.Code != 401 && !(a.Session && r.Code == 401) {
			t.Errorf("%s without token: %d, want 401", k, r.Code)
		}
		for _, sc := range Scopes {
			r := send(tokens[sc])
			wantCode := 403
			if sc == a.Scope || sc == Admin {
				wantCode = 200
			}
			if r.Code != wantCode {
				t.Errorf("%s with %s: %d, want %d: %.300s", k, sc, r.Code, wantCode, r.body)
			}
		}
	}
	// CSV needs export besides the list's scope.
	rf := e.token("rf", []string{"*"}, ReadFindings)
	both := e.token("rf-export", []string{"*"}, ReadFindings, Export)
	for _, p := range []string{"/api/v1/findings", "/api/v1/alerts", "/api/v1/tickets", "/api/v1/assets"} {
		want(t, e.get(p+"?format=csv", rf), 403)
		want(t, e.do(req{path: p, token: rf, header: map[string]string{"Accept": "text/csv"}}), 403)
		r := e.get(p+"?format=csv", both)
		want(t, r, 200)
		if ct := r.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("%s csv: content type %q", p, ct)
		}
	}
}

func orGET(m string) string {
	if m == "" {
		return "GET"
	}
	return m
}

func newEnvPages(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, nil)
	srv, err := New(e.cfg, slogTo(e.logs), nil, WithClock(e.clk.Now), WithBackend(Backend{DB: e.db, Metrics: e.eng, Store: e.store,
		Pages: testPages()}))
	if err != nil {
		t.Fatal(err)
	}
	_ = e.srv.Close()
	e.srv = srv
	t.Cleanup(func() { _ = srv.Close() })
	return e
}

// betaMarkers are strings only team beta's data contains.
var betaMarkers = regexp.MustCompile(`(?i)beta|repo-b|SEC-2|py\.eval|py\.assert|fp-b|"search"|app\.py|Exfiltration`)

// TestTeamIsolation: a token scoped to team alpha gets nothing of team
// beta through any parameter of any endpoint: filters, group_by, ids,
// trends, lists, counts, CSV, pages and exports, the audit log, ingest.
func TestTeamIsolation(t *testing.T) {
	e := newEnvPages(t)
	f := loadFixture(t, e)
	alpha := e.token("alpha-lead", []string{"alpha"}, ReadKPIs, ReadFindings, Export, Triage, Ingest, Admin)
	all := e.token("ciso", []string{"*"}, ReadKPIs, ReadFindings, Export)
	clean := func(r resp, what string) {
		t.Helper()
		if m := betaMarkers.Find(r.body); m != nil {
			t.Errorf("%s: answer mentions %q: %.400s", what, m, r.body)
		}
	}
	// Lists, with every filter pointing at beta.
	for _, p := range []string{
		"/api/v1/findings", "/api/v1/findings?team=beta", "/api/v1/findings?asset=repo-b", "/api/v1/findings?business_unit=search",
		"/api/v1/findings?tier=2", "/api/v1/findings?rule=py.eval", "/api/v1/findings?sort=-severity&limit=1",
		"/api/v1/alerts", "/api/v1/alerts?team=beta", "/api/v1/alerts?asset=repo-b", "/api/v1/alerts?rule=r-3",
		"/api/v1/tickets", "/api/v1/tickets?team=beta", "/api/v1/assets", "/api/v1/assets?team=beta", "/api/v1/assets?asset=repo-b",
		"/api/v1/sources", "/api/v1/findings?format=csv", "/api/v1/alerts?format=csv", "/api/v1/tickets?format=csv",
		"/api/v1/assets?format=csv",
	} {
		r := e.get(p, alpha)
		want(t, r, 200)
		clean(r, p)
		if strings.Contains(p, "beta") || strings.Contains(p, "repo-b") || strings.Contains(p, "search") || strings.Contains(p, "r-3") || strings.Contains(p, "py.eval") {
			var pg struct{ Items []json.RawMessage }
			if r.Header().Get("Content-Type") == "application/json" {
				r.json(t, &pg)
				if len(pg.Items) != 0 {
					t.Errorf("%s: %d items", p, len(pg.Items))
				}
			}
		}
	}
	// The same lists hold beta's data for a token of every team (the
	// markers are right).
	if r := e.get("/api/v1/findings?team=beta", all); !betaMarkers.Match(r.body) {
		t.Fatalf("all-teams token does not see beta: %s", r.body)
	}
	// Paging through everything never reaches beta.
	cur := ""
	for i := 0; i < 10; i++ {
		r := e.get("/api/v1/findings?limit=1"+cur, alpha)
		want(t, r, 200)
		clean(r, "paging")
		var pg listPage[Finding]
		r.json(t, &pg)
		if pg.NextCursor == "" {
			break
		}
		cur = "&cursor=" + pg.NextCursor
	}
	// By id: beta's finding is 404, exactly like a finding that does not
	// exist.
	missing := e.get("/api/v1/findings/00000000-0000-8000-8000-000000000000", alpha)
	for _, r := range []resp{
		e.get("/api/v1/findings/"+f.ids["b1"], alpha),
		e.do(req{method: "PATCH", path: "/api/v1/findings/" + f.ids["b1"], token: alpha, body: []byte(`{"status":"false_positive","reason":"x"}`)}),
	} {
		want(t, r, 404)
		clean(r, "by id")
		a, b := r.problem(t), missing.problem(t)
		a.RequestID, b.RequestID = "", ""
		if a != b {
			t.Errorf("beta's finding answers %+v, a missing one %+v", a, b)
		}
	}
	if st := findingStatus(t, e, f.ids["b1"]); st != "none" {
		t.Fatalf("beta's finding was triaged: %s", st)
	}
	// KPIs: counts, groups, trends and filters see alpha only.
	open := func(tok, q string) float64 {
		t.Helper()
		r := e.get("/api/v1/kpis/vuln_backlog?period=2026-Q3"+q, tok)
		want(t, r, 200)
		var res metrics.Result
		r.json(t, &res)
		total := 0.0
		for _, g := range res.Groups {
			for _, v := range g.Values {
				if v.Measure == "open" && v.Slice == "all" && v.Value != nil {
					total += *v.Value
				}
			}
		}
		return total
	}
	if got := open(all, ""); got != 4 {
		t.Fatalf("all teams: %v open, want 4", got)
	}
	if got := open(alpha, ""); got != 2 {
		t.Fatalf("alpha: %v open, want 2", got)
	}
	for _, q := range []string{"&team=beta", "&asset=repo-b", "&business_unit=search", "&tier=2"} {
		if got := open(alpha, q); got != 0 {
			t.Errorf("alpha with %s: %v open, want 0", q, got)
		}
	}
	for _, p := range []string{
		"/api/v1/kpis/vuln_backlog?period=2026-Q3&group_by=team",
		"/api/v1/kpis/vuln_backlog?period=2026-Q3&group_by=asset&trend=4",
		"/api/v1/kpis/vuln_backlog?period=2026-Q3&group_by=business_unit&team=beta",
		"/api/v1/kpis/detection_precision?period=2026-Q3&group_by=team",
		"/api/v1/kpis/mean_time_to_triage?period=2026-Q3&group_by=asset",
		"/api/v1/kpis/security_debt_burndown?period=2026-Q3&group_by=team",
		"/api/v1/kpis/scan_coverage?period=2026-Q3&group_by=asset",
		"/api/v1/scorecard?period=2026-Q3&group_by=team",
		"/api/v1/scorecard?period=2026-Q3&group_by=asset&team=beta",
	} {
		r := e.get(p, alpha)
		want(t, r, 200)
		clean(r, p)
	}
	// The scorecard the server keeps precomputed (by team, every team)
	// answers alpha with alpha's groups only. (A minute later, so that the
	// response cache does not answer from the computations above.)
	if err := e.eng.RefreshPrecomputed(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.clk.Add(time.Minute)
	for tok, wantBeta := range map[string]bool{alpha: false, all: true} {
		r := e.get("/api/v1/scorecard?period=2026-Q3&group_by=team", tok)
		want(t, r, 200)
		var sc metrics.Scorecard
		r.json(t, &sc)
		if sc.PrecomputedAt == nil {
			t.Fatalf("scorecard not answered from the precomputed pass: %.300s", r.body)
		}
		if got := betaMarkers.Match(r.body); got != wantBeta {
			t.Errorf("precomputed scorecard mentions beta: %v, want %v", got, wantBeta)
		}
	}
	// Pages and exports are rendered with alpha's scope.
	for _, p := range []string{"/reports/qbr?period=2026-Q3&team=beta", "/exports/qbr.xlsx?period=2026-Q3"} {
		r := e.get(p, alpha)
		want(t, r, 200)
		var got struct{ Scope []string }
		r.json(t, &got)
		if !slices.Equal(got.Scope, []string{"alpha"}) {
			t.Errorf("%s rendered with scope %v", p, got.Scope)
		}
	}
	// The audit log and export runs span teams: refused to a team-scoped
	// admin.
	r := e.get("/api/v1/audit", alpha)
	want(t, r, 403)
	clean(r, "audit")
	want(t, e.get("/api/v1/exports/runs", alpha), 403)
	// Ingest: alpha may not write beta's data, and nothing is written.
	before := countRows(t, e, "scan_runs") + countRows(t, e, "alerts")
	for _, rq := range []req{
		{method: "POST", path: "/api/v1/scans?asset=repo-b&scanner=semgrep", body: sarifReport(result{"x", "error", "x.py", "fp-x", 1})},
		{method: "POST", path: "/api/v1/alerts", body: []byte(`{"source":"webhook:x","alerts":[{"id":"1","created":"2026-07-20T00:00:00Z","team":"beta"}]}`)},
		{method: "POST", path: "/api/v1/alerts", body: []byte(`{"source":"webhook:x","alerts":[{"id":"2","created":"2026-07-20T00:00:00Z","asset":"repo-b"}]}`)},
		{method: "POST", path: "/api/v1/alerts", body: []byte(`{"source":"webhook:x","alerts":[{"id":"3","created":"2026-07-20T00:00:00Z"}]}`)},
	} {
		rq.token = alpha
		r := e.do(rq)
		want(t, r, 403)
	}
	if after := countRows(t, e, "scan_runs") + countRows(t, e, "alerts"); after != before {
		t.Fatalf("refused uploads wrote rows: %d -> %d", before, after)
	}
	// Alpha's own upload works.
	r = e.do(req{method: "POST", path: "/api/v1/scans?asset=repo-a&scanner=semgrep&time=2026-09-01T00:00:00Z", token: alpha,
		body: sarifReport(result{"go.sql-injection", "error", "db.go", "fp-a1", 10})})
	want(t, r, 200)
}

func findingStatus(t *testing.T, e *env, id string) string {
	t.Helper()
	all := e.token(fmt.Sprintf("probe-%d", time.Now().UnixNano()), []string{"*"}, ReadFindings)
	r := e.get("/api/v1/findings/"+id, all)
	want(t, r, 200)
	var f FindingDetail
	r.json(t, &f)
	return f.Status
}

func countRows(t *testing.T, e *env, table string) uint64 {
	t.Helper()
	var n uint64
	if err := e.db.QueryRow(context.Background(), "SELECT count() FROM "+table, nil, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}
