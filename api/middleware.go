package api

import (
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
)

const requestIDKey = "request_id"

// requestIDPattern is what a client-supplied X-Request-ID must look like
// to be kept; anything else is replaced by a generated id.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{7,63}$`)

// requestID gives every request an id: the client's X-Request-ID when it
// is well-formed, otherwise 128 random bits in hex. It is echoed in the
// response header, problems, logs and the audit log.
func (s *Server) requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !requestIDPattern.MatchString(id) {
			b := make([]byte, 16)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Set(requestIDKey, id)
		c.Header("X-Request-ID", id)
		c.Next()
	}
}

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// isTLS reports whether the client connection is HTTPS: TLS to this
// server, or a trusted proxy saying so, or tls_proxy configured.
func (s *Server) isTLS(c *gin.Context) bool {
	if c.Request.TLS != nil || s.cfg.TLSProxy {
		return true
	}
	if len(s.proxies) == 0 || c.GetHeader("X-Forwarded-Proto") != "https" {
		return false
	}
	host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	for _, n := range s.proxies {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// securityHeaders sets the headers every response carries.
func (s *Server) securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if s.isTLS(c) {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		c.Next()
	}
}

func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.Path == "" &&
		u.RawQuery == "" && u.Fragment == "" && u.User == nil
}

// cors answers CORS for the configured origins only: bearer-token
// requests from those origins may read responses; credentials (cookies)
// are never allowed cross-origin. Without cors_origins nothing is set and
// browsers keep the same-origin policy.
func (s *Server) cors() gin.HandlerFunc {
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if len(s.cfg.CORSOrigins) == 0 || origin == "" {
			c.Next()
			return
		}
		c.Writer.Header().Add("Vary", "Origin")
		if !slices.Contains(s.cfg.CORSOrigins, origin) {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "ETag, X-Request-ID, Retry-After, Content-Disposition")
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding, If-None-Match, X-Request-ID, X-Scan-Asset, X-Scan-Scanner, X-Scan-Branch, X-Scan-Time, X-Scan-Kind")
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}

// bodyLimit bounds request bodies to MaxBodyBytes; the two ingest routes
// set their own limit (MaxUploadBytes).
func (s *Server) bodyLimit() gin.HandlerFunc {
	return func(c *gin.Context) {
		upload := c.Request.Method == http.MethodPost && (c.FullPath() == "/api/v1/scans" || c.FullPath() == "/api/v1/alerts")
		if c.Request.Body != nil && !upload {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBodyBytes)
		}
		c.Next()
	}
}

var gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}

// compress gzips responses for clients that accept it, except bodiless
// ones and bodies that are compressed already (workbooks are zip files).
func (s *Server) compress() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Writer.Header().Add("Vary", "Accept-Encoding")
		if !acceptsGzip(c.GetHeader("Accept-Encoding")) || c.Request.Method == http.MethodHead {
			c.Next()
			return
		}
		w := &gzipWriter{ResponseWriter: c.Writer}
		c.Writer = w
		defer func() {
			if w.gz != nil {
				_ = w.gz.Close()
				w.gz.Reset(nil)
				gzipPool.Put(w.gz)
			}
			c.Writer = w.ResponseWriter
		}()
		c.Next()
	}
}

func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				return err == nil && q > 0
			}
		}
		return true
	}
	return false
}

// gzipWriter decides at the first body write whether to compress.
type gzipWriter struct {
	gin.ResponseWriter
	decided bool
	gz      *gzip.Writer
}

func (w *gzipWriter) decide() {
	if w.decided {
		return
	}
	w.decided = true
	h := w.Header()
	st := w.Status()
	ct := h.Get("Content-Type")
	if st < 200 || st == http.StatusNoContent || st == http.StatusNotModified || h.Get("Content-Encoding") != "" ||
		strings.Contains(ct, "zip") || strings.Contains(ct, "openxmlformats") {
		return
	}
	h.Set("Content-Encoding", "gzip")
	h.Del("Content-Length")
	w.gz = gzipPool.Get().(*gzip.Writer)
	w.gz.Reset(w.ResponseWriter)
}

func (w *gzipWriter) Write(b []byte) (int, error) {
	w.decide()
	if w.gz != nil {
		return w.gz.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *gzipWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

func (w *gzipWriter) Flush() {
	if w.gz != nil {
		_ = w.gz.Flush()
	}
	w.ResponseWriter.Flush()
}

// urlQueryEscape escapes a value for a query string.
func urlQueryEscape(s string) string { return url.QueryEscape(s) }
