package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/secmetrics/secmetrics/queries"
)

// Store writes normalized records to ClickHouse. Every source adapter goes
// through it; its methods are split by record type across files (scans,
// inventory, tickets, alerts, intel).
type Store struct {
	db  *queries.DB
	log *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Dispositions maps report suppressions to statuses.
	Dispositions Dispositions
	// Branches lists the branches whose scans drive the finding lifecycle;
	// empty means every scan counts. A scan with no branch always counts.
	Branches []string
	// Owner resolves assets that are not in the inventory to a team.
	Owner func(asset string) (team string, ok bool)

	// writers bounds the batch writers open at once: each holds two pooled
	// connections (findings and events) for its lifetime, so unbounded
	// concurrent ingests could take every connection and starve each other.
	writers chan struct{}
}

// NewStore returns a Store writing to db.
func NewStore(db *queries.DB, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := 1
	if db != nil {
		n = max(1, (db.MaxOpenConns()-1)/2)
	}
	return &Store{db: db, log: log, Now: func() time.Time { return time.Now().UTC() }, Dispositions: DefaultDispositions,
		writers: make(chan struct{}, n)}
}

// DB returns the underlying database.
func (s *Store) DB() *queries.DB { return s.db }

// version returns a monotonically increasing row version for
// ReplacingMergeTree tables: the current time in nanoseconds.
func (s *Store) version() uint64 { return uint64(time.Now().UnixNano()) }

// insert appends rows to table through one batch. columns is the explicit
// column list (required: 18.16 drops batches without one); each row holds
// one value per column.
func (s *Store) insert(ctx context.Context, table, columns string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	ctx, cancel := s.db.Context(ctx)
	defer cancel()
	var b driver.Batch
	err := queries.Retry(ctx, func() (err error) {
		b, err = s.db.Conn().PrepareBatch(ctx, "INSERT INTO "+table+" ("+columns+")")
		return err
	})
	if err != nil {
		return fmt.Errorf("insert %s: %w", table, queries.Clean(err))
	}
	for _, r := range rows {
		if err := b.Append(r...); err != nil {
			_ = b.Abort()
			return fmt.Errorf("insert %s: %w", table, queries.Clean(err))
		}
	}
	if b.Rows() != len(rows) {
		_ = b.Abort()
		return fmt.Errorf("insert %s: batch holds %d of %d rows", table, b.Rows(), len(rows))
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %s: %w", table, queries.Clean(err))
	}
	return nil
}

// State is a source's ingest state.
type State struct {
	Source     string
	SourceType string
	// Watermark is the source time up to which data is committed (for
	// example Jira's "updated"); zero when nothing was pulled yet.
	Watermark   time.Time
	Cursor      string
	LastAttempt time.Time
	LastSuccess time.Time
	LastError   string
	Items       uint64
}

// State returns the stored state of source, or a State with only Source set
// when there is none.
func (s *Store) State(ctx context.Context, source string) (State, error) {
	var rows []struct {
		SourceType  string     `ch:"source_type"`
		Watermark   *time.Time `ch:"watermark"`
		Cursor      string     `ch:"cursor"`
		LastAttempt time.Time  `ch:"last_attempt"`
		LastSuccess *time.Time `ch:"last_success"`
		LastError   string     `ch:"last_error"`
		Items       uint64     `ch:"items"`
	}
	if err := s.db.Select(ctx, &rows, queries.SQL("ingest/state.sql"), source); err != nil {
		return State{}, fmt.Errorf("read ingest state of %s: %w", source, err)
	}
	st := State{Source: source}
	if len(rows) == 1 {
		r := rows[0]
		st.SourceType, st.Cursor, st.LastAttempt, st.LastError, st.Items = r.SourceType, r.Cursor, r.LastAttempt, r.LastError, r.Items
		if r.Watermark != nil {
			st.Watermark = *r.Watermark
		}
		if r.LastSuccess != nil {
			st.LastSuccess = *r.LastSuccess
		}
	}
	return st, nil
}

// States returns the state of every source.
func (s *Store) States(ctx context.Context) ([]State, error) {
	var rows []struct {
		Source      string     `ch:"source"`
		SourceType  string     `ch:"source_type"`
		Watermark   *time.Time `ch:"watermark"`
		LastAttempt time.Time  `ch:"last_attempt"`
		LastSuccess *time.Time `ch:"last_success"`
		LastError   string     `ch:"last_error"`
		Items       uint64     `ch:"items"`
	}
	if err := s.db.Select(ctx, &rows, queries.SQL("ingest/states.sql")); err != nil {
		return nil, fmt.Errorf("read ingest states: %w", err)
	}
	out := make([]State, 0, len(rows))
	for _, r := range rows {
		st := State{Source: r.Source, SourceType: r.SourceType, LastAttempt: r.LastAttempt, LastError: r.LastError, Items: r.Items}
		if r.Watermark != nil {
			st.Watermark = *r.Watermark
		}
		if r.LastSuccess != nil {
			st.LastSuccess = *r.LastSuccess
		}
		out = append(out, st)
	}
	return out, nil
}

// SaveState records st. Callers save a new watermark only after the data up
// to it has been written.
func (s *Store) SaveState(ctx context.Context, st State) error {
	var wm, ok *time.Time
	if !st.Watermark.IsZero() {
		w := st.Watermark.UTC()
		wm = &w
	}
	if !st.LastSuccess.IsZero() {
		l := st.LastSuccess.UTC()
		ok = &l
	}
	if st.LastAttempt.IsZero() {
		st.LastAttempt = s.Now()
	}
	return s.insert(ctx, "ingest_state",
		"source, source_type, watermark, cursor, last_attempt, last_success, last_error, items, version",
		[][]any{{st.Source, st.SourceType, wm, st.Cursor, st.LastAttempt.UTC(), ok, st.LastError, st.Items, s.version()}})
}

// Succeeded records a successful run of source that wrote items records and
// committed data up to watermark (zero keeps the previous watermark).
func (s *Store) Succeeded(ctx context.Context, source, sourceType string, watermark time.Time, items uint64) error {
	st, err := s.State(ctx, source)
	if err != nil {
		return err
	}
	now := s.Now()
	st.SourceType, st.LastAttempt, st.LastSuccess, st.LastError = sourceType, now, now, ""
	st.Items += items
	if !watermark.IsZero() {
		st.Watermark = watermark
	}
	return s.SaveState(ctx, st)
}

// Failed records a failed run of source with a message fit for operators
// (never a secret).
func (s *Store) Failed(ctx context.Context, source, sourceType string, cause error) error {
	st, err := s.State(ctx, source)
	if err != nil {
		return err
	}
	st.SourceType, st.LastAttempt, st.LastError = sourceType, s.Now(), cause.Error()
	return s.SaveState(ctx, st)
}

// rawPart is the largest piece of a compressed payload stored in one row.
const rawPart = 8 << 20

// SaveRaw keeps a source payload, gzip-compressed, so records can be
// re-normalized without re-fetching. key identifies the payload within
// (source, kind), e.g. a Jira issue key; saving the same key again replaces
// it.
func (s *Store) SaveRaw(ctx context.Context, source, kind, key string, payload []byte) error {
	return s.SaveRaws(ctx, source, kind, []RawPayload{{Key: key, Payload: payload}})
}

// RawPayload is one payload of SaveRaws.
type RawPayload struct {
	Key     string
	Payload []byte
}

// SaveRaws keeps several payloads of (source, kind) as SaveRaw does, in one
// insert (a Jira page's issues: one insert per issue made the pull wait on
// hundreds of round trips). A key given twice keeps its last payload.
func (s *Store) SaveRaws(ctx context.Context, source, kind string, ps []RawPayload) error {
	last := make(map[string]int, len(ps))
	for i, p := range ps {
		last[p.Key] = i
	}
	now, ver := s.Now(), s.version()
	var (
		rows [][]any
		gz   rawGzip
	)
	for i, p := range ps {
		if last[p.Key] != i {
			continue
		}
		b, err := gz.compress(p.Payload)
		if err != nil {
			return err
		}
		rows = append(rows, rawRows(source, kind, p.Key, b, p.Payload, now, ver)...)
	}
	if len(rows) == 0 {
		return nil
	}
	return s.insert(ctx, "raw_payloads", rawColumns, rows)
}

// rawColumns is the column list of raw_payloads inserts.
const rawColumns = "source, payload_kind, payload_key, part, parts, sha256, encoding, content, fetched_at, version"

// rawGzip compresses payloads one after another with one reused writer.
type rawGzip struct {
	buf bytes.Buffer
	zw  *gzip.Writer
}

// compress returns payload gzip-compressed; the bytes are valid until the
// next call.
func (g *rawGzip) compress(payload []byte) ([]byte, error) {
	g.buf.Reset()
	if g.zw == nil {
		g.zw, _ = gzip.NewWriterLevel(&g.buf, gzip.BestSpeed)
	} else {
		g.zw.Reset(&g.buf)
	}
	if _, err := g.zw.Write(payload); err != nil {
		return nil, err
	}
	if err := g.zw.Close(); err != nil {
		return nil, err
	}
	return g.buf.Bytes(), nil
}

// rawRows returns the raw_payloads rows of one compressed payload, split
// into parts of at most rawPart bytes (the content strings are copies).
func rawRows(source, kind, key string, gz, plain []byte, now time.Time, ver uint64) [][]any {
	sum := sha256.Sum256(plain)
	parts := max((len(gz)+rawPart-1)/rawPart, 1)
	rows := make([][]any, 0, parts)
	for i := range parts {
		end := min((i+1)*rawPart, len(gz))
		rows = append(rows, []any{source, kind, key, uint32(i), uint32(parts), hex.EncodeToString(sum[:]), "gzip", string(gz[i*rawPart : end]), now, ver})
	}
	return rows
}

// EachRaw calls fn with every stored payload of (source, kind), latest
// version per key, in key order.
func (s *Store) EachRaw(ctx context.Context, source, kind string, fn func(key string, payload []byte) error) error {
	ctx, cancel := s.db.Context(ctx)
	defer cancel()
	rows, err := s.db.Conn().Query(ctx, queries.SQL("ingest/raw.sql"), source, kind, source, kind)
	if err != nil {
		return fmt.Errorf("read raw payloads: %w", queries.Clean(err))
	}
	defer rows.Close()
	var key string
	var gz bytes.Buffer
	flush := func() error {
		if key == "" {
			return nil
		}
		zr, err := gzip.NewReader(&gz)
		if err != nil {
			return fmt.Errorf("raw payload %s: %w", key, err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			return fmt.Errorf("raw payload %s: %w", key, err)
		}
		gz.Reset()
		return fn(key, plain)
	}
	for rows.Next() {
		var k, content string
		var part uint32
		if err := rows.Scan(&k, &part, &content); err != nil {
			return queries.Clean(err)
		}
		if k != key {
			if err := flush(); err != nil {
				return err
			}
			key = k
		}
		gz.WriteString(content)
	}
	if err := rows.Err(); err != nil {
		return queries.Clean(err)
	}
	return flush()
}
