package jira

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// Scanner is the scanner name of findings from vulnerability tickets.
const Scanner = "jira"

// Default finding statuses from resolutions or statuses (Findings lists
// that are not configured).
var (
	defaultFalsePositive = []string{"False Positive", "Not a Bug"}
	defaultRiskAccepted  = []string{"Won't Fix", "Won't Do", "Risk Accepted"}
	defaultDuplicate     = []string{"Duplicate"}
)

// findingStatus maps a resolution or status name to a finding status.
func (z *normalizer) findingStatus(name string) (ingest.Status, bool) {
	if name == "" {
		return ingest.StatusNone, false
	}
	list := func(l, def []string) []string {
		if l == nil {
			return def
		}
		return l
	}
	switch {
	case containsFold(list(z.m.Findings.FalsePositive, defaultFalsePositive), name):
		return ingest.FalsePositive, true
	case containsFold(list(z.m.Findings.RiskAccepted, defaultRiskAccepted), name):
		return ingest.RiskAccepted, true
	case containsFold(list(z.m.Findings.Duplicate, defaultDuplicate), name):
		return ingest.Duplicate, true
	}
	return ingest.StatusNone, false
}

// isSeverityItem reports whether a history item changed the severity field.
func (z *normalizer) isSeverityItem(it historyItem) bool {
	id, ok := z.refs[refSeverity]
	if !ok {
		return false
	}
	if it.FieldID != "" {
		return it.FieldID == id
	}
	if strings.EqualFold(it.Field, id) {
		return true
	}
	f, ok := z.meta.fieldByID[id]
	return ok && strings.EqualFold(it.Field, f.Name)
}

// finding builds the lifecycle of a vulnerability ticket from its history:
// detected at creation; fixed when a resolution is set that is not a
// false-positive, risk-accepted or duplicate one (those set the status
// instead, as do such statuses); reopened (or the status cleared) when the
// resolution is cleared; severity changes from the severity field's
// history. The current resolution and status have the last word: a
// difference left after the history (an issue created resolved, a
// truncated history) is applied at the resolution date, else at the last
// update.
//
// It returns nil when the ticket names no asset and no default asset is
// configured: a finding needs one (the ticket is still stored, and the
// notes count it).
func (z *normalizer) finding(t ingest.Ticket, f map[string]json.RawMessage, hs []datedHistory) (*ingest.Tracked, error) {
	asset := strings.TrimSpace(t.Asset)
	if asset == "" {
		asset = z.m.Findings.DefaultAsset
	}
	if asset == "" {
		z.notes.missingAsset(t.Key)
		return nil, nil
	}
	kind := ingest.DAST
	if z.m.Findings.Kind != "" {
		kind = ingest.Kind(z.m.Findings.Kind)
	}
	cve := ""
	if id, ok := z.refs[refCVE]; ok {
		vs, err := values(f[id])
		if err != nil {
			return nil, fmt.Errorf("field %s (%s): %w", id, refCVE, err)
		}
		for _, v := range vs {
			if m := cveRE.FindString(v); m != "" {
				cve = strings.ToUpper(m)
				break
			}
		}
	} else {
		for _, s := range append([]string{t.Summary}, t.Labels...) {
			if m := cveRE.FindString(s); m != "" {
				cve = strings.ToUpper(m)
				break
			}
		}
	}

	// Initial severity: the "from" of the first severity change, else the
	// current one.
	initial := t.Severity
	for _, h := range hs {
		for _, it := range h.Items {
			if z.isSeverityItem(it) {
				initial = z.mapSeverity(it.FromString)
				goto found
			}
		}
	}
found:
	hist := []ingest.Change{{Time: t.Created, Type: ingest.Detected, Severity: initial}}
	var (
		fixed     bool
		resStatus = ingest.StatusNone // from the resolution
		stStatus  = ingest.StatusNone // from the status
		effective = ingest.StatusNone
		sev       = initial
		last      = t.Created
	)
	at := func(tm time.Time) time.Time {
		if tm.Before(last) {
			tm = last
		}
		last = tm
		return tm
	}
	apply := func(tm time.Time, res string, resSet bool, reason string) {
		if resSet {
			resStatus = ingest.StatusNone
			nowFixed := false
			if res != "" {
				if s, ok := z.findingStatus(res); ok {
					resStatus = s
				} else {
					nowFixed = true
				}
			}
			switch {
			case nowFixed && !fixed:
				hist = append(hist, ingest.Change{Time: at(tm), Type: ingest.Fixed, Reason: res})
			case !nowFixed && fixed:
				hist = append(hist, ingest.Change{Time: at(tm), Type: ingest.Reopened, Reason: "resolution cleared"})
			}
			fixed = nowFixed
		}
		eff := resStatus
		if eff == ingest.StatusNone {
			eff = stStatus
		}
		if eff != effective {
			hist = append(hist, ingest.Change{Time: at(tm), Type: ingest.StatusChanged, Status: eff, Reason: reason})
			effective = eff
		}
	}
	for _, h := range hs {
		for _, it := range h.Items {
			switch {
			case trackedField(it) == "resolution":
				apply(h.time, it.ToString, true, it.ToString)
			case trackedField(it) == "status":
				stStatus, _ = z.findingStatus(it.ToString)
				apply(h.time, "", false, it.ToString)
			case z.isSeverityItem(it):
				if s := z.mapSeverity(it.ToString); s != sev {
					hist = append(hist, ingest.Change{Time: at(h.time), Type: ingest.SeverityChanged, Severity: s, Reason: it.ToString})
					sev = s
				}
			}
		}
	}
	// Reconcile with the current fields.
	when := t.Updated
	if t.Resolution != "" && !t.Resolved.IsZero() {
		when = t.Resolved
	}
	stStatus, _ = z.findingStatus(t.Status)
	apply(when, t.Resolution, true, or(t.Resolution, t.Status))
	if _, isStatus := z.findingStatus(t.Resolution); t.Resolution != "" && !isStatus {
		z.notes.resolution(t.Resolution)
	}
	if t.Severity != sev {
		hist = append(hist, ingest.Change{Time: at(t.Updated), Type: ingest.SeverityChanged, Severity: t.Severity, Reason: t.OriginalSeverity})
	}
	return &ingest.Tracked{
		Finding: ingest.Finding{
			Key:              t.Key,
			KeySource:        "jira:key",
			Kind:             kind,
			Title:            t.Summary,
			Severity:         t.Severity,
			OriginalSeverity: t.OriginalSeverity,
			CVE:              cve,
			Asset:            asset,
			DetectedAt:       t.Created,
			FixedAt:          fixedAt(hist),
		},
		Scanner: Scanner,
		History: hist,
	}, nil
}

// fixedAt is the time of the last fix when the history ends fixed.
func fixedAt(h []ingest.Change) time.Time {
	var at time.Time
	for _, c := range h {
		switch c.Type {
		case ingest.Fixed:
			at = c.Time
		case ingest.Reopened:
			at = time.Time{}
		}
	}
	return at
}
