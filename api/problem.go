package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/gin-gonic/gin"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries"
)

// Code is a stable, machine-readable problem code. Each code has one HTTP
// status and one problem type URI (TypePrefix + code); clients switch on
// these, never on titles or details.
type Code string

// The problem codes (docs/api.md, "Errors").
const (
	CodeInvalidParameter Code = "invalid_parameter"  // 400: a query or path parameter is malformed
	CodeInvalidBody      Code = "invalid_body"       // 400: the JSON body is malformed or incomplete
	CodeInvalidReport    Code = "invalid_report"     // 400: an uploaded report is malformed; nothing was written
	CodeUnauthenticated  Code = "unauthenticated"    // 401: missing, invalid, expired or revoked token
	CodeForbidden        Code = "forbidden"          // 403: the token lacks the scope the route needs
	CodeNotFound         Code = "not_found"          // 404: no such route or item (or not visible to the token)
	CodeMethodNotAllowed Code = "method_not_allowed" // 405
	CodeNotAcceptable    Code = "not_acceptable"     // 406: no representation the client accepts
	CodeTooLarge         Code = "payload_too_large"  // 413: the body exceeds its limit
	CodeUnsupportedMedia Code = "unsupported_media"  // 415: the body's media type or encoding is not accepted
	CodeRateLimited      Code = "rate_limited"       // 429: too many requests; see Retry-After
	CodeInternal         Code = "internal"           // 500: the cause is logged, never shown
	CodeUnavailable      Code = "unavailable"        // 503: a dependency is down or the feature is not configured
	CodeTimeout          Code = "timeout"            // 503: the computation took too long
)

// TypePrefix prefixes a Code to form a problem's type URI.
const TypePrefix = "urn:secmetrics:problem:"

var codeStatus = map[Code]int{
	CodeInvalidParameter: http.StatusBadRequest,
	CodeInvalidBody:      http.StatusBadRequest,
	CodeInvalidReport:    http.StatusBadRequest,
	CodeUnauthenticated:  http.StatusUnauthorized,
	CodeForbidden:        http.StatusForbidden,
	CodeNotFound:         http.StatusNotFound,
	CodeMethodNotAllowed: http.StatusMethodNotAllowed,
	CodeNotAcceptable:    http.StatusNotAcceptable,
	CodeTooLarge:         http.StatusRequestEntityTooLarge,
	CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
	CodeRateLimited:      http.StatusTooManyRequests,
	CodeInternal:         http.StatusInternalServerError,
	CodeUnavailable:      http.StatusServiceUnavailable,
	CodeTimeout:          http.StatusServiceUnavailable,
}

var codeTitle = map[Code]string{
	CodeInvalidParameter: "invalid parameter",
	CodeInvalidBody:      "invalid request body",
	CodeInvalidReport:    "invalid report",
	CodeUnauthenticated:  "authentication required",
	CodeForbidden:        "forbidden",
	CodeNotFound:         "not found",
	CodeMethodNotAllowed: "method not allowed",
	CodeNotAcceptable:    "not acceptable",
	CodeTooLarge:         "payload too large",
	CodeUnsupportedMedia: "unsupported media type",
	CodeRateLimited:      "too many requests",
	CodeInternal:         "internal error",
	CodeUnavailable:      "service unavailable",
	CodeTimeout:          "request timed out",
}

// Problem is an RFC 9457 problem detail, served as
// application/problem+json. Param names the offending parameter (a query
// or path parameter, a body field, or a report location) when there is
// one.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      Code   `json:"code"`
	Param     string `json:"param,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// Error is an error a handler returns to be shown to the client as is:
// its Detail must hold nothing internal.
type Error struct {
	Code   Code
	Param  string
	Detail string
}

func (e *Error) Error() string {
	if e.Param != "" {
		return string(e.Code) + ": " + e.Param + ": " + e.Detail
	}
	return string(e.Code) + ": " + e.Detail
}

func errParam(param, detail string) error {
	return &Error{Code: CodeInvalidParameter, Param: param, Detail: detail}
}

func errBody(param, detail string) error {
	return &Error{Code: CodeInvalidBody, Param: param, Detail: detail}
}

// errNotFound is the one answer for an item that does not exist and for
// one outside the token's team scope: the two are indistinguishable.
var errNotFound = &Error{Code: CodeNotFound, Detail: "no such item"}

// metricsParams maps metrics.InputError fields to the API's parameter
// names.
var metricsParams = map[string]string{"kpi": "id", "filter": "filter"}

// ClickHouse error codes that mean "busy" or "too slow", not "broken".
const (
	chTimeout        = 159
	chTooManyQueries = 202
	chMemoryLimit    = 241
)

const busyDetail = "the server is busy; retry after the number of seconds in Retry-After"

// problemFor maps an error to the problem shown to the client and reports
// whether it is internal (to be logged with its cause).
func problemFor(err error) (Problem, bool) {
	var ae *Error
	var ie *metrics.InputError
	var fe *ingest.FormatError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return newProblem(ae.Code, ae.Param, ae.Detail), false
	case errors.As(err, &ie):
		p := ie.Field
		if m, ok := metricsParams[p]; ok {
			p = m
		}
		return newProblem(CodeInvalidParameter, p, ie.Message), false
	case errors.As(err, &fe):
		// Only the parser's own fields: the wrapping text carries the
		// upload's name and nothing the client needs.
		detail := fe.Msg
		if fe.Format != "" {
			detail = fe.Format + ": " + detail
		}
		param := fe.Path
		if param == "" && fe.Offset > 0 {
			param = "byte " + itoa(fe.Offset)
		}
		return newProblem(CodeInvalidReport, param, detail), false
	case errors.As(err, &mbe):
		return newProblem(CodeTooLarge, "body", "the request body exceeds "+itoa(mbe.Limit)+" bytes"), false
	case errors.Is(err, ingest.ErrNotFound):
		return newProblem(CodeNotFound, "", errNotFound.Detail), false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), queries.IsCode(err, chTimeout):
		// os.ErrDeadlineExceeded: the driver reports the request's deadline
		// reached while reading from ClickHouse as a network i/o timeout.
		return newProblem(CodeTimeout, "", "the request took too long; narrow the period or filters"), true
	case errors.Is(err, clickhouse.ErrAcquireConnTimeout), queries.IsCode(err, chTooManyQueries), queries.IsCode(err, chMemoryLimit):
		return newProblem(CodeUnavailable, "", busyDetail), true
	}
	return newProblem(CodeInternal, "", ""), true
}

func newProblem(code Code, param, detail string) Problem {
	return Problem{Type: TypePrefix + string(code), Title: codeTitle[code], Status: codeStatus[code], Code: code, Param: param, Detail: detail}
}

// fail answers c with the problem for err. An internal error is logged
// once here, with the request id, and shown only as "internal error". A
// request whose client went away is not answered.
func (s *Server) fail(c *gin.Context, err error) {
	if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
		c.Abort()
		c.Status(499) // client closed the request; nothing is written
		return
	}
	p, internal := problemFor(err)
	if internal {
		s.log.Error("request failed", "route", c.FullPath(), "request_id", requestID(c), "err", err)
	}
	if p.Detail == busyDetail {
		c.Header("Retry-After", "2")
	}
	s.problem(c, p)
}

// problem writes p as application/problem+json and aborts the chain.
func (s *Server) problem(c *gin.Context, p Problem) {
	p.RequestID = requestID(c)
	b, err := json.Marshal(p)
	if err != nil { // cannot happen: every field is a string or int
		b = []byte(`{"type":"` + TypePrefix + `internal","title":"internal error","status":500,"code":"internal"}`)
	}
	if p.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="secmetrics"`)
	}
	c.Abort()
	c.Data(p.Status, "application/problem+json", b)
}

func (s *Server) failCode(c *gin.Context, code Code, param, detail string) {
	s.problem(c, newProblem(code, param, detail))
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// clip shortens user text echoed in a problem detail.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
