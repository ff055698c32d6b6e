package metrics

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/secmetrics/secmetrics/queries"
)

// defaultSourceTypes maps each KPI source to the ingest source types whose
// last success it depends on, unless Config.SourceTypes says otherwise.
var defaultSourceTypes = map[string][]string{
	"findings":  {"scan"},
	"scans":     {"scan"},
	"inventory": {"inventory"},
	"kev":       {"kev"},
	"epss":      {"epss"},
	"tickets":   {"jira"},
	"worklogs":  {"jira"},
	"alerts":    {"pagerduty"},
}

// freshness reads the last successful ingest per source type.
func (e *Engine) freshness(ctx context.Context) (map[string]time.Time, error) {
	var rows []struct {
		SourceType  string     `ch:"source_type"`
		LastSuccess *time.Time `ch:"last_success"`
	}
	if err := e.db.Select(ctx, &rows, queries.SQL("kpi/freshness.sql")); err != nil {
		return nil, fmt.Errorf("data freshness: %w", err)
	}
	out := map[string]time.Time{}
	for _, r := range rows {
		if r.LastSuccess != nil && r.LastSuccess.Unix() > 0 {
			out[r.SourceType] = r.LastSuccess.UTC()
		}
	}
	return out, nil
}

func (e *Engine) sourceTypes(src string) []string {
	if ts, ok := e.cfg.SourceTypes[src]; ok {
		return ts
	}
	return defaultSourceTypes[src]
}

// freshnessFor lists the freshness of every source type d depends on, and
// whether any is stale (never ingested, or last success older than
// StaleAfter).
func (e *Engine) freshnessFor(d Definition, last map[string]time.Time) ([]Freshness, bool) {
	return e.freshnessAll([]Definition{d}, last)
}

func (e *Engine) freshnessAll(defs []Definition, last map[string]time.Time) ([]Freshness, bool) {
	var types []string
	for _, d := range defs {
		for _, src := range d.Sources {
			for _, t := range e.sourceTypes(src) {
				if !slices.Contains(types, t) {
					types = append(types, t)
				}
			}
		}
	}
	sort.Strings(types)
	now := e.now()
	out := make([]Freshness, 0, len(types))
	stale := false
	for _, t := range types {
		f := Freshness{SourceType: t, Stale: true}
		if at, ok := last[t]; ok {
			f.LastSuccess = &at
			f.Stale = now.Sub(at) > e.cfg.StaleAfter
		}
		stale = stale || f.Stale
		out = append(out, f)
	}
	return out, stale
}
