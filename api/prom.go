package api

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// registry holds the service's Prometheus metrics, written by hand in the
// text exposition format (version 0.0.4). Label values come from route
// templates, status codes and fixed names only, so cardinality is bounded.
type registry struct {
	mu        sync.Mutex
	requests  map[[3]string]uint64     // method, route, status
	durations map[[2]string]*histogram // method, route
	queries   map[string]*histogram    // statement name
	scans     map[string]uint64        // result: ok, duplicate, rejected, failed
	findings  map[string]uint64        // change: new, fixed, reopened, unchanged

	alerts       counter
	rateLimited  counter
	auditWritten counter
	auditErrors  counter
	auditPending func() int
	start        time.Time
}

type counter struct{ v atomic.Uint64 }

func (c *counter) add(n uint64) { c.v.Add(n) }
func (c *counter) get() uint64  { return c.v.Load() }

// Latency buckets in seconds.
var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	n      uint64
}

func (h *histogram) observe(v float64) {
	if h.counts == nil {
		h.counts = make([]uint64, len(buckets))
	}
	for i, b := range buckets {
		if v <= b {
			h.counts[i]++
			break
		}
	}
	h.sum += v
	h.n++
}

func newRegistry() *registry {
	return &registry{
		requests: map[[3]string]uint64{}, durations: map[[2]string]*histogram{}, queries: map[string]*histogram{},
		scans: map[string]uint64{}, findings: map[string]uint64{}, start: time.Now(),
	}
}

func (r *registry) request(method, route string, status int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests[[3]string{method, route, strconv.Itoa(status)}]++
	k := [2]string{method, route}
	h := r.durations[k]
	if h == nil {
		h = &histogram{}
		r.durations[k] = h
	}
	h.observe(d.Seconds())
}

func (r *registry) query(name string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.queries[name]
	if h == nil {
		h = &histogram{}
		r.queries[name] = h
	}
	h.observe(d.Seconds())
}

func (r *registry) scan(result string, new, fixed, reopened, unchanged int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scans[result]++
	for k, v := range map[string]int{"new": new, "fixed": fixed, "reopened": reopened, "unchanged": unchanged} {
		if v > 0 {
			r.findings[k] += uint64(v)
		}
	}
}

// observe records the time of one ClickHouse statement (or, for the KPI
// engine, of one computation, which runs several).
func (s *Server) observe(query string, d time.Duration) { s.prom.query(query, d) }

// instrument counts requests and their latency by route template and
// status.
func (s *Server) instrument() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		s.prom.request(c.Request.Method, routeOf(c), c.Writer.Status(), time.Since(start))
	}
}

func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// write renders every metric in the text exposition format.
func (r *registry) write(b *bytes.Buffer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b.WriteString("# HELP secmetrics_http_requests_total HTTP requests by method, route template and status.\n")
	b.WriteString("# TYPE secmetrics_http_requests_total counter\n")
	keys := make([][3]string, 0, len(r.requests))
	for k := range r.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return strings.Join(keys[i][:], "\x00") < strings.Join(keys[j][:], "\x00")
	})
	for _, k := range keys {
		fmt.Fprintf(b, "secmetrics_http_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} %d\n",
			escapeLabel(k[0]), escapeLabel(k[1]), k[2], r.requests[k])
	}
	b.WriteString("# HELP secmetrics_http_request_duration_seconds HTTP request latency by method and route template.\n")
	b.WriteString("# TYPE secmetrics_http_request_duration_seconds histogram\n")
	dkeys := make([][2]string, 0, len(r.durations))
	for k := range r.durations {
		dkeys = append(dkeys, k)
	}
	sort.Slice(dkeys, func(i, j int) bool { return dkeys[i][0]+"\x00"+dkeys[i][1] < dkeys[j][0]+"\x00"+dkeys[j][1] })
	for _, k := range dkeys {
		writeHistogram(b, "secmetrics_http_request_duration_seconds",
			fmt.Sprintf("method=\"%s\",route=\"%s\"", escapeLabel(k[0]), escapeLabel(k[1])), r.durations[k])
	}
	b.WriteString("# HELP secmetrics_clickhouse_query_duration_seconds Time of the API's ClickHouse statements by name (kpi and scorecard: a whole KPI computation).\n")
	b.WriteString("# TYPE secmetrics_clickhouse_query_duration_seconds histogram\n")
	qkeys := make([]string, 0, len(r.queries))
	for k := range r.queries {
		qkeys = append(qkeys, k)
	}
	sort.Strings(qkeys)
	for _, k := range qkeys {
		writeHistogram(b, "secmetrics_clickhouse_query_duration_seconds", fmt.Sprintf("query=\"%s\"", escapeLabel(k)), r.queries[k])
	}
	b.WriteString("# HELP secmetrics_ingest_scans_total Reports uploaded through the API by result.\n")
	b.WriteString("# TYPE secmetrics_ingest_scans_total counter\n")
	for _, res := range []string{"ok", "duplicate", "rejected", "failed"} {
		fmt.Fprintf(b, "secmetrics_ingest_scans_total{result=\"%s\"} %d\n", res, r.scans[res])
	}
	b.WriteString("# HELP secmetrics_ingest_findings_total Finding changes applied by uploaded reports.\n")
	b.WriteString("# TYPE secmetrics_ingest_findings_total counter\n")
	for _, ch := range []string{"new", "fixed", "reopened", "unchanged"} {
		fmt.Fprintf(b, "secmetrics_ingest_findings_total{change=\"%s\"} %d\n", ch, r.findings[ch])
	}
	simple := []struct {
		name, help, typ string
		v               uint64
	}{
		{"secmetrics_ingest_alerts_total", "Alerts written through POST /api/v1/alerts.", "counter", r.alerts.get()},
		{"secmetrics_rate_limited_total", "Requests refused by the per-token rate limit.", "counter", r.rateLimited.get()},
		{"secmetrics_audit_rows_written_total", "Audit log rows written to ClickHouse.", "counter", r.auditWritten.get()},
		{"secmetrics_audit_write_errors_total", "Failed audit log inserts (the rows are retried).", "counter", r.auditErrors.get()},
	}
	if r.auditPending != nil {
		simple = append(simple, struct {
			name, help, typ string
			v               uint64
		}{"secmetrics_audit_rows_pending", "Audit log rows waiting to be written.", "gauge", uint64(r.auditPending())})
	}
	for _, m := range simple {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", m.name, m.help, m.name, m.typ, m.name, m.v)
	}
	fmt.Fprintf(b, "# HELP secmetrics_start_time_seconds Start time of the process, in Unix seconds.\n# TYPE secmetrics_start_time_seconds gauge\nsecmetrics_start_time_seconds %d\n", r.start.Unix())
}

func writeHistogram(b *bytes.Buffer, name, labels string, h *histogram) {
	var cum uint64
	for i, le := range buckets {
		cum += h.counts[i]
		fmt.Fprintf(b, "%s_bucket{%s,le=\"%s\"} %d\n", name, labels, fmtFloat(le), cum)
	}
	fmt.Fprintf(b, "%s_bucket{%s,le=\"+Inf\"} %d\n", name, labels, h.n)
	fmt.Fprintf(b, "%s_sum{%s} %s\n", name, labels, fmtFloat(h.sum))
	fmt.Fprintf(b, "%s_count{%s} %d\n", name, labels, h.n)
}

func (s *Server) metricsHandler(c *gin.Context) {
	var b bytes.Buffer
	s.prom.write(&b)
	c.Data(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", b.Bytes())
}

// String renders the metrics (for tests and debugging).
func (r *registry) String() string {
	var b bytes.Buffer
	r.write(&b)
	return b.String()
}
