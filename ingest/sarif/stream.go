package sarif

// This file holds the JSON streaming helpers. The same file, apart from the
// package clause and the format name, is kept in ingest/sarif,
// ingest/semgrep and ingest/gitleaks: the three packages may not share an
// internal package yet.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/secmetrics/secmetrics/ingest"
)

// formatName is the ingest.FormatError.Format of every error of this package.
const formatName = "sarif"

// errTooLarge is returned by guard.Read when the JSON value being read has
// grown past the current limit.
var errTooLarge = errors.New("value too large")

// maxDepth bounds the nesting of skipped values, so that a hostile file of
// brackets cannot grow the decoder's token stack without limit.
const maxDepth = 512

// guard sits between the input and the json.Decoder and fails a read when
// the value the decoder is currently buffering (from its first byte to what
// has been read so far) is larger than limit. The decoder compacts its
// buffer before every read, so that size is exactly what it holds for the
// value being scanned; reads are cut short so that at most a few hundred
// bytes past the limit are ever buffered.
type guard struct {
	r     io.Reader
	dec   *json.Decoder
	limit int64
	n     int64 // bytes read so far
}

func (g *guard) Read(p []byte) (int, error) {
	held := g.n - g.dec.InputOffset()
	if held > g.limit {
		return 0, errTooLarge
	}
	if allowed := g.limit - held + 1; allowed < int64(len(p)) {
		p = p[:max(allowed, 512)]
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	return n, err
}

// elem is one step of a path: an object member (index < 0) or an array
// element.
type elem struct {
	key   string
	index int
}

// stream reads one JSON document token by token, decoding records (one
// result, one rule) whole, and turns every problem into an
// *ingest.FormatError that names where it is.
type stream struct {
	dec       *json.Decoder
	g         *guard
	maxString int64
	maxRecord int64
	path      []elem
	raw       json.RawMessage // reused buffer of the last record
}

func newStream(r io.Reader, maxString, maxRecord int64) *stream {
	g := &guard{r: r, limit: maxString}
	dec := json.NewDecoder(g)
	dec.UseNumber()
	g.dec = dec
	return &stream{dec: dec, g: g, maxString: maxString, maxRecord: maxRecord}
}

func (s *stream) push(key string) { s.path = append(s.path, elem{key: key, index: -1}) }
func (s *stream) pushIndex(i int) { s.path = append(s.path, elem{index: i}) }
func (s *stream) pop()            { s.path = s.path[:len(s.path)-1] }

// where renders the current path followed by sub, a path relative to it
// ("locations[0].physicalLocation").
func (s *stream) where(sub string) string {
	return joinPath(renderPath(s.path), sub)
}

func joinPath(base, sub string) string {
	switch {
	case sub == "":
		return base
	case base == "":
		return sub
	case sub[0] == '[':
		return base + sub
	}
	return base + "." + sub
}

// renderPath renders elems as "runs[0].results[12]". Keys are cut to 64
// bytes so that a hostile key cannot make the message huge.
func renderPath(elems []elem) string {
	var b strings.Builder
	for _, e := range elems {
		if e.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		k := e.key
		if len(k) > 64 {
			k = k[:64] + "…"
		}
		b.WriteString(k)
	}
	return b.String()
}

// errorf returns a FormatError at the current path plus sub.
func (s *stream) errorf(sub string, offset int64, format string, args ...any) error {
	return &ingest.FormatError{Format: formatName, Path: s.where(sub), Offset: offset, Msg: fmt.Sprintf(format, args...)}
}

// fail turns an error of the decoder into a FormatError at the current path.
// Errors of the underlying reader other than end of input are returned
// wrapped, not as FormatErrors: the input may be fine.
func (s *stream) fail(err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return s.errorf("", s.dec.InputOffset(), "unexpected end of input (truncated file?)")
	case errors.Is(err, errTooLarge):
		return s.errorf("", s.dec.InputOffset(), "value larger than %d bytes", s.g.limit)
	case errors.As(err, &syn):
		return s.errorf("", syn.Offset, "invalid JSON: %v", syn)
	}
	return fmt.Errorf("read %s: %w", formatName, err)
}

// token reads the next token. A string token longer than maxString is an
// error.
func (s *stream) token() (json.Token, error) {
	s.g.limit = s.maxString + 4096 // leading white space counts too
	t, err := s.dec.Token()
	if errors.Is(err, errTooLarge) {
		return nil, s.errorf("", s.dec.InputOffset(), "string longer than %d bytes", s.maxString)
	}
	if err != nil {
		return nil, s.fail(err)
	}
	if str, ok := t.(string); ok && int64(len(str)) > s.maxString {
		return nil, s.errorf("", s.dec.InputOffset(), "string longer than %d bytes", s.maxString)
	}
	return t, nil
}

// describe names a token's JSON type for error messages.
func describe(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return "'" + v.String() + "'"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", t)
}

// object reads an object, calling member for each key with the key pushed
// on the path; member must consume the value. It reports whether the value
// was null (then member is never called).
func (s *stream) object(member func(key string) error) (null bool, err error) {
	t, err := s.token()
	if err != nil {
		return false, err
	}
	if t == nil {
		return true, nil
	}
	if t != json.Delim('{') {
		return false, s.errorf("", s.dec.InputOffset(), "want an object, got %s", describe(t))
	}
	for s.dec.More() {
		t, err := s.token()
		if err != nil {
			return false, err
		}
		key, _ := t.(string) // the decoder guarantees a string here
		s.push(key)
		if err := member(key); err != nil {
			return false, err
		}
		s.pop()
	}
	if _, err := s.token(); err != nil { // '}'
		return false, err
	}
	return false, nil
}

// array reads an array, calling element for each element with its index
// pushed on the path; element must consume the value. It reports whether
// the value was null.
func (s *stream) array(element func(i int) error) (null bool, err error) {
	t, err := s.token()
	if err != nil {
		return false, err
	}
	if t == nil {
		return true, nil
	}
	if t != json.Delim('[') {
		return false, s.errorf("", s.dec.InputOffset(), "want an array, got %s", describe(t))
	}
	for i := 0; s.dec.More(); i++ {
		s.pushIndex(i)
		if err := element(i); err != nil {
			return false, err
		}
		s.pop()
	}
	if _, err := s.token(); err != nil { // ']'
		return false, err
	}
	return false, nil
}

// str reads a string value; null reads as "".
func (s *stream) str() (string, error) {
	t, err := s.token()
	if err != nil {
		return "", err
	}
	switch v := t.(type) {
	case string:
		return v, nil
	case nil:
		return "", nil
	}
	return "", s.errorf("", s.dec.InputOffset(), "want a string, got %s", describe(t))
}

// skip reads and discards the next value, token by token, so that a large
// value that is not needed is never held whole.
func (s *stream) skip() error {
	depth := 0
	for {
		t, err := s.token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
				if depth > maxDepth {
					return s.errorf("", s.dec.InputOffset(), "nested deeper than %d levels", maxDepth)
				}
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// record reads the next value whole (at most maxRecord bytes, every string
// at most maxString bytes) and returns it with the input offset of its
// first byte. The returned slice is reused by the next call.
func (s *stream) record() (json.RawMessage, int64, error) {
	s.g.limit = s.maxRecord
	s.raw = s.raw[:0]
	if err := s.dec.Decode(&s.raw); err != nil {
		return nil, 0, s.fail(err)
	}
	start := s.dec.InputOffset() - int64(len(s.raw))
	if int64(len(s.raw)) > s.maxRecord {
		// Read ahead before the limit was set: the guard did not see it.
		return nil, 0, s.errorf("", start, "value larger than %d bytes", s.maxRecord)
	}
	if end := longString(s.raw, s.maxString); end >= 0 {
		return nil, 0, s.errorf(pathAt(s.raw, int64(end)), start+int64(end), "string longer than %d bytes", s.maxString)
	}
	return s.raw, start, nil
}

// unmarshal decodes a record read by record into v. A value of the wrong
// type is a FormatError at its exact path (array indices included).
func (s *stream) unmarshal(raw json.RawMessage, start int64, v any) error {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return s.errorf(pathAt(raw, te.Offset), start+te.Offset, "want %s, got %s", typeName(te), te.Value)
	}
	return s.errorf("", start, "%v", err)
}

// typeName names the Go type a value failed to decode into in JSON words.
func typeName(te *json.UnmarshalTypeError) string {
	if te.Type == nil {
		return "another type"
	}
	switch te.Type.Kind().String() {
	case "string":
		return "a string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return te.Type.String()
}

// longString returns the offset just past the first string in raw (valid
// JSON) whose encoded form is longer than limit bytes, or -1.
func longString(raw []byte, limit int64) int {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '"' {
			continue
		}
		start := i
		for i++; i < len(raw) && raw[i] != '"'; i++ {
			if raw[i] == '\\' {
				i++
			}
		}
		if int64(i-start-1) > limit {
			return i + 1
		}
	}
	return -1
}

// pathAt returns the path, relative to raw's root, of the value of raw
// (valid JSON) that ends at offset off, or of the object or array whose
// opening delimiter ends there: json.UnmarshalTypeError offsets point
// there.
func pathAt(raw []byte, off int64) string {
	type frame struct {
		obj       bool
		key       string
		index     int
		expectKey bool // in an object, the next string token is a key
	}
	var st []frame
	render := func() string {
		elems := make([]elem, 0, len(st))
		for _, f := range st {
			if (f.obj && f.expectKey) || (!f.obj && f.index < 0) {
				break
			}
			elems = append(elems, elem{key: f.key, index: f.index})
		}
		return renderPath(elems)
	}
	valueDone := func() {
		if n := len(st); n > 0 && st[n-1].obj {
			st[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		t, err := dec.Token()
		if err != nil {
			return render()
		}
		if n := len(st); n > 0 {
			top := &st[n-1]
			switch {
			case top.obj && top.expectKey:
				if t == json.Delim('}') {
					st = st[:n-1]
					valueDone()
					continue
				}
				top.key, _ = t.(string)
				top.expectKey = false
				continue
			case !top.obj && t == json.Delim(']'):
				st = st[:n-1]
				valueDone()
				continue
			case !top.obj:
				top.index++
			}
		}
		if dec.InputOffset() >= off {
			return render()
		}
		switch t {
		case json.Delim('{'):
			st = append(st, frame{obj: true, index: -1, expectKey: true})
		case json.Delim('['):
			st = append(st, frame{index: -1})
		default:
			valueDone()
		}
	}
}
