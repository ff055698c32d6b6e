package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/secmetrics/secmetrics/metrics"
)

// Scope is a permission a token carries.
type Scope string

// The scopes (docs/api.md, "Scopes"). Admin implies every other scope; no
// scope widens a token's team restriction.
const (
	ReadKPIs     Scope = "read:kpis"     // KPIs, scorecard, sources, dashboard pages
	ReadFindings Scope = "read:findings" // drill-down lists and finding details
	Export       Scope = "export"        // CSV answers and workbook exports
	Ingest       Scope = "ingest"        // POST /api/v1/scans and /api/v1/alerts
	Triage       Scope = "triage"        // PATCH /api/v1/findings/{id}
	Admin        Scope = "admin"         // the audit log, /metrics; implies every scope
)

// Scopes lists every scope.
var Scopes = []Scope{ReadKPIs, ReadFindings, Export, Ingest, Triage, Admin}

// access is what a route requires. A zero Scope means public.
type access struct {
	Scope Scope
	// Session accepts a browser session cookie as well as a bearer token.
	Session bool
}

// public marks a route that needs no token.
var public = access{}

// accessTable is the route → requirement table: every route of the
// server has exactly one entry (TestAccessTableCoversRoutes), and a
// request to a route without one is refused with 500 before any handler
// runs. Dashboard pages add their entries when they are mounted.
//
// Read-only (GET) API routes also accept a browser session, so that the
// dashboard's drill-down links work when followed; SameSite=Strict keeps
// the cookie off cross-site requests, and no route that changes anything
// accepts a session.
func (s *Server) accessTable() map[string]access {
	metricsAccess := access{Scope: Admin}
	if s.cfg.MetricsPublic {
		metricsAccess = public
	}
	return map[string]access{
		"GET /healthz":      public,
		"GET /readyz":       public,
		"GET /openapi.json": public,
		"GET /metrics":      metricsAccess,
		"GET /login":        public,
		"POST /login":       public, // checks the token in its body
		"POST /logout":      public, // clears the session it finds

		"GET /api/v1/kpis":           {Scope: ReadKPIs, Session: true},
		"GET /api/v1/kpis/:id":       {Scope: ReadKPIs, Session: true},
		"GET /api/v1/scorecard":      {Scope: ReadKPIs, Session: true},
		"GET /api/v1/sources":        {Scope: ReadKPIs, Session: true},
		"GET /api/v1/findings":       {Scope: ReadFindings, Session: true},
		"GET /api/v1/findings/:id":   {Scope: ReadFindings, Session: true},
		"PATCH /api/v1/findings/:id": {Scope: Triage},
		"GET /api/v1/alerts":         {Scope: ReadFindings, Session: true},
		"GET /api/v1/tickets":        {Scope: ReadFindings, Session: true},
		"GET /api/v1/assets":         {Scope: ReadFindings, Session: true},
		"POST /api/v1/scans":         {Scope: Ingest},
		"POST /api/v1/alerts":        {Scope: Ingest},
		"GET /api/v1/audit":          {Scope: Admin, Session: true},
		"GET /api/v1/exports/runs":   {Scope: Admin, Session: true},
	}
}

// principal is the authenticated caller of a request.
type principal struct {
	TokenID string
	Name    string
	Scopes  []Scope
	// AllTeams is set for a token without a team restriction; otherwise
	// Teams lists the teams it may see.
	AllTeams bool
	Teams    []string
	// Session is set when the request came with a browser session.
	Session bool
}

// noTeam is a team name that no item can have: the scope of a restricted
// token that somehow lists no team matches nothing.
const noTeam = "\x00"

// has reports whether p carries scope (admin carries every scope).
func (p principal) has(scope Scope) bool {
	return slices.Contains(p.Scopes, scope) || slices.Contains(p.Scopes, Admin)
}

// scope is the metrics.Scope of p, applied inside every query.
func (p principal) scope() metrics.Scope {
	if p.AllTeams {
		return metrics.Scope{}
	}
	if len(p.Teams) == 0 {
		return metrics.Scope{Teams: []string{noTeam}}
	}
	return metrics.Scope{Teams: slices.Clone(p.Teams)}
}

// scopeTeams is p's team restriction as a bound SQL parameter: empty means
// every team (the convention of every statement), never for a restricted
// token.
func (p principal) scopeTeams() []string {
	t := p.scope().Teams
	if t == nil {
		return []string{}
	}
	return t
}

// sees reports whether p may see an item of team.
func (p principal) sees(team string) bool {
	return p.AllTeams || slices.Contains(p.Teams, team)
}

const principalKey = "secmetrics.principal"

func principalOf(c *gin.Context) principal {
	if v, ok := c.Get(principalKey); ok {
		return v.(principal)
	}
	return principal{}
}

// authorize enforces the access table: it authenticates the caller (a
// bearer token, or a session cookie where the route accepts one), checks
// the scope, applies the per-token rate limit and stores the principal.
// Unmatched routes pass through to the 404/405 handlers.
func (s *Server) authorize() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.FullPath() == "" {
			c.Next()
			return
		}
		a, ok := s.access[c.Request.Method+" "+c.FullPath()]
		if !ok {
			s.log.Error("route without access entry", "method", c.Request.Method, "route", c.FullPath())
			s.failCode(c, CodeInternal, "", "")
			return
		}
		if a.Scope == "" {
			c.Next()
			return
		}
		if s.tokens == nil {
			s.failCode(c, CodeUnavailable, "", "the service has no database configured")
			return
		}
		ip := c.ClientIP()
		if ok, wait := s.failures.allowed("ip:"+ip, s.now()); !ok {
			s.rateLimited(c, wait)
			return
		}
		p, err := s.authenticate(c, a.Session)
		if err != nil {
			var ae *Error
			if errors.As(err, &ae) && ae.Code == CodeUnauthenticated {
				if presentedCredential(c) { // a wrong guess, not a browser that has not signed in
					s.failures.take("ip:"+ip, s.now())
				}
				if a.Session && wantsHTML(c) {
					c.Abort()
					c.Redirect(http.StatusSeeOther, "/login?next="+urlQueryEscape(c.Request.URL.RequestURI()))
					return
				}
			}
			s.fail(c, err)
			return
		}
		c.Set(principalKey, p)
		if ok, wait := s.limits.take("token:"+p.TokenID, s.now()); !ok {
			s.prom.rateLimited.add(1)
			s.rateLimited(c, wait)
			return
		}
		if !p.has(a.Scope) {
			s.failCode(c, CodeForbidden, "", fmt.Sprintf("this route needs a token with the %s scope", a.Scope))
			return
		}
		c.Next()
	}
}

func (s *Server) rateLimited(c *gin.Context, wait float64) {
	c.Header("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(wait)))))
	s.failCode(c, CodeRateLimited, "", "too many requests; retry after the number of seconds in Retry-After")
}

// authenticate finds the caller of c: a bearer token in the Authorization
// header, or (when session is set and no header is present) a session
// cookie. It returns an *Error with CodeUnauthenticated when there is none
// or it is not valid now.
func (s *Server) authenticate(c *gin.Context, session bool) (principal, error) {
	h := c.GetHeader("Authorization")
	if h == "" && session {
		return s.sessionPrincipal(c)
	}
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return principal{}, errUnauthenticated
	}
	t, err := s.tokens.verify(c.Request.Context(), strings.TrimSpace(secret), s.now())
	if err != nil {
		return principal{}, err
	}
	return t.principal(), nil
}

var errUnauthenticated = &Error{Code: CodeUnauthenticated, Detail: "a valid bearer token is required (missing, invalid, expired or revoked)"}

// presentedCredential reports whether the request carries a token or a
// session cookie.
func presentedCredential(c *gin.Context) bool {
	if c.GetHeader("Authorization") != "" {
		return true
	}
	v, err := c.Cookie(SessionCookie)
	return err == nil && v != ""
}

func wantsHTML(c *gin.Context) bool {
	return c.Request.Method == http.MethodGet && strings.Contains(c.GetHeader("Accept"), "text/html")
}
