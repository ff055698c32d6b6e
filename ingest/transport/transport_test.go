package transport

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sleeper records the waits a Transport asks for instead of sleeping.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

// script serves the given statuses in order (with headers), then 200 "ok".
type step struct {
	status int
	header map[string]string
}

func scripted(t *testing.T, steps ...step) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(hits.Add(1)) - 1
		if n < len(steps) {
			for k, v := range steps[n].header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(steps[n].status)
			io.WriteString(w, "try again")
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func get(t *testing.T, tr *Transport, u string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return (&http.Client{Transport: tr}).Do(req)
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func half() float64 { return 0.5 }

func TestRetries(t *testing.T) {
	now := time.Date(2025, 8, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		steps     []step
		tr        func(*Transport) // adjusts the defaults
		wantWaits []time.Duration
		wantCode  int
		wantHits  int32
	}{{
		name:      "429 Retry-After seconds",
		steps:     []step{{429, map[string]string{"Retry-After": "2"}}},
		wantWaits: []time.Duration{2 * time.Second},
		wantCode:  200, wantHits: 2,
	}, {
		name:      "503 Retry-After HTTP-date",
		steps:     []step{{503, map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}}},
		wantWaits: []time.Duration{90 * time.Second},
		wantCode:  200, wantHits: 2,
	}, {
		name:      "Retry-After date in the past retries at once",
		steps:     []step{{429, map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}}},
		wantWaits: []time.Duration{0},
		wantCode:  200, wantHits: 2,
	}, {
		name:      "429 without Retry-After backs off",
		steps:     []step{{429, nil}},
		wantWaits: []time.Duration{250 * time.Millisecond},
		wantCode:  200, wantHits: 2,
	}, {
		name:      "unparsable Retry-After backs off",
		steps:     []step{{503, map[string]string{"Retry-After": "soon"}}},
		wantWaits: []time.Duration{250 * time.Millisecond},
		wantCode:  200, wantHits: 2,
	}, {
		name:      "500 then 200",
		steps:     []step{{500, nil}},
		wantWaits: []time.Duration{250 * time.Millisecond},
		wantCode:  200, wantHits: 2,
	}, {
		name:      "502 504 502 then 200: exponential",
		steps:     []step{{502, nil}, {504, nil}, {502, nil}},
		wantWaits: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second},
		wantCode:  200, wantHits: 4,
	}, {
		name:      "back-off capped by MaxDelay",
		steps:     []step{{500, nil}, {500, nil}, {500, nil}, {500, nil}},
		tr:        func(t *Transport) { t.MaxAttempts = 5; t.BaseDelay = time.Second; t.MaxDelay = 3 * time.Second },
		wantWaits: []time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 1500 * time.Millisecond},
		wantCode:  200, wantHits: 5,
	}, {
		name:      "503 storm exceeds attempts: last response returned",
		steps:     []step{{503, nil}, {503, nil}, {503, nil}, {503, nil}, {503, nil}, {503, nil}},
		tr:        func(t *Transport) { t.MaxAttempts = 3 },
		wantWaits: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond},
		wantCode:  503, wantHits: 3,
	}, {
		name:      "Retry-After beyond MaxRetryAfter is not waited for",
		steps:     []step{{429, map[string]string{"Retry-After": "3600"}}},
		tr:        func(t *Transport) { t.MaxRetryAfter = time.Minute },
		wantWaits: nil,
		wantCode:  429, wantHits: 1,
	}, {
		name: "GitHub primary rate limit: 403 with X-RateLimit-Reset",
		steps: []step{{403, map[string]string{
			"X-RateLimit-Remaining": "0",
			"X-RateLimit-Reset":     strconv.FormatInt(now.Add(40*time.Second).Unix(), 10),
		}}},
		wantWaits: []time.Duration{40 * time.Second},
		wantCode:  200, wantHits: 2,
	}, {
		name:      "GitHub secondary rate limit: 403 with Retry-After",
		steps:     []step{{403, map[string]string{"Retry-After": "60"}}},
		wantWaits: []time.Duration{time.Minute},
		wantCode:  200, wantHits: 2,
	}, {
		name:     "plain 403 is not retried",
		steps:    []step{{403, nil}},
		wantCode: 403, wantHits: 1,
	}, {
		name:     "404 is not retried",
		steps:    []step{{404, nil}},
		wantCode: 404, wantHits: 1,
	}, {
		name:     "501 is not retried",
		steps:    []step{{501, nil}},
		wantCode: 501, wantHits: 1,
	}, {
		name:     "MaxAttempts 1 disables retries",
		steps:    []step{{503, map[string]string{"Retry-After": "1"}}},
		tr:       func(t *Transport) { t.MaxAttempts = 1 },
		wantCode: 503, wantHits: 1,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, hits := scripted(t, tc.steps...)
			var s sleeper
			tr := &Transport{Sleep: s.sleep, Rand: half, Now: func() time.Time { return now }}
			if tc.tr != nil {
				tc.tr(tr)
			}
			resp, err := get(t, tr, srv.URL+"/x")
			if err != nil {
				t.Fatal(err)
			}
			body(t, resp)
			if resp.StatusCode != tc.wantCode {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantCode)
			}
			if got := hits.Load(); got != tc.wantHits {
				t.Errorf("server hits = %d, want %d", got, tc.wantHits)
			}
			if diff := cmp.Diff(tc.wantWaits, s.waits); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJitterIsFull(t *testing.T) {
	tr := Transport{BaseDelay: time.Second, MaxDelay: time.Minute}
	for _, tc := range []struct {
		r       float64
		attempt int
		want    time.Duration
	}{
		{0, 1, 0},
		{0.999, 1, 999 * time.Millisecond},
		{0.25, 3, time.Second},
		{0.5, 20, 30 * time.Second}, // capped at MaxDelay before jitter
	} {
		tr.Rand = func() float64 { return tc.r }
		if got := tr.backoff(tc.attempt); got != tc.want {
			t.Errorf("backoff(attempt %d, rand %v) = %s, want %s", tc.attempt, tc.r, got, tc.want)
		}
	}
}

func TestContextCancelDuringWait(t *testing.T) {
	srv, hits := scripted(t, step{429, map[string]string{"Retry-After": "30"}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	start := time.Now()
	_, err := (&http.Client{Transport: &Transport{}}).Do(req) // the real Sleep
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %s, want promptly after cancel", d)
	}
	if hits.Load() != 1 {
		t.Errorf("server hits = %d, want 1", hits.Load())
	}
}

func TestSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on cancelled ctx = %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep = %v", err)
	}
}

func TestPOST(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		n := len(bodies)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	const q = `{"query":"severity:high"}`

	for _, tc := range []struct {
		name      string
		ctx       context.Context
		header    string
		body      io.Reader
		wantCode  int
		wantCalls int
	}{
		{"not retried by default", context.Background(), "", strings.NewReader(q), 503, 1},
		{"retried when opted in", AllowRetry(context.Background()), "", strings.NewReader(q), 200, 2},
		{"retried with Idempotency-Key", context.Background(), "k-1", strings.NewReader(q), 200, 2},
		{"opted in but body not replayable", AllowRetry(context.Background()), "", io.MultiReader(strings.NewReader(q)), 503, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bodies = nil
			var s sleeper
			req, _ := http.NewRequestWithContext(tc.ctx, http.MethodPost, srv.URL, tc.body)
			if tc.header != "" {
				req.Header.Set("Idempotency-Key", tc.header)
			}
			resp, err := (&http.Client{Transport: &Transport{Sleep: s.sleep, Rand: half}}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body(t, resp)
			if resp.StatusCode != tc.wantCode {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantCode)
			}
			if len(bodies) != tc.wantCalls {
				t.Fatalf("calls = %d, want %d", len(bodies), tc.wantCalls)
			}
			for i, b := range bodies {
				if b != q {
					t.Errorf("attempt %d sent body %q, want %q", i+1, b, q)
				}
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func okResponse(r *http.Request) *http.Response {
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok")), Header: http.Header{}, Request: r}
}

func TestTransportErrors(t *testing.T) {
	reset := errors.New("connection reset by peer")
	t.Run("retried then succeeds", func(t *testing.T) {
		calls := 0
		var s sleeper
		tr := &Transport{Sleep: s.sleep, Rand: half, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			calls++
			if calls < 3 {
				return nil, reset
			}
			return okResponse(r), nil
		})}
		resp, err := get(t, tr, "https://api.example.com/x")
		if err != nil {
			t.Fatal(err)
		}
		body(t, resp)
		if calls != 3 || len(s.waits) != 2 {
			t.Errorf("calls = %d, waits = %v; want 3 calls, 2 waits", calls, s.waits)
		}
	})
	t.Run("gives up after MaxAttempts", func(t *testing.T) {
		calls := 0
		var s sleeper
		tr := &Transport{MaxAttempts: 4, Sleep: s.sleep, Rand: half, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			calls++
			return nil, reset
		})}
		_, err := get(t, tr, "https://api.example.com/x?api_key=hunter2")
		if !errors.Is(err, reset) {
			t.Fatalf("err = %v, want it to wrap %v", err, reset)
		}
		if calls != 4 {
			t.Errorf("calls = %d, want 4", calls)
		}
		if !strings.Contains(err.Error(), "after 4 attempts") {
			t.Errorf("err = %q, want the attempt count", err)
		}
	})
	t.Run("certificate errors are not retried", func(t *testing.T) {
		calls := 0
		tr := &Transport{Sleep: (&sleeper{}).sleep, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			calls++
			return nil, x509.UnknownAuthorityError{}
		})}
		if _, err := get(t, tr, "https://api.example.com/x"); err == nil {
			t.Fatal("want an error")
		}
		if calls != 1 {
			t.Errorf("calls = %d, want 1", calls)
		}
	})
}

func TestLimit(t *testing.T) {
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	tr := &Transport{Limit: 2}
	hc := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Get(srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	// Let the first requests arrive, then let them all finish one by one.
	deadline := time.Now().Add(5 * time.Second)
	for inFlight.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a third request would arrive now if the limit leaked
	close(release)
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency = %d, want 2", p)
	}

	// A request waiting for a slot gives up when its context ends.
	tr2 := &Transport{Limit: 1}
	held, err := get(t, tr2, srv.URL) // release is closed: answers at once
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if _, err := (&http.Client{Transport: tr2}).Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for a slot: err = %v, want DeadlineExceeded", err)
	}
	body(t, held) // closing the body frees the slot
	if resp, err := get(t, tr2, srv.URL); err != nil {
		t.Errorf("after the slot was freed: %v", err)
	} else {
		body(t, resp)
	}
}

func TestCheck(t *testing.T) {
	const token = "ghp_s3cr3tT0kenValue"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		if code == 429 {
			w.Header().Set("Retry-After", "3600")
		}
		w.WriteHeader(code)
		// A server that echoes the credential back must not leak it.
		io.WriteString(w, `{"message":"Bad credentials","echo":"`+r.Header.Get("Authorization")+`"}`)
	}))
	defer srv.Close()

	for _, tc := range []struct {
		code     int
		class    error
		wantText string
	}{
		{401, ErrUnauthorized, "401 Unauthorized: github.token was rejected"},
		{403, ErrForbidden, "403 Forbidden: github.token is not permitted"},
		{404, ErrNotFound, "404 Not Found: {"},
		{429, ErrRateLimited, "rate limited, server asks to retry after 1h0m0s"},
		{500, nil, "500 Internal Server Error"},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/repos/o/r/alerts?per_page=100&code="+strconv.Itoa(tc.code)+"&access_token="+token, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := (&http.Client{Transport: &Transport{MaxAttempts: 1}}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			err = Check(resp, "github.token")
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("Check = %v, want *StatusError", err)
			}
			if se.Status != tc.code {
				t.Errorf("Status = %d, want %d", se.Status, tc.code)
			}
			for _, class := range []error{ErrUnauthorized, ErrForbidden, ErrNotFound, ErrRateLimited} {
				if got, want := errors.Is(err, class), class == tc.class; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v", class, got, want)
				}
			}
			msg := err.Error()
			if strings.Contains(msg, token) || strings.Contains(msg, "s3cr3t") {
				t.Errorf("error leaks the token: %s", msg)
			}
			if !strings.Contains(msg, tc.wantText) {
				t.Errorf("error = %q, want it to contain %q", msg, tc.wantText)
			}
			wantURL := srv.URL + "/repos/o/r/alerts?access_token=REDACTED&code=REDACTED&per_page=100"
			if se.URL != wantURL || !strings.Contains(msg, "GET "+wantURL) {
				t.Errorf("URL = %q, want %q in the message %q", se.URL, wantURL, msg)
			}
			if !strings.Contains(se.Body, "Bad credentials") || !strings.Contains(se.Body, `"echo":"REDACTED"`) {
				t.Errorf("Body = %q, want the server's message with the credential removed", se.Body)
			}
		})
	}

	resp := &http.Response{StatusCode: 204, Body: http.NoBody}
	if err := Check(resp, "x"); err != nil {
		t.Errorf("Check(204) = %v", err)
	}
}

func TestSnippet(t *testing.T) {
	h := http.Header{}
	h.Set("Authorization", "Basic dXNlcjpwYXNzdzByZA==") // user:passw0rd
	h.Set("X-Api-Key", "k3y-value")
	req := &http.Request{Header: h}
	got := snippet([]byte("pw passw0rd key k3y-value\x00\n"+strings.Repeat("é", 400)), req)
	if strings.Contains(got, "passw0rd") || strings.Contains(got, "k3y-value") {
		t.Errorf("snippet leaks: %q", got)
	}
	if !strings.HasPrefix(got, "pw REDACTED key REDACTED") {
		t.Errorf("snippet = %q", got[:40])
	}
	if len(got) > snippetLen+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("snippet len %d, want cut at %d with an ellipsis", len(got), snippetLen)
	}
	if !utf8Valid(got) {
		t.Errorf("snippet is not valid UTF-8")
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "!") == s }

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@api.github.com/orgs/o/dependabot/alerts?per_page=100&after=Y3Vy#frag": "https://api.github.com/orgs/o/dependabot/alerts?after=Y3Vy&per_page=100",
		"https://splunk.example.com:8089/services/search?output_mode=json&token=abc":           "https://splunk.example.com:8089/services/search?output_mode=REDACTED&token=REDACTED",
		"https://x.example.com/p?%zz": "https://x.example.com/p?REDACTED",
		"https://x.example.com/p":     "https://x.example.com/p",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := RedactURL(u); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadLimited(t *testing.T) {
	for _, tc := range []struct {
		n, max  int
		tooLong bool
	}{{0, 0, false}, {10, 10, false}, {11, 10, true}, {1 << 20, 1000, true}, {5, 10, false}} {
		data := bytes.Repeat([]byte("a"), tc.n)
		got, err := ReadLimited(bytes.NewReader(data), int64(tc.max))
		if tc.tooLong {
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("ReadLimited(%d bytes, max %d) err = %v, want ErrTooLarge", tc.n, tc.max, err)
			}
			continue
		}
		if err != nil || len(got) != tc.n {
			t.Errorf("ReadLimited(%d bytes, max %d) = %d bytes, %v", tc.n, tc.max, len(got), err)
		}
	}
	// The error surfaces through a streaming reader too.
	_, err := io.Copy(io.Discard, LimitReader(iotest.OneByteReader(bytes.NewReader(make([]byte, 100))), 99))
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("LimitReader: err = %v, want ErrTooLarge", err)
	}
}
