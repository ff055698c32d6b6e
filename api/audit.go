package api

import (
	"context"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/secmetrics/secmetrics/queries"
)

// auditRow is one row of audit_log.
type auditRow struct {
	Time       time.Time
	RequestID  string
	TokenID    string
	TokenName  string
	Method     string
	Route      string
	Params     string
	Status     uint16
	DurationMS uint32
	ClientIP   string
}

func (r auditRow) values() []any {
	return []any{r.Time.UTC(), r.RequestID, r.TokenID, r.TokenName, r.Method, r.Route, r.Params, r.Status, r.DurationMS, r.ClientIP}
}

func (r auditRow) attrs() []any {
	return []any{"time", r.Time.UTC().Format(time.RFC3339), "request_id", r.RequestID, "token_id", r.TokenID,
		"token_name", r.TokenName, "method", r.Method, "route", r.Route, "params", r.Params, "status", r.Status,
		"duration_ms", r.DurationMS, "client_ip", r.ClientIP}
}

// auditWriter writes audit rows to ClickHouse in batches from one
// goroutine. No row is dropped: a failed insert is retried with back-off;
// a row that cannot be queued within enqueueWait (the writer is stuck) and
// the rows still unwritten when Close gives up are written to the log
// instead, in full.
type auditWriter struct {
	db       *queries.DB
	log      *slog.Logger
	batch    int
	interval time.Duration
	prom     *registry

	mu      sync.RWMutex // held shared by add, exclusively by Close
	closed  bool
	ch      chan auditRow
	done    chan struct{}
	pending atomic.Int64
	stop    chan struct{}
}

const enqueueWait = 5 * time.Second

func newAuditWriter(db *queries.DB, log *slog.Logger, batch, queue int, interval time.Duration, prom *registry) *auditWriter {
	w := &auditWriter{db: db, log: log, batch: batch, interval: interval, prom: prom,
		ch: make(chan auditRow, queue), done: make(chan struct{}), stop: make(chan struct{})}
	prom.auditPending = func() int { return int(w.pending.Load()) }
	go w.run()
	return w
}

// add queues r; it blocks while the queue is full, for at most
// enqueueWait.
func (w *auditWriter) add(r auditRow) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.log.Error("audit row after close", r.attrs()...)
		return
	}
	w.pending.Add(1)
	select {
	case w.ch <- r:
		return
	default:
	}
	t := time.NewTimer(enqueueWait)
	defer t.Stop()
	select {
	case w.ch <- r:
	case <-t.C:
		w.pending.Add(-1)
		w.log.Error("audit row not queued", r.attrs()...)
	}
}

func (w *auditWriter) run() {
	defer close(w.done)
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	var buf []auditRow
	backoff := time.Duration(0)
	var retryAt time.Time
	flush := func(final bool) {
		for len(buf) > 0 {
			if !final && time.Now().Before(retryAt) {
				return
			}
			n := min(len(buf), w.batch)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			rows := make([][]any, n)
			for i := range n {
				rows[i] = buf[i].values()
			}
			err := insertRows(ctx, w.db, "audit_log", queries.SQL("api/audit_log.columns"), rows)
			cancel()
			if err != nil {
				w.prom.auditErrors.add(1)
				backoff = min(max(2*backoff, time.Second), 30*time.Second)
				retryAt = time.Now().Add(backoff)
				w.log.Warn("audit insert failed", "rows", n, "retry_in", backoff.String(), "err", err)
				if final {
					for _, r := range buf {
						w.log.Error("audit row not written", r.attrs()...)
					}
					w.pending.Add(-int64(len(buf)))
					buf = nil
				}
				return
			}
			backoff = 0
			buf = buf[n:]
			w.pending.Add(-int64(n))
			w.prom.auditWritten.add(uint64(n))
		}
	}
	for {
		// Stop taking rows while a backlog waits for a retry: the queue
		// then fills and requests wait (back-pressure), not the memory.
		in := w.ch
		if len(buf) >= cap(w.ch) {
			in = nil
		}
		select {
		case r, ok := <-in:
			if !ok {
				flush(true)
				return
			}
			buf = append(buf, r)
			if len(buf) >= w.batch {
				flush(false)
			}
		case <-tick.C:
			flush(false)
		case <-w.stop:
			// Close: take what is queued, write it all.
			for r := range w.ch {
				buf = append(buf, r)
			}
			flush(true)
			return
		}
	}
}

// Close writes every queued row and stops the writer.
func (w *auditWriter) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.ch)
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	return nil
}

// auditLog records every request (after it is answered) in the audit
// log: token, route, redacted query string, status, duration, client
// address.
func (s *Server) auditLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := s.now()
		t0 := time.Now()
		c.Next()
		if s.audit == nil {
			return
		}
		p := principalOf(c)
		s.audit.add(auditRow{
			Time: start.UTC(), RequestID: requestID(c), TokenID: p.TokenID, TokenName: p.Name,
			Method: c.Request.Method, Route: routeOf(c), Params: redactQuery(c.Request.URL.RawQuery),
			Status: uint16(c.Writer.Status()), DurationMS: uint32(time.Since(t0).Milliseconds()), ClientIP: c.ClientIP(),
		})
	}
}

var (
	sensitiveKeys = []string{"token", "access_token", "api_key", "apikey", "key", "secret", "password", "passwd",
		"auth", "authorization", "session", "cookie", "bearer", "client_secret"}
	// Values that look like credentials: our token secrets, JWTs, and long
	// runs of base64url or hex (other tools' tokens, pasted keys).
	tokenLike = regexp.MustCompile(`smt_[A-Za-z0-9_-]{8,}|eyJ[A-Za-z0-9_-]{8,}\.|[A-Za-z0-9_+/=-]{40,}`)
)

const maxAuditParams = 4096

// redactQuery returns the query string with the values of credential-named
// parameters and credential-looking values replaced by REDACTED, in the
// order given, cut at 4 KiB.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	for i, pair := range strings.Split(raw, "&") {
		k, v, hasV := strings.Cut(pair, "=")
		uk, err1 := url.QueryUnescape(k)
		uv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			uk, uv = k, v
		}
		if i > 0 {
			b.WriteByte('&')
		}
		lk := strings.ToLower(uk)
		redact := tokenLike.MatchString(uk) || tokenLike.MatchString(uv)
		for _, s := range sensitiveKeys {
			if lk == s || strings.HasSuffix(lk, "_"+s) {
				redact = true
			}
		}
		if tokenLike.MatchString(uk) {
			uk = "REDACTED"
		}
		b.WriteString(url.QueryEscape(uk))
		if hasV {
			b.WriteByte('=')
			if redact {
				b.WriteString("REDACTED")
			} else {
				b.WriteString(url.QueryEscape(uv))
			}
		}
		if b.Len() > maxAuditParams {
			break
		}
	}
	out := b.String()
	if len(out) > maxAuditParams {
		out = out[:maxAuditParams] + "..."
	}
	return out
}
