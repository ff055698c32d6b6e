package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/secmetrics/secmetrics/queries"
)

// KEVEntry is one CISA Known Exploited Vulnerabilities catalog entry.
type KEVEntry struct {
	CVE           string
	DateAdded     time.Time
	DueDate       time.Time
	Ransomware    bool
	VendorProject string
	Product       string
	Name          string
}

// SaveKEV records a KEV catalog. Entries are matched to findings by CVE and
// aliases when KPIs are computed, as known from their date_added; saving
// the same catalog again changes nothing visible.
func (s *Store) SaveKEV(ctx context.Context, version string, entries []KEVEntry) error {
	now := s.Now()
	rows := make([][]any, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, []any{e.CVE, e.DateAdded.UTC(), e.DueDate.UTC(), b2u(e.Ransomware), e.VendorProject, e.Product, e.Name, version, now})
	}
	if err := s.insert(ctx, "kev", queries.SQL("ingest/kev.columns"), rows); err != nil {
		return fmt.Errorf("save kev: %w", err)
	}
	return nil
}

// EPSSScore is one CVE's EPSS score on a score date.
type EPSSScore struct {
	CVE        string
	EPSS       float64
	Percentile float64
}

// SaveEPSS records one day's EPSS scores. A past period uses the scores of
// the latest score date before its end.
func (s *Store) SaveEPSS(ctx context.Context, date time.Time, model string, scores []EPSSScore) error {
	now := s.Now()
	d := date.UTC().Truncate(24 * time.Hour)
	for start := 0; start < len(scores); start += 200_000 {
		end := min(start+200_000, len(scores))
		rows := make([][]any, 0, end-start)
		for _, sc := range scores[start:end] {
			rows = append(rows, []any{sc.CVE, d, float32(sc.EPSS), float32(sc.Percentile), model, now})
		}
		if err := s.insert(ctx, "epss", queries.SQL("ingest/epss.columns"), rows); err != nil {
			return fmt.Errorf("save epss: %w", err)
		}
	}
	return nil
}
