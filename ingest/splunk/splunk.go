// Package splunk reads Splunk Enterprise Security notable events as
// alerts: incrementally through the REST search export
// (POST /services/search/jobs/export, output_mode=json, a stream of
// {"result": {...}} objects), and from files of the same export or of its
// CSV form.
//
// The export filters on _time, the notable's creation: a pull reads the
// notables created from (watermark − overlap − Config.Lookback) to now, so
// that review changes of recent notables are read again. See
// docs/alerts.md for the mapping.
package splunk

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
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/transport"
)

// System is the source type and the prefix of source names.
const System = "splunk"

// Source pulls and imports the notables of one Splunk ES search head.
type Source struct {
	cfg   Config
	store *ingest.Store
	log   *slog.Logger
	norm  *normalizer

	// HTTP sends the requests; New sets a client with a retrying
	// transport.Transport (no overall timeout: the export streams; the
	// context bounds it). Tests replace it; a search head with a private
	// CA needs a transport.Transport whose Base trusts it.
	HTTP *http.Client
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// New returns the Source of cfg, which must be valid (Config.Validate) and
// carry its token.
func New(cfg Config, store *ingest.Store, log *slog.Logger) (*Source, error) {
	if err := cfg.Validate(System); err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("%s %s: no token (token_env or token_file resolved to nothing)", System, cfg.Name)
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	disp, err := ingest.NewDispositionMap(DefaultDispositions, cfg.Mapping.Dispositions)
	if err != nil {
		return nil, err
	}
	return &Source{
		cfg:   cfg,
		store: store,
		log:   log,
		norm:  &normalizer{source: System + ":" + cfg.Name, cfg: cfg, disp: disp},
		HTTP:  &http.Client{Transport: &transport.Transport{Limit: 2, Log: log}},
		Now:   func() time.Time { return time.Now().UTC() },
	}, nil
}

// Name is the source name, "splunk:<instance>".
func (s *Source) Name() string { return System + ":" + s.cfg.Name }

// Pull runs the search over the notables created since the watermark minus
// the overlap and the lookback, stores them as alerts, then advances the
// watermark; see ingest.Store.PullAlerts. A rejected token is an error
// wrapping transport.ErrUnauthorized; a search that Splunk reports as
// failed (a FATAL or ERROR message in the stream) and a stream that ends
// before its last row are errors.
func (s *Source) Pull(ctx context.Context, opts ingest.PullOptions) (ingest.AlertSummary, error) {
	now := s.Now()
	return s.store.PullAlerts(ctx, ingest.AlertPull{
		Source:     s.Name(),
		SourceType: System,
		Start:      now.Add(-s.cfg.InitialLookback),
		Overlap:    s.cfg.Overlap,
		Fetch: func(ctx context.Context, since time.Time, emit func(ingest.Alert) error) (time.Time, error) {
			return now, s.export(ctx, since.Add(-s.cfg.Lookback), now, emit)
		},
	}, opts)
}

func (s *Source) export(ctx context.Context, from, to time.Time, emit func(ingest.Alert) error) error {
	form := url.Values{}
	form.Set("search", s.cfg.Search)
	form.Set("output_mode", "json")
	form.Set("earliest_time", strconv.FormatInt(from.Unix(), 10))
	form.Set("latest_time", strconv.FormatInt(to.Unix(), 10))
	u := s.cfg.URL + "/services/search/jobs/export"
	if s.cfg.App != "" {
		u = s.cfg.URL + "/servicesNS/-/" + url.PathEscape(s.cfg.App) + "/search/jobs/export"
	}
	// The export only reads: safe to send again after a 429/5xx.
	req, err := http.NewRequestWithContext(transport.AllowRetry(ctx), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", s.cfg.AuthScheme+" "+s.cfg.Token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := transport.Check(resp, "the Splunk token of "+s.Name()); err != nil {
		return err
	}
	if err := s.norm.stream(ctx, transport.LimitReader(resp.Body, s.cfg.MaxResponseBytes), true, emit); err != nil {
		return fmt.Errorf("POST %s: %w", transport.RedactURL(req.URL), err)
	}
	return nil
}

// Import reads a file of the same export (JSON: {"result": {...}} objects
// as the export streams them, or bare result objects, one per line) or of
// its CSV form (output_mode=csv or a CSV export from the UI) and stores
// the notables as alerts, all or nothing; it does not move the watermark.
// name names the file in errors.
func (s *Source) Import(ctx context.Context, r io.Reader, name string) (ingest.AlertSummary, error) {
	var alerts []ingest.Alert
	collect := func(a ingest.Alert) error {
		alerts = append(alerts, a)
		return nil
	}
	br := bufio.NewReader(transport.LimitReader(r, s.cfg.MaxResponseBytes))
	var err error
	if first, perr := firstByte(br); perr != nil {
		err = perr
	} else if first == '{' {
		err = s.norm.stream(ctx, br, false, collect)
	} else {
		err = s.norm.csv(ctx, br, collect)
	}
	if err != nil {
		return ingest.AlertSummary{}, fmt.Errorf("import %s: %w", name, err)
	}
	if len(alerts) == 0 {
		return ingest.AlertSummary{}, fmt.Errorf("import %s: no notables", name)
	}
	sum, err := s.store.ImportAlerts(ctx, s.Name(), System, alerts)
	if err != nil {
		return sum, fmt.Errorf("import %s: %w", name, err)
	}
	return sum, nil
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return 0, errors.New("empty file")
		}
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case 0xef: // a UTF-8 byte order mark
			if rest, err := br.Peek(2); err == nil && bytes.Equal(rest, []byte{0xbb, 0xbf}) {
				br.Discard(2)
				continue
			}
		}
		return b, br.UnreadByte()
	}
}

// normalizer turns export results into alerts.
type normalizer struct {
	source string
	cfg    Config
	disp   ingest.DispositionMap
}

// message is one object of the export stream.
type message struct {
	Preview  bool            `json:"preview"`
	Offset   *int            `json:"offset"`
	LastRow  bool            `json:"lastrow"`
	Result   json.RawMessage `json:"result"`
	Messages []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"messages"`
}

// stream reads export objects and emits each final (non-preview) result.
// With needLast, results without a closing "lastrow" are a truncated
// stream.
func (n *normalizer) stream(ctx context.Context, r io.Reader, needLast bool, emit func(ingest.Alert) error) error {
	dec := json.NewDecoder(r)
	results, lastRow, wrapped := 0, false, false
	for i := 1; ; i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("object %d (byte %d): malformed export: %w", i, dec.InputOffset(), err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var m message
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("object %d: malformed export: %w", i, err)
		}
		for _, msg := range m.Messages {
			if msg.Type == "FATAL" || msg.Type == "ERROR" {
				return fmt.Errorf("search failed: %s: %s", msg.Type, msg.Text)
			}
		}
		result := m.Result
		switch {
		case m.Result != nil:
			wrapped = true
		case m.Offset != nil || m.Messages != nil || m.LastRow:
			continue // a message or an empty frame
		default:
			result = raw // a bare result object
		}
		if m.Preview {
			continue
		}
		if m.LastRow {
			lastRow = true
		}
		a, err := n.alert(result)
		if err != nil {
			return fmt.Errorf("object %d: %w", i, err)
		}
		results++
		if err := emit(a); err != nil {
			return err
		}
	}
	if (needLast || wrapped) && results > 0 && !lastRow {
		return fmt.Errorf("export ended after %d results without its last row (truncated)", results)
	}
	return nil
}

// csv reads a CSV export: a header of field names, one notable per row;
// multivalue fields hold their values on separate lines of a cell.
func (n *normalizer) csv(ctx context.Context, r io.Reader, emit func(ingest.Alert) error) error {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("line 1: %w", err)
	}
	if !slices.Contains(header, "_time") || !(slices.Contains(header, "event_id") || slices.Contains(header, "rule_id")) {
		return errors.New("line 1: not a notable export (needs _time and event_id columns)")
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		obj := make(map[string]any, len(header))
		for i, v := range rec {
			if strings.Contains(v, "\n") {
				obj[header[i]] = strings.Split(v, "\n")
			} else {
				obj[header[i]] = v
			}
		}
		raw, _ := json.Marshal(obj)
		a, err := n.alert(raw)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if err := emit(a); err != nil {
			return err
		}
	}
}

// result is one notable: field name to a string or a list of strings.
type result map[string]json.RawMessage

// get returns a field's (first) value.
func (r result) get(name string) string {
	raw, ok := r[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		return strings.TrimSpace(list[0])
	}
	if string(raw) == "null" {
		return ""
	}
	return strings.Trim(string(raw), `"`)
}

// parseTime reads ISO 8601 (Splunk's JSON _time) or epoch seconds.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f <= 0 || f >= 1<<32 {
			return time.Time{}, fmt.Errorf("%s: epoch %q out of range", field, s)
		}
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Truncate(time.Millisecond), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02 15:04:05.000 MST", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s: cannot parse %q as a time", field, s)
}

// alert normalizes one notable (see docs/alerts.md, Splunk ES).
func (n *normalizer) alert(raw json.RawMessage) (ingest.Alert, error) {
	var r result
	if err := json.Unmarshal(raw, &r); err != nil {
		return ingest.Alert{}, fmt.Errorf("malformed result: %w", err)
	}
	id := r.get("event_id")
	if id == "" {
		id = r.get("rule_id")
	}
	if id == "" {
		return ingest.Alert{}, errors.New("result without event_id")
	}
	fail := func(err error) (ingest.Alert, error) { return ingest.Alert{}, fmt.Errorf("notable %s: %w", id, err) }
	created, err := parseTime("_time", r.get("_time"))
	if err != nil {
		return fail(err)
	}
	if created.IsZero() {
		return fail(errors.New("_time missing"))
	}
	reviewed, err := parseTime("review_time", r.get("review_time"))
	if err != nil {
		return fail(err)
	}
	firstTriage, err := parseTime("first_triage_time", r.get("first_triage_time"))
	if err != nil {
		return fail(err)
	}
	status, label := r.get("status"), r.get("status_label")
	ended := r.get("status_end") == "true" || r.get("status_end") == "1"
	// Without the review history (a search or export lacking
	// first_triage_time), a notable out of New was triaged by its latest
	// review at the latest.
	if firstTriage.IsZero() && !reviewed.IsZero() && !isNew(status, label) {
		firstTriage = reviewed
	}
	a := ingest.Alert{
		Source:           n.source,
		ID:               id,
		RuleID:           r.get("search_name"),
		RuleName:         firstNonEmpty(r.get("rule_name"), r.get("search_name")),
		OriginalSeverity: r.get("urgency"),
		Created:          created,
		FirstTriage:      firstTriage,
		Status:           firstNonEmpty(label, status),
		Asset:            firstNonEmpty(r.get("dest"), r.get("src"), r.get("orig_host")),
		Updated:          created,
		Raw:              raw,
	}
	a.Severity = ingest.ParseSeverity(a.OriginalSeverity)
	if reviewed.After(a.Updated) {
		a.Updated = reviewed
	}
	if ended {
		a.Closed = reviewed
		a.AutoClosed = slices.Contains(n.cfg.AutomationUsers, r.get("review_user"))
	}
	owner := r.get("owner")
	if owner == "unassigned" {
		owner = ""
	}
	if owner != "" {
		a.Assignee = firstNonEmpty(r.get("owner_realname"), owner)
	}
	n.cfg.Mapping.MapTeam(&a, prefixed("owner:", owner), prefixed("security_domain:", r.get("security_domain")), prefixed("rule:", r.get("search_name")))

	original := firstNonEmpty(r.get("disposition"), r.get("disposition_label"))
	if !ended && (original == n.cfg.DefaultDisposition || original == "Undetermined") {
		// ES's placeholder on a notable still being worked: no verdict yet.
		a.Disposition, a.OriginalDisposition = ingest.DispositionNone, original
	} else {
		ingest.MapDisposition(&a, n.disp, original)
	}
	return a, nil
}

// isNew reports whether a status is ES's Unassigned (0) or New (1).
func isNew(status, label string) bool {
	switch {
	case status == "0", status == "1":
		return true
	case status == "" && (strings.EqualFold(label, "New") || strings.EqualFold(label, "Unassigned") || label == ""):
		return true
	}
	return false
}

func prefixed(p, v string) string {
	if v == "" {
		return ""
	}
	return p + v
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
