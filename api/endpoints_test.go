package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries/chtest"
	"github.com/secmetrics/secmetrics/reports"
)

func TestHealthAndOpenAPI(t *testing.T) {
	srv, err := New(Defaults(), nil, func(ctx context.Context) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json"} {
		w := httptestDo(srv, "GET", p, "")
		if w.Code != 200 {
			t.Fatalf("%s: %d", p, w.Code)
		}
		validateResponse(t, "GET", p, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes())
	}
	// Without a database every API route answers 503, never 500.
	w := httptestDo(srv, "GET", "/api/v1/kpis", "")
	if w.Code != 503 {
		t.Fatalf("no backend: %d", w.Code)
	}
	validateResponse(t, "GET", "/api/v1/kpis", w.Code, w.Header().Get("Content-Type"), w.Body.Bytes())
	notReady, _ := New(Defaults(), nil, func(ctx context.Context) error { return context.DeadlineExceeded })
	w = httptestDo(notReady, "GET", "/readyz", "")
	if w.Code != 503 {
		t.Fatalf("readyz: %d", w.Code)
	}
	validateResponse(t, "GET", "/readyz", w.Code, w.Header().Get("Content-Type"), w.Body.Bytes())
}

// TestOpenAPIMatchesRoutes: every route is documented with the scope it
// requires, and every documented operation exists.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	specOnce.Do(loadSpec)
	if specErr != nil {
		t.Fatal(specErr)
	}
	e := newEnvPages(t)
	tmpl := regexp.MustCompile(`:([a-z]+)`)
	documented := map[string]map[string]any{}
	for _, o := range specOps {
		documented[o.method+" "+o.path] = o.op
	}
	seen := map[string]bool{}
	for _, r := range e.srv.Engine().Routes() {
		p := tmpl.ReplaceAllString(r.Path, "{$1}")
		switch {
		case strings.HasPrefix(p, "/reports/"):
			p = "/reports/{page}"
		case strings.HasPrefix(p, "/exports/"):
			p = "/exports/{file}"
		}
		k := r.Method + " " + p
		seen[k] = true
		op, ok := documented[k]
		if !ok {
			t.Errorf("route %s %s is not in openapi.json", r.Method, r.Path)
			continue
		}
		a := e.srv.access[r.Method+" "+r.Path]
		scope, _ := op["x-required-scope"].(string)
		if k == "GET /metrics" {
			continue // admin unless metrics_public
		}
		if scope != string(a.Scope) {
			t.Errorf("%s: openapi says scope %q, the access table %q", k, scope, a.Scope)
		}
	}
	for k := range documented {
		if !seen[k] {
			t.Errorf("openapi.json documents %s, which has no route", k)
		}
	}
}

func TestKPIs(t *testing.T) {
	e := newEnv(t, nil)
	loadFixture(t, e)
	tok := e.token("kpi", []string{"*"}, ReadKPIs, Ingest)
	r := e.get("/api/v1/kpis", tok)
	want(t, r, 200)
	var cat struct{ KPIs []kpiDef }
	r.json(t, &cat)
	if len(cat.KPIs) != len(metrics.Catalog()) || strings.Contains(string(r.body), ".sql") {
		t.Fatalf("catalog: %d entries (want %d) or internal file names", len(cat.KPIs), len(metrics.Catalog()))
	}
	// Every KPI computes, with comparison, trend and grouping.
	for _, d := range metrics.Catalog() {
		r := e.get("/api/v1/kpis/"+d.ID+"?period=2026-Q3&trend=3&group_by=team", tok)
		want(t, r, 200)
		var res metrics.Result
		r.json(t, &res)
		if res.KPI != d.ID || len(res.Trend) != 3 || res.Previous == nil {
			t.Fatalf("%s: %+v", d.ID, res)
		}
	}
	want(t, e.get("/api/v1/kpis/vuln_mttr?from=2026-07-01&to=2026-10-01T00:00:00Z&compare=false&severity=high&tier=1", tok), 200)
	// ETag: same question, same tag; If-None-Match gives 304; an ingest
	// changes the answer and the tag.
	path := "/api/v1/kpis/vuln_backlog?period=2026-Q4"
	r1 := e.get(path, tok)
	want(t, r1, 200)
	tag := r1.Header().Get("ETag")
	if !strings.HasPrefix(tag, `W/"`) || r1.Header().Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", tag, r1.Header().Get("Cache-Control"))
	}
	if r2 := e.get(path, tok); r2.Header().Get("ETag") != tag || !bytes.Equal(r2.body, r1.body) {
		t.Fatal("same question, different answer")
	}
	r3 := e.do(req{path: path, token: tok, header: map[string]string{"If-None-Match": tag}})
	want(t, r3, 304)
	if len(r3.body) != 0 {
		t.Fatal("304 with a body")
	}
	up := e.do(req{method: "POST", path: "/api/v1/scans?asset=repo-b&time=2026-10-10T00:00:00Z", token: tok,
		body: sarifReport(result{"py.eval", "error", "app.py", "fp-b1", 5}, result{"py.new", "error", "new.py", "fp-b3", 9})})
	want(t, up, 200)
	r4 := e.do(req{path: path, token: tok, header: map[string]string{"If-None-Match": tag}})
	want(t, r4, 200)
	if r4.Header().Get("ETag") == tag {
		t.Fatal("the ETag did not change after an ingest")
	}
	// Another token with the same scope gets the same tag; another scope
	// another answer.
	tok2 := e.token("kpi2", []string{"*"}, ReadKPIs)
	if e.get(path, tok2).Header().Get("ETag") != r4.Header().Get("ETag") {
		t.Fatal("same scope, different ETag")
	}
	alpha := e.token("alpha", []string{"alpha"}, ReadKPIs)
	if e.get(path, alpha).Header().Get("ETag") == r4.Header().Get("ETag") {
		t.Fatal("different scope, same ETag")
	}
	// Scorecard.
	r = e.get("/api/v1/scorecard?period=2026-Q3&group_by=severity", tok)
	want(t, r, 200)
	var sc metrics.Scorecard
	r.json(t, &sc)
	if len(sc.Results) != len(metrics.Catalog()) || r.Header().Get("ETag") == "" {
		t.Fatalf("scorecard: %d results", len(sc.Results))
	}
	want(t, e.do(req{path: "/api/v1/scorecard?period=2026-Q3&group_by=severity", token: tok, header: map[string]string{"If-None-Match": r.Header().Get("ETag")}}), 304)
}

func TestFindings(t *testing.T) {
	e := newEnv(t, nil)
	f := loadFixture(t, e)
	tok := e.token("reader", []string{"*"}, ReadFindings, Triage, Export)
	list := func(q string) []Finding {
		t.Helper()
		r := e.get("/api/v1/findings"+q, tok)
		want(t, r, 200)
		var p listPage[Finding]
		r.json(t, &p)
		return p.Items
	}
	ids := func(fs []Finding) []string {
		var out []string
		for _, x := range fs {
			for k, v := range f.ids {
				if v == x.ID {
					out = append(out, k)
				}
			}
		}
		return out
	}
	for q, w := range map[string]struct {
		ids     []string
		ordered bool
	}{
		"":                                     {[]string{"a1", "a2", "a3", "b1", "b2"}, false},
		"?state=open":                          {[]string{"a1", "a3", "b1", "b2"}, false},
		"?state=fixed":                         {[]string{"a2"}, false},
		"?team=alpha&severity=high":            {[]string{"a1"}, false},
		"?asset=repo-b":                        {[]string{"b1", "b2"}, false},
		"?tier=2":                              {[]string{"b1", "b2"}, false},
		"?rule=go.todo":                        {[]string{"a3"}, false},
		"?overdue=true":                        {[]string{"a1", "b1", "b2"}, false},
		"?overdue=false&state=open":            {[]string{"a3"}, false},
		"?kev=true":                            {nil, false},
		"?kind=sca":                            {nil, false},
		"?source=semgrep&status=none":          {[]string{"a1", "a2", "a3", "b1", "b2"}, false},
		"?sort=-severity&state=open&team=beta": {[]string{"b1", "b2"}, true},
		"?sort=severity&team=alpha&state=open": {[]string{"a3", "a1"}, true},
		"?sort=-last_seen&team=alpha":          {[]string{"a1", "a3", "a2"}[:1], true},
	} {
		got := ids(list(q))
		if strings.Contains(q, "last_seen") {
			got = got[:1]
		}
		if !w.ordered {
			slices.Sort(got)
		}
		if !slices.Equal(got, w.ids) {
			t.Errorf("%q: %v, want %v", q, got, w.ids)
		}
	}
	// Cursor pagination visits every finding once, in order.
	var seen []string
	cur := ""
	for i := 0; i < 10; i++ {
		r := e.get("/api/v1/findings?sort=-first_seen&limit=2"+cur, tok)
		want(t, r, 200)
		var p listPage[Finding]
		r.json(t, &p)
		for _, x := range p.Items {
			seen = append(seen, x.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cur = "&cursor=" + p.NextCursor
	}
	if len(seen) != 5 || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 5 {
		t.Fatalf("paging saw %v", seen)
	}
	// A cursor only fits its own query and token.
	r := e.get("/api/v1/findings?sort=-first_seen&limit=2", tok)
	var p listPage[Finding]
	r.json(t, &p)
	for _, q := range []string{"?sort=first_seen&limit=2&cursor=", "?sort=-first_seen&limit=2&team=alpha&cursor="} {
		want(t, e.get("/api/v1/findings"+q+p.NextCursor, tok), 400)
	}
	other := e.token("other", []string{"*"}, ReadFindings)
	want(t, e.get("/api/v1/findings?sort=-first_seen&limit=2&cursor="+p.NextCursor, other), 400)
	// Detail with its history.
	r = e.get("/api/v1/findings/"+f.ids["a2"], tok)
	want(t, r, 200)
	var d FindingDetail
	r.json(t, &d)
	if d.State != "fixed" || len(d.Events) != 2 || d.Events[0].Type != "detected" || d.Events[1].Type != "fixed" || d.FixedAt == nil {
		t.Fatalf("detail %+v", d)
	}
	want(t, e.get("/api/v1/findings/not-a-uuid", tok), 400)
	// CSV with neutralized cells.
	r = e.get("/api/v1/findings?format=csv&state=open", tok)
	want(t, r, 200)
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 5 || rows[0][0] != "id" {
		t.Fatalf("csv: %v %v", rows, err)
	}
}

func TestTriage(t *testing.T) {
	e := newEnv(t, nil)
	f := loadFixture(t, e)
	tok := e.token("sec-lead", []string{"*"}, ReadFindings, Triage)
	patch := func(id, body string) resp {
		return e.do(req{method: "PATCH", path: "/api/v1/findings/" + id, token: tok, body: []byte(body)})
	}
	for body, param := range map[string]string{
		`{"status":"risk_accepted","until":"2027-01-01T00:00:00Z"}`:                "reason",
		`{"status":"risk_accepted","reason":"compensating control"}`:               "until",
		`{"status":"risk_accepted","reason":"x","until":"2026-01-01T00:00:00Z"}`:   "until",
		`{"status":"risk_accepted","reason":"x","until":"2099-01-01T00:00:00Z"}`:   "until",
		`{"status":"risk_accepted","reason":"x","until":"next week"}`:              "until",
		`{"status":"false_positive"}`:                                              "reason",
		`{"status":"false_positive","reason":"x","until":"2027-01-01T00:00:00Z"}`:  "until",
		`{"status":"closed","reason":"x"}`:                                         "status",
		`{"status":"none","extra":1}`:                                              "extra",
		`{"status":1}`:                                                             "status",
		`{"status":"none"`:                                                         "body",
		`{"status":"false_positive","reason":"` + strings.Repeat("x", 3000) + `"}`: "reason",
		`{"status":"false_positive","reason":"a\u0000b"}`:                          "reason",
	} {
		r := patch(f.ids["a1"], body)
		want(t, r, 400)
		if p := r.problem(t); p.Param != param || p.Code != CodeInvalidBody {
			t.Errorf("%s: %+v, want param %s", body, p, param)
		}
	}
	r := e.do(req{method: "PATCH", path: "/api/v1/findings/" + f.ids["a1"], token: tok, body: []byte(`{"status":"none"}`), header: map[string]string{"Content-Type": "text/plain"}})
	want(t, r, 415)
	want(t, patch("00000000-0000-8000-8000-000000000000", `{"status":"false_positive","reason":"x"}`), 404)
	// Accept a risk until ten days from now: the finding leaves the
	// overdue list; once the acceptance expires it is open and overdue
	// again.
	until := testNow.Add(10 * day).Format(time.RFC3339)
	r = patch(f.ids["a1"], `{"status":"risk_accepted","reason":"vendor fix due","until":"`+until+`"}`)
	want(t, r, 200)
	var d FindingDetail
	r.json(t, &d)
	last := d.Events[len(d.Events)-1]
	if d.Status != "risk_accepted" || d.StatusActor != "sec-lead" || d.StatusReason != "vendor fix due" ||
		last.Type != "status_changed" || last.Actor != "sec-lead" || last.StatusUntil == nil {
		t.Fatalf("after triage: %+v", d)
	}
	overdue := func() int {
		r := e.get("/api/v1/findings?overdue=true", tok)
		var p listPage[Finding]
		r.json(t, &p)
		return len(p.Items)
	}
	if n := overdue(); n != 2 {
		t.Fatalf("overdue while accepted: %d, want 2", n)
	}
	e.clk.Add(11 * day)
	r = e.get("/api/v1/findings/"+f.ids["a1"], tok)
	r.json(t, &d)
	if d.Status != "none" || !d.StatusExpired || !d.Overdue {
		t.Fatalf("after expiry: status %s expired %v overdue %v", d.Status, d.StatusExpired, d.Overdue)
	}
	if n := overdue(); n != 3 {
		t.Fatalf("overdue after expiry: %d, want 3", n)
	}
	r = e.get("/api/v1/findings?status=risk_accepted", tok)
	var p listPage[Finding]
	r.json(t, &p)
	if len(p.Items) != 0 {
		t.Fatal("an expired acceptance is still listed as risk_accepted")
	}
	// False positive, then revert.
	want(t, patch(f.ids["b2"], `{"status":"false_positive","reason":"test fixture"}`), 200)
	r = patch(f.ids["b2"], `{"status":"none"}`)
	want(t, r, 200)
	r.json(t, &d)
	if d.Status != "none" {
		t.Fatalf("revert: %s", d.Status)
	}
}

func TestAlertsTicketsAssetsSources(t *testing.T) {
	e := newEnv(t, nil)
	loadFixture(t, e)
	tok := e.token("reader", []string{"*"}, ReadFindings, ReadKPIs, Export)
	r := e.get("/api/v1/alerts?closed=true", tok)
	want(t, r, 200)
	var al listPage[Alert]
	r.json(t, &al)
	if len(al.Items) != 2 || al.Items[0].ID != "BETA-1" || al.Items[0].Disposition != "false_positive" || al.Items[1].FirstTriage == nil {
		t.Fatalf("closed alerts %+v", al.Items)
	}
	r = e.get("/api/v1/alerts?asset=repo-b", tok)
	r.json(t, &al)
	if len(al.Items) != 1 || al.Items[0].Team != "beta" || al.Items[0].Tier != 2 {
		t.Fatalf("alert team from its asset: %+v", al.Items)
	}
	r = e.get("/api/v1/alerts?format=csv&team=alpha&sort=created", tok)
	want(t, r, 200)
	rows, _ := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if len(rows) != 3 || rows[2][3] != `'=HYPERLINK("http://x","y")` {
		t.Fatalf("csv neutralization: %q", rows)
	}
	r = e.get("/api/v1/tickets?state=new", tok)
	var tk listPage[Ticket]
	r.json(t, &tk)
	if len(tk.Items) != 1 || tk.Items[0].Key != "SEC-2" || tk.Items[0].Team != "beta" {
		t.Fatalf("tickets %+v", tk.Items)
	}
	// Coverage: repo-a had a SAST scan in the last 30 days of the clock
	// but no SCA scan, so it is uncovered; once the clock passes the
	// window its SAST scan is stale too.
	e.clk.Set(t0.Add(40 * day))
	r = e.get("/api/v1/assets?asset=repo-a", tok)
	var as listPage[Asset]
	r.json(t, &as)
	if len(as.Items) != 1 || as.Items[0].Coverage != "uncovered" || !slices.Equal(as.Items[0].Missing, []string{"sca"}) ||
		len(as.Items[0].Scans) != 1 || as.Items[0].Scans[0].Kind != "sast" {
		t.Fatalf("assets %+v", as.Items)
	}
	up := e.token("ci", []string{"*"}, Ingest)
	trivyRep := `{"SchemaVersion":2,"ArtifactName":"repo-a","ArtifactType":"repository","Results":[]}`
	want(t, e.do(req{method: "POST", path: "/api/v1/scans?asset=repo-a&scanner=trivy&kind=sca&time=" + t0.Add(39*day).Format(time.RFC3339), token: up, body: []byte(trivyRep)}), 200)
	r = e.get("/api/v1/assets?covered=true", tok)
	r.json(t, &as)
	if len(as.Items) != 1 || as.Items[0].Asset != "repo-a" || as.Items[0].Coverage != "covered" {
		t.Fatalf("covered %+v", as.Items)
	}
	r = e.get("/api/v1/sources", tok)
	want(t, r, 200)
	var src Sources
	r.json(t, &src)
	if len(src.Connectors) != 1 || src.Connectors[0].Source != "jira:cloud" || len(src.Scanners) != 2 {
		t.Fatalf("sources %+v", src)
	}
}

func TestScanUpload(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxUploadBytes = 64 << 10 })
	loadFixture(t, e)
	tok := e.token("ci", []string{"*"}, Ingest)
	rep := sarifReport(result{"go.sql-injection", "error", "db.go", "fp-a1", 10}, result{"go.new", "error", "new.go", "fp-a9", 1})
	post := func(q string, body []byte, hdr map[string]string) resp {
		if hdr == nil {
			hdr = map[string]string{}
		}
		if hdr["Content-Type"] == "" {
			hdr["Content-Type"] = "application/octet-stream"
		}
		return e.do(req{method: "POST", path: "/api/v1/scans" + q, token: tok, body: body, header: hdr})
	}
	// Raw, with metadata in the query.
	r := post("?asset=repo-a&branch=main&time=2026-09-01T00:00:00Z", rep, nil)
	want(t, r, 200)
	var sum ingest.Summary
	r.json(t, &sum)
	if sum.New != 1 || sum.Fixed != 1 || sum.Unchanged != 1 || sum.Asset != "repo-a" || sum.Scanner != "semgrep" || sum.Format != "sarif" {
		t.Fatalf("summary %+v", sum)
	}
	// Gzip by Content-Encoding, metadata in headers; the same report again
	// is a duplicate.
	r = post("", gz(rep), map[string]string{"Content-Encoding": "gzip", "X-Scan-Asset": "repo-a", "X-Scan-Branch": "main", "X-Scan-Time": "2026-09-01T00:00:00Z"})
	want(t, r, 200)
	r.json(t, &sum)
	if !sum.Duplicate {
		t.Fatalf("not a duplicate: %+v", sum)
	}
	// Gzip detected by its magic bytes.
	rep2 := sarifReport(result{"go.sql-injection", "error", "db.go", "fp-a1", 10})
	r = post("?asset=repo-a&branch=main&time=2026-09-02T00:00:00Z", gz(rep2), nil)
	want(t, r, 200)
	r.json(t, &sum)
	if sum.Fixed != 1 {
		t.Fatalf("gzip detected: %+v", sum)
	}
	// A clean Gitleaks run reports "[]", which no detector claims: with
	// format=gitleaks it is recorded as a complete secret scan.
	r = post("?asset=repo-a&branch=main&time=2026-09-03T00:00:00Z&format=gitleaks", []byte("[]"), nil)
	want(t, r, 200)
	sum = ingest.Summary{}
	r.json(t, &sum)
	if sum.Format != "gitleaks" || sum.Scanner != "gitleaks" || sum.Findings != 0 || sum.Duplicate {
		t.Fatalf("clean gitleaks upload: %+v", sum)
	}
	// Bad reports: 400 naming the place, nothing written.
	runs := countRows(t, e, "scan_runs")
	events := countRows(t, e, "finding_events")
	for name, c := range map[string]struct {
		q     string
		body  []byte
		hdr   map[string]string
		code  int
		param string
	}{
		"truncated":        {"?asset=repo-a", rep[:len(rep)/2], nil, 400, ""},
		"wrong type":       {"?asset=repo-a", []byte(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"semgrep"}},"results":[{"ruleId":5}]}]}`), nil, 400, ""},
		"unknown format":   {"?asset=repo-a", []byte(`{"hello":"world"}`), nil, 400, "body"},
		"empty":            {"?asset=repo-a", []byte(" "), nil, 400, "body"},
		"corrupt gzip":     {"?asset=repo-a", append(gz(rep)[:30], 0, 0, 0), nil, 400, "body"},
		"bad time":         {"?asset=repo-a&time=yesterday", rep, nil, 400, "time"},
		"future":           {"?asset=repo-a&time=2030-01-01T00:00:00Z", rep, nil, 400, "time"},
		"bad kind":         {"?asset=repo-a&kind=magic", rep, nil, 400, "kind"},
		"bad format":       {"?asset=repo-a&format=nessus", rep, nil, 400, "format"},
		"clean, no format": {"?asset=repo-a", []byte("[]"), nil, 400, "body"},
		"conflict":         {"?asset=repo-a", rep, map[string]string{"X-Scan-Asset": "repo-b"}, 400, "asset"},
		"unknown param":    {"?asset=repo-a&colour=blue", rep, nil, 400, "colour"},
		"encoding":         {"?asset=repo-a", rep, map[string]string{"Content-Encoding": "br"}, 415, "Content-Encoding"},
		"too large":        {"?asset=repo-a", bytes.Repeat([]byte(" "), 70<<10), nil, 413, "body"},
		"gzip bomb":        {"?asset=repo-a", gz(append(rep[:len(rep)-1], append(bytes.Repeat([]byte(" "), 200<<10), '}')...)), nil, 413, "body"},
	} {
		r := post(c.q, c.body, c.hdr)
		if r.Code != c.code {
			t.Errorf("%s: %d, want %d: %s", name, r.Code, c.code, r.body)
			continue
		}
		p := r.problem(t)
		if c.param != "" && p.Param != c.param {
			t.Errorf("%s: param %q, want %q (%s)", name, p.Param, c.param, p.Detail)
		}
		if c.code == 400 && p.Detail == "" {
			t.Errorf("%s: no detail", name)
		}
		if strings.Contains(p.Detail, "/tmp") || strings.Contains(p.Detail, "clickhouse") {
			t.Errorf("%s: internal detail %q", name, p.Detail)
		}
	}
	if countRows(t, e, "scan_runs") != runs || countRows(t, e, "finding_events") != events {
		t.Fatal("a refused report wrote rows")
	}
	// Not configured: 503.
	e2 := newEnv(t, nil)
	e2.srv.b.Store = nil
	tok2 := e2.token("ci", []string{"*"}, Ingest)
	want(t, e2.do(req{method: "POST", path: "/api/v1/scans?asset=x", token: tok2, body: rep}), 503)
	m := e.srv.prom.String()
	for _, s := range []string{`secmetrics_ingest_scans_total{result="ok"} 3`, `secmetrics_ingest_scans_total{result="duplicate"} 1`, `secmetrics_ingest_findings_total{change="new"} 1`} {
		if !strings.Contains(m, s) {
			t.Errorf("metrics lack %s", s)
		}
	}
}

func TestAlertUpload(t *testing.T) {
	e := newEnv(t, nil)
	loadFixture(t, e)
	tok := e.token("siem", []string{"*"}, Ingest, ReadFindings)
	body := `{"source":"webhook:siem","alerts":[
	 {"id":"S-1","rule_id":"r-9","rule_name":"Impossible travel","severity":"high","created":"2026-09-01T10:00:00Z","first_triage":"2026-09-01T10:05:00Z","closed":"2026-09-01T11:00:00Z","disposition":"benign_positive","original_disposition":"expected","team":"alpha"},
	 {"id":"S-2","created":"2026-09-02T10:00:00Z","asset":"repo-b"}]}`
	r := e.do(req{method: "POST", path: "/api/v1/alerts", token: tok, body: []byte(body)})
	want(t, r, 200)
	var res AlertsResult
	r.json(t, &res)
	if res.Written != 2 || res.Sources["webhook:siem"] != 2 || res.Dispositions["benign_positive"] != 1 {
		t.Fatalf("result %+v", res)
	}
	r = e.get("/api/v1/alerts?source=webhook:siem&sort=created", tok)
	var al listPage[Alert]
	r.json(t, &al)
	if len(al.Items) != 2 || al.Items[1].Team != "beta" || al.Items[0].Disposition != "benign_positive" {
		t.Fatalf("stored %+v", al.Items)
	}
	n := countRows(t, e, "alerts")
	for b, c := range map[string]struct {
		code  int
		param string
	}{
		`{"source":"webhook:x","alerts":[{"id":"1"}]}`:                                                    {400, "alerts[0].created"},
		`{"source":"webhook:x","alerts":[{"created":"2026-09-01T00:00:00Z"}]}`:                            {400, "alerts[0].id"},
		`{"source":"webhook:x","alerts":[{"id":"1","created":"yesterday"}]}`:                              {400, "alerts[0].created"},
		`{"source":"webhook:x","alerts":[{"id":"1","created":"2026-09-01T00:00:00Z","severity":"x"}]}`:    {400, "alerts[0].severity"},
		`{"source":"webhook:x","alerts":[{"id":"1","created":"2026-09-01T00:00:00Z","disposition":"?"}]}`: {400, "alerts[0].disposition"},
		`{"source":"webhook:x","alerts":[{"id":"1","created":"2026-09-01T00:00:00Z","colour":"red"}]}`:    {400, "alerts[0]"},
		`{"source":"webhook:x","alerts":[{"id":"1","created":"1900-09-01T00:00:00Z"}]}`:                   {400, "alerts[0].created"},
		`{"source":"Bad Source","alerts":[{"id":"1","created":"2026-09-01T00:00:00Z"}]}`:                  {400, "source"},
		`{"source":"webhook:x","alert":[]}`:                                                               {400, "body"},
		`{"source":"webhook:x"}`:                                                                          {400, "alerts"},
		`[`:                                                                                               {400, "body"},
		`{"source":"pagerduty:main","alerts":[{"id":"P1","created":"2026-09-01T00:00:00Z"}]}`:             {403, "alerts[0].source"},
	} {
		r := e.do(req{method: "POST", path: "/api/v1/alerts", token: tok, body: []byte(b)})
		want(t, r, c.code)
		if p := r.problem(t); p.Param != c.param {
			t.Errorf("%s: param %q, want %q (%s)", b, p.Param, c.param, p.Detail)
		}
	}
	if countRows(t, e, "alerts") != n {
		t.Fatal("a refused batch wrote alerts")
	}
	e2 := newEnv(t, func(c *Config) { c.MaxUploadBytes = 100 })
	tok2 := e2.token("siem", []string{"*"}, Ingest)
	want(t, e2.do(req{method: "POST", path: "/api/v1/alerts", token: tok2, body: []byte(body)}), 413)
	want(t, e2.do(req{method: "POST", path: "/api/v1/alerts", token: tok2, body: []byte(body), header: map[string]string{"Content-Type": "text/plain"}}), 415)
}

func TestAuditLog(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.token("auditor", []string{"*"}, Admin)
	reader := e.token("reader", []string{"*"}, ReadKPIs)
	e.get("/api/v1/kpis?x=1", reader)
	e.get("/api/v1/kpis", "")
	want(t, e.get("/api/v1/audit", reader), 403)
	// The first look comes before the writer flushed: the list must not
	// be served from a cache afterwards.
	want(t, e.get("/api/v1/audit?route=/api/v1/kpis", admin), 200)
	var entries []AuditEntry
	deadline := time.Now().Add(5 * time.Second)
	for len(entries) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("audit rows: %+v", entries)
		}
		time.Sleep(100 * time.Millisecond)
		r := e.get("/api/v1/audit?route=/api/v1/kpis", admin)
		want(t, r, 200)
		var p listPage[AuditEntry]
		r.json(t, &p)
		entries = p.Items
	}
	var sawReader, sawAnon bool
	for _, a := range entries {
		if a.TokenName == "reader" && a.Status == 400 && a.Params == "x=1" && a.ClientIP == "192.0.2.10" && a.Method == "GET" && a.RequestID != "" {
			sawReader = true
		}
		if a.TokenName == "" && a.Status == 401 {
			sawAnon = true
		}
	}
	if !sawReader || !sawAnon {
		t.Fatalf("entries %+v", entries)
	}
	r := e.get("/api/v1/audit?status=403&format=csv", admin)
	want(t, r, 200)
	if !strings.Contains(string(r.body), "/api/v1/audit") {
		t.Fatalf("csv %s", r.body)
	}
}

// TestAuditNoLossOnShutdown: rows queued when the server stops are all
// written.
func TestAuditNoLossOnShutdown(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AuditFlushInterval = time.Hour; c.AuditBatch = 100000; c.AuditQueue = 100000 })
	tok := e.token("busy", []string{"*"}, ReadKPIs)
	for i := 0; i < 300; i++ {
		e.get("/healthz", "")
	}
	e.get("/api/v1/kpis", tok)
	if n := countRows(t, e, "audit_log"); n != 0 {
		t.Fatalf("%d rows before close (flush interval is an hour)", n)
	}
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, e, "audit_log"); n != 301 {
		t.Fatalf("%d rows after close, want 301", n)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.token("prom", []string{"*"}, Admin)
	e.get("/api/v1/kpis", admin)
	e.get("/nope", "")
	r := e.get("/metrics", admin)
	want(t, r, 200)
	out := string(r.body)
	for _, s := range []string{
		`secmetrics_http_requests_total{method="GET",route="/api/v1/kpis",status="200"} 1`,
		`secmetrics_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`secmetrics_http_request_duration_seconds_bucket{method="GET",route="/api/v1/kpis",le="+Inf"} 1`,
		`secmetrics_clickhouse_query_duration_seconds_count{query="tokens"}`,
		"# TYPE secmetrics_http_request_duration_seconds histogram",
		"secmetrics_audit_rows_pending",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("metrics lack %s", s)
		}
	}
	if !strings.HasPrefix(r.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatal(r.Header().Get("Content-Type"))
	}
	e2 := newEnv(t, func(c *Config) { c.MetricsPublic = true })
	want(t, e2.get("/metrics", ""), 200)
}

func TestHeadersCompressionCORS(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.CORSOrigins = []string{"https://dash.example"} })
	tok := e.token("x", []string{"*"}, ReadKPIs)
	r := e.do(req{path: "/api/v1/kpis", token: tok, header: map[string]string{"X-Request-ID": "ci-run-12345678", "Accept-Encoding": "gzip"}})
	h := r.Header()
	for k, v := range map[string]string{
		"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Request-ID": "ci-run-12345678",
		"Content-Encoding": "gzip", "X-Frame-Options": "DENY",
	} {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if h.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !json.Valid(plain) {
		t.Fatal("gzip body is not JSON")
	}
	// A malformed request id is replaced.
	r = e.do(req{path: "/healthz", header: map[string]string{"X-Request-ID": "<script>"}})
	if id := r.Header().Get("X-Request-ID"); id == "<script>" || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Fatalf("request id %q", id)
	}
	// CORS: only the configured origin, no credentials; preflight answers.
	r = e.do(req{path: "/api/v1/kpis", token: tok, header: map[string]string{"Origin": "https://dash.example"}})
	if r.Header().Get("Access-Control-Allow-Origin") != "https://dash.example" || r.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("CORS headers %v", r.Header())
	}
	r = e.do(req{path: "/api/v1/kpis", token: tok, header: map[string]string{"Origin": "https://evil.example"}})
	if r.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS for an unlisted origin")
	}
	hr := httptest.NewRequest("OPTIONS", "/api/v1/kpis", nil)
	hr.Header.Set("Origin", "https://dash.example")
	hr.Header.Set("Access-Control-Request-Method", "GET")
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, hr)
	if w.Code != 204 || !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight %d %v", w.Code, w.Header())
	}
	// Without cors_origins nothing is allowed.
	e2 := newEnv(t, nil)
	r = e2.do(req{path: "/healthz", header: map[string]string{"Origin": "https://dash.example"}})
	if r.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS without configuration")
	}
	// Unknown routes and methods are problems.
	want(t, e.get("/api/v2/kpis", tok), 404)
	r = e.do(req{method: "DELETE", path: "/api/v1/kpis", token: tok})
	if r.Code != 405 {
		t.Fatalf("DELETE: %d", r.Code)
	}
	// The JSON body limit.
	big := `{"status":"none","reason":"` + strings.Repeat("x", 2<<20) + `"}`
	tri := e.token("t", []string{"*"}, Triage)
	r = e.do(req{method: "PATCH", path: "/api/v1/findings/00000000-0000-8000-8000-000000000000", token: tri, body: []byte(big)})
	want(t, r, 413)
}

func TestTrustedProxies(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.token("x", []string{"*"}, ReadKPIs)
	hr := httptest.NewRequest("GET", "/api/v1/kpis", nil)
	hr.RemoteAddr = "192.0.2.30:5"
	hr.Header.Set("Authorization", "Bearer "+tok)
	hr.Header.Set("X-Forwarded-For", "203.0.113.9")
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, hr)
	_ = e.srv.Close()
	var ip string
	if err := e.db.QueryRow(context.Background(), "SELECT client_ip FROM audit_log WHERE route = '/api/v1/kpis'", nil, &ip); err != nil {
		t.Fatal(err)
	}
	if ip != "192.0.2.30" {
		t.Fatalf("client ip %q: X-Forwarded-For believed without trusted proxies", ip)
	}
	e2 := newEnv(t, func(c *Config) { c.TrustedProxies = []string{"192.0.2.0/24"} })
	tok2 := e2.token("x", []string{"*"}, ReadKPIs)
	hr.Header.Set("Authorization", "Bearer "+tok2)
	e2.srv.Handler().ServeHTTP(httptest.NewRecorder(), hr)
	_ = e2.srv.Close()
	if err := e2.db.QueryRow(context.Background(), "SELECT client_ip FROM audit_log WHERE route = '/api/v1/kpis'", nil, &ip); err != nil {
		t.Fatal(err)
	}
	if ip != "203.0.113.9" {
		t.Fatalf("client ip %q behind a trusted proxy", ip)
	}
}

var _ = http.StatusOK

// TestKEVAndSLAOptions: a finding whose CVE is in the KEV catalog is
// flagged and gets the critical SLA; with kev_due_date_cap its due date is
// capped at the catalog's; with restart_sla_on_reopen a reopen restarts
// the clock. Both options change the statement (joins), so both forms run.
func TestKEVAndSLAOptions(t *testing.T) {
	trivyReport := func(vulns ...string) []byte {
		var vs []string
		for _, v := range vulns {
			vs = append(vs, `{"VulnerabilityID":"`+v+`","PkgName":"openssl","InstalledVersion":"1.0","FixedVersion":"1.1","Severity":"LOW","Title":"t"}`)
		}
		return []byte(`{"SchemaVersion":2,"ArtifactName":"repo-a","ArtifactType":"filesystem","Results":[{"Target":"go.sum","Class":"lang-pkgs","Type":"gomod","Vulnerabilities":[` + strings.Join(vs, ",") + `]}]}`)
	}
	for _, c := range []struct {
		name string
		sla  metrics.SLAPolicy
		due  time.Time
	}{
		// first seen 2026-07-10 09:00; low would be 180 days, KEV gives
		// critical's 7 days; the cap is the end of the catalog's due date.
		{"default", metrics.SLAPolicy{}, time.Date(2026, 7, 17, 9, 0, 0, 0, time.UTC)},
		{"cap", metrics.SLAPolicy{KEVDueDateCap: true}, time.Date(2026, 7, 13, 0, 0, 0, 0, time.UTC)},
		// reopened 2026-08-20 09:00: 7 days from then
		{"restart", metrics.SLAPolicy{RestartOnReopen: true}, time.Date(2026, 8, 27, 9, 0, 0, 0, time.UTC)},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnvMetrics(t, chtest.New(t), nil, metrics.Config{SLA: c.sla})
			ctx := context.Background()
			if err := e.store.SaveKEV(ctx, "test", []ingest.KEVEntry{{CVE: "CVE-2026-0001", DateAdded: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
				DueDate: time.Date(2026, 7, 12, 0, 0, 0, 0, time.UTC)}}); err != nil {
				t.Fatal(err)
			}
			up := e.token("ci", []string{"*"}, Ingest, ReadFindings)
			post := func(at time.Time, vulns ...string) {
				want(t, e.do(req{method: "POST", path: "/api/v1/scans?asset=repo-a&time=" + at.Format(time.RFC3339), token: up, body: trivyReport(vulns...)}), 200)
			}
			post(t0, "CVE-2026-0001", "CVE-2026-0002")
			post(t0.Add(20*day), "CVE-2026-0002")
			post(t0.Add(41*day), "CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003") // not a duplicate report: reopens 0001
			if all := e.get("/api/v1/findings", up); all.Code != 200 {
				t.Fatalf("%d: %s", all.Code, e.lastError())
			}
			r := e.get("/api/v1/findings?kev=true", up)
			var p listPage[Finding]
			r.json(t, &p)
			if len(p.Items) != 1 || p.Items[0].CVE != "CVE-2026-0001" || !p.Items[0].KEV || p.Items[0].Due == nil || !p.Items[0].Due.Equal(c.due) {
				t.Fatalf("kev findings %+v, want due %s", p.Items, c.due)
			}
			r = e.get("/api/v1/findings?kev=false&cve=CVE-2026-0002", up)
			r.json(t, &p)
			if len(p.Items) != 1 || p.Items[0].KEV || p.Items[0].Severity != "low" {
				t.Fatalf("non-kev %+v", p.Items)
			}
			want(t, e.get("/api/v1/findings/"+p.Items[0].ID, up), 200)
		})
	}
}

// TestOpenAPIParameters: the query parameters each operation documents are
// exactly the ones its handler accepts.
func TestOpenAPIParameters(t *testing.T) {
	specOnce.Do(loadSpec)
	if specErr != nil {
		t.Fatal(specErr)
	}
	code := map[string][]string{
		"GET /api/v1/kpis":            nil,
		"GET /api/v1/kpis/{id}":       kpiParams,
		"GET /api/v1/scorecard":       scorecardParams,
		"GET /api/v1/sources":         nil,
		"GET /api/v1/findings":        findingParams,
		"GET /api/v1/findings/{id}":   nil,
		"PATCH /api/v1/findings/{id}": nil,
		"GET /api/v1/alerts":          append(slices.Clone(alertParams), pageParams...),
		"POST /api/v1/alerts":         nil,
		"GET /api/v1/tickets":         append(slices.Clone(ticketParams), pageParams...),
		"GET /api/v1/assets":          append(slices.Clone(assetParams), pageParams...),
		"GET /api/v1/audit":           append(slices.Clone(auditParams), pageParams...),
		"POST /api/v1/scans":          scanParams,
		"GET /reports/{page}":         append([]string{"period", "from", "to"}, filterNames...),
		"GET /exports/{file}":         append([]string{"period", "from", "to"}, filterNames...),
	}
	comps := specDoc["components"].(map[string]any)["parameters"].(map[string]any)
	for _, o := range specOps {
		k := o.method + " " + o.path
		wantParams, ok := code[k]
		if !ok {
			continue
		}
		var got []string
		params, _ := o.op["parameters"].([]any)
		for _, p := range params {
			pm := p.(map[string]any)
			if ref, ok := pm["$ref"].(string); ok {
				pm = comps[strings.TrimPrefix(ref, "#/components/parameters/")].(map[string]any)
			}
			if pm["in"] == "query" {
				got = append(got, pm["name"].(string))
			}
		}
		slices.Sort(got)
		w := slices.Clone(wantParams)
		slices.Sort(w)
		if !slices.Equal(got, slices.Compact(w)) {
			t.Errorf("%s: openapi.json documents %v, the handler accepts %v", k, got, w)
		}
	}
}

func TestExportRuns(t *testing.T) {
	e := newEnv(t, nil)
	if err := insertRows(context.Background(), e.db, "export_runs",
		"run_id, export, scheduled_for, started_at, finished_at, status, attempt, period, destination, file, size, error, version",
		[][]any{{uuidFor("r1"), "qbr-weekly", t0, t0, &t0, "ok", uint8(1), "2026-Q2", "directory", "/var/lib/secmetrics/exports/qbr-2026-Q2.xlsx", uint64(12345), "", uint64(1)}}); err != nil {
		t.Fatal(err)
	}
	admin := e.token("admin", []string{"*"}, Admin)
	r := e.get("/api/v1/exports/runs?limit=10", admin)
	want(t, r, 200)
	var got struct{ Items []reports.Run }
	r.json(t, &got)
	if len(got.Items) != 1 || got.Items[0].File != "qbr-2026-Q2.xlsx" || got.Items[0].Status != "ok" {
		t.Fatalf("runs %+v", got.Items)
	}
	want(t, e.get("/api/v1/exports/runs?limit=0", admin), 400)
	want(t, e.get("/api/v1/exports/runs", e.token("exp", []string{"*"}, Export)), 403)
}

func uuidFor(s string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(s)) }
