package sentinel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	"github.com/secmetrics/secmetrics/ingest/sentinel"
	"github.com/secmetrics/secmetrics/ingest/transport"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const (
	tenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	clientID = "4a1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	secret   = "Xy8Q~s3cret.value-not-for-logs"
	incPath  = "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/secops-rg/providers/Microsoft.OperationalInsights/workspaces/sentinel-prod/providers/Microsoft.SecurityInsights/incidents"
)

// server replays Entra ID's token endpoint and the Sentinel incidents API
// from testdata: $filter on properties/lastModifiedTimeUtc, $top pages
// linked by nextLink with a $skipToken, as ARM does.
type server struct {
	t         *testing.T
	url       string
	mu        sync.Mutex
	incidents []json.RawMessage
	token     string
	tokens    atomic.Int32
	lists     atomic.Int32
	hook      func(w http.ResponseWriter, r *http.Request) bool
}

func load(t *testing.T, name string) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	return page.Value
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{t: t, incidents: append(load(t, "incidents_page1.json"), load(t, "incidents_page2.json")...)}
	b, _ := os.ReadFile("testdata/token.json")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(b, &tok)
	s.token = tok.AccessToken
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	s.url = ts.URL
	return s
}

// update replaces incidents by name.
func (s *server) update(items []json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		var n struct{ Name string }
		json.Unmarshal(it, &n)
		for i, old := range s.incidents {
			var o struct{ Name string }
			json.Unmarshal(old, &o)
			if o.Name == n.Name {
				s.incidents[i] = it
			}
		}
	}
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/"+tenant+"/oauth2/v2.0/token":
		s.tokens.Add(1)
		r.ParseForm()
		if r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != secret ||
			r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("scope") != s.url+"/.default" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '4a1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'. Trace ID: 0d6f Correlation ID: 6e2a Timestamp: 2026-03-10 00:00:00Z","error_codes":[7000215],"timestamp":"2026-03-10 00:00:00Z","trace_id":"0d6f","correlation_id":"6e2a"}`)
			return
		}
		b, _ := os.ReadFile("testdata/token.json")
		w.Write(b)
	case r.Method == http.MethodGet && r.URL.Path == incPath:
		s.lists.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+s.token {
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"code":"ExpiredAuthenticationToken","message":"The access token expiry UTC time is earlier than current UTC time."}}`)
			return
		}
		s.list(w, r)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"code":"NotFound","message":"not found"}}`)
	}
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter := q.Get("$filter")
	since, err := time.Parse("2006-01-02T15:04:05.000Z", strings.TrimPrefix(filter, "properties/lastModifiedTimeUtc ge "))
	top, err2 := strconv.Atoi(q.Get("$top"))
	if q.Get("api-version") != "2024-03-01" || err != nil || err2 != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"code":"BadRequest","message":"bad query %q"}}`, r.URL.RawQuery)
		return
	}
	skip, _ := strconv.Atoi(q.Get("$skipToken"))
	s.mu.Lock()
	var match []json.RawMessage
	for _, it := range s.incidents {
		var inc struct {
			Properties struct {
				LastModifiedTimeUtc time.Time `json:"lastModifiedTimeUtc"`
			} `json:"properties"`
		}
		json.Unmarshal(it, &inc)
		if !inc.Properties.LastModifiedTimeUtc.Before(since) {
			match = append(match, it)
		}
	}
	s.mu.Unlock()
	end := min(skip+top, len(match))
	out := map[string]any{"value": match[min(skip, len(match)):end]}
	if end < len(match) {
		nq := url.Values{}
		for k, vs := range q {
			nq[k] = vs
		}
		nq.Set("$skipToken", strconv.Itoa(end))
		out["nextLink"] = s.url + incPath + "?" + nq.Encode()
	}
	json.NewEncoder(w).Encode(out)
}

func config(s *server) sentinel.Config {
	var c sentinel.Config
	c.Name = "prod"
	c.TenantID = tenant
	c.ClientID = clientID
	c.ClientSecretEnv = "SENTINEL_CLIENT_SECRET"
	c.ClientSecret = secret
	c.SubscriptionID = "d0cfe6b2-9ac0-4464-9919-dccaee2e48c0"
	c.ResourceGroup = "secops-rg"
	c.Workspace = "sentinel-prod"
	if s != nil {
		c.ManagementURL = s.url
		c.LoginURL = s.url
	}
	c.PageSize = 4
	c.Mapping = ingest.AlertMapping{
		Teams:       map[string]string{"label:identity": "identity", "owner:SOC Tier 1": "soc", "product:Microsoft Defender for Endpoint": "endpoint"},
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

func newSource(t *testing.T, cfg sentinel.Config, store *ingest.Store, attempts int, now time.Time) (*sentinel.Source, *sleeps) {
	t.Helper()
	src, err := sentinel.New(cfg, store, nil)
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

func id(n int) string { return fmt.Sprintf("5e7c0a1%d-4b2d-4f6a-9c3e-0000000001%02d", n%10, n%100) }

const (
	ruleBF = "8f6a2c1e-3b4d-4e5f-9a0b-1c2d3e4f5a01"
	ruleIT = "8f6a2c1e-3b4d-4e5f-9a0b-1c2d3e4f5a02"
	ruleMD = "8f6a2c1e-3b4d-4e5f-9a0b-1c2d3e4f5a03"
	ruleRP = "8f6a2c1e-3b4d-4e5f-9a0b-1c2d3e4f5a04"
	mde    = "Microsoft Defender for Endpoint"
)

// wantAPI is what the incidents API pages hold, normalized by hand.
var wantAPI = []ingest.Alert{
	{ID: id(101), RuleID: ruleBF, RuleName: "Brute force attack against Azure Portal", Severity: ingest.High, OriginalSeverity: "High",
		Created: at("2026-03-01T08:00:00Z"), FirstTriage: at("2026-03-01T10:00:00Z"), Closed: at("2026-03-01T10:00:00Z"), Updated: at("2026-03-01T10:00:00Z"),
		Status: "Closed", Disposition: ingest.DispositionTruePositive, OriginalDisposition: "TruePositive/SuspiciousActivity",
		Assignee: "Ann Analyst", Team: "identity", Asset: "Azure Sentinel", Incident: "101"},
	{ID: id(102), RuleID: ruleIT, RuleName: "Impossible travel activity", Severity: ingest.Medium, OriginalSeverity: "Medium",
		Created: at("2026-03-02T09:00:00Z"), FirstTriage: at("2026-03-02T09:40:00Z"), Closed: at("2026-03-02T09:35:00Z"), Updated: at("2026-03-02T09:40:00Z"),
		Status: "Closed", Disposition: ingest.DispositionFalsePositive, OriginalDisposition: "FalsePositive/InaccurateData",
		Assignee: "Bob Builder", Team: "security", Asset: "Azure Sentinel", Incident: "102"},
	{ID: id(103), RuleID: ruleMD, RuleName: "Mass download by a single user", Severity: ingest.Low, OriginalSeverity: "Low",
		Created: at("2026-03-03T12:00:00Z"), FirstTriage: at("2026-03-03T12:20:00Z"), Updated: at("2026-03-03T12:20:00Z"),
		Status: "Active", Assignee: "SOC Tier 1", Team: "soc", Asset: "Microsoft Cloud App Security", Incident: "103"},
	{ID: id(104), RuleID: ruleRP, RuleName: "Rare process running on host", Severity: ingest.Info, OriginalSeverity: "Informational",
		Created: at("2026-03-04T09:00:00Z"), Updated: at("2026-03-04T09:00:00Z"),
		Status: "New", Team: "endpoint", Asset: mde, Incident: "104"},
	{ID: id(105), RuleID: ruleMD, RuleName: "Suspicious resource deployment", Severity: ingest.Medium, OriginalSeverity: "Medium",
		Created: at("2026-03-05T10:00:00Z"), FirstTriage: at("2026-03-05T11:00:00Z"), Closed: at("2026-03-05T11:00:00Z"), Updated: at("2026-03-05T11:00:00Z"),
		Status: "Closed", Disposition: ingest.DispositionBenignPositive, OriginalDisposition: "BenignPositive/SuspiciousButExpected",
		Assignee: "SOC Tier 1", Team: "soc", Asset: "Azure Sentinel", Incident: "105"},
	{ID: id(106), RuleID: ruleRP, RuleName: "Malware detected on endpoint", Severity: ingest.High, OriginalSeverity: "High",
		Created: at("2026-03-06T14:00:00Z"), FirstTriage: at("2026-03-06T15:00:00Z"), Closed: at("2026-03-06T15:00:00Z"), Updated: at("2026-03-06T15:00:00Z"),
		Status: "Closed", Disposition: ingest.DispositionUndetermined, OriginalDisposition: "Undetermined",
		Assignee: "Ann Analyst", Team: "endpoint", Asset: mde, Incident: "106"},
	{ID: id(107), RuleID: ruleBF, RuleName: "Phishing link clicked", Severity: ingest.Medium, OriginalSeverity: "Medium",
		Created: at("2026-03-07T08:00:00Z"), FirstTriage: at("2026-03-07T08:30:00Z"), Closed: at("2026-03-07T08:30:00Z"), Updated: at("2026-03-07T08:30:00Z"),
		Status: "Closed", Disposition: ingest.DispositionTruePositive, OriginalDisposition: "TruePositive/SomethingNew",
		Assignee: "Bob Builder", Team: "security", Asset: "Azure Sentinel", Incident: "107"},
}

func withSource(as []ingest.Alert) []ingest.Alert {
	out := make([]ingest.Alert, len(as))
	for i, a := range as {
		a.Source = "sentinel:prod"
		out[i] = a
	}
	return out
}

var transient = cmpopts.IgnoreFields(ingest.Alert{}, "Raw", "Unmapped")

func stored(t *testing.T, store *ingest.Store) []ingest.Alert {
	t.Helper()
	got, err := store.Alerts(context.Background(), "sentinel:prod")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

var pull1 = at("2026-03-08T00:00:00Z")

func TestPull(t *testing.T) {
	srv := newServer(t)
	store := ingest.NewStore(chtest.New(t), nil)
	src, sl := newSource(t, config(srv), store, 3, pull1)
	var limited atomic.Bool
	srv.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("$skipToken") == "4" && !limited.Swap(true) {
			w.Header().Set("Retry-After", "12")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"code":"TooManyRequests","message":"Rate limit is exceeded. Try again in 12 seconds."}}`)
			return true
		}
		return false
	}
	ctx := context.Background()
	sum, err := src.Pull(ctx, ingest.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(withSource(wantAPI), stored(t, store), transient); diff != "" {
		t.Errorf("stored alerts (-want +got):\n%s", diff)
	}
	wantCounts := map[ingest.Disposition]int{ingest.DispositionTruePositive: 2, ingest.DispositionFalsePositive: 1,
		ingest.DispositionBenignPositive: 1, ingest.DispositionUndetermined: 1, ingest.DispositionNone: 2}
	if !cmp.Equal(sum.Dispositions, wantCounts) || sum.Written != 7 || !sum.Watermark.Equal(pull1) {
		t.Errorf("summary = %+v", sum)
	}
	if !cmp.Equal(sl.d, []time.Duration{12 * time.Second}) || srv.tokens.Load() != 1 || srv.lists.Load() != 2 {
		t.Errorf("sleeps %v, %d token requests, %d pages served; want [12s], 1, 2", sl.d, srv.tokens.Load(), srv.lists.Load())
	}

	// A day later #101 got a comment and #103 was closed: the first triage
	// seen before stays, and #101's approximate closing time too.
	srv.update(load(t, "incidents_update.json"))
	src.Now = func() time.Time { return pull1.Add(24 * time.Hour) }
	sum, err = src.Pull(ctx, ingest.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 2 || !sum.Since.Equal(pull1.Add(-time.Hour)) {
		t.Errorf("second pull: %+v", sum)
	}
	want := withSource(wantAPI)
	want[0].Updated = at("2026-03-08T16:00:00Z")
	want[2].Status, want[2].Closed, want[2].Updated = "Closed", at("2026-03-08T14:00:00Z"), at("2026-03-08T14:00:00Z")
	want[2].Disposition, want[2].OriginalDisposition = ingest.DispositionFalsePositive, "FalsePositive/IncorrectAlertLogic"
	if diff := cmp.Diff(want, stored(t, store), transient); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
}

func TestPullResumesAfterServerError(t *testing.T) {
	srv := newServer(t)
	store := ingest.NewStore(chtest.New(t), nil)
	src, _ := newSource(t, config(srv), store, 2, pull1)
	var broken atomic.Bool
	broken.Store(true)
	srv.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if broken.Load() && r.URL.Query().Get("$skipToken") != "" {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, `<html><body>502 Bad Gateway</body></html>`)
			return true
		}
		return false
	}
	ctx := context.Background()
	if _, err := src.Pull(ctx, ingest.PullOptions{}); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("error = %v, want the 502", err)
	}
	if st, _ := store.State(ctx, "sentinel:prod"); !st.Watermark.IsZero() || !strings.Contains(st.LastError, "list incidents page 2") {
		t.Errorf("state after failure: %+v", st)
	}
	if got := stored(t, store); len(got) != 0 {
		t.Errorf("%d alerts stored by the failed pull", len(got))
	}
	broken.Store(false)
	if _, err := src.Pull(ctx, ingest.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(withSource(wantAPI), stored(t, store), transient); diff != "" {
		t.Errorf("after resume (-want +got):\n%s", diff)
	}
	if st, _ := store.State(ctx, "sentinel:prod"); !st.Watermark.Equal(pull1) || st.LastError != "" {
		t.Errorf("state after resume: %+v", st)
	}
}

func TestPullErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		secret string
		hook   func(s *server) func(w http.ResponseWriter, r *http.Request) bool
		want   []string
		is     error
	}{
		{name: "client secret rejected", secret: "wrong-secret-value",
			want: []string{"get access token", "401", "the client secret of sentinel:prod (client " + clientID + ") was rejected", "AADSTS7000215"},
			is:   transport.ErrUnauthorized},
		{name: "token rejected by ARM twice", hook: func(s *server) func(w http.ResponseWriter, r *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodGet {
					w.WriteHeader(http.StatusUnauthorized)
					fmt.Fprint(w, `{"error":{"code":"InvalidAuthenticationToken","message":"The access token is invalid."}}`)
					return true
				}
				return false
			}
		}, want: []string{"401", "the access token of sentinel:prod"}, is: transport.ErrUnauthorized},
		{name: "no value", hook: func(s *server) func(w http.ResponseWriter, r *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodGet {
					fmt.Fprint(w, `{"error": null}`)
					return true
				}
				return false
			}
		}, want: []string{`malformed response: no "value"`}},
		{name: "truncated", hook: func(s *server) func(w http.ResponseWriter, r *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodGet {
					fmt.Fprint(w, `{"value": [{"name": "x", "properties": {`)
					return true
				}
				return false
			}
		}, want: []string{"malformed response", "unexpected end of JSON"}},
		{name: "incident without created time", hook: func(s *server) func(w http.ResponseWriter, r *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodGet {
					fmt.Fprint(w, `{"value": [{"name": "abc", "properties": {"status": "New", "lastModifiedTimeUtc": "2026-03-01T00:00:00Z"}}]}`)
					return true
				}
				return false
			}
		}, want: []string{"incident abc: createdTimeUtc missing"}},
		{name: "nextLink to another host", hook: func(s *server) func(w http.ResponseWriter, r *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodGet {
					fmt.Fprint(w, `{"value": [], "nextLink": "https://attacker.example/steal"}`)
					return true
				}
				return false
			}
		}, want: []string{"nextLink leaves 127.0.0.1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t)
			if c.hook != nil {
				srv.hook = c.hook(srv)
			}
			store := ingest.NewStore(chtest.New(t), nil)
			cfg := config(srv)
			if c.secret != "" {
				cfg.ClientSecret = c.secret
			}
			src, _ := newSource(t, cfg, store, 1, pull1)
			_, err := src.Pull(context.Background(), ingest.PullOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), cfg.ClientSecret) || strings.Contains(err.Error(), srv.token) {
				t.Errorf("error leaks a secret: %v", err)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
			if st, _ := store.State(context.Background(), "sentinel:prod"); !st.Watermark.IsZero() || st.LastError == "" || strings.Contains(st.LastError, cfg.ClientSecret) {
				t.Errorf("state = %+v", st)
			}
		})
	}
}

// wantExport is what SecurityIncident.csv and .jsonl hold: per incident
// the latest row, with first triage and closing from all its rows.
var wantExport = []ingest.Alert{
	{ID: id(101), RuleID: ruleBF, RuleName: "Brute force attack against Azure Portal", Severity: ingest.High, OriginalSeverity: "High",
		Created: at("2026-03-01T08:00:00Z"), FirstTriage: at("2026-03-01T08:07:00Z"), Closed: at("2026-03-01T10:00:00Z"), Updated: at("2026-03-01T16:00:00Z"),
		Status: "Closed", Disposition: ingest.DispositionTruePositive, OriginalDisposition: "TruePositive/SuspiciousActivity",
		Assignee: "Ann Analyst", Team: "identity", Asset: "Azure Sentinel", Incident: "101"},
	{ID: id(104), RuleID: ruleRP, RuleName: "Rare process running on host", Severity: ingest.Info, OriginalSeverity: "Informational",
		Created: at("2026-03-04T09:00:00Z"), FirstTriage: at("2026-03-04T09:30:00Z"), Closed: at("2026-03-04T09:30:00Z"), Updated: at("2026-03-04T09:30:00Z"),
		Status: "Closed", Disposition: ingest.DispositionFalsePositive, OriginalDisposition: "FalsePositive/IncorrectAlertLogic", AutoClosed: true,
		Team: "endpoint", Asset: mde, Incident: "104"},
	{ID: id(105), RuleID: ruleMD, RuleName: "Suspicious resource deployment", Severity: ingest.Medium, OriginalSeverity: "Medium",
		Created: at("2026-03-05T10:00:00Z"), FirstTriage: at("2026-03-05T10:20:00Z"), Updated: at("2026-03-05T10:20:00Z"),
		Status: "Active", Assignee: "SOC Tier 1", Team: "soc", Asset: "Azure Sentinel", Incident: "105"},
	{ID: id(108), RuleID: ruleMD, RuleName: "Exfiltration to personal cloud storage", Severity: ingest.High, OriginalSeverity: "High",
		Created: at("2026-03-08T07:00:00Z"), FirstTriage: at("2026-03-08T07:45:00Z"), Closed: at("2026-03-08T11:00:00Z"), Updated: at("2026-03-08T11:00:00Z"),
		Status: "Closed", Disposition: ingest.DispositionTruePositive, OriginalDisposition: "TruePositive/SuspiciousActivity",
		Assignee: "Ann Analyst", Team: "security", Asset: "Azure Sentinel", Incident: "108"},
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	for _, file := range []string{"SecurityIncident.csv", "SecurityIncident.jsonl"} {
		t.Run(file, func(t *testing.T) {
			store := ingest.NewStore(chtest.New(t), nil)
			src, _ := newSource(t, config(nil), store, 1, pull1)
			f, err := os.Open("testdata/" + file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sum, err := src.Import(ctx, f, file)
			if err != nil || sum.Written != 4 {
				t.Fatalf("import: %+v, %v", sum, err)
			}
			if diff := cmp.Diff(withSource(wantExport), stored(t, store), transient); diff != "" {
				t.Errorf("imported alerts (-want +got):\n%s", diff)
			}
		})
	}

	// After a pull, the export's exact history replaces the API's
	// approximations where it is newer (#101, #104); where the pulled state
	// is newer (#105 closed at 11:00, the export ends at 10:20) the pulled
	// state stays, with the export's earlier first triage.
	srv := newServer(t)
	store := ingest.NewStore(chtest.New(t), nil)
	src, _ := newSource(t, config(srv), store, 1, pull1)
	if _, err := src.Pull(ctx, ingest.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open("testdata/SecurityIncident.csv")
	defer f.Close()
	if _, err := src.Import(ctx, f, "SecurityIncident.csv"); err != nil {
		t.Fatal(err)
	}
	want := withSource(append(append([]ingest.Alert{}, wantAPI...), wantExport[3]))
	want[0] = withSource(wantExport[:1])[0]
	want[3] = withSource(wantExport[1:2])[0]
	want[4].FirstTriage = at("2026-03-05T10:20:00Z")
	if diff := cmp.Diff(want, stored(t, store), transient); diff != "" {
		t.Errorf("pull then import (-want +got):\n%s", diff)
	}
}

func TestImportRejects(t *testing.T) {
	ctx := context.Background()
	csvHead := "TimeGenerated [UTC],IncidentName,Title,Severity,Status,CreatedTime [UTC],LastModifiedTime [UTC]\n"
	for _, c := range []struct{ name, data, want string }{
		{"empty", "", "empty file"},
		{"bad time", csvHead + `"3/1/2026, 8:00:00.000 AM",inc-1,T,High,New,"3/1/2026, 8:00:00.000 AM","3/1/2026, 8:00:00.000 AM"` + "\n" +
			`"3/1/2026, 8:00:00.000 AM",inc-2,T,High,New,"yesterday","3/1/2026, 9:00:00.000 AM"` + "\n", "incident inc-2: CreatedTime: cannot parse"},
		{"no name", csvHead + `"3/1/2026, 8:00:00.000 AM",,T,High,New,"3/1/2026, 8:00:00.000 AM","3/1/2026, 8:00:00.000 AM"` + "\n", "line 2: IncidentName missing"},
		{"ragged csv", csvHead + "a,b\n", "wrong number of fields"},
		{"bad json line", `{"IncidentName":"a","Status":"New","CreatedTime":"2026-03-01T00:00:00Z","LastModifiedTime":"2026-03-01T00:00:00Z"}` + "\n{oops\n", "line 2"},
		{"bad dynamic", `{"IncidentName":"a","Status":"New","CreatedTime":"2026-03-01T00:00:00Z","LastModifiedTime":"2026-03-01T00:00:00Z","Owner":"{not json"}` + "\n", "Owner"},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := ingest.NewStore(chtest.New(t), nil)
			src, _ := newSource(t, config(nil), store, 1, pull1)
			_, err := src.Import(ctx, strings.NewReader(c.data), "x")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want %q", err, c.want)
			}
			if got := stored(t, store); len(got) != 0 {
				t.Errorf("rejected file stored %d alerts", len(got))
			}
		})
	}
}

func TestDryRun(t *testing.T) {
	srv := newServer(t)
	store := ingest.NewStore(chtest.New(t), nil)
	src, _ := newSource(t, config(srv), store, 1, pull1)
	var out bytes.Buffer
	sum, err := src.Pull(context.Background(), ingest.PullOptions{DryRun: true, Out: &out})
	if err != nil || sum.Read != 7 || sum.Written != 0 || len(stored(t, store)) != 0 {
		t.Fatalf("dry run: %+v, %v", sum, err)
	}
	text := strings.Join(strings.Fields(out.String()), " ")
	for _, w := range []string{"true_positive 2", "benign_positive 1", "identity 1", "security 2"} {
		if !strings.Contains(text, w) {
			t.Errorf("dry-run output lacks %q:\n%s", w, out.String())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	var cfg sentinel.Config
	b, _ := os.ReadFile("testdata/config_bad.yaml")
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile("testdata/config_bad.errors")
	err := cfg.Validate("alerts.sentinel[0]")
	if err == nil {
		t.Fatal("no error")
	}
	if diff := cmp.Diff(strings.TrimSpace(string(want)), err.Error()); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
	good := config(nil)
	if err := good.Validate("p"); err != nil {
		t.Errorf("good config: %v", err)
	}
	// A secret written into the configuration text is refused outright.
	dec = yaml.NewDecoder(strings.NewReader("name: prod\nclient_secret: hunter2\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err == nil || !strings.Contains(err.Error(), "field client_secret not found") {
		t.Errorf("client_secret in the config text: %v", err)
	}
}
