// Package generic imports alerts from CSV and JSON Lines files of any tool
// through a field mapping in configuration, and decodes the normalized
// alert JSON that POST /api/v1/alerts accepts (DecodeNormalized).
//
// Files are read as a stream, row by row; every row is validated and the
// first bad row rejects the whole file with its line number, before
// anything is written. See docs/alerts.md.
package generic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time_zone works without a system zone database
	"unicode/utf8"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/transport"
)

// System is the source type and the prefix of source names.
const System = "generic"

// maxLine is the longest JSON Lines line read.
const maxLine = 1 << 20

// Source imports the files of one generic alert source.
type Source struct {
	cfg   Config
	store *ingest.Store
	log   *slog.Logger
	disp  ingest.DispositionMap
	loc   *time.Location
}

// New returns the Source of cfg, which must be valid (Config.Validate).
// store may be nil for a Source that only parses.
func New(cfg Config, store *ingest.Store, log *slog.Logger) (*Source, error) {
	if err := cfg.Validate(System); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	disp, err := ingest.NewDispositionMap(DefaultDispositions, cfg.Mapping.Dispositions)
	if err != nil {
		return nil, err
	}
	loc := time.UTC
	if cfg.TimeZone != "" {
		if loc, err = time.LoadLocation(cfg.TimeZone); err != nil {
			return nil, err
		}
	}
	return &Source{cfg: cfg, store: store, log: log, disp: disp, loc: loc}, nil
}

// Name is the source name, "generic:<instance>".
func (s *Source) Name() string { return System + ":" + s.cfg.Name }

// Import parses a file (Parse) and stores its alerts, all or nothing.
// name names the file in errors.
func (s *Source) Import(ctx context.Context, r io.Reader, name string) (ingest.AlertSummary, error) {
	alerts, err := s.Parse(ctx, r)
	if err != nil {
		return ingest.AlertSummary{}, fmt.Errorf("import %s: %w", name, err)
	}
	sum, err := s.store.ImportAlerts(ctx, s.Name(), System, alerts)
	if err != nil {
		return sum, fmt.Errorf("import %s: %w", name, err)
	}
	return sum, nil
}

// Parse reads a whole file of the configured (or detected) format and
// returns its alerts. Any bad row (a missing id or created time, a time
// that does not parse, a malformed line) is an error naming its line, and
// so is a file over MaxBytes or MaxRows or without rows; no alert is
// returned then.
func (s *Source) Parse(ctx context.Context, r io.Reader) ([]ingest.Alert, error) {
	br := bufio.NewReaderSize(transport.LimitReader(r, s.cfg.MaxBytes), 64<<10)
	format := s.cfg.Format
	if format == "" {
		b, err := firstByte(br)
		if err != nil {
			return nil, err
		}
		format = "csv"
		if b == '{' {
			format = "jsonl"
		}
	}
	var alerts []ingest.Alert
	add := func(line int, rec record, raw []byte) error {
		if len(alerts) >= s.cfg.MaxRows {
			return fmt.Errorf("line %d: more than %d rows", line, s.cfg.MaxRows)
		}
		a, err := s.alert(rec, raw)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		alerts = append(alerts, a)
		return nil
	}
	var err error
	if format == "jsonl" {
		err = s.readJSONLines(ctx, br, add)
	} else {
		err = s.readCSV(ctx, br, add)
	}
	if err != nil {
		return nil, err
	}
	if len(alerts) == 0 {
		return nil, errors.New("no alerts")
	}
	return alerts, nil
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err == io.EOF {
			return 0, errors.New("empty file")
		}
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.ReadByte()
			continue
		}
		if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xef, 0xbb, 0xbf}) {
			br.Discard(3)
			continue
		}
		return b[0], nil
	}
}

// record gives a row's values by the configured field names.
type record func(field string) (string, error)

func (s *Source) readCSV(ctx context.Context, r io.Reader, add func(int, record, []byte) error) error {
	cr := csv.NewReader(r)
	cr.Comma, _ = utf8.DecodeRuneInString(s.cfg.Comma)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return errors.New("empty file")
		}
		return fmt.Errorf("line 1: %w", err)
	}
	cols := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := cols[h]; dup {
			return fmt.Errorf("line 1: column %q twice", h)
		}
		cols[h] = i
	}
	for _, f := range s.configured() {
		if _, ok := cols[f]; !ok {
			return fmt.Errorf("line 1: no column %q (named in fields)", f)
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err // a *csv.ParseError names the line; ErrTooLarge says so
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		row := make(map[string]string, len(header))
		for name, i := range cols {
			row[name] = rec[i]
		}
		raw, _ := json.Marshal(row)
		get := func(field string) (string, error) { return strings.TrimSpace(row[field]), nil }
		if err := add(line, get, raw); err != nil {
			return err
		}
	}
}

func (s *Source) readJSONLines(ctx context.Context, r *bufio.Reader, add func(int, record, []byte) error) error {
	for line := 1; ; line++ {
		text, err := readLine(r)
		if err == io.EOF && len(text) == 0 {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if len(bytes.TrimSpace(text)) > 0 {
			var obj map[string]any
			dec := json.NewDecoder(bytes.NewReader(text))
			dec.UseNumber()
			if derr := dec.Decode(&obj); derr != nil {
				return fmt.Errorf("line %d: malformed JSON: %w", line, derr)
			}
			if dec.More() {
				return fmt.Errorf("line %d: more than one JSON value", line)
			}
			if obj == nil {
				return fmt.Errorf("line %d: not a JSON object", line)
			}
			get := func(field string) (string, error) { return lookup(obj, field) }
			if aerr := add(line, get, bytes.TrimSpace(text)); aerr != nil {
				return aerr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// readLine returns the next line without its end, refusing lines over
// maxLine.
func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return nil, fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimRight(buf, "\r\n"), err
	}
}

// lookup returns the scalar at a dotted path of a JSON object as text;
// a missing field or null is "", an object or array is an error.
func lookup(obj map[string]any, path string) (string, error) {
	var v any = obj
	rest := path
	for rest != "" {
		m, ok := v.(map[string]any)
		if !ok {
			return "", nil
		}
		// The longest key that is a prefix of the path wins, so that keys
		// with dots in them ("kibana.alert.uuid") work too.
		best := ""
		for k := range m {
			if (rest == k || strings.HasPrefix(rest, k+".")) && len(k) > len(best) {
				best = k
			}
		}
		if best == "" {
			return "", nil
		}
		v = m[best]
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, best), ".")
	}
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(x), nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("field %q is an object or a list, not a value", path)
}

// configured lists the distinct configured field names.
func (s *Source) configured() []string {
	f := s.cfg.Fields
	seen := map[string]bool{}
	var out []string
	for _, name := range []string{f.ID, f.RuleID, f.RuleName, f.Severity, f.Created, f.FirstTriage, f.Closed, f.Updated,
		f.Status, f.Disposition, f.AutoClosed, f.Assignee, f.Team, f.Asset, f.Incident} {
		if name != "" && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// alert normalizes one row (see docs/alerts.md, generic files).
func (s *Source) alert(rec record, raw []byte) (ingest.Alert, error) {
	f := s.cfg.Fields
	var errs []string
	get := func(key, field string) string {
		if field == "" {
			return ""
		}
		v, err := rec(field)
		if err != nil {
			errs = append(errs, err.Error())
		}
		if !utf8.ValidString(v) {
			errs = append(errs, fmt.Sprintf("%s (%q) is not valid UTF-8", key, field))
			return ""
		}
		return v
	}
	var createdMissing bool
	when := func(key, field string) time.Time {
		v := get(key, field)
		if v == "" {
			createdMissing = createdMissing || key == "created"
			return time.Time{}
		}
		t, err := s.parseTime(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s (%q): %v", key, field, err))
		}
		return t
	}
	a := ingest.Alert{
		Source:           s.Name(),
		ID:               get("id", f.ID),
		RuleID:           get("rule_id", f.RuleID),
		RuleName:         get("rule_name", f.RuleName),
		OriginalSeverity: get("severity", f.Severity),
		Created:          when("created", f.Created),
		FirstTriage:      when("first_triage", f.FirstTriage),
		Closed:           when("closed", f.Closed),
		Updated:          when("updated", f.Updated),
		Status:           get("status", f.Status),
		Assignee:         get("assignee", f.Assignee),
		Asset:            get("asset", f.Asset),
		Incident:         get("incident", f.Incident),
		Raw:              append([]byte(nil), raw...),
	}
	if a.ID == "" && f.ID != "" {
		errs = append(errs, fmt.Sprintf("id (%q) missing", f.ID))
	}
	if createdMissing {
		errs = append(errs, fmt.Sprintf("created (%q) missing", f.Created))
	}
	switch v := strings.ToLower(get("auto_closed", f.AutoClosed)); v {
	case "", "false", "0", "no", "n":
	case "true", "1", "yes", "y":
		a.AutoClosed = true
	default:
		errs = append(errs, fmt.Sprintf("auto_closed (%q): %q is not a boolean", f.AutoClosed, v))
	}
	if len(errs) > 0 {
		if a.ID != "" {
			return ingest.Alert{}, fmt.Errorf("alert %q: %s", a.ID, strings.Join(errs, "; "))
		}
		return ingest.Alert{}, errors.New(strings.Join(errs, "; "))
	}
	if sev, ok := s.cfg.Severities[a.OriginalSeverity]; ok {
		a.Severity = ingest.Severity(sev)
	} else {
		a.Severity = ingest.ParseSeverity(a.OriginalSeverity)
	}
	team := get("team", f.Team)
	if t, ok := s.cfg.Mapping.Team(prefixed("team:", team), team, prefixed("asset:", a.Asset)); ok {
		a.Team = t
	} else if team != "" {
		a.Team = team // already one of our teams
	} else {
		s.cfg.Mapping.MapTeam(&a, prefixed("asset:", a.Asset))
	}
	ingest.MapDisposition(&a, s.disp, get("disposition", f.Disposition))
	return a, nil
}

func prefixed(p, v string) string {
	if v == "" {
		return ""
	}
	return p + v
}

// parseTime reads a time in the configured format.
func (s *Source) parseTime(v string) (time.Time, error) {
	switch s.cfg.TimeFormat {
	case "rfc3339":
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", v)
		}
		return checkRange(t)
	case "unix", "unix_ms":
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return time.Time{}, fmt.Errorf("%q is not a number", v)
		}
		if s.cfg.TimeFormat == "unix_ms" {
			n /= 1000
		}
		if n < 0 || n >= 1<<32 {
			return time.Time{}, fmt.Errorf("%q is outside 1970-2106", v)
		}
		sec := math.Floor(n)
		return time.Unix(int64(sec), int64((n-sec)*1e9)).UTC(), nil
	}
	t, err := time.ParseInLocation(s.cfg.TimeFormat, v, s.loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q does not match %q", v, s.cfg.TimeFormat)
	}
	return checkRange(t)
}

func checkRange(t time.Time) (time.Time, error) {
	if t.Unix() < 0 || t.Unix() >= 1<<32 {
		return time.Time{}, fmt.Errorf("%s is outside 1970-2106", t.Format(time.RFC3339))
	}
	return t.UTC(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
