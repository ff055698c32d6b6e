package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/secmetrics/secmetrics/queries"
)

// Disposition is an alert's triage verdict, normalized. The source's own
// value is always kept beside it (Alert.OriginalDisposition).
type Disposition string

// The normalized dispositions (docs/alerts.md). DispositionNone means the
// alert carries no verdict (yet); DispositionUndetermined means it carries
// one that says "cannot tell", or one that maps to nothing we know.
const (
	DispositionNone           Disposition = ""
	DispositionTruePositive   Disposition = "true_positive"
	DispositionBenignPositive Disposition = "benign_positive"
	DispositionFalsePositive  Disposition = "false_positive"
	DispositionDuplicate      Disposition = "duplicate"
	DispositionUndetermined   Disposition = "undetermined"
)

// AlertDispositions lists every disposition, none last.
var AlertDispositions = []Disposition{
	DispositionTruePositive, DispositionBenignPositive, DispositionFalsePositive,
	DispositionDuplicate, DispositionUndetermined, DispositionNone,
}

// ParseDisposition returns the Disposition named s; "none" and "" are
// DispositionNone. Anything else is an error naming the valid values.
func ParseDisposition(s string) (Disposition, error) {
	switch v := strings.TrimSpace(s); v {
	case "", "none":
		return DispositionNone, nil
	default:
		for _, d := range AlertDispositions {
			if string(d) == v {
				return d, nil
			}
		}
	}
	return "", fmt.Errorf("unknown disposition %q (want one of true_positive, benign_positive, false_positive, duplicate, undetermined, none)", s)
}

// label is the disposition's name in the alerts table and in reports.
func (d Disposition) label() string {
	if d == DispositionNone {
		return "none"
	}
	return string(d)
}

// DispositionMap maps a source's own disposition values to dispositions.
// Keys are compared without case and surrounding space. Build one with
// NewDispositionMap.
type DispositionMap map[string]Disposition

// NewDispositionMap returns defaults overridden by overrides, whose values
// are disposition names (ParseDisposition). It returns an error listing
// every override whose value is not a disposition.
func NewDispositionMap(defaults map[string]Disposition, overrides map[string]string) (DispositionMap, error) {
	m := make(DispositionMap, len(defaults)+len(overrides))
	for k, v := range defaults {
		m[dispositionKey(k)] = v
	}
	var errs []error
	for _, k := range alertSortedKeys(overrides) {
		d, err := ParseDisposition(overrides[k])
		if err != nil {
			errs = append(errs, fmt.Errorf("%q: %w", k, err))
			continue
		}
		m[dispositionKey(k)] = d
	}
	return m, errors.Join(errs...)
}

func dispositionKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Map returns the disposition of a source value. An empty value is
// DispositionNone (ok). A value the map does not know is
// DispositionUndetermined with ok false: it is stored, never dropped, and
// reported as unmapped.
func (m DispositionMap) Map(original string) (d Disposition, ok bool) {
	if strings.TrimSpace(original) == "" {
		return DispositionNone, true
	}
	if d, ok := m[dispositionKey(original)]; ok {
		return d, true
	}
	return DispositionUndetermined, false
}

// Alert is one security alert (a detection that a person is meant to
// triage), normalized. Connectors fill it from a source's payload; the
// store writes it as it is.
type Alert struct {
	// Source is "<system>:<instance>", e.g. "pagerduty:main". Required.
	Source string
	// ID identifies the alert within Source (the source's own id).
	// Required.
	ID string

	// RuleID and RuleName name the detection rule (correlation search,
	// analytics rule, service) that raised the alert.
	RuleID   string
	RuleName string

	Severity         Severity
	OriginalSeverity string // the source's own severity text, as written

	// Created is when the alert was raised. Required.
	Created time.Time
	// FirstTriage is the first acknowledgement, or the first status change
	// out of new, whichever came first; zero while untriaged.
	FirstTriage time.Time
	// Closed is when the alert was closed or resolved; zero while open.
	Closed time.Time
	// Updated is when the source last changed the alert. It orders the
	// stored versions (see SaveAlerts); zero means "now".
	Updated time.Time

	// Status is the source's own status text ("resolved", "Closed", ...).
	Status string

	Disposition Disposition
	// OriginalDisposition is the source value the disposition was mapped
	// from, as written (e.g. "FalsePositive/InaccurateData",
	// "disposition:3"); empty when the source gave none.
	OriginalDisposition string
	// AutoClosed is true when automation, not a person, closed the alert.
	AutoClosed bool

	Assignee string
	Team     string // our team, after the configured mapping
	Asset    string // the asset or service the alert is about
	Incident string // the linked incident or case, if any

	// Raw is the source payload the alert was read from, kept in
	// raw_payloads (kind "alert", key ID) so that it can be re-normalized
	// without re-fetching; nil keeps nothing.
	Raw []byte
	// Unmapped lists source values that no mapping knew, as
	// "disposition=<value>" or "team=<candidates>", for dry runs and
	// summaries. It is not stored.
	Unmapped []string
}

// alertColumns is the column list of every insert into alerts.
const alertColumns = "source, alert_id, rule_id, rule_name, severity, original_severity, created, first_triage, closed, status, disposition, original_disposition, auto_closed, assignee, team, asset, incident, updated, version"

// alertBatch is the most alerts written in one insert.
const alertBatch = 5000

// checkAlert reports what makes a unwritable.
func checkAlert(a *Alert) error {
	var probs []string
	if a.Source == "" {
		probs = append(probs, "no source")
	}
	if a.ID == "" {
		probs = append(probs, "no id")
	}
	if a.Created.IsZero() {
		probs = append(probs, "no created time")
	}
	for _, t := range []struct {
		name string
		v    time.Time
	}{{"created", a.Created}, {"first triage", a.FirstTriage}, {"closed", a.Closed}, {"updated", a.Updated}} {
		if !t.v.IsZero() && (t.v.Unix() < 0 || t.v.Unix() >= 1<<32) {
			probs = append(probs, fmt.Sprintf("%s time %s outside 1970-2106", t.name, t.v.UTC().Format(time.RFC3339)))
		}
	}
	if _, err := ParseDisposition(string(a.Disposition)); err != nil {
		probs = append(probs, err.Error())
	}
	switch a.Severity {
	case "", Critical, High, Medium, Low, Info, Unknown:
	default:
		probs = append(probs, fmt.Sprintf("unknown severity %q", a.Severity))
	}
	if len(probs) == 0 {
		return nil
	}
	return errors.New(strings.Join(probs, "; "))
}

// SaveAlerts writes alerts (and their raw payloads) to the alerts table.
// It checks every alert first and writes nothing when one is invalid (no
// source, id or created time, an unknown disposition or severity, a time
// outside 1970-2106); the error names the first bad alert by index and id.
//
// alerts is a ReplacingMergeTree: the row with the highest version wins.
// The version is the alert's Updated time in nanoseconds (the write time
// when Updated is zero), so an older snapshot written later (an old export
// imported after an API pull) never replaces a newer one, while writing the
// same alert again at the same Updated time (a re-run, possibly with a new
// mapping) replaces the earlier row, since ClickHouse keeps the last
// inserted row among equal versions.
func (s *Store) SaveAlerts(ctx context.Context, alerts []Alert) error {
	for i := range alerts {
		if err := checkAlert(&alerts[i]); err != nil {
			return fmt.Errorf("save alerts: alert %d (%q): %w", i, alerts[i].ID, err)
		}
	}
	for start := 0; start < len(alerts); start += alertBatch {
		chunk := alerts[start:min(start+alertBatch, len(alerts))]
		if err := s.saveAlertRaws(ctx, chunk); err != nil {
			return fmt.Errorf("save alerts: %w", err)
		}
		now := s.version()
		rows := make([][]any, 0, len(chunk))
		for _, a := range chunk {
			sev := a.Severity
			if sev == "" {
				sev = Unknown
			}
			ver := now
			if !a.Updated.IsZero() {
				ver = uint64(a.Updated.UnixNano())
			}
			updated := a.Updated
			if updated.IsZero() {
				updated = s.Now()
			}
			rows = append(rows, []any{
				a.Source, a.ID, a.RuleID, a.RuleName, string(sev), a.OriginalSeverity,
				a.Created.UTC(), nullTime(a.FirstTriage), nullTime(a.Closed), a.Status,
				a.Disposition.label(), a.OriginalDisposition, b2u(a.AutoClosed),
				a.Assignee, a.Team, a.Asset, a.Incident, updated.UTC(), ver,
			})
		}
		if err := s.insert(ctx, "alerts", alertColumns, rows); err != nil {
			return fmt.Errorf("save alerts: %w", err)
		}
	}
	return nil
}

// saveAlertRaws keeps the raw payloads of alerts in one insert; an alert
// given twice keeps its last payload (two rows of one key and version would
// both be read back).
func (s *Store) saveAlertRaws(ctx context.Context, alerts []Alert) error {
	type key struct{ source, id string }
	last := make(map[key]int, len(alerts))
	for i, a := range alerts {
		last[key{a.Source, a.ID}] = i
	}
	now, ver := s.Now(), s.version()
	var (
		rows [][]any
		gz   rawGzip
	)
	for i, a := range alerts {
		if len(a.Raw) == 0 || last[key{a.Source, a.ID}] != i {
			continue
		}
		b, err := gz.compress(a.Raw)
		if err != nil {
			return err
		}
		rows = append(rows, rawRows(a.Source, "alert", a.ID, b, a.Raw, now, ver)...)
	}
	if len(rows) == 0 {
		return nil
	}
	return s.insert(ctx, "raw_payloads", rawColumns, rows)
}

// Alerts returns the current alerts of source (latest version of each), in
// id order, without Raw and Unmapped. Times are UTC, whole seconds.
func (s *Store) Alerts(ctx context.Context, source string) ([]Alert, error) {
	return s.readAlerts(ctx, source, queries.SQL("ingest/alerts.sql"), source)
}

// AlertsByID returns the current state of the given alerts of source, by
// id; alerts not stored are absent. Connectors whose source keeps no
// history use it to carry values over from earlier pulls.
func (s *Store) AlertsByID(ctx context.Context, source string, ids []string) (map[string]Alert, error) {
	out := make(map[string]Alert, len(ids))
	// The ids are bound into the query text: chunks keep it well under
	// ClickHouse's max_query_size (256 KiB).
	const chunk = 1000
	for start := 0; start < len(ids); start += chunk {
		list, err := s.readAlerts(ctx, source, queries.SQL("ingest/alerts_by_id.sql"), source, ids[start:min(start+chunk, len(ids))])
		if err != nil {
			return nil, err
		}
		for _, a := range list {
			out[a.ID] = a
		}
	}
	return out, nil
}

func (s *Store) readAlerts(ctx context.Context, source, query string, args ...any) ([]Alert, error) {
	var rows []struct {
		Source              string     `ch:"source"`
		ID                  string     `ch:"alert_id"`
		RuleID              string     `ch:"rule_id"`
		RuleName            string     `ch:"rule_name"`
		Severity            string     `ch:"severity"`
		OriginalSeverity    string     `ch:"original_severity"`
		Created             time.Time  `ch:"created"`
		FirstTriage         *time.Time `ch:"first_triage"`
		Closed              *time.Time `ch:"closed"`
		Status              string     `ch:"status"`
		Disposition         string     `ch:"disposition"`
		OriginalDisposition string     `ch:"original_disposition"`
		AutoClosed          uint8      `ch:"auto_closed"`
		Assignee            string     `ch:"assignee"`
		Team                string     `ch:"team"`
		Asset               string     `ch:"asset"`
		Incident            string     `ch:"incident"`
		Updated             time.Time  `ch:"updated"`
	}
	if err := s.db.Select(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("read alerts of %s: %w", source, err)
	}
	out := make([]Alert, 0, len(rows))
	for _, r := range rows {
		d, err := ParseDisposition(r.Disposition)
		if err != nil {
			return nil, fmt.Errorf("read alerts of %s: alert %s: %w", source, r.ID, err)
		}
		a := Alert{
			Source: r.Source, ID: r.ID, RuleID: r.RuleID, RuleName: r.RuleName,
			Severity: Severity(r.Severity), OriginalSeverity: r.OriginalSeverity,
			Created: r.Created.UTC(), Status: r.Status, Disposition: d,
			OriginalDisposition: r.OriginalDisposition, AutoClosed: r.AutoClosed != 0,
			Assignee: r.Assignee, Team: r.Team, Asset: r.Asset, Incident: r.Incident,
			Updated: r.Updated.UTC(),
		}
		if r.FirstTriage != nil {
			a.FirstTriage = r.FirstTriage.UTC()
		}
		if r.Closed != nil {
			a.Closed = r.Closed.UTC()
		}
		out = append(out, a)
	}
	return out, nil
}

// AlertMapping is the mapping part of every alert connector's configuration:
// source values (services, owners, groups, labels) to our teams, and
// overrides of the connector's default disposition table.
type AlertMapping struct {
	// Teams maps a source value to a team. Each connector documents the
	// candidate keys it tries, in order (e.g. "service:Payments API",
	// "team:SOC"); keys compare without case.
	Teams map[string]string `yaml:"teams"`
	// DefaultTeam is the team of alerts that no Teams key matches ("" for
	// none); such alerts are reported as unmapped.
	DefaultTeam string `yaml:"default_team"`
	// Dispositions overrides or extends the connector's disposition table:
	// source value → true_positive, benign_positive, false_positive,
	// duplicate, undetermined or none.
	Dispositions map[string]string `yaml:"dispositions"`
}

// Validate lists every problem of m, each prefixed with its key path under
// path (e.g. "alerts.pagerduty.main.mapping").
func (m AlertMapping) Validate(path string) []error {
	var errs []error
	for _, k := range alertSortedKeys(m.Teams) {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, fmt.Errorf("%s.teams: empty key", path))
		} else if strings.TrimSpace(m.Teams[k]) == "" {
			errs = append(errs, fmt.Errorf("%s.teams[%q]: empty team", path, k))
		}
	}
	for _, k := range alertSortedKeys(m.Dispositions) {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, fmt.Errorf("%s.dispositions: empty key", path))
		}
		if _, err := ParseDisposition(m.Dispositions[k]); err != nil {
			errs = append(errs, fmt.Errorf("%s.dispositions[%q]: %w", path, k, err))
		}
	}
	return errs
}

// Team returns the team of the first candidate that Teams maps (candidates
// in priority order; empty ones are skipped), or DefaultTeam and ok false.
func (m AlertMapping) Team(candidates ...string) (team string, ok bool) {
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if t, found := m.Teams[c]; found {
			return t, true
		}
		for k, t := range m.Teams {
			if strings.EqualFold(strings.TrimSpace(k), strings.TrimSpace(c)) {
				return t, true
			}
		}
	}
	return m.DefaultTeam, false
}

// MapTeam sets a.Team from candidates and notes an unmapped value.
func (m AlertMapping) MapTeam(a *Alert, candidates ...string) {
	t, ok := m.Team(candidates...)
	a.Team = t
	if !ok {
		var nonEmpty []string
		for _, c := range candidates {
			if c != "" {
				nonEmpty = append(nonEmpty, c)
			}
		}
		if len(nonEmpty) == 0 {
			nonEmpty = []string{"(nothing)"}
		}
		a.Unmapped = append(a.Unmapped, "team="+strings.Join(nonEmpty, ", "))
	}
}

// MapDisposition sets a's disposition from original through dm and notes
// an unmapped value.
func MapDisposition(a *Alert, dm DispositionMap, original string) {
	d, ok := dm.Map(original)
	a.Disposition, a.OriginalDisposition = d, original
	if !ok {
		a.Unmapped = append(a.Unmapped, "disposition="+original)
	}
}

// AlertConfig is the part of every alert connector's configuration that
// the pull lifecycle uses; connectors inline it (yaml ",inline").
type AlertConfig struct {
	// Name is the instance name: the source is "<system>:<name>".
	Name string `yaml:"name"`
	// Overlap is how far before the watermark a pull starts again, for
	// late-arriving changes. 0 means the connector's default.
	Overlap time.Duration `yaml:"overlap"`
	// InitialLookback is how far back the first pull reaches. 0 means 90
	// days.
	InitialLookback time.Duration `yaml:"initial_lookback"`
	// Timeout bounds each HTTP request. 0 means one minute.
	Timeout time.Duration `yaml:"timeout"`
	// MaxResponseBytes bounds each response body (and each imported file).
	// 0 means 64 MiB.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// PollInterval is how often `serve` pulls (PollAlerts); 0 disables
	// polling, otherwise at least one minute.
	PollInterval time.Duration `yaml:"poll_interval"`
	Mapping      AlertMapping  `yaml:"mapping"`
}

var alertInstanceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate lists every problem of c, each prefixed with its key path under
// path.
func (c AlertConfig) Validate(path string) []error {
	var errs []error
	if !alertInstanceName.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("%s.name: %q is not a valid instance name (letters, digits, '_', '.', '-'; at most 64)", path, c.Name))
	}
	if c.Overlap < 0 {
		errs = append(errs, fmt.Errorf("%s.overlap: must not be negative", path))
	}
	if c.InitialLookback < 0 {
		errs = append(errs, fmt.Errorf("%s.initial_lookback: must not be negative", path))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("%s.timeout: must not be negative", path))
	}
	if c.MaxResponseBytes < 0 {
		errs = append(errs, fmt.Errorf("%s.max_response_bytes: must not be negative", path))
	}
	if c.PollInterval != 0 && c.PollInterval < time.Minute {
		errs = append(errs, fmt.Errorf("%s.poll_interval: must be at least 1m (or 0 to disable polling)", path))
	}
	return append(errs, c.Mapping.Validate(path+".mapping")...)
}

// WithDefaults returns c with its zero durations and sizes set to the
// defaults; overlap is the connector's default overlap.
func (c AlertConfig) WithDefaults(overlap time.Duration) AlertConfig {
	if c.Overlap == 0 {
		c.Overlap = overlap
	}
	if c.InitialLookback == 0 {
		c.InitialLookback = 90 * 24 * time.Hour
	}
	if c.Timeout == 0 {
		c.Timeout = time.Minute
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = 64 << 20
	}
	return c
}

// SecretRef is how a connector's configuration names a secret: an
// environment variable or a file, resolved by the caller. The secret
// itself never appears in configuration text.
type SecretRef struct {
	Env  string
	File string
}

// Validate reports a SecretRef that names no source or two; key is the
// secret's key stem ("token" for token_env/token_file).
func (r SecretRef) Validate(path, key string) []error {
	switch {
	case r.Env == "" && r.File == "":
		return []error{fmt.Errorf("%s.%s_env: set %s_env or %s_file", path, key, key, key)}
	case r.Env != "" && r.File != "":
		return []error{fmt.Errorf("%s.%s_env: set only one of %s_env and %s_file", path, key, key, key)}
	}
	return nil
}

// PullOptions controls one pull of an alert connector.
type PullOptions struct {
	// Since, when set, is where the pull starts instead of the watermark
	// minus the overlap (a backfill).
	Since time.Time
	// DryRun reads the source and prints a summary to Out, writing
	// nothing: no alerts, no raw payloads, no watermark, no error state.
	DryRun bool
	// Out receives the dry-run summary; nil means io.Discard.
	Out io.Writer
}

// AlertPull describes one pull for PullAlerts.
type AlertPull struct {
	Source     string // "<system>:<instance>"
	SourceType string // "<system>"
	// Start is where a pull begins when the source has no watermark yet
	// and PullOptions.Since is zero.
	Start time.Time
	// Overlap is how far before the watermark a pull starts.
	Overlap time.Duration
	// Fetch reads every alert created or changed at or after since and
	// passes each to emit (an alert may be emitted more than once; the
	// last one wins). It returns the time up to which the source has now
	// been read completely (the new watermark: the time the reading
	// started, or earlier), and must return when ctx is cancelled. An
	// error from emit must be returned as it is.
	Fetch func(ctx context.Context, since time.Time, emit func(Alert) error) (watermark time.Time, err error)
	// Prepare, when set, adjusts each batch before it is written (a
	// connector carrying stored values over).
	Prepare func(ctx context.Context, batch []Alert) error
}

// PullAlerts runs the pull lifecycle shared by every alert connector: it
// reads the watermark, fetches from the watermark minus the overlap (or
// opts.Since, or p.Start), writes the alerts in batches as they come, and
// only after the last batch is written advances the watermark
// (Succeeded). A failure is recorded (Failed) and returned with the
// summary of what was read; the watermark then stays where it was, so the
// next run reads the same range again, and since writes are idempotent
// nothing is lost or doubled. A dry run writes nothing and prints the
// summary to opts.Out.
func (s *Store) PullAlerts(ctx context.Context, p AlertPull, opts PullOptions) (AlertSummary, error) {
	sum := NewAlertSummary(p.Source)
	sum.DryRun = opts.DryRun
	st, err := s.State(ctx, p.Source)
	if err != nil {
		return sum, err
	}
	since := opts.Since
	if since.IsZero() {
		if st.Watermark.IsZero() {
			since = p.Start
		} else {
			since = st.Watermark.Add(-p.Overlap)
		}
	}
	sum.Since = since.UTC()
	var buf []Alert
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if p.Prepare != nil {
			if err := p.Prepare(ctx, buf); err != nil {
				return err
			}
		}
		if err := s.SaveAlerts(ctx, buf); err != nil {
			return err
		}
		sum.Written += len(buf)
		buf = buf[:0]
		return nil
	}
	emit := func(a Alert) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if a.Source == "" {
			a.Source = p.Source
		}
		sum.Add(a)
		if opts.DryRun {
			return nil
		}
		buf = append(buf, a)
		if len(buf) >= alertBatch {
			return flush()
		}
		return nil
	}
	wm, err := p.Fetch(ctx, since, emit)
	if err == nil && !opts.DryRun {
		err = flush()
	}
	if err != nil {
		err = fmt.Errorf("pull %s: %w", p.Source, err)
		if !opts.DryRun {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if ferr := s.Failed(fctx, p.Source, p.SourceType, err); ferr != nil {
				err = errors.Join(err, fmt.Errorf("record failure: %w", ferr))
			}
		}
		return sum, err
	}
	if opts.DryRun {
		out := opts.Out
		if out == nil {
			out = io.Discard
		}
		return sum, sum.Print(out)
	}
	if err := s.Succeeded(ctx, p.Source, p.SourceType, wm, uint64(sum.Written)); err != nil {
		return sum, fmt.Errorf("pull %s: advance watermark: %w", p.Source, err)
	}
	sum.Watermark = wm.UTC()
	return sum, nil
}

// ImportAlerts writes the alerts read from one file, all or nothing
// (SaveAlerts checks every alert before writing any), and records the
// import in the source's ingest state (last success and item count, so
// that data freshness sees it) without touching its watermark or last
// error: a file is not a complete read of the source.
func (s *Store) ImportAlerts(ctx context.Context, source, sourceType string, alerts []Alert) (AlertSummary, error) {
	sum := NewAlertSummary(source)
	for i := range alerts {
		if alerts[i].Source == "" {
			alerts[i].Source = source
		}
		sum.Add(alerts[i])
	}
	if err := s.SaveAlerts(ctx, alerts); err != nil {
		return sum, err
	}
	sum.Written = len(alerts)
	st, err := s.State(ctx, source)
	if err != nil {
		return sum, err
	}
	st.SourceType, st.LastSuccess = sourceType, s.Now()
	st.Items += uint64(len(alerts))
	if st.LastAttempt.IsZero() {
		st.LastAttempt = st.LastSuccess
	}
	if err := s.SaveState(ctx, st); err != nil {
		return sum, fmt.Errorf("record import of %s: %w", source, err)
	}
	return sum, nil
}

// PollAlerts runs pull now and then every interval until ctx is cancelled,
// and then returns ctx's error: the loop `serve` runs per alert source. A
// failed pull (already recorded in the ingest state by the pull) is logged
// with name and retried at the next interval; it never ends the loop.
func PollAlerts(ctx context.Context, every time.Duration, log *slog.Logger, name string, pull func(context.Context, PullOptions) (AlertSummary, error)) error {
	if every <= 0 {
		return fmt.Errorf("%s: no poll interval", name)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		sum, err := pull(ctx, PullOptions{})
		if err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "alert poll failed", "source", name, "error", err, "alerts", sum.Read)
		} else if err == nil {
			log.InfoContext(ctx, "alert poll done", "source", name, "alerts", sum.Written)
		}
		t.Reset(every)
	}
}

// AlertSummary counts what one pull or import read and wrote. Counts are
// per distinct alert id: an alert read twice counts once, as last read.
type AlertSummary struct {
	Source    string
	Since     time.Time // where the pull started (zero for imports)
	Watermark time.Time // the new watermark (zero when not advanced)
	DryRun    bool
	Read      int // distinct alerts read
	Written   int // alert rows written (0 on a dry run)
	// Dispositions counts alerts per disposition; Teams per team ("" for
	// none); Unmapped per unmapped source value ("disposition=...",
	// "team=...").
	Dispositions map[Disposition]int
	Teams        map[string]int
	Unmapped     map[string]int

	seen map[string]alertCount
}

type alertCount struct {
	disposition Disposition
	team        string
	unmapped    []string
}

// NewAlertSummary returns an empty summary of source.
func NewAlertSummary(source string) AlertSummary {
	return AlertSummary{
		Source:       source,
		Dispositions: map[Disposition]int{},
		Teams:        map[string]int{},
		Unmapped:     map[string]int{},
		seen:         map[string]alertCount{},
	}
}

// Add counts a, replacing an earlier count of the same alert id.
func (s *AlertSummary) Add(a Alert) {
	if s.seen == nil {
		*s = NewAlertSummary(s.Source)
	}
	if old, ok := s.seen[a.ID]; ok {
		alertDec(s.Dispositions, old.disposition)
		alertDec(s.Teams, old.team)
		for _, u := range old.unmapped {
			alertDec(s.Unmapped, u)
		}
	} else {
		s.Read++
	}
	s.Dispositions[a.Disposition]++
	s.Teams[a.Team]++
	for _, u := range a.Unmapped {
		s.Unmapped[u]++
	}
	s.seen[a.ID] = alertCount{a.Disposition, a.Team, a.Unmapped}
}

func alertDec[K comparable](m map[K]int, k K) {
	if m[k] <= 1 {
		delete(m, k)
	} else {
		m[k]--
	}
}

// Print writes the summary as a short text report: counts per
// disposition and per team, then the unmapped values.
func (s AlertSummary) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	mode := ""
	if s.DryRun {
		mode = " (dry run, nothing written)"
	}
	fmt.Fprintf(tw, "source %s%s: %d alerts read, %d written", s.Source, mode, s.Read, s.Written)
	if !s.Since.IsZero() {
		fmt.Fprintf(tw, ", since %s", s.Since.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "disposition\talerts\t")
	for _, d := range AlertDispositions {
		if n := s.Dispositions[d]; n > 0 {
			fmt.Fprintf(tw, "%s\t%d\t\n", d.label(), n)
		}
	}
	fmt.Fprintln(tw, "team\talerts\t")
	for _, t := range alertSortedKeys(s.Teams) {
		name := t
		if name == "" {
			name = "(none)"
		}
		fmt.Fprintf(tw, "%s\t%d\t\n", name, s.Teams[t])
	}
	if len(s.Unmapped) > 0 {
		fmt.Fprintln(tw, "unmapped value\talerts\t")
		for _, u := range alertSortedKeys(s.Unmapped) {
			fmt.Fprintf(tw, "%s\t%d\t\n", u, s.Unmapped[u])
		}
	}
	return tw.Flush()
}

func alertSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
