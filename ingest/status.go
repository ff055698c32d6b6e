package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/secmetrics/secmetrics/queries"
)

// ErrNotFound is returned when a finding does not exist.
var ErrNotFound = errors.New("not found")

// SetStatus records a person's triage decision on a finding (risk accepted
// until a date, false positive, duplicate, or none to revert), as of at, by
// actor (an API token name). Reports never override it (see IngestScan).
// Returns ErrNotFound if the finding does not exist.
func (s *Store) SetStatus(ctx context.Context, id uuid.UUID, status Status, until time.Time, reason, actor string, at time.Time) error {
	switch status {
	case StatusNone, FalsePositive, RiskAccepted, Duplicate:
	default:
		return fmt.Errorf("invalid status %q", status)
	}
	if actor == "" || actor == "report" {
		return errors.New("a triage decision needs an actor")
	}
	row, err := s.loadFinding(ctx, id)
	if err != nil {
		return err
	}
	unlock := lockScope(row.asset, row.scanner)
	defer unlock()
	at = at.UTC().Truncate(time.Second)
	row.f.Status, row.f.StatusUntil, row.f.StatusReason, row.statusActor = status, until, reason, actor
	w, err := newWriter(s, ctx)
	if err != nil {
		return err
	}
	defer w.close()
	w.finding(row, s.version())
	w.event(event{id: id, at: at, typ: StatusChanged, sev: row.f.Severity, status: status, until: until,
		asset: row.asset, scanner: row.scanner, kind: row.f.Kind, source: row.source, scan: row.scan, actor: actor, reason: reason})
	return w.flush()
}

// loadFinding reads the latest version of one finding.
func (s *Store) loadFinding(ctx context.Context, id uuid.UUID) (findingRow, error) {
	var rows []struct {
		Source      string    `ch:"source"`
		Asset       string    `ch:"asset"`
		Scanner     string    `ch:"scanner"`
		Kind        string    `ch:"kind"`
		Fingerprint string    `ch:"fingerprint"`
		KeySource   string    `ch:"key_source"`
		RuleID      string    `ch:"rule_id"`
		Title       string    `ch:"title"`
		Severity    string    `ch:"severity"`
		OrigSev     string    `ch:"original_severity"`
		CVE         string    `ch:"cve"`
		Aliases     []string  `ch:"aliases"`
		Package     string    `ch:"package"`
		Installed   string    `ch:"installed_version"`
		FixedVer    string    `ch:"fixed_version"`
		File        string    `ch:"file"`
		Line        uint32    `ch:"line"`
		Branches    []string  `ch:"branches"`
		EPSS        float64   `ch:"epss"`
		EPSSPct     float64   `ch:"epss_percentile"`
		HasEPSS     uint8     `ch:"has_epss"`
		KEV         uint8     `ch:"kev"`
		State       string    `ch:"state"`
		Status      string    `ch:"status"`
		Reason      string    `ch:"status_reason"`
		Until       time.Time `ch:"status_until"`
		Actor       string    `ch:"status_actor"`
		FirstSeen   time.Time `ch:"first_seen"`
		LastSeen    time.Time `ch:"last_seen"`
		FixedAt     time.Time `ch:"fixed_at"`
		LastScan    uuid.UUID `ch:"last_scan_id"`
		URL         string    `ch:"url"`
	}
	if err := s.db.Select(ctx, &rows, queries.SQL("ingest/finding_latest.sql"), id); err != nil {
		return findingRow{}, fmt.Errorf("read finding %s: %w", id, err)
	}
	if len(rows) == 0 {
		return findingRow{}, ErrNotFound
	}
	r := rows[0]
	f := Finding{Key: r.Fingerprint, KeySource: r.KeySource, Kind: Kind(r.Kind), RuleID: r.RuleID, Title: r.Title,
		Severity: Severity(r.Severity), OriginalSeverity: r.OrigSev, CVE: r.CVE, Aliases: r.Aliases, Package: r.Package,
		InstalledVersion: r.Installed, FixedVersion: r.FixedVer, File: r.File, Line: int(r.Line), EPSS: r.EPSS,
		EPSSPercentile: r.EPSSPct, HasEPSS: r.HasEPSS == 1, KEV: r.KEV == 1, Status: Status(statusValue(r.Status)),
		StatusReason: r.Reason, URL: r.URL}
	if r.Until.Unix() > 0 {
		f.StatusUntil = r.Until
	}
	row := findingRow{f: f, id: id, scan: r.LastScan, asset: r.Asset, scanner: r.Scanner, source: r.Source, state: r.State,
		firstSeen: r.FirstSeen, lastSeen: r.LastSeen, statusActor: r.Actor, branches: r.Branches}
	if r.FixedAt.Unix() > 0 {
		row.fixedAt = r.FixedAt
	}
	return row, nil
}
