package gitleaks

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"io"
	"strconv"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/jsonstream"
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
	s := jsonstream.New(r, jsonstream.Options{Format: "gitleaks", MaxString: maxString, MaxValue: maxRecord})
	keys := map[uint64]uint32{}
	seed := maphash.MakeSeed()

	t, err := s.Token()
	if err != nil {
		return ingest.Scan{}, err
	}
	if t != json.Delim('[') {
		return ingest.Scan{}, s.Errorf("", "want a Gitleaks v8 report (an array of findings) at the top level, got %s", jsonstream.Describe(t))
	}
	err = s.Elements(ctx, func(int) error {
		var fj findingJSON
		start, err := s.Record(&fj)
		if err != nil {
			return err
		}
		f, err := finding(s, &fj, start)
		if err != nil {
			return err
		}
		h := maphash.String(seed, f.Key)
		n := keys[h] + 1
		keys[h] = n
		if n > 1 {
			f.Key += "#" + strconv.Itoa(int(n))
		}
		return emit(f)
	})
	if err == nil {
		err = s.End()
	}
	if err != nil {
		return ingest.Scan{}, err
	}
	return ingest.Scan{Format: "gitleaks", Scanner: "gitleaks", Kinds: []ingest.Kind{ingest.Secret}}, nil
}

// finding checks one decoded finding and builds its Finding.
func finding(s *jsonstream.Decoder, fj *findingJSON, start int64) (ingest.Finding, error) {
	switch {
	case fj.RuleID == "":
		return ingest.Finding{}, s.ErrorAt(start, "RuleID", "missing")
	case fj.StartLine == nil:
		return ingest.Finding{}, s.ErrorAt(start, "StartLine", "missing")
	case *fj.StartLine < 0:
		return ingest.Finding{}, s.ErrorAt(start, "StartLine", "must not be negative, got %d", *fj.StartLine)
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
