package ingest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
)

// Tracked is a finding from a source that carries its own lifecycle
// (GitHub alerts, Jira vulnerability tickets): its History says when it was
// detected, fixed, reopened or re-triaged, instead of complete scans.
type Tracked struct {
	Finding
	// Scanner names the source system, e.g. "dependabot", "jira".
	Scanner string
	// History lists the changes in time order; the first must be Detected.
	History []Change
}

// Change is one event in a tracked finding's history.
type Change struct {
	Time time.Time
	Type EventType
	// Severity is the new severity for SeverityChanged; on Detected, an
	// empty Severity means the Finding's.
	Severity Severity
	// Status and Until are the new status for StatusChanged.
	Status Status
	Until  time.Time
	Reason string
}

// ApplyTracked records tracked findings with their full history. Applying
// the same history again changes nothing (identical events collapse), so a
// source can be re-pulled or re-normalized freely. A later pull that
// extends a history appends the new events. source is recorded on every
// event ("github", "jira", ...).
func (s *Store) ApplyTracked(ctx context.Context, source string, items []Tracked) (Summary, error) {
	var sum Summary
	if len(items) == 0 {
		return sum, nil
	}
	type scope struct{ asset, scanner string }
	byScope := map[scope][]int{}
	for i := range items {
		it := &items[i]
		if it.Asset == "" {
			return sum, fmt.Errorf("tracked finding %q: no asset", it.Key)
		}
		if it.Scanner == "" {
			return sum, fmt.Errorf("tracked finding %q: no scanner", it.Key)
		}
		if err := checkFinding(&it.Finding); err != nil {
			return sum, fmt.Errorf("tracked finding %q: %w", it.Key, err)
		}
		if err := checkHistory(it.History); err != nil {
			return sum, fmt.Errorf("tracked finding %q: %w", it.Key, err)
		}
		k := scope{it.Asset, it.Scanner}
		byScope[k] = append(byScope[k], i)
	}
	scopes := make([]scope, 0, len(byScope))
	for k := range byScope {
		scopes = append(scopes, k)
	}
	sort.Slice(scopes, func(i, j int) bool {
		return scopes[i].asset+"\x00"+scopes[i].scanner < scopes[j].asset+"\x00"+scopes[j].scanner
	})
	assets := make([]string, 0, len(scopes))
	for _, k := range scopes {
		assets = append(assets, k.asset)
	}
	if err := s.ensureAssets(ctx, assets); err != nil {
		return sum, err
	}
	ver := s.version()
	w, err := newWriter(s, ctx)
	if err != nil {
		return sum, err
	}
	defer w.close()
	for _, k := range scopes {
		unlock := lockScope(k.asset, k.scanner)
		prev, err := s.loadScope(ctx, k.asset, k.scanner)
		if err != nil {
			unlock()
			return sum, err
		}
		for _, i := range byScope[k] {
			it := items[i]
			id := FindingID(it.Asset, it.Scanner, it.Kind, it.Key)
			row, evs := trackedRows(source, id, it)
			p, known := prev[id]
			if known {
				for _, e := range evs {
					w.event(e)
				}
			} else {
				w.newFinding(evs...)
			}
			w.finding(row, ver)
			sum.Findings++
			switch {
			case !known:
				sum.New++
				if row.state == "fixed" {
					sum.Fixed++
				}
			case p.State == "open" && row.state == "fixed":
				sum.Fixed++
			case p.State == "fixed" && row.state == "open":
				sum.Reopened++
			default:
				sum.Unchanged++
			}
		}
		err = w.flush()
		unlock()
		if err != nil {
			return sum, err
		}
	}
	return sum, nil
}

func checkHistory(h []Change) error {
	if len(h) == 0 || h[0].Type != Detected {
		return errors.New("history must start with a detection")
	}
	for i, c := range h {
		if c.Time.IsZero() {
			return fmt.Errorf("history[%d]: no time", i)
		}
		if i > 0 && c.Time.Before(h[i-1].Time) {
			return fmt.Errorf("history[%d]: out of time order", i)
		}
		switch c.Type {
		case Detected, Fixed, Reopened, SeverityChanged, StatusChanged:
		default:
			return fmt.Errorf("history[%d]: unknown change %q", i, c.Type)
		}
	}
	return nil
}

// trackedRows folds a history into its events (each carrying the severity
// and status in force after it) and the finding's current row.
func trackedRows(source string, id uuid.UUID, it Tracked) (findingRow, []event) {
	sev := it.Severity
	status, until, reason := StatusNone, time.Time{}, ""
	state := "open"
	var fixedAt, lastSeen time.Time
	evs := make([]event, 0, len(it.History))
	for _, c := range it.History {
		at := c.Time.UTC().Truncate(time.Second)
		switch c.Type {
		case Detected:
			if c.Severity != "" {
				sev = c.Severity
			}
			state = "open"
		case Reopened:
			state = "open"
		case Fixed:
			state, fixedAt = "fixed", at
		case SeverityChanged:
			sev = c.Severity
		case StatusChanged:
			status, until, reason = c.Status, c.Until, c.Reason
		}
		lastSeen = at
		evs = append(evs, event{id: id, at: at, typ: c.Type, sev: sev, status: status, until: until,
			asset: it.Asset, scanner: it.Scanner, kind: it.Kind, source: source, actor: source, reason: c.Reason})
	}
	f := it.Finding
	f.Severity, f.Status, f.StatusUntil, f.StatusReason = sev, status, until, reason
	row := findingRow{f: f, id: id, asset: it.Asset, scanner: it.Scanner, source: source, state: state,
		firstSeen: it.History[0].Time.UTC().Truncate(time.Second), lastSeen: lastSeen, fixedAt: fixedAt, statusActor: source}
	return row, evs
}

// trackedFromFinding turns a finding of a lifecycle-carrying report (a
// GitHub alert export) into a Tracked: detected at DetectedAt (or the scan
// time), fixed at FixedAt, and its suppression applied at StatusAt (or the
// detection).
func trackedFromFinding(f Finding, m scanMeta, d Dispositions) Tracked {
	if f.Asset == "" {
		f.Asset = m.asset
	}
	det := f.DetectedAt
	if det.IsZero() {
		det = m.time
	}
	h := []Change{{Time: det, Type: Detected}}
	if f.Suppression != "" {
		at := f.StatusAt
		if at.IsZero() || at.Before(det) {
			at = det
		}
		h = append(h, Change{Time: at, Type: StatusChanged, Status: d.Map(f.Suppression), Until: f.StatusUntil, Reason: f.StatusReason})
	}
	if !f.FixedAt.IsZero() {
		at := f.FixedAt
		if at.Before(det) {
			at = det
		}
		h = append(h, Change{Time: at, Type: Fixed})
	}
	sort.SliceStable(h, func(i, j int) bool { return h[i].Time.Before(h[j].Time) })
	return Tracked{Finding: f, Scanner: m.scanner, History: h}
}

// IngestTrackedFindings applies findings that a source pulled with their own
// lifecycle (a GitHub REST pull): each becomes a Tracked history as for a
// lifecycle-carrying report file. source names the system on every event.
func (s *Store) IngestTrackedFindings(ctx context.Context, source string, scan Scan, fs []Finding) (Summary, error) {
	m := scanMeta{asset: scan.Asset, scanner: scan.Scanner, time: s.Now().Truncate(time.Second), tracked: true, format: scan.Format}
	if !scan.Time.IsZero() {
		m.time = scan.Time.UTC().Truncate(time.Second)
	}
	items := make([]Tracked, 0, len(fs))
	for _, f := range fs {
		if err := checkFinding(&f); err != nil {
			return Summary{}, fmt.Errorf("finding %q: %w", f.Key, err)
		}
		items = append(items, trackedFromFinding(f, m, s.Dispositions))
	}
	sum, err := s.ApplyTracked(ctx, source, items)
	sum.Format, sum.Scanner, sum.Asset, sum.Time = scan.Format, scan.Scanner, scan.Asset, m.time
	return sum, err
}
