package pagerduty

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// reference is PagerDuty's reference object ({id, type, summary, ...}).
type reference struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
}

// incident is the part of a PagerDuty incident that is read.
type incident struct {
	ID                 string      `json:"id"`
	IncidentNumber     int64       `json:"incident_number"`
	Title              string      `json:"title"`
	Status             string      `json:"status"`
	Urgency            string      `json:"urgency"`
	CreatedAt          string      `json:"created_at"`
	UpdatedAt          string      `json:"updated_at"`
	ResolvedAt         string      `json:"resolved_at"`
	LastStatusChangeAt string      `json:"last_status_change_at"`
	Service            reference   `json:"service"`
	Teams              []reference `json:"teams"`
	Priority           *reference  `json:"priority"`
	Assignments        []struct {
		At       string    `json:"at"`
		Assignee reference `json:"assignee"`
	} `json:"assignments"`
	Acknowledgements []struct {
		At           string    `json:"at"`
		Acknowledger reference `json:"acknowledger"`
	} `json:"acknowledgements"`
	ResolveReason *struct {
		Type     string    `json:"type"`
		Incident reference `json:"incident"`
	} `json:"resolve_reason"`
}

type logEntry struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt string    `json:"created_at"`
	Agent     reference `json:"agent"`
	Channel   struct {
		Type string `json:"type"`
	} `json:"channel"`
}

type note struct {
	ID        string    `json:"id"`
	Content   string    `json:"content"`
	CreatedAt string    `json:"created_at"`
	User      reference `json:"user"`
}

type customField struct {
	Name        string          `json:"name"`
	DisplayName string          `json:"display_name"`
	Value       json.RawMessage `json:"value"`
}

// record is an incident with the sub-resources the normalization needs. It
// is the raw payload kept per alert and the line format of exports.
type record struct {
	Incident     json.RawMessage   `json:"incident"`
	LogEntries   []json.RawMessage `json:"log_entries"`
	Notes        []json.RawMessage `json:"notes,omitempty"`
	CustomFields []json.RawMessage `json:"custom_fields,omitempty"`
	// LogEntriesFetched is false for records built from a bare incident
	// (an export without log entries): first triage then comes from
	// acknowledgements[] only.
	LogEntriesFetched bool `json:"log_entries_fetched"`
}

// normalizer turns records into alerts.
type normalizer struct {
	source string
	cfg    Config
	disp   ingest.DispositionMap
	note   *regexp.Regexp
}

func parseTime(field, s string, required bool) (time.Time, error) {
	if s == "" {
		if required {
			return time.Time{}, fmt.Errorf("%s missing", field)
		}
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", field, err)
	}
	return t.UTC(), nil
}

// severity maps a priority name (P1..P5) or else the urgency.
func severity(inc *incident, usePriority bool) (ingest.Severity, string) {
	if usePriority && inc.Priority != nil && inc.Priority.Summary != "" {
		switch strings.ToUpper(inc.Priority.Summary) {
		case "P1", "SEV1", "SEV-1":
			return ingest.Critical, inc.Priority.Summary
		case "P2", "SEV2", "SEV-2":
			return ingest.High, inc.Priority.Summary
		case "P3", "SEV3", "SEV-3":
			return ingest.Medium, inc.Priority.Summary
		case "P4", "SEV4", "SEV-4":
			return ingest.Low, inc.Priority.Summary
		case "P5", "SEV5", "SEV-5":
			return ingest.Info, inc.Priority.Summary
		}
		return ingest.ParseSeverity(inc.Priority.Summary), inc.Priority.Summary
	}
	switch inc.Urgency {
	case "high":
		return ingest.High, inc.Urgency
	case "low":
		return ingest.Low, inc.Urgency
	}
	return ingest.Unknown, inc.Urgency
}

// alert normalizes one record (see docs/alerts.md, PagerDuty).
func (n *normalizer) alert(rec *record, raw []byte) (ingest.Alert, error) {
	var inc incident
	if err := json.Unmarshal(rec.Incident, &inc); err != nil {
		return ingest.Alert{}, fmt.Errorf("incident: %w", err)
	}
	if inc.ID == "" {
		return ingest.Alert{}, errors.New("incident without id")
	}
	fail := func(err error) (ingest.Alert, error) {
		return ingest.Alert{}, fmt.Errorf("incident %s: %w", inc.ID, err)
	}
	created, err := parseTime("created_at", inc.CreatedAt, true)
	if err != nil {
		return fail(err)
	}
	updated, err := parseTime("updated_at", inc.UpdatedAt, false)
	if err != nil {
		return fail(err)
	}
	if updated.IsZero() {
		if updated, err = parseTime("last_status_change_at", inc.LastStatusChangeAt, false); err != nil {
			return fail(err)
		}
	}
	resolved, err := parseTime("resolved_at", inc.ResolvedAt, false)
	if err != nil {
		return fail(err)
	}
	usePriorityForDisposition := false
	for _, f := range n.cfg.Disposition.From {
		usePriorityForDisposition = usePriorityForDisposition || f == "priority"
	}
	a := ingest.Alert{
		Source:   n.source,
		ID:       inc.ID,
		RuleID:   inc.Service.ID,
		RuleName: inc.Service.Summary,
		Created:  created,
		Updated:  updated,
		Status:   inc.Status,
		Asset:    inc.Service.Summary,
		Raw:      raw,
	}
	a.Severity, a.OriginalSeverity = severity(&inc, !usePriorityForDisposition)

	// First triage: the first acknowledgement, or a resolution by a person,
	// from the log entries (acknowledgements[] is emptied on resolve).
	// Closing: resolved_at, else the last resolve log entry.
	entries := make([]logEntry, len(rec.LogEntries))
	times := make([]time.Time, len(entries))
	for i, raw := range rec.LogEntries {
		if err := json.Unmarshal(raw, &entries[i]); err != nil {
			return fail(fmt.Errorf("log entry %d: %w", i, err))
		}
		if times[i], err = parseTime("log entry "+entries[i].ID+" created_at", entries[i].CreatedAt, true); err != nil {
			return fail(err)
		}
	}
	idx := make([]int, len(entries))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool { return times[idx[x]].Before(times[idx[y]]) })
	var ackBy string
	var lastResolve *logEntry
	var lastResolveAt time.Time
	for _, i := range idx {
		e := &entries[i]
		switch e.Type {
		case "acknowledge_log_entry":
			if a.FirstTriage.IsZero() {
				a.FirstTriage, ackBy = times[i], e.Agent.Summary
			}
		case "resolve_log_entry":
			if a.FirstTriage.IsZero() && e.Agent.Type == "user_reference" {
				a.FirstTriage, ackBy = times[i], e.Agent.Summary
			}
			lastResolve, lastResolveAt = e, times[i]
		}
	}
	if !rec.LogEntriesFetched {
		for _, ack := range inc.Acknowledgements {
			t, err := parseTime("acknowledgements[].at", ack.At, true)
			if err != nil {
				return fail(err)
			}
			if a.FirstTriage.IsZero() || t.Before(a.FirstTriage) {
				a.FirstTriage, ackBy = t, ack.Acknowledger.Summary
			}
		}
	}
	if inc.Status == "resolved" {
		a.Closed = resolved
		if a.Closed.IsZero() {
			a.Closed = lastResolveAt
		}
		if a.Closed.IsZero() {
			if a.Closed, err = parseTime("last_status_change_at", inc.LastStatusChangeAt, false); err != nil {
				return fail(err)
			}
		}
		if lastResolve != nil && lastResolve.Agent.Type != "user_reference" {
			a.AutoClosed = true
		}
	}
	switch {
	case len(inc.Assignments) > 0:
		a.Assignee = inc.Assignments[0].Assignee.Summary
	case ackBy != "":
		a.Assignee = ackBy
	}

	teams := []string{"service:" + inc.Service.ID, "service:" + inc.Service.Summary}
	for _, t := range inc.Teams {
		teams = append(teams, "team:"+t.ID, "team:"+t.Summary)
	}
	if inc.Service.ID == "" {
		teams = teams[2:]
	}
	n.cfg.Mapping.MapTeam(&a, teams...)

	original := ""
	if inc.ResolveReason != nil && inc.ResolveReason.Type == "merge_resolve_reason" {
		original = "merge_resolve_reason"
		a.Incident = inc.ResolveReason.Incident.ID
	} else if original, err = n.disposition(&inc, rec); err != nil {
		return fail(err)
	}
	ingest.MapDisposition(&a, n.disp, original)
	return a, nil
}

// disposition returns the configured places' first value.
func (n *normalizer) disposition(inc *incident, rec *record) (string, error) {
	for _, from := range n.cfg.Disposition.From {
		switch from {
		case "custom_field":
			for i, raw := range rec.CustomFields {
				var f customField
				if err := json.Unmarshal(raw, &f); err != nil {
					return "", fmt.Errorf("custom field %d: %w", i, err)
				}
				if f.Name != n.cfg.Disposition.CustomField && f.DisplayName != n.cfg.Disposition.CustomField {
					continue
				}
				if v := fieldValue(f.Value); v != "" {
					return v, nil
				}
			}
		case "priority":
			if inc.Priority != nil && inc.Priority.Summary != "" {
				return inc.Priority.Summary, nil
			}
		case "note":
			notes := make([]note, len(rec.Notes))
			noteTimes := make([]time.Time, len(rec.Notes))
			for i, raw := range rec.Notes {
				if err := json.Unmarshal(raw, &notes[i]); err != nil {
					return "", fmt.Errorf("note %d: %w", i, err)
				}
				t, err := parseTime("note "+notes[i].ID+" created_at", notes[i].CreatedAt, true)
				if err != nil {
					return "", err
				}
				noteTimes[i] = t
			}
			order := make([]int, len(notes))
			for i := range order {
				order[i] = i
			}
			sort.SliceStable(order, func(i, j int) bool { return noteTimes[order[i]].After(noteTimes[order[j]]) })
			for _, i := range order {
				nt := notes[i]
				m := n.note.FindStringSubmatch(nt.Content)
				if m == nil {
					continue
				}
				v := m[0]
				if len(m) > 1 {
					v = m[1]
				}
				if v = strings.TrimSpace(v); v != "" {
					return v, nil
				}
			}
		}
	}
	return "", nil
}

// fieldValue renders a custom field value (a string, number, boolean or a
// list of them for multi-value fields) as text.
func fieldValue(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var list []any
	if json.Unmarshal(raw, &list) == nil {
		parts := make([]string, 0, len(list))
		for _, v := range list {
			parts = append(parts, fmt.Sprint(v))
		}
		return strings.Join(parts, ",")
	}
	if string(raw) == "null" || len(raw) == 0 {
		return ""
	}
	return string(raw)
}
