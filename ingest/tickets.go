package ingest

import (
	"context"
	"fmt"
	"time"
)

// TicketKind is what a work ticket is for, mapped from the tracker's
// projects, issue types, labels or components by configuration.
type TicketKind string

// The ticket kinds (spec/kpis.md, "Work and process"). TicketOther is a
// ticket that no mapping rule claimed; it is kept so that hours logged on it
// still count in the toil ratio's denominator.
const (
	TicketOther              TicketKind = "other"
	TicketVulnerability      TicketKind = "vulnerability"
	TicketIncident           TicketKind = "incident"
	TicketDesignReview       TicketKind = "design_review"
	TicketThreatModel        TicketKind = "threat_model"
	TicketCustomerEscalation TicketKind = "customer_escalation"
	TicketSecurityDebt       TicketKind = "security_debt"
	TicketException          TicketKind = "exception"
	TicketToil               TicketKind = "toil"
)

// TicketKinds lists every kind a mapping rule may name (TicketOther is not
// one of them: it is what no rule gives).
var TicketKinds = []TicketKind{
	TicketVulnerability, TicketIncident, TicketDesignReview, TicketThreatModel,
	TicketCustomerEscalation, TicketSecurityDebt, TicketException, TicketToil,
}

// ParseTicketKind returns the TicketKind named s, or an error naming the
// valid kinds.
func ParseTicketKind(s string) (TicketKind, error) {
	for _, k := range TicketKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown ticket kind %q (want one of vulnerability, incident, design_review, threat_model, customer_escalation, security_debt, exception, toil)", s)
}

// TicketState is a ticket's lifecycle state, mapped from the tracker's
// status (or its status category) by configuration.
type TicketState string

// The ticket states, in lifecycle order.
const (
	StateNew        TicketState = "new"
	StateTriaged    TicketState = "triaged"
	StateInProgress TicketState = "in_progress"
	StateContained  TicketState = "contained"
	StateDone       TicketState = "done"
)

// TicketStates lists every state, in lifecycle order.
var TicketStates = []TicketState{StateNew, StateTriaged, StateInProgress, StateContained, StateDone}

// ParseTicketState returns the TicketState named s, or an error naming the
// valid states.
func ParseTicketState(s string) (TicketState, error) {
	for _, st := range TicketStates {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown ticket state %q (want one of new, triaged, in_progress, contained, done)", s)
}

// Ticket is one work ticket (a Jira issue), normalized: the current state of
// the ticket as of Updated. The source's own values are kept beside the
// mapped ones (Status beside State, OriginalSeverity beside Severity).
type Ticket struct {
	// Source names the tracker instance, e.g. "jira:cloud"; (Source, Key)
	// identifies the ticket.
	Source    string
	Key       string // e.g. "SEC-123"
	ID        string // the tracker's numeric id, when it has one
	Project   string // project key
	IssueType string
	Kind      TicketKind
	Summary   string
	Team      string // an inventory team, empty when the mapping found none

	Severity         Severity
	OriginalSeverity string // the priority or field value the severity was mapped from

	Status         string // the tracker's status name
	StatusCategory string // Jira's status category key: new, indeterminate, done
	State          TicketState
	Resolution     string // empty while unresolved

	Labels     []string
	Components []string

	Asset        string
	IncidentType string
	Assignee     string
	Reporter     string

	// Created and Updated are required. Resolved, Due and ContainedAt are
	// zero when the ticket has none; they are stored as NULL.
	Created     time.Time
	Updated     time.Time
	Resolved    time.Time
	Due         time.Time
	ContainedAt time.Time
}

// Transition is one change of a tracked field (status or resolution) from a
// ticket's history.
type Transition struct {
	Source    string
	Key       string // the ticket's key
	HistoryID string // the tracker's change-history id
	ChangedAt time.Time
	Field     string // "status" or "resolution"
	From      string // the value before, empty when there was none
	To        string // the value after, empty when it was cleared
	// FromCategory and ToCategory are the status categories of From and To
	// for a status change; empty otherwise.
	FromCategory string
	ToCategory   string
	Author       string
}

// Worklog is time logged on a ticket.
type Worklog struct {
	Source  string
	ID      string // the tracker's worklog id, unique within Source
	Key     string // the ticket's key
	Author  string
	Started time.Time
	Seconds uint32
	Updated time.Time
}

// SaveTickets writes tickets, their transitions and worklogs. Writing the
// same records again is idempotent: tables keep the latest version of a
// ticket (by Source and Key), of a transition (by ticket, time, history id
// and field) and of a worklog (by Source and ID). The three tables are
// written one after the other, transitions and worklogs first, so that a
// caller that advances a watermark only after SaveTickets returns nil never
// skips data; after an error, part of the records may be written and the
// caller writes them all again.
//
// It returns an error, writing nothing, when a record lacks its source, key,
// id or required times, or names an unknown kind, state or severity.
func (s *Store) SaveTickets(ctx context.Context, tickets []Ticket, transitions []Transition, worklogs []Worklog) error {
	trows := make([][]any, 0, len(transitions))
	for i, t := range transitions {
		if t.Source == "" || t.Key == "" || t.HistoryID == "" || t.Field == "" || t.ChangedAt.IsZero() {
			return fmt.Errorf("save transitions: record %d (%s %s): source, key, history id, field and time are required", i, t.Key, t.HistoryID)
		}
		trows = append(trows, []any{t.Source, t.Key, t.HistoryID, t.ChangedAt.UTC(), t.Field, t.From, t.To, t.FromCategory, t.ToCategory, t.Author, s.Now().UTC()})
	}
	wrows := make([][]any, 0, len(worklogs))
	ver := s.version()
	for i, w := range worklogs {
		if w.Source == "" || w.ID == "" || w.Key == "" || w.Started.IsZero() {
			return fmt.Errorf("save worklogs: record %d (%s %s): source, id, key and start are required", i, w.Key, w.ID)
		}
		updated := w.Updated
		if updated.IsZero() {
			updated = w.Started
		}
		wrows = append(wrows, []any{w.Source, w.ID, w.Key, w.Author, w.Started.UTC(), w.Seconds, updated.UTC(), ver})
	}
	rows := make([][]any, 0, len(tickets))
	for i, t := range tickets {
		if err := checkTicket(t); err != nil {
			return fmt.Errorf("save tickets: record %d (%s): %w", i, t.Key, err)
		}
		rows = append(rows, []any{
			t.Source, t.Key, t.ID, t.Project, t.IssueType, string(t.Kind), t.Summary, t.Team,
			string(t.Severity), t.OriginalSeverity, t.Status, t.StatusCategory, string(t.State), t.Resolution,
			nonNil(t.Labels), nonNil(t.Components), t.Asset, t.IncidentType, t.Assignee, t.Reporter,
			t.Created.UTC(), t.Updated.UTC(), nullTime(t.Resolved), nullTime(t.Due), nullTime(t.ContainedAt), ver,
		})
	}
	if err := s.insert(ctx, "ticket_transitions",
		"source, ticket_key, history_id, changed_at, field, from_value, to_value, from_category, to_category, author, recorded_at", trows); err != nil {
		return err
	}
	if err := s.insert(ctx, "worklogs",
		"source, worklog_id, ticket_key, author, started, seconds, updated, version", wrows); err != nil {
		return err
	}
	return s.insert(ctx, "tickets",
		"source, ticket_key, ticket_id, project, issue_type, kind, summary, team, "+
			"severity, original_severity, status, status_category, state, resolution, "+
			"labels, components, asset, incident_type, assignee, reporter, "+
			"created, updated, resolved, due, contained_at, version", rows)
}

func checkTicket(t Ticket) error {
	if t.Source == "" || t.Key == "" {
		return fmt.Errorf("source and key are required")
	}
	if t.Created.IsZero() || t.Updated.IsZero() {
		return fmt.Errorf("created and updated are required")
	}
	if t.Kind != TicketOther {
		if _, err := ParseTicketKind(string(t.Kind)); err != nil {
			return err
		}
	}
	if _, err := ParseTicketState(string(t.State)); err != nil {
		return err
	}
	for _, sev := range Severities {
		if t.Severity == sev {
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q", t.Severity)
}

// nullTime is nil for the zero time (a NULL), else the time in UTC.
// nullTime maps a zero time to NULL and any other to UTC, for Nullable
// DateTime columns.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
