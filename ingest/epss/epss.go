// Package epss reads the daily EPSS scores file published for FIRST's
// Exploit Prediction Scoring System (epss_scores-YYYY-MM-DD.csv.gz, about
// 300,000 rows), gzip-compressed or not:
//
//	#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z
//	cve,epss,percentile
//	CVE-1999-0001,0.01025,0.76954
//
// Read streams the rows one at a time and validates every one; a malformed
// file is an *ingest.FormatError naming the line ("line 42"), never a
// skipped row.
package epss

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// Format names the file in errors.
const Format = "epss"

// Score is one CVE's EPSS score.
type Score struct {
	CVE string
	// EPSS is the probability of exploitation activity in the next 30
	// days, in [0, 1].
	EPSS float64
	// Percentile is the share of scored CVEs with an EPSS no higher than
	// this one's, in [0, 1].
	Percentile float64
}

// Header is what the file's leading comment says.
type Header struct {
	ModelVersion string    // "v2025.03.14"
	ScoreDate    time.Time // when the scores were computed, UTC
}

// maxLine bounds a line, its ending included; real lines are under 50
// bytes.
const maxLine = 4096

var cveID = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)

// Read reads an EPSS file from r, gzip-compressed (recognized by its magic
// bytes) or plain, calling emit once per row in file order, and returns the
// header once the whole file has been read. The file must start with the
// comment line naming model_version and score_date, then the column header
// cve,epss,percentile, then at least one row; every row must have exactly
// three columns, a CVE id of the form CVE-YYYY-NNNN..., and epss and
// percentile in [0, 1]. An error from emit, or ctx's error (checked between
// rows), is returned as is.
func Read(ctx context.Context, r io.Reader, emit func(Score) error) (Header, error) {
	lines := bufio.NewReaderSize(r, maxLine)
	if magic, _ := lines.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(lines)
		if err != nil {
			return Header{}, &ingest.FormatError{Format: Format, Msg: "bad gzip header: " + err.Error()}
		}
		defer gz.Close()
		lines = bufio.NewReaderSize(gz, maxLine)
	}
	line := 0
	var readErr error
	// next returns the next line without its line ending; false at the end
	// of the input or on a read error (then in readErr).
	next := func() (string, bool) {
		b, err := lines.ReadSlice('\n')
		if err != nil && err != io.EOF {
			readErr = err
			return "", false
		}
		if len(b) == 0 {
			return "", false
		}
		line++
		return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), true
	}
	bad := func(msg string, args ...any) error {
		return &ingest.FormatError{Format: Format, Path: "line " + strconv.Itoa(line), Msg: fmt.Sprintf(msg, args...)}
	}

	comment, ok := next()
	if !ok {
		return Header{}, scanError(readErr, line+1, "empty file: want the #model_version comment line")
	}
	h, err := parseComment(strings.TrimPrefix(comment, "\ufeff"))
	if err != nil {
		return Header{}, bad("%v", err)
	}
	cols, ok := next()
	if !ok {
		return Header{}, scanError(readErr, line+1, "missing the cve,epss,percentile header")
	}
	if !isHeader(cols) {
		return Header{}, bad("want the header cve,epss,percentile, found %q", clip(cols))
	}
	rows := 0
	for {
		text, ok := next()
		if !ok {
			break
		}
		if err := ctx.Err(); err != nil {
			return Header{}, err
		}
		s, err := parseRow(text)
		if err != nil {
			return Header{}, bad("%v", err)
		}
		if err := emit(s); err != nil {
			return Header{}, err
		}
		rows++
	}
	if readErr != nil {
		return Header{}, scanError(readErr, line+1, "")
	}
	if rows == 0 {
		return Header{}, &ingest.FormatError{Format: Format, Path: "line " + strconv.Itoa(line+1), Msg: "no scores after the header"}
	}
	return h, nil
}

// parseComment reads "#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z".
func parseComment(s string) (Header, error) {
	body, ok := strings.CutPrefix(s, "#")
	if !ok {
		return Header{}, fmt.Errorf("want the #model_version comment line, found %q", clip(s))
	}
	var h Header
	var date string
	for _, kv := range strings.Split(body, ",") {
		k, v, _ := strings.Cut(kv, ":")
		switch strings.TrimSpace(k) {
		case "model_version":
			h.ModelVersion = strings.TrimSpace(v)
		case "score_date":
			date = strings.TrimSpace(v)
		}
	}
	if h.ModelVersion == "" {
		return Header{}, fmt.Errorf("the comment line names no model_version: %q", clip(s))
	}
	if date == "" {
		return Header{}, fmt.Errorf("the comment line names no score_date: %q", clip(s))
	}
	// Files before 2023 wrote the offset without a colon (+0000).
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05-0700", "2006-01-02"} {
		if t, err := time.Parse(layout, date); err == nil {
			h.ScoreDate = t.UTC()
			return h, nil
		}
	}
	return Header{}, fmt.Errorf("score_date %q is not an RFC 3339 time", clip(date))
}

func isHeader(s string) bool {
	f := strings.Split(s, ",")
	if len(f) != 3 {
		return false
	}
	for i, want := range []string{"cve", "epss", "percentile"} {
		if !strings.EqualFold(strings.TrimSpace(f[i]), want) {
			return false
		}
	}
	return true
}

func parseRow(s string) (Score, error) {
	f := strings.Split(s, ",")
	if len(f) != 3 {
		return Score{}, fmt.Errorf("want 3 columns (cve,epss,percentile), found %d in %q", len(f), clip(s))
	}
	sc := Score{CVE: f[0]}
	if !cveID.MatchString(sc.CVE) {
		return Score{}, fmt.Errorf("%q is not a CVE id", clip(sc.CVE))
	}
	var err error
	if sc.EPSS, err = probability(f[1]); err != nil {
		return Score{}, fmt.Errorf("epss: %w", err)
	}
	if sc.Percentile, err = probability(f[2]); err != nil {
		return Score{}, fmt.Errorf("percentile: %w", err)
	}
	return sc, nil
}

// probability parses a number in [0, 1] (NaN is not one).
func probability(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0 && v <= 1) {
		return 0, fmt.Errorf("%q is not a number in [0, 1]", clip(s))
	}
	return v, nil
}

// scanError describes a failed read at line: a line of maxLine bytes or
// more, or a
// damaged gzip stream is an *ingest.FormatError, as is a clean end where
// more was needed (eof names what is missing); anything else is an error
// of the underlying reader.
func scanError(err error, line int, eof string) error {
	path := "line " + strconv.Itoa(line)
	switch {
	case err == nil:
		return &ingest.FormatError{Format: Format, Path: path, Msg: eof}
	case errors.Is(err, bufio.ErrBufferFull):
		return &ingest.FormatError{Format: Format, Path: path, Msg: fmt.Sprintf("line of %d bytes or more", maxLine)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &ingest.FormatError{Format: Format, Path: path, Msg: "truncated gzip stream"}
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, new(flate.CorruptInputError)):
		return &ingest.FormatError{Format: Format, Path: path, Msg: "damaged gzip stream: " + err.Error()}
	}
	return fmt.Errorf("read epss: %w", err)
}

// clip shortens text quoted in an error.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
