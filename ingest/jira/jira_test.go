package jira_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/jira"
	"github.com/secmetrics/secmetrics/ingest/transport"
	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const tokenEnv = "JIRA_TOKEN_TEST"

// mappingYAML is the mapping the replayed site is pulled with.
const mappingYAML = `
  mapping:
    kinds:
      - {kind: vulnerability, projects: [SEC]}
      - {kind: incident, projects: [INC], issue_types: [Incident]}
      - {kind: design_review, issue_types: [Design Review]}
      - {kind: toil, labels: [toil]}
    severity:
      field: priority
      map: {P1: critical}
    team:
      from: [field, component, project]
      field: Security team
      map: {Payments: payments, Identity: identity, AppSec: appsec, INC: secops, OPS: secops}
    states:
      statuses: {Investigating: triaged}
      contained: [Contained]
    fields:
      asset: Affected asset
      incident_type: customfield_10200
`

// config reads a configuration for the fake the way cmd does: YAML, then
// Resolve with the environment.
func config(t *testing.T, f *fakeJira, name, extra string) jira.Config {
	t.Helper()
	flavor, email := "datacenter", ""
	if f.cloud {
		flavor, email = "cloud", "\n      email: "+f.email
	}
	text := fmt.Sprintf(`
jira:
  page_size: 10
  concurrency: 3
  instances:
    - name: %s
      flavor: %s
      base_url: %s%s
      token_env: %s
      projects: [TEST, SEC, INC, DR, OPS]
%s%s`, name, flavor, f.srv.URL, email, tokenEnv, extra, mappingYAML)
	var doc struct {
		Jira jira.Config `yaml:"jira"`
	}
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	if errs := doc.Jira.Validate(); len(errs) > 0 {
		t.Fatalf("config: %v", errors.Join(errs...))
	}
	getenv := func(k string) string {
		if k == tokenEnv {
			return f.token
		}
		return ""
	}
	if err := doc.Jira.Resolve(getenv, os.ReadFile); err != nil {
		t.Fatal(err)
	}
	return doc.Jira
}

// sleeps records the retry waits instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func newSource(t *testing.T, f *fakeJira, store *ingest.Store, cfg jira.Config) (*jira.Source, *sleeps) {
	t.Helper()
	src, err := jira.New(cfg, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	sl := &sleeps{}
	src.HTTP = f.srv.Client().Transport
	src.Sleep = sl.sleep
	return src, sl
}

func count(t *testing.T, db *queries.DB, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := db.QueryRow(context.Background(), query, args, &n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

type ticketRow struct {
	Key              string     `ch:"ticket_key"`
	ID               string     `ch:"ticket_id"`
	Project          string     `ch:"project"`
	IssueType        string     `ch:"issue_type"`
	Kind             string     `ch:"kind"`
	Summary          string     `ch:"summary"`
	Team             string     `ch:"team"`
	Severity         string     `ch:"severity"`
	OriginalSeverity string     `ch:"original_severity"`
	Status           string     `ch:"status"`
	StatusCategory   string     `ch:"status_category"`
	State            string     `ch:"state"`
	Resolution       string     `ch:"resolution"`
	Labels           []string   `ch:"labels"`
	Components       []string   `ch:"components"`
	Asset            string     `ch:"asset"`
	IncidentType     string     `ch:"incident_type"`
	Reporter         string     `ch:"reporter"`
	Created          time.Time  `ch:"created"`
	Updated          time.Time  `ch:"updated"`
	Resolved         *time.Time `ch:"resolved"`
	Due              *time.Time `ch:"due"`
	ContainedAt      *time.Time `ch:"contained_at"`
}

func tickets(t *testing.T, db *queries.DB, source string) map[string]ticketRow {
	t.Helper()
	var rows []ticketRow
	err := db.Select(context.Background(), &rows, `
		SELECT ticket_key, ticket_id, project, issue_type, kind, summary, team, severity, original_severity,
		       status, status_category, state, resolution, labels, components, asset, incident_type, reporter,
		       created, updated, resolved, due, contained_at
		FROM tickets FINAL WHERE source = ? ORDER BY ticket_key`, source)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]ticketRow{}
	for _, r := range rows {
		if _, dup := out[r.Key]; dup {
			t.Errorf("ticket %s twice", r.Key)
		}
		out[r.Key] = r
	}
	return out
}

func utc(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, time.UTC)
}

func ptr(t time.Time) *time.Time { return &t }

// checkSite asserts that ClickHouse holds exactly the replayed site.
func checkSite(t *testing.T, db *queries.DB, source string, d dataset, cloud bool) {
	t.Helper()
	if n := count(t, db, "SELECT count() FROM tickets FINAL WHERE source = ?", source); n != wantTickets {
		t.Errorf("tickets = %d, want %d", n, wantTickets)
	}
	if n := count(t, db, "SELECT count() FROM ticket_transitions FINAL WHERE source = ?", source); n != wantTransitions {
		t.Errorf("transitions = %d, want %d", n, wantTransitions)
	}
	if n := count(t, db, "SELECT count() FROM worklogs FINAL WHERE source = ?", source); n != wantWorklogs {
		t.Errorf("worklogs = %d, want %d", n, wantWorklogs)
	}
	if n := count(t, db, "SELECT toUInt64(sum(seconds)) FROM worklogs FINAL WHERE source = ?", source); n != uint64(d.seconds) {
		t.Errorf("worklog seconds = %d, want %d", n, d.seconds)
	}
	// Every issue once, with every history: per ticket, the transitions
	// match the replayed status and resolution changes.
	for _, is := range d.issues {
		want := 0
		for _, h := range is.histories {
			want += len(h["items"].([]map[string]any))
		}
		if n := count(t, db, "SELECT count() FROM ticket_transitions FINAL WHERE source = ? AND ticket_key = ?", source, is.key); n != uint64(want) {
			t.Errorf("%s: %d transitions, want %d", is.key, n, want)
		}
		if n := count(t, db, "SELECT count() FROM worklogs FINAL WHERE source = ? AND ticket_key = ?", source, is.key); n != uint64(len(is.worklogs)) {
			t.Errorf("%s: %d worklogs, want %d", is.key, n, len(is.worklogs))
		}
	}
	if n := count(t, db, "SELECT count() FROM worklogs FINAL WHERE source = ? AND ticket_key = 'OPS-5'", source); n != 23 {
		t.Errorf("OPS-5 worklogs = %d, want 23", n)
	}
	if n := count(t, db, "SELECT count() FROM ticket_transitions FINAL WHERE source = ? AND ticket_key = 'SEC-1'", source); n != 44 {
		t.Errorf("SEC-1 transitions = %d, want 44", n)
	}

	got := tickets(t, db, source)
	rita, personB := "5b10a2844c20165700ede100", "Person B"
	if !cloud {
		rita = "rita.reporter"
	}
	want := map[string]ticketRow{
		// From the sample page: +0100 times stored in UTC, project from
		// the key, status category from the status list.
		"TEST-2": {Key: "TEST-2", ID: "10002", Project: "TEST", IssueType: "Story", Kind: "other", Summary: "Story summary",
			Severity: "high", OriginalSeverity: "High", Status: "In Progress", StatusCategory: "indeterminate", State: "in_progress",
			Labels: []string{"critical", "feature"}, Components: []string{}, Reporter: personB,
			Created: utc(2020, 12, 3, 13, 5, 20), Updated: utc(2020, 12, 3, 13, 5, 20)},
		"SEC-1": {Key: "SEC-1", ID: "20001", Project: "SEC", IssueType: "Vulnerability", Kind: "vulnerability",
			Summary: "SQL injection in payment export (CVE-2021-44228 style)", Team: "payments",
			Severity: "critical", OriginalSeverity: "Highest", Status: "Done", StatusCategory: "done", State: "done",
			Resolution: "Fixed", Labels: []string{"security", "CVE-2021-3129"}, Components: []string{"Payments"},
			Asset: "github.com/acme/payments", Reporter: rita,
			Created: utc(2020, 12, 10, 8, 0, 0), Updated: utc(2021, 1, 4, 10, 0, 0), Resolved: ptr(utc(2020, 12, 12, 10, 0, 0))},
		"SEC-5": {Key: "SEC-5", ID: "20005", Project: "SEC", IssueType: "Vulnerability", Kind: "vulnerability",
			Summary: "SEC-5 summary", Team: "identity", Severity: "unknown", OriginalSeverity: "P5",
			Status: "To Do", StatusCategory: "new", State: "new", Labels: []string{}, Components: []string{"Identity"}, Reporter: rita,
			Created: utc(2020, 12, 17, 8, 0, 0), Updated: utc(2021, 1, 4, 14, 0, 0)},
		// Contained, then closed: contained at the Contained transition.
		"INC-1": {Key: "INC-1", ID: "30001", Project: "INC", IssueType: "Incident", Kind: "incident", Summary: "INC-1 summary",
			Team: "secops", Severity: "high", OriginalSeverity: "High", Status: "Closed", StatusCategory: "done", State: "done",
			Resolution: "Done", Labels: []string{}, Components: []string{}, IncidentType: "phishing", Reporter: rita,
			Created: utc(2021, 1, 2, 10, 0, 0), Updated: utc(2021, 1, 4, 18, 0, 0), Resolved: ptr(utc(2021, 1, 3, 16, 0, 0)),
			ContainedAt: ptr(utc(2021, 1, 2, 12, 0, 0))},
		"INC-3": {Key: "INC-3", ID: "30003", Project: "INC", IssueType: "Incident", Kind: "incident", Summary: "INC-3 summary",
			Team: "secops", Severity: "high", OriginalSeverity: "High", Status: "Contained", StatusCategory: "indeterminate", State: "contained",
			Labels: []string{}, Components: []string{}, IncidentType: "phishing", Reporter: rita,
			Created: utc(2021, 1, 2, 12, 0, 0), Updated: utc(2021, 1, 4, 20, 0, 0), ContainedAt: ptr(utc(2021, 1, 2, 16, 0, 0))},
		// Still investigating: triaged by name, never contained.
		"INC-4": {Key: "INC-4", ID: "30004", Project: "INC", IssueType: "Incident", Kind: "incident", Summary: "INC-4 summary",
			Team: "secops", Severity: "high", OriginalSeverity: "High", Status: "Investigating", StatusCategory: "indeterminate", State: "triaged",
			Labels: []string{}, Components: []string{}, IncidentType: "account takeover", Reporter: rita,
			Created: utc(2021, 1, 2, 13, 0, 0), Updated: utc(2021, 1, 4, 21, 0, 0)},
		// Closed without passing Contained: contained when closed.
		"INC-5": {Key: "INC-5", ID: "30005", Project: "INC", IssueType: "Incident", Kind: "incident", Summary: "INC-5 summary",
			Team: "secops", Severity: "high", OriginalSeverity: "High", Status: "Closed", StatusCategory: "done", State: "done",
			Resolution: "Done", Labels: []string{}, Components: []string{}, IncidentType: "malware", Reporter: rita,
			Created: utc(2021, 1, 2, 14, 0, 0), Updated: utc(2021, 1, 4, 22, 0, 0), Resolved: ptr(utc(2021, 1, 3, 20, 0, 0)),
			ContainedAt: ptr(utc(2021, 1, 3, 20, 0, 0))},
		// Team from a custom option field, due date.
		"DR-2": {Key: "DR-2", ID: "40002", Project: "DR", IssueType: "Design Review", Kind: "design_review", Summary: "DR-2 summary",
			Team: "appsec", Severity: "medium", OriginalSeverity: "Medium", Status: "In Review", StatusCategory: "indeterminate", State: "in_progress",
			Labels: []string{}, Components: []string{}, Reporter: rita,
			Created: utc(2021, 1, 3, 9, 0, 0), Updated: utc(2021, 1, 5, 0, 0, 0), Due: ptr(utc(2021, 1, 20, 0, 0, 0))},
		"OPS-12": {Key: "OPS-12", ID: "50012", Project: "OPS", IssueType: "Task", Kind: "toil", Summary: "OPS-12 summary",
			Team: "secops", Severity: "medium", OriginalSeverity: "Medium", Status: "Done", StatusCategory: "done", State: "done",
			Resolution: "Done", Labels: []string{"toil", "rotation"}, Components: []string{}, Reporter: rita,
			Created: utc(2021, 1, 5, 9, 11, 0), Updated: utc(2021, 1, 10, 9, 30, 1), Resolved: ptr(utc(2021, 1, 5, 11, 11, 0))},
	}
	for key, w := range want {
		if diff := cmp.Diff(w, got[key], cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ticket %s (-want +got):\n%s", key, diff)
		}
	}

	// The sample worklog, as it was.
	type worklogRow struct {
		ID      string    `ch:"worklog_id"`
		Key     string    `ch:"ticket_key"`
		Author  string    `ch:"author"`
		Started time.Time `ch:"started"`
		Seconds uint32    `ch:"seconds"`
		Updated time.Time `ch:"updated"`
	}
	var wls []worklogRow
	if err := db.Select(context.Background(), &wls, `SELECT worklog_id, ticket_key, author, started, seconds, updated
		FROM worklogs FINAL WHERE source = ? AND ticket_key = 'TEST-1'`, source); err != nil {
		t.Fatal(err)
	}
	wantWL := []worklogRow{{ID: "100028", Key: "TEST-1", Author: "5b10a2844c20165700ede21g",
		Started: utc(2021, 1, 17, 12, 34, 0), Seconds: 12000, Updated: utc(2021, 1, 18, 23, 45, 0)}}
	if diff := cmp.Diff(wantWL, wls); diff != "" {
		t.Errorf("TEST-1 worklogs (-want +got):\n%s", diff)
	}

	// The last transitions of SEC-1 came from the completion.
	type trRow struct {
		HistoryID    string    `ch:"history_id"`
		ChangedAt    time.Time `ch:"changed_at"`
		Field        string    `ch:"field"`
		From         string    `ch:"from_value"`
		To           string    `ch:"to_value"`
		FromCategory string    `ch:"from_category"`
		ToCategory   string    `ch:"to_category"`
	}
	var trs []trRow
	if err := db.Select(context.Background(), &trs, `SELECT history_id, changed_at, field, from_value, to_value, from_category, to_category
		FROM ticket_transitions FINAL WHERE source = ? AND ticket_key = 'SEC-1' ORDER BY changed_at DESC, field LIMIT 3`, source); err != nil {
		t.Fatal(err)
	}
	wantTR := []trRow{
		{HistoryID: "10044", ChangedAt: utc(2020, 12, 12, 10, 0, 0), Field: "resolution", To: "Fixed"},
		{HistoryID: "10044", ChangedAt: utc(2020, 12, 12, 10, 0, 0), Field: "status", From: "To Do", To: "Done", FromCategory: "new", ToCategory: "done"},
		{HistoryID: "10043", ChangedAt: utc(2020, 12, 12, 2, 0, 0), Field: "status", From: "In Progress", To: "To Do", FromCategory: "indeterminate", ToCategory: "new"},
	}
	if diff := cmp.Diff(wantTR, trs); diff != "" {
		t.Errorf("SEC-1 last transitions (-want +got):\n%s", diff)
	}

	// Vulnerability tickets as findings.
	type findingRow struct {
		Key      string `ch:"fingerprint"`
		State    string `ch:"state"`
		Status   string `ch:"status"`
		Severity string `ch:"severity"`
		Asset    string `ch:"asset"`
		CVE      string `ch:"cve"`
	}
	var fs []findingRow
	if err := db.Select(context.Background(), &fs, `SELECT fingerprint, state, status, severity, asset, cve
		FROM findings FINAL WHERE scanner = 'jira' ORDER BY fingerprint`); err != nil {
		t.Fatal(err)
	}
	wantFS := []findingRow{
		{"SEC-1", "fixed", "none", "critical", "github.com/acme/payments", "CVE-2021-44228"},
		{"SEC-2", "open", "none", "high", "github.com/acme/identity", ""},
		{"SEC-3", "open", "none", "medium", "github.com/acme/payments", ""},
		{"SEC-4", "open", "risk_accepted", "low", "github.com/acme/payments", ""},
		{"SEC-6", "open", "none", "critical", "registry.acme.io/web", ""},
		{"SEC-7", "open", "none", "high", "registry.acme.io/web", ""},
		{"SEC-8", "open", "none", "low", "registry.acme.io/web", ""},
	}
	if diff := cmp.Diff(wantFS, fs); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	var evs []struct {
		Type string    `ch:"event_type"`
		At   time.Time `ch:"event_time"`
	}
	if err := db.Select(context.Background(), &evs, `SELECT DISTINCT event_type, event_time FROM finding_events
		WHERE finding_id IN (SELECT finding_id FROM findings FINAL WHERE scanner = 'jira' AND fingerprint = 'SEC-3')
		ORDER BY event_time`); err != nil {
		t.Fatal(err)
	}
	var gotEv []string
	for _, e := range evs {
		gotEv = append(gotEv, e.Type+"@"+e.At.Format("01-02T15"))
	}
	if diff := cmp.Diff([]string{"detected@12-15T08", "fixed@12-16T08", "reopened@12-18T08"}, gotEv); diff != "" {
		t.Errorf("SEC-3 events (-want +got):\n%s", diff)
	}
}

// TestCloud pulls the replayed Cloud site through a 429 storm: four pages
// (one of them within a single minute), a changelog truncated at 40
// histories completed by bulk fetch, 23 worklogs on one issue; then pulls
// again (idempotent) and re-maps from the raw payloads without fetching.
func TestCloud(t *testing.T) {
	db := chtest.New(t)
	store := ingest.NewStore(db, nil)
	f := newFake(t, true)
	f.zone = berlin
	d := buildDataset(t, true)
	f.issues = d.issues

	// Every search is refused twice with 429 and Retry-After: 3, and the
	// bulk fetch once with 503 and Retry-After: 1.
	var mu sync.Mutex
	tries := map[string]int{}
	f.hook = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		k := r.URL.Path + string(body)
		tries[k]++
		switch {
		case r.URL.Path == "/rest/api/3/search/jql" && tries[k] <= 2:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		case r.URL.Path == "/rest/api/3/changelog/bulkfetch" && tries["bulk"] == 0:
			tries["bulk"]++
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	cfg := config(t, f, "cloud", "")
	src, sl := newSource(t, f, store, cfg)
	ctx := context.Background()
	sum, err := src.Pull(ctx, jira.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Pages != wantPages || sum.Tickets != wantTickets || sum.Transitions != wantTransitions || sum.Worklogs != wantWorklogs {
		t.Errorf("summary = %+v", sum)
	}
	if sum.Findings.Findings != wantFindings || sum.NoAsset != 1 {
		t.Errorf("findings summary = %+v, no asset %d", sum.Findings, sum.NoAsset)
	}
	var threes, ones int
	for _, d := range sl.all() {
		switch d {
		case 3 * time.Second:
			threes++
		case time.Second:
			ones++
		default:
			t.Errorf("unexpected wait %s", d)
		}
	}
	if threes != 2*wantPages || ones != 1 {
		t.Errorf("waits: %d of 3s, %d of 1s; want %d and 1 (%v)", threes, ones, 2*wantPages, sl.all())
	}
	// SEC-1's 44 status and resolution changes in 43 histories, 7
	// histories a page: 7 pages, the first one sent twice.
	if n := f.requestCount("POST /rest/api/3/changelog/bulkfetch"); n != 8 {
		t.Errorf("bulk fetch requests = %d, want 8", n)
	}
	// JQL dates are written in the user's zone (Berlin, UTC+1 in winter):
	// the second search starts at SEC-8's update, 2021-01-04 17:00 UTC.
	f.mu.Lock()
	jqls := append([]string(nil), f.jqls...)
	f.mu.Unlock()
	wantJQL := `project in ("TEST", "SEC", "INC", "DR", "OPS") AND updated >= "2021-01-04 18:00" ORDER BY updated ASC, key ASC`
	if !containsString(jqls, wantJQL) {
		t.Errorf("no search %q in %q", wantJQL, jqls)
	}
	checkSite(t, db, "jira:cloud", d, true)
	st, err := store.State(ctx, "jira:cloud")
	if err != nil {
		t.Fatal(err)
	}
	if want := utc(2021, 1, 10, 9, 30, 1); !st.Watermark.Equal(want) || st.LastError != "" || st.Items != wantTickets {
		t.Errorf("state = %+v, want watermark %s", st, want)
	}

	// Again: the overlap re-reads the last minute; nothing changes.
	f.hook = nil
	sum, err = src.Pull(ctx, jira.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Tickets != 12 {
		t.Errorf("second pull wrote %d tickets, want the 12 of the overlapping minute", sum.Tickets)
	}
	checkSite(t, db, "jira:cloud", d, true)

	// Re-map from raw payloads: Payments now belongs to another team.
	before := f.requestCount("")
	cfg2 := config(t, f, "cloud", "")
	cfg2.Mapping.Team.Map["Payments"] = "payments-platform"
	src2, _ := newSource(t, f, store, cfg2)
	sum, err = src2.Renormalize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Tickets != wantTickets || sum.Transitions != wantTransitions || sum.Worklogs != wantWorklogs {
		t.Errorf("renormalize summary = %+v", sum)
	}
	if after := f.requestCount(""); after != before {
		t.Errorf("renormalize sent %d requests", after-before)
	}
	got := tickets(t, db, "jira:cloud")
	if got["SEC-1"].Team != "payments-platform" || got["SEC-2"].Team != "identity" || len(got) != wantTickets {
		t.Errorf("after renormalize: SEC-1 team %q, SEC-2 team %q, %d tickets", got["SEC-1"].Team, got["SEC-2"].Team, len(got))
	}
	st2, _ := store.State(ctx, "jira:cloud")
	if !st2.Watermark.Equal(st.Watermark) {
		t.Errorf("renormalize moved the watermark to %s", st2.Watermark)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDataCenterResume pulls a Data Center site whose worklog endpoint
// fails with 500 on the third page: the first two pages stay committed and
// the watermark stops at the last committed issue; the next pull resumes
// and ClickHouse then holds exactly the site, nothing lost or doubled.
func TestDataCenterResume(t *testing.T) {
	db := chtest.New(t)
	store := ingest.NewStore(db, nil)
	f := newFake(t, false)
	d := buildDataset(t, false)
	f.issues = d.issues
	var fails int
	var mu sync.Mutex
	f.hook = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if r.URL.Path == "/rest/api/2/issue/OPS-5/worklog" {
			mu.Lock()
			fails++
			mu.Unlock()
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"errorMessages":["Internal server error"]}`))
			return true
		}
		return false
	}
	src, sl := newSource(t, f, store, config(t, f, "dc", ""))
	ctx := context.Background()
	_, err := src.Pull(ctx, jira.Options{})
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "worklogs of OPS-5") {
		t.Fatalf("first pull: err = %v, want the 500 of OPS-5's worklogs", err)
	}
	if fails != transport.DefaultMaxAttempts || len(sl.all()) != transport.DefaultMaxAttempts-1 {
		t.Errorf("%d attempts with %d waits, want %d and %d", fails, len(sl.all()), transport.DefaultMaxAttempts, transport.DefaultMaxAttempts-1)
	}
	// Pages 1 and 2 (TEST-1 .. OPS-1, 19 issues) are committed.
	const committed = 19
	var wantTr, wantWl int
	for _, is := range d.issues[:committed] {
		for _, h := range is.histories {
			wantTr += len(h["items"].([]map[string]any))
		}
		wantWl += len(is.worklogs)
	}
	if wantTr != 75 || wantWl != 8 {
		t.Fatalf("dataset: first two pages hold %d transitions, %d worklogs", wantTr, wantWl)
	}
	if n := count(t, db, "SELECT count() FROM tickets FINAL WHERE source = 'jira:dc'"); n != committed {
		t.Errorf("after the failure: %d tickets, want %d", n, committed)
	}
	if n := count(t, db, "SELECT count() FROM ticket_transitions FINAL WHERE source = 'jira:dc'"); n != 75 {
		t.Errorf("after the failure: %d transitions, want 75", n)
	}
	if n := count(t, db, "SELECT count() FROM worklogs FINAL WHERE source = 'jira:dc'"); n != 8 {
		t.Errorf("after the failure: %d worklogs, want 8", n)
	}
	if n := count(t, db, "SELECT count() FROM tickets FINAL WHERE source = 'jira:dc' AND ticket_key LIKE 'OPS-%' AND ticket_key != 'OPS-1'"); n != 0 {
		t.Errorf("%d tickets of the failed page were written", n)
	}
	st, err := store.State(ctx, "jira:dc")
	if err != nil {
		t.Fatal(err)
	}
	// OPS-1 was updated at 09:30:00.000, OPS-2 (not committed) at .100.
	if want := utc(2021, 1, 10, 9, 30, 0); !st.Watermark.Equal(want) {
		t.Errorf("watermark after the failure = %s, want %s (OPS-1, the last committed issue)", st.Watermark, want)
	}
	if !st.Watermark.Before(d.issues[committed].updated) {
		t.Errorf("watermark %s is not before the first uncommitted issue (%s)", st.Watermark, d.issues[committed].updated)
	}
	if !strings.Contains(st.LastError, "500") || strings.Contains(st.LastError, f.token) {
		t.Errorf("last error = %q", st.LastError)
	}

	f.hook = nil
	sum, err := src.Pull(ctx, jira.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Tickets != 12 {
		t.Errorf("resumed pull wrote %d tickets, want the 12 from the watermark's minute on", sum.Tickets)
	}
	checkSite(t, db, "jira:dc", d, false)
	st, _ = store.State(ctx, "jira:dc")
	if want := utc(2021, 1, 10, 9, 30, 1); !st.Watermark.Equal(want) || st.LastError != "" {
		t.Errorf("state after resume = %+v", st)
	}
	// The truncated changelog of SEC-1 was paged per issue.
	if n := f.requestCount("GET /rest/api/2/issue/SEC-1/changelog"); n != 7 {
		t.Errorf("SEC-1 changelog pages = %d, want 7 (43 histories, 7 a page)", n)
	}
}

// TestPullErrors: each failure is an error that says what to do, nothing
// is written, and the watermark stays.
func TestPullErrors(t *testing.T) {
	db := chtest.New(t)
	store := ingest.NewStore(db, nil)
	ctx := context.Background()
	tests := []struct {
		name  string
		cloud bool
		setup func(f *fakeJira, cfg *jira.Config)
		check func(t *testing.T, err error, f *fakeJira)
	}{{
		name: "unauthorized", cloud: true,
		setup: func(f *fakeJira, cfg *jira.Config) { f.token = "rotated-0ther-token" },
		check: func(t *testing.T, err error, f *fakeJira) {
			if !errors.Is(err, transport.ErrUnauthorized) {
				t.Errorf("not ErrUnauthorized: %v", err)
			}
			for _, s := range []string{"401", tokenEnv, f.email, f.srv.URL + "/rest/api/3/myself"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q: %v", s, err)
				}
			}
		},
	}, {
		name: "removed search", cloud: true,
		setup: func(f *fakeJira, cfg *jira.Config) {
			cfg.Instances[0].Flavor = "datacenter"
			cfg.Instances[0].Email = ""
		},
		check: func(t *testing.T, err error, f *fakeJira) {
			if !errors.Is(err, jira.ErrRemovedSearch) || !strings.Contains(err.Error(), "410") ||
				!strings.Contains(err.Error(), "this Jira Cloud site removed /search; set flavor: cloud") {
				t.Errorf("err = %v", err)
			}
		},
	}, {
		name: "rejected jql", cloud: true,
		setup: func(f *fakeJira, cfg *jira.Config) { cfg.Instances[0].JQL = "labels = security AND text ~ bogus~" },
		check: func(t *testing.T, err error, f *fakeJira) {
			var rej *jira.RejectedError
			if !errors.As(err, &rej) {
				t.Fatalf("not a RejectedError: %v", err)
			}
			if !strings.Contains(err.Error(), "Error in the JQL Query: The character '~' is a reserved JQL character.") ||
				!strings.Contains(rej.JQL, "text ~ bogus~") {
				t.Errorf("err = %v", err)
			}
		},
	}, {
		name: "malformed json", cloud: false,
		setup: func(f *fakeJira, cfg *jira.Config) {
			f.hook = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
				if r.URL.Path != "/rest/api/2/search" {
					return false
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"startAt":0,"maxResults":10,"total":30,"issues":[{"id":"10001","key":"TEST-1","fields":{"updated":"2020-12-03T14:05:20.974+0100"`))
				return true
			}
		},
		check: func(t *testing.T, err error, f *fakeJira) {
			if !strings.Contains(err.Error(), "decode response") || !strings.Contains(err.Error(), "search page 1") {
				t.Errorf("err = %v", err)
			}
		},
	}, {
		name: "wrongly typed field", cloud: true,
		setup: func(f *fakeJira, cfg *jira.Config) { f.issues[3].fields["created"] = 1609459200000 },
		check: func(t *testing.T, err error, f *fakeJira) {
			if !strings.Contains(err.Error(), "issue SEC-2: field created") {
				t.Errorf("err = %v", err)
			}
		},
	}, {
		name: "search ignores the order", cloud: false,
		setup: func(f *fakeJira, cfg *jira.Config) { f.unordered = true },
		check: func(t *testing.T, err error, f *fakeJira) {
			if !strings.Contains(err.Error(), "is out of order") {
				t.Errorf("err = %v", err)
			}
		},
	}, {
		name: "response too large", cloud: true,
		setup: func(f *fakeJira, cfg *jira.Config) { cfg.MaxResponseBytes = 4096 },
		check: func(t *testing.T, err error, f *fakeJira) {
			if !errors.Is(err, transport.ErrTooLarge) {
				t.Errorf("err = %v", err)
			}
		},
	}}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.cloud)
			f.issues = buildDataset(t, tc.cloud).issues
			name := fmt.Sprintf("e%d", i)
			cfg := config(t, f, name, "")
			tc.setup(f, &cfg)
			src, _ := newSource(t, f, store, cfg)
			_, err := src.Pull(ctx, jira.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), f.token) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error holds the token: %v", err)
			}
			tc.check(t, err, f)
			if n := count(t, db, "SELECT count() FROM tickets WHERE source = ?", "jira:"+name); n != 0 {
				t.Errorf("%d tickets written", n)
			}
			st, err := store.State(ctx, "jira:"+name)
			if err != nil {
				t.Fatal(err)
			}
			if !st.Watermark.IsZero() || st.LastError == "" || strings.Contains(st.LastError, "s3cr3t") {
				t.Errorf("state = %+v", st)
			}
		})
	}
}

// TestDryRun lists the mapping's outcome and every value that mapped to
// nothing, and writes nothing.
func TestDryRun(t *testing.T) {
	db := chtest.New(t)
	store := ingest.NewStore(db, nil)
	f := newFake(t, true)
	f.issues = buildDataset(t, true).issues
	cfg := config(t, f, "trial", "")
	cfg.Mapping.Team.Field = "Squad" // no such field on the site
	src, _ := newSource(t, f, store, cfg)
	var out bytes.Buffer
	sum, err := src.Pull(context.Background(), jira.Options{DryRun: true, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	report := out.String()
	t.Log("\n" + report)
	if sum.Tickets != wantTickets {
		t.Errorf("dry run saw %d tickets", sum.Tickets)
	}
	for _, want := range []string{
		`issues updated since 1970-01-01T00:00:00Z`,
		`30 tickets, 97 transitions, 41 worklogs, 7 findings would be written`,
		`field: mapping.team.field: no field with id or name "Squad"`,
		`status "Triage (retired)" (category none): seen 2 times, state new`,
		`severity (priority) "P5": seen 1 times`,
		`team (project) "TEST": seen 2 times`,
		`team (project) "DR": seen 3 times`,
		`kind: no rule matches project TEST, issue type Bug: 1 tickets (kind other)`,
		`kind: no rule matches project TEST, issue type Story: 1 tickets (kind other)`,
		`team: 5 tickets have no team`,
		`asset: 1 vulnerability tickets name no asset and do not become findings: SEC-5`,
		`status "In Review": category indeterminate → in_progress`,
		`"Fixed": 1 tickets`,
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, re := range []string{
		`(?m)^\s+vulnerability\s+payments\s+3\s*$`,
		`(?m)^\s+vulnerability\s+identity\s+2\s*$`,
		`(?m)^\s+incident\s+secops\s+5\s*$`,
		`(?m)^\s+toil\s+secops\s+12\s*$`,
		`(?m)^\s+design_review\s+\(no team\)\s+3\s*$`, // the team field is missing
		`(?m)^  vulnerability: 8$`,
	} {
		if !regexp.MustCompile(re).MatchString(report) {
			t.Errorf("report does not match %s", re)
		}
	}
	for _, table := range []string{"tickets", "ticket_transitions", "worklogs", "raw_payloads", "ingest_state", "findings", "finding_events"} {
		if n := count(t, db, "SELECT count() FROM "+table); n != 0 {
			t.Errorf("dry run wrote %d rows to %s", n, table)
		}
	}
	// A real pull refuses the missing field.
	_, err = src.Pull(context.Background(), jira.Options{})
	if err == nil || !strings.Contains(err.Error(), `no field with id or name "Squad"`) {
		t.Errorf("pull with a missing field: %v", err)
	}

	// Poll pulls at once, survives the failure, and ends with its context.
	before := f.requestCount("GET /rest/api/3/field")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Poll(ctx, time.Hour) }()
	deadline := time.Now().Add(30 * time.Second)
	for f.requestCount("GET /rest/api/3/field") == before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Poll = %v, want context.Canceled", err)
	}
	if f.requestCount("GET /rest/api/3/field") == before {
		t.Error("Poll did not pull")
	}
}
