package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/secmetrics/secmetrics/metrics"
)

// kpiDef is a catalog entry as the API shows it: the definition without
// the names of internal tables and statement files.
type kpiDef struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Version    int               `json:"version"`
	Title      string            `json:"title"`
	Unit       metrics.Unit      `json:"unit"`
	Direction  metrics.Direction `json:"direction"`
	Definition string            `json:"definition"`
	Slices     string            `json:"slices,omitempty"`
	Measures   []metrics.Measure `json:"measures"`
	// Targets are the targets in force (configured, else the defaults).
	Targets  []metrics.Target `json:"targets"`
	Sources  []string         `json:"sources"`
	GroupBys []string         `json:"group_bys"`
}

func (s *Server) listKPIs(c *gin.Context) {
	if err := checkParams(c); err != nil {
		s.fail(c, err)
		return
	}
	cfg := s.b.Metrics.Config()
	var out []kpiDef
	for _, d := range metrics.Catalog() {
		ts, ok := cfg.Targets[d.Name]
		if !ok {
			ts = d.Targets
		}
		out = append(out, kpiDef{ID: d.ID, Name: d.Name, Version: d.Version, Title: d.Title, Unit: d.Unit, Direction: d.Direction,
			Definition: d.Definition, Slices: d.Slices, Measures: d.Measures, Targets: nonNilT(ts), Sources: d.Sources, GroupBys: d.GroupBys})
	}
	s.writeJSON(c, http.StatusOK, gin.H{"kpis": out})
}

func nonNilT[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

var kpiID = regexp.MustCompile(`^[a-z][a-z_]{0,63}(@[0-9]{1,4})?$`)

var kpiParams = append([]string{"period", "from", "to", "compare", "trend", "group_by"}, filterNames...)

// kpi computes one KPI: GET /api/v1/kpis/{id}.
func (s *Server) kpi(c *gin.Context) {
	q, err := s.kpiQuery(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.cached(c, "kpi", q, func(ctx context.Context) (any, error) {
		r, err := s.b.Metrics.Compute(ctx, q)
		normalize(&r)
		return r, err
	})
}

func (s *Server) kpiQuery(c *gin.Context) (metrics.Query, error) {
	var q metrics.Query
	if err := checkParams(c, kpiParams...); err != nil {
		return q, err
	}
	id := c.Param("id")
	if !kpiID.MatchString(id) {
		return q, errParam("id", fmt.Sprintf("%q is not a KPI id (e.g. vuln_mttr or vuln_mttr@1)", clip(id, 64)))
	}
	if _, ok := metrics.Lookup(id); !ok {
		return q, errParam("id", fmt.Sprintf("unknown KPI %q (GET /api/v1/kpis lists them)", id))
	}
	trend, err := intParam(c, "trend", 0, 0, 120)
	if err != nil {
		return q, err
	}
	p, _, err := s.periodParams(c, true, trend+1)
	if err != nil {
		return q, err
	}
	cmp, err := boolParam(c, "compare")
	if err != nil {
		return q, err
	}
	gb, err := oneParam(c, "group_by")
	if err != nil {
		return q, err
	}
	if gb != "" && !slices.Contains(metrics.GroupBys, gb) {
		return q, errParam("group_by", fmt.Sprintf("%q is not one of %s", clip(gb, 64), strings.Join(metrics.GroupBys, ", ")))
	}
	f, err := filterParams(c)
	if err != nil {
		return q, err
	}
	q = metrics.Query{KPI: id, Period: p, Compare: cmp == nil || *cmp, Trend: trend, GroupBy: gb, Filter: f, Scope: principalOf(c).scope()}
	return q, nil
}

var scorecardParams = append([]string{"period", "from", "to", "group_by"}, filterNames...)

// scorecard computes every KPI for a period: GET /api/v1/scorecard.
func (s *Server) scorecard(c *gin.Context) {
	if err := checkParams(c, scorecardParams...); err != nil {
		s.fail(c, err)
		return
	}
	p, _, err := s.periodParams(c, true, 1)
	if err != nil {
		s.fail(c, err)
		return
	}
	gb, err := oneParam(c, "group_by")
	if err != nil {
		s.fail(c, err)
		return
	}
	if gb != "" && !slices.Contains(metrics.GroupBys, gb) {
		s.fail(c, errParam("group_by", fmt.Sprintf("%q is not one of %s", clip(gb, 64), strings.Join(metrics.GroupBys, ", "))))
		return
	}
	f, err := filterParams(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	q := metrics.ScorecardQuery{Period: p, GroupBy: gb, Filter: f, Scope: principalOf(c).scope()}
	s.cached(c, "scorecard", q, func(ctx context.Context) (any, error) {
		sc, err := s.b.Metrics.Scorecard(ctx, q)
		for i := range sc.Results {
			normalize(&sc.Results[i])
		}
		sc.Results, sc.Freshness = nonNilT(sc.Results), nonNilT(sc.Freshness)
		return sc, err
	})
}

// normalize makes the lists of r empty rather than null, as openapi.json
// promises (the engine leaves Groups nil when no item is in scope).
func normalize(r *metrics.Result) {
	r.Groups, r.Freshness = nonNilT(r.Groups), nonNilT(r.Freshness)
	for i := range r.Groups {
		r.Groups[i].Values = nonNilT(r.Groups[i].Values)
	}
	for i := range r.Trend {
		r.Trend[i].Groups = nonNilT(r.Trend[i].Groups)
		for j := range r.Trend[i].Groups {
			r.Trend[i].Groups[j].Values = nonNilT(r.Trend[i].Groups[j].Values)
		}
	}
}

// cached answers a KPI computation with an ETag, from the response cache
// when the same question (kind and query, which holds the caller's scope)
// was answered for the same data version within CacheTTL. The ETag is
// the hash of the body: the same data and parameters give the same tag,
// and any ingest that changes the answer changes it.
func (s *Server) cached(c *gin.Context, kind string, q any, compute func(context.Context) (any, error)) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	key, err := json.Marshal(struct {
		Kind string
		Q    any
	}{kind, q})
	if err != nil {
		s.fail(c, err)
		return
	}
	var body []byte
	var ver string
	if s.cfg.CacheTTL > 0 {
		if ver, err = s.version.get(ctx); err != nil {
			s.fail(c, err)
			return
		}
		// Identical questions asked at once are computed once, to the end
		// even if the client that started it goes away (others wait).
		body, err = s.cache.do(ctx, string(key)+"|"+ver+"|"+minute(s.now()), s.cfg.CacheTTL, func() ([]byte, error) {
			cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.RequestTimeout)
			defer ccancel()
			return s.compute(cctx, kind, compute)
		})
	} else {
		body, err = s.compute(ctx, kind, compute)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	sum := sha256.Sum256(body)
	etag := `W/"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	c.Header("ETag", etag)
	c.Header("Cache-Control", "private, no-cache")
	if etagMatch(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		c.Writer.WriteHeaderNow()
		return
	}
	c.Data(http.StatusOK, "application/json", body)
}

// minute names the minute of t: answers that depend on the clock (overdue,
// expired, stale) are cached per minute at most.
func minute(t time.Time) string { return strconv.FormatInt(t.Unix()/60, 10) }

// cachedList answers a list page from the cache when the same token asked
// the same question (route and parameters, cursor included) of the same
// data in the same minute; otherwise compute builds it (with a context of
// its own, so that requests waiting for it are not cut short by the
// first client leaving).
func (s *Server) cachedList(ctx context.Context, c *gin.Context, compute func(context.Context) ([]byte, error)) ([]byte, error) {
	if s.cfg.CacheTTL <= 0 {
		return compute(ctx)
	}
	ver, err := s.version.get(ctx)
	if err != nil {
		return nil, err
	}
	key := "list|" + c.FullPath() + "|" + c.Request.URL.Query().Encode() + "|" + principalOf(c).TokenID + "|" + ver + "|" + minute(s.now())
	return s.cache.do(ctx, key, s.cfg.CacheTTL, func() ([]byte, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.RequestTimeout)
		defer cancel()
		return compute(cctx)
	})
}

// compute runs one computation (holding a query slot) and encodes its
// answer.
func (s *Server) compute(ctx context.Context, kind string, compute func(context.Context) (any, error)) ([]byte, error) {
	if err := acquire(ctx, s.slots); err != nil {
		return nil, err
	}
	defer func() { <-s.slots }()
	start := time.Now()
	v, err := compute(ctx)
	s.observe(kind, time.Since(start))
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// etagMatch is the weak comparison of If-None-Match.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

// writeJSON writes v as JSON.
func (s *Server) writeJSON(c *gin.Context, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Data(status, "application/json", b)
}

// respCache keeps computed answers by key until they expire, within max
// bytes, and computes an answer asked for by several requests at once
// only once.
type respCache struct {
	mu       sync.Mutex
	max      int64
	size     int64
	m        map[string]cacheEntry
	inflight map[string]*flight
}

type cacheEntry struct {
	body []byte
	exp  time.Time
}

// flight is a computation in progress; done is closed when body and err
// are set.
type flight struct {
	done chan struct{}
	body []byte
	err  error
}

func newRespCache(max int64) *respCache {
	return &respCache{max: max, m: map[string]cacheEntry{}, inflight: map[string]*flight{}}
}

// do returns the cached answer for key, or waits for the computation in
// progress for key, or runs fn and caches its answer for ttl. A waiter
// whose ctx ends stops waiting; a failed computation is not cached.
func (rc *respCache) do(ctx context.Context, key string, ttl time.Duration, fn func() ([]byte, error)) ([]byte, error) {
	rc.mu.Lock()
	if e, ok := rc.m[key]; ok && time.Now().Before(e.exp) {
		rc.mu.Unlock()
		return e.body, nil
	}
	if f, ok := rc.inflight[key]; ok {
		rc.mu.Unlock()
		select {
		case <-f.done:
			return f.body, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	rc.inflight[key] = f
	rc.mu.Unlock()
	f.body, f.err = fn()
	rc.mu.Lock()
	delete(rc.inflight, key)
	if f.err == nil {
		rc.put(key, f.body, time.Now().Add(ttl))
	}
	rc.mu.Unlock()
	close(f.done)
	return f.body, f.err
}

// put stores an answer, evicting expired ones, then any, to stay within
// max bytes; an answer over an eighth of max is not kept. Callers hold mu.
func (rc *respCache) put(key string, body []byte, exp time.Time) {
	n := int64(len(body) + len(key))
	if n > rc.max/8 {
		return
	}
	if old, ok := rc.m[key]; ok {
		rc.size -= int64(len(old.body) + len(key))
		delete(rc.m, key)
	}
	if rc.size+n > rc.max {
		now := time.Now()
		for k, e := range rc.m {
			if now.After(e.exp) {
				rc.size -= int64(len(e.body) + len(k))
				delete(rc.m, k)
			}
		}
		for k, e := range rc.m {
			if rc.size+n <= rc.max {
				break
			}
			rc.size -= int64(len(e.body) + len(k))
			delete(rc.m, k)
		}
	}
	rc.m[key] = cacheEntry{body: body, exp: exp}
	rc.size += n
}

// dataVersion is the data version of the tables KPIs read
// (metrics.ReadDataVersion): it keys the response cache. It is read at most
// once a second, and at once after an ingest or triage through this
// server, which also makes the engine read it again (so that no scorecard
// precomputed before the write answers the next request).
type dataVersion struct {
	db      selecter
	engine  *metrics.Engine
	observe func(string, time.Duration)

	mu sync.Mutex
	at time.Time
	v  string
}

func (d *dataVersion) get(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.at.IsZero() && time.Since(d.at) < time.Second {
		return d.v, nil
	}
	start := time.Now()
	v, err := metrics.ReadDataVersion(ctx, d.db)
	d.observe("data_version", time.Since(start))
	if err != nil {
		return "", err
	}
	d.v, d.at = v, time.Now()
	return d.v, nil
}

// invalidate makes the next get read the version again.
func (d *dataVersion) invalidate() {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.at = time.Time{}
	d.mu.Unlock()
	if d.engine != nil {
		d.engine.InvalidateVersion()
	}
}
