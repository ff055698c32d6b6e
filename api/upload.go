package api

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/gin-gonic/gin"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/generic"
	"github.com/secmetrics/secmetrics/ingest/report"
	"github.com/secmetrics/secmetrics/ingest/transport"
	"github.com/secmetrics/secmetrics/queries"
)

// DetectReport is the default Detector: ingest/report's detection (exactly
// one format must claim a report).
func DetectReport(head []byte) (ingest.Parser, string, error) {
	f, err := report.Detect(head)
	if err != nil {
		return nil, "", err
	}
	return f.Parser, f.Name, nil
}

// detectSize is how much of an upload's head the detector sees.
const detectSize = 64 << 10

// maxAssetsPerReport bounds the distinct assets one report may name.
const maxAssetsPerReport = 10000

// errOutOfScope refuses an upload that would write data of a team the
// token may not see.
var errOutOfScope = &Error{Code: CodeForbidden, Param: "asset", Detail: "the report writes data of a team outside this token's teams"}

var scanParams = []string{"asset", "scanner", "branch", "time", "kind", "name", "format"}

// scanMeta reads one upload metadata field from the query (name) or its
// header (X-Scan-<Name>); giving both with different values is an error.
func scanMeta(c *gin.Context, name string) (string, error) {
	q, err := oneParam(c, name)
	if err != nil {
		return "", err
	}
	hname := "X-Scan-" + strings.ToUpper(name[:1]) + name[1:]
	h := strings.TrimSpace(c.GetHeader(hname))
	if h != "" {
		if err := textValue(hname, h); err != nil {
			return "", err
		}
	}
	switch {
	case q != "" && h != "" && q != h:
		return "", errParam(name, "given in the query and in "+hname+" with different values")
	case q != "":
		return strings.TrimSpace(q), nil
	}
	return h, nil
}

// scans answers POST /api/v1/scans: one scanner report, raw or gzip
// (Content-Encoding: gzip, or detected by its magic bytes), with metadata
// in the query or X-Scan-* headers. The report is parsed whole before
// anything is written: a bad report is a 400 naming where it is wrong and
// writes nothing.
func (s *Server) scans(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	if err := checkParams(c, scanParams...); err != nil {
		s.fail(c, err)
		return
	}
	if s.b.Store == nil {
		s.failCode(c, CodeUnavailable, "", "report ingest is not configured on this server")
		return
	}
	meta := map[string]string{}
	for _, k := range scanParams {
		v, err := scanMeta(c, k)
		if err != nil {
			s.fail(c, err)
			return
		}
		meta[k] = v
	}
	in := ingest.ScanInput{Name: "upload", Asset: meta["asset"], Scanner: meta["scanner"], Branch: meta["branch"]}
	if meta["name"] != "" {
		in.Name = meta["name"]
	}
	if v := meta["time"]; v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil || t.Before(minTime) {
			s.fail(c, errParam("time", "want an RFC 3339 time after 1970"))
			return
		}
		if t.After(s.now().Add(time.Hour)) {
			s.fail(c, errParam("time", "the scan time is in the future"))
			return
		}
		in.Time = t.UTC()
	}
	if v := meta["kind"]; v != "" {
		for _, k := range strings.Split(v, ",") {
			kind, err := ingest.ParseKind(strings.TrimSpace(k))
			if err != nil {
				s.fail(c, errParam("kind", fmt.Sprintf("%q: want one of %s", clip(k, 32), strings.Join(scanKinds, ", "))))
				return
			}
			in.Kinds = append(in.Kinds, kind)
		}
	}
	body, err := s.uploadBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	br := bufio.NewReaderSize(body, detectSize)
	head, err := br.Peek(detectSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		s.fail(c, uploadErr(err))
		return
	}
	if len(bytes.TrimSpace(head)) == 0 {
		s.fail(c, &Error{Code: CodeInvalidReport, Param: "body", Detail: "the report is empty"})
		return
	}
	var parser ingest.Parser
	var format string
	if name := meta["format"]; name != "" {
		// An explicit format skips detection: a clean Gitleaks run ("[]")
		// is claimed by no detector, and its scan must still be recorded.
		f, err := report.Lookup(name)
		if err != nil {
			s.fail(c, errParam("format", clip(err.Error(), 300)))
			return
		}
		parser, format = f.Parser, f.Name
	} else {
		detect := s.b.Detect
		if detect == nil {
			detect = DetectReport
		}
		parser, format, err = detect(head)
		if err != nil {
			s.prom.scan("rejected", 0, 0, 0, 0)
			s.fail(c, &Error{Code: CodeInvalidReport, Param: "body", Detail: clip(err.Error(), 500)})
			return
		}
	}
	in.Parser = &checkedParser{inner: parser, format: format, s: s, p: principalOf(c), ctx: ctx, meta: in}
	in.Format, in.Body = format, br
	sum, err := s.b.Store.IngestScan(ctx, in)
	if err != nil {
		err = uploadErr(err)
		p, _ := problemFor(err)
		res := "failed"
		if p.Status < 500 {
			res = "rejected"
		}
		s.prom.scan(res, 0, 0, 0, 0)
		s.fail(c, err)
		return
	}
	res := "ok"
	if sum.Duplicate {
		res = "duplicate"
	}
	s.prom.scan(res, sum.New, sum.Fixed, sum.Reopened, sum.Unchanged)
	s.version.invalidate()
	s.writeJSON(c, http.StatusOK, sum)
}

// uploadErr maps what reading a report can fail with: a truncated stream
// is a bad report, not an internal error.
func uploadErr(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Code: CodeInvalidReport, Param: "body", Detail: "the report is truncated"}
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
		return &Error{Code: CodeInvalidReport, Param: "body", Detail: "the gzip stream is corrupt"}
	}
	return err
}

// uploadBody returns the request body, decompressed when gzip, bounded to
// MaxUploadBytes before and after decompression.
func (s *Server) uploadBody(c *gin.Context) (io.Reader, error) {
	limit := s.cfg.MaxUploadBytes
	if c.Request.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	raw := http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	br := bufio.NewReader(raw)
	enc := strings.ToLower(strings.TrimSpace(c.GetHeader("Content-Encoding")))
	switch enc {
	case "", "identity":
		magic, _ := br.Peek(2)
		if !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
			return br, nil
		}
	case "gzip", "x-gzip":
	default:
		return nil, &Error{Code: CodeUnsupportedMedia, Param: "Content-Encoding", Detail: "send the report raw or gzip-compressed"}
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Code: CodeInvalidReport, Param: "body", Detail: "the report is empty"}
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, &Error{Code: CodeInvalidReport, Param: "body", Detail: "not a gzip stream"}
	}
	return &limitedReader{r: zr, left: limit, limit: limit}, nil
}

// limitedReader fails with *http.MaxBytesError past limit bytes (a gzip
// bomb stops there).
type limitedReader struct {
	r           io.Reader
	left, limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, &http.MaxBytesError{Limit: l.limit}
	}
	if int64(len(p)) > l.left {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		n = int(l.left)
		l.left = 0
		return n, &http.MaxBytesError{Limit: l.limit}
	}
	l.left -= int64(n)
	return n, err
}

// checkedParser wraps the detected parser: it checks every finding as the
// store will (so a bad report is a 400, not a 500), requires a scanner
// name, and for a team-scoped token checks that every asset the report
// writes belongs to one of its teams. Its errors come before the store
// writes anything.
type checkedParser struct {
	inner  ingest.Parser
	format string
	s      *Server
	p      principal
	ctx    context.Context
	meta   ingest.ScanInput
}

func (cp *checkedParser) Parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error) (ingest.Scan, error) {
	assets := map[string]bool{}
	n := 0
	scan, err := cp.inner.Parse(ctx, r, func(f ingest.Finding) error {
		n++
		if f.Key == "" {
			return &ingest.FormatError{Format: cp.format, Path: fmt.Sprintf("finding %d", n), Msg: "no identity key"}
		}
		if !slices.Contains(ingest.Kinds, f.Kind) {
			return &ingest.FormatError{Format: cp.format, Path: fmt.Sprintf("finding %d", n), Msg: fmt.Sprintf("invalid kind %q", f.Kind)}
		}
		if f.Severity != "" && !slices.Contains(ingest.Severities, f.Severity) {
			return &ingest.FormatError{Format: cp.format, Path: fmt.Sprintf("finding %d", n), Msg: fmt.Sprintf("invalid severity %q", f.Severity)}
		}
		if f.Asset != "" && !assets[f.Asset] {
			if len(assets) >= maxAssetsPerReport {
				return &ingest.FormatError{Format: cp.format, Msg: fmt.Sprintf("more than %d assets in one report", maxAssetsPerReport)}
			}
			assets[f.Asset] = true
		}
		return emit(f)
	})
	if err != nil {
		return scan, err
	}
	if cp.meta.Scanner == "" && scan.Scanner == "" {
		return scan, &Error{Code: CodeInvalidParameter, Param: "scanner", Detail: "the report does not name its scanner: pass scanner= or X-Scan-Scanner"}
	}
	if cp.meta.Time.IsZero() && scan.Time.After(cp.s.now().Add(time.Hour)) {
		return scan, &ingest.FormatError{Format: cp.format, Msg: "the report's scan time is in the future"}
	}
	asset := cp.meta.Asset
	if asset == "" {
		asset = scan.Asset
	}
	if asset == "" && len(assets) == 0 {
		return scan, &Error{Code: CodeInvalidParameter, Param: "asset", Detail: "the report does not name its asset: pass asset= or X-Scan-Asset"}
	}
	if !cp.p.AllTeams {
		if asset != "" {
			assets[asset] = true
		}
		if err := cp.s.checkAssetTeams(cp.ctx, cp.p, assets); err != nil {
			return scan, err
		}
	}
	return scan, nil
}

// checkAssetTeams returns errOutOfScope unless every asset's team (its
// current inventory team, else the store's ownership rules, else
// "unowned") is one the token may see.
func (s *Server) checkAssetTeams(ctx context.Context, p principal, assets map[string]bool) error {
	if p.AllTeams || len(assets) == 0 {
		return nil
	}
	names := make([]string, 0, len(assets))
	for a := range assets {
		names = append(names, a)
	}
	var rows []struct {
		Asset string `ch:"asset"`
		Team  string `ch:"team"`
	}
	start := time.Now()
	err := s.db.Select(ctx, &rows, queries.SQL("api/asset_teams.sql"), clickhouse.Named("assets", names),
		clickhouse.Named("now", s.now().UTC().Truncate(time.Second)))
	s.observe("asset_teams", time.Since(start))
	if err != nil {
		return fmt.Errorf("asset teams: %w", err)
	}
	team := map[string]string{}
	for _, r := range rows {
		team[r.Asset] = r.Team
	}
	for _, a := range names {
		t, ok := team[a]
		if !ok || t == "" {
			t = ingest.Unowned
			if !ok && s.b.Store != nil && s.b.Store.Owner != nil {
				if o, found := s.b.Store.Owner(a); found && o != "" {
					t = o
				}
			}
		}
		if !p.sees(t) {
			return errOutOfScope
		}
	}
	return nil
}

// checkAlerts validates decoded alerts as ingest.Store.SaveAlerts will, so
// that a bad alert from any decoder is a 400 naming it rather than an
// internal error.
func checkAlerts(alerts []ingest.Alert) error {
	for i, a := range alerts {
		at := func(f string) string { return fmt.Sprintf("alerts[%d].%s", i, f) }
		for _, f := range []struct{ name, v string }{{"source", a.Source}, {"id", a.ID}} {
			if f.v == "" {
				return errBody(at(f.name), "required")
			}
		}
		if a.Created.IsZero() {
			return errBody(at("created"), "required")
		}
		for _, t := range []struct {
			name string
			v    time.Time
		}{{"created", a.Created}, {"first_triage", a.FirstTriage}, {"closed", a.Closed}, {"updated", a.Updated}} {
			if !t.v.IsZero() && (t.v.Before(minTime) || t.v.After(maxTime)) {
				return errBody(at(t.name), "out of range (1970-01-02 to 2105-12-31)")
			}
		}
		if a.Severity != "" && !slices.Contains(ingest.Severities, a.Severity) {
			return errBody(at("severity"), "want one of critical, high, medium, low, info, unknown")
		}
		if _, err := ingest.ParseDisposition(string(a.Disposition)); err != nil {
			return errBody(at("disposition"), "want one of true_positive, benign_positive, false_positive, duplicate, undetermined, none")
		}
	}
	return nil
}

// reservedSystems are the alert systems pulled by connectors (and the
// configured file imports): pushing alerts under them would replace the
// pulled alerts of the same ids, so POST /api/v1/alerts refuses them.
var reservedSystems = []string{"pagerduty", "sentinel", "splunk", "elastic", "thehive", "generic", "jira", "github"}

// decodeAlerts is the default AlertDecoder: generic.DecodeNormalized, its
// errors turned into problems naming the place.
func decodeAlerts(max int64) AlertDecoder {
	return func(_ context.Context, r io.Reader) ([]ingest.Alert, error) {
		alerts, err := generic.DecodeNormalized(r, max)
		var ve *generic.ValidationError
		switch {
		case err == nil:
			return alerts, nil
		case errors.As(err, &ve):
			param := "body"
			if len(ve.Problems) > 0 {
				param, _, _ = strings.Cut(ve.Problems[0], ":")
			}
			return nil, errBody(param, clip(strings.Join(ve.Problems, "; "), 2000))
		case errors.Is(err, transport.ErrTooLarge):
			return nil, &http.MaxBytesError{Limit: max}
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, errBody("body", clip(err.Error(), 300))
	}
}

// AlertsResult is the answer of POST /api/v1/alerts.
type AlertsResult struct {
	Written      int            `json:"written"`
	Sources      map[string]int `json:"sources"`
	Dispositions map[string]int `json:"dispositions"`
}

// alerts answers POST /api/v1/alerts: normalized alerts pushed by a SIEM or
// script, written all or nothing with ingest.Store.SaveAlerts. A
// team-scoped token may only write alerts of its teams (the alert's team,
// or its asset's when it has none).
func (s *Server) alerts(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	if err := checkParams(c); err != nil {
		s.fail(c, err)
		return
	}
	if s.b.Store == nil {
		s.failCode(c, CodeUnavailable, "", "alert ingest is not configured on this server")
		return
	}
	if ct := c.ContentType(); ct != "application/json" && ct != "application/x-ndjson" {
		s.failCode(c, CodeUnsupportedMedia, "Content-Type", "send application/json")
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxUploadBytes)
	decode := s.b.DecodeAlerts
	if decode == nil {
		decode = decodeAlerts(s.cfg.MaxUploadBytes)
	}
	alerts, err := decode(ctx, c.Request.Body)
	if err != nil {
		var ae *Error
		var mbe *http.MaxBytesError
		if !errors.As(err, &ae) && !errors.As(err, &mbe) {
			err = errBody("body", clip(err.Error(), 300))
		}
		s.fail(c, err)
		return
	}
	if err := checkAlerts(alerts); err != nil {
		s.fail(c, err)
		return
	}
	for i, a := range alerts {
		if sys, _, _ := strings.Cut(a.Source, ":"); slices.Contains(reservedSystems, sys) {
			s.fail(c, &Error{Code: CodeForbidden, Param: fmt.Sprintf("alerts[%d].source", i),
				Detail: fmt.Sprintf("%q is a connector's system; push alerts under another, e.g. webhook:<name>", sys)})
			return
		}
	}
	p := principalOf(c)
	if !p.AllTeams {
		byAsset := map[string]bool{}
		for i, a := range alerts {
			switch {
			case a.Team != "":
				if !p.sees(a.Team) {
					s.fail(c, &Error{Code: CodeForbidden, Param: fmt.Sprintf("alerts[%d].team", i), Detail: "a team outside this token's teams"})
					return
				}
			case a.Asset != "":
				byAsset[a.Asset] = true
			default:
				if !p.sees(ingest.Unowned) {
					s.fail(c, &Error{Code: CodeForbidden, Param: fmt.Sprintf("alerts[%d].team", i), Detail: "required for a team-scoped token"})
					return
				}
			}
		}
		if err := s.checkAssetTeams(ctx, p, byAsset); err != nil {
			s.fail(c, err)
			return
		}
	}
	if err := s.b.Store.SaveAlerts(ctx, alerts); err != nil {
		s.fail(c, err)
		return
	}
	res := AlertsResult{Written: len(alerts), Sources: map[string]int{}, Dispositions: map[string]int{}}
	for _, a := range alerts {
		res.Sources[a.Source]++
		d := string(a.Disposition)
		if d == "" {
			d = "none"
		}
		res.Dispositions[d]++
	}
	for src, n := range res.Sources {
		typ, _, _ := strings.Cut(src, ":")
		if err := s.b.Store.Succeeded(ctx, src, typ, time.Time{}, uint64(n)); err != nil {
			s.log.Warn("alert source state not saved", "source", src, "err", err)
		}
	}
	s.prom.alerts.add(uint64(len(alerts)))
	s.version.invalidate()
	s.writeJSON(c, http.StatusOK, res)
}
