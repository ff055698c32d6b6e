package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// env is a server on a fresh database with a test clock and captured
// logs. Every JSON answer it receives is validated against openapi.json.
type env struct {
	t     testing.TB
	db    *queries.DB
	srv   *Server
	store *ingest.Store
	eng   *metrics.Engine
	clk   *clock
	logs  *syncBuffer
	cfg   Config
}

// testNow is the test clock's start: after 2026-Q3, before real today.
var testNow = time.Date(2026, 10, 15, 12, 0, 0, 0, time.UTC)

func newEnv(t testing.TB, adjust func(*Config)) *env {
	t.Helper()
	db := chtest.New(t)
	return newEnvDB(t, db, adjust)
}

func newEnvDB(t testing.TB, db *queries.DB, adjust func(*Config)) *env {
	t.Helper()
	return newEnvMetrics(t, db, adjust, metrics.Config{})
}

func newEnvMetrics(t testing.TB, db *queries.DB, adjust func(*Config), mcfg metrics.Config) *env {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := &clock{t: testNow}
	eng, err := metrics.New(db, mcfg, log)
	if err != nil {
		t.Fatal(err)
	}
	eng.Now = clk.Now
	store := ingest.NewStore(db, log)
	store.Now = func() time.Time { return clk.Now().UTC() }
	cfg := Defaults()
	cfg.TokenCacheTTL = 200 * time.Millisecond
	cfg.AuditFlushInterval = 50 * time.Millisecond
	cfg.RateLimit, cfg.RateBurst = 1000, 1000
	if adjust != nil {
		adjust(&cfg)
	}
	if errs := cfg.Check("server"); len(errs) > 0 {
		t.Fatal(errs)
	}
	srv, err := New(cfg, log, nil, WithClock(clk.Now), WithBackend(Backend{DB: db, Metrics: eng, Store: store}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &env{t: t, db: db, srv: srv, store: store, eng: eng, clk: clk, logs: logs, cfg: cfg}
}

// token creates a token and returns its secret.
func (e *env) token(name string, teams []string, scopes ...Scope) string {
	e.t.Helper()
	secret, _, err := CreateToken(context.Background(), e.db, name, scopes, teams, time.Time{})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// resp is a recorded answer.
type resp struct {
	*httptest.ResponseRecorder
	body []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r resp) problem(t testing.TB) Problem {
	t.Helper()
	var p Problem
	r.json(t, &p)
	return p
}

// req is a request to send.
type req struct {
	method, path, token string
	body                []byte
	header              map[string]string
}

// do sends a request through the real handler and validates a JSON answer
// against the OpenAPI document.
func (e *env) do(r req) resp {
	e.t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	hr.RemoteAddr = "192.0.2.10:1234"
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.body != nil && r.header["Content-Type"] == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, hr)
	out := resp{ResponseRecorder: w, body: w.Body.Bytes()}
	if skipValidation {
		return out
	}
	plain := out.body
	if w.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(out.body))
		if err != nil {
			e.t.Fatalf("gzip answer: %v", err)
		}
		if plain, err = io.ReadAll(zr); err != nil {
			e.t.Fatalf("gzip answer: %v", err)
		}
	}
	validateResponse(e.t, r.method, hr.URL.Path, w.Code, w.Header().Get("Content-Type"), plain)
	return out
}

func (e *env) get(path, token string) resp { e.t.Helper(); return e.do(req{path: path, token: token}) }

// want fails unless r has status code.
func want(t testing.TB, r resp, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d: %s", r.Code, code, r.body)
	}
}

// lastError returns the last logged internal error, for failure messages.
func (e *env) lastError() string {
	lines := strings.Split(e.logs.String(), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], `"level":"ERROR"`) {
			return lines[i]
		}
	}
	return ""
}

var skipValidation bool

// --- OpenAPI validation -------------------------------------------------

var (
	specOnce sync.Once
	specErr  error
	specDoc  map[string]any
	compiler *jsonschema.Compiler
	schemas  sync.Map // pointer -> *jsonschema.Schema
	specOps  []specOp
)

type specOp struct {
	method string
	re     *regexp.Regexp
	path   string
	op     map[string]any
}

func loadSpec() {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(openapiDoc))
	if err != nil {
		specErr = err
		return
	}
	specDoc = doc.(map[string]any)
	compiler = jsonschema.NewCompiler()
	compiler.DefaultDraft(jsonschema.Draft2020)
	if err := compiler.AddResource("openapi.json", doc); err != nil {
		specErr = err
		return
	}
	paths, _ := specDoc["paths"].(map[string]any)
	for p, item := range paths {
		re := regexp.MustCompile("^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$")
		for m, op := range item.(map[string]any) {
			if o, ok := op.(map[string]any); ok {
				specOps = append(specOps, specOp{method: strings.ToUpper(m), re: re, path: p, op: o})
			}
		}
	}
}

// jsonPointerEscape escapes a JSON pointer token.
func jsonPointerEscape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// validateResponse checks a JSON or problem answer against the schema of
// its operation and status in openapi.json; an operation or status the
// document lacks is a failure.
func validateResponse(t testing.TB, method, path string, code int, ctype string, body []byte) {
	t.Helper()
	specOnce.Do(loadSpec)
	if specErr != nil {
		t.Fatalf("openapi.json: %v", specErr)
	}
	mt := strings.TrimSpace(strings.Split(ctype, ";")[0])
	if mt != "application/json" && mt != "application/problem+json" {
		return
	}
	if (code == 404 || code == 405) && mt == "application/problem+json" {
		// unmatched routes and methods: the generic problem schema
		if err := validatePointer("#/components/schemas/Problem", body); err != nil {
			t.Fatalf("%s %s %d: %v\n%s", method, path, code, err, body)
		}
		return
	}
	var op specOp
	found := false
	for _, o := range specOps {
		if o.method == method && o.re.MatchString(path) {
			if !found || len(o.path) > len(op.path) {
				op, found = o, true
			}
		}
	}
	if !found {
		t.Fatalf("openapi.json has no operation %s %s", method, path)
	}
	responses, _ := op.op["responses"].(map[string]any)
	key := fmt.Sprint(code)
	r, ok := responses[key]
	if !ok {
		key = "default"
		if r, ok = responses[key]; !ok {
			t.Fatalf("openapi.json: %s %s has no response %d", method, op.path, code)
		}
	}
	rm := r.(map[string]any)
	if ref, ok := rm["$ref"].(string); ok { // components/responses
		name := strings.TrimPrefix(ref, "#/components/responses/")
		rm = specDoc["components"].(map[string]any)["responses"].(map[string]any)[name].(map[string]any)
		ptr := ref + "/content/" + jsonPointerEscape(string(mt)) + "/schema"
		if _, ok := rm["content"].(map[string]any)[string(mt)]; !ok {
			t.Fatalf("openapi.json: %s %s %d: no %s content", method, op.path, code, mt)
		}
		if err := validatePointer(ptr, body); err != nil {
			t.Fatalf("%s %s %d: %v\n%s", method, path, code, err, body)
		}
		return
	}
	content, _ := rm["content"].(map[string]any)
	if _, ok := content[string(mt)]; !ok {
		t.Fatalf("openapi.json: %s %s %d: no %s content", method, op.path, code, mt)
	}
	ptr := "#/paths/" + jsonPointerEscape(op.path) + "/" + strings.ToLower(method) + "/responses/" + key + "/content/" + jsonPointerEscape(string(mt)) + "/schema"
	if err := validatePointer(ptr, body); err != nil {
		t.Fatalf("%s %s %d: %v\n%s", method, path, code, err, body)
	}
}

func validatePointer(ptr string, body []byte) error {
	var sch *jsonschema.Schema
	if v, ok := schemas.Load(ptr); ok {
		sch = v.(*jsonschema.Schema)
	} else {
		var err error
		if sch, err = compiler.Compile("openapi.json" + ptr); err != nil {
			return fmt.Errorf("compile %s: %w", ptr, err)
		}
		schemas.Store(ptr, sch)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sch.Validate(v)
}

type ginContext = gin.Context

// httptestDo sends a request to srv without OpenAPI validation.
func httptestDo(srv *Server, method, path, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, r)
	return w
}

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
