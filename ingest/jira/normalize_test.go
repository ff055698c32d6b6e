package jira

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secmetrics/secmetrics/ingest"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2021, 1, 17, 12, 34, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "2021-01-17T12:34:00.000+0000", want: want},
		{in: "2021-01-17T13:34:00.000+0100", want: want},
		{in: "2021-01-17T07:34:00.000-0500", want: want},
		{in: "2021-01-17T12:34:00+0000", want: want},
		{in: "2021-01-17T12:34:00.000Z", want: want},
		{in: "2021-01-17T14:34:00+02:00", want: want},
		{in: "2020-12-03T14:05:20.974+0100", want: time.Date(2020, 12, 3, 13, 5, 20, 974e6, time.UTC)},
		{in: "2021-01-17 12:34", bad: true},
		{in: "", bad: true},
		{in: "1610886840000", bad: true},
	} {
		got, err := parseTime(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseTime(%q) = %s, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %s, %v; want %s in UTC", tc.in, got, err, tc.want)
		}
	}
}

func TestValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: `null`},
		{in: `"github.com/acme/pay"`, want: []string{"github.com/acme/pay"}},
		{in: `""`},
		{in: `7.5`, want: []string{"7.5"}},
		{in: `{"self":"x","value":"phishing","id":"10021"}`, want: []string{"phishing"}},
		{in: `{"name":"High","id":"2"}`, want: []string{"High"}},
		{in: `{"accountId":"5b10","displayName":"Mia"}`, want: []string{"5b10"}},
		{in: `[{"value":"AppSec"},{"value":"Payments"}]`, want: []string{"AppSec", "Payments"}},
		{in: `["a","b"]`, want: []string{"a", "b"}},
		{in: `{"type":"doc","version":1,"content":[]}`},
		{in: `[1,`, bad: true},
	} {
		got, err := values(json.RawMessage(tc.in))
		if (err != nil) != tc.bad || !cmp.Equal(got, tc.want) {
			t.Errorf("values(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestJQL(t *testing.T) {
	in := &Instance{Projects: []string{"SEC", "INC"}, JQL: "labels = security"}
	lower := time.Date(2021, 1, 4, 17, 0, 0, 0, time.UTC)
	want := `project in ("SEC", "INC") AND (labels = security) AND updated >= "2021-01-04 18:00" ORDER BY updated ASC, key ASC`
	if got := jql(in, lower, mustLoad(t, "Europe/Berlin")); got != want {
		t.Errorf("jql = %s\nwant  %s", got, want)
	}
	// 2021-10-31 01:30 UTC is 02:30 CET, a wall-clock time that also
	// existed an hour earlier (CEST): the bound moves before the change.
	want = `project in ("SEC", "INC") AND (labels = security) AND updated >= "2021-10-31 01:30" ORDER BY updated ASC, key ASC`
	if got := jql(in, time.Date(2021, 10, 31, 1, 30, 0, 0, time.UTC), mustLoad(t, "Europe/Berlin")); got != want {
		t.Errorf("jql at the DST change = %s\nwant  %s", got, want)
	}
	want = `(type = Bug) AND updated >= "2021-01-04 17:00" ORDER BY updated ASC, key ASC`
	if got := jql(&Instance{JQL: " type = Bug "}, lower, time.UTC); got != want {
		t.Errorf("jql = %s\nwant  %s", got, want)
	}
}

func mustLoad(t *testing.T, name string) *time.Location {
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// change is one history of a test issue: at hour h after creation, field
// goes from → to.
type change struct {
	h               int
	field, from, to string
}

// testIssue renders a Cloud issue created at 2021-01-01 00:00 UTC and
// updated at hour 100.
func testIssue(status, resolution string, resolvedAt int, priority string, hist ...change) envelope {
	at := func(h int) string {
		return time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(h) * time.Hour).Format("2006-01-02T15:04:05.000-0700")
	}
	fields := map[string]any{
		"summary": "x", "issuetype": map[string]any{"name": "Vulnerability"}, "project": map[string]any{"key": "SEC"},
		"status":   map[string]any{"name": status},
		"priority": map[string]any{"name": priority},
		"created":  at(0), "updated": at(100),
		"customfield_1": "web",
	}
	if resolution != "" {
		fields["resolution"] = map[string]any{"name": resolution}
		fields["resolutiondate"] = at(resolvedAt)
	}
	var hs []map[string]any
	for i, c := range hist {
		hs = append(hs, map[string]any{"id": fmt.Sprint(100 + i), "created": at(c.h), "items": []map[string]any{{
			"field": c.field, "fieldId": c.field, "fromString": c.from, "toString": c.to}}})
	}
	b, _ := json.Marshal(map[string]any{"id": "1", "key": "SEC-1", "fields": fields,
		"changelog": map[string]any{"total": len(hs), "histories": hs}})
	return envelope{Issue: b}
}

func TestFindingHistory(t *testing.T) {
	m := &Mapping{
		Kinds:  []KindRule{{Kind: "vulnerability", Projects: []string{"SEC"}}},
		Fields: Fields{Asset: "customfield_1"},
	}
	md := newMeta([]field{{ID: "customfield_1", Name: "Asset", Custom: true}}, []status{
		{ID: "1", Name: "To Do"}, {ID: "2", Name: "Done"}, {ID: "3", Name: "False Positive"},
	})
	for _, tc := range []struct {
		name string
		env  envelope
		want string // "type@hour[:detail]" joined by spaces
	}{{
		name: "fixed",
		env:  testIssue("Done", "Fixed", 5, "High", change{5, "status", "To Do", "Done"}, change{5, "resolution", "", "Fixed"}),
		want: "detected@0:high fixed@5",
	}, {
		name: "reopened when the resolution is cleared",
		env: testIssue("To Do", "", 0, "High", change{5, "resolution", "", "Done"},
			change{9, "resolution", "Done", ""}),
		want: "detected@0:high fixed@5 reopened@9",
	}, {
		name: "risk accepted by resolution",
		env:  testIssue("Done", "Won't Fix", 7, "Low", change{7, "resolution", "", "Won't Fix"}),
		want: "detected@0:low status_changed@7:risk_accepted",
	}, {
		name: "false positive by status, then back",
		env: testIssue("To Do", "", 0, "Low", change{3, "status", "To Do", "False Positive"},
			change{8, "status", "False Positive", "To Do"}),
		want: "detected@0:low status_changed@3:false_positive status_changed@8:none",
	}, {
		name: "fixed, then re-resolved as duplicate",
		env: testIssue("Done", "Duplicate", 6, "Medium", change{2, "resolution", "", "Fixed"},
			change{6, "resolution", "Fixed", "Duplicate"}),
		want: "detected@0:medium fixed@2 reopened@6 status_changed@6:duplicate",
	}, {
		name: "created resolved: fixed at the resolution date",
		env:  testIssue("Done", "Done", 4, "Highest"),
		want: "detected@0:critical fixed@4",
	}, {
		name: "history lost the reopening: reopened at the last update",
		env:  testIssue("To Do", "", 0, "High", change{5, "resolution", "", "Fixed"}),
		want: "detected@0:high fixed@5 reopened@100",
	}, {
		name: "severity raised",
		env:  testIssue("To Do", "", 0, "Highest", change{10, "priority", "High", "Highest"}),
		want: "detected@0:high severity_changed@10:critical",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			z := newNormalizer("jira:t", m, md, newNotes())
			r, err := z.normalize(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if r.finding == nil {
				t.Fatal("no finding")
			}
			created := r.ticket.Created
			var got []string
			for _, c := range r.finding.History {
				s := fmt.Sprintf("%s@%d", c.Type, int(c.Time.Sub(created).Hours()))
				switch c.Type {
				case ingest.Detected, ingest.SeverityChanged:
					s += ":" + string(c.Severity)
				case ingest.StatusChanged:
					s += ":" + string(ingest.Status(or(string(c.Status), "none")))
				}
				got = append(got, s)
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("history = %s\nwant      %s", g, tc.want)
			}
		})
	}
}

func TestMapping(t *testing.T) {
	md := newMeta([]field{{ID: "customfield_7", Name: "Squad", Custom: true}}, []status{
		{ID: "1", Name: "To Do", StatusCategory: statusCategory{Key: "new"}},
		{ID: "5", Name: "Waiting", StatusCategory: statusCategory{Key: "indeterminate"}},
	})
	base := Mapping{
		Kinds: []KindRule{
			{Kind: "toil", Labels: []string{"toil"}},
			{Kind: "vulnerability", Projects: []string{"SEC"}, IssueTypes: []string{"Vulnerability"}},
			{Kind: "customer_escalation", Components: []string{"Escalations"}},
		},
		Team: Team{From: []string{"label", "field", "component", "project"}, Field: "Squad", LabelPrefix: "team-",
			Map: map[string]string{"payments": "pay", "Blue": "blue-team", "SEC": "appsec"}},
		States: States{Statuses: map[string]string{"Triage": "triaged"}, Contained: []string{"Mitigated"}},
	}
	for _, tc := range []struct {
		name       string
		key, typ   string
		status     string
		labels     []string
		components []string
		squad      any
		mapping    func(*Mapping)
		want       string // kind team state
	}{
		{name: "first rule wins", key: "SEC-1", typ: "Vulnerability", status: "To Do", labels: []string{"toil"}, want: "toil appsec new"},
		{name: "every criterion of a rule", key: "SEC-2", typ: "Bug", status: "To Do", want: "other appsec new"},
		{name: "component rule", key: "CS-1", typ: "Task", status: "Waiting", components: []string{"escalations"}, want: "customer_escalation  in_progress"},
		{name: "label prefix before field", key: "SEC-3", typ: "Vulnerability", status: "Triage", labels: []string{"Team-Payments", "other"},
			squad: map[string]any{"value": "Blue"}, want: "vulnerability pay triaged"},
		{name: "field option", key: "SEC-4", typ: "Vulnerability", status: "Mitigated", squad: []any{map[string]any{"value": "Blue"}}, want: "vulnerability blue-team contained"},
		{name: "unmapped values skipped", key: "X-1", typ: "Task", status: "Gone", labels: []string{"team-unknown"}, components: []string{"Legacy"}, want: "other  new"},
		{name: "empty map takes values as they are", key: "X-2", typ: "Task", status: "To Do", components: []string{"Legacy"},
			mapping: func(m *Mapping) { m.Team.Map = nil; m.Team.From = []string{"component"} }, want: "other Legacy new"},
		{name: "category mapping overrides the default", key: "X-3", typ: "Task", status: "Waiting",
			mapping: func(m *Mapping) { m.States.Categories = map[string]string{"indeterminate": "triaged"} }, want: "other  triaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base
			m.Team.Map = maps.Clone(base.Team.Map)
			if tc.mapping != nil {
				tc.mapping(&m)
			}
			comps := []map[string]any{}
			for _, c := range tc.components {
				comps = append(comps, map[string]any{"name": c})
			}
			fields := map[string]any{
				"summary": "x", "issuetype": map[string]any{"name": tc.typ},
				"status":  map[string]any{"name": tc.status, "id": statusIDOf(md, tc.status)},
				"created": "2021-01-01T00:00:00.000+0000", "updated": "2021-01-02T00:00:00.000+0000",
				"labels": tc.labels, "components": comps, "customfield_7": tc.squad,
			}
			b, _ := json.Marshal(map[string]any{"key": tc.key, "fields": fields})
			n := newNotes()
			r, err := newNormalizer("jira:t", &m, md, n).normalize(envelope{Issue: b})
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%s %s %s", r.ticket.Kind, r.ticket.Team, r.ticket.State)
			if got != tc.want {
				t.Errorf("kind team state = %q, want %q", got, tc.want)
			}
		})
	}
}

func statusIDOf(md *meta, name string) string {
	if s, ok := md.statusByName[strings.ToLower(name)]; ok {
		return s.ID
	}
	return "999"
}
