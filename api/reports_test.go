package api

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/reports"
)

// TestReportPages mounts the real dashboard and workbook: they answer
// with the caller's scope (nothing of another team), the dashboard with
// its own CSP, the workbook as a download; the assets are public.
func TestReportPages(t *testing.T) {
	e := newEnv(t, nil)
	loadFixture(t, e)
	rep := reports.New(e.eng, reports.Options{Now: e.clk.Now})
	srv, err := New(e.cfg, slogTo(e.logs), nil, WithClock(e.clk.Now), WithBackend(Backend{DB: e.db, Metrics: e.eng, Store: e.store, Reports: rep}))
	if err != nil {
		t.Fatal(err)
	}
	_ = e.srv.Close()
	e.srv = srv
	t.Cleanup(func() { _ = srv.Close() })
	alpha := e.token("alpha-director", []string{"alpha"}, ReadKPIs, Export)
	all := e.token("ciso", []string{"*"}, ReadKPIs)
	start := time.Now()
	r := e.get("/reports/qbr?period=2026-Q3", alpha)
	t.Logf("dashboard %s", time.Since(start))
	want(t, r, 200)
	if !strings.HasPrefix(r.Header().Get("Content-Type"), "text/html") || r.Header().Get("Content-Security-Policy") != reports.CSP {
		t.Fatalf("dashboard headers %v", r.Header())
	}
	if m := betaMarkers.Find(r.body); m != nil {
		t.Fatalf("alpha's dashboard mentions %q", m)
	}
	if r := e.get("/reports/qbr?period=2026-Q3", all); !bytes.Contains(r.body, []byte("beta")) {
		t.Fatal("the all-teams dashboard does not show beta (the marker check is void)")
	}
	want(t, e.get("/reports/qbr?period=nope", alpha), 400)
	want(t, e.get("/reports/qbr?period=2026-Q3&colour=red", alpha), 400)
	want(t, e.get("/exports/qbr.xlsx?period=2026-Q3", all), 403)
	start = time.Now()
	r = e.get("/exports/qbr.xlsx?period=2026-Q3&team=alpha", alpha)
	t.Logf("workbook %s", time.Since(start))
	want(t, r, 200)
	if !bytes.HasPrefix(r.body, []byte("PK")) || r.Header().Get("Content-Disposition") != `attachment; filename="secmetrics-qbr-2026-Q3.xlsx"` {
		t.Fatalf("workbook: %q %q", r.body[:4], r.Header().Get("Content-Disposition"))
	}
	r = e.get("/reports/assets/echarts.min.js", "")
	want(t, r, 200)
	if len(r.body) < 100000 {
		t.Fatalf("echarts: %d bytes", len(r.body))
	}
}
