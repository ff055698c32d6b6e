package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/gin-gonic/gin"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/reports"
)

// The query parameters of the lists besides the paging ones (pageParams).
var (
	alertParams  = append([]string{"from", "to", "disposition", "rule", "closed"}, filterNames...)
	ticketParams = append([]string{"from", "to", "kind", "state", "project"}, filterNames...)
	assetParams  = []string{"team", "business_unit", "tier", "asset", "kind", "covered", "active"}
	auditParams  = []string{"from", "to", "token_name", "token_id", "route", "method", "status"}
)

// runList is the common path of the list endpoints: parameters, page,
// the statement, the next cursor, and JSON or CSV.
func runList[R any, T any](s *Server, c *gin.Context, spec listSpec, stmt string, allowed []string,
	args func(*gin.Context) ([]any, error), key func(R, string) (any, any), item func(R) T,
	csvName string, csvHeader []string, csvRow func(T) []string) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	if err := checkParams(c, append(allowed, pageParams...)...); err != nil {
		s.fail(c, err)
		return
	}
	p, err := s.pageOf(c, spec)
	if err != nil {
		s.fail(c, err)
		return
	}
	a, err := args(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	a = append(a, clickhouse.Named("now", s.now().UTC().Truncate(time.Second)), clickhouse.Named("scope", principalOf(c).scopeTeams()))
	sql, err := listSQL(stmt, p, "", map[string]any{"Assets": queries.SQL("api/assets_now.sql")})
	if err != nil {
		s.fail(c, err)
		return
	}
	page := func(ctx context.Context) ([]T, string, error) {
		var rows []R
		start := time.Now()
		err := s.db.Select(ctx, &rows, sql, append(a, p.args()...)...)
		s.observe(strings.TrimSuffix(stmt, ".sql"), time.Since(start))
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", stmt, err)
		}
		next := ""
		if len(rows) > p.limit {
			rows = rows[:p.limit]
			v, t := key(rows[len(rows)-1], p.key)
			next = s.next(p, v, t)
		}
		items := make([]T, len(rows))
		for i, r := range rows {
			items[i] = item(r)
		}
		return items, next, nil
	}
	if p.csv {
		items, next, err := page(ctx)
		if err != nil {
			s.fail(c, err)
			return
		}
		out := make([][]string, len(items))
		for i, it := range items {
			out[i] = csvRow(it)
		}
		s.writeCSV(c, csvName, csvHeader, out, next)
		return
	}
	encode := func(ctx context.Context) ([]byte, error) {
		items, next, err := page(ctx)
		if err != nil {
			return nil, err
		}
		return json.Marshal(listPage[T]{Items: items, NextCursor: next})
	}
	var body []byte
	if spec.noCache {
		body, err = encode(ctx)
	} else {
		body, err = s.cachedList(ctx, c, encode)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json", body)
}

// windowArgs binds from and to (created-time window; open-ended when
// absent).
func windowArgs(c *gin.Context) ([]any, error) {
	from, err := timeParam(c, "from", time.UTC)
	if err != nil {
		return nil, err
	}
	to, err := timeParam(c, "to", time.UTC)
	if err != nil {
		return nil, err
	}
	if from.IsZero() {
		from = time.Unix(0, 0).UTC()
	}
	if to.IsZero() {
		to = maxTime
	}
	if !from.Before(to) {
		return nil, errParam("to", "must be after from")
	}
	return []any{clickhouse.Named("from", from), clickhouse.Named("to", to)}, nil
}

// workFilterArgs binds the filters alerts and tickets share.
func workFilterArgs(c *gin.Context) ([]any, error) {
	f, err := filterParams(c)
	if err != nil {
		return nil, err
	}
	w, err := windowArgs(c)
	if err != nil {
		return nil, err
	}
	tiers := make([]int32, 0, len(f.Tiers))
	for _, t := range f.Tiers {
		tiers = append(tiers, int32(t))
	}
	return append(w, clickhouse.Named("f_teams", nonNil(f.Teams)), clickhouse.Named("f_bus", nonNil(f.BusinessUnits)),
		clickhouse.Named("f_tiers", tiers), clickhouse.Named("f_sevs", nonNil(f.Severities)),
		clickhouse.Named("f_sources", nonNil(f.Sources)), clickhouse.Named("f_assets", nonNil(f.Assets))), nil
}

// Alert is one alert as the API shows it.
type Alert struct {
	Source              string     `json:"source" ch:"source"`
	ID                  string     `json:"id" ch:"alert_id"`
	RuleID              string     `json:"rule_id" ch:"rule_id"`
	RuleName            string     `json:"rule_name" ch:"rule_name"`
	Severity            string     `json:"severity" ch:"severity_name"`
	OriginalSeverity    string     `json:"original_severity" ch:"original_severity"`
	Created             time.Time  `json:"created" ch:"created"`
	FirstTriage         *time.Time `json:"first_triage" ch:"first_triage"`
	Closed              *time.Time `json:"closed" ch:"closed"`
	Status              string     `json:"status" ch:"status"`
	Disposition         string     `json:"disposition" ch:"disposition_name"`
	OriginalDisposition string     `json:"original_disposition" ch:"original_disposition"`
	AutoClosed          bool       `json:"auto_closed" ch:"-"`
	Assignee            string     `json:"assignee" ch:"assignee"`
	Team                string     `json:"team" ch:"team"`
	BusinessUnit        string     `json:"business_unit" ch:"business_unit"`
	Tier                uint8      `json:"tier" ch:"tier"`
	Asset               string     `json:"asset" ch:"asset"`
	Incident            string     `json:"incident" ch:"incident"`
	Updated             time.Time  `json:"updated" ch:"updated"`

	AutoClosedU  uint8  `json:"-" ch:"auto_closed"`
	SeverityCode uint8  `json:"-" ch:"severity_code"`
	RowKey       string `json:"-" ch:"row_key"`
}

var alertList = listSpec{
	route:   "/api/v1/alerts",
	sorts:   map[string]sortKey{"created": {"created", timeKey}, "updated": {"updated", timeKey}, "severity": {"severity_code", intKey}},
	defSort: "-created", tie: "row_key", tieKind: strKey,
}

// alertDispositions are the stored disposition names ("none" for none).
var alertDispositions = append(names(ingest.AlertDispositions[:len(ingest.AlertDispositions)-1]), "none")

func (s *Server) listAlerts(c *gin.Context) {
	runList(s, c, alertList, "alerts.sql", alertParams,
		func(c *gin.Context) ([]any, error) {
			a, err := workFilterArgs(c)
			if err != nil {
				return nil, err
			}
			disps, err := enumParam(c, "disposition", alertDispositions)
			if err != nil {
				return nil, err
			}
			rules, err := listParam(c, "rule")
			if err != nil {
				return nil, err
			}
			closed, err := boolParam(c, "closed")
			if err != nil {
				return nil, err
			}
			fc := int8(-1)
			if closed != nil {
				fc = map[bool]int8{false: 0, true: 1}[*closed]
			}
			return append(a, clickhouse.Named("f_disps", nonNil(disps)), clickhouse.Named("f_rules", nonNil(rules)),
				clickhouse.Named("f_closed", fc)), nil
		},
		func(r Alert, k string) (any, any) {
			switch k {
			case "updated":
				return r.Updated, r.RowKey
			case "severity":
				return r.SeverityCode, r.RowKey
			}
			return r.Created, r.RowKey
		},
		func(r Alert) Alert {
			r.AutoClosed = r.AutoClosedU == 1
			r.Created, r.Updated = r.Created.UTC(), r.Updated.UTC()
			r.FirstTriage, r.Closed = utcPtr(r.FirstTriage), utcPtr(r.Closed)
			return r
		},
		"alerts",
		[]string{"source", "id", "rule_id", "rule_name", "severity", "created", "first_triage", "closed", "status",
			"disposition", "original_disposition", "auto_closed", "assignee", "team", "business_unit", "tier", "asset", "incident"},
		func(a Alert) []string {
			return []string{a.Source, a.ID, a.RuleID, a.RuleName, a.Severity, csvTime(&a.Created), csvTime(a.FirstTriage),
				csvTime(a.Closed), a.Status, a.Disposition, a.OriginalDisposition, strconv.FormatBool(a.AutoClosed),
				a.Assignee, a.Team, a.BusinessUnit, strconv.Itoa(int(a.Tier)), a.Asset, a.Incident}
		})
}

// Ticket is one ticket as the API shows it.
type Ticket struct {
	Source           string     `json:"source" ch:"source"`
	Key              string     `json:"key" ch:"ticket_key"`
	Project          string     `json:"project" ch:"project"`
	IssueType        string     `json:"issue_type" ch:"issue_type"`
	Kind             string     `json:"kind" ch:"kind_name"`
	Summary          string     `json:"summary" ch:"summary"`
	Team             string     `json:"team" ch:"team"`
	BusinessUnit     string     `json:"business_unit" ch:"business_unit"`
	Tier             uint8      `json:"tier" ch:"tier"`
	Severity         string     `json:"severity" ch:"severity_name"`
	OriginalSeverity string     `json:"original_severity" ch:"original_severity"`
	Status           string     `json:"status" ch:"status"`
	StatusCategory   string     `json:"status_category" ch:"status_category"`
	State            string     `json:"state" ch:"state_name"`
	Resolution       string     `json:"resolution" ch:"resolution"`
	Labels           []string   `json:"labels" ch:"labels"`
	Components       []string   `json:"components" ch:"components"`
	Asset            string     `json:"asset" ch:"asset"`
	IncidentType     string     `json:"incident_type" ch:"incident_type"`
	Assignee         string     `json:"assignee" ch:"assignee"`
	Created          time.Time  `json:"created" ch:"created"`
	Updated          time.Time  `json:"updated" ch:"updated"`
	Resolved         *time.Time `json:"resolved" ch:"resolved"`
	Due              *time.Time `json:"due" ch:"due"`
	ContainedAt      *time.Time `json:"contained_at" ch:"contained_at"`

	SeverityCode uint8  `json:"-" ch:"severity_code"`
	RowKey       string `json:"-" ch:"row_key"`
}

var ticketList = listSpec{
	route:   "/api/v1/tickets",
	sorts:   map[string]sortKey{"created": {"created", timeKey}, "updated": {"updated", timeKey}, "severity": {"severity_code", intKey}},
	defSort: "-created", tie: "row_key", tieKind: strKey,
}

var (
	ticketKinds  = append([]string{string(ingest.TicketOther)}, names(ingest.TicketKinds)...)
	ticketStates = names(ingest.TicketStates)
)

func (s *Server) listTickets(c *gin.Context) {
	runList(s, c, ticketList, "tickets.sql", ticketParams,
		func(c *gin.Context) ([]any, error) {
			a, err := workFilterArgs(c)
			if err != nil {
				return nil, err
			}
			kinds, err := enumParam(c, "kind", ticketKinds)
			if err != nil {
				return nil, err
			}
			states, err := enumParam(c, "state", ticketStates)
			if err != nil {
				return nil, err
			}
			projects, err := listParam(c, "project")
			if err != nil {
				return nil, err
			}
			return append(a, clickhouse.Named("f_kinds", nonNil(kinds)), clickhouse.Named("f_states", nonNil(states)),
				clickhouse.Named("f_projects", nonNil(projects))), nil
		},
		func(r Ticket, k string) (any, any) {
			switch k {
			case "updated":
				return r.Updated, r.RowKey
			case "severity":
				return r.SeverityCode, r.RowKey
			}
			return r.Created, r.RowKey
		},
		func(r Ticket) Ticket {
			r.Labels, r.Components = nonNil(r.Labels), nonNil(r.Components)
			r.Created, r.Updated = r.Created.UTC(), r.Updated.UTC()
			r.Resolved, r.Due, r.ContainedAt = utcPtr(r.Resolved), utcPtr(r.Due), utcPtr(r.ContainedAt)
			return r
		},
		"tickets",
		[]string{"source", "key", "project", "issue_type", "kind", "summary", "team", "business_unit", "tier", "severity",
			"status", "state", "resolution", "asset", "assignee", "created", "updated", "resolved", "due", "contained_at"},
		func(t Ticket) []string {
			return []string{t.Source, t.Key, t.Project, t.IssueType, t.Kind, t.Summary, t.Team, t.BusinessUnit,
				strconv.Itoa(int(t.Tier)), t.Severity, t.Status, t.State, t.Resolution, t.Asset, t.Assignee,
				csvTime(&t.Created), csvTime(&t.Updated), csvTime(t.Resolved), csvTime(t.Due), csvTime(t.ContainedAt)}
		})
}

// Asset is one inventory asset with its scan coverage now.
type Asset struct {
	Asset          string `json:"asset"`
	Team           string `json:"team"`
	BusinessUnit   string `json:"business_unit"`
	Tier           uint8  `json:"tier"`
	Kind           string `json:"kind"`
	Active         bool   `json:"active"`
	InInventory    bool   `json:"in_inventory"`
	InternetFacing bool   `json:"internet_facing"`
	Owner          string `json:"owner"`
	System         string `json:"system"`
	Lifecycle      string `json:"lifecycle"`
	// Coverage is "covered", "uncovered" (a required kind lacks a recent
	// scan) or "not_required" (outside the coverage scope: inactive, not in
	// the inventory, or an asset kind coverage does not count).
	Coverage string     `json:"coverage"`
	Required []string   `json:"required_kinds"`
	Missing  []string   `json:"missing_kinds"`
	LastScan *time.Time `json:"last_scan"`
	Scans    []KindScan `json:"scans"`
}

// KindScan is the latest successful counting scan of one kind.
type KindScan struct {
	Kind     string    `json:"kind"`
	LastScan time.Time `json:"last_scan"`
}

type assetRow struct {
	Asset          string      `ch:"asset"`
	Team           string      `ch:"team"`
	BusinessUnit   string      `ch:"business_unit"`
	Tier           uint8       `ch:"tier"`
	Kind           string      `ch:"asset_kind"`
	Active         uint8       `ch:"active"`
	InInventory    uint8       `ch:"in_inventory"`
	InternetFacing uint8       `ch:"internet_facing"`
	Owner          string      `ch:"owner"`
	System         string      `ch:"system"`
	Lifecycle      string      `ch:"lifecycle"`
	ScanKinds      []string    `ch:"scan_kinds"`
	ScanTimes      []time.Time `ch:"scan_times"`
	InScope        uint8       `ch:"in_scope"`
	Required       []string    `ch:"required"`
	Missing        []string    `ch:"missing"`
	Covered        uint8       `ch:"covered"`
	LastScan       time.Time   `ch:"last_scan"`
}

var assetList = listSpec{
	route: "/api/v1/assets",
	sorts: map[string]sortKey{"asset": {"asset", strKey}, "team": {"team", strKey}, "tier": {"tier", intKey},
		"last_scan": {"last_scan", timeKey}},
	defSort: "asset", tie: "asset", tieKind: strKey,
}

func (s *Server) listAssets(c *gin.Context) {
	cov := s.b.Metrics.Config().Coverage
	req := make([][]string, 5)
	for tier := range req {
		ks, ok := cov.ByTier[tier]
		if !ok {
			ks = cov.RequiredKinds
		}
		req[tier] = nonNil(ks)
	}
	runList(s, c, assetList, "assets.sql", assetParams,
		func(c *gin.Context) ([]any, error) {
			f, err := filterParams(c)
			if err != nil {
				return nil, err
			}
			kinds, err := listParam(c, "kind")
			if err != nil {
				return nil, err
			}
			tri := func(name string) (int8, error) {
				b, err := boolParam(c, name)
				if err != nil || b == nil {
					return -1, err
				}
				return map[bool]int8{false: 0, true: 1}[*b], nil
			}
			covered, err := tri("covered")
			if err != nil {
				return nil, err
			}
			active, err := tri("active")
			if err != nil {
				return nil, err
			}
			tiers := make([]int32, 0, len(f.Tiers))
			for _, t := range f.Tiers {
				tiers = append(tiers, int32(t))
			}
			return []any{
				clickhouse.Named("window_s", uint32(cov.Window/time.Second)),
				clickhouse.Named("asset_kinds", nonNil(cov.AssetKinds)),
				clickhouse.Named("req_by_tier", req),
				clickhouse.Named("f_teams", nonNil(f.Teams)), clickhouse.Named("f_bus", nonNil(f.BusinessUnits)),
				clickhouse.Named("f_tiers", tiers), clickhouse.Named("f_assets", nonNil(f.Assets)),
				clickhouse.Named("f_kinds", nonNil(kinds)), clickhouse.Named("f_covered", covered),
				clickhouse.Named("f_active", active),
			}, nil
		},
		func(r assetRow, k string) (any, any) {
			switch k {
			case "team":
				return r.Team, r.Asset
			case "tier":
				return r.Tier, r.Asset
			case "last_scan":
				return r.LastScan, r.Asset
			}
			return r.Asset, r.Asset
		},
		func(r assetRow) Asset {
			a := Asset{Asset: r.Asset, Team: r.Team, BusinessUnit: r.BusinessUnit, Tier: r.Tier, Kind: r.Kind,
				Active: r.Active == 1, InInventory: r.InInventory == 1, InternetFacing: r.InternetFacing == 1,
				Owner: r.Owner, System: r.System, Lifecycle: r.Lifecycle, Required: nonNil(r.Required),
				Missing: nonNil(r.Missing), LastScan: timePtr(r.LastScan), Scans: []KindScan{}}
			switch {
			case r.InScope == 0:
				a.Coverage = "not_required"
			case r.Covered == 1:
				a.Coverage = "covered"
			default:
				a.Coverage = "uncovered"
			}
			for i, k := range r.ScanKinds {
				if i < len(r.ScanTimes) {
					a.Scans = append(a.Scans, KindScan{Kind: k, LastScan: r.ScanTimes[i].UTC()})
				}
			}
			return a
		},
		"assets",
		[]string{"asset", "team", "business_unit", "tier", "kind", "active", "coverage", "required_kinds", "missing_kinds", "last_scan"},
		func(a Asset) []string {
			return []string{a.Asset, a.Team, a.BusinessUnit, strconv.Itoa(int(a.Tier)), a.Kind, strconv.FormatBool(a.Active),
				a.Coverage, strings.Join(a.Required, " "), strings.Join(a.Missing, " "), csvTime(a.LastScan)}
		})
}

// Sources is the answer of GET /api/v1/sources.
type Sources struct {
	// Connectors are the pulled sources (Jira, PagerDuty, ...) from the
	// ingest state. They span teams, so only tokens for every team see
	// them; the list is empty for a team-scoped token.
	Connectors []Connector `json:"connectors"`
	// Scanners are the scanners that uploaded reports for assets the
	// token may see.
	Scanners []Scanner `json:"scanners"`
}

// Connector is one pulled source's freshness and last error.
type Connector struct {
	Source      string     `json:"source"`
	SourceType  string     `json:"source_type"`
	LastAttempt *time.Time `json:"last_attempt"`
	LastSuccess *time.Time `json:"last_success"`
	LastError   string     `json:"last_error"`
	Watermark   *time.Time `json:"watermark"`
	Items       uint64     `json:"items"`
	Stale       bool       `json:"stale"`
}

// Scanner is one scanner's freshness and last error, over the assets the
// token may see.
type Scanner struct {
	Scanner     string     `json:"scanner" ch:"scanner"`
	LastScan    *time.Time `json:"last_scan" ch:"-"`
	LastSuccess *time.Time `json:"last_success" ch:"-"`
	LastFailure *time.Time `json:"last_failure" ch:"-"`
	LastError   string     `json:"last_error" ch:"last_error"`
	Runs        uint64     `json:"runs" ch:"runs"`
	Assets      uint64     `json:"assets" ch:"assets"`
	Stale       bool       `json:"stale" ch:"-"`

	LastScanT    time.Time `json:"-" ch:"last_scan"`
	LastSuccessT time.Time `json:"-" ch:"last_success"`
	LastFailureT time.Time `json:"-" ch:"last_failure"`
}

func (s *Server) sources(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	if err := checkParams(c); err != nil {
		s.fail(c, err)
		return
	}
	p := principalOf(c)
	now := s.now().UTC()
	staleAfter := s.b.Metrics.Config().StaleAfter
	stale := func(t *time.Time) bool { return t == nil || now.Sub(*t) > staleAfter }
	out := Sources{Connectors: []Connector{}, Scanners: []Scanner{}}
	if p.AllTeams {
		start := time.Now()
		states, err := s.b.Store.States(ctx)
		s.observe("ingest_states", time.Since(start))
		if err != nil {
			s.fail(c, err)
			return
		}
		for _, st := range states {
			cn := Connector{Source: st.Source, SourceType: st.SourceType, LastAttempt: timePtr(st.LastAttempt),
				LastSuccess: timePtr(st.LastSuccess), LastError: st.LastError, Watermark: timePtr(st.Watermark), Items: st.Items}
			cn.Stale = stale(cn.LastSuccess)
			out.Connectors = append(out.Connectors, cn)
		}
	}
	sql, err := renderSQL("scanners.sql", map[string]any{"Assets": queries.SQL("api/assets_now.sql")})
	if err != nil {
		s.fail(c, err)
		return
	}
	start := time.Now()
	err = s.db.Select(ctx, &out.Scanners, sql, clickhouse.Named("now", now.Truncate(time.Second)), clickhouse.Named("scope", p.scopeTeams()))
	s.observe("scanners", time.Since(start))
	if err != nil {
		s.fail(c, fmt.Errorf("scanners: %w", err))
		return
	}
	for i := range out.Scanners {
		sc := &out.Scanners[i]
		sc.LastScan, sc.LastSuccess, sc.LastFailure = timePtr(sc.LastScanT), timePtr(sc.LastSuccessT), timePtr(sc.LastFailureT)
		sc.Stale = stale(sc.LastSuccess)
	}
	out.Scanners = nonNilT(out.Scanners)
	s.writeJSON(c, http.StatusOK, out)
}

// AuditEntry is one audit log row.
type AuditEntry struct {
	Time       time.Time `json:"time" ch:"time"`
	RequestID  string    `json:"request_id" ch:"request_id"`
	TokenID    string    `json:"token_id" ch:"token_id"`
	TokenName  string    `json:"token_name" ch:"token_name"`
	Method     string    `json:"method" ch:"method"`
	Route      string    `json:"route" ch:"route"`
	Params     string    `json:"params" ch:"params"`
	Status     uint16    `json:"status" ch:"status"`
	DurationMS uint32    `json:"duration_ms" ch:"duration_ms"`
	ClientIP   string    `json:"client_ip" ch:"client_ip"`
}

var auditList = listSpec{
	route:   "/api/v1/audit",
	sorts:   map[string]sortKey{"time": {"time", timeKey}},
	defSort: "-time", tie: "request_id", tieKind: strKey, noCache: true,
}

// audit answers GET /api/v1/audit. The log records the requests of every
// team, so a team-scoped admin token is refused.
func (s *Server) auditEntries(c *gin.Context) {
	if !principalOf(c).AllTeams {
		s.failCode(c, CodeForbidden, "", "the audit log needs an admin token for every team")
		return
	}
	runList(s, c, auditList, "audit.sql", auditParams,
		func(c *gin.Context) ([]any, error) {
			a, err := windowArgs(c)
			if err != nil {
				return nil, err
			}
			for _, k := range []string{"token_name", "token_id", "route", "method"} {
				v, err := oneParam(c, k)
				if err != nil {
					return nil, err
				}
				a = append(a, clickhouse.Named(k, v))
			}
			st, err := intParam(c, "status", 0, 0, 599)
			if err != nil {
				return nil, err
			}
			return append(a, clickhouse.Named("status", uint16(st))), nil
		},
		func(r AuditEntry, _ string) (any, any) { return r.Time, r.RequestID },
		func(r AuditEntry) AuditEntry { r.Time = r.Time.UTC(); return r },
		"audit",
		[]string{"time", "request_id", "token_id", "token_name", "method", "route", "params", "status", "duration_ms", "client_ip"},
		func(a AuditEntry) []string {
			return []string{csvTime(&a.Time), a.RequestID, a.TokenID, a.TokenName, a.Method, a.Route, a.Params,
				strconv.Itoa(int(a.Status)), strconv.Itoa(int(a.DurationMS)), a.ClientIP}
		})
}

// exportRuns answers GET /api/v1/exports/runs: the latest scheduled and
// manual export runs (reports.ListRuns), newest first. Runs belong to
// exports of any team, so, like the audit log, it needs an admin token for
// every team. Files are shown by name only, not by server path.
func (s *Server) exportRuns(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	if err := checkParams(c, "limit"); err != nil {
		s.fail(c, err)
		return
	}
	if !principalOf(c).AllTeams {
		s.failCode(c, CodeForbidden, "", "export runs need an admin token for every team")
		return
	}
	limit, err := intParam(c, "limit", 50, 1, 1000)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := acquire(ctx, s.slots); err != nil {
		s.fail(c, err)
		return
	}
	start := time.Now()
	runs, err := reports.ListRuns(ctx, s.b.DB, limit)
	<-s.slots
	s.observe("export_runs", time.Since(start))
	if err != nil {
		s.fail(c, err)
		return
	}
	for i := range runs {
		runs[i].File = path.Base(runs[i].File)
		if runs[i].File == "." || runs[i].File == "/" {
			runs[i].File = ""
		}
		runs[i].StartedAt, runs[i].ScheduledFor = runs[i].StartedAt.UTC(), runs[i].ScheduledFor.UTC()
		runs[i].FinishedAt = utcPtr(runs[i].FinishedAt)
	}
	s.writeJSON(c, http.StatusOK, gin.H{"items": nonNilT(runs)})
}
