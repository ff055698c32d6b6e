package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries"
)

// Finding is one finding as the API shows it: its current state, with the
// expiry of a risk acceptance applied.
type Finding struct {
	ID               string     `json:"id"`
	Asset            string     `json:"asset"`
	Team             string     `json:"team"`
	BusinessUnit     string     `json:"business_unit"`
	Tier             uint8      `json:"tier"`
	Scanner          string     `json:"scanner"`
	Kind             string     `json:"kind"`
	RuleID           string     `json:"rule_id"`
	Title            string     `json:"title"`
	Severity         string     `json:"severity"`
	OriginalSeverity string     `json:"original_severity"`
	CVE              string     `json:"cve"`
	Aliases          []string   `json:"aliases"`
	Package          string     `json:"package"`
	InstalledVersion string     `json:"installed_version"`
	FixedVersion     string     `json:"fixed_version"`
	File             string     `json:"file"`
	Line             uint32     `json:"line"`
	Branches         []string   `json:"branches"`
	URL              string     `json:"url"`
	State            string     `json:"state"`
	Status           string     `json:"status"`
	StatusReason     string     `json:"status_reason"`
	StatusUntil      *time.Time `json:"status_until"`
	StatusActor      string     `json:"status_actor"`
	// StatusExpired is set when a risk acceptance has expired: Status is
	// then "none" and StatusUntil says when it ended.
	StatusExpired bool       `json:"status_expired"`
	FirstSeen     time.Time  `json:"first_seen"`
	LastSeen      time.Time  `json:"last_seen"`
	FixedAt       *time.Time `json:"fixed_at"`
	Due           *time.Time `json:"due"`
	Overdue       bool       `json:"overdue"`
	KEV           bool       `json:"kev"`
	EPSS          *float64   `json:"epss"`
}

type findingRow struct {
	ID               string    `ch:"id"`
	Asset            string    `ch:"asset"`
	Team             string    `ch:"team"`
	BusinessUnit     string    `ch:"business_unit"`
	Tier             uint8     `ch:"tier"`
	Scanner          string    `ch:"scanner"`
	Kind             string    `ch:"kind_name"`
	RuleID           string    `ch:"rule_id"`
	Title            string    `ch:"title"`
	Severity         string    `ch:"severity_name"`
	SeverityCode     uint8     `ch:"severity_code"`
	OriginalSeverity string    `ch:"original_severity"`
	CVE              string    `ch:"cve"`
	Aliases          []string  `ch:"aliases"`
	Package          string    `ch:"package"`
	InstalledVersion string    `ch:"installed_version"`
	FixedVersion     string    `ch:"fixed_version"`
	File             string    `ch:"file"`
	Line             uint32    `ch:"line"`
	Branches         []string  `ch:"branches"`
	URL              string    `ch:"url"`
	State            string    `ch:"state_name"`
	Status           string    `ch:"status_name"`
	StatusReason     string    `ch:"status_reason"`
	StatusUntil      time.Time `ch:"status_until"`
	StatusActor      string    `ch:"status_actor"`
	StatusExpired    uint8     `ch:"status_expired"`
	FirstSeen        time.Time `ch:"first_seen"`
	LastSeen         time.Time `ch:"last_seen"`
	FixedAt          time.Time `ch:"fixed_at"`
	KEV              uint8     `ch:"kev_flag"`
	EPSS             float64   `ch:"epss"`
	HasEPSS          uint8     `ch:"has_epss"`
	Due              time.Time `ch:"due"`
	Overdue          uint8     `ch:"overdue_flag"`
}

// timePtr returns nil for ClickHouse's "no time" (1970-01-01).
func timePtr(t time.Time) *time.Time {
	if t.Unix() <= 0 {
		return nil
	}
	u := t.UTC()
	return &u
}

func (r findingRow) finding() Finding {
	f := Finding{ID: r.ID, Asset: r.Asset, Team: r.Team, BusinessUnit: r.BusinessUnit, Tier: r.Tier, Scanner: r.Scanner,
		Kind: r.Kind, RuleID: r.RuleID, Title: r.Title, Severity: r.Severity, OriginalSeverity: r.OriginalSeverity,
		CVE: r.CVE, Aliases: nonNil(r.Aliases), Package: r.Package, InstalledVersion: r.InstalledVersion,
		FixedVersion: r.FixedVersion, File: r.File, Line: r.Line, Branches: nonNil(r.Branches), URL: r.URL,
		State: r.State, Status: r.Status, StatusReason: r.StatusReason, StatusUntil: timePtr(r.StatusUntil),
		StatusActor: r.StatusActor, StatusExpired: r.StatusExpired == 1, FirstSeen: r.FirstSeen.UTC(),
		LastSeen: r.LastSeen.UTC(), FixedAt: timePtr(r.FixedAt), Due: timePtr(r.Due), Overdue: r.Overdue == 1, KEV: r.KEV == 1}
	if r.HasEPSS == 1 {
		e := r.EPSS
		f.EPSS = &e
	}
	return f
}

var findingList = listSpec{
	route: "/api/v1/findings",
	sorts: map[string]sortKey{
		"first_seen": {"first_seen", timeKey},
		"last_seen":  {"last_seen", timeKey},
		"fixed_at":   {"fixed_at", timeKey},
		"due":        {"due", timeKey},
		"severity":   {"severity_code", intKey},
		"asset":      {"asset", strKey},
		"epss":       {"epss", floatKey},
	},
	defSort: "first_seen",
	tie:     "finding_id",
	tieKind: strKey,
	tieBind: "toUUID(@c_t)",
}

func (r findingRow) key(k string) any {
	switch k {
	case "first_seen":
		return r.FirstSeen
	case "last_seen":
		return r.LastSeen
	case "fixed_at":
		return r.FixedAt
	case "due":
		return r.Due
	case "severity":
		return r.SeverityCode
	case "asset":
		return r.Asset
	case "epss":
		return r.EPSS
	}
	panic("api: sort key without value: " + k)
}

var findingParams = append([]string{"state", "status", "kind", "overdue", "kev", "cve", "rule"}, append(filterNames, pageParams...)...)

// The values of the enumerated filters, from the ingest vocabulary.
var (
	findingStates   = []string{"open", "fixed"}
	findingStatuses = []string{"none", string(ingest.FalsePositive), string(ingest.RiskAccepted), string(ingest.Duplicate)}
	scanKinds       = names(ingest.Kinds)
)

func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// findingsArgs binds the filters of the findings list.
func (s *Server) findingsArgs(c *gin.Context) ([]any, error) {
	f, err := filterParams(c)
	if err != nil {
		return nil, err
	}
	states, err := enumParam(c, "state", findingStates)
	if err != nil {
		return nil, err
	}
	statuses, err := enumParam(c, "status", findingStatuses)
	if err != nil {
		return nil, err
	}
	kinds, err := enumParam(c, "kind", scanKinds)
	if err != nil {
		return nil, err
	}
	cves, err := listParam(c, "cve")
	if err != nil {
		return nil, err
	}
	rules, err := listParam(c, "rule")
	if err != nil {
		return nil, err
	}
	tri := func(name string) (int8, error) {
		b, err := boolParam(c, name)
		if err != nil || b == nil {
			return -1, err
		}
		if *b {
			return 1, nil
		}
		return 0, nil
	}
	overdue, err := tri("overdue")
	if err != nil {
		return nil, err
	}
	kev, err := tri("kev")
	if err != nil {
		return nil, err
	}
	tiers := make([]uint8, 0, len(f.Tiers))
	for _, t := range f.Tiers {
		tiers = append(tiers, uint8(t))
	}
	return s.findingBase(principalOf(c),
		clickhouse.Named("f_teams", nonNil(f.Teams)), clickhouse.Named("f_bus", nonNil(f.BusinessUnits)),
		clickhouse.Named("f_tiers", toInt32(tiers)), clickhouse.Named("f_sevs", nonNil(f.Severities)),
		clickhouse.Named("f_assets", nonNil(f.Assets)), clickhouse.Named("f_sources", nonNil(f.Sources)),
		clickhouse.Named("f_kinds", nonNil(kinds)), clickhouse.Named("f_states", nonNil(states)),
		clickhouse.Named("f_statuses", nonNil(statuses)), clickhouse.Named("f_cves", nonNil(cves)),
		clickhouse.Named("f_rules", nonNil(rules)), clickhouse.Named("f_overdue", overdue), clickhouse.Named("f_kev", kev)), nil
}

// findingBase binds what every findings statement needs: the clock, the
// caller's scope and the SLA policy.
func (s *Server) findingBase(p principal, more ...any) []any {
	args := []any{clickhouse.Named("now", s.now().UTC().Truncate(time.Second)), clickhouse.Named("scope", p.scopeTeams())}
	args = append(args, s.b.Metrics.Config().SLA.DueArgs()...)
	return append(args, more...)
}

// Small integers bind as []int32: a []uint8 would bind as a string.
func toInt32(v []uint8) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

var emptyFindingFilters = []any{
	clickhouse.Named("f_teams", []string{}), clickhouse.Named("f_bus", []string{}), clickhouse.Named("f_tiers", []int32{}),
	clickhouse.Named("f_sevs", []string{}), clickhouse.Named("f_assets", []string{}), clickhouse.Named("f_sources", []string{}),
	clickhouse.Named("f_kinds", []string{}), clickhouse.Named("f_states", []string{}), clickhouse.Named("f_statuses", []string{}),
	clickhouse.Named("f_cves", []string{}), clickhouse.Named("f_rules", []string{}), clickhouse.Named("f_overdue", int8(-1)),
	clickhouse.Named("f_kev", int8(-1)),
}

func dueSQL() string {
	return metrics.DueSQL(metrics.DueColumns{FirstSeen: "first_seen", LastReopen: "last_reopen", Severity: "toUInt8(sev)",
		Tier: "tier", KEV: "toUInt8(is_kev)", KEVDue: "kev_due"})
}

// findingKey is a finding as the narrow form of api/findings.sql returns
// it: its id and sort values.
type findingKey struct {
	ID           string    `ch:"id"`
	Asset        string    `ch:"asset"`
	FirstSeen    time.Time `ch:"first_seen"`
	LastSeen     time.Time `ch:"last_seen"`
	FixedAt      time.Time `ch:"fixed_at"`
	Due          time.Time `ch:"due"`
	SeverityCode uint8     `ch:"severity_code"`
	EPSS         float64   `ch:"epss"`
}

func (k findingKey) key(name string) any {
	return findingRow{FirstSeen: k.FirstSeen, LastSeen: k.LastSeen, FixedAt: k.FixedAt, Due: k.Due,
		SeverityCode: k.SeverityCode, Asset: k.Asset, EPSS: k.EPSS}.key(name)
}

// idsWhere restricts api/findings.sql to the findings of @ids.
const idsWhere = "AND finding_id IN (SELECT arrayJoin(arrayMap(x -> toUUID(x), CAST(@ids AS Array(String)))))"

// findingSQL renders api/findings.sql: wide with every column, otherwise
// only what finding a page needs (cve and aliases only when cve filters).
func (s *Server) findingSQL(p page, wide, cve bool, where string) (string, error) {
	sla := s.b.Metrics.Config().SLA
	return listSQL("findings.sql", p, where, map[string]any{"Due": dueSQL(), "Assets": queries.SQL("api/assets_now.sql"),
		"Wide": wide, "CVE": cve, "KEVCap": sla.KEVDueDateCap, "Restart": sla.RestartOnReopen})
}

// selectFindings returns the findings of ids, every column, in p's order.
func (s *Server) selectFindings(ctx context.Context, p page, ids []string, args []any) ([]findingRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	p.after, p.limit = false, len(ids)-1 // LIMIT is limit+1
	sql, err := s.findingSQL(p, true, true, idsWhere)
	if err != nil {
		return nil, err
	}
	var rows []findingRow
	start := time.Now()
	err = s.db.Select(ctx, &rows, sql, append(append(args, clickhouse.Named("ids", ids)), p.args()...)...)
	s.observe("findings_rows", time.Since(start))
	if err != nil {
		return nil, fmt.Errorf("findings: %w", err)
	}
	return rows, nil
}

// listFindings answers GET /api/v1/findings in two steps: the page's
// finding ids and sort values from the narrow statement, then every column
// of those findings only.
func (s *Server) listFindings(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	if err := checkParams(c, findingParams...); err != nil {
		s.fail(c, err)
		return
	}
	p, err := s.pageOf(c, findingList)
	if err != nil {
		s.fail(c, err)
		return
	}
	args, err := s.findingsArgs(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	sql, err := s.findingSQL(p, false, len(c.QueryArray("cve")) > 0, "")
	if err != nil {
		s.fail(c, err)
		return
	}
	page := func(ctx context.Context) ([]findingRow, string, error) {
		var keys []findingKey
		start := time.Now()
		err := s.db.Select(ctx, &keys, sql, append(append(args, clickhouse.Named("ids", []string{})), p.args()...)...)
		s.observe("findings_page", time.Since(start))
		if err != nil {
			return nil, "", fmt.Errorf("findings page: %w", err)
		}
		next := ""
		if len(keys) > p.limit {
			keys = keys[:p.limit]
			last := keys[len(keys)-1]
			next = s.next(p, last.key(p.key), last.ID)
		}
		ids := make([]string, len(keys))
		for i, k := range keys {
			ids[i] = k.ID
		}
		rows, err := s.selectFindings(ctx, p, ids, args)
		return rows, next, err
	}
	if p.csv {
		rows, next, err := page(ctx)
		if err != nil {
			s.fail(c, err)
			return
		}
		out := make([][]string, len(rows))
		for i, r := range rows {
			out[i] = findingCSV(r.finding())
		}
		s.writeCSV(c, "findings", findingCSVHeader, out, next)
		return
	}
	body, err := s.cachedList(ctx, c, func(ctx context.Context) ([]byte, error) {
		rows, next, err := page(ctx)
		if err != nil {
			return nil, err
		}
		items := make([]Finding, len(rows))
		for i, r := range rows {
			items[i] = r.finding()
		}
		return json.Marshal(listPage[Finding]{Items: items, NextCursor: next})
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json", body)
}

// listPage is one page of a list.
type listPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

var findingCSVHeader = []string{"id", "asset", "team", "business_unit", "tier", "scanner", "kind", "rule_id", "title",
	"severity", "cve", "aliases", "package", "installed_version", "fixed_version", "file", "line", "state", "status",
	"status_reason", "status_until", "first_seen", "last_seen", "fixed_at", "due", "overdue", "kev", "epss", "url"}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func findingCSV(f Finding) []string {
	epss := ""
	if f.EPSS != nil {
		epss = strconv.FormatFloat(*f.EPSS, 'f', -1, 64)
	}
	return []string{f.ID, f.Asset, f.Team, f.BusinessUnit, strconv.Itoa(int(f.Tier)), f.Scanner, f.Kind, f.RuleID, f.Title,
		f.Severity, f.CVE, strings.Join(f.Aliases, " "), f.Package, f.InstalledVersion, f.FixedVersion, f.File,
		strconv.Itoa(int(f.Line)), f.State, f.Status, f.StatusReason, csvTime(f.StatusUntil), csvTime(&f.FirstSeen),
		csvTime(&f.LastSeen), csvTime(f.FixedAt), csvTime(f.Due), strconv.FormatBool(f.Overdue), strconv.FormatBool(f.KEV), epss, f.URL}
}

// FindingEvent is one entry of a finding's event log.
type FindingEvent struct {
	Time        time.Time  `json:"time" ch:"at"`
	Type        string     `json:"type" ch:"type_name"`
	Severity    string     `json:"severity" ch:"severity_name"`
	Status      string     `json:"status" ch:"status_name"`
	StatusUntil *time.Time `json:"status_until" ch:"-"`
	ScanID      string     `json:"scan_id,omitempty" ch:"scan"`
	Actor       string     `json:"actor" ch:"actor_name"`
	Reason      string     `json:"reason" ch:"reason_text"`
	Until       time.Time  `json:"-" ch:"until"`
}

// FindingDetail is a finding with its event history, oldest first.
type FindingDetail struct {
	Finding
	Events []FindingEvent `json:"events"`
}

// findingByID reads one finding the caller may see; errNotFound when
// it does not exist or is outside the caller's teams (the same answer).
func (s *Server) findingByID(ctx context.Context, p principal, raw string) (Finding, uuid.UUID, error) {
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return Finding{}, uuid.Nil, errParam("id", "not a finding id (a UUID)")
	}
	pg := page{spec: findingList, key: "first_seen"}
	rows, err := s.selectFindings(ctx, pg, []string{id.String()}, append(s.findingBase(p), emptyFindingFilters...))
	if err != nil {
		return Finding{}, id, err
	}
	if len(rows) == 0 {
		return Finding{}, id, errNotFound
	}
	return rows[0].finding(), id, nil
}

func (s *Server) findingEvents(ctx context.Context, id uuid.UUID) ([]FindingEvent, error) {
	var ev []FindingEvent
	start := time.Now()
	err := s.db.Select(ctx, &ev, queries.SQL("api/finding_events.sql"), clickhouse.Named("id", id.String()))
	s.observe("finding_events", time.Since(start))
	if err != nil {
		return nil, fmt.Errorf("finding events: %w", err)
	}
	for i := range ev {
		ev[i].Time = ev[i].Time.UTC()
		ev[i].StatusUntil = timePtr(ev[i].Until)
		if ev[i].ScanID == uuid.Nil.String() {
			ev[i].ScanID = ""
		}
	}
	return nonNilT(ev), nil
}

// getFinding answers GET /api/v1/findings/{id}.
func (s *Server) getFinding(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	if err := checkParams(c); err != nil {
		s.fail(c, err)
		return
	}
	s.answerFinding(ctx, c, http.StatusOK)
}

func (s *Server) answerFinding(ctx context.Context, c *gin.Context, status int) {
	f, id, err := s.findingByID(ctx, principalOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	ev, err := s.findingEvents(ctx, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.writeJSON(c, status, FindingDetail{Finding: f, Events: ev})
}

// TriageRequest is the body of PATCH /api/v1/findings/{id}.
type TriageRequest struct {
	// Status is risk_accepted (Reason and Until required), false_positive
	// or duplicate (Reason required), or none (revert).
	Status string     `json:"status"`
	Reason string     `json:"reason"`
	Until  *time.Time `json:"until"`
}

const (
	maxReason     = 2000
	maxAcceptance = 3 * 366 * 24 * time.Hour
)

// triage answers PATCH /api/v1/findings/{id}: a person's decision on a
// finding, recorded by ingest.Store.SetStatus with the token's name as the
// actor and appended to the finding's event log.
func (s *Server) triage(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	if err := checkParams(c); err != nil {
		s.fail(c, err)
		return
	}
	if ct := c.ContentType(); ct != "application/json" && ct != "application/merge-patch+json" {
		s.failCode(c, CodeUnsupportedMedia, "Content-Type", "send application/json")
		return
	}
	var t TriageRequest
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		s.fail(c, jsonError(err))
		return
	}
	if dec.More() {
		s.fail(c, errBody("body", "one JSON object expected"))
		return
	}
	now := s.now().UTC()
	var until time.Time
	t.Reason = strings.TrimSpace(t.Reason)
	if strings.ContainsFunc(t.Reason, func(r rune) bool { return (r < 0x20 && r != '\n') || r == 0x7f }) {
		s.fail(c, errBody("reason", "must not contain control characters other than newlines"))
		return
	}
	if len(t.Reason) > maxReason {
		s.fail(c, errBody("reason", fmt.Sprintf("at most %d bytes", maxReason)))
		return
	}
	switch ingest.Status(t.Status) {
	case ingest.RiskAccepted:
		if t.Reason == "" {
			s.fail(c, errBody("reason", "required for risk_accepted"))
			return
		}
		if t.Until == nil {
			s.fail(c, errBody("until", "required for risk_accepted: when the acceptance expires (RFC 3339)"))
			return
		}
		if !t.Until.After(now) || t.Until.Sub(now) > maxAcceptance {
			s.fail(c, errBody("until", "must be in the future and within 3 years"))
			return
		}
		until = t.Until.UTC().Truncate(time.Second)
	case ingest.FalsePositive, ingest.Duplicate:
		if t.Reason == "" {
			s.fail(c, errBody("reason", "required for "+t.Status))
			return
		}
		if t.Until != nil {
			s.fail(c, errBody("until", "only a risk acceptance expires"))
			return
		}
	case "none":
		if t.Until != nil {
			s.fail(c, errBody("until", "only a risk acceptance expires"))
			return
		}
		t.Status = ""
	default:
		s.fail(c, errBody("status", "want risk_accepted, false_positive, duplicate or none"))
		return
	}
	p := principalOf(c)
	if _, id, err := s.findingByID(ctx, p, c.Param("id")); err != nil {
		s.fail(c, err)
		return
	} else if err := s.b.Store.SetStatus(ctx, id, ingest.Status(t.Status), until, t.Reason, p.Name, now); err != nil {
		s.fail(c, err)
		return
	}
	s.version.invalidate()
	s.answerFinding(ctx, c, http.StatusOK)
}

// jsonError turns a JSON decoding error into a 400 naming the field.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return errBody(te.Field, fmt.Sprintf("wrong type: want %s", te.Type))
	case errors.As(err, &se):
		return errBody("body", fmt.Sprintf("malformed JSON at byte %d", se.Offset))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errBody(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "unknown field")
	case strings.Contains(err.Error(), "parsing time"):
		return errBody("until", "want an RFC 3339 time")
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return errBody("body", "malformed JSON")
}
