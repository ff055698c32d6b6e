package gitleaks

import (
	"context"
	"encoding/json"
	"errors"
	"hash/maphash"
	"io"
	"strconv"

	"github.com/secmetrics/secmetrics/ingest"
)

// Default limits of a Parser whose fields are zero.
const (
	DefaultMaxString = 1 << 20 // bytes of one JSON string
	DefaultMaxRecord = 8 << 20 // bytes of one finding
)

// Parser reads Gitleaks v8 JSON reports. The zero Parser uses the default
// limits.
type Parser struct {
	// MaxString is the largest JSON string accepted anywhere in the report,
	// in encoded bytes; a longer one is a FormatError.
	MaxString int
	// MaxRecord is the largest single finding, in bytes; a larger one is a
	// FormatError.
	MaxRecord int
}

var _ ingest.Parser = Parser{}

// findingJSON is the part of a Gitleaks finding the parser reads. It has no
// Secret, Match or Line field on purpose: those hold the secret, and
// leaving them out means they are never copied out of the read buffer.
// Author, Email and Message (the commit's) are personal data the parser
// has no use for.
type findingJSON struct {
	RuleID      string `json:"RuleID"`
	Description string `json:"Description"`
	StartLine   *int   `json:"StartLine"`
	File        string `json:"File"`
	Commit      string `json:"Commit"`
	Link        string `json:"Link"`
	Fingerprint string `json:"Fingerprint"`
}

// Parse implements ingest.Parser: it reads a Gitleaks v8 JSON report (an
// array of findings) from r and calls emit for every finding, in report
// order; see the package documentation for how findings are built.
// Malformed, truncated or wrongly typed input is an *ingest.FormatError
// naming the place; an error from emit, or ctx's error when it is done, is
// returned as is.
func (p Parser) Parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error) (ingest.Scan, error) {
	maxString, maxRecord := int64(p.MaxString), int64(p.MaxRecord)
	if maxString <= 0 {
		maxString = DefaultMaxString
	}
	if maxRecord <= 0 {
		maxRecord = DefaultMaxRecord
	}
	s := newStream(r, maxString, maxRecord)
	keys := map[uint64]uint32{}
	seed := maphash.MakeSeed()

	t, err := s.token()
	if err != nil {
		var fe *ingest.FormatError
		if errors.As(err, &fe) && s.dec.InputOffset() == 0 {
			fe.Msg = "empty input"
		}
		return ingest.Scan{}, err
	}
	if t != json.Delim('[') {
		return ingest.Scan{}, s.errorf("", s.dec.InputOffset(), "want a Gitleaks v8 report (an array of findings) at the top level, got %s", describe(t))
	}
	for i := 0; s.dec.More(); i++ {
		if err := ctx.Err(); err != nil {
			return ingest.Scan{}, err
		}
		s.pushIndex(i)
		raw, start, err := s.record()
		if err != nil {
			return ingest.Scan{}, err
		}
		var fj findingJSON
		if err := s.unmarshal(raw, start, &fj); err != nil {
			return ingest.Scan{}, err
		}
		f, err := finding(s, &fj, start)
		if err != nil {
			return ingest.Scan{}, err
		}
		h := maphash.String(seed, f.Key)
		n := keys[h] + 1
		keys[h] = n
		if n > 1 {
			f.Key += "#" + strconv.Itoa(int(n))
		}
		if err := emit(f); err != nil {
			return ingest.Scan{}, err
		}
		s.pop()
	}
	if _, err := s.token(); err != nil { // ']'
		return ingest.Scan{}, err
	}
	if _, err := s.dec.Token(); err != io.EOF {
		return ingest.Scan{}, s.errorf("", s.dec.InputOffset(), "unexpected data after the report array")
	}
	return ingest.Scan{Format: "gitleaks", Scanner: "gitleaks", Kinds: []ingest.Kind{ingest.Secret}}, nil
}

// finding checks one decoded finding and builds its Finding.
func finding(s *stream, fj *findingJSON, start int64) (ingest.Finding, error) {
	switch {
	case fj.RuleID == "":
		return ingest.Finding{}, s.errorf("RuleID", start, "missing")
	case fj.StartLine == nil:
		return ingest.Finding{}, s.errorf("StartLine", start, "missing")
	case *fj.StartLine < 0:
		return ingest.Finding{}, s.errorf("StartLine", start, "must not be negative, got %d", *fj.StartLine)
	}
	f := ingest.Finding{
		Kind:     ingest.Secret,
		RuleID:   fj.RuleID,
		Title:    fj.Description,
		Severity: ingest.High,
		File:     fj.File,
		Line:     *fj.StartLine,
		URL:      fj.Link,
	}
	if f.Title == "" {
		f.Title = fj.RuleID
	}
	switch {
	case fj.Fingerprint != "":
		f.Key, f.KeySource = fj.Fingerprint, "gitleaks:fingerprint"
	case fj.Commit != "":
		f.Key = fj.Commit + ":" + fj.File + ":" + fj.RuleID + ":" + strconv.Itoa(f.Line)
		f.KeySource = "composite:commit+file+rule+line"
	default:
		f.Key = fj.File + ":" + fj.RuleID + ":" + strconv.Itoa(f.Line)
		f.KeySource = "composite:file+rule+line"
	}
	return f, nil
}
