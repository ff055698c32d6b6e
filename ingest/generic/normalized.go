package generic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/transport"
)

// Normalized is the JSON document POST /api/v1/alerts accepts: alerts
// already in our vocabulary, from one source. See docs/alerts.md for the
// shape and an example.
//
//	{
//	  "source": "webhook:soar",
//	  "alerts": [
//	    {"id": "A-1042", "rule_id": "R-7", "rule_name": "Impossible travel",
//	     "severity": "high", "original_severity": "P2",
//	     "created": "2026-03-01T08:00:00Z", "first_triage": "2026-03-01T08:04:00Z",
//	     "closed": "2026-03-01T09:30:00Z", "updated": "2026-03-01T09:30:00Z",
//	     "status": "closed", "disposition": "false_positive",
//	     "original_disposition": "FP - VPN egress", "auto_closed": false,
//	     "assignee": "ann", "team": "soc", "asset": "vpn-gw-1", "incident": "INC-42"}
//	  ]
//	}
type Normalized struct {
	// Source is "<system>:<instance>" (lower-case letters, digits, '_',
	// '.', '-'); the handler checks it against what the caller may write.
	Source string            `json:"source"`
	Alerts []NormalizedAlert `json:"alerts"`
}

// NormalizedAlert is one alert of a Normalized document. id and created
// are required; times are RFC 3339 with an offset; severity and
// disposition take the normalized values only (the source's own words go
// in original_severity and original_disposition).
type NormalizedAlert struct {
	ID                  string  `json:"id"`
	RuleID              string  `json:"rule_id,omitempty"`
	RuleName            string  `json:"rule_name,omitempty"`
	Severity            string  `json:"severity,omitempty"`
	OriginalSeverity    string  `json:"original_severity,omitempty"`
	Created             string  `json:"created"`
	FirstTriage         *string `json:"first_triage,omitempty"`
	Closed              *string `json:"closed,omitempty"`
	Updated             *string `json:"updated,omitempty"`
	Status              string  `json:"status,omitempty"`
	Disposition         string  `json:"disposition,omitempty"`
	OriginalDisposition string  `json:"original_disposition,omitempty"`
	AutoClosed          bool    `json:"auto_closed,omitempty"`
	Assignee            string  `json:"assignee,omitempty"`
	Team                string  `json:"team,omitempty"`
	Asset               string  `json:"asset,omitempty"`
	Incident            string  `json:"incident,omitempty"`
}

// MaxNormalizedAlerts is the most alerts one document may hold.
const MaxNormalizedAlerts = 10_000

// maxText is the longest text field accepted.
const maxText = 4096

var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidationError lists every problem of a Normalized document, each with
// its JSON path ("alerts[3].created"), for a 400 response.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid alerts: " + strings.Join(e.Problems, "; ")
}

// DecodeNormalized reads one Normalized document of at most max bytes and
// returns its alerts. It is strict: unknown fields, trailing data, a
// document over max bytes (an error wrapping transport.ErrTooLarge) or
// over MaxNormalizedAlerts alerts, malformed JSON, and any invalid alert
// are errors; invalid alerts give a *ValidationError listing every
// problem (at most 50). The alerts keep their JSON object as raw payload.
func DecodeNormalized(r io.Reader, max int64) ([]ingest.Alert, error) {
	data, err := transport.ReadLimited(r, max)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc struct {
		Source *string           `json:"source"`
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("malformed alerts document: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("malformed alerts document: data after the document")
	}
	v := &ValidationError{}
	add := func(format string, args ...any) {
		if len(v.Problems) < 50 {
			v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
		}
	}
	source := ""
	switch {
	case doc.Source == nil:
		add("source: required")
	case !sourceName.MatchString(*doc.Source):
		add("source: %q is not \"<system>:<instance>\"", *doc.Source)
	default:
		source = *doc.Source
	}
	switch {
	case doc.Alerts == nil:
		add("alerts: required")
	case len(doc.Alerts) == 0:
		add("alerts: empty")
	case len(doc.Alerts) > MaxNormalizedAlerts:
		return nil, fmt.Errorf("too many alerts: %d, at most %d", len(doc.Alerts), MaxNormalizedAlerts)
	}
	out := make([]ingest.Alert, 0, len(doc.Alerts))
	seen := make(map[string]int, len(doc.Alerts))
	for i, raw := range doc.Alerts {
		p := fmt.Sprintf("alerts[%d]", i)
		var na NormalizedAlert
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&na); err != nil {
			add("%s: %v", p, err)
			continue
		}
		a, probs := na.alert(source)
		for _, pr := range probs {
			add("%s.%s", p, pr)
		}
		if na.ID != "" {
			if j, dup := seen[na.ID]; dup {
				add("%s.id: %q repeats alerts[%d].id", p, na.ID, j)
			}
			seen[na.ID] = i
		}
		if len(probs) == 0 {
			a.Raw = append([]byte(nil), raw...)
			out = append(out, a)
		}
	}
	if len(v.Problems) > 0 {
		return nil, v
	}
	return out, nil
}

// alert checks na and converts it; problems are relative paths.
func (na NormalizedAlert) alert(source string) (ingest.Alert, []string) {
	var probs []string
	text := map[string]string{
		"id": na.ID, "rule_id": na.RuleID, "rule_name": na.RuleName, "original_severity": na.OriginalSeverity,
		"status": na.Status, "original_disposition": na.OriginalDisposition, "assignee": na.Assignee,
		"team": na.Team, "asset": na.Asset, "incident": na.Incident,
	}
	for _, k := range sortedKeys(text) {
		if v := text[k]; len(v) > maxText {
			probs = append(probs, fmt.Sprintf("%s: longer than %d bytes", k, maxText))
		} else if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			probs = append(probs, k+": not valid text")
		}
	}
	if strings.TrimSpace(na.ID) == "" {
		probs = append(probs, "id: required")
	}
	when := func(key string, v *string, required bool) time.Time {
		if v == nil || *v == "" {
			if required {
				probs = append(probs, key+": required")
			}
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, *v)
		if err != nil {
			probs = append(probs, fmt.Sprintf("%s: %q is not an RFC 3339 time", key, *v))
			return time.Time{}
		}
		if t.Unix() < 0 || t.Unix() >= 1<<32 {
			probs = append(probs, fmt.Sprintf("%s: %q is outside 1970-2106", key, *v))
			return time.Time{}
		}
		return t.UTC()
	}
	a := ingest.Alert{
		Source: source, ID: na.ID, RuleID: na.RuleID, RuleName: na.RuleName,
		OriginalSeverity: na.OriginalSeverity, Status: na.Status,
		OriginalDisposition: na.OriginalDisposition, AutoClosed: na.AutoClosed,
		Assignee: na.Assignee, Team: na.Team, Asset: na.Asset, Incident: na.Incident,
	}
	created := na.Created
	a.Created = when("created", &created, true)
	a.FirstTriage = when("first_triage", na.FirstTriage, false)
	a.Closed = when("closed", na.Closed, false)
	a.Updated = when("updated", na.Updated, false)
	if !a.Created.IsZero() {
		for _, t := range []struct {
			key string
			v   time.Time
		}{{"first_triage", a.FirstTriage}, {"closed", a.Closed}} {
			if !t.v.IsZero() && t.v.Before(a.Created) {
				probs = append(probs, t.key+": before created")
			}
		}
	}
	switch sev := ingest.Severity(na.Severity); sev {
	case "":
		a.Severity = ingest.Unknown
	case ingest.Critical, ingest.High, ingest.Medium, ingest.Low, ingest.Info, ingest.Unknown:
		a.Severity = sev
	default:
		probs = append(probs, fmt.Sprintf("severity: %q is not critical, high, medium, low, info or unknown", na.Severity))
	}
	d, err := ingest.ParseDisposition(na.Disposition)
	if err != nil || na.Disposition != strings.TrimSpace(na.Disposition) {
		probs = append(probs, fmt.Sprintf("disposition: %q is not true_positive, benign_positive, false_positive, duplicate, undetermined or none", na.Disposition))
	}
	a.Disposition = d
	return a, probs
}
