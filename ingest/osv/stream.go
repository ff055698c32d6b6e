package osv

// This file holds the JSON streaming helpers. The same file (apart from the
// package clause) is kept in ingest/trivy, ingest/grype, ingest/snyk and
// ingest/osv; see the package documentation of each for why it is not shared
// yet.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/secmetrics/secmetrics/ingest"
)

const (
	// maxValue bounds the bytes of one JSON value that is decoded at once
	// (one finding record, one small header object). Larger values are a
	// FormatError, so a hostile report cannot make the decoder buffer
	// without limit.
	maxValue = 16 << 20
	// maxString bounds every string copied into a Finding.
	maxString = 1 << 20
)

var errTooLarge = errors.New("value too large")

// path is a location in the report, built as the reader descends. It is a
// linked list so that descending costs one small allocation and the string
// is only made for an error.
type path struct {
	up    *path
	key   string
	index int // >= 0 for an array element, -1 for an object member
}

func (p *path) field(k string) *path { return &path{up: p, key: k, index: -1} }
func (p *path) elem(i int) *path     { return &path{up: p, index: i} }

// String renders the path as "Results[2].Vulnerabilities[13]"; the root is "".
func (p *path) String() string {
	if p == nil {
		return ""
	}
	s := p.up.String()
	if p.index >= 0 {
		return s + "[" + strconv.Itoa(p.index) + "]"
	}
	if s == "" {
		return p.key
	}
	return s + "." + p.key
}

// limited counts the bytes the decoder pulls and refuses to read on while
// the decoder holds more than maxValue bytes it has not consumed: one value
// (or token) is then larger than any report record should be.
type limited struct {
	r   io.Reader
	n   int64
	dec *json.Decoder
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n-l.dec.InputOffset() > maxValue {
		return 0, errTooLarge
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// reader walks one JSON document token by token and decodes small values
// whole; every error it returns says where in the document it happened.
type reader struct {
	format string
	dec    *json.Decoder
}

func newReader(r io.Reader, format string) *reader {
	l := &limited{r: r}
	l.dec = json.NewDecoder(l)
	return &reader{format: format, dec: l.dec}
}

// fail returns a FormatError at p and the current input offset.
func (r *reader) fail(p *path, format string, args ...any) error {
	return &ingest.FormatError{Format: r.format, Path: p.String(), Offset: r.dec.InputOffset(), Msg: fmt.Sprintf(format, args...)}
}

// wrap turns a decoding error at p into a FormatError. Errors of the
// underlying reader other than end of input are returned wrapped, not as
// format errors: the report may be fine, the transport was not.
func (r *reader) wrap(p *path, err error) error {
	var (
		fe *ingest.FormatError
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &fe):
		return err
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return r.fail(p, "unexpected end of input (truncated report?)")
	case errors.Is(err, errTooLarge):
		return r.fail(p, "value larger than %d MiB", maxValue>>20)
	case errors.As(err, &se):
		return &ingest.FormatError{Format: r.format, Path: p.String(), Offset: se.Offset, Msg: "malformed JSON: " + se.Error()}
	case errors.As(err, &te):
		at := p
		if te.Field != "" {
			at = p.field(te.Field)
		}
		return &ingest.FormatError{Format: r.format, Path: at.String(), Offset: te.Offset,
			Msg: fmt.Sprintf("is a JSON %s, want %s", te.Value, jsonKind(te.Type))}
	}
	return fmt.Errorf("read %s report: %w", r.format, err)
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// describe names a token for an error message.
func describe(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return "a " + v.String()
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", t)
}

// open reads the token that starts a value at p and reports whether it is
// the delimiter want; null is reported as absent (false, nil).
func (r *reader) open(p *path, want json.Delim) (bool, error) {
	t, err := r.dec.Token()
	if err != nil {
		return false, r.wrap(p, err)
	}
	if t == nil {
		return false, nil
	}
	if d, ok := t.(json.Delim); ok && d == want {
		return true, nil
	}
	if want == '{' {
		return false, r.fail(p, "is %s, want an object", describe(t))
	}
	return false, r.fail(p, "is %s, want an array", describe(t))
}

// close reads the token that ends an object or array at p.
func (r *reader) close(p *path) error {
	if _, err := r.dec.Token(); err != nil {
		return r.wrap(p, err)
	}
	return nil
}

// object reads the object at p, calling fn with each member's key while the
// decoder is positioned at the member's value; fn must consume the value.
// null is read as an empty object.
func (r *reader) object(ctx context.Context, p *path, fn func(key string) error) error {
	ok, err := r.open(p, '{')
	if !ok || err != nil {
		return err
	}
	return r.members(ctx, p, fn)
}

// members is object for an object whose "{" has been read.
func (r *reader) members(ctx context.Context, p *path, fn func(key string) error) error {
	for r.dec.More() {
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := r.dec.Token()
		if err != nil {
			return r.wrap(p, err)
		}
		key, _ := t.(string)
		if err := fn(key); err != nil {
			return err
		}
	}
	return r.close(p)
}

// array reads the array at p, calling fn for each element with the decoder
// positioned at it; fn must consume the element. null is read as an empty
// array. Cancellation of ctx is checked before every element.
func (r *reader) array(ctx context.Context, p *path, fn func(i int) error) error {
	ok, err := r.open(p, '[')
	if !ok || err != nil {
		return err
	}
	return r.elements(ctx, p, fn)
}

// elements is array for an array whose "[" has been read.
func (r *reader) elements(ctx context.Context, p *path, fn func(i int) error) error {
	for i := 0; r.dec.More(); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(i); err != nil {
			return err
		}
	}
	return r.close(p)
}

// decode decodes the value at p into v. A value longer than maxValue is a
// FormatError even when the decoder could hold it.
func (r *reader) decode(p *path, v any) error {
	start := r.dec.InputOffset()
	if err := r.dec.Decode(v); err != nil {
		return r.wrap(p, err)
	}
	if r.dec.InputOffset()-start > maxValue {
		return r.wrap(p, errTooLarge)
	}
	return nil
}

// discard is decoded into to check and drop a value without keeping it.
type discard struct{}

func (*discard) UnmarshalJSON([]byte) error { return nil }

// skip consumes the value at p. Arrays and objects are skipped one member at
// a time, so only their members are bounded by maxValue, not the whole.
func (r *reader) skip(p *path) error {
	t, err := r.dec.Token()
	if err != nil {
		return r.wrap(p, err)
	}
	if d, ok := t.(json.Delim); ok && (d == '[' || d == '{') {
		for r.dec.More() {
			if d == '{' {
				if _, err := r.dec.Token(); err != nil {
					return r.wrap(p, err)
				}
			}
			if err := r.decode(p, &discard{}); err != nil {
				return err
			}
		}
		return r.close(p)
	}
	return nil
}

// end checks that nothing but white space follows the document.
func (r *reader) end() error {
	if _, err := r.dec.Token(); err != io.EOF {
		if err != nil {
			return r.wrap(nil, err)
		}
		return r.fail(nil, "unexpected data after the report")
	}
	return nil
}

// str returns a FormatError when the string field name at p is longer than
// maxString; name is the report's own field name.
func (r *reader) str(p *path, name, s string) error {
	if len(s) > maxString {
		return r.fail(p.field(name), "string of %d bytes, longer than the %d MiB limit", len(s), maxString>>20)
	}
	return nil
}

// strs is str for every element of a string list.
func (r *reader) strs(p *path, name string, list []string) error {
	for i, s := range list {
		if len(s) > maxString {
			return r.fail(p.field(name).elem(i), "string of %d bytes, longer than the %d MiB limit", len(s), maxString>>20)
		}
	}
	return nil
}

// brief quotes s for an error message, cut to its first 64 bytes.
func brief(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}

// key joins the parts of a composite finding key with "|", escaping "%"
// and "|" inside parts so that distinct parts never give the same key.
func key(parts ...string) string {
	var b strings.Builder
	for i, s := range parts {
		if i > 0 {
			b.WriteByte('|')
		}
		if strings.ContainsAny(s, "%|") {
			s = keyEscaper.Replace(s)
		}
		b.WriteString(s)
	}
	return b.String()
}

var keyEscaper = strings.NewReplacer("%", "%25", "|", "%7C")

// shape is what the first bytes of a JSON document show of its structure:
// the keys of its first object (the document itself, or the first element
// of a top-level array) and, for each of those keys whose value is an array,
// the keys of that array's first element. Detect functions use it to
// recognise a format from a head that may end mid-document.
type shape struct {
	array bool // the document is an array of objects
	keys  map[string]bool
	first map[string]map[string]bool // empty (non-nil) map for an empty array
}

// readShape reads as much of the shape as head holds; a head that is not
// JSON gives an empty shape.
func readShape(head []byte) shape {
	s := shape{keys: map[string]bool{}, first: map[string]map[string]bool{}}
	dec := json.NewDecoder(bytes.NewReader(head))
	t, err := dec.Token()
	if err != nil {
		return s
	}
	if t == json.Delim('[') {
		if t, err = dec.Token(); err != nil || t != json.Delim('{') {
			return s
		}
		s.array = true
	} else if t != json.Delim('{') {
		return s
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return s
		}
		k, _ := t.(string)
		s.keys[k] = true
		t, err = dec.Token()
		if err != nil {
			return s
		}
		d, ok := t.(json.Delim)
		if !ok {
			continue
		}
		if d == '[' && dec.More() {
			t, err := dec.Token()
			if err != nil {
				return s
			}
			if t == json.Delim('{') {
				m := map[string]bool{}
				s.first[k] = m
				for dec.More() {
					t, err := dec.Token()
					if err != nil {
						return s
					}
					name, _ := t.(string)
					m[name] = true
					if skipTokens(dec) != nil {
						return s
					}
				}
				if _, err := dec.Token(); err != nil {
					return s
				}
			} else if d2, ok := t.(json.Delim); ok && skipRest(dec, d2) != nil {
				return s
			}
		} else if d == '[' {
			s.first[k] = map[string]bool{}
		}
		if skipRest(dec, d) != nil {
			return s
		}
	}
	return s
}

// skipTokens consumes one value from dec.
func skipTokens(dec *json.Decoder) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); ok {
		return skipRest(dec, d)
	}
	return nil
}

// skipRest consumes the rest of the array or object opened by d.
func skipRest(dec *json.Decoder, d json.Delim) error {
	if d != '[' && d != '{' {
		return nil
	}
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('['), json.Delim('{'):
			depth++
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
	return nil
}
