package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTokenLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	secret, tok, err := CreateToken(ctx, e.db, "ci-reader", []Scope{ReadKPIs, ReadFindings}, []string{"alpha", "beta"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !secretPattern.MatchString(secret) || len(secret) != 4+43 {
		t.Fatalf("secret %q has the wrong shape", secret)
	}
	// Only the SHA-256 is stored.
	var stored []struct {
		Hash string `ch:"hash"`
	}
	if err := e.db.Select(ctx, &stored, "SELECT hash FROM api_tokens"); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(secret))
	if len(stored) != 1 || stored[0].Hash != hex.EncodeToString(sum[:]) {
		t.Fatalf("stored %v, want the secret's SHA-256", stored)
	}
	if n := countWhere(t, e, "api_tokens", "positionCaseInsensitive(concat(token_id, name, hash, arrayStringConcat(scopes), arrayStringConcat(teams)), ?) > 0", secret[4:]); n != 0 {
		t.Fatal("the secret is stored")
	}
	// It works, and shows up in the list without its secret.
	want(t, e.get("/api/v1/kpis", secret), 200)
	list, err := ListTokens(ctx, e.db)
	if err != nil || len(list) != 1 || list[0].ID != tok.ID || list[0].Revoked != nil || len(list[0].Teams) != 2 {
		t.Fatalf("list %+v %v", list, err)
	}
	// Malformed and unknown secrets are refused alike.
	for _, bad := range []string{"", "smt_", secret[:len(secret)-1], secret + "A", strings.ToUpper(secret), "smt_" + strings.Repeat("A", 43), "Basic " + secret} {
		r := e.do(req{path: "/api/v1/kpis", header: map[string]string{"Authorization": "Bearer " + bad}})
		want(t, r, 401)
		if r.Header().Get("WWW-Authenticate") == "" {
			t.Fatal("401 without WWW-Authenticate")
		}
	}
	r := e.do(req{path: "/api/v1/kpis", header: map[string]string{"Authorization": "Basic " + secret}})
	want(t, r, 401)
	// Revocation takes effect within the cache TTL.
	if err := RevokeToken(ctx, e.db, tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := RevokeToken(ctx, e.db, tok.ID); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	if err := RevokeToken(ctx, e.db, "tok_nope"); err != ErrTokenNotFound {
		t.Fatalf("unknown id: %v", err)
	}
	deadline := time.Now().Add(e.cfg.TokenCacheTTL + 2*time.Second)
	for e.get("/api/v1/kpis", secret).Code != 401 {
		if time.Now().After(deadline) {
			t.Fatal("a revoked token still works after the cache TTL")
		}
		time.Sleep(50 * time.Millisecond)
	}
	list, _ = ListTokens(ctx, e.db)
	if list[0].Revoked == nil {
		t.Fatal("list does not show the revocation")
	}
	// Expiry follows the server clock.
	exp, _, err := CreateToken(ctx, e.db, "short", []Scope{ReadKPIs}, []string{"*"}, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Set(time.Now())
	time.Sleep(e.cfg.TokenCacheTTL) // unknown secrets above reloaded the table a moment ago
	want(t, e.get("/api/v1/kpis", exp), 200)
	e.clk.Set(time.Now().Add(2 * time.Hour))
	want(t, e.get("/api/v1/kpis", exp), 401)
	// The secret appears in no log line and no audit row, even when sent
	// in a query string.
	e.clk.Set(testNow)
	e.get("/api/v1/kpis?token="+secret+"&x="+url.QueryEscape("Bearer "+exp), exp)
	_ = e.srv.audit.Close()
	for _, s := range []string{secret, exp, secret[4:20], exp[4:20]} {
		if strings.Contains(e.logs.String(), s) {
			t.Fatalf("the log holds a secret")
		}
		if n := countWhere(t, e, "audit_log", "position(params, ?) > 0 OR position(token_name, ?) > 0", s, s); n != 0 {
			t.Fatal("the audit log holds a secret")
		}
	}
	if n := countWhere(t, e, "audit_log", "params LIKE '%REDACTED%'"); n == 0 {
		t.Fatal("no redacted audit row")
	}
}

func TestCreateTokenValidation(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		scopes []Scope
		teams  []string
		exp    time.Time
		msg    string
	}{
		{"", []Scope{ReadKPIs}, []string{"*"}, time.Time{}, "name"},
		{"x", nil, []string{"*"}, time.Time{}, "scope"},
		{"x", []Scope{"read:everything"}, []string{"*"}, time.Time{}, "unknown scope"},
		{"x", []Scope{ReadKPIs}, nil, time.Time{}, "teams"},
		{"x", []Scope{ReadKPIs}, []string{"*", "alpha"}, time.Time{}, "cannot be combined"},
		{"x", []Scope{ReadKPIs}, []string{"a,b"}, time.Time{}, "team"},
		{"x", []Scope{ReadKPIs}, []string{"*"}, time.Now().Add(-time.Hour), "future"},
	} {
		if _, _, err := CreateToken(ctx, e.db, c.name, c.scopes, c.teams, c.exp); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%+v: %v, want an error about %s", c, err, c.msg)
		}
	}
	if n := countRows(t, e, "api_tokens"); n != 0 {
		t.Fatalf("%d invalid tokens stored", n)
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RateLimit, c.RateBurst = 1, 3; c.AuthFailuresPerMinute = 5 })
	tok := e.token("busy", []string{"*"}, ReadKPIs)
	other := e.token("calm", []string{"*"}, ReadKPIs)
	for i := 0; i < 3; i++ {
		want(t, e.get("/api/v1/kpis", tok), 200)
	}
	r := e.get("/api/v1/kpis", tok)
	want(t, r, 429)
	if ra, err := strconv.Atoi(r.Header().Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After %q", r.Header().Get("Retry-After"))
	}
	if p := r.problem(t); p.Code != CodeRateLimited {
		t.Fatalf("problem %+v", p)
	}
	want(t, e.get("/api/v1/kpis", other), 200) // per token
	e.clk.Add(1100 * time.Millisecond)
	want(t, e.get("/api/v1/kpis", tok), 200) // refilled
	// Failed authentications are limited per client address; a request
	// with no credential at all is not a failed guess.
	for i := 0; i < 10; i++ {
		want(t, e.get("/api/v1/kpis", ""), 401)
	}
	bad := "smt_" + strings.Repeat("x", 43)
	for i := 0; i < 5; i++ {
		want(t, e.get("/api/v1/kpis", bad), 401)
	}
	r = e.get("/api/v1/kpis", bad)
	want(t, r, 429)
	if r.Header().Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	if !strings.Contains(e.srv.prom.String(), "secmetrics_rate_limited_total 1") {
		t.Fatalf("metrics: %s", e.srv.prom.String())
	}
}

func TestSessions(t *testing.T) {
	e := newEnvPages(t)
	ctx := context.Background()
	secret, tok, err := CreateToken(ctx, e.db, "director", []Scope{ReadKPIs}, []string{"alpha"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, form url.Values, hdr map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = "192.0.2.20:1"
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, r)
		return w
	}
	// The form.
	r := e.get("/login?next=/reports/qbr", "")
	want(t, r, 200)
	if !strings.Contains(r.Body.String(), `action="/login"`) || r.Header().Get("Content-Security-Policy") == "" {
		t.Fatalf("form: %s", r.Body)
	}
	// Cross-site login is refused.
	for _, h := range []map[string]string{{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Referer": "https://evil.example/x"}} {
		if w := post("/login", url.Values{"token": {secret}}, h); w.Code != 403 || len(w.Result().Cookies()) != 0 {
			t.Fatalf("cross-site login %v: %d", h, w.Code)
		}
	}
	// A bad token gets the form again, no cookie.
	if w := post("/login", url.Values{"token": {"smt_" + strings.Repeat("z", 43)}}, nil); w.Code != 401 || len(w.Result().Cookies()) != 0 {
		t.Fatalf("bad login: %d", w.Code)
	}
	// A good one: a strict, HttpOnly, short-lived cookie; an open redirect
	// is not followed.
	for next, loc := range map[string]string{"/api/v1/findings?format=csv": "/api/v1/findings?format=csv", "https://evil.example/": "/reports/qbr", "/\\evil.example": "/reports/qbr"} {
		if w := post("/login", url.Values{"token": {secret}, "next": {next}}, nil); w.Header().Get("Location") != loc {
			t.Fatalf("next %q: redirected to %q", next, w.Header().Get("Location"))
		}
	}
	w := post("/login", url.Values{"token": {secret}, "next": {"//evil.example/"}}, map[string]string{"Origin": "http://example.com", "Host": "example.com"})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/reports/qbr" {
		t.Fatalf("login: %d %s", w.Code, w.Header().Get("Location"))
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	ck := cookies[0]
	if ck.Name != SessionCookie || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.MaxAge != int(e.cfg.SessionTTL.Seconds()) || ck.Path != "/" {
		t.Fatalf("cookie %+v", ck)
	}
	if strings.Contains(ck.Value, secret) || strings.Contains(ck.Value, secret[4:]) {
		t.Fatal("the cookie holds the token")
	}
	withCookie := func(path string, c *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.AddCookie(c)
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, r)
		validateResponse(t, "GET", r.URL.Path, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes())
		return w
	}
	if w := withCookie("/reports/qbr?period=2026-Q3", ck); w.Code != 200 || !strings.Contains(w.Body.String(), `"scope":["alpha"]`) {
		t.Fatalf("page with session: %d %s", w.Code, w.Body)
	}
	// A session reads the JSON API within its token's scopes (the
	// dashboard's drill-down links), never beyond them, and changes
	// nothing: routes that write do not take a session.
	if w := withCookie("/api/v1/kpis", ck); w.Code != 200 {
		t.Fatalf("GET API with a session cookie: %d", w.Code)
	}
	if w := withCookie("/api/v1/findings", ck); w.Code != 403 {
		t.Fatalf("findings without read:findings: %d", w.Code)
	}
	for _, m := range []string{"PATCH /api/v1/findings/00000000-0000-8000-8000-000000000000", "POST /api/v1/alerts", "POST /api/v1/scans"} {
		method, path, _ := strings.Cut(m, " ")
		r := httptest.NewRequest(method, path, strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		r.AddCookie(ck)
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, r)
		if w.Code != 401 {
			t.Fatalf("%s with a session cookie: %d", m, w.Code)
		}
	}
	if w := withCookie("/exports/qbr.xlsx", ck); w.Code != 403 {
		t.Fatalf("export without the export scope: %d", w.Code)
	}
	// A tampered cookie is refused; a browser without a session is sent
	// to the login form.
	bad := *ck
	bad.Value = strings.Replace(ck.Value, ck.Value[5:6], string(rune(ck.Value[5]^1)), 1)
	if w := withCookie("/reports/qbr", &bad); w.Code != 401 {
		t.Fatalf("tampered cookie: %d", w.Code)
	}
	hr := httptest.NewRequest("GET", "/reports/qbr?period=2026-Q3", nil)
	hr.Header.Set("Accept", "text/html")
	hw := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(hw, hr)
	if hw.Code != http.StatusSeeOther || !strings.HasPrefix(hw.Header().Get("Location"), "/login?next=") {
		t.Fatalf("browser without session: %d %s", hw.Code, hw.Header().Get("Location"))
	}
	// Expiry: the session ends after SessionTTL.
	e.clk.Add(e.cfg.SessionTTL + time.Second)
	if w := withCookie("/reports/qbr", ck); w.Code != 401 {
		t.Fatalf("expired session: %d", w.Code)
	}
	e.clk.Set(testNow)
	// Logout ends it for good.
	lr := httptest.NewRequest("POST", "/logout", nil)
	lr.AddCookie(ck)
	lw := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(lw, lr)
	if lw.Code != http.StatusSeeOther || len(lw.Result().Cookies()) != 1 || lw.Result().Cookies()[0].MaxAge >= 0 {
		t.Fatalf("logout: %d %v", lw.Code, lw.Result().Cookies())
	}
	if w := withCookie("/reports/qbr", ck); w.Code != 401 {
		t.Fatalf("session after logout: %d", w.Code)
	}
	// Revoking the token ends its other sessions.
	w = post("/login", url.Values{"token": {secret}}, nil)
	ck2 := w.Result().Cookies()[0]
	if w := withCookie("/reports/qbr", ck2); w.Code != 200 {
		t.Fatalf("second session: %d", w.Code)
	}
	if err := RevokeToken(ctx, e.db, tok.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(e.cfg.TokenCacheTTL + 2*time.Second)
	for withCookie("/reports/qbr", ck2).Code != 401 {
		if time.Now().After(deadline) {
			t.Fatal("session of a revoked token still works")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Secure over TLS (here: a proxy that terminates it).
	e2 := newEnv(t, func(c *Config) { c.TLSProxy = true })
	sec2 := e2.token("tls", []string{"*"}, ReadKPIs)
	r2 := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"token": {sec2}}.Encode()))
	r2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w2 := httptest.NewRecorder()
	e2.srv.Handler().ServeHTTP(w2, r2)
	if cs := w2.Result().Cookies(); w2.Code != http.StatusSeeOther || len(cs) != 1 || !cs[0].Secure {
		t.Fatalf("TLS login: %d %v", w2.Code, cs)
	}
	if w2.Header().Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS over TLS")
	}
}

func countWhere(t *testing.T, e *env, table, cond string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := e.db.QueryRow(context.Background(), "SELECT count() FROM "+table+" WHERE "+cond, args, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
