// Package elastic reads Elastic Security detection alerts as alerts:
// incrementally from Elasticsearch (POST /<alerts index>/_search paged with
// search_after) or Kibana (POST /api/detection_engine/signals/search), and
// from NDJSON files of search hits.
//
// A pull reads the alerts created, or whose workflow status changed, since
// the watermark minus the overlap, sorted by (@timestamp,
// kibana.alert.uuid). Elastic keeps only the latest status change
// (kibana.alert.workflow_status_updated_at): the first triage is that time
// as first seen out of "open" by a pull, kept across pulls (an upper bound
// as tight as the pull interval). See docs/alerts.md.
package elastic

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
	"slices"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/transport"
)

// System is the source type and the prefix of source names.
const System = "elastic"

// Source pulls and imports the detection alerts of one deployment.
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
// carry its API key.
func New(cfg Config, store *ingest.Store, log *slog.Logger) (*Source, error) {
	if err := cfg.Validate(System); err != nil {
		return nil, err
	}
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("%s %s: no API key (api_key_env or api_key_file resolved to nothing)", System, cfg.Name)
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
		HTTP:  &http.Client{Timeout: cfg.Timeout, Transport: &transport.Transport{Limit: 2, Log: log}},
		Now:   func() time.Time { return time.Now().UTC() },
	}, nil
}

// Name is the source name, "elastic:<instance>".
func (s *Source) Name() string { return System + ":" + s.cfg.Name }

// Pull reads the alerts created or whose status changed since the
// watermark minus the overlap and stores them, then advances the
// watermark; see ingest.Store.PullAlerts. A rejected API key is an error
// wrapping transport.ErrUnauthorized; a response that timed out or has
// failed shards is an error (its hits may be incomplete).
func (s *Source) Pull(ctx context.Context, opts ingest.PullOptions) (ingest.AlertSummary, error) {
	now := s.Now()
	return s.store.PullAlerts(ctx, ingest.AlertPull{
		Source:     s.Name(),
		SourceType: System,
		Start:      now.Add(-s.cfg.InitialLookback),
		Overlap:    s.cfg.Overlap,
		Fetch: func(ctx context.Context, since time.Time, emit func(ingest.Alert) error) (time.Time, error) {
			return now, s.fetch(ctx, since, now, emit)
		},
		Prepare: func(ctx context.Context, batch []ingest.Alert) error {
			return carryOver(ctx, s.store, s.Name(), batch)
		},
	}, opts)
}

// carryOver keeps the earliest first-triage time known for each alert.
func carryOver(ctx context.Context, store *ingest.Store, source string, batch []ingest.Alert) error {
	ids := make([]string, len(batch))
	for i := range batch {
		ids[i] = batch[i].ID
	}
	prev, err := store.AlertsByID(ctx, source, ids)
	if err != nil {
		return err
	}
	for i := range batch {
		a := &batch[i]
		if p, ok := prev[a.ID]; ok && !p.FirstTriage.IsZero() && (a.FirstTriage.IsZero() || p.FirstTriage.Before(a.FirstTriage)) {
			a.FirstTriage = p.FirstTriage
		}
	}
	return nil
}

// query builds the search body of one page after the sort key after.
func (s *Source) query(since, until time.Time, after []any) ([]byte, error) {
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	filter := []any{
		map[string]any{"bool": map[string]any{
			"should": []any{
				map[string]any{"range": map[string]any{"@timestamp": map[string]any{"gte": ts(since), "lt": ts(until)}}},
				map[string]any{"range": map[string]any{"kibana.alert.workflow_status_updated_at": map[string]any{"gte": ts(since), "lt": ts(until)}}},
			},
			"minimum_should_match": 1,
		}},
	}
	var mustNot []any
	if !s.cfg.IncludeBuildingBlocks {
		mustNot = append(mustNot, map[string]any{"exists": map[string]any{"field": "kibana.alert.building_block_type"}})
	}
	body := map[string]any{
		"size":             s.cfg.PageSize,
		"sort":             []any{map[string]any{"@timestamp": "asc"}, map[string]any{"kibana.alert.uuid": "asc"}},
		"track_total_hits": false,
	}
	if after != nil {
		if s.cfg.API == "elasticsearch" {
			body["search_after"] = after
		} else {
			// Kibana's route takes no search_after: the same keyset as a
			// filter, (@timestamp, uuid) > after.
			filter = append(filter, map[string]any{"bool": map[string]any{
				"should": []any{
					map[string]any{"range": map[string]any{"@timestamp": map[string]any{"gt": after[0]}}},
					map[string]any{"bool": map[string]any{"filter": []any{
						map[string]any{"term": map[string]any{"@timestamp": after[0]}},
						map[string]any{"range": map[string]any{"kibana.alert.uuid": map[string]any{"gt": after[1]}}},
					}}},
				},
				"minimum_should_match": 1,
			}})
		}
	}
	q := map[string]any{"filter": filter}
	if mustNot != nil {
		q["must_not"] = mustNot
	}
	body["query"] = map[string]any{"bool": q}
	return json.Marshal(body)
}

// searchResponse is the part of an Elasticsearch search response read.
type searchResponse struct {
	TimedOut bool `json:"timed_out"`
	Shards   *struct {
		Failed int `json:"failed"`
	} `json:"_shards"`
	Hits *struct {
		Hits []json.RawMessage `json:"hits"`
	} `json:"hits"`
}

type hit struct {
	ID     string          `json:"_id"`
	Source json.RawMessage `json:"_source"`
	Sort   []any           `json:"sort"`
}

func (s *Source) fetch(ctx context.Context, since, until time.Time, emit func(ingest.Alert) error) error {
	u := s.cfg.URL + "/" + url.PathEscape(s.cfg.Index) + "/_search"
	if s.cfg.API == "kibana" {
		u = s.cfg.URL + "/s/" + url.PathEscape(s.cfg.Space) + "/api/detection_engine/signals/search"
	}
	var after []any
	for page := 1; ; page++ {
		body, err := s.query(since, until, after)
		if err != nil {
			return err
		}
		var resp searchResponse
		if err := s.post(ctx, u, body, &resp); err != nil {
			return fmt.Errorf("search alerts page %d: %w", page, err)
		}
		switch {
		case resp.Hits == nil:
			return fmt.Errorf("search alerts page %d: malformed response: no hits", page)
		case resp.TimedOut:
			return fmt.Errorf("search alerts page %d: the search timed out (partial results)", page)
		case resp.Shards != nil && resp.Shards.Failed > 0:
			return fmt.Errorf("search alerts page %d: %d shards failed (partial results)", page, resp.Shards.Failed)
		}
		for i, raw := range resp.Hits.Hits {
			var h hit
			if err := json.Unmarshal(raw, &h); err != nil {
				return fmt.Errorf("search alerts page %d hit %d: malformed: %w", page, i, err)
			}
			if len(h.Sort) != 2 {
				return fmt.Errorf("search alerts page %d hit %d: malformed: sort has %d values, want 2", page, i, len(h.Sort))
			}
			a, err := s.norm.alert(h.ID, h.Source, raw)
			if err != nil {
				return fmt.Errorf("search alerts page %d hit %d: %w", page, i, err)
			}
			if err := emit(a); err != nil {
				return err
			}
			after = h.Sort
		}
		if len(resp.Hits.Hits) < s.cfg.PageSize {
			return nil
		}
	}
}

func (s *Source) post(ctx context.Context, u string, body []byte, dst any) error {
	// A search only reads: safe to send again after a 429/5xx.
	req, err := http.NewRequestWithContext(transport.AllowRetry(ctx), http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "ApiKey "+s.cfg.APIKey)
	req.Header.Set("Content-Type", "application/json")
	if s.cfg.API == "kibana" {
		req.Header.Set("kbn-xsrf", "secmetrics")
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := transport.Check(resp, "the Elastic API key of "+s.Name()); err != nil {
		return err
	}
	data, err := transport.ReadLimited(resp.Body, s.cfg.MaxResponseBytes)
	if err != nil {
		return fmt.Errorf("POST %s: %w", transport.RedactURL(req.URL), err)
	}
	if err := json.Unmarshal(data, dst); err != nil {
		return fmt.Errorf("POST %s: malformed response: %w", transport.RedactURL(req.URL), err)
	}
	return nil
}

// Import reads NDJSON of search hits ({"_id": ..., "_source": {...}} per
// line, as an export of the alerts index gives), of bare alert documents,
// or one search response ({"hits": {"hits": [...]}}) and stores the alerts,
// all or nothing; it does not move the watermark. name names the file in
// errors.
func (s *Source) Import(ctx context.Context, r io.Reader, name string) (ingest.AlertSummary, error) {
	data, err := transport.ReadLimited(r, s.cfg.MaxResponseBytes)
	if err != nil {
		return ingest.AlertSummary{}, fmt.Errorf("import %s: %w", name, err)
	}
	alerts, err := s.norm.file(ctx, data)
	if err != nil {
		return ingest.AlertSummary{}, fmt.Errorf("import %s: %w", name, err)
	}
	if err := carryOver(ctx, s.store, s.Name(), alerts); err != nil {
		return ingest.AlertSummary{}, fmt.Errorf("import %s: %w", name, err)
	}
	sum, err := s.store.ImportAlerts(ctx, s.Name(), System, alerts)
	if err != nil {
		return sum, fmt.Errorf("import %s: %w", name, err)
	}
	return sum, nil
}

func (n *normalizer) file(ctx context.Context, data []byte) ([]ingest.Alert, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty file")
	}
	var whole searchResponse
	if json.Unmarshal(trimmed, &whole) == nil && whole.Hits != nil {
		out := make([]ingest.Alert, 0, len(whole.Hits.Hits))
		for i, raw := range whole.Hits.Hits {
			var h hit
			if err := json.Unmarshal(raw, &h); err != nil {
				return nil, fmt.Errorf("hits[%d]: %w", i, err)
			}
			a, err := n.alert(h.ID, h.Source, raw)
			if err != nil {
				return nil, fmt.Errorf("hits[%d]: %w", i, err)
			}
			out = append(out, a)
		}
		return out, nil
	}
	var out []ingest.Alert
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), len(data)+1)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var h hit
		if err := json.Unmarshal(text, &h); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		raw := append(json.RawMessage(nil), text...)
		src := h.Source
		if src == nil {
			src = raw // a bare alert document
		}
		a, err := n.alert(h.ID, src, raw)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no alerts")
	}
	return out, nil
}

// normalizer turns alert documents into alerts.
type normalizer struct {
	source string
	cfg    Config
	disp   ingest.DispositionMap
}

// doc is an alert _source, with dotted keys ("kibana.alert.uuid", as
// alerts-as-data writes them) or nested objects, or a mix.
type doc map[string]any

// get returns the value at a dotted path, trying the longest dotted key at
// each level.
func (d doc) get(path string) any {
	var walk func(m map[string]any, parts []string) any
	walk = func(m map[string]any, parts []string) any {
		for i := len(parts); i >= 1; i-- {
			v, ok := m[strings.Join(parts[:i], ".")]
			if !ok {
				continue
			}
			if i == len(parts) {
				return v
			}
			if sub, ok := v.(map[string]any); ok {
				if r := walk(sub, parts[i:]); r != nil {
					return r
				}
			}
		}
		return nil
	}
	return walk(d, strings.Split(path, "."))
}

// str returns a string value, or the first of a list.
func (d doc) str(path string) string {
	switch v := d.get(path).(type) {
	case string:
		return strings.TrimSpace(v)
	case []any:
		if len(v) > 0 {
			if s, ok := v[0].(string); ok {
				return strings.TrimSpace(s)
			}
		}
	case float64:
		return fmt.Sprint(v)
	}
	return ""
}

func (d doc) strs(path string) []string {
	switch v := d.get(path).(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (d doc) time(path string) (time.Time, error) {
	s := d.str(path)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", path, err)
	}
	return t.UTC(), nil
}

// alert normalizes one alert document (see docs/alerts.md, Elastic
// Security). id is the hit's _id, used when the document has no
// kibana.alert.uuid.
func (n *normalizer) alert(id string, source, raw json.RawMessage) (ingest.Alert, error) {
	var d doc
	if err := json.Unmarshal(source, &d); err != nil || d == nil {
		return ingest.Alert{}, fmt.Errorf("malformed alert document: %v", err)
	}
	if u := d.str("kibana.alert.uuid"); u != "" {
		id = u
	}
	if id == "" {
		return ingest.Alert{}, errors.New("alert without kibana.alert.uuid or _id")
	}
	fail := func(err error) (ingest.Alert, error) { return ingest.Alert{}, fmt.Errorf("alert %s: %w", id, err) }
	created, err := d.time("@timestamp")
	if err != nil {
		return fail(err)
	}
	if created.IsZero() {
		return fail(errors.New("@timestamp missing"))
	}
	changed, err := d.time("kibana.alert.workflow_status_updated_at")
	if err != nil {
		return fail(err)
	}
	status := d.str("kibana.alert.workflow_status")
	if status == "" {
		status = d.str("signal.status") // alerts written before 8.0
	}
	if status == "" {
		return fail(errors.New("kibana.alert.workflow_status missing"))
	}
	a := ingest.Alert{
		Source:           n.source,
		ID:               id,
		RuleID:           firstNonEmpty(d.str("kibana.alert.rule.rule_id"), d.str("kibana.alert.rule.uuid")),
		RuleName:         d.str("kibana.alert.rule.name"),
		OriginalSeverity: d.str("kibana.alert.severity"),
		Created:          created,
		Updated:          created,
		Status:           status,
		Asset:            firstNonEmpty(d.str("host.name"), d.str("user.name"), d.str("source.ip")),
		Incident:         d.str("kibana.alert.case_ids"),
		Raw:              raw,
	}
	a.Severity = ingest.ParseSeverity(a.OriginalSeverity)
	if changed.After(a.Updated) {
		a.Updated = changed
	}
	if status != "open" && !changed.IsZero() {
		a.FirstTriage = changed
	}
	if status == "closed" {
		a.Closed = changed
		if a.Closed.IsZero() {
			return fail(errors.New("closed without kibana.alert.workflow_status_updated_at"))
		}
		a.AutoClosed = slices.Contains(n.cfg.AutomationUsers, d.str("kibana.alert.workflow_user"))
	}
	assignees := d.strs("kibana.alert.workflow_assignee_ids")
	if len(assignees) > 0 {
		a.Assignee = assignees[0]
	}
	candidates := []string{}
	for _, u := range assignees {
		candidates = append(candidates, "assignee:"+u)
	}
	candidates = append(candidates, prefixed("rule:", a.RuleName))
	for _, t := range d.strs("kibana.alert.rule.tags") {
		candidates = append(candidates, "rule_tag:"+t)
	}
	for _, sp := range d.strs("kibana.space_ids") {
		candidates = append(candidates, "space:"+sp)
	}
	n.cfg.Mapping.MapTeam(&a, candidates...)

	// Disposition: the close reason, else (closed alerts) the first
	// workflow tag the table knows.
	original := d.str("kibana.alert.workflow_reason")
	if original == "" && status == "closed" {
		for _, t := range d.strs("kibana.alert.workflow_tags") {
			if _, ok := n.disp.Map("tag:" + t); ok {
				original = "tag:" + t
				break
			}
		}
	}
	ingest.MapDisposition(&a, n.disp, original)
	return a, nil
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
