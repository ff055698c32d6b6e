// Package thehive reads TheHive 5 alerts and cases as alerts: incrementally
// through the query API (POST /api/v1/query with listAlert/listCase, a
// filter on _createdAt/_updatedAt, and page from/to), and from files of
// the same objects.
//
// Alert ids are "alert:<_id>" and case ids "case:<_id>"; an alert imported
// into a case links it (Incident) and carries no disposition of its own:
// the case holds the verdict. See docs/alerts.md.
package thehive

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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/transport"
)

// System is the source type and the prefix of source names.
const System = "thehive"

// Source pulls and imports the alerts and cases of one organisation.
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

// Name is the source name, "thehive:<instance>".
func (s *Source) Name() string { return System + ":" + s.cfg.Name }

// Pull reads the alerts and cases created or updated since the watermark
// minus the overlap, stores them, then advances the watermark; see
// ingest.Store.PullAlerts. A rejected API key is an error wrapping
// transport.ErrUnauthorized.
func (s *Source) Pull(ctx context.Context, opts ingest.PullOptions) (ingest.AlertSummary, error) {
	now := s.Now()
	return s.store.PullAlerts(ctx, ingest.AlertPull{
		Source:     s.Name(),
		SourceType: System,
		Start:      now.Add(-s.cfg.InitialLookback),
		Overlap:    s.cfg.Overlap,
		Fetch: func(ctx context.Context, since time.Time, emit func(ingest.Alert) error) (time.Time, error) {
			for _, obj := range s.cfg.Objects {
				if err := s.list(ctx, obj, since, emit); err != nil {
					return time.Time{}, err
				}
			}
			return now, nil
		},
	}, opts)
}

// list pages through one object type, sorted by _createdAt (which does not
// change, so no object moves between pages while paging).
func (s *Source) list(ctx context.Context, obj string, since time.Time, emit func(ingest.Alert) error) error {
	op := map[string]string{"alert": "listAlert", "case": "listCase"}[obj]
	ms := since.UnixMilli()
	for from := 0; ; from += s.cfg.PageSize {
		body, _ := json.Marshal(map[string]any{"query": []any{
			map[string]any{"_name": op},
			map[string]any{"_name": "filter", "_or": []any{
				map[string]any{"_gte": map[string]any{"_field": "_updatedAt", "_value": ms}},
				map[string]any{"_gte": map[string]any{"_field": "_createdAt", "_value": ms}},
			}},
			map[string]any{"_name": "sort", "_fields": []any{map[string]any{"_createdAt": "asc"}}},
			map[string]any{"_name": "page", "from": from, "to": from + s.cfg.PageSize},
		}})
		var page []json.RawMessage
		if err := s.query(ctx, body, &page); err != nil {
			return fmt.Errorf("%s from %d: %w", op, from, err)
		}
		for i, raw := range page {
			a, err := s.norm.alert(raw, obj)
			if err != nil {
				return fmt.Errorf("%s from %d item %d: %w", op, from, i, err)
			}
			if err := emit(a); err != nil {
				return err
			}
		}
		if len(page) < s.cfg.PageSize {
			return nil
		}
	}
}

func (s *Source) query(ctx context.Context, body []byte, dst *[]json.RawMessage) error {
	// A query only reads: safe to send again after a 429/5xx.
	req, err := http.NewRequestWithContext(transport.AllowRetry(ctx), http.MethodPost, s.cfg.URL+"/api/v1/query", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.cfg.APIKey)
	req.Header.Set("Content-Type", "application/json")
	if s.cfg.Organisation != "" {
		req.Header.Set("X-Organisation", s.cfg.Organisation)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := transport.Check(resp, "the TheHive API key of "+s.Name()); err != nil {
		return err
	}
	data, err := transport.ReadLimited(resp.Body, s.cfg.MaxResponseBytes)
	if err != nil {
		return fmt.Errorf("POST %s: %w", transport.RedactURL(req.URL), err)
	}
	var list *[]json.RawMessage
	if err := json.Unmarshal(data, &list); err != nil {
		return fmt.Errorf("POST %s: malformed response: %w", transport.RedactURL(req.URL), err)
	}
	if list == nil {
		return fmt.Errorf("POST %s: malformed response: not a list", transport.RedactURL(req.URL))
	}
	*dst = *list
	return nil
}

// Import reads alerts and cases as the query API returns them (a JSON
// array, or JSON Lines of objects; _type tells alerts from cases) and
// stores them, all or nothing; it does not move the watermark. name names
// the file in errors.
func (s *Source) Import(ctx context.Context, r io.Reader, name string) (ingest.AlertSummary, error) {
	data, err := transport.ReadLimited(r, s.cfg.MaxResponseBytes)
	if err != nil {
		return ingest.AlertSummary{}, fmt.Errorf("import %s: %w", name, err)
	}
	alerts, err := s.norm.file(ctx, data)
	if err != nil {
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
	var items []json.RawMessage
	var where []string
	if trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, err
		}
		for i := range items {
			where = append(where, fmt.Sprintf("item %d", i))
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64<<10), len(data)+1)
		for line := 1; sc.Scan(); line++ {
			text := bytes.TrimSpace(sc.Bytes())
			if len(text) == 0 {
				continue
			}
			if !json.Valid(text) {
				return nil, fmt.Errorf("line %d: malformed JSON", line)
			}
			items = append(items, append(json.RawMessage(nil), text...))
			where = append(where, "line "+strconv.Itoa(line))
		}
	}
	if len(items) == 0 {
		return nil, errors.New("no alerts or cases")
	}
	out := make([]ingest.Alert, 0, len(items))
	for i, raw := range items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a, err := n.alert(raw, "")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where[i], err)
		}
		out = append(out, a)
	}
	return out, nil
}

// normalizer turns TheHive objects into alerts.
type normalizer struct {
	source string
	cfg    Config
	disp   ingest.DispositionMap
}

// object is the part of a TheHive alert or case that is read. Times are
// epoch milliseconds.
type object struct {
	ID            string   `json:"_id"`
	Type          string   `json:"_type"`
	CreatedAt     *int64   `json:"_createdAt"`
	UpdatedAt     *int64   `json:"_updatedAt"`
	UpdatedBy     string   `json:"_updatedBy"`
	Title         string   `json:"title"`
	AlertType     string   `json:"type"`
	SourceName    string   `json:"source"`
	Severity      int      `json:"severity"`
	SeverityLabel string   `json:"severityLabel"`
	Status        string   `json:"status"`
	Stage         string   `json:"stage"`
	ImpactStatus  string   `json:"impactStatus"`
	Assignee      string   `json:"assignee"`
	CaseID        string   `json:"caseId"`
	Number        int64    `json:"number"`
	Tags          []string `json:"tags"`
	InProgress    *int64   `json:"inProgressDate"`
	Imported      *int64   `json:"importedDate"`
	ClosedDate    *int64   `json:"closedDate"`
	EndDate       *int64   `json:"endDate"`
}

func ms(p *int64) time.Time {
	if p == nil || *p <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(*p).UTC()
}

// closedStatuses are the statuses of TheHive's default Closed stage (for
// objects without a stage, from before 5.1).
var closedStatuses = []string{"TruePositive", "FalsePositive", "Indeterminate", "Other", "Duplicated", "Ignored"}

// alert normalizes one alert or case (see docs/alerts.md, TheHive). kind
// is "alert" or "case", or empty to read it from _type.
func (n *normalizer) alert(raw json.RawMessage, kind string) (ingest.Alert, error) {
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return ingest.Alert{}, fmt.Errorf("malformed object: %w", err)
	}
	if kind == "" {
		kind = strings.ToLower(o.Type)
	}
	if kind != "alert" && kind != "case" {
		return ingest.Alert{}, fmt.Errorf("object %q: _type %q is not Alert or Case", o.ID, o.Type)
	}
	if o.ID == "" {
		return ingest.Alert{}, fmt.Errorf("%s without _id", kind)
	}
	id := kind + ":" + o.ID
	if o.CreatedAt == nil || *o.CreatedAt <= 0 {
		return ingest.Alert{}, fmt.Errorf("%s: _createdAt missing", id)
	}
	if o.Status == "" {
		return ingest.Alert{}, fmt.Errorf("%s: status missing", id)
	}
	a := ingest.Alert{
		Source:   n.source,
		ID:       id,
		RuleName: o.Title,
		Created:  ms(o.CreatedAt),
		Updated:  ms(o.UpdatedAt),
		Status:   o.Status,
		Assignee: o.Assignee,
		Raw:      raw,
	}
	if a.Updated.IsZero() {
		a.Updated = a.Created
	}
	a.Severity, a.OriginalSeverity = severity(o.Severity, o.SeverityLabel)
	closed := o.Stage == "Closed" || o.Stage == "" && slices.Contains(closedStatuses, o.Status)
	// First triage: the first move out of New (in progress, imported into
	// a case, or closed), whichever came first.
	for _, t := range []time.Time{ms(o.InProgress), ms(o.Imported), ms(o.ClosedDate)} {
		if !t.IsZero() && (a.FirstTriage.IsZero() || t.Before(a.FirstTriage)) {
			a.FirstTriage = t
		}
	}
	if closed {
		a.Closed = ms(o.ClosedDate)
		if a.Closed.IsZero() {
			a.Closed = ms(o.EndDate)
		}
		if a.Closed.IsZero() {
			a.Closed = a.Updated
		}
		if a.FirstTriage.IsZero() {
			a.FirstTriage = a.Closed
		}
		a.AutoClosed = o.UpdatedBy != "" && slices.Contains(n.cfg.AutomationUsers, o.UpdatedBy)
	}
	candidates := []string{prefixed("assignee:", o.Assignee)}
	for _, t := range o.Tags {
		candidates = append(candidates, "tag:"+t)
	}
	if kind == "alert" {
		a.RuleID = o.AlertType
		if o.CaseID != "" {
			a.Incident = "case:" + o.CaseID
		}
		candidates = append(candidates, prefixed("source:", o.SourceName))
	} else if o.Number > 0 {
		a.Incident = "#" + strconv.FormatInt(o.Number, 10)
	}
	n.cfg.Mapping.MapTeam(&a, candidates...)

	if closed {
		original := o.Status
		if o.ImpactStatus != "" {
			original += "/" + o.ImpactStatus
		}
		if _, ok := n.disp.Map(original); !ok && o.ImpactStatus != "" {
			if d, ok := n.disp.Map(o.Status); ok {
				a.Disposition, a.OriginalDisposition = d, original
				return a, nil
			}
		}
		ingest.MapDisposition(&a, n.disp, original)
	}
	return a, nil
}

// severity maps TheHive's 1-4 scale.
func severity(n int, label string) (ingest.Severity, string) {
	original := label
	if original == "" && n > 0 {
		original = strconv.Itoa(n)
	}
	switch n {
	case 1:
		return ingest.Low, original
	case 2:
		return ingest.Medium, original
	case 3:
		return ingest.High, original
	case 4:
		return ingest.Critical, original
	}
	return ingest.ParseSeverity(label), original
}

func prefixed(p, v string) string {
	if v == "" {
		return ""
	}
	return p + v
}
