package jira_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeJira replays a Jira site: it holds complete issues (every history,
// every worklog) and answers the endpoints the pull uses the way Cloud or
// Data Center does, truncating embedded changelogs and worklog lists and
// paging every list.
type fakeJira struct {
	t      *testing.T
	cloud  bool
	srv    *httptest.Server
	email  string
	token  string
	zone   *time.Location // the API user's time zone, in which JQL dates are read
	issues []*fakeIssue

	histCap     int // embedded histories per issue (Cloud reports at most 40)
	worklogCap  int // embedded worklogs per issue (20)
	listPage    int // page size of the changelog, bulk and worklog endpoints
	fields      []map[string]any
	statuses    []map[string]any
	removedPath bool // Cloud: /rest/api/{2,3}/search answers 410
	unordered   bool // the search ignores ORDER BY updated: issues in key order

	mu       sync.Mutex
	requests []string // "METHOD /path" of every request
	jqls     []string
	// hook, when set, may answer a request itself (faults); it gets the
	// request with its body read into body.
	hook func(w http.ResponseWriter, r *http.Request, body []byte) bool
}

type fakeIssue struct {
	id, key   string
	fields    map[string]any // without worklog
	histories []map[string]any
	worklogs  []map[string]any
	updated   time.Time
}

func newFake(t *testing.T, cloud bool) *fakeJira {
	f := &fakeJira{
		t: t, cloud: cloud, email: "secmetrics@example.com", token: "s3cr3t-t0ken-value",
		zone: time.UTC, histCap: 40, worklogCap: 20, listPage: 7, removedPath: cloud,
	}
	f.fields = []map[string]any{}
	for _, id := range []string{"summary", "issuetype", "project", "status", "priority", "labels", "components",
		"created", "updated", "resolution", "resolutiondate", "assignee", "reporter", "duedate", "worklog"} {
		f.fields = append(f.fields, map[string]any{"id": id, "name": strings.ToUpper(id[:1]) + id[1:], "custom": false})
	}
	for id, name := range map[string]string{
		"customfield_10100": "Affected asset",
		"customfield_10200": "Incident type",
		"customfield_10300": "Security team",
	} {
		f.fields = append(f.fields, map[string]any{"id": id, "name": name, "custom": true})
	}
	sort.Slice(f.fields, func(i, j int) bool { return f.fields[i]["id"].(string) < f.fields[j]["id"].(string) })
	for _, s := range fakeStatuses {
		f.statuses = append(f.statuses, map[string]any{
			"id": s.id, "name": s.name,
			"statusCategory": map[string]any{"key": s.category, "name": s.category},
		})
	}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// fakeStatuses are the statuses the site lists. "Triage (retired)" (id
// 99999) appears only in old histories: it is no longer listed.
var fakeStatuses = []struct{ id, name, category string }{
	{"1", "To Do", "new"},
	{"3", "In Progress", "indeterminate"},
	{"10001", "Done", "done"},
	{"10010", "Open", "new"},
	{"10011", "Investigating", "indeterminate"},
	{"10012", "Contained", "indeterminate"},
	{"10013", "Closed", "done"},
	{"10014", "In Review", "indeterminate"},
}

func statusID(name string) string {
	for _, s := range fakeStatuses {
		if s.name == name {
			return s.id
		}
	}
	return "99999"
}

func (f *fakeJira) requestCount(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func (f *fakeJira) api() string {
	if f.cloud {
		return "/rest/api/3"
	}
	return "/rest/api/2"
}

var (
	issuePathRE = regexp.MustCompile(`^/rest/api/[23]/issue/([A-Z]+-[0-9]+)/(changelog|worklog)$`)
	updatedRE   = regexp.MustCompile(`updated >= "(\d{4}-\d\d-\d\d \d\d:\d\d)"`)
)

func (f *fakeJira) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	hook := f.hook
	f.mu.Unlock()
	if hook != nil && hook(w, r, body) {
		return
	}
	if !f.authorized(r) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "Client must be authenticated to access this resource.")
		return
	}
	p := r.URL.Path
	switch {
	case f.removedPath && (p == "/rest/api/3/search" || p == "/rest/api/2/search"):
		f.json(w, http.StatusGone, map[string]any{"errorMessages": []string{
			"The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."}})
	case f.cloud && p == "/rest/api/3/search/jql" && r.Method == http.MethodPost:
		f.searchCloud(w, body)
	case !f.cloud && p == "/rest/api/2/search" && r.Method == http.MethodGet:
		f.searchDC(w, r)
	case f.cloud && p == "/rest/api/3/changelog/bulkfetch" && r.Method == http.MethodPost:
		f.bulkfetch(w, body)
	case p == "/rest/api/2/field" || p == f.api()+"/field":
		f.json(w, 200, f.fields)
	case p == "/rest/api/2/status" || p == f.api()+"/status":
		f.json(w, 200, f.statuses)
	case p == "/rest/api/2/myself" || p == f.api()+"/myself":
		f.json(w, 200, map[string]any{"accountId": "557058:f58131cb", "timeZone": f.zone.String()})
	case issuePathRE.MatchString(p) && strings.HasPrefix(p, f.api()):
		m := issuePathRE.FindStringSubmatch(p)
		is := f.issue(m[1])
		if is == nil {
			f.json(w, 404, map[string]any{"errorMessages": []string{"Issue does not exist or you do not have permission to see it."}})
			return
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
		max, _ := strconv.Atoi(r.URL.Query().Get("maxResults"))
		if m[2] == "changelog" {
			f.json(w, 200, f.pageOf(is.histories, start, max, "values", true))
		} else {
			f.json(w, 200, f.pageOf(is.worklogs, start, max, "worklogs", false))
		}
	default:
		f.json(w, 404, map[string]any{"errorMessages": []string{"no such endpoint: " + r.Method + " " + p}})
	}
}

func (f *fakeJira) authorized(r *http.Request) bool {
	if r.Header.Get("Authorization") == "Bearer "+f.token {
		return true // Data Center's personal access token; Cloud's OAuth tokens
	}
	u, p, ok := r.BasicAuth()
	return f.cloud && ok && u == f.email && p == f.token
}

func (f *fakeJira) json(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	// A write error means the client hung up (e.g. on a body over its
	// size limit): nothing the code under test did wrong.
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeJira) issue(key string) *fakeIssue {
	for _, is := range f.issues {
		if is.key == key {
			return is
		}
	}
	return nil
}

// pageOf pages a list the way the per-issue endpoints do, at most
// f.listPage per page.
func (f *fakeJira) pageOf(items []map[string]any, start, max int, name string, isLast bool) map[string]any {
	if max <= 0 || max > f.listPage {
		max = f.listPage
	}
	end := min(start+max, len(items))
	if start > end {
		start = end
	}
	out := map[string]any{"startAt": start, "maxResults": max, "total": len(items), name: items[start:end]}
	if isLast {
		out["isLast"] = end >= len(items)
	}
	return out
}

// matching returns the issues a JQL selects (its updated bound, read in the
// user's zone), in the order it asks for.
func (f *fakeJira) matching(jql string) ([]*fakeIssue, error) {
	f.mu.Lock()
	f.jqls = append(f.jqls, jql)
	f.mu.Unlock()
	if strings.Contains(jql, "bogus") {
		return nil, fmt.Errorf("Error in the JQL Query: The character '~' is a reserved JQL character. You must enclose it in a string or use the escape '\\u007e' instead. (line 1, character 52)")
	}
	if !strings.HasSuffix(jql, " ORDER BY updated ASC, key ASC") {
		f.t.Errorf("fake: JQL without the stable order: %s", jql)
	}
	m := updatedRE.FindStringSubmatch(jql)
	if m == nil {
		return nil, fmt.Errorf("Unbounded JQL queries are not allowed here. Please add a search restriction to your query.")
	}
	lower, err := time.ParseInLocation("2006-01-02 15:04", m[1], f.zone)
	if err != nil {
		return nil, err
	}
	var out []*fakeIssue
	for _, is := range f.issues {
		if !is.updated.Before(lower) {
			out = append(out, is)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].updated.Equal(out[j].updated) {
			return out[i].updated.Before(out[j].updated)
		}
		return keyLess(out[i].key, out[j].key)
	})
	if f.unordered {
		slices.SortFunc(out, func(a, b *fakeIssue) int { return strings.Compare(a.key, b.key) })
	}
	return out, nil
}

// keyLess orders issue keys as Jira does: by project, then number.
func keyLess(a, b string) bool {
	pa, na, _ := strings.Cut(a, "-")
	pb, nb, _ := strings.Cut(b, "-")
	if pa != pb {
		return pa < pb
	}
	x, _ := strconv.Atoi(na)
	y, _ := strconv.Atoi(nb)
	return x < y
}

// render is an issue as a search returns it: the requested fields, the
// first worklogCap worklogs and the first histCap histories.
func (f *fakeJira) render(is *fakeIssue, fields []string) map[string]any {
	fs := map[string]any{}
	for _, name := range fields {
		if name == "worklog" {
			fs["worklog"] = map[string]any{"startAt": 0, "maxResults": f.worklogCap, "total": len(is.worklogs),
				"worklogs": is.worklogs[:min(len(is.worklogs), f.worklogCap)]}
			continue
		}
		if v, ok := is.fields[name]; ok {
			fs[name] = v
		} else if name == "resolution" || name == "resolutiondate" || name == "duedate" || name == "assignee" || strings.HasPrefix(name, "customfield_") {
			fs[name] = nil
		}
	}
	out := map[string]any{"id": is.id, "key": is.key, "fields": fs,
		"changelog": map[string]any{"startAt": 0, "maxResults": f.histCap, "total": len(is.histories),
			"histories": is.histories[:min(len(is.histories), f.histCap)]}}
	if f.cloud {
		out["self"] = f.srv.URL + "/rest/api/3/issue/" + is.id
	} else {
		out["self"] = f.srv.URL + "/rest/api/2/issue/" + is.id
		out["expand"] = "operations,versionedRepresentations,editmeta,changelog,renderedFields"
	}
	return out
}

func (f *fakeJira) searchCloud(w http.ResponseWriter, body []byte) {
	var req struct {
		JQL           string   `json:"jql"`
		Fields        []string `json:"fields"`
		Expand        string   `json:"expand"`
		MaxResults    int      `json:"maxResults"`
		NextPageToken string   `json:"nextPageToken"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		f.json(w, 400, map[string]any{"errorMessages": []string{"bad body: " + err.Error()}})
		return
	}
	if req.Expand != "changelog" || len(req.Fields) == 0 {
		f.t.Errorf("fake: search without changelog or fields: %s", body)
	}
	all, err := f.matching(req.JQL)
	if err != nil {
		f.json(w, 400, map[string]any{"errorMessages": []string{err.Error()}, "errors": map[string]any{}})
		return
	}
	start := 0
	if req.NextPageToken != "" {
		b, err := base64.StdEncoding.DecodeString(req.NextPageToken)
		if err != nil {
			f.json(w, 400, map[string]any{"errorMessages": []string{"invalid nextPageToken"}})
			return
		}
		start, _ = strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
	}
	end := min(start+req.MaxResults, len(all))
	issues := []any{}
	for _, is := range all[start:end] {
		issues = append(issues, f.render(is, req.Fields))
	}
	out := map[string]any{"issues": issues, "isLast": end >= len(all)}
	if end < len(all) {
		out["nextPageToken"] = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	f.json(w, 200, out)
}

func (f *fakeJira) searchDC(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("expand") != "changelog" || q.Get("fields") == "" {
		f.t.Errorf("fake: search without changelog or fields: %s", r.URL.RawQuery)
	}
	all, err := f.matching(q.Get("jql"))
	if err != nil {
		f.json(w, 400, map[string]any{"errorMessages": []string{err.Error()}, "errors": map[string]any{}})
		return
	}
	start, _ := strconv.Atoi(q.Get("startAt"))
	max, _ := strconv.Atoi(q.Get("maxResults"))
	end := min(start+max, len(all))
	start = min(start, end)
	issues := []any{}
	for _, is := range all[start:end] {
		issues = append(issues, f.render(is, strings.Split(q.Get("fields"), ",")))
	}
	f.json(w, 200, map[string]any{"expand": "schema,names", "startAt": start, "maxResults": max, "total": len(all), "issues": issues})
}

// bulkfetch answers POST /rest/api/3/changelog/bulkfetch: the histories of
// the issues that changed one of fieldIds, in issue then history order,
// f.listPage histories per page.
func (f *fakeJira) bulkfetch(w http.ResponseWriter, body []byte) {
	var req struct {
		IssueIDsOrKeys []string `json:"issueIdsOrKeys"`
		FieldIDs       []string `json:"fieldIds"`
		MaxResults     int      `json:"maxResults"`
		NextPageToken  string   `json:"nextPageToken"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.IssueIDsOrKeys) == 0 {
		f.json(w, 400, map[string]any{"errorMessages": []string{"bad body"}})
		return
	}
	type entry struct {
		issueID string
		h       map[string]any
	}
	var all []entry
	for _, ref := range req.IssueIDsOrKeys {
		var is *fakeIssue
		for _, x := range f.issues {
			if x.id == ref || x.key == ref {
				is = x
			}
		}
		if is == nil {
			continue
		}
		for _, h := range is.histories {
			var items []any
			for _, it := range h["items"].([]map[string]any) {
				for _, fid := range req.FieldIDs {
					if it["fieldId"] == fid {
						items = append(items, it)
					}
				}
			}
			if len(items) == 0 {
				continue
			}
			c := map[string]any{}
			for k, v := range h {
				c[k] = v
			}
			c["items"] = items
			all = append(all, entry{is.id, c})
		}
	}
	start, _ := strconv.Atoi(req.NextPageToken)
	end := min(start+f.listPage, len(all))
	var logs []map[string]any
	for _, e := range all[start:end] {
		if len(logs) == 0 || logs[len(logs)-1]["issueId"] != e.issueID {
			logs = append(logs, map[string]any{"issueId": e.issueID, "changeHistories": []any{}})
		}
		l := logs[len(logs)-1]
		l["changeHistories"] = append(l["changeHistories"].([]any), e.h)
	}
	out := map[string]any{"issueChangeLogs": logs}
	if end < len(all) {
		out["nextPageToken"] = strconv.Itoa(end)
	}
	f.json(w, 200, out)
}

// ---- the replayed data ----

// jiraTime renders t the way Jira does: milliseconds, offset without colon.
func jiraTime(t time.Time) string { return t.Format("2006-01-02T15:04:05.000-0700") }

// sample reads a file of ../shared/samples/jira.
func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../../shared/samples/jira/" + name)
	if err != nil {
		t.Fatalf("sample %s: %v", name, err)
	}
	return b
}

// dataset is what a fake site holds, with the figures a test expects.
type dataset struct {
	issues      []*fakeIssue
	transitions int // status and resolution changes over every history
	worklogs    int
	seconds     int64 // worklog seconds in total
}

// builder makes the replayed issues in the flavor's own shapes.
type builder struct {
	t        *testing.T
	cloud    bool
	nextHist int
	nextWL   int
	d        dataset
}

func (b *builder) user(id, name string) map[string]any {
	if b.cloud {
		return map[string]any{"accountId": id, "displayName": name, "active": true}
	}
	return map[string]any{"name": strings.ToLower(strings.ReplaceAll(name, " ", ".")), "key": "JIRAUSER" + id[len(id)-3:], "displayName": name}
}

// add registers an issue. fields are completed with project, status and
// times.
func (b *builder) add(id, key, issueType, status string, created, updated time.Time, fields map[string]any) *fakeIssue {
	proj, _, _ := strings.Cut(key, "-")
	fs := map[string]any{
		"summary":   key + " summary",
		"issuetype": map[string]any{"name": issueType},
		"project":   map[string]any{"key": proj, "name": proj + " project"},
		"status":    map[string]any{"id": statusID(status), "name": status, "statusCategory": map[string]any{"key": categoryOf(status)}},
		"created":   jiraTime(created),
		"updated":   jiraTime(updated),
		"labels":    []string{},
		"priority":  map[string]any{"name": "Medium"},
		"reporter":  b.user("5b10a2844c20165700ede100", "Rita Reporter"),
	}
	for k, v := range fields {
		fs[k] = v
	}
	is := &fakeIssue{id: id, key: key, fields: fs, updated: updated}
	b.d.issues = append(b.d.issues, is)
	return is
}

func categoryOf(status string) string {
	for _, s := range fakeStatuses {
		if s.name == status {
			return s.category
		}
	}
	return ""
}

// change adds a history with the given items (field, from, to); status
// items carry status ids, resolution items resolution ids.
func (b *builder) change(is *fakeIssue, at time.Time, items ...[3]string) {
	b.nextHist++
	var its []map[string]any
	for _, x := range items {
		it := map[string]any{"field": x[0], "fieldtype": "jira", "fromString": nil, "toString": nil, "from": nil, "to": nil}
		if b.cloud {
			it["fieldId"] = x[0]
		}
		if x[1] != "" {
			it["fromString"], it["from"] = x[1], idOf(x[0], x[1])
		}
		if x[2] != "" {
			it["toString"], it["to"] = x[2], idOf(x[0], x[2])
		}
		if x[0] == "status" || x[0] == "resolution" {
			b.d.transitions++
		}
		its = append(its, it)
	}
	is.histories = append(is.histories, map[string]any{
		"id": strconv.Itoa(10000 + b.nextHist), "author": b.user("5b10a2844c20165700ede200", "Sam Analyst"),
		"created": jiraTime(at), "items": its,
	})
}

func idOf(field, value string) string {
	if field == "status" {
		return statusID(value)
	}
	return strconv.Itoa(len(value))
}

// worklog adds a worklog derived from the sample's.
func (b *builder) worklog(is *fakeIssue, started time.Time, seconds int64) {
	var s struct {
		Worklogs []map[string]any `json:"worklogs"`
	}
	if err := json.Unmarshal(sample(b.t, "issue_worklogs.json"), &s); err != nil {
		b.t.Fatal(err)
	}
	w := s.Worklogs[0]
	b.nextWL++
	w["id"] = strconv.Itoa(200000 + b.nextWL)
	w["issueId"] = is.id
	w["started"] = jiraTime(started)
	w["updated"] = jiraTime(started.Add(time.Hour))
	w["timeSpentSeconds"] = seconds
	w["timeSpent"] = fmt.Sprintf("%dm", seconds/60)
	if !b.cloud {
		w["author"] = b.user("5b10a2844c20165700ede21g", "Mia Krystof")
		w["comment"] = "I did some work here."
	}
	b.addWorklog(is, w)
}

func (b *builder) addWorklog(is *fakeIssue, w map[string]any) {
	is.worklogs = append(is.worklogs, w)
	b.d.worklogs++
	switch v := w["timeSpentSeconds"].(type) {
	case float64: // decoded from the sample
		b.d.seconds += int64(v)
	case int64:
		b.d.seconds += v
	default:
		b.t.Fatalf("worklog seconds of type %T", v)
	}
}

var (
	berlin = mustZone("Europe/Berlin")
	t0     = time.Date(2021, 1, 4, 9, 0, 0, 0, time.UTC)
)

func mustZone(name string) *time.Location {
	z, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return z
}

// The figures of the replayed site (the same for both flavors).
const (
	wantTickets     = 30
	wantTransitions = 97
	wantWorklogs    = 41
	wantFindings    = 7 // SEC-1..8 but SEC-5, which names no asset
	wantPages       = 4
)

// buildDataset makes the replayed issues: the two issues of the sample
// search page (as Jira returned them, plus id, changelog and the sample
// worklog), eight vulnerability tickets, five incidents, three design
// reviews and twelve toil tickets bulk-edited in the same minute.
func buildDataset(t *testing.T, cloud bool) dataset {
	b := &builder{t: t, cloud: cloud}

	// The sample page: TEST-1 and TEST-2, verbatim fields.
	var page struct {
		Issues []struct {
			Key    string         `json:"key"`
			Fields map[string]any `json:"fields"`
		} `json:"issues"`
	}
	if err := json.Unmarshal(sample(t, "search_page1.json"), &page); err != nil {
		t.Fatal(err)
	}
	for i, s := range page.Issues {
		up, err := time.Parse("2006-01-02T15:04:05.000-0700", s.Fields["updated"].(string))
		if err != nil {
			t.Fatal(err)
		}
		is := &fakeIssue{id: strconv.Itoa(10001 + i), key: s.Key, fields: s.Fields, updated: up}
		b.d.issues = append(b.d.issues, is)
	}
	// TEST-1 carries the sample worklog as it is.
	var wl struct {
		Worklogs []map[string]any `json:"worklogs"`
	}
	if err := json.Unmarshal(sample(t, "issue_worklogs.json"), &wl); err != nil {
		t.Fatal(err)
	}
	b.addWorklog(b.d.issues[0], wl.Worklogs[0])
	// TEST-2 went from To Do to In Progress.
	b.change(b.d.issues[1], time.Date(2020, 12, 3, 13, 5, 20, 0, time.UTC), [3]string{"status", "To Do", "In Progress"})

	at := t0
	next := func() time.Time { at = at.Add(time.Hour); return at }
	asset := func(a string) map[string]any { return map[string]any{"customfield_10100": a} }
	with := func(ms ...map[string]any) map[string]any {
		out := map[string]any{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	comp := func(names ...string) map[string]any {
		var cs []map[string]any
		for _, n := range names {
			cs = append(cs, map[string]any{"name": n})
		}
		return map[string]any{"components": cs}
	}
	prio := func(p string) map[string]any { return map[string]any{"priority": map[string]any{"name": p}} }
	res := func(r string, when time.Time) map[string]any {
		return map[string]any{"resolution": map[string]any{"name": r}, "resolutiondate": jiraTime(when)}
	}

	// SEC-1: a critical vulnerability with a long history: 21 round trips
	// between To Do and In Progress (42 histories), then Done/Fixed in one
	// history: 43 histories, more than the 40 a search embeds.
	c := time.Date(2020, 12, 10, 8, 0, 0, 0, time.UTC)
	done1 := c.Add(50 * time.Hour)
	sec1 := b.add("20001", "SEC-1", "Vulnerability", "Done", c, next(),
		with(asset("github.com/acme/payments"), comp("Payments"), prio("Highest"), res("Fixed", done1),
			map[string]any{"summary": "SQL injection in payment export (CVE-2021-44228 style)", "labels": []string{"security", "CVE-2021-3129"}}))
	for i := 0; i < 21; i++ {
		b.change(sec1, c.Add(time.Duration(2*i+1)*time.Hour), [3]string{"status", "To Do", "In Progress"})
		b.change(sec1, c.Add(time.Duration(2*i+2)*time.Hour), [3]string{"status", "In Progress", "To Do"})
	}
	b.change(sec1, done1, [3]string{"status", "To Do", "Done"}, [3]string{"resolution", "", "Fixed"})
	b.worklog(sec1, c.Add(2*time.Hour), 5400)

	// SEC-2: high, open, in progress.
	c = time.Date(2020, 12, 14, 8, 0, 0, 0, time.UTC)
	sec2 := b.add("20002", "SEC-2", "Vulnerability", "In Progress", c, next(), with(asset("github.com/acme/identity"), comp("Identity"), prio("High")))
	b.change(sec2, c.Add(3*time.Hour), [3]string{"status", "To Do", "In Progress"})
	// SEC-3: fixed, then reopened (resolution cleared), now in progress.
	c = time.Date(2020, 12, 15, 8, 0, 0, 0, time.UTC)
	sec3 := b.add("20003", "SEC-3", "Vulnerability", "In Progress", c, next(), with(asset("github.com/acme/payments"), comp("Payments"), prio("Medium")))
	b.change(sec3, c.Add(24*time.Hour), [3]string{"status", "To Do", "Done"}, [3]string{"resolution", "", "Done"})
	b.change(sec3, c.Add(72*time.Hour), [3]string{"status", "Done", "In Progress"}, [3]string{"resolution", "Done", ""})
	// SEC-4: risk accepted by resolution.
	c = time.Date(2020, 12, 16, 8, 0, 0, 0, time.UTC)
	sec4 := b.add("20004", "SEC-4", "Vulnerability", "Done", c, next(),
		with(asset("github.com/acme/payments"), comp("Payments"), prio("Low"), res("Won't Fix", c.Add(48*time.Hour))))
	b.change(sec4, c.Add(48*time.Hour), [3]string{"status", "To Do", "Done"}, [3]string{"resolution", "", "Won't Fix"})
	// SEC-5: no asset: a ticket, not a finding.
	c = time.Date(2020, 12, 17, 8, 0, 0, 0, time.UTC)
	b.add("20005", "SEC-5", "Vulnerability", "To Do", c, next(), with(comp("Identity"), prio("P5")))
	// SEC-6..8: open, one per severity; SEC-8 passed through a retired status.
	for i, p := range []string{"Highest", "High", "Low"} {
		c = time.Date(2020, 12, 18+i, 8, 0, 0, 0, time.UTC)
		is := b.add(strconv.Itoa(20006+i), "SEC-"+strconv.Itoa(6+i), "Vulnerability", "In Progress", c, next(),
			with(asset("registry.acme.io/web"), comp("AppSec"), prio(p)))
		if i == 2 {
			b.change(is, c.Add(time.Hour), [3]string{"status", "To Do", "Triage (retired)"})
			b.change(is, c.Add(2*time.Hour), [3]string{"status", "Triage (retired)", "In Progress"})
		} else {
			b.change(is, c.Add(time.Hour), [3]string{"status", "To Do", "In Progress"})
		}
	}

	// INC-1..5: incidents. Open → Investigating → Contained → Closed.
	incType := func(v string) map[string]any {
		return map[string]any{"customfield_10200": map[string]any{"value": v, "id": "10" + strconv.Itoa(len(v))}}
	}
	for i := 0; i < 5; i++ {
		c = time.Date(2021, 1, 2, 10+i, 0, 0, 0, time.UTC)
		status := []string{"Closed", "Closed", "Contained", "Investigating", "Closed"}[i]
		fields := with(incType([]string{"phishing", "malware", "phishing", "account takeover", "malware"}[i]), prio("High"))
		if status == "Closed" {
			fields = with(fields, res("Done", c.Add(30*time.Hour)))
		}
		is := b.add(strconv.Itoa(30001+i), "INC-"+strconv.Itoa(i+1), "Incident", status, c, next(), fields)
		b.change(is, c.Add(30*time.Minute), [3]string{"status", "Open", "Investigating"})
		switch i {
		case 0, 1, 2:
			b.change(is, c.Add(time.Duration(2+i)*time.Hour), [3]string{"status", "Investigating", "Contained"})
			if i < 2 {
				b.change(is, c.Add(30*time.Hour), [3]string{"status", "Contained", "Closed"}, [3]string{"resolution", "", "Done"})
			}
		case 4: // closed without passing Contained
			b.change(is, c.Add(30*time.Hour), [3]string{"status", "Investigating", "Closed"}, [3]string{"resolution", "", "Done"})
		}
		b.worklog(is, c.Add(time.Hour), 1800)
	}

	// DR-1..3: design reviews.
	for i := 0; i < 3; i++ {
		c = time.Date(2021, 1, 3, 9, 0, 0, 0, time.UTC)
		is := b.add(strconv.Itoa(40001+i), "DR-"+strconv.Itoa(i+1), "Design Review", "In Review", c, next(),
			with(map[string]any{"customfield_10300": []map[string]any{{"value": "AppSec"}}, "duedate": "2021-01-20"}))
		b.change(is, c.Add(time.Hour), [3]string{"status", "To Do", "In Review"})
	}

	// OPS-1..12: toil, bulk-edited within one minute (more than a page);
	// OPS-5 has 23 worklogs, more than the 20 a search embeds.
	bulk := time.Date(2021, 1, 10, 9, 30, 0, 0, time.UTC)
	for i := 0; i < 12; i++ {
		c = time.Date(2021, 1, 5, 9, i, 0, 0, time.UTC)
		is := b.add(strconv.Itoa(50001+i), "OPS-"+strconv.Itoa(i+1), "Task", "Done", c, bulk.Add(time.Duration(i)*100*time.Millisecond),
			with(map[string]any{"labels": []string{"toil", "rotation"}}, res("Done", c.Add(2*time.Hour))))
		b.change(is, c.Add(2*time.Hour), [3]string{"status", "To Do", "Done"}, [3]string{"resolution", "", "Done"})
		n := 1
		if i == 4 {
			n = 23
		}
		for j := 0; j < n; j++ {
			b.worklog(is, c.Add(time.Duration(j)*time.Minute), 600)
		}
	}
	if len(b.d.issues) != wantTickets || b.d.transitions != wantTransitions || b.d.worklogs != wantWorklogs {
		t.Fatalf("dataset: %d issues, %d transitions, %d worklogs; the constants say %d, %d, %d",
			len(b.d.issues), b.d.transitions, b.d.worklogs, wantTickets, wantTransitions, wantWorklogs)
	}
	return b.d
}
