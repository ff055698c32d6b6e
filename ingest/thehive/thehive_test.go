package thehive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/thehive"
	"github.com/secmetrics/secmetrics/ingest/transport"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const apiKey = "p9M7x3GQ2k+thehive/key"

var now = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

// server emulates TheHive 5's POST /api/v1/query for listAlert and
// listCase over testdata: the _or of _gte filters on _updatedAt and
// _createdAt, sort by _createdAt, page from/to.
type server struct {
	t        *testing.T
	mu       sync.Mutex
	objects  map[string][]map[string]any
	requests atomic.Int32
	hook     func(w http.ResponseWriter, r *http.Request, body []byte) bool
}

func load(t *testing.T, name string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func newServer(t *testing.T) (*server, *httptest.Server) {
	s := &server{t: t, objects: map[string][]map[string]any{"listAlert": load(t, "alerts.json"), "listCase": load(t, "cases.json")}}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	body, _ := io.ReadAll(r.Body)
	if s.hook != nil && s.hook(w, r, body) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+apiKey {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"type":"AuthenticationError","message":"Authentication failure"}`)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/query" || r.Header.Get("X-Organisation") != "acme" {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"type":"NotFoundError","message":"not found"}`)
		return
	}
	var q struct {
		Query []struct {
			Name string `json:"_name"`
			Or   []map[string]struct {
				Field string `json:"_field"`
				Value int64  `json:"_value"`
			} `json:"_or"`
			Fields []map[string]string `json:"_fields"`
			From   int                 `json:"from"`
			To     int                 `json:"to"`
		} `json:"query"`
	}
	if err := json.Unmarshal(body, &q); err != nil || len(q.Query) != 4 || q.Query[1].Name != "filter" || q.Query[2].Name != "sort" || q.Query[3].Name != "page" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"type":"BadRequest","message":"Invalid query"}`)
		return
	}
	s.mu.Lock()
	all := s.objects[q.Query[0].Name]
	s.mu.Unlock()
	var match []map[string]any
	for _, o := range all {
		for _, cond := range q.Query[1].Or {
			c := cond["_gte"]
			if v, ok := o[c.Field].(float64); ok && int64(v) >= c.Value {
				match = append(match, o)
				break
			}
		}
	}
	sort.SliceStable(match, func(i, j int) bool { return match[i]["_createdAt"].(float64) < match[j]["_createdAt"].(float64) })
	from, to := min(q.Query[3].From, len(match)), min(q.Query[3].To, len(match))
	page := match[from:to]
	if page == nil {
		page = []map[string]any{}
	}
	json.NewEncoder(w).Encode(page)
}

func config(url string) thehive.Config {
	var c thehive.Config
	c.Name = "soc"
	c.URL = url
	c.APIKeyEnv = "THEHIVE_API_KEY"
	c.APIKey = apiKey
	c.Organisation = "acme"
	c.PageSize = 3
	c.AutomationUsers = []string{"automation@acme.org"}
	c.Mapping = ingest.AlertMapping{
		Teams:       map[string]string{"tag:identity": "identity", "tag:email": "email-security", "assignee:bob@acme.org": "soc"},
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

func newSource(t *testing.T, cfg thehive.Config, store *ingest.Store, attempts int) (*thehive.Source, *sleeps) {
	t.Helper()
	src, err := thehive.New(cfg, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	sl := &sleeps{}
	src.HTTP = &http.Client{Transport: &transport.Transport{Sleep: sl.sleep, Rand: func() float64 { return 0.5 }, MaxAttempts: attempts}}
	src.Now = func() time.Time { return now }
	return src, sl
}

func at(hm string) time.Time {
	t, err := time.Parse(time.RFC3339, "2026-03-04T"+hm+":00Z")
	if err != nil {
		panic(err)
	}
	return t
}

// want is what alerts.json and cases.json hold, normalized by hand
// (docs/alerts.md).
var want = []ingest.Alert{
	{ID: "alert:~41000001", RuleID: "splunk_notable", RuleName: "[Splunk] Brute Force Access Behavior Detected", Severity: ingest.High, OriginalSeverity: "HIGH",
		Created: at("09:00"), FirstTriage: at("09:10"), Updated: at("09:10"), Status: "Imported",
		Assignee: "ann@acme.org", Team: "identity", Incident: "case:~82001"},
	{ID: "alert:~41000002", RuleID: "phishing-report", RuleName: "Phishing email reported", Severity: ingest.Medium, OriginalSeverity: "MEDIUM",
		Created: at("09:30"), FirstTriage: at("09:40"), Closed: at("10:00"), Updated: at("10:00"), Status: "FalsePositive",
		Disposition: ingest.DispositionFalsePositive, OriginalDisposition: "FalsePositive", Assignee: "bob@acme.org", Team: "soc"},
	{ID: "alert:~41000003", RuleID: "crowdstrike", RuleName: "EDR: suspicious service install", Severity: ingest.Critical, OriginalSeverity: "CRITICAL",
		Created: at("10:30"), Updated: at("10:30"), Status: "New", Team: "security"},
	{ID: "alert:~41000004", RuleID: "zeek", RuleName: "Port scan from guest wifi", Severity: ingest.Low, OriginalSeverity: "LOW",
		Created: at("11:00"), FirstTriage: at("11:05"), Closed: at("11:05"), Updated: at("11:05"), Status: "Ignored",
		Disposition: ingest.DispositionUndetermined, OriginalDisposition: "Ignored", AutoClosed: true, Team: "security"},
	{ID: "alert:~41000005", RuleID: "phishing-report", RuleName: "Phishing email reported", Severity: ingest.Medium, OriginalSeverity: "MEDIUM",
		Created: at("12:00"), FirstTriage: at("12:02"), Closed: at("12:10"), Updated: at("12:10"), Status: "Duplicated",
		Disposition: ingest.DispositionDuplicate, OriginalDisposition: "Duplicated", Assignee: "bob@acme.org", Team: "soc"},
	{ID: "alert:~41000006", RuleID: "phishing-report", RuleName: "Newsletter flagged as phishing", Severity: ingest.Low, OriginalSeverity: "LOW",
		Created: at("13:00"), FirstTriage: at("13:15"), Closed: at("13:15"), Updated: at("13:15"), Status: "Spam",
		Disposition: ingest.DispositionUndetermined, OriginalDisposition: "Spam", Assignee: "carol@acme.org", Team: "email-security"},
	{ID: "alert:~41000007", RuleID: "crowdstrike", RuleName: "EDR: credential dumping tool", Severity: ingest.Critical, OriginalSeverity: "CRITICAL",
		Created: at("14:00"), FirstTriage: at("14:20"), Updated: at("14:20"), Status: "InProgress", Assignee: "ann@acme.org", Team: "security"},
	{ID: "case:~82001", RuleName: "Account takeover of j.doe", Severity: ingest.High, OriginalSeverity: "HIGH",
		Created: at("09:10"), FirstTriage: at("09:15"), Closed: at("11:30"), Updated: at("11:30"), Status: "TruePositive",
		Disposition: ingest.DispositionTruePositive, OriginalDisposition: "TruePositive/WithImpact", Assignee: "ann@acme.org", Team: "identity", Incident: "#12"},
	{ID: "case:~82002", RuleName: "Blocked ransomware on build-07", Severity: ingest.Critical, OriginalSeverity: "CRITICAL",
		Created: at("13:30"), FirstTriage: at("13:40"), Closed: at("15:00"), Updated: at("15:00"), Status: "TruePositive",
		Disposition: ingest.DispositionBenignPositive, OriginalDisposition: "TruePositive/NoImpact", Assignee: "bob@acme.org", Team: "soc", Incident: "#13"},
	{ID: "case:~82003", RuleName: "Suspicious OAuth application consent", Severity: ingest.Medium, OriginalSeverity: "MEDIUM",
		Created: at("14:30"), FirstTriage: at("16:00"), Closed: at("16:00"), Updated: at("16:00"), Status: "Indeterminate",
		Disposition: ingest.DispositionUndetermined, OriginalDisposition: "Indeterminate/NotApplicable", Assignee: "ann@acme.org", Team: "identity", Incident: "#14"},
	{ID: "case:~82004", RuleName: "Data exfiltration investigation", Severity: ingest.High, OriginalSeverity: "HIGH",
		Created: at("15:00"), FirstTriage: at("15:10"), Updated: at("15:10"), Status: "InProgress", Assignee: "carol@acme.org", Team: "security", Incident: "#15"},
}

func withSource(as []ingest.Alert) []ingest.Alert {
	out := make([]ingest.Alert, len(as))
	for i, a := range as {
		a.Source = "thehive:soc"
		out[i] = a
	}
	return out
}

var transient = cmpopts.IgnoreFields(ingest.Alert{}, "Raw", "Unmapped")

func stored(t *testing.T, store *ingest.Store) []ingest.Alert {
	t.Helper()
	got, err := store.Alerts(context.Background(), "thehive:soc")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestPull(t *testing.T) {
	srv, ts := newServer(t)
	store := ingest.NewStore(chtest.New(t), nil)
	src, sl := newSource(t, config(ts.URL), store, 3)
	var limited atomic.Bool
	srv.hook = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if bytes.Contains(body, []byte(`"from":3`)) && !limited.Swap(true) {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"type":"TooManyRequests","message":"rate limit"}`)
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
	wantCounts := map[ingest.Disposition]int{ingest.DispositionTruePositive: 1, ingest.DispositionBenignPositive: 1,
		ingest.DispositionFalsePositive: 1, ingest.DispositionDuplicate: 1, ingest.DispositionUndetermined: 3, ingest.DispositionNone: 4}
	if !cmp.Equal(sum.Dispositions, wantCounts) || sum.Written != 11 || !sum.Watermark.Equal(now) {
		t.Errorf("summary = %+v", sum)
	}
	if sum.Unmapped["disposition=Spam"] != 1 {
		t.Errorf("unmapped = %v", sum.Unmapped)
	}
	// Alerts: pages of 3, 3, 1; cases: 3, 1; and the 429.
	if !cmp.Equal(sl.d, []time.Duration{2 * time.Second}) || srv.requests.Load() != 6 {
		t.Errorf("sleeps %v, %d requests; want [2s], 6", sl.d, srv.requests.Load())
	}

	// A re-run a day later reads nothing new and changes nothing.
	src.Now = func() time.Time { return now.Add(24 * time.Hour) }
	sum, err = src.Pull(ctx, ingest.PullOptions{})
	if err != nil || sum.Read != 0 {
		t.Fatalf("re-run: %+v, %v", sum, err)
	}
	if diff := cmp.Diff(withSource(want), stored(t, store), transient); diff != "" {
		t.Errorf("after re-run (-want +got):\n%s", diff)
	}
}

func TestPullResumesAfterServerError(t *testing.T) {
	srv, ts := newServer(t)
	store := ingest.NewStore(chtest.New(t), nil)
	src, _ := newSource(t, config(ts.URL), store, 2)
	var broken atomic.Bool
	broken.Store(true)
	srv.hook = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if broken.Load() && bytes.Contains(body, []byte("listCase")) {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"type":"InternalError","message":"Database unavailable"}`)
			return true
		}
		return false
	}
	ctx := context.Background()
	if _, err := src.Pull(ctx, ingest.PullOptions{}); err == nil || !strings.Contains(err.Error(), "listCase from 0") {
		t.Fatalf("error = %v", err)
	}
	if st, _ := store.State(ctx, "thehive:soc"); !st.Watermark.IsZero() || !strings.Contains(st.LastError, "500") {
		t.Errorf("state after failure: %+v", st)
	}
	broken.Store(false)
	if _, err := src.Pull(ctx, ingest.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(withSource(want), stored(t, store), transient); diff != "" {
		t.Errorf("after resume (-want +got):\n%s", diff)
	}
	if st, _ := store.State(ctx, "thehive:soc"); !st.Watermark.Equal(now) || st.LastError != "" || st.Items != 11 {
		t.Errorf("state after resume: %+v", st)
	}
}

func TestPullErrors(t *testing.T) {
	for _, c := range []struct {
		name, key, body, want string
	}{
		{name: "unauthorized", key: "wrong-key-123", want: "the TheHive API key of thehive:soc was rejected"},
		{name: "not a list", body: `{"type":"BadRequest","message":"oops"}`, want: "malformed response"},
		{name: "null", body: `null`, want: "malformed response: not a list"},
		{name: "truncated", body: `[{"_id":"~1","_type":"Alert",`, want: "malformed response"},
		{name: "no created", body: `[{"_id":"~1","_type":"Alert","status":"New"}]`, want: "alert:~1: _createdAt missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, ts := newServer(t)
			if c.body != "" {
				srv.hook = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
					fmt.Fprint(w, c.body)
					return true
				}
			}
			store := ingest.NewStore(chtest.New(t), nil)
			cfg := config(ts.URL)
			if c.key != "" {
				cfg.APIKey = c.key
			}
			src, _ := newSource(t, cfg, store, 1)
			_, err := src.Pull(context.Background(), ingest.PullOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), cfg.APIKey) {
				t.Errorf("error leaks the key: %v", err)
			}
			if c.key != "" && !errors.Is(err, transport.ErrUnauthorized) {
				t.Errorf("error %v is not ErrUnauthorized", err)
			}
			if st, _ := store.State(context.Background(), "thehive:soc"); !st.Watermark.IsZero() || st.LastError == "" {
				t.Errorf("state = %+v", st)
			}
		})
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	store := ingest.NewStore(chtest.New(t), nil)
	src, _ := newSource(t, config("http://unused.invalid"), store, 1)
	// Alerts as a JSON array, cases as JSON Lines.
	a, _ := os.ReadFile("testdata/alerts.json")
	if _, err := src.Import(ctx, bytes.NewReader(a), "alerts.json"); err != nil {
		t.Fatal(err)
	}
	var lines bytes.Buffer
	for _, c := range load(t, "cases.json") {
		b, _ := json.Marshal(c)
		lines.Write(b)
		lines.WriteByte('\n')
	}
	if _, err := src.Import(ctx, &lines, "cases.ndjson"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(withSource(want), stored(t, store), transient); diff != "" {
		t.Errorf("imported alerts (-want +got):\n%s", diff)
	}
	bad := `{"_id":"~9","_type":"Alert","_createdAt":1772614800000,"status":"New"}` + "\n" + `{"_id":"~10","_type":"Task","_createdAt":1772614800000,"status":"New"}` + "\n"
	if _, err := src.Import(ctx, strings.NewReader(bad), "bad.ndjson"); err == nil || !strings.Contains(err.Error(), `bad.ndjson: line 2: object "~10": _type "Task" is not Alert or Case`) {
		t.Errorf("bad file: %v", err)
	}
	if got := stored(t, store); len(got) != 11 {
		t.Errorf("%d alerts after a rejected file, want 11", len(got))
	}
}

func TestConfigValidate(t *testing.T) {
	var cfg thehive.Config
	if err := yaml.Unmarshal([]byte(`
name: soc
url: "thehive.example.com"
objects: [alert, task, alert]
page_size: -1
mapping:
  default_team: security
  dispositions:
    TruePositive/NoImpact: true
`), &cfg); err != nil {
		t.Fatal(err)
	}
	want := `alerts.thehive[0].mapping.dispositions["TruePositive/NoImpact"]: unknown disposition "true" (want one of true_positive, benign_positive, false_positive, duplicate, undetermined, none)
alerts.thehive[0].api_key_env: set api_key_env or api_key_file
alerts.thehive[0].url: "thehive.example.com" is not an http(s) base URL
alerts.thehive[0].objects[1]: "task" is not alert or case
alerts.thehive[0].objects[2]: "alert" listed twice
alerts.thehive[0].page_size: -1 is outside 0..1000`
	err := cfg.Validate("alerts.thehive[0]")
	if err == nil {
		t.Fatal("no error")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
	if err := config("https://thehive.example.com").Validate("p"); err != nil {
		t.Errorf("good config: %v", err)
	}
}
