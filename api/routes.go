package api

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/reports"
)

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the OpenAPI 3.1 document of the API (served at
// /openapi.json).
func OpenAPI() []byte { return bytes.Clone(openapiDoc) }

// Page is a dashboard page or export that package reports renders; the
// server mounts it with session or bearer authentication and the
// caller's team scope.
type Page struct {
	// Path is the route, under /reports/ or /exports/ (e.g. "/reports/qbr",
	// "/exports/qbr.xlsx").
	Path string
	// Scope is the scope the caller needs: ReadKPIs for pages, Export for
	// exports.
	Scope Scope
	// ContentType is the media type of what Render writes; FileName, when
	// set, makes the answer a download.
	ContentType string
	FileName    string
	// Params are the query parameters the page takes besides period, from
	// and to: any of the filters (team, business_unit, tier, severity,
	// source, asset), which arrive parsed in PageQuery.Filter, and its own,
	// which arrive in PageQuery.Values. Any other is refused with 400.
	Params []string
	// Render writes the page for q, and may set response headers in h
	// (a page's own Content-Security-Policy, Content-Disposition). It
	// returns a *metrics.InputError (or an *Error) for a bad parameter. Its
	// output is buffered, so an error is answered as a problem, never as
	// half a page.
	Render func(ctx context.Context, w io.Writer, h http.Header, q PageQuery) error
}

// PageQuery is what a page is rendered for. Scope is the caller's team
// scope: the page must pass it to every metrics.Engine call.
type PageQuery struct {
	Period    metrics.Period // zero when the request named none
	HasPeriod bool
	Filter    metrics.Filter
	Scope     metrics.Scope
	Values    url.Values // the page's own Params
}

func (s *Server) routes() error {
	e := s.engine
	s.access = s.accessTable()
	e.Use(s.recoverer(), s.requestID(), s.securityHeaders(), s.instrument(), s.accessLog(), s.auditLog(),
		s.cors(), s.compress(), s.bodyLimit(), s.authorize())
	e.NoRoute(func(c *gin.Context) { s.failCode(c, CodeNotFound, "", "no such route") })
	e.NoMethod(func(c *gin.Context) {
		s.failCode(c, CodeMethodNotAllowed, "", "this route does not take "+c.Request.Method)
	})

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.json", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.Data(http.StatusOK, "application/json", openapiDoc)
	})
	e.GET("/metrics", s.metricsHandler)
	e.GET("/login", s.loginForm)
	e.POST("/login", s.login)
	e.POST("/logout", s.logout)

	v1 := e.Group("/api/v1", s.needBackend())
	v1.GET("/kpis", s.listKPIs)
	v1.GET("/kpis/:id", s.kpi)
	v1.GET("/scorecard", s.scorecard)
	v1.GET("/sources", s.sources)
	v1.GET("/findings", s.listFindings)
	v1.GET("/findings/:id", s.getFinding)
	v1.PATCH("/findings/:id", s.triage)
	v1.GET("/alerts", s.listAlerts)
	v1.POST("/alerts", s.alerts)
	v1.GET("/tickets", s.listTickets)
	v1.GET("/assets", s.listAssets)
	v1.POST("/scans", s.scans)
	v1.GET("/audit", s.auditEntries)
	v1.GET("/exports/runs", s.exportRuns)

	pages, assets := s.b.Pages, s.b.Assets
	if s.b.Reports != nil {
		pages = append(ReportPages(s.b.Reports), pages...)
		if assets == nil {
			assets = reports.AssetsHandler()
		}
	}
	for _, p := range pages {
		if err := s.mountPage(p); err != nil {
			return err
		}
	}
	if assets != nil {
		s.access["GET /reports/assets/*path"] = public
		e.GET("/reports/assets/*path", gin.WrapH(http.StripPrefix("/reports/assets", assets)))
	}
	for _, r := range e.Routes() {
		if _, ok := s.access[r.Method+" "+r.Path]; !ok {
			return fmt.Errorf("route %s %s has no access entry", r.Method, r.Path)
		}
	}
	return nil
}

// needBackend answers 503 on API routes of a server built without a
// database.
func (s *Server) needBackend() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.b.DB == nil || s.b.Metrics == nil {
			s.failCode(c, CodeUnavailable, "", "the service has no database configured")
			return
		}
		c.Next()
	}
}

func (s *Server) mountPage(p Page) error {
	if !strings.HasPrefix(p.Path, "/reports/") && !strings.HasPrefix(p.Path, "/exports/") {
		return fmt.Errorf("page %s: must be under /reports/ or /exports/", p.Path)
	}
	if p.Scope != ReadKPIs && p.Scope != Export {
		return fmt.Errorf("page %s: scope must be read:kpis or export", p.Path)
	}
	if p.Render == nil || p.ContentType == "" {
		return fmt.Errorf("page %s: Render and ContentType are required", p.Path)
	}
	key := "GET " + p.Path
	if _, dup := s.access[key]; dup {
		return fmt.Errorf("page %s: mounted twice", p.Path)
	}
	s.access[key] = access{Scope: p.Scope, Session: true}
	allowed := append([]string{"period", "from", "to"}, p.Params...)
	s.engine.GET(p.Path, s.needBackend(), func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
		defer cancel()
		if err := checkParams(c, allowed...); err != nil {
			s.fail(c, err)
			return
		}
		period, has, err := s.periodParams(c, false, 8)
		if err != nil {
			s.fail(c, err)
			return
		}
		f, err := filterParams(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		vals := url.Values{}
		for k, v := range c.Request.URL.Query() {
			if slices.Contains(p.Params, k) && !slices.Contains(filterNames, k) {
				for _, x := range v {
					if err := textValue(k, x); err != nil {
						s.fail(c, err)
						return
					}
				}
				vals[k] = v
			}
		}
		var buf bytes.Buffer
		h := http.Header{}
		q := PageQuery{Period: period, HasPeriod: has, Filter: f, Scope: principalOf(c).scope(), Values: vals}
		if err := p.Render(ctx, &buf, h, q); err != nil {
			s.fail(c, err)
			return
		}
		if p.FileName != "" {
			c.Header("Content-Disposition", `attachment; filename="`+p.FileName+`"`)
		}
		c.Header("Cache-Control", "private, no-store")
		for k, vs := range h {
			c.Writer.Header()[k] = vs
		}
		c.Data(http.StatusOK, p.ContentType, buf.Bytes())
	})
	return nil
}
