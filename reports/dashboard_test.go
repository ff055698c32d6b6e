package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/metrics"
)

// artifactDir is where tests leave screenshots and files for people to
// look at: $REPORTS_ARTIFACTS when set, else a temporary directory.
func artifactDir(t testing.TB) string {
	if d := os.Getenv("REPORTS_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// qbrServer serves the dashboard as the API mounts it and records every
// request it gets.
type qbrServer struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func newQBRServer(t testing.TB, r *Reports, e *metrics.Engine) *qbrServer {
	s := &qbrServer{}
	mux := http.NewServeMux()
	mux.Handle("/reports/assets/", http.StripPrefix("/reports/assets", AssetsHandler()))
	mux.HandleFunc("/reports/qbr", func(w http.ResponseWriter, req *http.Request) {
		p, err := e.ParsePeriod(req.URL.Query().Get("period"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var f metrics.Filter
		if t := req.URL.Query().Get("team"); t != "" {
			f.Teams = []string{t}
		}
		if err := r.ServeDashboard(w, req, DashboardQuery{Period: p, Filter: f}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.mu.Lock()
		s.paths = append(s.paths, req.URL.Path)
		s.mu.Unlock()
		mux.ServeHTTP(w, req)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *qbrServer) requested() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.paths)
}

var attrURL = regexp.MustCompile(`(?i)\s(?:src|href|action)\s*=\s*"([^"]*)"`)

// checkPageHTML asserts what can be seen in the HTML alone: only
// same-origin references, hostile names escaped, every inline script
// allowed by the CSP's hashes.
func checkPageHTML(t *testing.T, html []byte, csp string) {
	t.Helper()
	for _, m := range attrURL.FindAllSubmatch(html, -1) {
		u := string(m[1])
		if u == "" || strings.HasPrefix(u, "#") || strings.HasPrefix(u, "?") {
			continue
		}
		if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") {
			t.Errorf("page references %q: want a same-origin path", u)
		}
	}
	if bytes.Contains(html, []byte("<script>alert(1)")) {
		t.Error("hostile name written unescaped")
	}
	if !bytes.Contains(html, []byte("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;")) {
		t.Error("team name not present HTML-escaped")
	}
	// No inline script: only same-origin script files and JSON data
	// blocks, each an intact JSON document whatever the names inside.
	scripts := regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllSubmatch(html, -1)
	blocks := 0
	for _, s := range scripts {
		attrs, body := string(s[1]), s[2]
		switch {
		case strings.Contains(attrs, `type="application/json"`):
			blocks++
			if bytes.Contains(body, []byte("__f__")) || bytes.Contains(body, []byte("<")) {
				t.Errorf("chart options carry a raw marker or tag: %.200s", body)
			}
			if !json.Valid(body) {
				t.Errorf("chart options are not JSON: %.200s", body)
			}
		case strings.Contains(attrs, " src=") && len(bytes.TrimSpace(body)) == 0:
		default:
			t.Errorf("inline script <script%s>%.80s", attrs, body)
		}
	}
	if blocks < 20 {
		t.Errorf("%d chart data blocks, want one per chart (≥ 20)", blocks)
	}
	for _, d := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self'", "connect-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP lacks %q: %s", d, csp)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %s", csp)
	}
}

func testDashboardHTML(t *testing.T, fx *fixture) {
	r := fx.reports()
	p := fx.period(t, "2026-Q3")
	page, err := r.DashboardPage(context.Background(), DashboardQuery{Period: p})
	if err != nil {
		t.Fatal(err)
	}
	checkPageHTML(t, page.HTML(), page.CSP())
	html := string(page.HTML())
	for _, want := range []string{
		"Security quarterly business review", "2026-Q3", "compared with 2026-Q2", "vuln_mttr@1", "toil_ratio@1",
		"Uncovered assets", "Noisiest detection rules", "Team comparison", "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)",
		// Drill-down links use the API's list parameters.
		`href="/api/v1/findings?format=csv&amp;overdue=true&amp;sort=due&amp;state=open"`,
		`/api/v1/alerts?closed=true&amp;format=csv&amp;from=2026-06-30T22%3A00%3A00Z&amp;rule=R-005&amp;to=2026-09-30T22%3A00%3A00Z`,
		`src="/reports/assets/echarts.min.js"`, `href="/reports/assets/qbr.css"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// A bad base URL is the caller's error, not a page.
	if _, err := r.DashboardPage(context.Background(), DashboardQuery{Period: p, BaseURL: "https://cdn.example"}); !metrics.IsInputError(err) {
		t.Errorf("absolute base URL: err %v, want an input error", err)
	}
}

// testDashboardChromium loads the dashboard in headless Chromium: no
// console error, no CSP violation (even with a tooltip shown), no request
// leaving the test server, hostile names shown as text and never run,
// every chart drawn, and screenshots for people to look at.
func testDashboardChromium(t *testing.T, fx *fixture) {
	b := startBrowser(t)
	srv := newQBRServer(t, fx.reports(), fx.engine)
	page := b.page
	for _, m := range []string{"Page.enable", "Runtime.enable", "Network.enable", "Log.enable"} {
		if err := page.call(m, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Report CSP violations to the console, where the check below sees them.
	if err := page.call("Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": `document.addEventListener("securitypolicyviolation", function (e) { console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI); });`}, nil); err != nil {
		t.Fatal(err)
	}
	if err := page.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatal(err)
	}
	dir := artifactDir(t)

	load := func(q url.Values) {
		t.Helper()
		before := len(page.eventsNamed("Page.loadEventFired"))
		if err := page.call("Page.navigate", map[string]any{"url": srv.URL + "/reports/qbr?" + q.Encode()}, nil); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for len(page.eventsNamed("Page.loadEventFired")) == before {
			if time.Now().After(deadline) {
				t.Fatal("page did not load")
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Every chart container has its canvas and a series.
		var drawn struct{ Boxes, Drawn int }
		for i := 0; i < 100; i++ {
			if err := page.eval(`(function(){var b=document.querySelectorAll(".chart"),n=0;for(var i=0;i<b.length;i++){var c=echarts.getInstanceByDom(b[i]);if(c&&b[i].querySelector("canvas")&&c.getOption().series.length>0){n++}}return {Boxes:b.length,Drawn:n}})()`, &drawn); err != nil {
				t.Fatal(err)
			}
			if drawn.Boxes > 0 && drawn.Boxes == drawn.Drawn {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if drawn.Boxes < 20 || drawn.Boxes != drawn.Drawn {
			t.Errorf("%d of %d charts drawn", drawn.Drawn, drawn.Boxes)
		}
	}
	width := 1400
	screenshot := func(name string) {
		t.Helper()
		var m struct {
			Content struct{ Height float64 } `json:"cssContentSize"`
		}
		if err := page.call("Page.getLayoutMetrics", nil, &m); err != nil {
			t.Fatal(err)
		}
		var shot struct{ Data []byte }
		if err := page.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
			"clip": map[string]any{"x": 0, "y": 0, "width": width, "height": min(m.Content.Height, 16000), "scale": 1}}, &shot); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, shot.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(shot.Data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		colours := map[uint32]bool{}
		bd := img.Bounds()
		for y := bd.Min.Y; y < bd.Max.Y; y += 7 {
			for x := bd.Min.X; x < bd.Max.X; x += 7 {
				r, g, b, _ := img.At(x, y).RGBA()
				colours[r>>8<<16|g>>8<<8|b>>8] = true
			}
		}
		if bd.Dx() != width || bd.Dy() < 3000 || len(colours) < 50 || len(shot.Data) < 100_000 {
			t.Errorf("%s: %dx%d, %d colours, %d bytes: looks empty", name, bd.Dx(), bd.Dy(), len(colours), len(shot.Data))
		}
		t.Logf("screenshot %s (%dx%d)", path, bd.Dx(), bd.Dy())
	}

	load(url.Values{"period": {"2026-Q3"}})
	// A tooltip must not break the policy either.
	if err := page.eval(`(function(){var c=echarts.getInstanceByDom(document.getElementById("chart-1"));c.dispatchAction({type:"showTip",seriesIndex:0,dataIndex:7});return true})()`, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	screenshot("qbr.png")
	// The print layout at the width of an A4 landscape page.
	if err := page.call("Emulation.setEmulatedMedia", map[string]any{"media": "print"}, nil); err != nil {
		t.Fatal(err)
	}
	width = 1050
	if err := page.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	screenshot("qbr-print.png")
	width = 1400
	if err := page.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatal(err)
	}
	var pdf struct{ Data []byte }
	if err := page.call("Page.printToPDF", map[string]any{"printBackground": true, "preferCSSPageSize": true}, &pdf); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf.Data, []byte("%PDF")) || len(pdf.Data) < 50_000 {
		t.Errorf("print to PDF: %d bytes", len(pdf.Data))
	}
	_ = os.WriteFile(filepath.Join(dir, "qbr.pdf"), pdf.Data, 0o644)
	if err := page.call("Emulation.setEmulatedMedia", map[string]any{"media": ""}, nil); err != nil {
		t.Fatal(err)
	}

	// The page of the hostile team: its name is text, nothing runs.
	load(url.Values{"period": {"2026-Q3"}, "team": {xssTeam}})
	var dom struct {
		Text      bool
		Title     string
		Injected  int
		Selected  string
		OptionTxt bool
	}
	if err := page.eval(`(function(){var s=document.scripts,n=0;for(var i=0;i<s.length;i++){if(!s[i].src&&s[i].type!=="application/json"){n++}}
		var sel=document.querySelector("select[name=team]");
		return {Text:document.body.innerText.indexOf("`+xssTeam+`")>=0,Title:document.title,Injected:n,Selected:sel.value,
		OptionTxt:Array.prototype.some.call(sel.options,function(o){return o.text==="`+markerTeam+`"})}})()`, &dom); err != nil {
		t.Fatal(err)
	}
	if !dom.Text || !strings.Contains(dom.Title, xssTeam) || dom.Selected != xssTeam || !dom.OptionTxt {
		t.Errorf("hostile team names not shown as text: %+v", dom)
	}
	if dom.Injected != 0 {
		t.Errorf("%d inline scripts: markup was injected", dom.Injected)
	}
	screenshot("qbr-team.png")

	// Nothing ran, nothing complained, nothing left the host.
	if d := page.eventsNamed("Page.javascriptDialogOpening"); len(d) > 0 {
		t.Errorf("a dialog opened: %s", d[0].Params)
	}
	for _, e := range page.eventsNamed("Runtime.exceptionThrown") {
		t.Errorf("exception: %s", e.Params)
	}
	for _, e := range page.eventsNamed("Runtime.consoleAPICalled") {
		var p struct{ Type string }
		_ = json.Unmarshal(e.Params, &p)
		if p.Type == "error" || p.Type == "warning" || p.Type == "assert" {
			t.Errorf("console %s: %s", p.Type, e.Params)
		}
	}
	for _, e := range page.eventsNamed("Log.entryAdded") {
		var p struct {
			Entry struct{ Level, Text, URL string }
		}
		_ = json.Unmarshal(e.Params, &p)
		if p.Entry.Level == "error" || p.Entry.Level == "warning" {
			t.Errorf("browser log %s: %s %s", p.Entry.Level, p.Entry.Text, p.Entry.URL)
		}
	}
	n := 0
	for _, e := range page.eventsNamed("Network.requestWillBeSent") {
		var p struct{ Request struct{ URL string } }
		_ = json.Unmarshal(e.Params, &p)
		n++
		if !strings.HasPrefix(p.Request.URL, srv.URL+"/") && !strings.HasPrefix(p.Request.URL, "data:") {
			t.Errorf("request leaves the host: %s", p.Request.URL)
		}
	}
	for _, path := range srv.requested() {
		if path != "/reports/qbr" && !strings.HasPrefix(path, "/reports/assets/") {
			t.Errorf("unexpected request to the server: %s", path)
		}
	}
	if n < 6 {
		t.Errorf("saw %d requests, want the pages and their assets", n)
	}
}
