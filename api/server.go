// Package api serves secmetrics over HTTP: the JSON API (docs/api.md and
// the embedded openapi.json), health and readiness, Prometheus metrics,
// browser sessions and (through reports) the chart pages and exports.
//
// Every route has an entry in the access table (access.go) that says what
// it requires; a request to a route without one is refused. A token's team
// scope becomes a metrics.Scope or a bound SQL parameter in every query a
// handler runs.
package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/reports"
)

// Config configures the HTTP server.
type Config struct {
	// Listen is host:port. The default binds loopback only.
	Listen          string        `yaml:"listen"`
	ReadTimeout     time.Duration `yaml:"read_timeout"`
	WriteTimeout    time.Duration `yaml:"write_timeout"`
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// RequestTimeout bounds the work of one API request (its queries).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// TrustedProxies are the addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For and X-Forwarded-Proto are believed; none by default.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// CORSOrigins enables CORS for these exact origins; off when empty.
	CORSOrigins []string `yaml:"cors_origins"`
	// MaxBodyBytes bounds JSON request bodies; uploads have their own limit.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxUploadBytes bounds a report uploaded to POST /api/v1/scans, both
	// as sent and after gzip decompression.
	MaxUploadBytes int64 `yaml:"max_upload_bytes"`

	// TLSCertFile and TLSKeyFile, when both set, make the server speak
	// HTTPS itself.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// TLSProxy says a reverse proxy terminates TLS in front of the server:
	// session cookies are then Secure and HSTS is sent even on plain HTTP
	// from the proxy.
	TLSProxy bool `yaml:"tls_proxy"`

	// RateLimit is the sustained requests per second allowed per token;
	// RateBurst is the bucket size.
	RateLimit float64 `yaml:"rate_limit"`
	RateBurst int     `yaml:"rate_burst"`
	// AuthFailuresPerMinute bounds failed authentications per client
	// address (token guessing); past it the address gets 429.
	AuthFailuresPerMinute int `yaml:"auth_failures_per_minute"`
	// TokenCacheTTL is how long the token table is cached: a revoked token
	// stops working within this time. At most one minute.
	TokenCacheTTL time.Duration `yaml:"token_cache_ttl"`

	// SessionTTL is the lifetime of a browser session (never beyond its
	// token's expiry).
	SessionTTL time.Duration `yaml:"session_ttl"`
	// SessionKeyEnv or SessionKeyFile name where the server key is read
	// from (at least 32 bytes); it signs session cookies and pagination
	// cursors. Without one a random key is made at start-up, so sessions
	// and cursors do not survive a restart.
	SessionKeyEnv  string `yaml:"session_key_env"`
	SessionKeyFile string `yaml:"session_key_file"`
	// SessionKey is the key itself, resolved by cmd from SessionKeyEnv or
	// SessionKeyFile; it is never read from the configuration file.
	SessionKey []byte `yaml:"-"`

	// MetricsPublic serves /metrics without a token; otherwise it needs a
	// token with the admin scope.
	MetricsPublic bool `yaml:"metrics_public"`
	// CacheTTL is how long a computed answer (KPI, scorecard, JSON list
	// page) is reused for the same question, caller and data version (0
	// disables); CacheBytes bounds the cache's memory.
	CacheTTL   time.Duration `yaml:"cache_ttl"`
	CacheBytes int64         `yaml:"cache_bytes"`
	// MaxConcurrentQueries bounds the ClickHouse work the API runs at once
	// (list statements and KPI computations); requests beyond it wait.
	MaxConcurrentQueries int `yaml:"max_concurrent_queries"`
	// PageSize is the default number of items of a list page; MaxPageSize
	// the largest a client may ask for.
	PageSize    int `yaml:"page_size"`
	MaxPageSize int `yaml:"max_page_size"`

	// AuditBatch is the most audit rows written in one insert;
	// AuditFlushInterval how long a row may wait; AuditQueue how many rows
	// may wait before requests block on the audit writer.
	AuditBatch         int           `yaml:"audit_batch"`
	AuditFlushInterval time.Duration `yaml:"audit_flush_interval"`
	AuditQueue         int           `yaml:"audit_queue"`
}

// Defaults returns the default server configuration.
func Defaults() Config {
	return Config{
		Listen:                "127.0.0.1:8080",
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          5 * time.Minute,
		IdleTimeout:           2 * time.Minute,
		ShutdownTimeout:       20 * time.Second,
		RequestTimeout:        2 * time.Minute,
		MaxBodyBytes:          1 << 20,
		MaxUploadBytes:        512 << 20,
		RateLimit:             20,
		RateBurst:             60,
		AuthFailuresPerMinute: 30,
		TokenCacheTTL:         5 * time.Second,
		SessionTTL:            8 * time.Hour,
		CacheTTL:              time.Minute,
		CacheBytes:            64 << 20,
		MaxConcurrentQueries:  8,
		PageSize:              100,
		MaxPageSize:           1000,
		AuditBatch:            1000,
		AuditFlushInterval:    time.Second,
		AuditQueue:            10000,
	}
}

// Check reports every problem of c, each with its key under prefix.
func (c Config) Check(prefix string) []error {
	var errs []error
	add := func(key, msg string) { errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, msg)) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("%s.listen: %q is not host:port", prefix, c.Listen))
	}
	for i, p := range c.TrustedProxies {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				errs = append(errs, fmt.Errorf("%s.trusted_proxies[%d]: %q is not an IP address or CIDR", prefix, i, p))
			}
		}
	}
	for i, o := range c.CORSOrigins {
		if !validOrigin(o) {
			add(fmt.Sprintf("cors_origins[%d]", i), fmt.Sprintf("%q is not an origin like https://host[:port]", o))
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_timeout", c.ReadTimeout}, {"write_timeout", c.WriteTimeout}, {"idle_timeout", c.IdleTimeout},
		{"shutdown_timeout", c.ShutdownTimeout}, {"request_timeout", c.RequestTimeout}, {"token_cache_ttl", c.TokenCacheTTL},
		{"session_ttl", c.SessionTTL}, {"audit_flush_interval", c.AuditFlushInterval}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s.%s: must be positive", prefix, d.key))
		}
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("%s.max_body_bytes: must be positive", prefix))
	}
	if c.MaxUploadBytes <= 0 {
		add("max_upload_bytes", "must be positive")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		add("tls_cert_file", "set both tls_cert_file and tls_key_file, or neither")
	}
	if c.RateLimit <= 0 {
		add("rate_limit", "must be positive (requests per second)")
	}
	if c.RateBurst < 1 {
		add("rate_burst", "must be at least 1")
	}
	if c.AuthFailuresPerMinute < 1 {
		add("auth_failures_per_minute", "must be at least 1")
	}
	if c.TokenCacheTTL > time.Minute {
		add("token_cache_ttl", "at most 1m: revocation must take effect within it")
	}
	if c.SessionTTL > 24*time.Hour {
		add("session_ttl", "at most 24h")
	}
	if c.SessionKeyEnv != "" && c.SessionKeyFile != "" {
		add("session_key_env", "set session_key_env or session_key_file, not both")
	}
	if len(c.SessionKey) > 0 && len(c.SessionKey) < 32 {
		add("session_key_env", "the session key must be at least 32 bytes")
	}
	if c.CacheTTL < 0 {
		add("cache_ttl", "must not be negative")
	}
	if c.CacheBytes < 0 {
		add("cache_bytes", "must not be negative")
	}
	if c.MaxConcurrentQueries < 1 {
		add("max_concurrent_queries", "must be at least 1")
	}
	if c.PageSize < 1 {
		add("page_size", "must be at least 1")
	}
	if c.MaxPageSize < c.PageSize || c.MaxPageSize > 10000 {
		add("max_page_size", "must be between page_size and 10000")
	}
	if c.AuditBatch < 1 {
		add("audit_batch", "must be at least 1")
	}
	if c.AuditQueue < c.AuditBatch {
		add("audit_queue", "must be at least audit_batch")
	}
	return errs
}

// Readiness reports whether the service can answer: nil when ready, or an
// error whose message is safe to show (no secrets, no internals).
type Readiness func(ctx context.Context) error

// Detector picks the parser of an uploaded report from its first bytes,
// returning the parser and the format name. It returns an error naming
// what was expected when the head matches no known format (shown to the
// client as a 400). ingest/report's Detect is the implementation.
type Detector func(head []byte) (ingest.Parser, string, error)

// AlertDecoder decodes the body of POST /api/v1/alerts into alerts. Its
// errors are shown to the client as a 400, so they must name where the body
// is wrong and hold nothing else.
type AlertDecoder func(ctx context.Context, r io.Reader) ([]ingest.Alert, error)

// Backend is what the API reads and writes. With a nil DB only /healthz,
// /readyz, /openapi.json and /login answer; every other route answers 503;
// with a nil Store the ingest routes answer 503.
type Backend struct {
	DB      *queries.DB
	Metrics *metrics.Engine
	Store   *ingest.Store
	// Detect picks report parsers for POST /api/v1/scans; nil means
	// DetectReport (ingest/report).
	Detect Detector
	// DecodeAlerts decodes POST /api/v1/alerts bodies; nil means
	// generic.DecodeNormalized, bounded by MaxUploadBytes.
	DecodeAlerts AlertDecoder
	// Reports, when set, mounts the QBR dashboard and workbook
	// (ReportPages) and the dashboard's static files at /reports/assets/.
	Reports *reports.Reports
	// Pages are further dashboard pages and exports, mounted under
	// /reports/ and /exports/ with session or bearer authentication.
	Pages []Page
	// Assets serves the dashboard's static files (JavaScript, CSS) under
	// /reports/assets/; nil mounts nothing.
	Assets http.Handler
}

// selecter is the part of *queries.DB the handlers use.
type selecter interface {
	Select(ctx context.Context, dest any, query string, args ...any) error
}

// limited runs a statement only when one of slots is free, so that a burst
// of requests queues here instead of thrashing ClickHouse.
type limited struct {
	db    selecter
	slots chan struct{}
}

func (l limited) Select(ctx context.Context, dest any, query string, args ...any) error {
	if err := acquire(ctx, l.slots); err != nil {
		return err
	}
	defer func() { <-l.slots }()
	return l.db.Select(ctx, dest, query, args...)
}

func acquire(ctx context.Context, slots chan struct{}) error {
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Option adjusts a Server built by New.
type Option func(*Server)

// WithBackend gives the server its database, KPI engine, store and
// pluggable parts.
func WithBackend(b Backend) Option { return func(s *Server) { s.b = b } }

// WithClock replaces the clock (token expiry, sessions, rate limits, the
// "now" of current-state lists); tests use it.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// Server is the HTTP server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	engine *gin.Engine
	ready  Readiness
	b      Backend
	now    func() time.Time
	// db is b.DB for the statements handlers run; tests wrap it to see
	// them.
	db selecter

	keys     keys
	access   map[string]access // "METHOD /route" -> requirement
	proxies  []*net.IPNet
	tokens   *tokenCache
	limits   *limiter // per token
	failures *limiter // per client address, failed authentications
	prom     *registry
	audit    *auditWriter
	cache    *respCache
	slots    chan struct{} // one per ClickHouse statement or KPI computation in progress
	version  *dataVersion
	logouts  *logoutList
}

// New builds the server and its routes.
func New(cfg Config, log *slog.Logger, ready Readiness, opts ...Option) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	e.HandleMethodNotAllowed = true
	e.RedirectTrailingSlash = false
	e.RemoveExtraSlash = false
	e.ContextWithFallback = true
	s := &Server{cfg: cfg, log: log, engine: e, ready: ready, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	for _, p := range cfg.TrustedProxies {
		if ip := net.ParseIP(p); ip != nil {
			bits := 8 * len(ip.To16())
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			s.proxies = append(s.proxies, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
		} else if _, n, err := net.ParseCIDR(p); err == nil {
			s.proxies = append(s.proxies, n)
		}
	}
	key := cfg.SessionKey
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("session key: %w", err)
		}
	}
	s.keys = deriveKeys(key)
	s.prom = newRegistry()
	s.limits = newLimiter(cfg.RateLimit, float64(cfg.RateBurst))
	s.failures = newLimiter(float64(cfg.AuthFailuresPerMinute)/60, float64(cfg.AuthFailuresPerMinute))
	s.logouts = &logoutList{m: map[string]time.Time{}}
	s.cache = newRespCache(cfg.CacheBytes)
	s.slots = make(chan struct{}, max(cfg.MaxConcurrentQueries, 1))
	if s.b.DB != nil {
		s.db = limited{s.b.DB, s.slots}
		s.tokens = newTokenCache(s.b.DB, cfg.TokenCacheTTL, s.observe)
		s.version = &dataVersion{db: s.b.DB, engine: s.b.Metrics, observe: s.observe}
		s.audit = newAuditWriter(s.b.DB, log, cfg.AuditBatch, cfg.AuditQueue, cfg.AuditFlushInterval, s.prom)
	}
	if err := s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the HTTP handler (for tests).
func (s *Server) Handler() http.Handler { return s.engine }

// Engine returns the router, for packages that add routes. A route added
// here without an entry in the access table is refused (500) at request
// time.
func (s *Server) Engine() *gin.Engine { return s.engine }

// Close flushes the audit log and stops its writer. Serve calls it on
// shutdown; tests that use Handler call it themselves.
func (s *Server) Close() error {
	if s.audit != nil {
		return s.audit.Close()
	}
	return nil
}

// Serve listens on cfg.Listen until ctx is cancelled, then shuts down
// gracefully within ShutdownTimeout and flushes the audit log. ready,
// when not nil, receives the bound address once the listener is open.
func (s *Server) Serve(ctx context.Context, ready chan<- string) error {
	l, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           s.engine,
		ReadTimeout:       s.cfg.ReadTimeout,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	tls := s.cfg.TLSCertFile != ""
	s.log.Info("http server listening", "addr", l.Addr().String(), "tls", tls)
	if ready != nil {
		ready <- l.Addr().String()
	}
	errc := make(chan error, 1)
	go func() {
		if tls {
			errc <- srv.ServeTLS(l, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
			return
		}
		errc <- srv.Serve(l)
	}()
	select {
	case err := <-errc:
		_ = s.Close()
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	serr := srv.Shutdown(sctx)
	// Requests have finished (or the deadline passed): every audit row is
	// queued, so the flush loses none.
	aerr := s.Close()
	if serr != nil {
		return fmt.Errorf("shutdown: %w", serr)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if aerr != nil {
		return fmt.Errorf("audit log: %w", aerr)
	}
	s.log.Info("http server stopped")
	return nil
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	if s.ready != nil {
		if err := s.ready(ctx); err != nil {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "reason": err.Error()})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// accessLog logs one line per request with constant message and
// snake_case keys; the query string is not logged (it may carry filters
// that are personal data), only the route.
func (s *Server) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		s.log.Info("http request", "method", c.Request.Method, "route", routeOf(c), "status", c.Writer.Status(),
			"duration_ms", time.Since(start).Milliseconds(), "bytes", c.Writer.Size(), "client_ip", c.ClientIP(),
			"request_id", requestID(c), "token_id", principalOf(c).TokenID)
	}
}

// recoverer turns a panic into a 500 without leaking it to the client.
func (s *Server) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("panic in handler", "route", c.FullPath(), "request_id", requestID(c), "panic", fmt.Sprint(r))
				if !c.Writer.Written() {
					s.failCode(c, CodeInternal, "", "")
				} else {
					c.Abort()
				}
			}
		}()
		c.Next()
	}
}

func routeOf(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}
