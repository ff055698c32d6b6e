// Package pagerduty reads PagerDuty incidents as alerts: incrementally from
// the REST API v2, and from exported files.
//
// GET /incidents filters on creation time, within a since/until range of
// at most six months and offset paging of at most 10,000 records. A pull
// therefore lists the incidents created from (watermark − overlap −
// lookback) to now, in windows of at most Config.Window, each split in two
// while it holds more than 10,000 incidents. For each incident it reads the
// log entries (the first acknowledgement: acknowledgements[] is emptied on
// resolve) and, when the disposition comes from them, its notes or custom
// fields. See docs/alerts.md for the mapping.
package pagerduty

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/transport"
)

// System is the source type and the prefix of source names.
const System = "pagerduty"

// Source pulls and imports the incidents of one PagerDuty account.
type Source struct {
	cfg   Config
	store *ingest.Store
	log   *slog.Logger
	norm  *normalizer

	// HTTP sends the requests; New sets a client with a retrying
	// transport.Transport. Tests replace it.
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
		return nil, fmt.Errorf("%s %s: no API token (token_env or token_file resolved to nothing)", System, cfg.Name)
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	disp, err := ingest.NewDispositionMap(DefaultDispositions, cfg.Mapping.Dispositions)
	if err != nil {
		return nil, err
	}
	s := &Source{
		cfg:   cfg,
		store: store,
		log:   log,
		HTTP:  &http.Client{Timeout: cfg.Timeout, Transport: &transport.Transport{Limit: 4, Log: log}},
		Now:   func() time.Time { return time.Now().UTC() },
	}
	s.norm = &normalizer{source: s.Name(), cfg: cfg, disp: disp, note: regexp.MustCompile(cfg.Disposition.NotePattern)}
	return s, nil
}

// Name is the source name, "pagerduty:<instance>".
func (s *Source) Name() string { return System + ":" + s.cfg.Name }

// Pull reads the incidents created or changed since the watermark (see the
// package documentation) and stores them as alerts, then advances the
// watermark; see ingest.Store.PullAlerts for the lifecycle and dry runs.
// An invalid or revoked token is an error wrapping transport.ErrUnauthorized.
func (s *Source) Pull(ctx context.Context, opts ingest.PullOptions) (ingest.AlertSummary, error) {
	now := s.Now()
	return s.store.PullAlerts(ctx, ingest.AlertPull{
		Source:     s.Name(),
		SourceType: System,
		Start:      now.Add(-s.cfg.InitialLookback),
		Overlap:    s.cfg.Overlap,
		Fetch: func(ctx context.Context, since time.Time, emit func(ingest.Alert) error) (time.Time, error) {
			from := since.Add(-s.cfg.Lookback)
			return now, s.fetch(ctx, from, now, emit)
		},
	}, opts)
}

// fetch lists the incidents created in [from, to), window by window.
func (s *Source) fetch(ctx context.Context, from, to time.Time, emit func(ingest.Alert) error) error {
	for start := from; start.Before(to); {
		end := start.Add(s.cfg.Window)
		if end.After(to) {
			end = to
		}
		if err := s.window(ctx, start, end, emit); err != nil {
			return err
		}
		start = end
	}
	return nil
}

type incidentPage struct {
	Incidents []json.RawMessage `json:"incidents"`
	Limit     int               `json:"limit"`
	Offset    int               `json:"offset"`
	More      *bool             `json:"more"`
	Total     *int              `json:"total"`
}

// window pages through the incidents created in [start, end), splitting
// the window first when it holds more than offset paging reaches.
func (s *Source) window(ctx context.Context, start, end time.Time, emit func(ingest.Alert) error) error {
	for offset := 0; ; {
		var page incidentPage
		if _, err := s.get(ctx, s.incidentsURL(start, end, offset, offset == 0), &page); err != nil {
			return fmt.Errorf("list incidents %s..%s offset %d: %w", start.Format(time.RFC3339), end.Format(time.RFC3339), offset, err)
		}
		if page.More == nil {
			return fmt.Errorf("list incidents %s..%s offset %d: malformed response: no \"more\"", start.Format(time.RFC3339), end.Format(time.RFC3339), offset)
		}
		if offset == 0 && page.Total != nil && *page.Total > MaxOffset {
			if end.Sub(start) <= time.Minute {
				return fmt.Errorf("list incidents %s..%s: %d incidents in one minute, more than offset paging reaches (%d)", start.Format(time.RFC3339), end.Format(time.RFC3339), *page.Total, MaxOffset)
			}
			mid := start.Add(end.Sub(start) / 2).Truncate(time.Second)
			s.log.DebugContext(ctx, "pagerduty window split", "source", s.Name(), "since", start, "until", end, "total", *page.Total)
			if err := s.window(ctx, start, mid, emit); err != nil {
				return err
			}
			return s.window(ctx, mid, end, emit)
		}
		for _, raw := range page.Incidents {
			if err := s.incident(ctx, raw, emit); err != nil {
				return err
			}
		}
		if !*page.More || len(page.Incidents) == 0 {
			return nil
		}
		offset += len(page.Incidents)
		if offset+s.cfg.PageSize > MaxOffset {
			// Only reachable when the total was not reported.
			return fmt.Errorf("list incidents %s..%s: more than %d incidents (offset paging limit); lower window", start.Format(time.RFC3339), end.Format(time.RFC3339), MaxOffset)
		}
	}
}

func (s *Source) incidentsURL(start, end time.Time, offset int, total bool) string {
	q := url.Values{}
	q.Set("since", start.UTC().Format(time.RFC3339))
	q.Set("until", end.UTC().Format(time.RFC3339))
	q.Set("limit", strconv.Itoa(s.cfg.PageSize))
	q.Set("offset", strconv.Itoa(offset))
	q.Set("time_zone", "UTC")
	q.Set("sort_by", "created_at:asc")
	if total {
		q.Set("total", "true")
	}
	for _, id := range s.cfg.ServiceIDs {
		q.Add("service_ids[]", id)
	}
	for _, id := range s.cfg.TeamIDs {
		q.Add("team_ids[]", id)
	}
	return s.cfg.URL + "/incidents?" + q.Encode()
}

// incident reads one incident's sub-resources and emits its alert.
func (s *Source) incident(ctx context.Context, raw json.RawMessage, emit func(ingest.Alert) error) error {
	var head struct {
		ID        string `json:"id"`
		CreatedAt string `json:"created_at"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.ID == "" {
		return fmt.Errorf("list incidents: malformed incident %.80s", raw)
	}
	if _, err := parseTime("created_at", head.CreatedAt, true); err != nil {
		return fmt.Errorf("incident %s: %w", head.ID, err)
	}
	rec := record{Incident: raw, LogEntriesFetched: true}
	base := s.cfg.URL + "/incidents/" + url.PathEscape(head.ID)
	for offset := 0; ; {
		var page struct {
			LogEntries []json.RawMessage `json:"log_entries"`
			More       *bool             `json:"more"`
		}
		u := base + "/log_entries?" + url.Values{"limit": {"100"}, "offset": {strconv.Itoa(offset)}, "time_zone": {"UTC"}}.Encode()
		if _, err := s.get(ctx, u, &page); err != nil {
			return fmt.Errorf("incident %s log entries: %w", head.ID, err)
		}
		if page.More == nil {
			return fmt.Errorf("incident %s log entries: malformed response: no \"more\"", head.ID)
		}
		rec.LogEntries = append(rec.LogEntries, page.LogEntries...)
		if !*page.More || len(page.LogEntries) == 0 {
			break
		}
		offset += len(page.LogEntries)
	}
	for _, from := range s.cfg.Disposition.From {
		switch from {
		case "note":
			var notes struct {
				Notes *[]json.RawMessage `json:"notes"`
			}
			if _, err := s.get(ctx, base+"/notes", &notes); err != nil {
				return fmt.Errorf("incident %s notes: %w", head.ID, err)
			}
			if notes.Notes == nil {
				return fmt.Errorf("incident %s notes: malformed response: no \"notes\"", head.ID)
			}
			rec.Notes = *notes.Notes
		case "custom_field":
			var fields struct {
				CustomFields *[]json.RawMessage `json:"custom_fields"`
			}
			if _, err := s.get(ctx, base+"/custom_fields/values", &fields); err != nil {
				return fmt.Errorf("incident %s custom fields: %w", head.ID, err)
			}
			if fields.CustomFields == nil {
				return fmt.Errorf("incident %s custom fields: malformed response: no \"custom_fields\"", head.ID)
			}
			rec.CustomFields = *fields.CustomFields
		}
	}
	payload, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	a, err := s.norm.alert(&rec, payload)
	if err != nil {
		return err
	}
	return emit(a)
}

// get fetches u into dst and returns the body.
func (s *Source) get(ctx context.Context, u string, dst any) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Token token="+s.cfg.Token)
	req.Header.Set("Accept", "application/vnd.pagerduty+json;version=2")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := transport.Check(resp, "the PagerDuty API token of "+s.Name()); err != nil {
		return nil, err
	}
	body, err := transport.ReadLimited(resp.Body, s.cfg.MaxResponseBytes)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", transport.RedactURL(req.URL), err)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return nil, fmt.Errorf("GET %s: malformed response: %w", transport.RedactURL(req.URL), err)
	}
	return body, nil
}

// Import reads an export and stores its incidents as alerts, all or
// nothing; it does not move the watermark. The export is either JSON Lines
// of records as Pull keeps them ({"incident": {...}, "log_entries": [...],
// "notes": [...], "custom_fields": [...]}, one per line, the raw payloads
// of this connector), JSON Lines of bare incident objects, or one
// GET /incidents response ({"incidents": [...]}). Without log entries the
// first triage comes from acknowledgements[] (empty once resolved). name
// names the file in errors.
func (s *Source) Import(ctx context.Context, r io.Reader, name string) (ingest.AlertSummary, error) {
	data, err := transport.ReadLimited(r, s.cfg.MaxResponseBytes)
	if err != nil {
		return ingest.AlertSummary{}, fmt.Errorf("import %s: %w", name, err)
	}
	recs, err := parseExport(data)
	if err != nil {
		return ingest.AlertSummary{}, fmt.Errorf("import %s: %w", name, err)
	}
	alerts := make([]ingest.Alert, 0, len(recs))
	for i := range recs {
		if err := ctx.Err(); err != nil {
			return ingest.AlertSummary{}, err
		}
		payload, _ := json.Marshal(recs[i].rec)
		a, err := s.norm.alert(&recs[i].rec, payload)
		if err != nil {
			return ingest.AlertSummary{}, fmt.Errorf("import %s: %s: %w", name, recs[i].where, err)
		}
		alerts = append(alerts, a)
	}
	sum, err := s.store.ImportAlerts(ctx, s.Name(), System, alerts)
	if err != nil {
		return sum, fmt.Errorf("import %s: %w", name, err)
	}
	return sum, nil
}

type exportRecord struct {
	rec   record
	where string
}

func parseExport(data []byte) ([]exportRecord, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty file")
	}
	var page struct {
		Incidents *[]json.RawMessage `json:"incidents"`
	}
	if trimmed[0] == '{' && json.Unmarshal(trimmed, &page) == nil && page.Incidents != nil {
		out := make([]exportRecord, 0, len(*page.Incidents))
		for i, raw := range *page.Incidents {
			out = append(out, exportRecord{record{Incident: raw}, fmt.Sprintf("incidents[%d]", i)})
		}
		return out, nil
	}
	var out []exportRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), len(data)+1)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		where := "line " + strconv.Itoa(line)
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(text, &probe); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if _, ok := probe["incident"]; ok {
			var rec record
			if err := json.Unmarshal(text, &rec); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			out = append(out, exportRecord{rec, where})
			continue
		}
		out = append(out, exportRecord{record{Incident: append(json.RawMessage(nil), text...)}, where})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no incidents")
	}
	return out, nil
}
