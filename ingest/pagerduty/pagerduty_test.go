package pagerduty_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/pagerduty"
	"github.com/secmetrics/secmetrics/ingest/transport"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const token = "u+testtoken-abcdef"

var now = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

// server replays PagerDuty from testdata: GET /incidents filtered by
// created_at in [since, until) and paged by offset/limit as the API does,
// and each incident's log entries, notes and custom field values. hook,
// when set, may answer a request instead (429, 5xx, malformed bodies).
type server struct {
	t         *testing.T
	incidents []json.RawMessage
	mu        sync.Mutex
	requests  []string
	hook      func(w http.ResponseWriter, r *http.Request) bool
}

func newServer(t *testing.T) (*server, *httptest.Server) {
	t.Helper()
	var page struct {
		Incidents []json.RawMessage `json:"incidents"`
	}
	b, err := os.ReadFile("testdata/incidents.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, incidents: page.Incidents}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.RequestURI())
	hook := s.hook
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Token token="+token {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"message":"Authentication failed","code":2006}}`)
		return
	}
	if hook != nil && hook(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "incidents":
		s.list(w, r)
	case len(parts) == 3 && parts[2] == "log_entries":
		name := parts[1]
		if off := r.URL.Query().Get("offset"); off != "0" {
			name += ".offset" + off
		}
		s.file(w, "log_entries/"+name+".json")
	case len(parts) == 3 && parts[2] == "notes":
		s.file(w, "notes/"+parts[1]+".json")
	case len(parts) == 4 && parts[2] == "custom_fields" && parts[3] == "values":
		s.file(w, "custom_fields/"+parts[1]+".json")
	default:
		http.NotFound(w, r)
	}
}

func (s *server) file(w http.ResponseWriter, name string) {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"message":"Not Found","code":2100}}`)
		return
	}
	w.Write(b)
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, err1 := time.Parse(time.RFC3339, q.Get("since"))
	until, err2 := time.Parse(time.RFC3339, q.Get("until"))
	offset, err3 := strconv.Atoi(q.Get("offset"))
	limit, err4 := strconv.Atoi(q.Get("limit"))
	if err := errors.Join(err1, err2, err3, err4); err != nil || until.Sub(since) > 180*24*time.Hour || offset+limit > 10000 {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"message":"Invalid Input Provided","code":2001,"errors":[%q]}}`, fmt.Sprint(err))
		return
	}
	var in []json.RawMessage
	for _, raw := range s.incidents {
		var inc struct {
			CreatedAt time.Time `json:"created_at"`
		}
		json.Unmarshal(raw, &inc)
		if !inc.CreatedAt.Before(since) && inc.CreatedAt.Before(until) {
			in = append(in, raw)
		}
	}
	end := min(offset+limit, len(in))
	pageItems := []json.RawMessage{}
	if offset < len(in) {
		pageItems = in[offset:end]
	}
	total := "null"
	if q.Get("total") == "true" {
		total = strconv.Itoa(len(in))
	}
	items, _ := json.Marshal(pageItems)
	fmt.Fprintf(w, `{"incidents": %s, "limit": %d, "offset": %d, "total": %s, "more": %t}`, items, limit, offset, total, end < len(in))
}

func (s *server) count(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func config(url string) pagerduty.Config {
	var c pagerduty.Config
	c.Name = "main"
	c.URL = url
	c.TokenEnv = "PAGERDUTY_TOKEN"
	c.Token = token
	c.PageSize = 2
	c.Disposition = pagerduty.DispositionConfig{From: []string{"custom_field", "note"}, CustomField: "disposition"}
	c.Mapping = ingest.AlertMapping{
		Teams:       map[string]string{"team:SOC": "soc", "service:CrowdStrike EDR": "endpoint"},
		DefaultTeam: "security",
	}
	return c
}

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func newSource(t *testing.T, cfg pagerduty.Config, store *ingest.Store, attempts int) (*pagerduty.Source, *sleeps) {
	t.Helper()
	src, err := pagerduty.New(cfg, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	sl := &sleeps{}
	src.HTTP = &http.Client{Transport: &transport.Transport{Sleep: sl.sleep, Rand: func() float64 { return 0.5 }, MaxAttempts: attempts}}
	src.Now = func() time.Time { return now }
	return src, sl
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// want is what testdata holds, normalized by hand (docs/alerts.md).
var want = []ingest.Alert{
	{Source: "pagerduty:main", ID: "PACK006", RuleID: "PEDRSVC", RuleName: "CrowdStrike EDR", Severity: ingest.High, OriginalSeverity: "high",
		Created: at("2026-03-04T15:00:00Z"), FirstTriage: at("2026-03-04T15:20:00Z"), Updated: at("2026-03-04T15:20:00Z"),
		Status: "acknowledged", Disposition: ingest.DispositionUndetermined, OriginalDisposition: "Needs Review",
		Assignee: "Dave Responder", Team: "endpoint", Asset: "CrowdStrike EDR"},
	{Source: "pagerduty:main", ID: "PDUP004", RuleID: "PIDALRT", RuleName: "Identity Alerts", Severity: ingest.High, OriginalSeverity: "high",
		Created: at("2026-03-01T08:02:00Z"), FirstTriage: at("2026-03-01T08:10:00Z"), Closed: at("2026-03-01T08:10:00Z"), Updated: at("2026-03-01T08:10:00Z"),
		Status: "resolved", Disposition: ingest.DispositionDuplicate, OriginalDisposition: "merge_resolve_reason",
		Assignee: "Ann Analyst", Team: "soc", Asset: "Identity Alerts", Incident: "PGR0VU2"},
	{Source: "pagerduty:main", ID: "PEDR003", RuleID: "PEDRSVC", RuleName: "CrowdStrike EDR", Severity: ingest.Low, OriginalSeverity: "low",
		Created: at("2026-03-03T12:00:00Z"), Closed: at("2026-03-03T12:30:00Z"), Updated: at("2026-03-03T12:30:00Z"),
		Status: "resolved", AutoClosed: true, Team: "endpoint", Asset: "CrowdStrike EDR"},
	{Source: "pagerduty:main", ID: "PFK2L7Q", RuleID: "PIDALRT", RuleName: "Identity Alerts", Severity: ingest.Medium, OriginalSeverity: "P3",
		Created: at("2026-03-02T10:00:00Z"), FirstTriage: at("2026-03-02T10:12:00Z"), Closed: at("2026-03-02T10:45:00Z"), Updated: at("2026-03-02T10:45:05Z"),
		Status: "resolved", Disposition: ingest.DispositionFalsePositive, OriginalDisposition: "false positive",
		Assignee: "Bob Builder", Team: "soc", Asset: "Identity Alerts"},
	{Source: "pagerduty:main", ID: "PGR0VU2", RuleID: "PIDALRT", RuleName: "Identity Alerts", Severity: ingest.High, OriginalSeverity: "P2",
		Created: at("2026-03-01T08:00:00Z"), FirstTriage: at("2026-03-01T08:04:30Z"), Closed: at("2026-03-01T09:30:00Z"), Updated: at("2026-03-01T09:30:10Z"),
		Status: "resolved", Disposition: ingest.DispositionTruePositive, OriginalDisposition: "True Positive",
		Assignee: "Ann Analyst", Team: "soc", Asset: "Identity Alerts"},
	{Source: "pagerduty:main", ID: "POPEN05", RuleID: "PVPNSVC", RuleName: "VPN Gateway", Severity: ingest.Critical, OriginalSeverity: "P1",
		Created: at("2026-03-05T07:00:00Z"), Updated: at("2026-03-05T07:00:02Z"),
		Status: "triggered", Assignee: "Carol Oncall", Team: "security", Asset: "VPN Gateway"},
}

var transient = cmpopts.IgnoreFields(ingest.Alert{}, "Raw", "Unmapped")

func stored(t *testing.T, store *ingest.Store) []ingest.Alert {
	t.Helper()
	got, err := store.Alerts(context.Background(), "pagerduty:main")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestPull(t *testing.T) {
	srv, ts := newServer(t)
	store := ingest.NewStore(chtest.New(t), nil)
	src, sl := newSource(t, config(ts.URL), store, 3)
	// The second page of the last window is rate limited once.
	var limited atomic.Bool
	srv.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/incidents" && r.URL.Query().Get("offset") == "2" && !limited.Swap(true) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"message":"Rate Limit Exceeded","code":2020}}`)
			return true
		}
		return false
	}
	ctx := context.Background()
	sum, err := src.Pull(ctx, ingest.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, stored(t, store), transient); diff != "" {
		t.Errorf("stored alerts (-want +got):\n%s", diff)
	}
	wantCounts := map[ingest.Disposition]int{ingest.DispositionTruePositive: 1, ingest.DispositionFalsePositive: 1,
		ingest.DispositionDuplicate: 1, ingest.DispositionUndetermined: 1, ingest.DispositionNone: 2}
	if !cmp.Equal(sum.Dispositions, wantCounts) || sum.Read != 6 || sum.Written != 6 || !sum.Watermark.Equal(now) {
		t.Errorf("summary = %+v", sum)
	}
	if !cmp.Equal(sum.Unmapped, map[string]int{"disposition=Needs Review": 1, "team=service:PVPNSVC, service:VPN Gateway": 1}) {
		t.Errorf("unmapped = %v", sum.Unmapped)
	}
	if !cmp.Equal(sl.d, []time.Duration{7 * time.Second}) {
		t.Errorf("sleeps = %v, want the 7s Retry-After only", sl.d)
	}
	// First pull: 90 days of initial lookback plus 30 days of lookback, in
	// 30-day windows; the last window has three pages of two.
	if n := srv.count("/incidents?"); n != 3+3+1 {
		t.Errorf("%d incident list requests, want 7 (3 empty windows, 3 pages in the last, 1 retry)", n)
	}
	// Raw payloads hold the incident and every log entry, both pages.
	var raw map[string]json.RawMessage
	store.EachRaw(ctx, "pagerduty:main", "alert", func(k string, p []byte) error {
		if k == "PFK2L7Q" {
			return json.Unmarshal(p, &raw)
		}
		return nil
	})
	var entries []json.RawMessage
	json.Unmarshal(raw["log_entries"], &entries)
	if len(entries) != 5 {
		t.Errorf("raw payload of PFK2L7Q has %d log entries, want 5", len(entries))
	}

	// A re-run reads again from the watermark (minus overlap and lookback)
	// and changes nothing.
	before := srv.count("/incidents?")
	sum, err = src.Pull(ctx, ingest.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, stored(t, store), transient); diff != "" {
		t.Errorf("after re-run (-want +got):\n%s", diff)
	}
	if n := srv.count("/incidents?") - before; n != 3+1 || !sum.Since.Equal(now.Add(-15*time.Minute)) {
		t.Errorf("re-run: %d list requests (want 3 pages of a 30-day window and the 15 minutes after it), since %s", n, sum.Since)
	}
}

func TestPullResumesAfterServerError(t *testing.T) {
	srv, ts := newServer(t)
	store := ingest.NewStore(chtest.New(t), nil)
	src, sl := newSource(t, config(ts.URL), store, 2)
	var broken atomic.Bool
	broken.Store(true)
	srv.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if broken.Load() && strings.HasPrefix(r.URL.Path, "/incidents/PFK2L7Q/notes") {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":{"message":"Internal Server Error","code":2000}}`)
			return true
		}
		return false
	}
	ctx := context.Background()
	_, err := src.Pull(ctx, ingest.PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("error = %v, want the 500", err)
	}
	if len(sl.d) != 1 || sl.d[0] != 250*time.Millisecond {
		t.Errorf("sleeps = %v, want one back-off of 250ms (jitter 0.5 of 500ms)", sl.d)
	}
	st, _ := store.State(ctx, "pagerduty:main")
	if !st.Watermark.IsZero() || !strings.Contains(st.LastError, "500") {
		t.Errorf("state after failure: %+v", st)
	}
	broken.Store(false)
	if _, err := src.Pull(ctx, ingest.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, stored(t, store), transient); diff != "" {
		t.Errorf("after resume (-want +got):\n%s", diff)
	}
	st, _ = store.State(ctx, "pagerduty:main")
	if !st.Watermark.Equal(now) || st.LastError != "" || st.Items != 6 {
		t.Errorf("state after resume: %+v", st)
	}
}

func TestPullErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		hook func(w http.ResponseWriter, r *http.Request) bool
		tok  string
		want []string
	}{
		{name: "unauthorized", tok: "wrong-token-123",
			want: []string{"401", "the PagerDuty API token of pagerduty:main was rejected"}},
		{name: "truncated page", hook: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/incidents" {
				fmt.Fprint(w, `{"incidents": [{"id": "PGR0VU2", "created_at": "2026-03-`)
				return true
			}
			return false
		}, want: []string{"malformed response", "unexpected end of JSON"}},
		{name: "no more flag", hook: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/incidents" {
				fmt.Fprint(w, `{"incidents": []}`)
				return true
			}
			return false
		}, want: []string{`malformed response: no "more"`}},
		{name: "bad created_at", hook: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/incidents" && r.URL.Query().Get("since") == "2026-02-08T00:00:00Z" {
				fmt.Fprint(w, `{"incidents": [{"id": "PBAD001", "created_at": "yesterday", "service": {"id": "X"}}], "more": false}`)
				return true
			}
			return false
		}, want: []string{"incident PBAD001: created_at"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, ts := newServer(t)
			srv.hook = c.hook
			store := ingest.NewStore(chtest.New(t), nil)
			cfg := config(ts.URL)
			if c.tok != "" {
				cfg.Token = c.tok
			}
			src, _ := newSource(t, cfg, store, 2)
			_, err := src.Pull(context.Background(), ingest.PullOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), cfg.Token) {
				t.Errorf("error leaks the token: %v", err)
			}
			if c.name == "unauthorized" && !errors.Is(err, transport.ErrUnauthorized) {
				t.Errorf("error %v is not ErrUnauthorized", err)
			}
			if got := stored(t, store); len(got) != 0 {
				t.Errorf("%d alerts stored by a failed pull", len(got))
			}
			if st, _ := store.State(context.Background(), "pagerduty:main"); !st.Watermark.IsZero() || st.LastError == "" {
				t.Errorf("state = %+v", st)
			}
		})
	}
}

// TestWindowSplit checks that a window holding more incidents than offset
// paging reaches is halved until each part fits, covering the range
// without gaps.
func TestWindowSplit(t *testing.T) {
	var mu sync.Mutex
	var windows [][2]time.Time
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		since, _ := time.Parse(time.RFC3339, q.Get("since"))
		until, _ := time.Parse(time.RFC3339, q.Get("until"))
		total := 0
		if until.Sub(since) > 5*24*time.Hour {
			total = 10001
		}
		if total <= 10000 {
			mu.Lock()
			windows = append(windows, [2]time.Time{since, until})
			mu.Unlock()
		}
		fmt.Fprintf(w, `{"incidents": [], "limit": 100, "offset": 0, "total": %d, "more": %t}`, total, total > 0)
	}))
	defer ts.Close()
	cfg := config(ts.URL)
	cfg.Window = 30 * 24 * time.Hour
	cfg.InitialLookback = 30 * 24 * time.Hour
	cfg.Lookback = time.Hour
	src, _ := newSource(t, cfg, ingest.NewStore(chtest.New(t), nil), 1)
	if _, err := src.Pull(context.Background(), ingest.PullOptions{DryRun: true}); err != nil {
		t.Fatal(err)
	}
	sort.Slice(windows, func(i, j int) bool { return windows[i][0].Before(windows[j][0]) })
	start := now.Add(-30*24*time.Hour - time.Hour)
	for i, w := range windows {
		if !w[0].Equal(start) || w[1].Sub(w[0]) > 5*24*time.Hour {
			t.Fatalf("window %d = %v..%v, want start %v and at most 5 days", i, w[0], w[1], start)
		}
		start = w[1]
	}
	// 30 days halved three times (3.75 days each), then the last hour.
	if !start.Equal(now) || len(windows) != 9 {
		t.Errorf("%d windows ending %v, want 9 ending %v", len(windows), start, now)
	}
}

func TestDryRun(t *testing.T) {
	_, ts := newServer(t)
	store := ingest.NewStore(chtest.New(t), nil)
	src, _ := newSource(t, config(ts.URL), store, 1)
	var out bytes.Buffer
	sum, err := src.Pull(context.Background(), ingest.PullOptions{DryRun: true, Out: &out})
	if err != nil || sum.Read != 6 || sum.Written != 0 {
		t.Fatalf("dry run: %+v, %v", sum, err)
	}
	text := strings.Join(strings.Fields(out.String()), " ")
	for _, w := range []string{"dry run", "true_positive 1", "none 2", "soc 3", "disposition=Needs Review 1", "team=service:PVPNSVC, service:VPN Gateway 1"} {
		if !strings.Contains(text, w) {
			t.Errorf("dry-run output lacks %q:\n%s", w, out.String())
		}
	}
	if got := stored(t, store); len(got) != 0 {
		t.Errorf("dry run stored %d alerts", len(got))
	}
	if st, _ := store.State(context.Background(), "pagerduty:main"); !st.LastAttempt.IsZero() {
		t.Errorf("dry run wrote state %+v", st)
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	// The raw payloads kept by a pull are an export: importing them into an
	// empty database gives the same alerts.
	_, ts := newServer(t)
	pulled := ingest.NewStore(chtest.New(t), nil)
	src, _ := newSource(t, config(ts.URL), pulled, 1)
	if _, err := src.Pull(ctx, ingest.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	var export bytes.Buffer
	pulled.EachRaw(ctx, "pagerduty:main", "alert", func(_ string, p []byte) error {
		export.Write(p)
		export.WriteByte('\n')
		return nil
	})
	store := ingest.NewStore(chtest.New(t), nil)
	imp, _ := newSource(t, config("http://unused.invalid"), store, 1)
	sum, err := imp.Import(ctx, &export, "raw.ndjson")
	if err != nil || sum.Written != 6 {
		t.Fatalf("import: %+v, %v", sum, err)
	}
	if diff := cmp.Diff(want, stored(t, store), transient); diff != "" {
		t.Errorf("imported alerts (-want +got):\n%s", diff)
	}

	// A bare GET /incidents response: no log entries, so first triage comes
	// from acknowledgements[] (PACK006 only) and no resolution is known to
	// be automatic.
	store = ingest.NewStore(chtest.New(t), nil)
	imp, _ = newSource(t, config("http://unused.invalid"), store, 1)
	f, _ := os.Open("testdata/incidents.json")
	defer f.Close()
	if _, err := imp.Import(ctx, f, "incidents.json"); err != nil {
		t.Fatal(err)
	}
	got := stored(t, store)
	triaged := map[string]time.Time{}
	for _, a := range got {
		if !a.FirstTriage.IsZero() {
			triaged[a.ID] = a.FirstTriage
		}
		if a.AutoClosed {
			t.Errorf("%s auto-closed without log entries", a.ID)
		}
	}
	if len(got) != 6 || !cmp.Equal(triaged, map[string]time.Time{"PACK006": at("2026-03-04T15:20:00Z")}) {
		t.Errorf("bare import: %d alerts, triaged %v", len(got), triaged)
	}

	// A bad line rejects the whole file.
	store = ingest.NewStore(chtest.New(t), nil)
	imp, _ = newSource(t, config("http://unused.invalid"), store, 1)
	bad := `{"id":"PX1","created_at":"2026-03-01T00:00:00Z","status":"triggered"}` + "\n" + `{"id":"PX2","created_at":"not a time"}` + "\n"
	if _, err := imp.Import(ctx, strings.NewReader(bad), "bad.ndjson"); err == nil || !strings.Contains(err.Error(), "bad.ndjson: line 2: incident PX2: created_at") {
		t.Errorf("bad import error = %v", err)
	}
	if got := stored(t, store); len(got) != 0 {
		t.Errorf("rejected file stored %d alerts", len(got))
	}
}

func TestConfigValidate(t *testing.T) {
	b, err := os.ReadFile("testdata/config_bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg pagerduty.Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	wantErrs, err := os.ReadFile("testdata/config_bad.errors")
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Validate("alerts.pagerduty[0]")
	if got == nil {
		t.Fatal("no error")
	}
	if diff := cmp.Diff(strings.TrimSpace(string(wantErrs)), got.Error()); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
	var good pagerduty.Config
	if err := yaml.Unmarshal([]byte("name: main\ntoken_env: PD_TOKEN\ndisposition:\n  from: [custom_field, note]\n  custom_field: disposition\nmapping:\n  teams: {\"team:SOC\": soc}\n"), &good); err != nil {
		t.Fatal(err)
	}
	if err := good.Validate("p"); err != nil {
		t.Errorf("good config: %v", err)
	}
}
