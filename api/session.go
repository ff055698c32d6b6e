package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// keys are the HMAC keys derived from the server key, one per use, so a
// value signed for one use is never accepted for another.
type keys struct {
	session []byte
	cursor  []byte
}

func deriveKeys(k []byte) keys {
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, k)
		m.Write([]byte("secmetrics/" + label + "/v1"))
		return m.Sum(nil)
	}
	return keys{session: derive("session"), cursor: derive("cursor")}
}

func sign(key []byte, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "secmetrics_session"

// session is the signed content of a session cookie. It names the token
// the session was opened with, so revoking (or expiry of) the token ends
// the session; the token's scopes and teams apply to it.
type session struct {
	TokenID string `json:"tid"`
	Issued  int64  `json:"iat"`
	Expires int64  `json:"exp"`
	Nonce   string `json:"n"`
}

// logoutList remembers sessions ended by POST /logout until they would
// have expired (in memory: a restart forgets them, the cookie is cleared
// in the browser anyway).
type logoutList struct {
	mu sync.Mutex
	m  map[string]time.Time // nonce -> expiry
}

func (l *logoutList) add(nonce string, exp time.Time, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for n, e := range l.m {
		if now.After(e) {
			delete(l.m, n)
		}
	}
	l.m[nonce] = exp
}

func (l *logoutList) has(nonce string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.m[nonce]
	return ok
}

func (s *Server) encodeSession(se session) string {
	payload, _ := json.Marshal(se)
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(sign(s.keys.session, []byte(p)))
}

// decodeSession verifies the cookie's signature (in constant time) and
// expiry.
func (s *Server) decodeSession(v string, now time.Time) (session, bool) {
	p, sig, ok := strings.Cut(v, ".")
	if !ok || len(v) > 1024 {
		return session{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, sign(s.keys.session, []byte(p))) {
		return session{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return session{}, false
	}
	var se session
	if json.Unmarshal(payload, &se) != nil || se.TokenID == "" || now.Unix() >= se.Expires {
		return session{}, false
	}
	return se, true
}

// sessionPrincipal authenticates a request by its session cookie.
func (s *Server) sessionPrincipal(c *gin.Context) (principal, error) {
	v, err := c.Cookie(SessionCookie)
	if err != nil || v == "" {
		return principal{}, errUnauthenticated
	}
	se, ok := s.decodeSession(v, s.now())
	if !ok || s.logouts.has(se.Nonce) {
		return principal{}, errUnauthenticated
	}
	t, err := s.tokens.byID(c.Request.Context(), se.TokenID, s.now())
	if err != nil {
		return principal{}, err
	}
	p := t.principal()
	p.Session = true
	return p, nil
}

// sameOrigin reports whether a state-changing browser request comes from
// this site: its Origin (or, without one, its Referer) must name this
// host, and Sec-Fetch-Site, when sent, must be same-origin. A request with
// none of these headers is not from a browser and passes.
func (s *Server) sameOrigin(c *gin.Context) bool {
	if site := c.GetHeader("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	o := c.GetHeader("Origin")
	if o == "" {
		o = c.GetHeader("Referer")
	}
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, c.Request.Host)
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>secmetrics: sign in</title></head>
<body>
<h1>secmetrics</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<input type="hidden" name="next" value="{{.Next}}">
<button type="submit">Sign in</button>
</form>
<p>Paste a token with the read:kpis scope. The session lasts {{.TTL}} and ends when the token is revoked.</p>
</body></html>
`))

func (s *Server) renderLogin(c *gin.Context, status int, msg, next string) {
	c.Header("Cache-Control", "no-store")
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	_ = loginPage.Execute(c.Writer, map[string]string{"Error": msg, "Next": next, "TTL": s.cfg.SessionTTL.String()})
}

// safeNext returns next when it is a local dashboard, export or API path
// (a drill-down link followed before signing in), else the default page:
// no open redirect.
func safeNext(next string) string {
	if (strings.HasPrefix(next, "/reports/") || strings.HasPrefix(next, "/exports/") || strings.HasPrefix(next, "/api/v1/")) &&
		!strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/reports/qbr"
}

func (s *Server) loginForm(c *gin.Context) {
	s.renderLogin(c, http.StatusOK, "", safeNext(c.Query("next")))
}

// login exchanges a token (form field "token") for a session cookie. The
// token must be active and carry read:kpis or export. The cookie is
// HttpOnly, SameSite=Strict, Secure over HTTPS, and lives SessionTTL (never
// past the token's expiry).
func (s *Server) login(c *gin.Context) {
	if !s.sameOrigin(c) {
		s.failCode(c, CodeForbidden, "Origin", "cross-site login refused")
		return
	}
	if s.tokens == nil {
		s.failCode(c, CodeUnavailable, "", "the service has no database configured")
		return
	}
	now := s.now()
	ip := c.ClientIP()
	if ok, wait := s.failures.allowed("ip:"+ip, now); !ok {
		s.rateLimited(c, wait)
		return
	}
	next := safeNext(c.PostForm("next"))
	t, err := s.tokens.verify(c.Request.Context(), strings.TrimSpace(c.PostForm("token")), now)
	if err != nil {
		if err == errUnauthenticated {
			s.failures.take("ip:"+ip, now)
			s.renderLogin(c, http.StatusUnauthorized, "That token is not valid (unknown, expired or revoked).", next)
			return
		}
		s.fail(c, err)
		return
	}
	p := t.principal()
	c.Set(principalKey, p)
	if !p.has(ReadKPIs) && !p.has(Export) {
		s.renderLogin(c, http.StatusForbidden, "That token has neither the read:kpis nor the export scope.", next)
		return
	}
	exp := now.Add(s.cfg.SessionTTL)
	if t.Expires != nil && t.Expires.Before(exp) {
		exp = *t.Expires
	}
	nb := make([]byte, 16)
	_, _ = rand.Read(nb)
	v := s.encodeSession(session{TokenID: t.ID, Issued: now.Unix(), Expires: exp.Unix(), Nonce: hex.EncodeToString(nb)})
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: v, Path: "/", Expires: exp,
		MaxAge: int(exp.Sub(now).Seconds()), HttpOnly: true, Secure: s.isTLS(c), SameSite: http.SameSiteStrictMode})
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, next)
}

// logout ends the session of the cookie it carries and clears the cookie.
func (s *Server) logout(c *gin.Context) {
	if !s.sameOrigin(c) {
		s.failCode(c, CodeForbidden, "Origin", "cross-site logout refused")
		return
	}
	if v, err := c.Cookie(SessionCookie); err == nil {
		if se, ok := s.decodeSession(v, s.now()); ok {
			s.logouts.add(se.Nonce, time.Unix(se.Expires, 0), s.now())
		}
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.isTLS(c), SameSite: http.SameSiteStrictMode})
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, "/login")
}
