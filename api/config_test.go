package api

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConfigCheck(t *testing.T) {
	if errs := Defaults().Check("server"); len(errs) != 0 {
		t.Fatalf("defaults: %v", errs)
	}
	c := Defaults()
	c.Listen = "8080"
	c.CORSOrigins = []string{"https://ok.example", "*", "https://x.example/path"}
	c.RequestTimeout = 0
	c.MaxUploadBytes = -1
	c.TLSCertFile = "cert.pem"
	c.RateLimit = 0
	c.RateBurst = 0
	c.AuthFailuresPerMinute = 0
	c.TokenCacheTTL = time.Hour
	c.SessionTTL = 48 * time.Hour
	c.SessionKeyEnv, c.SessionKeyFile = "K", "/run/k"
	c.SessionKey = []byte("short")
	c.CacheTTL = -time.Second
	c.CacheBytes = -1
	c.MaxConcurrentQueries = 0
	c.PageSize = 0
	c.MaxPageSize = 20000
	c.AuditBatch = 0
	c.AuditQueue = -1
	var got []string
	for _, e := range c.Check("server") {
		got = append(got, e.Error())
	}
	for _, want := range []string{
		`server.listen: "8080" is not host:port`,
		`server.cors_origins[1]: "*" is not an origin`,
		`server.cors_origins[2]: "https://x.example/path" is not an origin`,
		"server.request_timeout: must be positive",
		"server.max_upload_bytes: must be positive",
		"server.tls_cert_file: set both",
		"server.rate_limit: must be positive",
		"server.rate_burst: must be at least 1",
		"server.auth_failures_per_minute: must be at least 1",
		"server.token_cache_ttl: at most 1m",
		"server.session_ttl: at most 24h",
		"server.session_key_env: set session_key_env or session_key_file, not both",
		"server.session_key_env: the session key must be at least 32 bytes",
		"server.cache_ttl: must not be negative",
		"server.cache_bytes: must not be negative",
		"server.max_concurrent_queries: must be at least 1",
		"server.page_size: must be at least 1",
		"server.max_page_size: must be between page_size and 10000",
		"server.audit_batch: must be at least 1",
		"server.audit_queue: must be at least audit_batch",
	} {
		found := false
		for _, g := range got {
			if strings.HasPrefix(g, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing problem %q in:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		"=1+2": "'=1+2", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"plain": "plain", "": "", "1=1": "1=1", `=HYPERLINK("http://x","y")`: `'=HYPERLINK("http://x","y")`,
	} {
		if got := Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactQuery(t *testing.T) {
	secret := "smt_" + strings.Repeat("A", 43)
	for in, want := range map[string]string{
		"period=2026-Q3&team=alpha":             "period=2026-Q3&team=alpha",
		"token=abc":                             "token=REDACTED",
		"x=" + secret:                           "x=REDACTED",
		"access_token=1&b=2":                    "access_token=REDACTED&b=2",
		"q=Bearer+" + secret:                    "q=REDACTED",
		"jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9": "jwt=REDACTED",
		secret + "=1":                           "REDACTED=REDACTED",
		"flag":                                  "flag",
	} {
		if got := redactQuery(in); got != want {
			t.Errorf("redactQuery(%q) = %q, want %q", in, got, want)
		}
	}
	if got := redactQuery(strings.Repeat("a=b&", 2000)); len(got) > maxAuditParams+3 {
		t.Errorf("not cut: %d bytes", len(got))
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(2, 2)
	now := time.Unix(1000, 0)
	for i := 0; i < 2; i++ {
		if ok, _ := l.take("k", now); !ok {
			t.Fatal("burst refused")
		}
	}
	ok, wait := l.take("k", now)
	if ok || wait != 0.5 {
		t.Fatalf("empty bucket: %v %v", ok, wait)
	}
	if ok, _ := l.take("k", now.Add(500*time.Millisecond)); !ok {
		t.Fatal("not refilled")
	}
	if ok, _ := l.take("other", now); !ok {
		t.Fatal("buckets are shared")
	}
}

func TestTokenFlags(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"never": {}, "90d": now.Add(90 * 24 * time.Hour), "12h": now.Add(12 * time.Hour),
		"2027-01-01": time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "2027-01-01T10:00:00Z": time.Date(2027, 1, 1, 10, 0, 0, 0, time.UTC),
	} {
		got, err := ParseExpiry(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseExpiry(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0d", "-5h", "soon", "99999d"} {
		if _, err := ParseExpiry(bad, now); err == nil {
			t.Errorf("ParseExpiry(%q) accepted", bad)
		}
	}
	if s, err := ParseScopes("read:kpis, export"); err != nil || len(s) != 2 {
		t.Errorf("scopes %v %v", s, err)
	}
	for _, bad := range []string{"", "read:all", "read:kpis,root"} {
		if _, err := ParseScopes(bad); err == nil {
			t.Errorf("ParseScopes(%q) accepted", bad)
		}
	}
	if ts, err := ParseTeams("alpha, beta"); err != nil || len(ts) != 2 {
		t.Errorf("teams %v %v", ts, err)
	}
	if _, err := ParseTeams(" , "); err == nil {
		t.Error("empty teams accepted")
	}
}

func TestRespCacheSingleFlight(t *testing.T) {
	rc := newRespCache(1 << 20)
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := rc.do(context.Background(), "k", time.Minute, func() ([]byte, error) {
				calls.Add(1)
				<-release
				return []byte("x"), nil
			})
			if err != nil || string(b) != "x" {
				t.Errorf("%q %v", b, err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("%d computations, want 1", calls.Load())
	}
	if b, _ := rc.do(context.Background(), "k", time.Minute, func() ([]byte, error) { return nil, errors.New("not cached") }); string(b) != "x" {
		t.Fatal("not served from the cache")
	}
	if _, err := rc.do(context.Background(), "e", time.Minute, func() ([]byte, error) { return nil, errors.New("boom") }); err == nil {
		t.Fatal("error lost")
	}
	if b, err := rc.do(context.Background(), "e", time.Minute, func() ([]byte, error) { return []byte("ok"), nil }); err != nil || string(b) != "ok" {
		t.Fatal("a failure was cached")
	}
}
