package reports

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/metrics"
)

// DashboardQuery asks for the QBR dashboard of one period.
type DashboardQuery struct {
	// Period is the period shown; zero means DefaultPeriod.
	Period metrics.Period
	// Scope is the caller's team scope, from its authenticated session
	// (empty: every team); reports never widen or decide it.
	Scope metrics.Scope
	// Filter narrows the page (team, business unit, tier, severity,
	// source, asset), within Scope. The team comparison shows every team
	// of the scope with the other filters applied.
	Filter metrics.Filter
	// BaseURL prefixes every link of the page and the assets path: "" when
	// the service is at the root of its origin, "/secmetrics" behind a
	// path prefix. It must be empty or a path starting with "/": the page
	// makes no request to another origin.
	BaseURL string
}

// Page is a rendered dashboard.
//
// The page has no inline script, no inline style and no third-party
// resource: the chart options are JSON data blocks (<script
// type="application/json">, which browsers never run), and the one script
// that draws them, ECharts and the stylesheet are served by the service
// (AssetsHandler). So the page needs no nonce and no per-page hash: the
// fixed policy of CSP() (script-src 'self', style-src 'self', nothing
// else) is all it needs, and any stricter same-origin policy works.
type Page struct {
	html []byte
}

// HTML returns the page.
func (p *Page) HTML() []byte { return p.html }

// WriteTo writes the page to w.
func (p *Page) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(p.html)
	return int64(n), err
}

// CSP returns the Content-Security-Policy the page works under.
func (p *Page) CSP() string { return CSP }

// CSP is the Content-Security-Policy of the dashboard: only same-origin
// scripts, styles and images (the service's own /reports/assets/), no
// inline code, no connections, no fonts, no frames, no plugins, forms to
// the same origin only.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'none'; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Dashboard renders the dashboard for q to w. It returns a
// *metrics.InputError for a bad period, filter or base URL, before writing
// anything.
func (r *Reports) Dashboard(ctx context.Context, w io.Writer, q DashboardQuery) error {
	p, err := r.DashboardPage(ctx, q)
	if err != nil {
		return err
	}
	_, err = p.WriteTo(w)
	return err
}

// ServeDashboard renders the dashboard for q and writes it to w with its
// headers: Content-Type, Content-Security-Policy (CSP), nosniff,
// Referrer-Policy no-referrer and Cache-Control no-store. On error it
// writes nothing and returns the error for the caller to map (a
// *metrics.InputError is the client's fault).
func (r *Reports) ServeDashboard(w http.ResponseWriter, req *http.Request, q DashboardQuery) error {
	p, err := r.DashboardPage(req.Context(), q)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.CSP())
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(p.html)))
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodHead {
		return nil
	}
	_, err = p.WriteTo(w)
	return err
}

//go:embed templates/qbr.html
var qbrHTML string

var qbrTemplate = template.Must(template.New("qbr").Funcs(template.FuncMap{
	"lower": strings.ToLower,
}).Parse(qbrHTML))

// DashboardPage renders the dashboard for q.
func (r *Reports) DashboardPage(ctx context.Context, q DashboardQuery) (*Page, error) {
	if q.BaseURL != "" && (!strings.HasPrefix(q.BaseURL, "/") || strings.HasPrefix(q.BaseURL, "//") || strings.ContainsAny(q.BaseURL, "?#\\")) {
		return nil, &metrics.InputError{Field: "base_url", Message: fmt.Sprintf("%q: want a path starting with /", q.BaseURL)}
	}
	base := strings.TrimSuffix(q.BaseURL, "/")
	data, err := r.collect(ctx, q.Period, q.Scope, q.Filter, pageListLimit)
	if err != nil {
		return nil, err
	}
	pd, err := r.pageData(data, base)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := qbrTemplate.Execute(&buf, pd); err != nil {
		return nil, fmt.Errorf("render dashboard: %w", err)
	}
	return &Page{html: buf.Bytes()}, nil
}

// pageData is what the template shows.
type pageData struct {
	Title, PeriodName, PeriodRange, TimeZone, Previous string
	Scope, Filter, Team, Generated, Version            string
	Stale                                              bool
	Freshness                                          []string
	Teams                                              []string
	Counts                                             []statusCount
	Scorecard                                          []scoreKPI
	Trends                                             []chart
	Remediation, Coverage, Detection, Backlog, TeamCh  []chart
	Toil                                               []chart
	SLARows                                            []sevRow
	Uncovered                                          []listRow
	UncoveredTotal                                     string
	Rules                                              []listRow
	Overdue                                            []listRow
	Exploitable                                        []listRow
	TeamHead                                           []string
	TeamRows                                           []teamRow
	Links                                              map[string]string
	Scripts                                            []string // same-origin scripts: ECharts, then qbr.js
	Stylesheet, Icon                                   string
}

type statusCount struct {
	Class, Label string
	N            int
}

type scoreKPI struct {
	Title, ID, Definition string
	Rows                  []scoreRow
	Span                  int
}

type scoreRow struct {
	Label, Value, Target, Status, StatusClass string
	Previous, Change, Arrow, ChangeClass      string
	N, Note, Link                             string
}

type sevRow struct {
	Severity                         string
	P50, P90, Within, Overdue, Count cellLink
}

type cellLink struct {
	Text, Link, Class string
}

type listRow struct {
	Cells []cellLink
}

type teamRow struct {
	Team     cellLink
	Cells    []cellLink
	Selected bool
}

// links builds drill-down URLs to the API's lists, with the list
// parameters the API accepts (docs/reports.md, "Drill-down links"): the
// page's filter, plus for findings state, status, kind, overdue and kev,
// and for alerts and tickets the period as from/to (created in the
// period) with closed, kind or state. Findings lists show findings as they
// are now; the exact lists as of the period end are the page's own tables
// and the workbook's sheets.
type links struct {
	base     string
	from, to string // RFC 3339, the period's bounds
	filter   url.Values
}

func newLinks(base string, p metrics.Period, f metrics.Filter) links {
	v := url.Values{}
	for _, t := range f.Teams {
		v.Add("team", t)
	}
	for _, b := range f.BusinessUnits {
		v.Add("business_unit", b)
	}
	for _, t := range f.Tiers {
		v.Add("tier", strconv.Itoa(t))
	}
	for _, s := range f.Severities {
		v.Add("severity", s)
	}
	for _, s := range f.Sources {
		v.Add("source", s)
	}
	for _, a := range f.Assets {
		v.Add("asset", a)
	}
	return links{base: base, from: p.From.UTC().Format(time.RFC3339), to: p.To.UTC().Format(time.RFC3339), filter: v}
}

// withTeam returns l filtered to one team instead of the page's teams.
func (l links) withTeam(team string) links {
	v := url.Values{}
	for k, vs := range l.filter {
		v[k] = vs
	}
	v.Set("team", team)
	l.filter = v
	return l
}

func (l links) url(path string, window bool, kv ...string) string {
	v := url.Values{}
	for k, vs := range l.filter {
		v[k] = vs
	}
	if window {
		v.Set("from", l.from)
		v.Set("to", l.to)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" || kv[i+1] == "all" {
			continue
		}
		if kv[i] == "severity" && len(v["severity"]) > 0 {
			continue // the page's own severity filter already applies
		}
		v.Set(kv[i], kv[i+1])
	}
	v.Set("format", "csv")
	return l.base + path + "?" + v.Encode()
}

func (l links) findings(kv ...string) string { return l.url("/api/v1/findings", false, kv...) }
func (l links) alerts(kv ...string) string   { return l.url("/api/v1/alerts", true, kv...) }
func (l links) tickets(kv ...string) string  { return l.url("/api/v1/tickets", true, kv...) }

// drill returns the list behind a value, "" when there is none.
func (l links) drill(kpi, measure, slice string) string {
	sev := slice
	switch kpi {
	case "vuln_mttr", "reopen_rate":
		return l.findings("state", "fixed", "severity", sev, "sort", "-fixed_at")
	case "vuln_ttr_survival":
		switch measure {
		case "censored":
			return l.findings("state", "open", "severity", sev, "sort", "first_seen")
		case "events":
			return l.findings("state", "fixed", "severity", sev, "sort", "-fixed_at")
		}
		return l.findings("severity", sev, "sort", "-first_seen")
	case "sla_adherence":
		if measure == "closed_within_sla" {
			return l.findings("state", "fixed", "severity", sev, "sort", "-fixed_at")
		}
		return l.findings("state", "open", "overdue", "true", "severity", sev, "sort", "due")
	case "vuln_backlog":
		switch measure {
		case "fixed":
			return l.findings("state", "fixed", "severity", sev, "sort", "-fixed_at")
		case "opened", "net":
			return l.findings("severity", sev, "sort", "-first_seen")
		case "risk_accepted":
			return l.findings("state", "open", "status", "risk_accepted", "severity", sev)
		}
		return l.findings("state", "open", "severity", sev, "sort", "first_seen")
	case "exploitable_backlog":
		return "#exploitable"
	case "secrets_exposure":
		if strings.HasPrefix(measure, "rotate") {
			return l.findings("kind", "secret", "state", "fixed", "severity", sev, "sort", "-fixed_at")
		}
		return l.findings("kind", "secret", "severity", sev, "sort", "-first_seen")
	case "scan_coverage":
		return "#coverage"
	case "threat_model_coverage":
		return l.tickets("kind", "threat_model")
	case "detection_precision":
		return l.alerts("closed", "true", "severity", sev)
	case "mean_time_to_triage":
		return l.alerts("severity", sev)
	case "mean_time_to_contain":
		return l.tickets("kind", "incident")
	case "toil_ratio":
		return l.tickets("kind", "toil")
	case "design_review_cycle_time":
		return l.tickets("kind", "design_review")
	case "customer_escalation_time_to_close":
		return l.tickets("kind", "customer_escalation")
	case "security_debt_burndown":
		return l.tickets("kind", "security_debt")
	}
	return ""
}

func (r *Reports) pageData(q *qbr, base string) (*pageData, error) {
	loc := r.Location()
	ln := newLinks(base, q.Period, q.Filter)
	assets := base + r.assets
	cb := &chartBuilder{assets: assets}
	team := ""
	if len(q.Filter.Teams) == 1 {
		team = q.Filter.Teams[0]
	}
	pd := &pageData{
		Title:       "Security QBR " + q.Period.Name,
		PeriodName:  q.Period.Name,
		PeriodRange: periodRange(q.Period),
		TimeZone:    q.Period.TimeZone,
		Previous:    q.Previous.Name,
		Scope:       scopeText(q),
		Filter:      filterText(q.Filter),
		Team:        team,
		Generated:   q.Generated.In(loc).Format("2 Jan 2006 15:04 MST"),
		Version:     r.version,
		Stale:       q.Stale,
		Stylesheet:  assets + "qbr.css",
		Icon:        assets + "favicon.svg",
		Links: map[string]string{
			"overdue":     ln.findings("state", "open", "overdue", "true", "sort", "due"),
			"exploitable": ln.findings("state", "open", "kev", "true", "sort", "-epss"),
			"alerts":      ln.alerts("closed", "true"),
		},
	}
	for _, f := range q.Fresh {
		pd.Freshness = append(pd.Freshness, freshnessText(f, loc))
	}

	// Scorecard and the status summary.
	counts := map[metrics.Status]int{}
	for _, res := range q.Results {
		d := definition(res)
		k := scoreKPI{Title: d.Title, ID: d.ID, Definition: d.Definition}
		for _, v := range headlines(res) {
			counts[v.Status]++
			m, _ := d.Measure(v.Measure)
			row := scoreRow{
				Label:       lineLabel(v.Measure, v.Slice),
				Value:       formatValue(m.Unit, v.Value),
				Target:      formatTarget(m.Unit, v.Target),
				Status:      statusLabel(v.Status),
				StatusClass: string(v.Status),
				Previous:    formatValue(m.Unit, v.Previous),
				Change:      formatChange(m.Unit, v.Change),
				Arrow:       arrow(v.Change),
				ChangeClass: string(changeTrend(d, v)),
				N:           groupThousands(strconv.FormatUint(v.N, 10)),
				Note:        noteText(v),
				Link:        ln.drill(d.Name, v.Measure, v.Slice),
			}
			if v.Status == metrics.InsufficientData && v.Value != nil {
				row.Note = strings.TrimPrefix(row.Note+"; too few items to judge", "; ")
			}
			k.Rows = append(k.Rows, row)
		}
		k.Span = len(k.Rows)
		if k.Span > 0 {
			pd.Scorecard = append(pd.Scorecard, k)
		}
	}
	for _, s := range []metrics.Status{metrics.Green, metrics.Amber, metrics.Red, metrics.InsufficientData, metrics.NoTarget} {
		pd.Counts = append(pd.Counts, statusCount{Class: string(s), Label: statusLabel(s), N: counts[s]})
	}

	add := func(dst *[]chart, c chart) { *dst = append(*dst, c) }

	// Trends: every KPI over the last TrendPeriods periods.
	for _, res := range q.Results {
		add(&pd.Trends, cb.trendChart(res, "sm"))
	}

	// Remediation: MTTR and SLA adherence by severity.
	mttr, sla := q.result("vuln_mttr"), q.result("sla_adherence")
	sevs := presentSlices(mttr, "p50", true)
	for _, s := range presentSlices(sla, "closed_within_sla", true) {
		if !slices.Contains(sevs, s) {
			sevs = append(sevs, s)
		}
	}
	sortSeverities(sevs)
	if len(sevs) > 0 {
		add(&pd.Remediation, cb.sliceBars(mttr, "Time to remediate by severity", "P50 and P90 of fix time − first seen, in days, for findings fixed in "+q.Period.Name, []string{"p50", "p90"}, sevs))
		add(&pd.Remediation, cb.sliceBars(sla, "SLA adherence by severity", "Share fixed within SLA, and share of open findings overdue at the period end", []string{"closed_within_sla", "open_overdue"}, sevs))
	}
	for _, s := range append(sevs, "all") {
		row := sevRow{Severity: s}
		sev := s
		if v := value(mttr.Groups, "", "p50", s); v != nil {
			row.P50 = cellLink{formatValue(metrics.Days, v.Value), ln.drill("vuln_mttr", "p50", sev), string(v.Status)}
			row.Count = cellLink{groupThousands(strconv.FormatUint(v.N, 10)), ln.drill("vuln_mttr", "p50", sev), ""}
		}
		if v := value(mttr.Groups, "", "p90", s); v != nil {
			row.P90 = cellLink{formatValue(metrics.Days, v.Value), ln.drill("vuln_mttr", "p90", sev), string(v.Status)}
		}
		if v := value(sla.Groups, "", "closed_within_sla", s); v != nil {
			row.Within = cellLink{formatValue(metrics.Percent, v.Value), ln.drill("sla_adherence", "closed_within_sla", sev), string(v.Status)}
		}
		if v := value(sla.Groups, "", "overdue", s); v != nil {
			row.Overdue = cellLink{formatValue(metrics.Count, v.Value), ln.drill("sla_adherence", "overdue", sev), ""}
		}
		pd.SLARows = append(pd.SLARows, row)
	}
	for _, f := range q.Overdue {
		pd.Overdue = append(pd.Overdue, listRow{Cells: []cellLink{
			{Text: f.Asset, Link: ln.findings("state", "open", "overdue", "true", "asset", f.Asset, "sort", "due")},
			{Text: f.Team},
			{Text: f.Severity, Class: "sev-" + f.Severity},
			{Text: f.Due.In(loc).Format("2006-01-02")},
			{Text: strconv.FormatFloat(f.DaysOverdue, 'f', 1, 64) + " d", Class: "num"},
			{Text: yes(f.KEV)},
		}})
	}

	// Coverage by kind and by tier, and the uncovered assets by name.
	cov := q.result("scan_coverage")
	if kinds := presentSlices(cov, "coverage", false); len(kinds) > 0 {
		add(&pd.Coverage, cb.sliceBars(cov, "Scan coverage by kind", "Share of in-scope assets with a successful scan in the last 30 days before the period end", []string{"coverage"}, kinds))
	}
	if len(q.Coverage.Groups) > 0 {
		add(&pd.Coverage, cb.groupBars(q.Coverage, "Scan coverage by service tier", "Tier 1 is the most critical; tier 0 is unknown", "coverage", presentSlicesGrouped(q.Coverage, "coverage"), func(k string) string {
			if k == "0" {
				return "unknown tier"
			}
			return "tier " + k
		}, false))
	}
	for _, a := range q.Uncovered {
		last := "never"
		if a.LastScan != nil {
			last = a.LastScan.In(loc).Format("2006-01-02")
		}
		pd.Uncovered = append(pd.Uncovered, listRow{Cells: []cellLink{
			{Text: a.Asset, Link: ln.findings("asset", a.Asset, "state", "open")},
			{Text: a.Team},
			{Text: tierText(a.Tier)},
			{Text: strings.Join(a.Missing, ", ")},
			{Text: last},
		}})
	}
	if v := value(cov.Groups, "", "coverage", "all"); v != nil && v.Value != nil {
		pd.UncoveredTotal = fmt.Sprintf("%s of %s in-scope assets covered", formatValue(metrics.Percent, v.Value), groupThousands(strconv.FormatUint(v.N, 10)))
	}

	// Detection: precision by severity and the noisiest rules.
	prec := q.result("detection_precision")
	if s := presentSlices(prec, "precision", false); len(s) > 0 {
		add(&pd.Detection, cb.sliceBars(prec, "Detection precision by severity", "True positives ÷ classified closed alerts, and the share closed without a verdict", []string{"precision", "unclassified_share"}, s))
	}
	for _, rs := range q.Rules {
		p := "–"
		if rs.Precision != nil {
			p = formatValue(metrics.Percent, rs.Precision)
		}
		name := rs.RuleName
		if name == "" {
			name = rs.RuleID
		}
		pd.Rules = append(pd.Rules, listRow{Cells: []cellLink{
			{Text: name, Link: ln.alerts("rule", rs.RuleID, "closed", "true")},
			{Text: groupThousands(strconv.FormatUint(rs.Closed, 10)), Class: "num"},
			{Text: groupThousands(strconv.FormatUint(rs.FalsePositive, 10)), Class: "num"},
			{Text: groupThousands(strconv.FormatUint(rs.BenignPositive, 10)), Class: "num"},
			{Text: groupThousands(strconv.FormatUint(rs.TruePositive, 10)), Class: "num"},
			{Text: p, Class: "num"},
		}})
	}
	for _, f := range q.Exploitable {
		pd.Exploitable = append(pd.Exploitable, listRow{Cells: []cellLink{
			{Text: f.Asset, Link: ln.findings("state", "open", "asset", f.Asset, "cve", f.CVE)},
			{Text: f.Team},
			{Text: f.CVE},
			{Text: f.Severity, Class: "sev-" + f.Severity},
			{Text: yes(f.KEV)},
			{Text: epssText(f.EPSS), Class: "num"},
		}})
	}

	// Toil and backlog.
	add(&pd.Toil, cb.trendChart(q.result("toil_ratio"), "md"))
	add(&pd.Backlog, cb.backlogChart(q.result("vuln_backlog")))

	// Team comparison.
	r.teamView(q, pd, ln, cb, add)

	if cb.err != nil {
		return nil, cb.err
	}
	pd.Scripts = append(cb.scripts, assets+"qbr.js")
	return pd, nil
}

// teamView fills the team comparison: a table of each team's headline
// values with their statuses, and bar charts of open and overdue findings.
func (r *Reports) teamView(q *qbr, pd *pageData, ln links, cb *chartBuilder, add func(*[]chart, chart)) {
	selected := ""
	if len(q.Filter.Teams) == 1 {
		selected = q.Filter.Teams[0]
	}
	type col struct {
		res  metrics.Result
		d    metrics.Definition
		line line
		unit metrics.Unit
	}
	var cols []col
	teams := map[string]bool{}
	for _, res := range q.Teams.Results {
		d := definition(res)
		if res.GroupBy == "team" {
			for _, g := range res.Groups {
				teams[g.Key] = true
			}
		}
		for _, l := range views[d.Name].Team {
			m, _ := d.Measure(l.Measure)
			cols = append(cols, col{res, d, l.line, m.Unit})
			pd.TeamHead = append(pd.TeamHead, l.Label)
		}
	}
	for t := range teams {
		pd.Teams = append(pd.Teams, t)
	}
	sort.Strings(pd.Teams)
	for _, t := range pd.Teams {
		tl := ln.withTeam(t)
		row := teamRow{Team: cellLink{Text: t, Link: "?" + url.Values{"period": {q.Period.Name}, "team": {t}}.Encode()}, Selected: t == selected}
		for _, c := range cols {
			v := value(c.res.Groups, t, c.line.Measure, c.line.Slice)
			if v == nil {
				row.Cells = append(row.Cells, cellLink{Text: "–"})
				continue
			}
			row.Cells = append(row.Cells, cellLink{Text: formatValue(c.unit, v.Value), Link: tl.drill(c.d.Name, c.line.Measure, c.line.Slice), Class: string(v.Status)})
		}
		pd.TeamRows = append(pd.TeamRows, row)
	}
	if len(pd.Teams) == 0 {
		return
	}
	backlog := q.teamResult("vuln_backlog")
	sla := q.teamResult("sla_adherence")
	if backlog.GroupBy == "team" {
		add(&pd.TeamCh, cb.groupBars(backlog, "Open findings by team", "Open at the period end", "open", []string{"all"}, identity, true))
	}
	if sla.GroupBy == "team" {
		add(&pd.TeamCh, cb.groupBars(sla, "Fixed within SLA by team", "Share of findings fixed in the period within their SLA", "closed_within_sla", []string{"all"}, identity, true))
	}
}

func (q *qbr) teamResult(name string) metrics.Result {
	for _, r := range q.Teams.Results {
		if definition(r).Name == name {
			return r
		}
	}
	return metrics.Result{}
}

func identity(s string) string { return s }

func presentSlicesGrouped(res metrics.Result, measure string) []string {
	var out []string
	for _, g := range res.Groups {
		for _, v := range g.Values {
			if v.Measure == measure && !slices.Contains(out, v.Slice) {
				out = append(out, v.Slice)
			}
		}
	}
	sortSeverities(out)
	return out
}

var sevOrder = map[string]int{"all": 0, "critical": 1, "high": 2, "medium": 3, "low": 4, "info": 5, "unknown": 6}

// sortSeverities orders severities most severe first, "all" first, other
// slices alphabetically after them.
func sortSeverities(s []string) {
	sort.SliceStable(s, func(i, j int) bool {
		oi, iok := sevOrder[s[i]]
		oj, jok := sevOrder[s[j]]
		switch {
		case iok && jok:
			return oi < oj
		case iok != jok:
			return iok
		}
		return s[i] < s[j]
	})
}

func tierText(t uint8) string {
	if t == 0 {
		return "unknown"
	}
	return strconv.Itoa(int(t))
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

// epssText is an EPSS probability as a percentage; 0 is no score.
func epssText(p float64) string {
	if p <= 0 {
		return "–"
	}
	return strconv.FormatFloat(100*p, 'f', 1, 64) + " %"
}
