package jira

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// envelope is what is kept of one issue (Store.SaveRaw, kind "issue"): the
// issue exactly as the search returned it and, when its embedded changelog
// or worklog list was truncated, the complete lists as the completing
// endpoints returned them. Normalizing an envelope needs nothing else but
// the instance's field and status lists (kept as kinds "fields" and
// "statuses").
type envelope struct {
	Issue     json.RawMessage   `json:"issue"`
	Histories []json.RawMessage `json:"histories,omitempty"`
	Worklogs  []json.RawMessage `json:"worklogs,omitempty"`
}

// meta is what the instance says about its fields and statuses.
type meta struct {
	fieldByID    map[string]field
	fieldsByName map[string][]field // lower-case name
	statusByID   map[string]status
	statusByName map[string]status // lower-case name
}

func newMeta(fields []field, statuses []status) *meta {
	m := &meta{
		fieldByID:    map[string]field{},
		fieldsByName: map[string][]field{},
		statusByID:   map[string]status{},
		statusByName: map[string]status{},
	}
	for _, f := range fields {
		m.fieldByID[f.ID] = f
		n := strings.ToLower(f.Name)
		m.fieldsByName[n] = append(m.fieldsByName[n], f)
	}
	for _, s := range statuses {
		m.statusByID[s.ID] = s
		m.statusByName[strings.ToLower(s.Name)] = s
	}
	return m
}

// systemFields are field ids that exist on every Jira, listed or not.
var systemFields = map[string]bool{
	"priority": true, "duedate": true, "labels": true, "components": true,
	"project": true, "issuetype": true, "status": true, "resolution": true,
	"assignee": true, "reporter": true, "summary": true,
}

// resolve returns the id of the field ref names (an id, or a name compared
// without regard to case).
func (m *meta) resolve(ref string) (string, error) {
	if _, ok := m.fieldByID[ref]; ok || systemFields[ref] {
		return ref, nil
	}
	fs := m.fieldsByName[strings.ToLower(ref)]
	switch len(fs) {
	case 0:
		return "", fmt.Errorf("no field with id or name %q", ref)
	case 1:
		return fs[0].ID, nil
	}
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	return "", fmt.Errorf("field name %q is ambiguous (ids %s): name the field by id", ref, strings.Join(ids, ", "))
}

// category returns the status category key of a status (by id, else by
// name), or "".
func (m *meta) category(id, name string) string {
	if s, ok := m.statusByID[id]; ok && id != "" {
		return s.StatusCategory.Key
	}
	if s, ok := m.statusByName[strings.ToLower(name)]; ok {
		return s.StatusCategory.Key
	}
	return ""
}

// baseFields are requested from every search.
var baseFields = []string{
	"summary", "issuetype", "project", "status", "priority", "labels", "components",
	"created", "updated", "resolution", "resolutiondate", "assignee", "reporter",
	"duedate", "worklog",
}

// normalizer maps the issues of one instance.
type normalizer struct {
	source  string
	m       *Mapping
	meta    *meta
	notes   *notes
	refs    map[string]string // config key → resolved field id
	missing []string          // config fields the instance lacks, with the reason
}

// Config keys of the field references, for messages and lookups.
const (
	refSeverity     = "severity.field"
	refTeam         = "team.field"
	refDueDate      = "fields.due_date"
	refAsset        = "fields.asset"
	refIncidentType = "fields.incident_type"
	refCVE          = "fields.cve"
)

func newNormalizer(source string, m *Mapping, md *meta, n *notes) *normalizer {
	z := &normalizer{source: source, m: m, meta: md, notes: n, refs: map[string]string{}}
	defer func() { n.missing = z.missing }()
	want := map[string]string{
		refSeverity:     or(m.Severity.Field, "priority"),
		refDueDate:      or(m.Fields.DueDate, "duedate"),
		refTeam:         m.Team.Field,
		refAsset:        m.Fields.Asset,
		refIncidentType: m.Fields.IncidentType,
		refCVE:          m.Fields.CVE,
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ref := want[k]
		if ref == "" {
			continue
		}
		id, err := md.resolve(ref)
		if err != nil {
			z.missing = append(z.missing, fmt.Sprintf("mapping.%s: %v", k, err))
			continue
		}
		z.refs[k] = id
	}
	return z
}

// fields lists the fields a search requests.
func (z *normalizer) fields() []string {
	out := slices.Clone(baseFields)
	for _, id := range z.refs {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	sort.Strings(out[len(baseFields):])
	return out
}

// record is one issue, normalized.
type record struct {
	ticket      ingest.Ticket
	transitions []ingest.Transition
	worklogs    []ingest.Worklog
	finding     *ingest.Tracked // vulnerability tickets with an asset only
}

// normalize maps one envelope. Any malformed or missing required value is
// an error naming the issue and the field: an issue is never skipped.
func (z *normalizer) normalize(env envelope) (record, error) {
	var is issue
	if err := json.Unmarshal(env.Issue, &is); err != nil {
		return record{}, fmt.Errorf("decode issue: %w", err)
	}
	if is.Key == "" {
		return record{}, fmt.Errorf("issue %s has no key", is.ID)
	}
	r, err := z.ticket(is, env)
	if err != nil {
		return record{}, fmt.Errorf("issue %s: %w", is.Key, err)
	}
	return r, nil
}

func (z *normalizer) ticket(is issue, env envelope) (record, error) {
	f := is.Fields
	if f == nil {
		return record{}, fmt.Errorf("no fields")
	}
	t := ingest.Ticket{Source: z.source, Key: is.Key, ID: is.ID}
	var err error
	req := func(name string) (json.RawMessage, error) {
		raw, ok := f[name]
		if !ok || isNull(raw) {
			return nil, fmt.Errorf("field %s is missing", name)
		}
		return raw, nil
	}
	// Timestamps.
	for _, x := range []struct {
		name string
		dst  *time.Time
	}{{"created", &t.Created}, {"updated", &t.Updated}} {
		raw, err := req(x.name)
		if err != nil {
			return record{}, err
		}
		s, err := text(raw)
		if err != nil {
			return record{}, fmt.Errorf("field %s: %w", x.name, err)
		}
		if *x.dst, err = parseTime(s); err != nil {
			return record{}, fmt.Errorf("field %s: %w", x.name, err)
		}
	}
	if s, err := text(f["resolutiondate"]); err != nil {
		return record{}, fmt.Errorf("field resolutiondate: %w", err)
	} else if s != "" {
		if t.Resolved, err = parseTime(s); err != nil {
			return record{}, fmt.Errorf("field resolutiondate: %w", err)
		}
	}
	// Names.
	if t.Summary, err = text(f["summary"]); err != nil {
		return record{}, fmt.Errorf("field summary: %w", err)
	}
	raw, err := req("issuetype")
	if err != nil {
		return record{}, err
	}
	if t.IssueType, err = named(raw); err != nil {
		return record{}, fmt.Errorf("field issuetype: %w", err)
	}
	if raw, ok := f["project"]; ok && !isNull(raw) {
		var p struct {
			Key string `json:"key"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return record{}, fmt.Errorf("field project: %w", err)
		}
		t.Project = p.Key
	}
	if t.Project == "" {
		// An issue key is its project's key, a dash and a number.
		if i := strings.LastIndexByte(is.Key, '-'); i > 0 {
			t.Project = is.Key[:i]
		}
	}
	if t.Resolution, err = named(f["resolution"]); err != nil {
		return record{}, fmt.Errorf("field resolution: %w", err)
	}
	raw, err = req("status")
	if err != nil {
		return record{}, err
	}
	var st status
	if err := json.Unmarshal(raw, &st); err != nil {
		return record{}, fmt.Errorf("field status: %w", err)
	}
	t.Status = st.Name
	t.StatusCategory = st.StatusCategory.Key
	if t.StatusCategory == "" {
		t.StatusCategory = z.meta.category(st.ID, st.Name)
	}
	if raw, ok := f["labels"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &t.Labels); err != nil {
			return record{}, fmt.Errorf("field labels: %w", err)
		}
	}
	if raw, ok := f["components"]; ok && !isNull(raw) {
		var cs []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(raw, &cs); err != nil {
			return record{}, fmt.Errorf("field components: %w", err)
		}
		for _, c := range cs {
			t.Components = append(t.Components, c.Name)
		}
	}
	for _, x := range []struct {
		name string
		dst  *string
	}{{"assignee", &t.Assignee}, {"reporter", &t.Reporter}} {
		if raw, ok := f[x.name]; ok && !isNull(raw) {
			var u user
			if err := json.Unmarshal(raw, &u); err != nil {
				return record{}, fmt.Errorf("field %s: %w", x.name, err)
			}
			*x.dst = u.id()
		}
	}
	// Configured fields.
	first := func(ref string) (string, error) {
		id, ok := z.refs[ref]
		if !ok {
			return "", nil
		}
		vs, err := values(f[id])
		if err != nil {
			return "", fmt.Errorf("field %s (%s): %w", id, ref, err)
		}
		if len(vs) == 0 {
			return "", nil
		}
		return vs[0], nil
	}
	if t.Asset, err = first(refAsset); err != nil {
		return record{}, err
	}
	if t.IncidentType, err = first(refIncidentType); err != nil {
		return record{}, err
	}
	due, err := first(refDueDate)
	if err != nil {
		return record{}, err
	}
	if due != "" {
		if t.Due, err = parseDate(due); err != nil {
			return record{}, fmt.Errorf("field %s: %w", z.refs[refDueDate], err)
		}
	}
	if t.OriginalSeverity, err = first(refSeverity); err != nil {
		return record{}, err
	}
	t.Severity = z.severity(t.OriginalSeverity)
	t.Kind = z.kind(t)
	if t.Team, err = z.team(t, f); err != nil {
		return record{}, err
	}
	var how string
	t.State, how = z.mapsState(st.ID, t.Status, t.StatusCategory)

	// History and worklogs.
	hs, err := histories(is, env)
	if err != nil {
		return record{}, err
	}
	rec := record{}
	for _, h := range hs {
		for _, it := range h.Items {
			fld := trackedField(it)
			if fld != "status" && fld != "resolution" {
				continue
			}
			tr := ingest.Transition{
				Source: z.source, Key: t.Key, HistoryID: h.ID, ChangedAt: h.time,
				Field: fld, From: it.FromString, To: it.ToString, Author: h.Author.id(),
			}
			if fld == "status" {
				tr.FromCategory = z.meta.category(it.From, it.FromString)
				tr.ToCategory = z.meta.category(it.To, it.ToString)
				fs, fhow := z.mapsState(it.From, tr.From, tr.FromCategory)
				z.notes.status(tr.From, tr.FromCategory, fs, fhow)
				ts, thow := z.mapsState(it.To, tr.To, tr.ToCategory)
				z.notes.status(tr.To, tr.ToCategory, ts, thow)
			}
			rec.transitions = append(rec.transitions, tr)
		}
	}
	if t.Kind == ingest.TicketIncident {
		t.ContainedAt = z.containedAt(t, st, rec.transitions)
	}
	if rec.worklogs, err = z.worklogs(t.Key, is, env); err != nil {
		return record{}, err
	}
	if t.Kind == ingest.TicketVulnerability {
		if rec.finding, err = z.finding(t, f, hs); err != nil {
			return record{}, err
		}
	}
	rec.ticket = t
	z.notes.status(t.Status, t.StatusCategory, t.State, how)
	z.notes.ticket(t)
	z.notes.transitions += len(rec.transitions)
	z.notes.worklogs += len(rec.worklogs)
	if rec.finding != nil {
		z.notes.findings++
	}
	return rec, nil
}

// trackedField is the field id of a history item: fieldId (Cloud), else the
// field name (Data Center) in lower case.
func trackedField(it historyItem) string {
	if it.FieldID != "" {
		return it.FieldID
	}
	return strings.ToLower(it.Field)
}

// datedHistory is a history with its time parsed.
type datedHistory struct {
	history
	time time.Time
}

// histories merges the embedded changelog with the completed one (by
// history id) and returns it in time order.
func histories(is issue, env envelope) ([]datedHistory, error) {
	seen := map[string]bool{}
	var out []datedHistory
	add := func(h history) error {
		if h.ID == "" {
			return fmt.Errorf("changelog: history without id")
		}
		if seen[h.ID] {
			return nil
		}
		seen[h.ID] = true
		t, err := parseTime(h.Created)
		if err != nil {
			return fmt.Errorf("changelog history %s: %w", h.ID, err)
		}
		out = append(out, datedHistory{history: h, time: t})
		return nil
	}
	if is.Changelog != nil {
		for _, h := range is.Changelog.Histories {
			if err := add(h); err != nil {
				return nil, err
			}
		}
	}
	for _, raw := range env.Histories {
		var h history
		if err := json.Unmarshal(raw, &h); err != nil {
			return nil, fmt.Errorf("changelog: %w", err)
		}
		if err := add(h); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].time.Equal(out[j].time) {
			return out[i].time.Before(out[j].time)
		}
		return idLess(out[i].ID, out[j].ID)
	})
	return out, nil
}

// idLess orders numeric ids by value, others as strings.
func idLess(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA == nil && errB == nil {
		return x < y
	}
	return a < b
}

// worklogs merges the embedded worklogs with the completed list (by id).
func (z *normalizer) worklogs(key string, is issue, env envelope) ([]ingest.Worklog, error) {
	var raws []json.RawMessage
	if raw, ok := is.Fields["worklog"]; ok && !isNull(raw) {
		var p worklogPage
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("field worklog: %w", err)
		}
		raws = append(raws, p.Worklogs...)
	}
	raws = append(raws, env.Worklogs...)
	seen := map[string]bool{}
	var out []ingest.Worklog
	for _, raw := range raws {
		var w worklog
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, fmt.Errorf("worklog: %w", err)
		}
		if w.ID == "" {
			return nil, fmt.Errorf("worklog without id")
		}
		if seen[w.ID] {
			continue
		}
		seen[w.ID] = true
		started, err := parseTime(w.Started)
		if err != nil {
			return nil, fmt.Errorf("worklog %s: started: %w", w.ID, err)
		}
		var updated time.Time
		if w.Updated != "" {
			if updated, err = parseTime(w.Updated); err != nil {
				return nil, fmt.Errorf("worklog %s: updated: %w", w.ID, err)
			}
		}
		if w.TimeSpentSeconds < 0 || w.TimeSpentSeconds > math.MaxUint32 {
			return nil, fmt.Errorf("worklog %s: timeSpentSeconds %d out of range", w.ID, w.TimeSpentSeconds)
		}
		out = append(out, ingest.Worklog{
			Source: z.source, ID: w.ID, Key: key, Author: w.Author.id(),
			Started: started, Seconds: uint32(w.TimeSpentSeconds), Updated: updated,
		})
	}
	return out, nil
}

// kind returns the kind of the first rule t matches.
func (z *normalizer) kind(t ingest.Ticket) ingest.TicketKind {
	for _, r := range z.m.Kinds {
		if matchOne(r.Projects, t.Project) && matchOne(r.IssueTypes, t.IssueType) &&
			matchAny(r.Labels, t.Labels) && matchAny(r.Components, t.Components) {
			return ingest.TicketKind(r.Kind)
		}
	}
	return ingest.TicketOther
}

// matchOne: an empty rule list matches anything, else v must be in it.
func matchOne(rule []string, v string) bool {
	return len(rule) == 0 || containsFold(rule, v)
}

// matchAny: an empty rule list matches anything, else one of vs must be in
// it.
func matchAny(rule, vs []string) bool {
	if len(rule) == 0 {
		return true
	}
	for _, v := range vs {
		if containsFold(rule, v) {
			return true
		}
	}
	return false
}

func containsFold(list []string, v string) bool {
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

// lookupFold finds k in m without regard to case.
func lookupFold(m map[string]string, k string) (string, bool) {
	if v, ok := m[k]; ok {
		return v, true
	}
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v, true
		}
	}
	return "", false
}

// defaultSeverities complete ParseSeverity for Jira's default priorities.
var defaultSeverities = map[string]ingest.Severity{
	"highest": ingest.Critical,
	"lowest":  ingest.Low,
	"trivial": ingest.Low,
}

// mapSeverity maps a severity value without recording anything.
func (z *normalizer) mapSeverity(v string) ingest.Severity {
	if v == "" {
		return ingest.Unknown
	}
	if s, ok := lookupFold(z.m.Severity.Map, v); ok {
		return ingest.Severity(s)
	}
	if s, ok := defaultSeverities[strings.ToLower(strings.TrimSpace(v))]; ok {
		return s
	}
	return ingest.ParseSeverity(v)
}

// severity maps a severity value and notes a value that maps to nothing.
func (z *normalizer) severity(v string) ingest.Severity {
	s := z.mapSeverity(v)
	if s == ingest.Unknown {
		if _, explicit := lookupFold(z.m.Severity.Map, v); !explicit || v == "" {
			z.notes.unmappedValue("severity ("+or(z.m.Severity.Field, "priority")+")", or(v, "(none)"))
		}
	}
	return s
}

// teamSources is the default of Team.From.
func (z *normalizer) teamSources() []string {
	if len(z.m.Team.From) > 0 {
		return z.m.Team.From
	}
	if z.m.Team.Field != "" {
		return []string{"field", "component", "project"}
	}
	return []string{"component", "project"}
}

// team returns the first candidate value that maps to a team; values that
// map to nothing are noted.
func (z *normalizer) team(t ingest.Ticket, f map[string]json.RawMessage) (string, error) {
	for _, from := range z.teamSources() {
		var cands []string
		switch from {
		case "component":
			cands = t.Components
		case "label":
			for _, l := range t.Labels {
				if p := z.m.Team.LabelPrefix; p == "" {
					cands = append(cands, l)
				} else if len(l) > len(p) && strings.EqualFold(l[:len(p)], p) {
					cands = append(cands, l[len(p):])
				}
			}
		case "project":
			cands = []string{t.Project}
		case "field":
			id, ok := z.refs[refTeam]
			if !ok {
				continue
			}
			vs, err := values(f[id])
			if err != nil {
				return "", fmt.Errorf("field %s (%s): %w", id, refTeam, err)
			}
			cands = vs
		}
		for _, c := range cands {
			if c == "" {
				continue
			}
			if len(z.m.Team.Map) == 0 {
				return c, nil
			}
			if team, ok := lookupFold(z.m.Team.Map, c); ok {
				return team, nil
			}
			z.notes.unmappedValue("team ("+from+")", c)
		}
	}
	return "", nil
}

// defaultCategories maps Jira's status categories to states.
var defaultCategories = map[string]ingest.TicketState{
	"new":           ingest.StateNew,
	"to do":         ingest.StateNew,
	"indeterminate": ingest.StateInProgress,
	"in progress":   ingest.StateInProgress,
	"done":          ingest.StateDone,
}

// mapsState returns the state of a status and how it was found: "status"
// (by name), "category", or "" (mapped to nothing: new).
func (z *normalizer) mapsState(id, name, category string) (ingest.TicketState, string) {
	if s, ok := lookupFold(z.m.States.Statuses, name); ok && name != "" {
		return ingest.TicketState(s), "status"
	}
	if containsFold(z.m.States.Contained, name) && name != "" {
		return ingest.StateContained, "status"
	}
	if category == "" {
		category = z.meta.category(id, name)
	}
	if category != "" {
		if s, ok := lookupFold(z.m.States.Categories, category); ok {
			return ingest.TicketState(s), "category"
		}
		if s, ok := defaultCategories[strings.ToLower(category)]; ok {
			return s, "category"
		}
	}
	return ingest.StateNew, ""
}

func (z *normalizer) state(id, name, category string) ingest.TicketState {
	s, _ := z.mapsState(id, name, category)
	return s
}

// doneIsContained is States.DoneIsContained with its default.
func (z *normalizer) doneIsContained() bool {
	return z.m.States.DoneIsContained == nil || *z.m.States.DoneIsContained
}

// containedAt is when the ticket first entered a contained status (or a
// done one, with DoneIsContained): its creation when it started in one,
// zero when it never did.
func (z *normalizer) containedAt(t ingest.Ticket, st status, trs []ingest.Transition) time.Time {
	contained := func(s ingest.TicketState) bool {
		return s == ingest.StateContained || s == ingest.StateDone && z.doneIsContained()
	}
	initial, initialCat := t.Status, t.StatusCategory
	for _, tr := range trs {
		if tr.Field == "status" {
			initial, initialCat = tr.From, tr.FromCategory
			break
		}
	}
	if contained(z.state("", initial, initialCat)) {
		return t.Created
	}
	for _, tr := range trs {
		if tr.Field == "status" && contained(z.state("", tr.To, tr.ToCategory)) {
			return tr.ChangedAt
		}
	}
	return time.Time{}
}

var cveRE = regexp.MustCompile(`(?i)\bCVE-\d{4}-\d{4,}\b`)

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
