package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// SafeText neutralizes formula injection in a text value bound for a
// spreadsheet cell or a CSV field: a value starting with =, +, -, @, a tab
// or a carriage return gets a leading apostrophe, so that Excel and
// LibreOffice show it as text and never evaluate it (OWASP, "CSV
// Injection"). Every other value is returned unchanged. Numbers are not
// text: write them as numbers and they stay numbers (a negative change is
// -3, not '-3).
func SafeText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// maxCellText is the longest text an Excel cell holds.
const maxCellText = 32767

// cellText is SafeText for a workbook cell, cut (on a rune boundary, with a
// marker) to what a cell holds, instead of excelize cutting it silently.
func cellText(s string) string {
	s = SafeText(s)
	if len(s) <= maxCellText {
		return s
	}
	const mark = " …[truncated]"
	cut := maxCellText - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// CSVWriter writes CSV records whose text fields are neutralized with
// SafeText. Numbers are written as numbers (shortest representation; NaN
// and infinities as empty fields), times in the writer's time zone as RFC
// 3339, nil (and nil pointers) as empty fields. Create one with
// NewCSVWriter.
type CSVWriter struct {
	w   *csv.Writer
	loc *time.Location
	rec []string
}

// NewCSVWriter returns a CSVWriter writing to w with times in loc (nil:
// UTC). Records end with CRLF, as RFC 4180 and Excel expect.
func NewCSVWriter(w io.Writer, loc *time.Location) *CSVWriter {
	if loc == nil {
		loc = time.UTC
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &CSVWriter{w: cw, loc: loc}
}

// Write writes one record. Fields may be strings (neutralized), any
// integer or float type, bool, time.Time, *time.Time, *float64, nil, or a
// fmt.Stringer (neutralized like a string).
func (c *CSVWriter) Write(fields ...any) error {
	c.rec = c.rec[:0]
	for _, f := range fields {
		c.rec = append(c.rec, csvField(f, c.loc))
	}
	return c.w.Write(c.rec)
}

// Flush writes buffered records and returns any write error.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

func csvField(f any, loc *time.Location) string {
	switch v := f.(type) {
	case nil:
		return ""
	case string:
		return SafeText(v)
	case []string:
		return SafeText(strings.Join(v, " "))
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case int8, int16, int32, int64:
		return fmt.Sprint(v)
	case uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(v)
	case float32:
		return csvFloat(float64(v))
	case float64:
		return csvFloat(v)
	case *float64:
		if v == nil {
			return ""
		}
		return csvFloat(*v)
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.In(loc).Format(time.RFC3339)
	case *time.Time:
		if v == nil || v.IsZero() {
			return ""
		}
		return v.In(loc).Format(time.RFC3339)
	case fmt.Stringer:
		return SafeText(v.String())
	}
	return SafeText(fmt.Sprint(f))
}

func csvFloat(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// WriteCSV writes header and then every row of rows (stopping at the first
// error the sequence yields) through a CSVWriter with times in loc. It is
// what the API uses for "?format=csv" lists: rows can stream from a query
// without holding the list in memory.
func WriteCSV(w io.Writer, loc *time.Location, header []string, rows iter.Seq2[[]any, error]) error {
	cw := NewCSVWriter(w, loc)
	hdr := make([]any, len(header))
	for i, h := range header {
		hdr[i] = h
	}
	if err := cw.Write(hdr...); err != nil {
		return err
	}
	n := 0
	for row, err := range rows {
		if err != nil {
			return err
		}
		if err := cw.Write(row...); err != nil {
			return err
		}
		if n++; n%1000 == 0 {
			if err := cw.Flush(); err != nil {
				return err
			}
		}
	}
	return cw.Flush()
}

// Rows adapts a slice to the sequence WriteCSV takes, with fn giving each
// element's fields.
func Rows[T any](items []T, fn func(T) []any) iter.Seq2[[]any, error] {
	return func(yield func([]any, error) bool) {
		for _, it := range items {
			if !yield(fn(it), nil) {
				return
			}
		}
	}
}

// errFunctionMarker is returned for chart text that would become
// JavaScript in go-echarts' renderer.
var errFunctionMarker = errors.New(`"__f__" in chart options`)

// chartJSON marshals chart options for an inline script: encoding/json
// escapes <, > and & as \u003c, \u003e and \u0026 (and U+2028/U+2029), so
// no string can close the script element; "__f__" (go-echarts' marker for
// raw JavaScript, which its own renderer unquotes) is written with its
// underscores escaped, so it stays a string with the same value; NaN and
// infinities, which JSON cannot carry, must already be nil (see num).
func chartJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("chart options: %w", err)
	}
	b := bytes.TrimSpace(buf.Bytes())
	b = bytes.ReplaceAll(b, []byte("__f__"), []byte(`\u005f\u005ff\u005f\u005f`))
	if bytes.Contains(b, []byte("__f__")) || bytes.Contains(b, []byte("</")) {
		return nil, errFunctionMarker
	}
	return b, nil
}

// num is a chart value: nil (JSON null, a gap) for a missing, NaN or
// infinite value, so that one bad number never blanks a chart.
func num(v *float64) *float64 {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return nil
	}
	x := *v
	return &x
}

var (
	locMu    sync.Mutex
	locCache = map[string]*time.Location{}
)

// location loads a time zone by name, UTC when it is empty or unknown
// (names come from metrics, which has validated them).
func location(name string) *time.Location {
	locMu.Lock()
	defer locMu.Unlock()
	if l, ok := locCache[name]; ok {
		return l
	}
	l, err := time.LoadLocation(name)
	if err != nil || name == "" {
		l = time.UTC
	}
	locCache[name] = l
	return l
}
