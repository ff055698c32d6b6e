// Package api serves secmetrics over HTTP: the JSON API, health and
// readiness, and (through reports) the chart pages and exports.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Config configures the HTTP server.
type Config struct {
	// Listen is host:port. The default binds loopback only.
	Listen          string        `yaml:"listen"`
	ReadTimeout     time.Duration `yaml:"read_timeout"`
	WriteTimeout    time.Duration `yaml:"write_timeout"`
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// TrustedProxies are the addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For is believed; none by default.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// CORSOrigins enables CORS for these exact origins; off when empty.
	CORSOrigins []string `yaml:"cors_origins"`
	// MaxBodyBytes bounds JSON request bodies; uploads have their own limit.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Defaults returns the default server configuration.
func Defaults() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		ReadTimeout:     30 * time.Second,
		WriteTimeout:    5 * time.Minute,
		IdleTimeout:     2 * time.Minute,
		ShutdownTimeout: 20 * time.Second,
		MaxBodyBytes:    1 << 20,
	}
}

// Check reports every problem of c, each with its key under prefix.
func (c Config) Check(prefix string) []error {
	var errs []error
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
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_timeout", c.ReadTimeout}, {"write_timeout", c.WriteTimeout}, {"idle_timeout", c.IdleTimeout}, {"shutdown_timeout", c.ShutdownTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s.%s: must be positive", prefix, d.key))
		}
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("%s.max_body_bytes: must be positive", prefix))
	}
	return errs
}

// Readiness reports whether the service can answer: nil when ready, or an
// error whose message is safe to show (no secrets, no internals).
type Readiness func(ctx context.Context) error

// Server is the HTTP server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	engine *gin.Engine
	ready  Readiness
}

// New builds the server and its routes.
func New(cfg Config, log *slog.Logger, ready Readiness) (*Server, error) {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	s := &Server{cfg: cfg, log: log, engine: e, ready: ready}
	e.Use(s.recoverer(), s.accessLog())
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	return s, nil
}

// Handler returns the HTTP handler (for tests).
func (s *Server) Handler() http.Handler { return s.engine }

// Engine returns the router, for packages that add routes.
func (s *Server) Engine() *gin.Engine { return s.engine }

// Serve listens on cfg.Listen until ctx is cancelled, then shuts down
// gracefully within ShutdownTimeout. ready, when not nil, receives the
// bound address once the listener is open.
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
	s.log.Info("http server listening", "addr", l.Addr().String())
	if ready != nil {
		ready <- l.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
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
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		s.log.Info("http request", "method", c.Request.Method, "route", route, "status", c.Writer.Status(),
			"duration_ms", time.Since(start).Milliseconds(), "bytes", c.Writer.Size(), "client_ip", c.ClientIP(),
			"request_id", c.GetString("request_id"))
	}
}

// recoverer turns a panic into a 500 without leaking it to the client.
func (s *Server) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic in handler", "route", c.FullPath(), "panic", fmt.Sprint(r))
				c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"type": "about:blank", "title": "internal error", "status": 500})
			}
		}()
		c.Next()
	}
}
