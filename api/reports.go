package api

import (
	"context"
	"io"
	"net/http"
	"regexp"

	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/reports"
)

// ReportPages returns the pages of package reports to mount: the QBR
// dashboard at /reports/qbr (read:kpis) and the QBR workbook at
// /exports/qbr.xlsx (export), both taking period or from/to and every
// filter, both rendered with the caller's team scope. The dashboard
// answers with its own Content-Security-Policy.
func ReportPages(r *reports.Reports) []Page {
	return []Page{
		{
			Path: "/reports/qbr", Scope: ReadKPIs, ContentType: "text/html; charset=utf-8", Params: filterNames,
			Render: func(ctx context.Context, w io.Writer, h http.Header, q PageQuery) error {
				pg, err := r.DashboardPage(ctx, reports.DashboardQuery{Period: q.Period, Scope: q.Scope, Filter: q.Filter})
				if err != nil {
					return err
				}
				h.Set("Content-Security-Policy", pg.CSP())
				_, err = pg.WriteTo(w)
				return err
			},
		},
		{
			Path: "/exports/qbr.xlsx", Scope: Export, ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
			Params: filterNames,
			Render: func(ctx context.Context, w io.Writer, h http.Header, q PageQuery) error {
				p := q.Period
				if !q.HasPeriod {
					var err error
					if p, err = r.DefaultPeriod(); err != nil {
						return err
					}
				}
				h.Set("Content-Disposition", `attachment; filename="secmetrics-qbr-`+fileSafe(p)+`.xlsx"`)
				return r.Workbook(ctx, w, reports.WorkbookQuery{Period: p, Scope: q.Scope, Filter: q.Filter})
			},
		},
	}
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9-]+`)

func fileSafe(p metrics.Period) string {
	if p.Kind == metrics.Range {
		return p.From.Format("20060102") + "-" + p.To.Format("20060102")
	}
	return unsafeFileChars.ReplaceAllString(p.Name, "-")
}
