package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/secmetrics/secmetrics/queries"
)

// finding_intervals (queries/schema/0005_finding_intervals.sql) holds each
// finding's state over time so that a KPI reads one row per finding and
// period end instead of aggregating the finding's whole event history.
// BuildIntervals is the one implementation of "the state after these
// events"; the writer keeps the table current for what it writes, and
// RebuildIntervals recomputes it from finding_events (after a bulk load or
// to repair it).

// Codes of the Enum8 columns, as in the schema.
var (
	eventCodes  = map[EventType]uint8{Detected: 1, Fixed: 2, Reopened: 3, SeverityChanged: 4, StatusChanged: 5}
	sevCodes    = map[Severity]uint8{Unknown: 0, Info: 1, Low: 2, Medium: 3, High: 4, Critical: 5}
	statusCodes = map[Status]uint8{StatusNone: 0, "none": 0, FalsePositive: 1, RiskAccepted: 2, Duplicate: 3}
)

// reopenWindow is the spec's look-ahead: a fix followed by a reopen within
// 60 days counts as reopened.
const reopenWindow = 60 * 24 * 3600

// openEnded is valid_to of a finding's latest row (DateTime's maximum).
const openEnded = math.MaxUint32

// IntervalEvent is one finding event as BuildIntervals needs it: times in
// Unix seconds, the Enum8 codes of finding_events.
type IntervalEvent struct {
	At       uint32
	Type     uint8
	Severity uint8
	Status   uint8
	Until    uint32
}

// IntervalFinding is a finding with its events in any order.
type IntervalFinding struct {
	ID             uuid.UUID
	Asset, Scanner string
	Kind           string
	Events         []IntervalEvent
}

// Interval is one row of finding_intervals (without its sign).
type Interval struct {
	ID             uuid.UUID
	From, To       uint32
	Asset, Scanner string
	Kind           string
	FirstSeen      uint32
	LC             uint8
	LCTime         uint32
	Severity       uint8
	Status         uint8
	Until          uint32
	LastReopen     uint32
	FixTimes       []uint32
	FixSevs        []uint8
	FixReopens     []uint32
	FixReopened    []uint8
}

// Hash is row_hash: a hash of every value of the row.
func (iv *Interval) Hash() uint64 {
	h := fnv.New64a()
	var b [8]byte
	u32 := func(v uint32) { binary.LittleEndian.PutUint32(b[:4], v); h.Write(b[:4]) }
	str := func(s string) { u32(uint32(len(s))); h.Write([]byte(s)) }
	h.Write(iv.ID[:])
	u32(iv.From)
	u32(iv.To)
	str(iv.Asset)
	str(iv.Scanner)
	str(iv.Kind)
	u32(iv.FirstSeen)
	h.Write([]byte{iv.LC, iv.Severity, iv.Status})
	u32(iv.LCTime)
	u32(iv.Until)
	u32(iv.LastReopen)
	u32(uint32(len(iv.FixTimes)))
	for i := range iv.FixTimes {
		u32(iv.FixTimes[i])
		u32(iv.FixReopens[i])
		h.Write([]byte{iv.FixSevs[i], iv.FixReopened[i]})
	}
	return h.Sum64()
}

// BuildIntervals returns the rows of one finding from its events, in time
// order. Events are ordered by (time, type) (the stable order keeps, among
// identical (time, type) events, the last given as the one in force); the
// state after an instant is the result of all its events. An instant before
// the first detection gives no row.
func BuildIntervals(f IntervalFinding) []Interval {
	evs := slices.Clone(f.Events)
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].At != evs[j].At {
			return evs[i].At < evs[j].At
		}
		return evs[i].Type < evs[j].Type
	})
	var reopens []uint32
	for _, e := range evs {
		if e.Type == 3 && (len(reopens) == 0 || reopens[len(reopens)-1] != e.At) {
			reopens = append(reopens, e.At)
		}
	}
	var out []Interval
	cur := Interval{ID: f.ID, Asset: f.Asset, Scanner: f.Scanner, Kind: f.Kind}
	for i := 0; i < len(evs); {
		at := evs[i].At
		for ; i < len(evs) && evs[i].At == at; i++ {
			e := evs[i]
			switch e.Type {
			case 1:
				if cur.FirstSeen == 0 {
					cur.FirstSeen = e.At
				}
				cur.LC, cur.LCTime = 1, e.At
			case 2:
				cur.LC, cur.LCTime = 2, e.At
				if n := len(cur.FixTimes); n > 0 && cur.FixTimes[n-1] == e.At {
					cur.FixSevs[n-1] = max(cur.FixSevs[n-1], e.Severity)
				} else {
					var before uint32
					for _, r := range reopens {
						if r < e.At {
							before = r
						}
					}
					var again uint8
					for _, r := range reopens {
						if r > e.At && uint64(r) <= uint64(e.At)+reopenWindow {
							again = 1
						}
					}
					cur.FixTimes = append(slices.Clip(cur.FixTimes), e.At)
					cur.FixSevs = append(slices.Clip(cur.FixSevs), e.Severity)
					cur.FixReopens = append(slices.Clip(cur.FixReopens), before)
					cur.FixReopened = append(slices.Clip(cur.FixReopened), again)
				}
			case 3:
				cur.LC, cur.LCTime, cur.LastReopen = 3, e.At, e.At
			}
			cur.Severity, cur.Status, cur.Until = e.Severity, e.Status, e.Until
		}
		if cur.FirstSeen == 0 {
			continue
		}
		if n := len(out); n > 0 {
			out[n-1].To = at
		}
		row := cur
		row.From, row.To = at, openEnded
		// The arrays are shared with later rows only up to their own length:
		// later appends go to clipped copies.
		row.FixTimes, row.FixSevs = slices.Clip(row.FixTimes), slices.Clip(row.FixSevs)
		row.FixReopens, row.FixReopened = slices.Clip(row.FixReopens), slices.Clip(row.FixReopened)
		out = append(out, row)
	}
	return out
}

// intervalColumns is the explicit column list of finding_intervals inserts.
const intervalColumns = "finding_id, valid_from, valid_to, row_hash, sign, asset, scanner, kind, first_seen, lc, lc_time, severity, status, status_until, last_reopen, fix_times, fix_sevs, fix_reopens, fix_reopened, written_at"

func unix(t uint32) time.Time { return time.Unix(int64(t), 0).UTC() }

func times(v []uint32) []time.Time {
	out := make([]time.Time, len(v))
	for i, t := range v {
		out[i] = unix(t)
	}
	return out
}

// appendInterval adds one row with sign to b, sending it when full.
func appendInterval(ctx context.Context, b *batch, iv *Interval, hash uint64, sign int8, now time.Time) error {
	if b.n >= batchRows {
		if err := b.send(); err != nil {
			return err
		}
	}
	sevs := iv.FixSevs
	if sevs == nil {
		sevs = []uint8{}
	}
	again := iv.FixReopened
	if again == nil {
		again = []uint8{}
	}
	return b.append(ctx, []any{iv.ID, unix(iv.From), unix(iv.To), hash, sign, iv.Asset, iv.Scanner, iv.Kind,
		unix(iv.FirstSeen), iv.LC, unix(iv.LCTime), iv.Severity, iv.Status, unix(iv.Until), unix(iv.LastReopen),
		times(iv.FixTimes), sevs, times(iv.FixReopens), again, now})
}

// refreshChunk is how many findings one refresh reads at a time (their ids
// are bound into the statement text).
const refreshChunk = 1000

// refreshIntervals recomputes the rows of findings that already had events
// before this write: it reads their events and their current rows, and
// writes the difference (a -1 copy of each row no longer in force, each new
// row with +1; a row whose net weight is not 0 or 1 after a race is
// corrected the same way).
func (s *Store) refreshIntervals(ctx context.Context, b *batch, ids []uuid.UUID) error {
	for len(ids) > 0 {
		n := min(len(ids), refreshChunk)
		if err := s.refreshChunk(ctx, b, ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

func (s *Store) refreshChunk(ctx context.Context, b *batch, ids []uuid.UUID) error {
	fs, err := s.loadIntervalEvents(ctx, ids)
	if err != nil {
		return err
	}
	type stored struct {
		iv Interval
		w  int64
	}
	old := map[uint64]*stored{}
	rows, err := s.db.Conn().Query(ctx, queries.SQL("ingest/intervals_current.sql"), idStrings(ids))
	if err != nil {
		return fmt.Errorf("read finding states: %w", queries.Clean(err))
	}
	for rows.Next() {
		var (
			iv                        Interval
			from, to, fs, lct, un, ro time.Time
			hash                      uint64
			w                         int64
			fixT, fixR                []time.Time
		)
		if err := rows.Scan(&iv.ID, &from, &to, &hash, &w, &iv.Asset, &iv.Scanner, &iv.Kind, &fs, &iv.LC, &lct,
			&iv.Severity, &iv.Status, &un, &ro, &fixT, &iv.FixSevs, &fixR, &iv.FixReopened); err != nil {
			rows.Close()
			return fmt.Errorf("read finding states: %w", queries.Clean(err))
		}
		iv.From, iv.To, iv.FirstSeen, iv.LCTime, iv.Until, iv.LastReopen = u32(from), u32(to), u32(fs), u32(lct), u32(un), u32(ro)
		iv.FixTimes, iv.FixReopens = u32s(fixT), u32s(fixR)
		old[hash] = &stored{iv: iv, w: w}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read finding states: %w", queries.Clean(err))
	}
	now := s.Now()
	for _, f := range fs {
		for _, iv := range BuildIntervals(f) {
			h := iv.Hash()
			if o, ok := old[h]; ok {
				o.w-- // wanted once: what is left over is written back below
				continue
			}
			if err := appendInterval(ctx, b, &iv, h, 1, now); err != nil {
				return err
			}
		}
	}
	for _, h := range slices.Sorted(maps.Keys(old)) {
		o := old[h]
		sign := int8(-1)
		if o.w < 0 {
			sign = 1
		}
		for w := o.w; w != 0; w += int64(sign) {
			if err := appendInterval(ctx, b, &o.iv, h, sign, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// compareIDs orders finding ids by their bytes. (Called directly, not
// through a function value, so the arrays it slices stay on the stack.)
func compareIDs(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }

func idStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

func u32(t time.Time) uint32 {
	u := t.Unix()
	if u <= 0 {
		return 0
	}
	if u >= openEnded {
		return openEnded
	}
	return uint32(u)
}

func u32s(v []time.Time) []uint32 {
	out := make([]uint32, len(v))
	for i, t := range v {
		out[i] = u32(t)
	}
	return out
}

// loadIntervalEvents reads the events of ids, grouped by finding.
func (s *Store) loadIntervalEvents(ctx context.Context, ids []uuid.UUID) ([]IntervalFinding, error) {
	var out []IntervalFinding
	err := s.scanEvents(ctx, queries.SQL("ingest/interval_events.sql"), []any{idStrings(ids)}, func(f IntervalFinding) error {
		out = append(out, f)
		return nil
	})
	return out, err
}

// scanEvents runs an events statement (ingest/interval_events.sql's
// output, ordered by finding, time, type, recording) and calls fn with each
// finding's events, one copy of each (time, type) event: the last recorded.
func (s *Store) scanEvents(ctx context.Context, sql string, args []any, fn func(IntervalFinding) error) error {
	rows, err := s.db.Conn().Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("read finding events: %w", queries.Clean(err))
	}
	defer rows.Close()
	var cur IntervalFinding
	for rows.Next() {
		var (
			id                   uuid.UUID
			asset, scanner, kind string
			at, until            time.Time
			typ, sev, status     uint8
		)
		if err := rows.Scan(&id, &at, &typ, &sev, &status, &until, &asset, &scanner, &kind); err != nil {
			return fmt.Errorf("read finding events: %w", queries.Clean(err))
		}
		if id != cur.ID {
			if len(cur.Events) > 0 {
				if err := fn(cur); err != nil {
					return err
				}
			}
			cur = IntervalFinding{ID: id, Asset: asset, Scanner: scanner, Kind: kind}
		}
		e := IntervalEvent{At: u32(at), Type: typ, Severity: sev, Status: status, Until: u32(until)}
		if n := len(cur.Events); n > 0 && cur.Events[n-1].At == e.At && cur.Events[n-1].Type == e.Type {
			cur.Events[n-1] = e
			continue
		}
		cur.Events = append(cur.Events, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read finding events: %w", queries.Clean(err))
	}
	if len(cur.Events) > 0 {
		return fn(cur)
	}
	return nil
}

// eventsPerPart bounds how many events RebuildIntervals sorts in one read.
const eventsPerPart = 4_000_000

// RebuildIntervals recomputes finding_intervals from finding_events and
// returns how many findings it wrote. It empties the table first, so it
// must not run while anything ingests (use it after a bulk load that
// inserts finding_events directly, or to repair the table).
func (s *Store) RebuildIntervals(ctx context.Context) (int, error) {
	var n uint64
	if err := s.db.QueryRow(ctx, "SELECT count() FROM finding_events", nil, &n); err != nil {
		return 0, fmt.Errorf("count finding events: %w", queries.Clean(err))
	}
	truncate := "TRUNCATE TABLE finding_intervals"
	if c := s.db.Cluster(); c != "" {
		// The rows are in the shards' local tables (queries/migrate.go).
		truncate = "TRUNCATE TABLE finding_intervals_local ON CLUSTER " + c
	}
	if err := s.db.Exec(ctx, truncate); err != nil {
		return 0, fmt.Errorf("empty finding_intervals: %w", queries.Clean(err))
	}
	parts := n/eventsPerPart + 1
	b := &batch{s: s, table: "finding_intervals", columns: intervalColumns}
	defer b.abort()
	now := s.Now()
	findings := 0
	for part := uint64(0); part < parts; part++ {
		err := s.scanEvents(ctx, queries.SQL("ingest/interval_events_all.sql"), []any{parts, part}, func(f IntervalFinding) error {
			findings++
			for _, iv := range BuildIntervals(f) {
				if err := appendInterval(ctx, b, &iv, iv.Hash(), 1, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return findings, err
		}
	}
	return findings, b.send()
}

// intervalEvent converts a written event for BuildIntervals.
func intervalEvent(e event) IntervalEvent {
	return IntervalEvent{At: u32(e.at), Type: eventCodes[e.typ], Severity: sevCodes[e.sev], Status: statusCodes[e.status], Until: u32(e.until)}
}

// freshLog holds, from newFinding until the writer's flush, what
// BuildIntervals needs of the findings new in the write, packed as bytes:
// per finding its id, the index of its (asset, scanner, kind) among the few
// distinct ones and its events (29 bytes for a finding with one event).
// Past freshInMemory bytes the records go to a temporary file, as the spool
// does with a report's findings, so a write's memory does not grow with the
// number of new findings (a map of IntervalFindings took some 160 bytes per
// finding, most of the peak memory of a million-finding report). The rows
// are built at flush, never earlier: they may reach ClickHouse only with or
// after the write's findings and events rows (docs/schema.md).
type freshLog struct {
	scopes  []freshScope
	scopeOf map[freshScope]uint64
	buf     []byte   // records not yet in file
	file    *os.File // the earlier records; nil until buf first fills
	max     int      // len(buf) at which buf moves to the file
	n       int      // findings recorded
}

// freshInMemory is the default freshLog.max.
const freshInMemory = 256 << 10

type freshScope struct{ asset, scanner, kind string }

// freshEventSize is the packed size of an IntervalEvent: At, Type,
// Severity, Status, Until.
const freshEventSize = 4 + 3 + 4

// add records the events of one finding (evs[0] gives its id, asset,
// scanner and kind); it ignores an empty evs (no events, no rows).
func (l *freshLog) add(evs []event) error {
	if len(evs) == 0 {
		return nil
	}
	e := evs[0]
	for _, o := range evs {
		if o.id != e.id {
			return fmt.Errorf("new finding %s: an event of finding %s", e.id, o.id)
		}
	}
	sc := freshScope{e.asset, e.scanner, string(e.kind)}
	i, ok := l.scopeOf[sc]
	if !ok {
		if l.scopeOf == nil {
			l.scopeOf = map[freshScope]uint64{}
		}
		i = uint64(len(l.scopes))
		l.scopes = append(l.scopes, sc)
		l.scopeOf[sc] = i
	}
	l.buf = append(l.buf, e.id[:]...)
	l.buf = binary.AppendUvarint(l.buf, i)
	l.buf = binary.AppendUvarint(l.buf, uint64(len(evs)))
	for _, e := range evs {
		ie := intervalEvent(e)
		l.buf = binary.LittleEndian.AppendUint32(l.buf, ie.At)
		l.buf = append(l.buf, ie.Type, ie.Severity, ie.Status)
		l.buf = binary.LittleEndian.AppendUint32(l.buf, ie.Until)
	}
	l.n++
	if len(l.buf) < l.max {
		return nil
	}
	if l.file == nil {
		f, err := os.CreateTemp("", "secmetrics-fresh-*.bin")
		if err != nil {
			return fmt.Errorf("new findings: %w", err)
		}
		l.file = f
	}
	if _, err := l.file.Write(l.buf); err != nil {
		return fmt.Errorf("new findings: %w", err)
	}
	l.buf = l.buf[:0]
	return nil
}

// each calls fn with every recorded finding, in the order added. The
// Events slice is reused from one call to the next.
func (l *freshLog) each(fn func(IntervalFinding) error) error {
	var r io.Reader = bytes.NewReader(l.buf)
	if l.file != nil {
		if _, err := l.file.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("read new findings: %w", err)
		}
		r = io.MultiReader(l.file, r)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		f   IntervalFinding
		rec [freshEventSize]byte
	)
	for range l.n {
		if _, err := io.ReadFull(br, f.ID[:]); err != nil {
			return fmt.Errorf("read new findings: %w", err)
		}
		sc, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("read new findings: %w", err)
		}
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("read new findings: %w", err)
		}
		if sc >= uint64(len(l.scopes)) {
			return fmt.Errorf("read new findings: scope %d of %d", sc, len(l.scopes))
		}
		f.Asset, f.Scanner, f.Kind = l.scopes[sc].asset, l.scopes[sc].scanner, l.scopes[sc].kind
		f.Events = f.Events[:0]
		for range n {
			if _, err := io.ReadFull(br, rec[:]); err != nil {
				return fmt.Errorf("read new findings: %w", err)
			}
			f.Events = append(f.Events, IntervalEvent{At: binary.LittleEndian.Uint32(rec[0:]), Type: rec[4], Severity: rec[5],
				Status: rec[6], Until: binary.LittleEndian.Uint32(rec[7:])})
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// reset empties the log and removes its file; it is safe to call more than
// once.
func (l *freshLog) reset() {
	if l.file != nil {
		l.file.Close()
		os.Remove(l.file.Name())
	}
	*l = freshLog{max: l.max}
}

// writeIntervals brings finding_intervals up to date with the events this
// writer has sent: the findings new in this write from w.fresh, the others
// from the stored events. A finding given to newFinding twice (a tracked
// pull that lists it twice), or also given events through event, is
// recomputed from the stored events like the others.
func (w *writer) writeIntervals() error {
	defer w.fresh.reset()
	if w.fresh.n == 0 && len(w.touched) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, 0, w.fresh.n)
	if err := w.fresh.each(func(f IntervalFinding) error {
		ids = append(ids, f.ID)
		return nil
	}); err != nil {
		return err
	}
	slices.SortFunc(ids, compareIDs)
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			w.touched[ids[i]] = struct{}{}
		}
	}
	ids = nil
	now := w.s.Now()
	if err := w.fresh.each(func(f IntervalFinding) error {
		if _, ok := w.touched[f.ID]; ok {
			return nil
		}
		for _, iv := range BuildIntervals(f) {
			if err := appendInterval(w.ctx, w.intervals, &iv, iv.Hash(), 1, now); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	w.fresh.reset()
	ids = slices.SortedFunc(maps.Keys(w.touched), compareIDs)
	if err := w.s.refreshIntervals(w.ctx, w.intervals, ids); err != nil {
		return err
	}
	clear(w.touched)
	return w.intervals.send()
}

// EnsureIntervals builds finding_intervals from finding_events when the
// table is empty and there are events (a database from before the table
// existed); it returns how many findings it wrote (0 when nothing was to
// do). The service and the CLI call it after migrating.
func (s *Store) EnsureIntervals(ctx context.Context) (int, error) {
	var rows, events uint64
	if err := s.db.QueryRow(ctx, "SELECT count() FROM finding_intervals", nil, &rows); err != nil {
		return 0, fmt.Errorf("count finding_intervals: %w", queries.Clean(err))
	}
	if rows > 0 {
		return 0, nil
	}
	if err := s.db.QueryRow(ctx, "SELECT count() FROM finding_events", nil, &events); err != nil {
		return 0, fmt.Errorf("count finding events: %w", queries.Clean(err))
	}
	if events == 0 {
		return 0, nil
	}
	return s.RebuildIntervals(ctx)
}
