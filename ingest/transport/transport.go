// Package transport is the HTTP plumbing shared by every connector that pulls
// from a remote API (GitHub, Jira, PagerDuty, Sentinel, Splunk, Elastic,
// TheHive, ...): a retrying, optionally concurrency-limited
// http.RoundTripper, a typed error for a final non-2xx response, and a
// response size limit.
//
// A connector builds its client as
//
//	hc := &http.Client{Transport: &transport.Transport{Limit: 4}}
//	resp, err := hc.Do(req)
//	if err != nil { ... }            // transport error after the last attempt
//	if err := transport.Check(resp, "jira.token"); err != nil { ... }
//	body := transport.LimitReader(resp.Body, 32<<20)
//
// # Retry policy
//
// Transport retries a request only when it is safe to send it again: the
// method is GET, HEAD, OPTIONS or TRACE, or the caller opted in for this
// request with AllowRetry (a POST search, a bulk fetch) or an
// Idempotency-Key header; and in every case the body is absent or can be
// replayed through Request.GetBody (http.NewRequest sets GetBody for
// *bytes.Buffer, *bytes.Reader and *strings.Reader bodies).
//
// A retryable request is sent again after
//
//   - 429 Too Many Requests and 503 Service Unavailable, and a 403 that is a
//     rate limit (it carries Retry-After, or X-RateLimit-Remaining: 0 with
//     X-RateLimit-Reset, as GitHub sends): after the time the server asks
//     for (Retry-After in seconds or as an HTTP-date, else
//     X-RateLimit-Reset), or after the back-off below when it names none.
//     When the server asks for more than MaxRetryAfter, Transport does not
//     wait at all and returns that response at once: waiting less than asked
//     would only spend an attempt, and the caller (a scheduler) is better
//     placed to come back later;
//   - 500, 502 and 504, and errors from the underlying transport (connection
//     refused or reset, timeouts): after an exponential back-off with full
//     jitter, a random duration in [0, min(MaxDelay, BaseDelay·2^(n-1))) before
//     the n-th retry.
//
// Certificate verification failures and the request context's own
// cancellation are never retried. After MaxAttempts attempts the last
// response (or error) is returned as it is. Transport never turns a
// response into an error: as an http.RoundTripper it returns every response
// it got, and Check makes a final non-2xx an error the caller can classify
// (*StatusError, ErrUnauthorized, ErrForbidden, ErrNotFound,
// ErrRateLimited).
//
// Every wait honours the request's context: a cancelled context ends the
// wait at once, and RoundTrip returns the context's error.
//
// # Secrets
//
// Nothing in this package puts a header value, a token or a query-string
// value outside a small allowlist of paging parameters (see RedactURL) into
// an error or a log record. Credentials belong in headers: a secret in a
// query string still reaches the *url.Error that net/http's Client wraps
// around a transport error, which this package cannot redact.
package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Defaults for the zero fields of a Transport.
const (
	DefaultMaxAttempts   = 5
	DefaultBaseDelay     = 500 * time.Millisecond
	DefaultMaxDelay      = 30 * time.Second
	DefaultMaxRetryAfter = 2 * time.Minute
)

// drainLimit is how much of a discarded response body is read so that its
// connection can be reused; a longer body is closed unread.
const drainLimit = 64 << 10

// Transport is a retrying http.RoundTripper (see the package documentation
// for the policy). The zero value is ready to use with the defaults. A
// Transport is safe for concurrent use and must not be copied after first
// use (its concurrency limit is shared by every request through it).
type Transport struct {
	// Base sends each attempt; nil means http.DefaultTransport.
	Base http.RoundTripper

	// MaxAttempts bounds the attempts per request, the first included;
	// 0 means DefaultMaxAttempts, 1 disables retries.
	MaxAttempts int
	// BaseDelay and MaxDelay shape the exponential back-off; 0 means
	// DefaultBaseDelay and DefaultMaxDelay.
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter is the longest wait a server may ask for (Retry-After,
	// X-RateLimit-Reset) that Transport honours; a longer one ends the
	// retries. 0 means DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration

	// Limit, when positive, is the most requests in flight through this
	// Transport at once. A request holds its slot from sending until its
	// response body is closed (or RoundTrip fails), but not while it waits
	// between attempts. Callers must close response bodies, as net/http
	// requires anyway, or the slots run out.
	Limit int

	// Sleep waits d or until ctx is done, returning ctx.Err() in the latter
	// case; nil means a timer. Tests inject one that records d.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a uniform value in [0, 1) for the jitter; nil means
	// math/rand/v2.
	Rand func() float64
	// Now is the clock for HTTP-date Retry-After and X-RateLimit-Reset; nil
	// means time.Now.
	Now func() time.Time
	// Log, when set, receives one debug record per retry (method, redacted
	// URL, status or error, attempt, wait).
	Log *slog.Logger

	semOnce sync.Once
	sem     chan struct{}
}

var _ http.RoundTripper = (*Transport)(nil)

type allowRetryKey struct{}

// AllowRetry returns a copy of ctx that marks requests made with it as safe
// to send more than once although their method is not idempotent (a POST
// search, a bulk read). The body must still be replayable via GetBody.
func AllowRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, allowRetryKey{}, true)
}

// RoundTrip sends req, retrying as the package documentation describes. It
// returns the first 2xx-5xx response that is not retried, the last response
// when the attempts run out, or the last transport error wrapped with the
// method, the redacted URL and the number of attempts.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	retryable := replayable(req)
	max := t.maxAttempts()
	if !retryable {
		max = 1
	}
	for attempt := 1; ; attempt++ {
		try := req
		if attempt > 1 {
			var err error
			if try, err = rewind(req); err != nil {
				return nil, fmt.Errorf("%s %s: %w", req.Method, RedactURL(req.URL), err)
			}
		}
		resp, err := t.send(try)
		if attempt == max {
			if err != nil && max > 1 {
				err = fmt.Errorf("%s %s: giving up after %d attempts: %w", req.Method, RedactURL(req.URL), attempt, err)
			}
			return resp, err
		}
		wait, retry := t.decide(ctx, resp, err, attempt)
		if !retry {
			return resp, err
		}
		if t.Log != nil {
			attrs := []any{"method", req.Method, "url", RedactURL(req.URL), "attempt", attempt, "wait", wait}
			if err != nil {
				attrs = append(attrs, "error", err)
			} else {
				attrs = append(attrs, "status", resp.StatusCode)
			}
			t.Log.DebugContext(ctx, "http retry", attrs...)
		}
		if resp != nil {
			discard(resp.Body)
		}
		if err := t.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s %s: waiting to retry: %w", req.Method, RedactURL(req.URL), err)
		}
	}
}

// send makes one attempt, holding a concurrency slot until the response
// body is closed.
func (t *Transport) send(req *http.Request) (*http.Response, error) {
	release, err := t.acquire(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base().RoundTrip(req)
	if err != nil {
		if release != nil {
			release()
		}
		return nil, err
	}
	if release != nil {
		resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	}
	return resp, nil
}

// decide says whether to retry after an attempt that got resp or err, and
// after how long.
func (t *Transport) decide(ctx context.Context, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if err != nil {
		if ctx.Err() != nil || permanent(err) {
			return 0, false
		}
		return t.backoff(attempt), true
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable,
		code == http.StatusForbidden && rateLimited(resp):
		if d, ok := serverWait(resp.Header, t.now()); ok {
			if d > t.maxRetryAfter() {
				return 0, false
			}
			return d, true
		}
		if code == http.StatusForbidden {
			return 0, false
		}
		return t.backoff(attempt), true
	case code == http.StatusInternalServerError, code == http.StatusBadGateway, code == http.StatusGatewayTimeout:
		return t.backoff(attempt), true
	}
	return 0, false
}

// backoff is the full-jitter delay before retry number attempt (1-based).
func (t *Transport) backoff(attempt int) time.Duration {
	base, ceil := t.BaseDelay, t.MaxDelay
	if base <= 0 {
		base = DefaultBaseDelay
	}
	if ceil <= 0 {
		ceil = DefaultMaxDelay
	}
	d := base
	for i := 1; i < attempt && d < ceil; i++ {
		d *= 2
	}
	d = min(d, ceil)
	r := rand.Float64
	if t.Rand != nil {
		r = t.Rand
	}
	return time.Duration(r() * float64(d))
}

// serverWait is the wait a response asks for: Retry-After (delta-seconds or
// HTTP-date), else GitHub-style X-RateLimit-Reset (Unix seconds) when
// X-RateLimit-Remaining is 0. A date in the past is a zero wait.
func serverWait(h http.Header, now time.Time) (time.Duration, bool) {
	if v := h.Get("Retry-After"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			if n < 0 {
				return 0, false
			}
			if n > int64(365*24*time.Hour/time.Second) {
				n = int64(365 * 24 * time.Hour / time.Second)
			}
			return time.Duration(n) * time.Second, true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(at.Sub(now), 0), true
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if n, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil && n > 0 {
			return max(time.Unix(n, 0).Sub(now), 0), true
		}
	}
	return 0, false
}

// rateLimited reports whether a 403 is a rate limit rather than a denial.
func rateLimited(resp *http.Response) bool {
	return resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-RateLimit-Remaining") == "0"
}

// permanent reports whether a transport error will not go away by retrying.
func permanent(err error) bool {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknownCA) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verify)
}

// replayable reports whether req may be sent more than once.
func replayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	if ok, _ := req.Context().Value(allowRetryKey{}).(bool); ok {
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

// rewind returns a copy of req with a fresh body for another attempt.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("replay request body: %w", err)
	}
	r.Body = body
	return r, nil
}

// acquire takes a concurrency slot; release is nil when there is no limit.
func (t *Transport) acquire(ctx context.Context) (release func(), err error) {
	if t.Limit <= 0 {
		return nil, nil
	}
	t.semOnce.Do(func() { t.sem = make(chan struct{}, t.Limit) })
	select {
	case t.sem <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-t.sem }) }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

func (t *Transport) maxAttempts() int {
	if t.MaxAttempts > 0 {
		return t.MaxAttempts
	}
	return DefaultMaxAttempts
}

func (t *Transport) maxRetryAfter() time.Duration {
	if t.MaxRetryAfter > 0 {
		return t.MaxRetryAfter
	}
	return DefaultMaxRetryAfter
}

func (t *Transport) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Transport) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits d or until ctx is done, and then returns ctx.Err() if ctx is
// done. It is the default Transport.Sleep.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// releasingBody frees a concurrency slot when the body is closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// discard reads a little of a response body, so that the connection can be
// reused, and closes it.
func discard(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, drainLimit)
	_ = body.Close()
}

// closeBody closes a request body that will not be handed to the base
// transport (which would close it), as the RoundTripper contract requires.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
