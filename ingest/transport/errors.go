package transport

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The classes of a *StatusError, for errors.Is.
var (
	// ErrUnauthorized: 401, the credential is invalid, expired or revoked.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: 403 that is not a rate limit, the credential lacks a
	// permission or scope (or the feature is disabled for the resource).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: 404, the resource does not exist or the credential
	// cannot see it.
	ErrNotFound = errors.New("not found")
	// ErrRateLimited: 429, or a 403 that carries rate-limit headers, still
	// refused after the retries.
	ErrRateLimited = errors.New("rate limited")
	// ErrTooLarge: a response body longer than the caller's limit.
	ErrTooLarge = errors.New("response too large")
)

// snippetLen is the most bytes of a response body a StatusError keeps.
const snippetLen = 512

// StatusError is a final non-2xx response. It holds nothing secret: URL is
// redacted (RedactURL) and Body has the request's credential header values
// removed.
type StatusError struct {
	Method string
	URL    string // redacted, see RedactURL
	Status int    // the HTTP status code
	// Body is the start of the response body (at most 512 bytes, control
	// characters replaced), where APIs explain the refusal.
	Body string
	// Credential names the credential the request used, as the operator
	// knows it ("github.token", "the Jira API token"); it is never the
	// credential itself.
	Credential string
	// RateLimited is true for 429 and for a 403 with rate-limit headers;
	// RetryAfter is then the wait the server asked for, when it named one.
	RateLimited bool
	RetryAfter  time.Duration
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	cred := e.Credential
	if cred == "" {
		cred = "the credential"
	}
	switch {
	case e.RateLimited:
		b.WriteString(": rate limited")
		if e.RetryAfter > 0 {
			fmt.Fprintf(&b, ", server asks to retry after %s", e.RetryAfter)
		}
	case e.Status == http.StatusUnauthorized:
		fmt.Fprintf(&b, ": %s was rejected (wrong, expired or revoked)", cred)
	case e.Status == http.StatusForbidden:
		fmt.Fprintf(&b, ": %s is not permitted to access this resource (missing scope or permission, or the feature is disabled)", cred)
	}
	if e.Body != "" {
		b.WriteString(": ")
		b.WriteString(e.Body)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrUnauthorized) and the other classes work.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrRateLimited:
		return e.RateLimited
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden && !e.RateLimited
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	}
	return false
}

// Check returns nil for a 2xx response. For any other status it reads the
// start of the body, closes it, and returns a *StatusError; credential names
// the credential the request carried (see StatusError.Credential).
func Check(resp *http.Response, credential string) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	// Read more than is kept so that a credential straddling the cut is
	// still found and removed.
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 8*snippetLen))
	discard(resp.Body)
	e := &StatusError{
		Status:     resp.StatusCode,
		Body:       snippet(raw, resp.Request),
		Credential: credential,
	}
	if req := resp.Request; req != nil {
		e.Method = req.Method
		e.URL = RedactURL(req.URL)
	}
	if resp.StatusCode == http.StatusTooManyRequests ||
		resp.StatusCode == http.StatusForbidden && rateLimited(resp) {
		e.RateLimited = true
	}
	if d, ok := serverWait(resp.Header, time.Now()); ok && (e.RateLimited || resp.StatusCode == http.StatusServiceUnavailable) {
		e.RetryAfter = d.Round(time.Second)
	}
	return e
}

// snippet makes the kept start of an error body: the values of the
// request's credential headers removed, control characters replaced, cut to
// snippetLen bytes on a rune boundary.
func snippet(raw []byte, req *http.Request) string {
	s := string(raw)
	if req != nil {
		for _, secret := range secrets(req.Header) {
			s = strings.ReplaceAll(s, secret, "REDACTED")
		}
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.TrimSpace(s)
	if len(s) > snippetLen {
		cut := snippetLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// secrets lists the values of a request's credential headers, and the
// credential parts of each (the token after "Bearer ", the password inside
// Basic), longest first so that a whole value is replaced before its parts.
func secrets(h http.Header) []string {
	var out []string
	add := func(v string) {
		if len(v) >= 4 { // shorter strings would redact ordinary text
			out = append(out, v)
		}
	}
	for name, values := range h {
		if !sensitiveHeader(name) {
			continue
		}
		for _, v := range values {
			add(v)
			scheme, cred, ok := strings.Cut(v, " ")
			if !ok {
				continue
			}
			add(strings.TrimSpace(cred))
			if strings.EqualFold(scheme, "basic") {
				if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred)); err == nil {
					_, pass, _ := strings.Cut(string(dec), ":")
					add(string(dec))
					add(pass)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// sensitiveHeader reports whether a header carries a credential.
func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	if n == "cookie" {
		return true
	}
	for _, w := range []string{"auth", "token", "key", "secret", "password", "session"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// safeQuery are the query parameters whose values RedactURL keeps: paging
// and ordering parameters of the supported APIs, which carry no secret.
var safeQuery = map[string]bool{
	"page": true, "per_page": true, "after": true, "before": true,
	"cursor": true, "startAt": true, "maxResults": true, "limit": true,
	"offset": true, "state": true, "sort": true, "direction": true,
	"nextPageToken": true,
}

// RedactURL renders u for errors and logs: no user info, no fragment, and
// every query value replaced by "REDACTED" except those of the paging
// parameters (page, per_page, after, before, cursor, startAt, maxResults,
// limit, offset, state, sort, direction, nextPageToken).
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	r := *u
	r.User = nil
	r.Fragment, r.RawFragment = "", ""
	if r.RawQuery != "" {
		q, err := url.ParseQuery(r.RawQuery)
		if err != nil {
			r.RawQuery = "REDACTED"
		} else {
			for k, vs := range q {
				if !safeQuery[k] {
					for i := range vs {
						vs[i] = "REDACTED"
					}
				}
			}
			r.RawQuery = q.Encode()
		}
	}
	return r.String()
}

// ReadLimited reads r to its end and returns what it read, or an error
// wrapping ErrTooLarge when r holds more than max bytes.
func ReadLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(LimitReader(r, max))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// LimitReader returns a reader that reads from r and fails with an error
// wrapping ErrTooLarge once more than max bytes would be read, so that a
// streaming decoder stops on an oversized body instead of seeing a clean
// (truncated) end as io.LimitReader would give.
func LimitReader(r io.Reader, max int64) io.Reader {
	return &limitReader{r: r, left: max, max: max}
}

type limitReader struct {
	r         io.Reader
	left, max int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if l.left <= 0 {
		// At the limit: more data is an error, a clean end is not.
		var one [1]byte
		n, err := io.ReadAtLeast(l.r, one[:], 1)
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, l.max)
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
