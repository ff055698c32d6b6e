package splunk_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
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
	"github.com/secmetrics/secmetrics/ingest/splunk"
	"github.com/secmetrics/secmetrics/ingest/transport"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const token = "eyJraWQiOiJzcGx1bmsuc2VjcmV0IiwiYWxnIjoiSFM1MTIifQ.test-token"

var now = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

// server replays POST /services/search/jobs/export from testdata: the
// stream of export.json, filtered by _time in [earliest_time,
// latest_time), flushed object by object as Splunk streams it.
type server struct {
	t        *testing.T
	lines    [][]byte
	requests atomic.Int32
	hook     func(w http.ResponseWriter, r *http.Request) bool
	// cut, when positive, ends the stream after that many result lines
	// (a connection closed mid-export).
	cut int
}

func newServer(t *testing.T) (*server, *httptest.Server) {
	t.Helper()
	b, err := os.ReadFile("testdata/export.json")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		s.lines = append(s.lines, append([]byte(nil), sc.Bytes()...))
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.hook != nil && s.hook(w, r) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}`)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/services/search/jobs/export" {
		http.NotFound(w, r)
		return
	}
	r.ParseForm()
	earliest, err1 := strconv.ParseInt(r.PostForm.Get("earliest_time"), 10, 64)
	latest, err2 := strconv.ParseInt(r.PostForm.Get("latest_time"), 10, 64)
	if r.PostForm.Get("output_mode") != "json" || r.PostForm.Get("search") != splunk.DefaultSearch || err1 != nil || err2 != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"messages":[{"type":"FATAL","text":"bad request"}]}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fl := w.(http.Flusher)
	sent := 0
	var kept [][]byte
	for _, line := range s.lines {
		var m struct {
			Result *struct {
				Time time.Time `json:"_time"`
			} `json:"result"`
		}
		json.Unmarshal(line, &m)
		if m.Result != nil && (m.Result.Time.Unix() < earliest || m.Result.Time.Unix() >= latest) {
			continue
		}
		kept = append(kept, line)
	}
	for i, line := range kept {
		if s.cut > 0 && sent == s.cut {
			return
		}
		if i == len(kept)-1 && !bytes.Contains(line, []byte(`"lastrow"`)) {
			line = bytes.Replace(line, []byte(`"result"`), []byte(`"lastrow": true, "result"`), 1)
		}
		w.Write(line)
		w.Write([]byte("\n"))
		fl.Flush()
		if bytes.Contains(line, []byte(`"result"`)) {
			sent++
		}
	}
}

func config(url string) splunk.Config {
	var c splunk.Config
	c.Name = "es"
	c.URL = url
	c.TokenEnv = "SPLUNK_TOKEN"
	c.Token = token
	c.Mapping = ingest.AlertMapping{
		Teams: map[string]string{"owner:bob": "soc", "security_domain:access": "identity",
			"security_domain:endpoint": "endpoint", "security_domain:threat": "threat-intel"},
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

func newSource(t *testing.T, cfg splunk.Config, store *ingest.Store, attempts int) (*splunk.Source, *sleeps) {
	t.Helper()
	src, err := splunk.New(cfg, store, nil)
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

func id(n int) string {
	return fmt.Sprintf("F8A2C1B3-4D5E-6F70-8192-A3B4C5D6E7F8@@notable@@5d41402abc4b2a76b9719d911017c5%02d", n)
}

const (
	bf      = "Access - Brute Force Access Behavior Detected - Rule"
	ti      = "Threat - Threat Intelligence Match - Rule"
	malware = "Endpoint - Malware Detected - Rule"
)

// want is what export.json holds, normalized by hand (docs/alerts.md).
var want = []ingest.Alert{
	{ID: id(1), RuleID: bf, RuleName: "Brute Force Access Behavior Detected", Severity: ingest.High, OriginalSeverity: "high",
		Created: at("2026-03-02T08:00:00Z"), FirstTriage: at("2026-03-02T08:05:00Z"), Closed: at("2026-03-02T09:30:00Z"), Updated: at("2026-03-02T09:30:00Z"),
		Status: "Closed", Disposition: ingest.DispositionTruePositive, OriginalDisposition: "disposition:1",
		Assignee: "Ann Analyst", Team: "identity", Asset: "web-01"},
	{ID: id(2), RuleID: ti, RuleName: "Threat Intelligence Match", Severity: ingest.Medium, OriginalSeverity: "medium",
		Created: at("2026-03-02T09:00:00Z"), FirstTriage: at("2026-03-02T09:10:00Z"), Closed: at("2026-03-02T10:00:00Z"), Updated: at("2026-03-02T10:00:00Z"),
		Status: "Resolved", Disposition: ingest.DispositionFalsePositive, OriginalDisposition: "disposition:3",
		Assignee: "Bob Builder", Team: "soc", Asset: "proxy-02"},
	{ID: id(3), RuleID: "Endpoint - Host With Multiple Infections - Rule", RuleName: "Host With Multiple Infections", Severity: ingest.Critical, OriginalSeverity: "critical",
		Created: at("2026-03-02T10:30:00Z"), FirstTriage: at("2026-03-02T11:00:00Z"), Updated: at("2026-03-02T11:00:00Z"),
		Status: "In Progress", OriginalDisposition: "disposition:6", Assignee: "Carol Oncall", Team: "endpoint", Asset: "laptop-7"},
	{ID: id(4), RuleID: "Network - Unusual Volume of Network Activity - Rule", RuleName: "Unusual Volume of Network Activity", Severity: ingest.Low, OriginalSeverity: "low",
		Created: at("2026-03-02T11:00:00Z"), Updated: at("2026-03-02T11:00:00Z"),
		Status: "New", OriginalDisposition: "disposition:6", Team: "security", Asset: "db-03"},
	{ID: id(5), RuleID: "Access - Excessive Failed Logins - Rule", RuleName: "Excessive Failed Logins", Severity: ingest.Info, OriginalSeverity: "informational",
		Created: at("2026-03-02T12:00:00Z"), FirstTriage: at("2026-03-02T12:01:00Z"), Closed: at("2026-03-02T12:01:00Z"), Updated: at("2026-03-02T12:01:00Z"),
		Status: "Closed", Disposition: ingest.DispositionBenignPositive, OriginalDisposition: "disposition:2", AutoClosed: true,
		Team: "identity", Asset: "198.51.100.4"},
	{ID: id(6), RuleID: bf, RuleName: "Brute Force Access Behavior Detected", Severity: ingest.High, OriginalSeverity: "high",
		Created: at("2026-03-02T12:30:00Z"), FirstTriage: at("2026-03-02T12:45:00Z"), Closed: at("2026-03-02T14:00:00Z"), Updated: at("2026-03-02T14:00:00Z"),
		Status: "Closed", Disposition: ingest.DispositionFalsePositive, OriginalDisposition: "disposition:4",
		Assignee: "Bob Builder", Team: "soc", Asset: "web-02"},
	{ID: id(7), RuleID: malware, RuleName: "Malware Detected", Severity: ingest.High, OriginalSeverity: "high",
		Created: at("2026-03-02T13:00:00Z"), FirstTriage: at("2026-03-02T13:05:00Z"), Closed: at("2026-03-02T13:20:00Z"), Updated: at("2026-03-02T13:20:00Z"),
		Status: "Closed", Disposition: ingest.DispositionUndetermined, OriginalDisposition: "disposition:7",
		Assignee: "Carol Oncall", Team: "endpoint", Asset: "lab-01"},
	{ID: id(8), RuleID: malware, RuleName: "Malware Detected", Severity: ingest.Medium, OriginalSeverity: "medium",
		Created: at("2026-03-02T13:30:00Z"), FirstTriage: at("2026-03-02T14:00:00Z"), Closed: at("2026-03-02T15:00:00Z"), Updated: at("2026-03-02T15:00:00Z"),
		Status: "Closed", Disposition: ingest.DispositionUndetermined, OriginalDisposition: "disposition:6",
		Assignee: "Carol Oncall", Team: "endpoint", Asset: "lab-02"},
	{ID: id(9), RuleID: ti, RuleName: "Threat Intelligence Match", Severity: ingest.Medium, OriginalSeverity: "medium",
		Created: at("2026-03-02T14:00:00Z"), FirstTriage: at("2026-03-02T15:30:00Z"), Updated: at("2026-03-02T15:30:00Z"),
		Status: "Pending", Disposition: ingest.DispositionUndetermined, OriginalDisposition: "disposition:5",
		Assignee: "Bob Builder", Team: "soc", Asset: "proxy-02"},
}

func withSource(as []ingest.Alert) []ingest.Alert {
	out := make([]ingest.Alert, len(as))
	for i, a := range as {
		a.Source = "splunk:es"
		out[i] = a
	}
	return out
}

var transient = cmpopts.IgnoreFields(ingest.Alert{}, "Raw", "Unmapped")

func stored(t *testing.T, store *ingest.Store) []ingest.Alert {
	t.Helper()
	got, err := store.Alerts(context.Background(), "splunk:es")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestPull(t *testing.T) {
	srv, ts := newServer(t)
	store := ingest.NewStore(chtest.New(t), nil)
	src, sl := newSource(t, config(ts.URL), store, 4)
	// First a 429, then the search head's concurrency limit (503).
	var calls atomic.Int32
	srv.hook = func(w http.ResponseWriter, r *http.Request) bool {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"messages":[{"type":"ERROR","text":"Too many requests"}]}`)
			return true
		case 2:
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"messages":[{"type":"ERROR","text":"Search not executed: The maximum number of concurrent historical searches on this instance has been reached."}]}`)
			return true
		}
		return false
	}
	ctx := context.Background()
	sum, err := src.Pull(ctx, ingest.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(withSource(want), stored(t, store), transient); diff != "" {
		t.Errorf("stored alerts (-want +got):\n%s", diff)
	}
	wantCounts := map[ingest.Disposition]int{ingest.DispositionTruePositive: 1, ingest.DispositionFalsePositive: 2,
		ingest.DispositionBenignPositive: 1, ingest.DispositionUndetermined: 3, ingest.DispositionNone: 2}
	if !cmp.Equal(sum.Dispositions, wantCounts) || sum.Written != 9 || !sum.Watermark.Equal(now) {
		t.Errorf("summary = %+v", sum)
	}
	if !cmp.Equal(sum.Unmapped, map[string]int{"disposition=disposition:7": 1,
		"team=security_domain:network, rule:Network - Unusual Volume of Network Activity - Rule": 1}) {
		t.Errorf("unmapped = %v", sum.Unmapped)
	}
	if !cmp.Equal(sl.d, []time.Duration{5 * time.Second, 30 * time.Second}) {
		t.Errorf("sleeps = %v, want the server's 5s and 30s", sl.d)
	}
	// A re-run changes nothing.
	if _, err := src.Pull(ctx, ingest.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(withSource(want), stored(t, store), transient); diff != "" {
		t.Errorf("after re-run (-want +got):\n%s", diff)
	}
}

func TestPullResumesAfterServerError(t *testing.T) {
	srv, ts := newServer(t)
	store := ingest.NewStore(chtest.New(t), nil)
	src, sl := newSource(t, config(ts.URL), store, 3)
	var broken atomic.Bool
	broken.Store(true)
	srv.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if broken.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"messages":[{"type":"ERROR","text":"Internal server error"}]}`)
			return true
		}
		return false
	}
	ctx := context.Background()
	if _, err := src.Pull(ctx, ingest.PullOptions{}); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("error = %v, want the 500", err)
	}
	// Full jitter at 0.5: half of 500ms, then half of 1s.
	if !cmp.Equal(sl.d, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}) {
		t.Errorf("back-off sleeps = %v", sl.d)
	}
	if st, _ := store.State(ctx, "splunk:es"); !st.Watermark.IsZero() || !strings.Contains(st.LastError, "500") {
		t.Errorf("state after failure: %+v", st)
	}
	// The connection then drops mid-export: an error, nothing committed.
	broken.Store(false)
	srv.cut = 4
	_, err := src.Pull(ctx, ingest.PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "without its last row") {
		t.Fatalf("truncated export: %v", err)
	}
	if st, _ := store.State(ctx, "splunk:es"); !st.Watermark.IsZero() {
		t.Errorf("watermark advanced by a truncated export: %+v", st)
	}
	srv.cut = 0
	if _, err := src.Pull(ctx, ingest.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(withSource(want), stored(t, store), transient); diff != "" {
		t.Errorf("after resume (-want +got):\n%s", diff)
	}
	if st, _ := store.State(ctx, "splunk:es"); !st.Watermark.Equal(now) || st.LastError != "" || st.Items != 9 {
		t.Errorf("state after resume: %+v", st)
	}
}

func TestPullErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		tok  string
		body string
		want []string
	}{
		{name: "unauthorized", tok: "wrong-token-1234", want: []string{"401", "the Splunk token of splunk:es was rejected", "call not properly authenticated"}},
		{name: "search failed", body: `{"preview":false,"offset":0,"messages":[{"type":"FATAL","text":"Error in 'SearchParser': The search specifies a macro 'notable' that cannot be found."}]}`,
			want: []string{"search failed: FATAL: Error in 'SearchParser'"}},
		{name: "malformed", body: `{"preview":false,"offset":0,"result":{"_time":"2026-03-02T08:00:00.000+00:00","event_id":` + "\n",
			want: []string{"malformed export"}},
		{name: "no event id", body: `{"preview":false,"offset":0,"lastrow":true,"result":{"_time":"2026-03-02T08:00:00.000+00:00"}}`,
			want: []string{"result without event_id"}},
		{name: "bad time", body: `{"preview":false,"offset":0,"lastrow":true,"result":{"_time":"soon","event_id":"x@@notable@@1"}}`,
			want: []string{`notable x@@notable@@1: _time: cannot parse "soon"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, ts := newServer(t)
			if c.body != "" {
				srv.hook = func(w http.ResponseWriter, r *http.Request) bool {
					fmt.Fprint(w, c.body)
					return true
				}
			}
			store := ingest.NewStore(chtest.New(t), nil)
			cfg := config(ts.URL)
			if c.tok != "" {
				cfg.Token = c.tok
			}
			src, _ := newSource(t, cfg, store, 1)
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
			if c.tok != "" && !errors.Is(err, transport.ErrUnauthorized) {
				t.Errorf("error %v is not ErrUnauthorized", err)
			}
			if st, _ := store.State(context.Background(), "splunk:es"); !st.Watermark.IsZero() || st.LastError == "" {
				t.Errorf("state = %+v", st)
			}
			if got := stored(t, store); len(got) != 0 {
				t.Errorf("%d alerts stored by a failed pull", len(got))
			}
		})
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	for _, file := range []string{"export.json", "export.csv"} {
		t.Run(file, func(t *testing.T) {
			store := ingest.NewStore(chtest.New(t), nil)
			src, _ := newSource(t, config("http://unused.invalid"), store, 1)
			f, err := os.Open("testdata/" + file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sum, err := src.Import(ctx, f, file)
			if err != nil || sum.Written != 9 {
				t.Fatalf("import: %+v, %v", sum, err)
			}
			if diff := cmp.Diff(withSource(want), stored(t, store), transient); diff != "" {
				t.Errorf("imported alerts (-want +got):\n%s", diff)
			}
		})
	}
	// A truncated export file is rejected whole.
	b, _ := os.ReadFile("testdata/export.json")
	lines := bytes.SplitAfter(b, []byte("\n"))
	store := ingest.NewStore(chtest.New(t), nil)
	src, _ := newSource(t, config("http://unused.invalid"), store, 1)
	if _, err := src.Import(ctx, bytes.NewReader(bytes.Join(lines[:5], nil)), "cut.json"); err == nil || !strings.Contains(err.Error(), "cut.json: export ended after 4 results without its last row") {
		t.Errorf("truncated file: %v", err)
	}
	if got := stored(t, store); len(got) != 0 {
		t.Errorf("rejected file stored %d alerts", len(got))
	}
}

func TestDryRun(t *testing.T) {
	_, ts := newServer(t)
	store := ingest.NewStore(chtest.New(t), nil)
	src, _ := newSource(t, config(ts.URL), store, 1)
	var out bytes.Buffer
	sum, err := src.Pull(context.Background(), ingest.PullOptions{DryRun: true, Out: &out})
	if err != nil || sum.Read != 9 || len(stored(t, store)) != 0 {
		t.Fatalf("dry run: %+v, %v", sum, err)
	}
	text := strings.Join(strings.Fields(out.String()), " ")
	for _, w := range []string{"undetermined 3", "endpoint 3", "disposition=disposition:7 1"} {
		if !strings.Contains(text, w) {
			t.Errorf("dry-run output lacks %q:\n%s", w, out.String())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	var cfg splunk.Config
	if err := yaml.Unmarshal([]byte(`
name: es
url: splunk.example.com:8089
token_env: ""
app: "Enterprise Security"
auth_scheme: Basic
search: "index=notable"
lookback: -1h
mapping:
  teams:
    "": soc
`), &cfg); err != nil {
		t.Fatal(err)
	}
	err := cfg.Validate("alerts.splunk[0]")
	want := `alerts.splunk[0].mapping.teams: empty key
alerts.splunk[0].token_env: set token_env or token_file
alerts.splunk[0].url: "splunk.example.com:8089" is not an http(s) base URL (the management port, e.g. https://splunk.example.com:8089)
alerts.splunk[0].app: "Enterprise Security" is not an app name
alerts.splunk[0].auth_scheme: "Basic" is not Bearer or Splunk
alerts.splunk[0].search: must start with "search " or "|"
alerts.splunk[0].lookback: must not be negative`
	if err == nil {
		t.Fatal("no error")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
	if err := config("https://splunk.example.com:8089").Validate("p"); err != nil {
		t.Errorf("good config: %v", err)
	}
}
