package github

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/transport"
)

const testToken = "ghp_TESTtoken0123456789abcdef"

// fakeGitHub serves alert lists from pages, paging the way GitHub does:
// Dependabot with an opaque after= cursor, code scanning with page=N. fault,
// when set, may answer a request instead (by returning true).
type fakeGitHub struct {
	t      *testing.T
	srv    *httptest.Server
	prefix string                       // the API root path, as on GitHub Enterprise
	pages  map[string][]json.RawMessage // path → one JSON array per page
	fault  func(w http.ResponseWriter, r *http.Request, path string, page int) bool

	mu       sync.Mutex
	requests []string // path?query of every request, in order
}

func newFake(t *testing.T) *fakeGitHub {
	g := &fakeGitHub{t: t, prefix: "/api/v3", pages: map[string][]json.RawMessage{}}
	g.srv = httptest.NewServer(g)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGitHub) client(tr *transport.Transport) *Client {
	return &Client{BaseURL: g.srv.URL + g.prefix + "/", Token: testToken, TokenName: "github.token", HTTP: &http.Client{Transport: tr}}
}

func cursor(page int) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:v2:" + strconv.Itoa(page)))
}

func (g *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests = append(g.requests, r.URL.RequestURI())
	g.mu.Unlock()
	for k, want := range map[string]string{
		"Authorization":        "Bearer " + testToken,
		"Accept":               "application/vnd.github+json",
		"X-Github-Api-Version": "2022-11-28",
	} {
		if got := r.Header.Get(k); got != want {
			g.t.Errorf("%s %s: header %s = %q, want %q", r.Method, r.URL, k, got, want)
		}
	}
	if got := r.URL.Query().Get("per_page"); got != "100" {
		g.t.Errorf("%s: per_page = %q, want 100", r.URL, got)
	}
	path := strings.TrimPrefix(r.URL.Path, g.prefix)
	pages, ok := g.pages[path]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}`)
		return
	}
	dependabot := strings.HasSuffix(path, "/dependabot/alerts")
	page := 1
	if dependabot {
		if after := r.URL.Query().Get("after"); after != "" {
			for page = 1; cursor(page) != after && page <= len(pages); page++ {
			}
		}
	} else if p := r.URL.Query().Get("page"); p != "" {
		page, _ = strconv.Atoi(p)
	}
	if page < 1 || page > len(pages) {
		g.t.Errorf("%s: no page %d", r.URL, page)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if g.fault != nil && g.fault(w, r, path, page) {
		return
	}
	var links []string
	link := func(rel string, q string) {
		links = append(links, fmt.Sprintf(`<%s%s%s?per_page=100&%s>; rel="%s"`, g.srv.URL, g.prefix, path, q, rel))
	}
	if dependabot {
		if page > 1 {
			link("prev", "before="+cursor(page))
		}
		if page < len(pages) {
			link("next", "after="+cursor(page+1))
		}
	} else {
		if page < len(pages) {
			link("next", "page="+strconv.Itoa(page+1))
			link("last", "page="+strconv.Itoa(len(pages)))
		}
		if page > 1 {
			link("first", "page=1")
		}
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(pages[page-1])
}

// split cuts a JSON array into pages of at most n elements (the last may
// be shorter).
func split(t *testing.T, data []byte, sizes ...int) []json.RawMessage {
	t.Helper()
	var all []json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	var pages []json.RawMessage
	for _, n := range sizes {
		b, err := json.Marshal(all[:n])
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, b)
		all = all[n:]
	}
	if len(all) != 0 {
		t.Fatalf("%d alerts left over", len(all))
	}
	return pages
}

// sampleNumbers lists the alert numbers of an export, read independently
// of the parser.
func sampleNumbers(t *testing.T, data []byte) []int {
	t.Helper()
	var alerts []struct{ Number int }
	if err := json.Unmarshal(data, &alerts); err != nil {
		t.Fatal(err)
	}
	var ns []int
	for _, a := range alerts {
		ns = append(ns, a.Number)
	}
	sort.Ints(ns)
	return ns
}

// collect gathers the alert numbers of the findings a pull emits.
type collect struct {
	numbers []int
	assets  map[string]int
}

func (c *collect) emit(f ingest.Finding) error {
	_, n, ok := strings.Cut(f.Key, "#")
	if !ok {
		return fmt.Errorf("key %q without a number", f.Key)
	}
	i, err := strconv.Atoi(n)
	if err != nil {
		return err
	}
	c.numbers = append(c.numbers, i)
	if c.assets == nil {
		c.assets = map[string]int{}
	}
	c.assets[f.Asset]++
	return nil
}

func (c *collect) sorted() []int {
	ns := append([]int(nil), c.numbers...)
	sort.Ints(ns)
	return ns
}

type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func testTransport(s *sleeper) *transport.Transport {
	return &transport.Transport{Sleep: s.sleep, Rand: func() float64 { return 0.5 }, MaxAttempts: 3}
}

const repoPath = "/repos/hassancs91/SimplerLLM/dependabot/alerts"

func TestDependabotPull(t *testing.T) {
	sample := readFile(t, dependabotSample)
	g := newFake(t)
	g.pages[repoPath] = split(t, sample, 30, 30, 16)
	tried := map[int]int{}
	g.fault = func(w http.ResponseWriter, r *http.Request, path string, page int) bool {
		tried[page]++
		switch {
		case page == 2 && tried[page] == 1:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"message":"You have exceeded a secondary rate limit."}`)
			return true
		case page == 3 && tried[page] == 1:
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, `<html>502 Bad Gateway</html>`)
			return true
		}
		return false
	}
	var s sleeper
	var got collect
	scan, err := g.client(testTransport(&s)).DependabotAlerts(context.Background(), "hassancs91", "SimplerLLM", got.emit)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sampleNumbers(t, sample), got.sorted()); diff != "" {
		t.Errorf("alert numbers (-sample +pulled):\n%s", diff)
	}
	if len(got.numbers) != 76 {
		t.Errorf("pulled %d findings, want 76", len(got.numbers))
	}
	if diff := cmp.Diff(map[string]int{"github.com/hassancs91/SimplerLLM": 76}, got.assets); diff != "" {
		t.Errorf("assets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ingest.Scan{Format: FormatDependabot, Scanner: "dependabot", Asset: "github.com/hassancs91/SimplerLLM", Tracked: true}, scan); diff != "" {
		t.Errorf("scan (-want +got):\n%s", diff)
	}
	// 7s as Retry-After asked, then the first back-off step: 0.5 × 500ms.
	if diff := cmp.Diff([]time.Duration{7 * time.Second, 250 * time.Millisecond}, s.waits); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	wantRequests := []string{
		"/api/v3" + repoPath + "?per_page=100",
		"/api/v3" + repoPath + "?per_page=100&after=" + cursor(2),
		"/api/v3" + repoPath + "?per_page=100&after=" + cursor(2),
		"/api/v3" + repoPath + "?per_page=100&after=" + cursor(3),
		"/api/v3" + repoPath + "?per_page=100&after=" + cursor(3),
	}
	if diff := cmp.Diff(wantRequests, g.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestCodeScanningPull(t *testing.T) {
	sample := readFile(t, codeScanningSample)
	g := newFake(t)
	path := "/repos/octo-org/payments-api/code-scanning/alerts"
	g.pages[path] = split(t, sample, 2, 2, 2)
	var got collect
	scan, err := g.client(testTransport(&sleeper{})).CodeScanningAlerts(context.Background(), "octo-org", "payments-api", got.emit)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{42, 37, 31, 29, 12, 7}, got.numbers); diff != "" {
		t.Errorf("alert numbers in API order (-want +got):\n%s", diff)
	}
	if scan.Scanner != "codeql" || scan.Format != FormatCodeScanning || !scan.Tracked {
		t.Errorf("scan = %+v", scan)
	}
	if n := len(g.requests); n != 3 {
		t.Errorf("requests = %d, want 3: %v", n, g.requests)
	}
}

func TestOrgPulls(t *testing.T) {
	// An organization export names each alert's repository.
	withRepo := func(data []byte, repos ...string) []byte {
		var alerts []map[string]any
		if err := json.Unmarshal(data, &alerts); err != nil {
			t.Fatal(err)
		}
		for i, a := range alerts {
			r := repos[i%len(repos)]
			a["repository"] = map[string]any{"full_name": r, "html_url": "https://github.com/" + r}
		}
		b, _ := json.Marshal(alerts)
		return b
	}
	g := newFake(t)
	g.pages["/orgs/octo-org/dependabot/alerts"] = split(t, withRepo(readFile(t, dependabotSample), "octo-org/a", "octo-org/b"), 50, 26)
	g.pages["/orgs/octo-org/code-scanning/alerts"] = split(t, withRepo(readFile(t, codeScanningSample), "octo-org/c"), 6)
	c := g.client(testTransport(&sleeper{}))

	var dep collect
	scan, err := c.OrgDependabotAlerts(context.Background(), "octo-org", dep.emit)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"github.com/octo-org/a": 38, "github.com/octo-org/b": 38}, dep.assets); diff != "" {
		t.Errorf("dependabot assets (-want +got):\n%s", diff)
	}
	if scan.Asset != "" {
		t.Errorf("org scan asset = %q, want none", scan.Asset)
	}
	var cs collect
	if _, err := c.OrgCodeScanningAlerts(context.Background(), "octo-org", cs.emit); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"github.com/octo-org/c": 6}, cs.assets); diff != "" {
		t.Errorf("code scanning assets (-want +got):\n%s", diff)
	}
}

func TestPullErrors(t *testing.T) {
	sample := readFile(t, dependabotSample)
	pages := split(t, sample, 30, 30, 16)
	for _, tc := range []struct {
		name        string
		fault       func(w http.ResponseWriter, r *http.Request, path string, page int) bool
		max         int64
		codeScan    bool
		is          []error
		wantEmitted int
		want        []string
	}{{
		name: "malformed page",
		fault: func(w http.ResponseWriter, r *http.Request, _ string, page int) bool {
			if page != 2 {
				return false
			}
			w.Write(pages[1][:len(pages[1])-20]) // cut: truncated JSON
			return true
		},
		wantEmitted: 30 + 29, // the 30th alert of page 2 is the one cut
		want:        []string{"page 2", "github-dependabot: [29]", "truncated"},
	}, {
		name: "page of the wrong shape",
		fault: func(w http.ResponseWriter, r *http.Request, _ string, page int) bool {
			if page != 3 {
				return false
			}
			fmt.Fprint(w, `{"message":"Server Error"}`)
			return true
		},
		wantEmitted: 60,
		want:        []string{"page 3", "want a JSON array"},
	}, {
		name: "401",
		fault: func(w http.ResponseWriter, r *http.Request, _ string, page int) bool {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`)
			return true
		},
		is:   []error{transport.ErrUnauthorized},
		want: []string{"page 1", "GET http://127.0.0.1", "/api/v3" + repoPath + "?per_page=100", "401 Unauthorized: github.token was rejected", "Bad credentials"},
	}, {
		name: "403 disabled",
		fault: func(w http.ResponseWriter, r *http.Request, _ string, page int) bool {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"Dependabot alerts are disabled for this repository."}`)
			return true
		},
		is:   []error{transport.ErrForbidden},
		want: []string{"403 Forbidden: github.token is not permitted", "Dependabot alerts are disabled"},
	}, {
		name: "503 storm",
		fault: func(w http.ResponseWriter, r *http.Request, _ string, page int) bool {
			if page != 2 {
				return false
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		},
		wantEmitted: 30,
		want:        []string{"page 2", "503 Service Unavailable"},
	}, {
		name: "page over the size limit",
		fault: func(w http.ResponseWriter, r *http.Request, _ string, page int) bool {
			if page != 2 {
				return false
			}
			// Valid JSON, but padded beyond the limit.
			w.Header().Set("Link", fmt.Sprintf(`<%s?per_page=100&after=%s>; rel="next"`, r.URL.Path, cursor(3)))
			w.Write(append(append([]byte(nil), pages[1]...), bytes.Repeat([]byte(" "), len(pages[0]))...))
			return true
		},
		max:         int64(len(pages[0])),
		wantEmitted: 60, // page 2's alerts fit in the limit (it is smaller than page 1), its padding does not
		is:          []error{transport.ErrTooLarge},
		want:        []string{"page 2", "response too large"},
	}, {
		name: "next link to another host",
		fault: func(w http.ResponseWriter, r *http.Request, _ string, page int) bool {
			w.Header().Set("Link", `<https://evil.example.com/steal?per_page=100>; rel="next"`)
			w.Write(pages[0])
			return true
		},
		wantEmitted: 30,
		want:        []string{"page 1", "next-page link leaves http://127.0.0.1", "to https://evil.example.com"},
	}, {
		name: "next link loops",
		fault: func(w http.ResponseWriter, r *http.Request, _ string, page int) bool {
			w.Header().Set("Link", `<`+r.URL.Path+`?per_page=100>; rel="next"`)
			w.Write(pages[0])
			return true
		},
		wantEmitted: 30,
		want:        []string{"page 2", "repeats an earlier page"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := newFake(t)
			g.pages[repoPath] = pages
			g.fault = tc.fault
			c := g.client(testTransport(&sleeper{}))
			c.MaxPageBytes = tc.max
			var got collect
			_, err := c.DependabotAlerts(context.Background(), "hassancs91", "SimplerLLM", got.emit)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q, want it to contain %q", err, want)
				}
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(err, %v) = false; err = %v", target, err)
				}
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "TESTtoken") {
				t.Errorf("error names the token: %v", err)
			}
			if len(got.numbers) != tc.wantEmitted {
				t.Errorf("emitted %d findings before the error, want %d", len(got.numbers), tc.wantEmitted)
			}
		})
	}
}

func TestCodeScanningNotEnabled(t *testing.T) {
	g := newFake(t) // no pages: every path is a 404
	_, err := g.client(testTransport(&sleeper{})).CodeScanningAlerts(context.Background(), "octo-org", "no-scanning", (&collect{}).emit)
	if !errors.Is(err, ErrNotEnabled) || !errors.Is(err, transport.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotEnabled and transport.ErrNotFound", err)
	}
	for _, want := range []string{"code scanning alerts of octo-org/no-scanning", "not enabled", "/repos/octo-org/no-scanning/code-scanning/alerts?per_page=100", "404 Not Found"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want %q", err, want)
		}
	}
	// A Dependabot 404 is a plain not-found.
	_, err = g.client(testTransport(&sleeper{})).DependabotAlerts(context.Background(), "octo-org", "gone", (&collect{}).emit)
	if errors.Is(err, ErrNotEnabled) || !errors.Is(err, transport.ErrNotFound) {
		t.Errorf("dependabot 404: err = %v", err)
	}
}

func TestPullHonoursContext(t *testing.T) {
	g := newFake(t)
	g.pages[repoPath] = split(t, readFile(t, dependabotSample), 30, 30, 16)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := g.client(testTransport(&sleeper{})).DependabotAlerts(ctx, "hassancs91", "SimplerLLM", func(ingest.Finding) error {
		if n++; n == 40 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 40 {
		t.Errorf("err = %v after %d findings, want context.Canceled after 40", err, n)
	}
}

func TestClientDefaults(t *testing.T) {
	c := &Client{}
	if got := c.repoAsset("o", "r"); got != "github.com/o/r" {
		t.Errorf("repoAsset on github.com = %q", got)
	}
	c.BaseURL = "https://ghe.example.com/api/v3"
	if got := c.repoAsset("o", "r"); got != "ghe.example.com/o/r" {
		t.Errorf("repoAsset on GHES = %q", got)
	}
	c.BaseURL = "ftp://x"
	if _, err := c.DependabotAlerts(context.Background(), "o", "r", (&collect{}).emit); err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
		t.Errorf("bad base URL: err = %v", err)
	}
}

func TestNextLink(t *testing.T) {
	base := mustURL(t, "https://api.github.com")
	cur := mustURL(t, "https://api.github.com/repos/o/r/code-scanning/alerts?per_page=100")
	for _, tc := range []struct{ header, want string }{
		{``, ``},
		{`<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"`, `https://api.github.com/x?page=2`},
		{`<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel=next`, `https://api.github.com/x?page=3`},
		{`<https://api.github.com/x?page=5>; rel="last"`, ``},
		{`</x?after=abc>; rel="next"`, `https://api.github.com/x?after=abc`},
		{`garbage`, ``},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Link", tc.header)
		}
		u, err := nextLink(h, cur, base)
		got := ""
		if u != nil {
			got = u.String()
		}
		if err != nil || got != tc.want {
			t.Errorf("nextLink(%q) = %q, %v; want %q", tc.header, got, err, tc.want)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestDefaultHTTPClient(t *testing.T) {
	g := newFake(t)
	g.pages["/repos/octo-org/payments-api/code-scanning/alerts"] = split(t, readFile(t, codeScanningSample), 4, 2)
	c := g.client(nil)
	c.HTTP = nil // the default client with a transport.Transport
	var got collect
	if _, err := c.CodeScanningAlerts(context.Background(), "octo-org", "payments-api", got.emit); err != nil {
		t.Fatal(err)
	}
	if len(got.numbers) != 6 {
		t.Errorf("pulled %d, want 6", len(got.numbers))
	}
}
