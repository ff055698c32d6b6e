package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/epss"
	"github.com/secmetrics/secmetrics/ingest/generic"
	"github.com/secmetrics/secmetrics/ingest/inventory"
	"github.com/secmetrics/secmetrics/ingest/kev"
	"github.com/secmetrics/secmetrics/ingest/report"
	"github.com/secmetrics/secmetrics/queries"
)

// Inputs are a scenario's source data (scenario.yaml, inputs), written
// through the ingest code as the service writes them: one ingest.Store
// whose clock is set to each input's time, the inputs applied in time
// order (inputs of one time in the order of the fields below, each list in
// file order). fixtures/README.md describes every field.
type Inputs struct {
	// Branches are the branches whose scans drive the finding lifecycle
	// (the ingest.branches setting); empty means every branch.
	Branches []string `yaml:"branches"`
	// Findings holds scanner records (a Semgrep result, a Grype match, ...)
	// that the reports below repeat by YAML alias. It is not loaded by
	// itself.
	Findings  []any           `yaml:"findings"`
	Inventory []InventoryFile `yaml:"inventory"`
	KEV       []KEVCatalog    `yaml:"kev"`
	EPSS      []EPSSFile      `yaml:"epss"`
	Scans     []ScanReport    `yaml:"scans"`
	Tracked   []TrackedPull   `yaml:"tracked"`
	Statuses  []StatusChange  `yaml:"statuses"`
	Alerts    []AlertFile     `yaml:"alerts"`
	Tickets   []TicketPull    `yaml:"tickets"`
}

// When is a UTC time as fixtures write it: RFC 3339, "2006-01-02 15:04:05"
// or "2006-01-02".
type When struct{ time.Time }

// UnmarshalYAML reads a When from a scalar.
func (w *When) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a time", n.Line)
	}
	t, err := toTime(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	w.Time = t
	return nil
}

// InventoryFile is an inventory CSV (inventory.ReadCSV) imported with
// Store.ImportInventory as of At, like `secmetrics ingest inventory`.
type InventoryFile struct {
	At     When   `yaml:"at"`
	Source string `yaml:"source"` // default "csv"
	CSV    string `yaml:"csv"`
}

// KEVCatalog is a CISA KEV catalog (kev.Read) saved with Store.SaveKEV at
// At.
type KEVCatalog struct {
	At      When `yaml:"at"`
	Catalog any  `yaml:"catalog"`
}

// EPSSFile is one day's EPSS scores file (epss.Read) saved with
// Store.SaveEPSS at At.
type EPSSFile struct {
	At  When   `yaml:"at"`
	CSV string `yaml:"csv"`
}

// ScanReport is one scanner report applied with Store.IngestScan, like
// `secmetrics ingest scan --time At [--asset] [--branch] [--kind] [--format]`.
type ScanReport struct {
	At       When     `yaml:"at"`       // the scan time
	Ingested When     `yaml:"ingested"` // the store's clock when ingested; default At
	Asset    string   `yaml:"asset"`
	Branch   string   `yaml:"branch"`
	Kinds    []string `yaml:"kinds"`
	Format   string   `yaml:"format"` // default: detected
	Report   any      `yaml:"report"` // the report document, written as JSON
}

// TrackedPull is one pull of findings that carry their own history (Jira
// vulnerability tickets, GitHub alerts), applied with Store.ApplyTracked.
type TrackedPull struct {
	At       When             `yaml:"at"`
	Source   string           `yaml:"source"`
	Findings []TrackedFinding `yaml:"findings"`
}

// TrackedFinding is one ingest.Tracked.
type TrackedFinding struct {
	Key      string          `yaml:"key"`
	Asset    string          `yaml:"asset"`
	Scanner  string          `yaml:"scanner"` // default: the pull's source
	Kind     string          `yaml:"kind"`
	Severity string          `yaml:"severity"`
	CVE      string          `yaml:"cve"`
	History  []TrackedChange `yaml:"history"`
}

// TrackedChange is one ingest.Change.
type TrackedChange struct {
	At       When   `yaml:"at"`
	Type     string `yaml:"type"`
	Severity string `yaml:"severity"`
	Status   string `yaml:"status"`
	Until    When   `yaml:"until"`
}

// StatusChange is a person's triage decision, recorded with
// Store.SetStatus as of At (what PUT /api/v1/findings/{id}/status does).
type StatusChange struct {
	At When `yaml:"at"`
	// Finding is the finding's key as its report gave it (a Semgrep or
	// Gitleaks fingerprint); it must name exactly one finding.
	Finding string `yaml:"finding"`
	Status  string `yaml:"status"` // false_positive, risk_accepted, duplicate or none
	Until   When   `yaml:"until"`
	Reason  string `yaml:"reason"`
	By      string `yaml:"by"` // the actor; default "analyst"
}

// AlertFile is a normalized alert document (the body of
// POST /api/v1/alerts, generic.DecodeNormalized) imported with
// Store.ImportAlerts at At under the document's source, whose system is the
// source type.
type AlertFile struct {
	At       When `yaml:"at"`
	Document any  `yaml:"document"`
}

// TicketPull is a set of normalized tickets and worklogs saved with
// Store.SaveTickets at At.
type TicketPull struct {
	At       When      `yaml:"at"`
	Source   string    `yaml:"source"` // default "jira:cloud"
	Tickets  []Ticket  `yaml:"tickets"`
	Worklogs []Worklog `yaml:"worklogs"`
}

// Ticket is one ingest.Ticket; Updated is the pull's time and State follows
// from the times (done when resolved, contained when contained, else new).
type Ticket struct {
	Key          string   `yaml:"key"`
	Kind         string   `yaml:"kind"` // an ingest.TicketKind or "other"
	Team         string   `yaml:"team"`
	Asset        string   `yaml:"asset"`
	IncidentType string   `yaml:"incident_type"`
	Labels       []string `yaml:"labels"`
	Created      When     `yaml:"created"`
	Resolved     When     `yaml:"resolved"`
	ContainedAt  When     `yaml:"contained_at"`
}

// Worklog is one ingest.Worklog.
type Worklog struct {
	ID      string `yaml:"id"`
	Key     string `yaml:"key"`
	Author  string `yaml:"author"`
	Started When   `yaml:"started"`
	Seconds uint32 `yaml:"seconds"`
}

// step is one input to apply at a time.
type step struct {
	at   time.Time
	name string
	run  func(ctx context.Context, s *ingest.Store) error
}

// ingestInputs applies in through the ingest code; the first failing input
// fails the test with its name.
func ingestInputs(t testing.TB, db *queries.DB, in Inputs) {
	t.Helper()
	steps, err := in.steps(db)
	if err != nil {
		t.Fatalf("inputs: %v", err)
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at.Before(steps[j].at) })
	var clock time.Time
	s := ingest.NewStore(db, nil)
	s.Now = func() time.Time { return clock }
	s.Branches = in.Branches
	ctx := context.Background()
	for _, st := range steps {
		clock = st.at
		if err := st.run(ctx, s); err != nil {
			t.Fatalf("inputs: %s: %v", st.name, err)
		}
	}
}

// steps turns every input into a step, checking what can be checked
// without the database.
func (in Inputs) steps(db *queries.DB) ([]step, error) {
	var out []step
	add := func(at When, name string, run func(context.Context, *ingest.Store) error) error {
		if at.IsZero() {
			return fmt.Errorf("%s: at is required", name)
		}
		out = append(out, step{at.Time, name, run})
		return nil
	}
	for i, f := range in.Inventory {
		name := fmt.Sprintf("inventory[%d]", i)
		src := f.Source
		if src == "" {
			src = "csv"
		}
		assets, err := inventory.ReadCSV(name, strings.NewReader(f.CSV))
		if err != nil {
			return nil, err
		}
		err = add(f.At, name, func(ctx context.Context, s *ingest.Store) error {
			_, err := s.ImportInventory(ctx, src, assets, f.At.Time)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	for i, c := range in.KEV {
		name := fmt.Sprintf("kev[%d]", i)
		body, err := json.Marshal(c.Catalog)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var entries []ingest.KEVEntry
		cat, err := kev.Read(context.Background(), bytes.NewReader(body), func(e kev.Entry) error {
			entries = append(entries, ingest.KEVEntry{CVE: e.CVE, DateAdded: e.DateAdded, DueDate: e.DueDate, Ransomware: e.Ransomware,
				VendorProject: e.VendorProject, Product: e.Product, Name: e.Name})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := add(c.At, name, func(ctx context.Context, s *ingest.Store) error { return s.SaveKEV(ctx, cat.Version, entries) }); err != nil {
			return nil, err
		}
	}
	for i, f := range in.EPSS {
		name := fmt.Sprintf("epss[%d]", i)
		var scores []ingest.EPSSScore
		hdr, err := epss.Read(context.Background(), strings.NewReader(f.CSV), func(sc epss.Score) error {
			scores = append(scores, ingest.EPSSScore{CVE: sc.CVE, EPSS: sc.EPSS, Percentile: sc.Percentile})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := add(f.At, name, func(ctx context.Context, s *ingest.Store) error {
			return s.SaveEPSS(ctx, hdr.ScoreDate, hdr.ModelVersion, scores)
		}); err != nil {
			return nil, err
		}
	}
	for i, r := range in.Scans {
		name := fmt.Sprintf("scans[%d] (%s %s)", i, r.Asset, r.At.Format(time.RFC3339))
		body, err := json.Marshal(r.Report)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var kinds []ingest.Kind
		for _, k := range r.Kinds {
			kk, err := ingest.ParseKind(k)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			kinds = append(kinds, kk)
		}
		at := r.Ingested
		if at.IsZero() {
			at = r.At
		}
		err = add(at, name, func(ctx context.Context, s *ingest.Store) error {
			ft, rd, err := report.Open(bytes.NewReader(body), r.Format)
			if err != nil {
				return err
			}
			sum, err := s.IngestScan(ctx, ingest.ScanInput{Name: name, Parser: ft.Parser, Format: ft.Name, Body: rd,
				Asset: r.Asset, Branch: r.Branch, Time: r.At.Time, Kinds: kinds})
			switch {
			case err != nil:
				return err
			case sum.Duplicate:
				return fmt.Errorf("a duplicate of an earlier scan: nothing was written")
			case sum.Late:
				return fmt.Errorf("older than a scan already applied: list scans in time order")
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for i, p := range in.Tracked {
		name := fmt.Sprintf("tracked[%d]", i)
		items := make([]ingest.Tracked, 0, len(p.Findings))
		for j, f := range p.Findings {
			it, err := f.tracked(p.Source)
			if err != nil {
				return nil, fmt.Errorf("%s.findings[%d]: %w", name, j, err)
			}
			items = append(items, it)
		}
		if err := add(p.At, name, func(ctx context.Context, s *ingest.Store) error {
			_, err := s.ApplyTracked(ctx, p.Source, items)
			return err
		}); err != nil {
			return nil, err
		}
	}
	for i, c := range in.Statuses {
		name := fmt.Sprintf("statuses[%d] (%s)", i, c.Finding)
		st, err := parseStatus(c.Status)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		by := c.By
		if by == "" {
			by = "analyst"
		}
		err = add(c.At, name, func(ctx context.Context, s *ingest.Store) error {
			id, err := findingByKey(ctx, db, c.Finding)
			if err != nil {
				return err
			}
			return s.SetStatus(ctx, id, st, c.Until.Time, c.Reason, by, c.At.Time)
		})
		if err != nil {
			return nil, err
		}
	}
	for i, f := range in.Alerts {
		name := fmt.Sprintf("alerts[%d]", i)
		body, err := json.Marshal(f.Document)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		alerts, err := generic.DecodeNormalized(bytes.NewReader(body), 1<<20)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		source := alerts[0].Source
		system, _, _ := strings.Cut(source, ":")
		if err := add(f.At, name, func(ctx context.Context, s *ingest.Store) error {
			_, err := s.ImportAlerts(ctx, source, system, alerts)
			return err
		}); err != nil {
			return nil, err
		}
	}
	for i, p := range in.Tickets {
		name := fmt.Sprintf("tickets[%d]", i)
		tickets, worklogs, err := p.records()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := add(p.At, name, func(ctx context.Context, s *ingest.Store) error {
			return s.SaveTickets(ctx, tickets, nil, worklogs)
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (f TrackedFinding) tracked(source string) (ingest.Tracked, error) {
	kind, err := ingest.ParseKind(f.Kind)
	if err != nil {
		return ingest.Tracked{}, err
	}
	scanner := f.Scanner
	if scanner == "" {
		scanner = source
	}
	it := ingest.Tracked{
		Finding: ingest.Finding{Key: f.Key, KeySource: "fixture", Kind: kind, Severity: ingest.Severity(f.Severity),
			OriginalSeverity: f.Severity, CVE: f.CVE, Asset: f.Asset},
		Scanner: scanner,
	}
	for _, c := range f.History {
		st, err := parseStatus(c.Status)
		if err != nil {
			return it, err
		}
		it.History = append(it.History, ingest.Change{Time: c.At.Time, Type: ingest.EventType(c.Type),
			Severity: ingest.Severity(c.Severity), Status: st, Until: c.Until.Time})
	}
	return it, nil
}

func (p TicketPull) records() ([]ingest.Ticket, []ingest.Worklog, error) {
	source := p.Source
	if source == "" {
		source = "jira:cloud"
	}
	var tickets []ingest.Ticket
	for _, r := range p.Tickets {
		kind := ingest.TicketOther
		if r.Kind != "" && r.Kind != string(ingest.TicketOther) {
			k, err := ingest.ParseTicketKind(r.Kind)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", r.Key, err)
			}
			kind = k
		}
		state := ingest.StateNew
		switch {
		case !r.Resolved.IsZero():
			state = ingest.StateDone
		case !r.ContainedAt.IsZero():
			state = ingest.StateContained
		}
		project, _, _ := strings.Cut(r.Key, "-")
		tickets = append(tickets, ingest.Ticket{Source: source, Key: r.Key, Project: project, Kind: kind, Team: r.Team,
			Asset: r.Asset, IncidentType: r.IncidentType, Labels: r.Labels, Severity: ingest.Unknown, State: state,
			Created: r.Created.Time, Updated: p.At.Time, Resolved: r.Resolved.Time, ContainedAt: r.ContainedAt.Time})
	}
	var worklogs []ingest.Worklog
	for _, w := range p.Worklogs {
		worklogs = append(worklogs, ingest.Worklog{Source: source, ID: w.ID, Key: w.Key, Author: w.Author,
			Started: w.Started.Time, Seconds: w.Seconds})
	}
	return tickets, worklogs, nil
}

func parseStatus(s string) (ingest.Status, error) {
	switch st := ingest.Status(s); st {
	case "", "none":
		return ingest.StatusNone, nil
	case ingest.FalsePositive, ingest.RiskAccepted, ingest.Duplicate:
		return st, nil
	}
	return "", fmt.Errorf("unknown status %q (want false_positive, risk_accepted, duplicate or none)", s)
}

// findingByKey returns the id of the one finding whose key (fingerprint)
// is key.
func findingByKey(ctx context.Context, db *queries.DB, key string) (uuid.UUID, error) {
	var rows []struct {
		ID uuid.UUID `ch:"finding_id"`
	}
	if err := db.Select(ctx, &rows, "SELECT DISTINCT finding_id FROM findings WHERE fingerprint = ?", key); err != nil {
		return uuid.Nil, err
	}
	if len(rows) != 1 {
		return uuid.Nil, fmt.Errorf("%d findings have the key %q, want 1", len(rows), key)
	}
	return rows[0].ID, nil
}
