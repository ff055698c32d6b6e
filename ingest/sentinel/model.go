package sentinel

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// incident is one incident's state, from the API or from export rows.
type incident struct {
	name           string // the incident's resource name (a GUID), the alert id
	number         int64
	title          string
	severity       string
	status         string
	classification string
	reason         string
	created        time.Time
	lastModified   time.Time
	firstTriage    time.Time
	closed         time.Time
	closedApprox   bool // closed is a lastModifiedTimeUtc, not a closing time
	autoClosed     bool
	owner          owner
	labels         []string
	products       []string
	team           string
	ruleIDs        []string
	raw            []byte
}

type owner struct {
	ObjectID          string `json:"objectId"`
	Email             string `json:"email"`
	AssignedTo        string `json:"assignedTo"`
	UserPrincipalName string `json:"userPrincipalName"`
	OwnerType         string `json:"ownerType"`
}

// apiIncident is the part of an incidents API resource that is read.
type apiIncident struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties *struct {
		Title                  string   `json:"title"`
		Severity               string   `json:"severity"`
		Status                 string   `json:"status"`
		Classification         string   `json:"classification"`
		ClassificationReason   string   `json:"classificationReason"`
		CreatedTimeUtc         string   `json:"createdTimeUtc"`
		FirstActivityTimeUtc   string   `json:"firstActivityTimeUtc"`
		LastModifiedTimeUtc    string   `json:"lastModifiedTimeUtc"`
		ClosedTimeUtc          string   `json:"closedTimeUtc"`
		IncidentNumber         int64    `json:"incidentNumber"`
		RelatedAnalyticRuleIds []string `json:"relatedAnalyticRuleIds"`
		Owner                  owner    `json:"owner"`
		Labels                 []struct {
			LabelName string `json:"labelName"`
		} `json:"labels"`
		AdditionalData struct {
			AlertProductNames []string `json:"alertProductNames"`
		} `json:"additionalData"`
		TeamInformation *struct {
			Name string `json:"name"`
		} `json:"teamInformation"`
	} `json:"properties"`
}

func parseTime(field, s string, required bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return time.Time{}, fmt.Errorf("%s missing", field)
		}
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "1/2/2006, 3:04:05.000 PM", "1/2/2006, 3:04:05 PM", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s: cannot parse %q as a time", field, s)
}

func parseAPIIncident(raw json.RawMessage) (*incident, error) {
	var a apiIncident
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("malformed incident: %w", err)
	}
	if a.Name == "" || a.Properties == nil {
		return nil, fmt.Errorf("malformed incident %.80s: no name or properties", raw)
	}
	p := a.Properties
	inc := &incident{
		name: a.Name, number: p.IncidentNumber, title: p.Title, severity: p.Severity,
		status: p.Status, classification: p.Classification, reason: p.ClassificationReason,
		owner: p.Owner, products: p.AdditionalData.AlertProductNames, ruleIDs: p.RelatedAnalyticRuleIds,
		raw: raw,
	}
	for _, l := range p.Labels {
		inc.labels = append(inc.labels, l.LabelName)
	}
	if p.TeamInformation != nil {
		inc.team = p.TeamInformation.Name
	}
	var err error
	fail := func(err error) (*incident, error) { return nil, fmt.Errorf("incident %s: %w", a.Name, err) }
	if inc.created, err = parseTime("createdTimeUtc", p.CreatedTimeUtc, true); err != nil {
		return fail(err)
	}
	if inc.lastModified, err = parseTime("lastModifiedTimeUtc", p.LastModifiedTimeUtc, true); err != nil {
		return fail(err)
	}
	if inc.closed, err = parseTime("closedTimeUtc", p.ClosedTimeUtc, false); err != nil {
		return fail(err)
	}
	if inc.status == "" {
		return fail(errors.New("status missing"))
	}
	// No history: the time this pull sees is an upper bound (carried over
	// as the earliest seen, see Source.carryOver).
	if !strings.EqualFold(inc.status, "New") {
		inc.firstTriage = inc.lastModified
	}
	if strings.EqualFold(inc.status, "Closed") && inc.closed.IsZero() {
		inc.closed, inc.closedApprox = inc.lastModified, true
	}
	if !strings.EqualFold(inc.status, "Closed") {
		inc.closed = time.Time{}
	}
	return inc, nil
}

// normalizer turns incidents into alerts.
type normalizer struct {
	source string
	cfg    Config
	disp   ingest.DispositionMap
}

// alert normalizes one incident (see docs/alerts.md, Microsoft Sentinel).
func (n *normalizer) alert(inc *incident) ingest.Alert {
	a := ingest.Alert{
		Source:           n.source,
		ID:               inc.name,
		RuleName:         inc.title,
		Severity:         ingest.ParseSeverity(inc.severity),
		OriginalSeverity: inc.severity,
		Created:          inc.created,
		FirstTriage:      inc.firstTriage,
		Closed:           inc.closed,
		Updated:          inc.lastModified,
		Status:           inc.status,
		AutoClosed:       inc.autoClosed,
		Raw:              inc.raw,
	}
	if len(inc.ruleIDs) > 0 {
		a.RuleID = path.Base(inc.ruleIDs[0])
	}
	if inc.number > 0 {
		a.Incident = strconv.FormatInt(inc.number, 10)
	}
	if len(inc.products) > 0 {
		a.Asset = inc.products[0]
	}
	a.Assignee = firstNonEmpty(inc.owner.AssignedTo, inc.owner.UserPrincipalName, inc.owner.Email)
	candidates := []string{prefixed("team:", inc.team), prefixed("owner:", inc.owner.AssignedTo), prefixed("owner:", inc.owner.UserPrincipalName), prefixed("owner:", inc.owner.Email)}
	for _, l := range inc.labels {
		candidates = append(candidates, prefixed("label:", l))
	}
	for _, p := range inc.products {
		candidates = append(candidates, prefixed("product:", p))
	}
	n.cfg.Mapping.MapTeam(&a, candidates...)

	original := inc.classification
	if inc.classification != "" && inc.reason != "" {
		original += "/" + inc.reason
	}
	if _, ok := n.disp.Map(original); !ok && inc.reason != "" {
		if d, ok := n.disp.Map(inc.classification); ok {
			a.Disposition, a.OriginalDisposition = d, original
			return a
		}
	}
	ingest.MapDisposition(&a, n.disp, original)
	return a
}

func prefixed(p, v string) string {
	if strings.TrimSpace(v) == "" {
		return ""
	}
	return p + v
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// row is one SecurityIncident row: column name (without " [UTC]") to raw
// value, a JSON string, number, object or array (CSV cells become JSON
// strings).
type row struct {
	line   int
	fields map[string]json.RawMessage
}

func (r row) str(col string) string {
	raw, ok := r.fields[col]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw) // a number or a dynamic object
}

// dynamic decodes a dynamic column, given as JSON or as a string holding
// JSON; an empty cell leaves dst alone.
func (r row) dynamic(col string, dst any) error {
	raw, ok := r.fields[col]
	if !ok || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		raw = json.RawMessage(s)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%s: %w", col, err)
	}
	return nil
}

// readExport reads SecurityIncident rows from CSV, JSON Lines or a JSON
// array, telling them apart by the first non-space byte.
func readExport(r io.Reader) ([]row, error) {
	br := bufio.NewReader(r)
	for {
		b, err := br.Peek(1)
		if err != nil {
			if err == io.EOF {
				return nil, errors.New("empty file")
			}
			return nil, err
		}
		if b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n' {
			br.ReadByte()
			continue
		}
		if bytes.HasPrefix(b, []byte("\xef")) { // a UTF-8 byte order mark
			bom, _ := br.Peek(3)
			if bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
				br.Discard(3)
				continue
			}
		}
		switch b[0] {
		case '[':
			return readJSONArray(br)
		case '{':
			return readJSONLines(br)
		}
		return readCSV(br)
	}
}

func normColumn(c string) string {
	c = strings.TrimSpace(c)
	c = strings.TrimSuffix(c, " [UTC]")
	return strings.TrimSpace(c)
}

func readCSV(r io.Reader) ([]row, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("line 1: %w", err)
	}
	cols := make([]string, len(header))
	for i, h := range header {
		cols[i] = normColumn(h)
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err // csv.ParseError names the line
		}
		line, _ := cr.FieldPos(0)
		f := make(map[string]json.RawMessage, len(cols))
		for i, v := range rec {
			b, _ := json.Marshal(v)
			f[cols[i]] = b
		}
		rows = append(rows, row{line: line, fields: f})
	}
	return rows, nil
}

func readJSONLines(r *bufio.Reader) ([]row, error) {
	var rows []row
	for line := 1; ; line++ {
		text, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(text)) > 0 {
			f, perr := jsonRow(text)
			if perr != nil {
				return nil, fmt.Errorf("line %d: %w", line, perr)
			}
			rows = append(rows, row{line: line, fields: f})
		}
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func readJSONArray(r io.Reader) ([]row, error) {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var rows []row
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("row %d: %w", i+1, err)
		}
		f, err := jsonRow(raw)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i+1, err)
		}
		rows = append(rows, row{line: i + 1, fields: f})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return rows, nil
}

func jsonRow(b []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	f := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		f[normColumn(k)] = v
	}
	return f, nil
}

// parsedRow is a row with the values the grouping needs.
type parsedRow struct {
	row
	name          string
	status        string
	lastModified  time.Time
	timeGenerated time.Time
}

// fromRows groups rows by IncidentName and builds each incident from its
// latest row (by LastModifiedTime, then TimeGenerated), with first triage
// and closing from the whole history.
func (n *normalizer) fromRows(rows []row) ([]*incident, error) {
	if len(rows) == 0 {
		return nil, errors.New("no rows")
	}
	groups := map[string][]parsedRow{}
	var order []string
	for _, r := range rows {
		where := fmt.Sprintf("line %d", r.line)
		p := parsedRow{row: r, name: r.str("IncidentName"), status: r.str("Status")}
		if p.name == "" {
			return nil, fmt.Errorf("%s: IncidentName missing", where)
		}
		if p.status == "" {
			return nil, fmt.Errorf("%s: Status missing", where)
		}
		var err error
		if p.lastModified, err = parseTime("LastModifiedTime", r.str("LastModifiedTime"), false); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if p.timeGenerated, err = parseTime("TimeGenerated", r.str("TimeGenerated"), false); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if p.lastModified.IsZero() && p.timeGenerated.IsZero() {
			return nil, fmt.Errorf("%s: LastModifiedTime and TimeGenerated missing", where)
		}
		if p.lastModified.IsZero() {
			p.lastModified = p.timeGenerated
		}
		if _, ok := groups[p.name]; !ok {
			order = append(order, p.name)
		}
		groups[p.name] = append(groups[p.name], p)
	}
	out := make([]*incident, 0, len(order))
	for _, name := range order {
		hist := groups[name]
		sort.SliceStable(hist, func(i, j int) bool {
			if !hist[i].lastModified.Equal(hist[j].lastModified) {
				return hist[i].lastModified.Before(hist[j].lastModified)
			}
			return hist[i].timeGenerated.Before(hist[j].timeGenerated)
		})
		inc, err := n.fromHistory(hist)
		if err != nil {
			return nil, fmt.Errorf("line %d: incident %s: %w", hist[len(hist)-1].line, name, err)
		}
		out = append(out, inc)
	}
	return out, nil
}

func (n *normalizer) fromHistory(hist []parsedRow) (*incident, error) {
	last := hist[len(hist)-1]
	inc := &incident{
		name:           last.name,
		title:          last.str("Title"),
		severity:       last.str("Severity"),
		status:         last.status,
		classification: last.str("Classification"),
		reason:         last.str("ClassificationReason"),
		lastModified:   last.lastModified,
	}
	var err error
	if inc.created, err = parseTime("CreatedTime", last.str("CreatedTime"), true); err != nil {
		return nil, err
	}
	if num := last.str("IncidentNumber"); num != "" {
		if inc.number, err = strconv.ParseInt(num, 10, 64); err != nil {
			return nil, fmt.Errorf("IncidentNumber: %w", err)
		}
	}
	if err := last.dynamic("Owner", &inc.owner); err != nil {
		return nil, err
	}
	if err := last.dynamic("RelatedAnalyticRuleIds", &inc.ruleIDs); err != nil {
		return nil, err
	}
	var labels []struct {
		LabelName string `json:"labelName"`
	}
	if err := last.dynamic("Labels", &labels); err != nil {
		return nil, err
	}
	for _, l := range labels {
		inc.labels = append(inc.labels, l.LabelName)
	}
	var extra struct {
		AlertProductNames []string `json:"alertProductNames"`
	}
	if err := last.dynamic("AdditionalData", &extra); err != nil {
		return nil, err
	}
	inc.products = extra.AlertProductNames
	// First triage: the first change out of New.
	for _, h := range hist {
		if !strings.EqualFold(h.status, "New") {
			inc.firstTriage = h.lastModified
			break
		}
	}
	// Closing: the row that began the final run of Closed rows.
	if strings.EqualFold(inc.status, "Closed") {
		closing := len(hist) - 1
		for closing > 0 && strings.EqualFold(hist[closing-1].status, "Closed") {
			closing--
		}
		if inc.closed, err = parseTime("ClosedTime", last.str("ClosedTime"), false); err != nil {
			return nil, err
		}
		if inc.closed.IsZero() {
			inc.closed = hist[closing].lastModified
		}
		by := hist[closing].str("ModifiedBy")
		for _, p := range n.cfg.AutoCloseModifiers {
			if strings.HasPrefix(by, p) {
				inc.autoClosed = true
			}
		}
	}
	raw, err := json.Marshal(last.fields)
	if err != nil {
		return nil, err
	}
	inc.raw = raw
	return inc, nil
}
