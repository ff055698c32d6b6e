package elastic_test

import (
	"bufio"
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
	"github.com/secmetrics/secmetrics/ingest/elastic"
	"github.com/secmetrics/secmetrics/ingest/transport"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const apiKey = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="

var now = time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)

// server emulates Elasticsearch _search (and Kibana's signals search) over
// the hits of testdata: the time-range and building-block filters of the
// query, sort by (@timestamp, kibana.alert.uuid), search_after (or the
// keyset filter Kibana mode sends instead) and size.
type server struct {
	t        *testing.T
	mu       sync.Mutex
	hits     []map[string]any
	requests atomic.Int32
	paths    []string
	hook     func(w http.ResponseWriter, r *http.Request) bool
}

func loadHits(t *testing.T, name string) []map[string]any {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var h map[string]any
		if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

func newServer(t *testing.T) (*server, *httptest.Server) {
	s := &server{t: t, hits: loadHits(t, "alerts.ndjson")}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func (s *server) update(hits []map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hits {
		replaced := false
		for i, old := range s.hits {
			if old["_id"] == h["_id"] {
				s.hits[i], replaced = h, true
			}
		}
		if !replaced {
			s.hits = append(s.hits, h)
		}
	}
}

// field reads a dotted path from a _source with dotted or nested keys.
func field(src map[string]any, path string) any {
	if v, ok := src[path]; ok {
		return v
	}
	parts := strings.SplitN(path, ".", 2)
	if len(parts) == 2 {
		if sub, ok := src[parts[0]].(map[string]any); ok {
			return field(sub, parts[1])
		}
	}
	return nil
}

func ms(v any) int64 {
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return -1
	}
	return t.UnixMilli()
}

type rangeQ map[string]struct {
	GTE string `json:"gte"`
	LT  string `json:"lt"`
	GT  any    `json:"gt"`
}

type query struct {
	Size        int   `json:"size"`
	SearchAfter []any `json:"search_after"`
	Query       struct {
		Bool struct {
			Filter []struct {
				Bool struct {
					Should []struct {
						Range rangeQ `json:"range"`
						Bool  struct {
							Filter []struct {
								Term  map[string]any `json:"term"`
								Range rangeQ         `json:"range"`
							} `json:"filter"`
						} `json:"bool"`
					} `json:"should"`
				} `json:"bool"`
			} `json:"filter"`
			MustNot []struct {
				Exists struct {
					Field string `json:"field"`
				} `json:"exists"`
			} `json:"must_not"`
		} `json:"bool"`
	} `json:"query"`
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	s.paths = append(s.paths, r.URL.Path)
	hook := s.hook
	s.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "ApiKey "+apiKey {
		w.Header().Set("WWW-Authenticate", `ApiKey`)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"root_cause":[{"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request"}],"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request"},"status":401}`)
		return
	}
	kibana := r.URL.Path == "/s/default/api/detection_engine/signals/search"
	if r.Method != http.MethodPost || (r.URL.Path != "/.alerts-security.alerts-default/_search" && !kibana) || (kibana && r.Header.Get("kbn-xsrf") == "") {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":"Not Found","message":"Not Found","statusCode":404}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var q query
	if err := json.Unmarshal(body, &q); err != nil || q.Size == 0 || len(q.Query.Bool.Filter) == 0 || (kibana && q.SearchAfter != nil) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"type":"parsing_exception","reason":"bad query: %v"},"status":400}`, err)
		return
	}
	window := q.Query.Bool.Filter[0].Bool.Should
	after := q.SearchAfter
	if len(q.Query.Bool.Filter) > 1 { // Kibana's keyset filter
		ks := q.Query.Bool.Filter[1].Bool.Should
		after = []any{ks[0].Range["@timestamp"].GT, ks[1].Bool.Filter[1].Range["kibana.alert.uuid"].GT}
	}
	s.mu.Lock()
	var match []map[string]any
	for _, h := range s.hits {
		src := h["_source"].(map[string]any)
		if len(q.Query.Bool.MustNot) > 0 && field(src, "kibana.alert.building_block_type") != nil {
			continue
		}
		in := false
		for _, c := range window {
			for f, rg := range c.Range {
				v := ms(field(src, f))
				if v >= ms(rg.GTE) && v < ms(rg.LT) {
					in = true
				}
			}
		}
		if in {
			match = append(match, h)
		}
	}
	s.mu.Unlock()
	key := func(h map[string]any) (int64, string) {
		src := h["_source"].(map[string]any)
		u, _ := field(src, "kibana.alert.uuid").(string)
		return ms(field(src, "@timestamp")), u
	}
	sort.Slice(match, func(i, j int) bool {
		ti, ui := key(match[i])
		tj, uj := key(match[j])
		return ti < tj || ti == tj && ui < uj
	})
	var page []any
	for _, h := range match {
		t, u := key(h)
		if after != nil {
			at, _ := after[0].(float64)
			au, _ := after[1].(string)
			if t < int64(at) || t == int64(at) && u <= au {
				continue
			}
		}
		if len(page) == q.Size {
			break
		}
		c := map[string]any{}
		for k, v := range h {
			c[k] = v
		}
		c["sort"] = []any{t, u}
		page = append(page, c)
	}
	if page == nil {
		page = []any{}
	}
	json.NewEncoder(w).Encode(map[string]any{
		"took": 3, "timed_out": false,
		"_shards": map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
		"hits":    map[string]any{"max_score": nil, "hits": page},
	})
}

func config(url string) elastic.Config {
	var c elastic.Config
	c.Name = "prod"
	c.URL = url
	c.APIKeyEnv = "ELASTIC_API_KEY"
	c.APIKey = apiKey
	c.PageSize = 3
	c.AutomationUsers = []string{"u_automation"}
	c.Mapping = ingest.AlertMapping{
		Teams:       map[string]string{"assignee:u_ann": "identity", "rule_tag:Windows": "endpoint", "rule_tag:Network": "network"},
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

func newSource(t *testing.T, cfg elastic.Config, store *ingest.Store, attempts int) (*elastic.Source, *sleeps) {
	t.Helper()
	src, err := elastic.New(cfg, store, nil)
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

func id(n int) string { return fmt.Sprintf("e1a1c2f3d4b5a6978899aabbccddee%02d", n) }

const (
	lsass   = "9960432d-9b26-409f-972b-839a959e79e2"
	network = "95b99adc-2cc4-498a-8bae-5cc7b1a7ff6e"
	ps      = "d6f8b1c7-62a4-4a2c-8a43-0b7f3c1e9a10"
	abused  = "66883649-f908-4a5b-a1e0-54090a1d3a32"
)

// want is what alerts.ndjson holds, normalized by hand (docs/alerts.md);
// the building-block alert #09 is not read.
var want = []ingest.Alert{
	{ID: id(1), RuleID: lsass, RuleName: "Potential Credential Access via LSASS Memory Dump", Severity: ingest.High, OriginalSeverity: "high",
		Created: at("2026-03-03T08:00:00Z"), FirstTriage: at("2026-03-03T09:00:00Z"), Closed: at("2026-03-03T09:00:00Z"), Updated: at("2026-03-03T09:00:00Z"),
		Status: "closed", Disposition: ingest.DispositionTruePositive, OriginalDisposition: "true_positive",
		Assignee: "u_ann", Team: "identity", Asset: "ws-12", Incident: "5f1d2c3b-case-0001"},
	{ID: id(2), RuleID: network, RuleName: "Unusual Process Network Connection", Severity: ingest.Medium, OriginalSeverity: "medium",
		Created: at("2026-03-03T08:30:00Z"), FirstTriage: at("2026-03-03T08:50:00Z"), Closed: at("2026-03-03T08:50:00Z"), Updated: at("2026-03-03T08:50:00Z"),
		Status: "closed", Disposition: ingest.DispositionFalsePositive, OriginalDisposition: "tag:False Positive",
		Team: "network", Asset: "ws-14"},
	{ID: id(3), RuleID: ps, RuleName: "Suspicious PowerShell Execution", Severity: ingest.Low, OriginalSeverity: "low",
		Created: at("2026-03-03T09:00:00Z"), FirstTriage: at("2026-03-03T09:20:00Z"), Updated: at("2026-03-03T09:20:00Z"),
		Status: "acknowledged", Assignee: "u_bob", Team: "endpoint", Asset: "ws-12"},
	{ID: id(4), RuleID: lsass, RuleName: "Potential Credential Access via LSASS Memory Dump", Severity: ingest.Critical, OriginalSeverity: "critical",
		Created: at("2026-03-03T09:30:00Z"), Updated: at("2026-03-03T09:30:00Z"),
		Status: "open", Team: "endpoint", Asset: "dc-01"},
	{ID: id(5), RuleID: "0d2b0a1c-3e4f-4a5b-9c6d-7e8f9a0b1c2d", RuleName: "Malware Prevention Alert", Severity: ingest.High, OriginalSeverity: "high",
		Created: at("2026-03-03T10:00:00Z"), FirstTriage: at("2026-03-03T10:05:00Z"), Closed: at("2026-03-03T10:05:00Z"), Updated: at("2026-03-03T10:05:00Z"),
		Status: "closed", Disposition: ingest.DispositionBenignPositive, OriginalDisposition: "benign_positive", AutoClosed: true,
		Team: "security", Asset: "build-07"},
	{ID: id(6), RuleID: network, RuleName: "Unusual Process Network Connection", Severity: ingest.Medium, OriginalSeverity: "medium",
		Created: at("2026-03-03T10:30:00Z"), FirstTriage: at("2026-03-03T11:00:00Z"), Closed: at("2026-03-03T11:00:00Z"), Updated: at("2026-03-03T11:00:00Z"),
		Status: "closed", Disposition: ingest.DispositionDuplicate, OriginalDisposition: "duplicate",
		Team: "network", Asset: "ws-14"},
	{ID: id(7), RuleID: abused, RuleName: "Connection to Commonly Abused Web Services", Severity: ingest.Low, OriginalSeverity: "low",
		Created: at("2026-03-03T11:00:00Z"), FirstTriage: at("2026-03-03T11:10:00Z"), Closed: at("2026-03-03T11:10:00Z"), Updated: at("2026-03-03T11:10:00Z"),
		Status: "closed", Disposition: ingest.DispositionUndetermined, OriginalDisposition: "other",
		Assignee: "u_ann", Team: "identity", Asset: "ws-20"},
	{ID: id(8), RuleID: abused, RuleName: "Connection to Commonly Abused Web Services", Severity: ingest.Low, OriginalSeverity: "low",
		Created: at("2026-03-03T11:30:00Z"), FirstTriage: at("2026-03-03T11:40:00Z"), Closed: at("2026-03-03T11:40:00Z"), Updated: at("2026-03-03T11:40:00Z"),
		Status: "closed", Disposition: ingest.DispositionFalsePositive, OriginalDisposition: "false_positive",
		Team: "network", Asset: "ws-21"},
	{ID: id(10), RuleID: ps, RuleName: "Suspicious PowerShell Execution", Severity: ingest.Low, OriginalSeverity: "low",
		Created: at("2026-03-03T12:00:00Z"), FirstTriage: at("2026-03-03T12:30:00Z"), Closed: at("2026-03-03T12:30:00Z"), Updated: at("2026-03-03T12:30:00Z"),
		Status: "closed", Assignee: "u_ann", Team: "identity", Asset: "ws-30"},
}

func withSource(as []ingest.Alert) []ingest.Alert {
	out := make([]ingest.Alert, len(as))
	for i, a := range as {
		a.Source = "elastic:prod"
		out[i] = a
	}
	return out
}

var transient = cmpopts.IgnoreFields(ingest.Alert{}, "Raw", "Unmapped")

func stored(t *testing.T, store *ingest.Store) []ingest.Alert {
	t.Helper()
	got, err := store.Alerts(context.Background(), "elastic:prod")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestPull(t *testing.T) {
	for _, api := range []string{"elasticsearch", "kibana"} {
		t.Run(api, func(t *testing.T) {
			srv, ts := newServer(t)
			store := ingest.NewStore(chtest.New(t), nil)
			cfg := config(ts.URL)
			cfg.API = api
			src, sl := newSource(t, cfg, store, 3)
			var limited atomic.Bool
			srv.hook = func(w http.ResponseWriter, r *http.Request) bool {
				if srv.requests.Load() == 2 && !limited.Swap(true) {
					w.Header().Set("Retry-After", "3")
					w.WriteHeader(http.StatusTooManyRequests)
					fmt.Fprint(w, `{"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"},"status":429}`)
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
				ingest.DispositionBenignPositive: 1, ingest.DispositionDuplicate: 1, ingest.DispositionUndetermined: 1, ingest.DispositionNone: 3}
			if !cmp.Equal(sum.Dispositions, wantCounts) || sum.Written != 9 {
				t.Errorf("summary = %+v", sum)
			}
			// Pages of 3: 3+3+3 and an empty one, plus the 429.
			if !cmp.Equal(sl.d, []time.Duration{3 * time.Second}) || srv.requests.Load() != 5 {
				t.Errorf("sleeps %v, %d requests; want [3s], 5", sl.d, srv.requests.Load())
			}
			if api == "kibana" && srv.paths[0] != "/s/default/api/detection_engine/signals/search" {
				t.Errorf("kibana path %s", srv.paths[0])
			}

			// Later, #03 is closed and #11 raised: the first triage seen
			// before stays.
			srv.update(loadHits(t, "alerts_update.ndjson"))
			src.Now = func() time.Time { return now.Add(48 * time.Hour) }
			sum, err = src.Pull(ctx, ingest.PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Read != 2 {
				t.Errorf("second pull read %d, want 2", sum.Read)
			}
			got := stored(t, store)
			if len(got) != 10 {
				t.Fatalf("%d alerts after the second pull", len(got))
			}
			a3 := got[2]
			if a3.Status != "closed" || !a3.FirstTriage.Equal(at("2026-03-03T09:20:00Z")) || !a3.Closed.Equal(at("2026-03-09T10:00:00Z")) || a3.Disposition != ingest.DispositionFalsePositive {
				t.Errorf("#03 after closing: %+v", a3)
			}
		})
	}
}

func TestPullResumesAfterServerError(t *testing.T) {
	srv, ts := newServer(t)
	store := ingest.NewStore(chtest.New(t), nil)
	src, _ := newSource(t, config(ts.URL), store, 2)
	var broken atomic.Bool
	broken.Store(true)
	srv.hook = func(w http.ResponseWriter, r *http.Request) bool {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if broken.Load() && bytes.Contains(body, []byte("search_after")) {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"type":"search_phase_execution_exception","reason":"all shards failed"},"status":503}`)
			return true
		}
		return false
	}
	ctx := context.Background()
	if _, err := src.Pull(ctx, ingest.PullOptions{}); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("error = %v, want the 503", err)
	}
	if st, _ := store.State(ctx, "elastic:prod"); !st.Watermark.IsZero() || !strings.Contains(st.LastError, "page 2") {
		t.Errorf("state after failure: %+v", st)
	}
	broken.Store(false)
	if _, err := src.Pull(ctx, ingest.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(withSource(want), stored(t, store), transient); diff != "" {
		t.Errorf("after resume (-want +got):\n%s", diff)
	}
	if st, _ := store.State(ctx, "elastic:prod"); !st.Watermark.Equal(now) || st.LastError != "" || st.Items != 9 {
		t.Errorf("state after resume: %+v", st)
	}
}

func TestPullErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		key  string
		body string
		want string
	}{
		{name: "unauthorized", key: "d3Jvbmcta2V5LXZhbHVl", want: "the Elastic API key of elastic:prod was rejected"},
		{name: "no hits", body: `{"took":1,"timed_out":false}`, want: "malformed response: no hits"},
		{name: "timed out", body: `{"took":30000,"timed_out":true,"_shards":{"total":1,"successful":0,"failed":0},"hits":{"hits":[]}}`, want: "timed out (partial results)"},
		{name: "failed shards", body: `{"took":3,"timed_out":false,"_shards":{"total":2,"successful":1,"failed":1},"hits":{"hits":[]}}`, want: "1 shards failed"},
		{name: "truncated", body: `{"took":3,"timed_out":false,"hits":{"hits":[{"_id":"x","_source":{`, want: "malformed response"},
		{name: "no status", body: `{"took":3,"timed_out":false,"hits":{"hits":[{"_id":"x","_source":{"@timestamp":"2026-03-03T08:00:00Z"},"sort":[1,"x"]}]}}`, want: "alert x: kibana.alert.workflow_status missing"},
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
			if st, _ := store.State(context.Background(), "elastic:prod"); !st.Watermark.IsZero() || st.LastError == "" {
				t.Errorf("state = %+v", st)
			}
		})
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	// The hits file holds the building-block alert too: an import takes
	// what the file holds.
	store := ingest.NewStore(chtest.New(t), nil)
	src, _ := newSource(t, config("http://unused.invalid"), store, 1)
	f, err := os.Open("testdata/alerts.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum, err := src.Import(ctx, f, "alerts.ndjson")
	if err != nil || sum.Written != 10 {
		t.Fatalf("import: %+v, %v", sum, err)
	}
	got := stored(t, store)
	var withoutBB []ingest.Alert
	for _, a := range got {
		if a.ID != id(9) {
			withoutBB = append(withoutBB, a)
		}
	}
	if diff := cmp.Diff(withSource(want), withoutBB, transient); diff != "" {
		t.Errorf("imported alerts (-want +got):\n%s", diff)
	}

	// A search response saved as a file, and a bad line rejecting a file.
	store = ingest.NewStore(chtest.New(t), nil)
	src, _ = newSource(t, config("http://unused.invalid"), store, 1)
	resp := `{"took":2,"timed_out":false,"hits":{"hits":[` + firstLine(t) + `]}}`
	if sum, err := src.Import(ctx, strings.NewReader(resp), "response.json"); err != nil || sum.Written != 1 {
		t.Errorf("search response import: %+v, %v", sum, err)
	}
	bad := firstLine(t) + "\n" + `{"_id":"y","_source":{"@timestamp":"yesterday","kibana.alert.workflow_status":"open"}}` + "\n"
	if _, err := src.Import(ctx, strings.NewReader(bad), "bad.ndjson"); err == nil || !strings.Contains(err.Error(), "bad.ndjson: line 2: alert y: @timestamp") {
		t.Errorf("bad file: %v", err)
	}
	if got := stored(t, store); len(got) != 1 {
		t.Errorf("%d alerts stored, want only the one from the good file", len(got))
	}
}

func firstLine(t *testing.T) string {
	b, err := os.ReadFile("testdata/alerts.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return string(line)
}

func TestConfigValidate(t *testing.T) {
	var cfg elastic.Config
	if err := yaml.Unmarshal([]byte(`
name: prod
api: opensearch
url: ""
api_key_env: ES_KEY
api_key_file: /run/secrets/es
index: "Alerts Index"
space: "My Space"
page_size: 20000
timeout: -1s
`), &cfg); err != nil {
		t.Fatal(err)
	}
	want := `alerts.elastic[0].timeout: must not be negative
alerts.elastic[0].api_key_env: set only one of api_key_env and api_key_file
alerts.elastic[0].api: "opensearch" is not elasticsearch or kibana
alerts.elastic[0].url: "" is not an http(s) base URL
alerts.elastic[0].index: "Alerts Index" is not an index name or pattern
alerts.elastic[0].space: "My Space" is not a space id
alerts.elastic[0].page_size: 20000 is outside 0..10000`
	err := cfg.Validate("alerts.elastic[0]")
	if err == nil {
		t.Fatal("no error")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
	if err := config("https://es.example.com:9200").Validate("p"); err != nil {
		t.Errorf("good config: %v", err)
	}
}
