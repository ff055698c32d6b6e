package ingest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/secmetrics/secmetrics/queries"
)

// EventType is a finding event in the finding event log.
type EventType string

// The finding event types.
const (
	Detected        EventType = "detected"
	Fixed           EventType = "fixed"
	Reopened        EventType = "reopened"
	SeverityChanged EventType = "severity_changed"
	StatusChanged   EventType = "status_changed"
)

// FindingID is the stable identity of a finding: one weakness (key) of one
// kind on one asset as reported by one scanner. It is derived, never
// stored-then-looked-up, so every process computes the same id.
func FindingID(asset, scanner string, kind Kind, key string) uuid.UUID {
	h := sha256.New()
	for _, part := range []string{"finding/v1", asset, scanner, string(kind), key} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	var id uuid.UUID
	copy(id[:], h.Sum(nil))
	id[6] = (id[6] & 0x0f) | 0x80 // version 8: application-defined
	id[8] = (id[8] & 0x3f) | 0x80 // RFC 4122 variant
	return id
}

// Summary says what one ingest did.
type Summary struct {
	ScanID  string    `json:"scan_id,omitempty"`
	Name    string    `json:"name,omitempty"`
	Format  string    `json:"format,omitempty"`
	Asset   string    `json:"asset,omitempty"`
	Scanner string    `json:"scanner,omitempty"`
	Branch  string    `json:"branch,omitempty"`
	Kinds   []Kind    `json:"kinds,omitempty"`
	Time    time.Time `json:"time"`

	Findings  int `json:"findings"`
	New       int `json:"new"`
	Fixed     int `json:"fixed"`
	Reopened  int `json:"reopened"`
	Unchanged int `json:"unchanged"`

	// Duplicate is true when the same report was ingested before for the
	// same asset, scanner and branch: nothing was written.
	Duplicate bool `json:"duplicate"`
	// Late is true when a newer scan of the same scope was already recorded:
	// the report may move first-seen times earlier but fixes and reopens
	// nothing (docs/ingest.md).
	Late bool `json:"late"`
	// Counted is false when the scan's branch does not drive the lifecycle:
	// the scan is recorded, its findings are not.
	Counted bool `json:"counted"`
}

func (s *Summary) add(o Summary) {
	s.Findings += o.Findings
	s.New += o.New
	s.Fixed += o.Fixed
	s.Reopened += o.Reopened
	s.Unchanged += o.Unchanged
}

// ScanInput is one report to ingest. Asset, Scanner, Branch, Time and
// Kinds override what the report says.
type ScanInput struct {
	Name    string // file name or upload name, used in messages
	Parser  Parser
	Format  string
	Body    io.Reader
	Asset   string
	Scanner string
	Branch  string
	Time    time.Time
	Kinds   []Kind
}

// MaxFindingsInMemory is how many findings a report may hold before the
// store spools them to a temporary file while parsing.
const MaxFindingsInMemory = 20_000

// IngestScan parses a complete report and applies it: findings it reports
// are detected (new), reopened (fixed before) or unchanged; open findings of
// the same asset, scanner and kind it no longer reports are fixed at the
// scan's time. The report is parsed to its end before anything is written,
// so a malformed report writes nothing. See docs/ingest.md for the rules on
// branches, late reports and duplicates.
func (s *Store) IngestScan(ctx context.Context, in ScanInput) (Summary, error) {
	h := sha256.New()
	sp := &spool{}
	defer sp.close()
	scan, err := in.Parser.Parse(ctx, io.TeeReader(in.Body, h), func(f Finding) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := checkFinding(&f); err != nil {
			return fmt.Errorf("finding %d: %w", sp.n+1, err)
		}
		return sp.add(f)
	})
	if err != nil {
		return Summary{}, fmt.Errorf("%s: %w", in.Name, err)
	}
	if err := sp.finish(); err != nil {
		return Summary{}, fmt.Errorf("%s: spool: %w", in.Name, err)
	}
	meta, err := s.resolveScan(in, scan, h)
	if err != nil {
		return Summary{}, fmt.Errorf("%s: %w", in.Name, err)
	}
	if meta.tracked {
		items := make([]Tracked, 0, sp.n)
		if err := sp.each(func(f Finding) error {
			items = append(items, trackedFromFinding(f, meta, s.Dispositions))
			return nil
		}); err != nil {
			return Summary{}, err
		}
		sum, err := s.ApplyTracked(ctx, "scan", items)
		if err != nil {
			return Summary{}, fmt.Errorf("%s: %w", in.Name, err)
		}
		sum.Name, sum.Format, sum.Scanner, sum.Time = in.Name, meta.format, meta.scanner, meta.time
		return sum, nil
	}
	return s.applyScan(ctx, meta, sp)
}

type scanMeta struct {
	name, format, asset, scanner, version, branch, commit, sha string
	kinds                                                      []Kind
	time                                                       time.Time
	tracked                                                    bool
}

func (s *Store) resolveScan(in ScanInput, scan Scan, h hash.Hash) (scanMeta, error) {
	m := scanMeta{
		name: in.Name, format: firstNonEmpty(in.Format, scan.Format),
		asset:   firstNonEmpty(in.Asset, scan.Asset),
		scanner: strings.ToLower(firstNonEmpty(in.Scanner, scan.Scanner)),
		version: scan.ScannerVersion, branch: firstNonEmpty(in.Branch, scan.Branch), commit: scan.Commit,
		sha: hex.EncodeToString(h.Sum(nil)), kinds: scan.Kinds, tracked: scan.Tracked,
	}
	if len(in.Kinds) > 0 {
		m.kinds = in.Kinds
	}
	switch {
	case !in.Time.IsZero():
		m.time = in.Time
	case !scan.Time.IsZero():
		m.time = scan.Time
	default:
		m.time = s.Now()
	}
	m.time = m.time.UTC().Truncate(time.Second)
	if m.scanner == "" {
		return m, errors.New("the report does not name its scanner: pass --scanner")
	}
	if m.time.After(s.Now().Add(time.Hour)) {
		return m, fmt.Errorf("scan time %s is in the future", m.time.Format(time.RFC3339))
	}
	return m, nil
}

// checkFinding validates what a parser produced; a violation is a parser
// defect or a report the parser should have refused, so it fails the file.
func checkFinding(f *Finding) error {
	if f.Key == "" {
		return errors.New("no identity key")
	}
	if !slices.Contains(Kinds, f.Kind) {
		return fmt.Errorf("invalid kind %q", f.Kind)
	}
	if f.Severity == "" {
		f.Severity = Unknown
	}
	if !slices.Contains(Severities, f.Severity) {
		return fmt.Errorf("invalid severity %q", f.Severity)
	}
	return nil
}

// counts reports whether scans of branch drive the lifecycle.
func (s *Store) counts(branch string) bool {
	return branch == "" || len(s.Branches) == 0 || slices.Contains(s.Branches, branch)
}

// scopeLocks serializes ingests of one (asset, scanner) within a process.
var scopeLocks sync.Map

func lockScope(asset, scanner string) func() {
	v, _ := scopeLocks.LoadOrStore(asset+"\x00"+scanner, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// prior is the compact current state of a finding, loaded per scope.
type prior struct {
	Kind        string    `ch:"kind"`
	State       string    `ch:"state"`
	Severity    string    `ch:"severity"`
	Status      string    `ch:"status"`
	StatusActor string    `ch:"status_actor"`
	StatusUntil time.Time `ch:"status_until"`
	FirstSeen   time.Time `ch:"first_seen"`
	LastSeen    time.Time `ch:"last_seen"`
	FixedAt     time.Time `ch:"fixed_at"`
	Branches    []string  `ch:"branches"`
}

func (s *Store) loadScope(ctx context.Context, asset, scanner string) (map[uuid.UUID]prior, error) {
	ctx, cancel := s.db.Context(ctx)
	defer cancel()
	rows, err := s.db.Conn().Query(ctx, queries.SQL("ingest/scope_state.sql"), asset, scanner)
	if err != nil {
		return nil, fmt.Errorf("load findings of %s/%s: %w", asset, scanner, queries.Clean(err))
	}
	defer rows.Close()
	out := map[uuid.UUID]prior{}
	for rows.Next() {
		var id uuid.UUID
		var p prior
		if err := rows.Scan(&id, &p.Kind, &p.State, &p.Severity, &p.Status, &p.StatusActor, &p.StatusUntil, &p.FirstSeen, &p.LastSeen, &p.FixedAt, &p.Branches); err != nil {
			return nil, queries.Clean(err)
		}
		out[id] = p
	}
	return out, queries.Clean(rows.Err())
}

type scopeTimes struct {
	latest, nextAfter time.Time
}

func (s *Store) scopeTimes(ctx context.Context, asset, scanner string, at time.Time) (map[Kind]scopeTimes, error) {
	var rows []struct {
		Kind      string    `ch:"kind"`
		Latest    time.Time `ch:"latest"`
		NextAfter time.Time `ch:"next_after"`
	}
	if err := s.db.Select(ctx, &rows, queries.SQL("ingest/scope_scans.sql"), at, asset, scanner); err != nil {
		return nil, fmt.Errorf("load scans of %s/%s: %w", asset, scanner, err)
	}
	out := map[Kind]scopeTimes{}
	for _, r := range rows {
		out[Kind(r.Kind)] = scopeTimes{latest: r.Latest, nextAfter: r.NextAfter}
	}
	return out, nil
}

func (s *Store) duplicate(ctx context.Context, m scanMeta, asset string) (bool, error) {
	var n uint64
	if err := s.db.QueryRow(ctx, queries.SQL("ingest/duplicate_scan.sql"), []any{m.sha, asset, m.scanner, m.branch, m.time}, &n); err != nil {
		return false, fmt.Errorf("check duplicate report: %w", err)
	}
	return n > 0, nil
}

// applyScan groups the spooled findings by asset (a report may cover
// several, e.g. Snyk --all-projects) and applies each asset's scope.
func (s *Store) applyScan(ctx context.Context, m scanMeta, sp *spool) (Summary, error) {
	byAsset := map[string][]int{} // asset -> spool indexes, for multi-asset reports
	kinds := slices.Clone(m.kinds)
	if err := sp.eachIndexed(func(i int, f Finding) error {
		a := firstNonEmpty(f.Asset, m.asset)
		if a == "" {
			return fmt.Errorf("%s: the report does not name the scanned asset: pass --asset", m.name)
		}
		byAsset[a] = append(byAsset[a], i)
		if !slices.Contains(kinds, f.Kind) {
			kinds = append(kinds, f.Kind)
		}
		return nil
	}); err != nil {
		return Summary{}, err
	}
	if m.asset == "" && len(byAsset) == 0 {
		return Summary{}, fmt.Errorf("%s: the report does not name the scanned asset: pass --asset", m.name)
	}
	if len(kinds) == 0 {
		return Summary{}, fmt.Errorf("%s: the report does not say what it scanned for: pass --kind", m.name)
	}
	m.kinds = kinds
	if m.asset != "" {
		if _, ok := byAsset[m.asset]; !ok {
			byAsset[m.asset] = nil // a clean scan of the asset
		}
	}
	assets := make([]string, 0, len(byAsset))
	for a := range byAsset {
		assets = append(assets, a)
	}
	sort.Strings(assets)
	if err := s.ensureAssets(ctx, assets); err != nil {
		return Summary{}, err
	}
	total := Summary{Name: m.name, Format: m.format, Asset: m.asset, Scanner: m.scanner, Branch: m.branch, Kinds: m.kinds, Time: m.time, Counted: s.counts(m.branch)}
	if len(assets) == 1 {
		total.Asset = assets[0]
	}
	allDup, anyLate := true, false
	for _, a := range assets {
		sum, err := s.applyAsset(ctx, m, a, sp, byAsset[a])
		if err != nil {
			return Summary{}, fmt.Errorf("%s: %w", m.name, err)
		}
		total.add(sum)
		total.ScanID = sum.ScanID
		allDup = allDup && sum.Duplicate
		anyLate = anyLate || sum.Late
	}
	total.Duplicate, total.Late = allDup, anyLate
	return total, nil
}

func (s *Store) applyAsset(ctx context.Context, m scanMeta, asset string, sp *spool, idx []int) (Summary, error) {
	unlock := lockScope(asset, m.scanner)
	defer unlock()
	sum := Summary{Asset: asset, Kinds: m.kinds, Counted: s.counts(m.branch)}
	dup, err := s.duplicate(ctx, m, asset)
	if err != nil {
		return sum, err
	}
	if dup {
		sum.Duplicate = true
		sum.Findings = len(idx)
		sum.Unchanged = len(idx)
		return sum, nil
	}
	scanID := uuid.New()
	sum.ScanID = scanID.String()
	if !sum.Counted {
		sum.Findings = len(idx)
		return sum, s.saveScanRun(ctx, m, asset, scanID, false, sum)
	}
	prev, err := s.loadScope(ctx, asset, m.scanner)
	if err != nil {
		return sum, err
	}
	times, err := s.scopeTimes(ctx, asset, m.scanner, m.time)
	if err != nil {
		return sum, err
	}
	late := map[Kind]bool{}
	for _, k := range m.kinds {
		if t, ok := times[k]; ok && m.time.Before(t.latest) {
			late[k] = true
			sum.Late = true
		}
	}
	now := s.Now()
	ver := s.version()
	w, err := newWriter(s, ctx)
	if err != nil {
		return sum, err
	}
	defer w.close()
	seen := make(map[uuid.UUID]struct{}, len(idx))
	at := m.time
	for _, i := range idx {
		f, err := sp.get(i)
		if err != nil {
			return sum, err
		}
		id := FindingID(asset, m.scanner, f.Kind, f.Key)
		if _, dupInReport := seen[id]; dupInReport {
			continue // one weakness reported twice in one report is one finding
		}
		seen[id] = struct{}{}
		sum.Findings++
		f.Status = s.Dispositions.Map(f.Suppression)
		p, known := prev[id]
		ev := event{id: id, at: at, sev: f.Severity, status: f.Status, until: f.StatusUntil, asset: asset, scanner: m.scanner, kind: f.Kind, source: "scan", scan: scanID, actor: "report", reason: f.StatusReason}
		row := findingRow{f: f, id: id, asset: asset, scanner: m.scanner, source: "scan", scan: scanID, state: "open", firstSeen: at, lastSeen: at, statusActor: "report", branches: addBranch(nil, m.branch)}
		if late[f.Kind] {
			t := times[f.Kind]
			switch {
			case !known:
				// Unknown weakness in an older report: it existed then and
				// the next newer complete scan no longer reported it.
				sum.New++
				fix := ev.with(Fixed)
				fix.at = t.nextAfter
				w.newFinding(ev.with(Detected), fix)
				row.state, row.fixedAt, row.lastSeen = "fixed", t.nextAfter, at
				w.finding(row, ver)
			case p.FirstSeen.After(at) && !t.nextAfter.Before(p.FirstSeen):
				// The finding was first seen by the very next scan: this
				// older report moves first_seen earlier.
				sum.Unchanged++
				ev.sev, ev.status = Severity(p.Severity), Status(statusValue(p.Status))
				w.event(ev.with(Detected))
				w.finding(row.keep(p, at), ver)
			default:
				sum.Unchanged++
			}
			continue
		}
		switch {
		case !known:
			sum.New++
			w.newFinding(ev.with(Detected))
		case p.State == "fixed":
			sum.Reopened++
			row.firstSeen = p.FirstSeen
			row.branches = addBranch(p.Branches, m.branch)
			ev, row = s.statusFor(ev, row, p, f)
			w.event(ev.with(Reopened))
		default:
			sum.Unchanged++
			row.firstSeen = p.FirstSeen
			row.branches = addBranch(p.Branches, m.branch)
			prevStatus := Status(statusValue(p.Status))
			ev, row = s.statusFor(ev, row, p, f)
			if string(f.Severity) != p.Severity {
				w.event(ev.with(SeverityChanged))
			}
			if ev.status != prevStatus {
				w.event(ev.with(StatusChanged))
			}
		}
		w.finding(row, ver)
	}
	// Open findings of the scanned kinds that this complete, in-order scan
	// no longer reports are fixed at the scan's time.
	var fixedKinds []string
	for id, p := range prev {
		k := Kind(p.Kind)
		if _, ok := seen[id]; ok || p.State != "open" || late[k] || !slices.Contains(m.kinds, k) {
			continue
		}
		sum.Fixed++
		w.event(event{id: id, at: at, typ: Fixed, sev: Severity(p.Severity), status: Status(statusValue(p.Status)), until: p.StatusUntil, asset: asset, scanner: m.scanner, kind: k, source: "scan", scan: scanID, actor: p.StatusActor})
		if !slices.Contains(fixedKinds, p.Kind) {
			fixedKinds = append(fixedKinds, p.Kind)
		}
	}
	if err := w.flush(); err != nil {
		return sum, err
	}
	if len(fixedKinds) > 0 {
		// Rewrite the fixed findings' rows from their stored attributes.
		if err := s.db.Exec(ctx, queries.SQL("ingest/fix_absent.sql"), ver, at, now, asset, m.scanner, fixedKinds, scanID); err != nil {
			return sum, fmt.Errorf("mark fixed findings: %w", err)
		}
	}
	if err := s.saveScanRun(ctx, m, asset, scanID, sum.Late, sum); err != nil {
		return sum, err
	}
	return sum, nil
}

// statusFor decides the status of a re-reported finding: a report's
// suppression sets or clears a status the reports set, but never a status
// a person set (through the API).
func (s *Store) statusFor(ev event, row findingRow, p prior, f Finding) (event, findingRow) {
	prevStatus := Status(statusValue(p.Status))
	if p.StatusActor != "" && p.StatusActor != "report" && prevStatus != StatusNone {
		ev.status, ev.until, ev.actor, ev.reason = prevStatus, p.StatusUntil, p.StatusActor, ""
		row.f.Status, row.f.StatusUntil, row.statusActor = prevStatus, p.StatusUntil, p.StatusActor
		row.keepReason = true
	}
	return ev, row
}

func statusValue(s string) string {
	if s == "none" {
		return ""
	}
	return s
}

func addBranch(bs []string, b string) []string {
	if b == "" || slices.Contains(bs, b) {
		return bs
	}
	return append(slices.Clone(bs), b)
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func (s *Store) saveScanRun(ctx context.Context, m scanMeta, asset string, id uuid.UUID, late bool, sum Summary) error {
	kinds := make([]string, len(m.kinds))
	for i, k := range m.kinds {
		kinds[i] = string(k)
	}
	counts := uint8(0)
	if s.counts(m.branch) {
		counts = 1
	}
	return s.insert(ctx, "scan_runs", queries.SQL("ingest/scan_runs.columns"), [][]any{{
		id, asset, m.scanner, m.version, m.format, kinds, m.branch, m.commit, m.time, counts, b2u(late), uint8(0),
		m.sha, m.name, uint32(sum.Findings), uint32(sum.New), uint32(sum.Fixed), uint32(sum.Reopened), uint32(sum.Unchanged),
		"ok", "", s.Now(),
	}})
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// event is one row of finding_events.
type event struct {
	id                            uuid.UUID
	at                            time.Time
	typ                           EventType
	sev                           Severity
	status                        Status
	until                         time.Time
	asset, scanner, source, actor string
	kind                          Kind
	scan                          uuid.UUID
	reason                        string
}

func (e event) with(t EventType) event { e.typ = t; return e }

// findingRow is one row of findings.
type findingRow struct {
	f                      Finding
	id, scan               uuid.UUID
	asset, scanner, source string
	state                  string
	firstSeen, lastSeen    time.Time
	fixedAt                time.Time
	statusActor            string
	keepReason             bool
	branches               []string
}

// keep returns the row with the earlier first_seen at and the stored
// state of p otherwise (used by late reports).
func (r findingRow) keep(p prior, at time.Time) findingRow {
	r.state, r.firstSeen, r.lastSeen, r.fixedAt, r.branches = p.State, at, p.LastSeen, p.FixedAt, p.Branches
	r.f.Severity, r.f.Status, r.f.StatusUntil, r.statusActor = Severity(p.Severity), Status(statusValue(p.Status)), p.StatusUntil, p.StatusActor
	return r
}

// writer streams finding and event rows into open ClickHouse batches
// (columnar: a row is copied into the batch's columns as it is appended, not
// held as boxed values), sending each batch every batchRows rows.
type writer struct {
	s         *Store
	ctx       context.Context
	events    *batch
	findings  *batch
	intervals *batch
	err       error
	slot      bool
	// fresh holds what BuildIntervals needs of the findings given through
	// newFinding, packed; their finding_intervals rows are built from it at
	// flush. touched are the findings given events through event, whose
	// rows are recomputed from the stored events.
	fresh   freshLog
	touched map[uuid.UUID]struct{}
}

const batchRows = 100_000

// newWriter takes one of the store's writer slots (waiting for one while
// ctx allows); the caller must call close when done.
func newWriter(s *Store, ctx context.Context) (*writer, error) {
	select {
	case s.writers <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &writer{s: s, ctx: ctx, slot: true,
		events:    &batch{s: s, table: "finding_events", columns: queries.SQL("ingest/finding_events.columns")},
		findings:  &batch{s: s, table: "findings", columns: queries.SQL("ingest/findings.columns")},
		intervals: &batch{s: s, table: "finding_intervals", columns: intervalColumns},
		fresh:     freshLog{max: freshInMemory},
		touched:   map[uuid.UUID]struct{}{}}, nil
}

// close releases unsent batches and the writer slot; it is safe to call
// more than once.
func (w *writer) close() {
	w.findings.abort()
	w.events.abort()
	w.intervals.abort()
	w.fresh.reset()
	if w.slot {
		<-w.s.writers
		w.slot = false
	}
}

// newFinding writes the events of a finding that has no stored event (new
// in this write): evs, all of one finding (flush fails otherwise), are its
// whole history. Its finding_intervals rows are built at flush from a
// packed copy of evs (freshLog). Events of the finding given through event
// as well, or in a second newFinding, make flush recompute its rows from
// the stored events instead, as for a known finding.
func (w *writer) newFinding(evs ...event) {
	if err := w.fresh.add(evs); err != nil && w.err == nil {
		w.err = err
	}
	for _, e := range evs {
		w.appendEvent(e)
	}
}

// event writes an event of a finding that may have stored events: flush
// recomputes the finding's finding_intervals rows from all of them.
func (w *writer) event(e event) {
	w.touched[e.id] = struct{}{}
	w.appendEvent(e)
}

func (w *writer) appendEvent(e event) {
	status := string(e.status)
	if status == "" {
		status = "none"
	}
	w.append(w.events, e.id, e.at, string(e.typ), string(e.sev), status, zeroTime(e.until), e.asset, e.scanner, string(e.kind), e.source, e.scan, e.actor, e.reason, w.s.Now())
}

func (w *writer) finding(r findingRow, ver uint64) {
	f := r.f
	status := string(f.Status)
	if status == "" {
		status = "none"
	}
	actor := r.statusActor
	if f.Status == StatusNone {
		actor = ""
	}
	aliases := f.Aliases
	if aliases == nil {
		aliases = []string{}
	}
	branches := r.branches
	if branches == nil {
		branches = []string{}
	}
	w.append(w.findings,
		r.id, ver, r.source, r.asset, r.scanner, string(f.Kind), f.Key, f.KeySource, f.RuleID, truncate(f.Title, 1000),
		string(f.Severity), f.OriginalSeverity, f.CVE, aliases, f.Package, f.InstalledVersion, f.FixedVersion,
		f.File, uint32(max(f.Line, 0)), branches, f.EPSS, f.EPSSPercentile, b2u(f.HasEPSS), b2u(f.KEV),
		r.state, status, truncate(f.StatusReason, 2000), zeroTime(f.StatusUntil), actor,
		r.firstSeen, r.lastSeen, zeroTime(r.fixedAt), r.scan, f.URL, w.s.Now(),
	)
}

func (w *writer) append(b *batch, row ...any) {
	if w.err != nil {
		return
	}
	if err := b.append(w.ctx, row); err != nil {
		w.err = err
		return
	}
	if b.n >= batchRows {
		w.err = b.send()
	}
}

// flush sends what is buffered; findings first, so a finding row exists
// for every event once the events are visible, then the finding_intervals
// rows the new events change.
func (w *writer) flush() error {
	if w.err == nil {
		w.err = w.findings.send()
	}
	if w.err == nil {
		w.err = w.events.send()
	}
	if w.err == nil {
		w.err = w.writeIntervals()
	}
	w.findings.abort()
	w.events.abort()
	w.intervals.abort()
	return w.err
}

// batch is one open INSERT with an explicit column list.
type batch struct {
	s       *Store
	table   string
	columns string
	b       driver.Batch
	cancel  context.CancelFunc
	n       int
}

func (b *batch) append(ctx context.Context, row []any) error {
	if b.b == nil {
		bctx, cancel := b.s.db.Context(ctx)
		var pb driver.Batch
		err := queries.Retry(bctx, func() (err error) {
			pb, err = b.s.db.Conn().PrepareBatch(bctx, "INSERT INTO "+b.table+" ("+b.columns+")")
			return err
		})
		if err != nil {
			cancel()
			return fmt.Errorf("insert %s: %w", b.table, queries.Clean(err))
		}
		b.b, b.cancel, b.n = pb, cancel, 0
	}
	if err := b.b.Append(row...); err != nil {
		return fmt.Errorf("insert %s: %w", b.table, queries.Clean(err))
	}
	b.n++
	return nil
}

func (b *batch) send() error {
	if b.b == nil {
		return nil
	}
	defer b.abort()
	if b.b.Rows() != b.n {
		return fmt.Errorf("insert %s: batch holds %d of %d rows", b.table, b.b.Rows(), b.n)
	}
	if err := b.b.Send(); err != nil {
		return fmt.Errorf("insert %s: %w", b.table, queries.Clean(err))
	}
	return nil
}

// abort releases an unsent batch (a no-op after send).
func (b *batch) abort() {
	if b.b != nil {
		if !b.b.IsSent() {
			_ = b.b.Abort()
		}
		b.cancel()
		b.b, b.cancel, b.n = nil, nil, 0
	}
}

func zeroTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// spool holds a report's findings between parsing and applying: in memory
// up to MaxFindingsInMemory, then in a temporary gob file.
type spool struct {
	mem  []Finding
	n    int
	file *os.File
	bw   *bufio.Writer
	enc  *gob.Encoder
	// readback state
	dec  *gob.Decoder
	next int
	cur  Finding
}

func (s *spool) add(f Finding) error {
	s.n++
	if s.file == nil && len(s.mem) < MaxFindingsInMemory {
		s.mem = append(s.mem, f)
		return nil
	}
	if s.file == nil {
		var err error
		if s.file, err = os.CreateTemp("", "secmetrics-spool-*.gob"); err != nil {
			return err
		}
		s.bw = bufio.NewWriterSize(s.file, 1<<20)
		s.enc = gob.NewEncoder(s.bw)
	}
	return s.enc.Encode(&f)
}

func (s *spool) finish() error {
	if s.bw != nil {
		return s.bw.Flush()
	}
	return nil
}

// get returns finding i; indexes must be asked in ascending order.
func (s *spool) get(i int) (Finding, error) {
	if i < len(s.mem) {
		return s.mem[i], nil
	}
	if s.dec == nil || i < s.next {
		if _, err := s.file.Seek(0, io.SeekStart); err != nil {
			return Finding{}, err
		}
		s.dec = gob.NewDecoder(bufio.NewReaderSize(s.file, 1<<20))
		s.next = len(s.mem)
	}
	for s.next <= i {
		s.cur = Finding{}
		if err := s.dec.Decode(&s.cur); err != nil {
			return Finding{}, fmt.Errorf("read spool: %w", err)
		}
		s.next++
	}
	return s.cur, nil
}

func (s *spool) eachIndexed(fn func(int, Finding) error) error {
	for i := 0; i < s.n; i++ {
		f, err := s.get(i)
		if err != nil {
			return err
		}
		if err := fn(i, f); err != nil {
			return err
		}
	}
	return nil
}

func (s *spool) each(fn func(Finding) error) error {
	return s.eachIndexed(func(_ int, f Finding) error { return fn(f) })
}

func (s *spool) close() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}
