// Package jsonstream walks one JSON document, a scanner's report, token by
// token over an encoding/json.Decoder, so that a report parser can read a
// report of any size while holding one record of it at a time. It is the
// shared reader of the report parsers under ingest/ (SARIF, Semgrep,
// Gitleaks, Trivy, Grype, Snyk, OSV-Scanner).
//
// # Reading
//
// A parser walks the objects and arrays it needs with Object and Array (or
// Members and Elements once it has read the opening token itself), reads
// the values it keeps with StringValue, Decode or Record, passes over the
// rest with Skip, and calls End after the top-level value. Object and Array
// read null as empty; Open tells null apart where it matters.
//
// Decode and Record both decode one value whole into a Go value; they
// differ in cost and in what they check. Decode decodes straight from the
// stream. Record copies the value first, which costs a second pass, but
// checks every string in it against MaxString and names the exact place of
// a value of the wrong type, array indices included; Decode names it by
// the Go field path, which has no indices inside the value. A parser that
// uses Decode checks the strings it keeps with CheckString.
//
// # Paths
//
// The Decoder tracks where it is: Members and Elements push the key or
// index of the value their callback reads and pop it when the callback
// returns. Every problem with the input is an *ingest.FormatError whose
// Path is that place, like "runs[0].results[12].message.text", followed by
// the sub-path the caller names (Errorf's sub). Keys longer than 64 bytes
// are cut in paths.
//
// # Limits
//
// Options.MaxString bounds, in bytes, every string read as a token (keys,
// StringValue, strings passed over by Skip), every string inside a Record,
// and every string given to CheckString. Options.MaxValue bounds every
// value read whole: by Decode, by Record, and each array element or object
// member Skip passes over whole. The Decoder stops reading as soon as what
// it holds of the token or value being read passes the limit that applies
// (for a token, MaxString plus 4 KiB of white space before it), so a
// hostile report cannot make it buffer much more. Skip also fails on a
// value nested deeper than 512 levels.
//
// # Errors
//
// Malformed, truncated or wrongly typed input, a limit exceeded and data
// after the document are *ingest.FormatError values with Format set to
// Options.Format. An error of the underlying reader (other than the end of
// input) is returned wrapped, not as a FormatError: the report may be
// fine. Errors returned by callbacks, and ctx's error, are returned as
// they are. After an error the Decoder must not be used again.
//
// # Cancellation
//
// Members and Elements, and so Object and Array, check ctx before every
// member and element and return ctx.Err() once it is done.
package jsonstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/secmetrics/secmetrics/ingest"
)

// maxDepth bounds the nesting of a value Skip passes over, so that a
// hostile report of brackets cannot grow the decoder's stacks without
// limit.
const maxDepth = 512

// tokenSlack is what a token read may buffer beyond MaxString: the white
// space before the token counts too.
const tokenSlack = 4096

// Options configures a Decoder.
type Options struct {
	// Format is the ingest.FormatError.Format of every error, e.g. "trivy".
	Format string
	// MaxString is the longest string accepted, in bytes (see the package
	// documentation for which strings). It must be positive.
	MaxString int64
	// MaxValue is the largest value read whole, in bytes (see the package
	// documentation). It must be positive.
	MaxValue int64
	// Wording chooses how error messages are worded.
	Wording Wording
}

// Decoder reads one JSON document; see the package documentation.
type Decoder struct {
	dec     *json.Decoder
	g       guard
	opt     Options
	path    []step
	started bool            // a token or value has been read
	raw     json.RawMessage // Record's buffer, reused
	whole   measured        // Skip's sink for values passed over whole, reused
	stack   []json.Delim    // Skip's open arrays and objects, reused
}

// New returns a Decoder reading r. It panics if a limit in opt is not
// positive.
func New(r io.Reader, opt Options) *Decoder {
	if opt.MaxString <= 0 || opt.MaxValue <= 0 {
		panic("jsonstream: MaxString and MaxValue must be positive")
	}
	d := &Decoder{opt: opt}
	d.g.r = r
	d.dec = json.NewDecoder(&d.g)
	d.dec.UseNumber()
	d.g.dec = d.dec
	return d
}

// errTooLarge is returned by guard.Read when the value being read has grown
// past the current limit.
var errTooLarge = errors.New("value too large")

// guard sits between the input and the json.Decoder and fails a read when
// the data the decoder holds but has not consumed (the token or value it is
// scanning) is larger than limit. Reads are cut short so that at most a few
// hundred bytes past the limit are ever buffered.
type guard struct {
	r     io.Reader
	dec   *json.Decoder
	limit int64
	n     int64 // bytes read so far
	err   error // the last error of r other than io.EOF
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
	if err != nil && err != io.EOF {
		g.err = err
	}
	return n, err
}

// step is one step of a path: an object member (index < 0) or an array
// element.
type step struct {
	key   string
	index int
}

func (d *Decoder) push(key string) { d.path = append(d.path, step{key: key, index: -1}) }
func (d *Decoder) pushIndex(i int) { d.path = append(d.path, step{index: i}) }
func (d *Decoder) pop()            { d.path = d.path[:len(d.path)-1] }

// Errorf returns an *ingest.FormatError at the current path followed by
// sub (a path relative to it, like "locations[0].uri" or "[3].id"; "" for
// the current path itself) and at the current input offset.
func (d *Decoder) Errorf(sub, format string, args ...any) error {
	return d.ErrorAt(d.dec.InputOffset(), sub, format, args...)
}

// ErrorAt is Errorf at the given input offset (0 when it is not known),
// such as the start a Record returned.
func (d *Decoder) ErrorAt(offset int64, sub, format string, args ...any) error {
	return &ingest.FormatError{
		Format: d.opt.Format,
		Path:   joinPath(renderPath(d.path), sub),
		Offset: offset,
		Msg:    fmt.Sprintf(format, args...),
	}
}

// CheckString returns a FormatError at sub when s is longer than
// MaxString, else nil. It is for strings obtained with Decode.
func (d *Decoder) CheckString(sub, s string) error {
	if int64(len(s)) > d.opt.MaxString {
		return d.Errorf(sub, "%s", d.opt.Wording.long(len(s), d.opt.MaxString))
	}
	return nil
}

// CheckStrings is CheckString for every element of list, at sub[i].
func (d *Decoder) CheckStrings(sub string, list []string) error {
	for i, s := range list {
		if int64(len(s)) > d.opt.MaxString {
			return d.Errorf(joinPath(sub, "["+strconv.Itoa(i)+"]"), "%s", d.opt.Wording.long(len(s), d.opt.MaxString))
		}
	}
	return nil
}

// fail turns an error of the json.Decoder into a FormatError at the current
// path, or wraps an error of the underlying reader.
func (d *Decoder) fail(err error) error {
	var (
		fe *ingest.FormatError
		se *json.SyntaxError
	)
	switch {
	case errors.As(err, &fe):
		return err
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		if !d.started {
			return d.Errorf("", "unexpected end of input (empty input)")
		}
		return d.Errorf("", "unexpected end of input (truncated input?)")
	case errors.Is(err, errTooLarge):
		return d.Errorf("", "value larger than %s", size(d.opt.MaxValue))
	case errors.As(err, &se):
		return d.ErrorAt(se.Offset, "", "%s", d.opt.Wording.syntax(se))
	case d.g.err != nil && errors.Is(err, d.g.err):
		return fmt.Errorf("read %s report: %w", d.opt.Format, err)
	}
	return d.Errorf("", "%v", err)
}

// Token returns the next token, as json.Decoder.Token does (numbers as
// json.Number). A string token longer than MaxString is a FormatError, and
// so is the end of input.
func (d *Decoder) Token() (json.Token, error) {
	d.g.limit = d.opt.MaxString + tokenSlack
	t, err := d.dec.Token()
	if errors.Is(err, errTooLarge) {
		return nil, d.Errorf("", "%s", d.opt.Wording.long(-1, d.opt.MaxString))
	}
	if err != nil {
		return nil, d.fail(err)
	}
	d.started = true
	if s, ok := t.(string); ok && int64(len(s)) > d.opt.MaxString {
		return nil, d.Errorf("", "%s", d.opt.Wording.long(len(s), d.opt.MaxString))
	}
	return t, nil
}

// Open reads the token that starts a value and reports whether it is the
// delimiter want ('{' or '['). null is reported as false with a nil error;
// any other token is a FormatError.
func (d *Decoder) Open(want json.Delim) (bool, error) {
	t, err := d.Token()
	if err != nil {
		return false, err
	}
	if t == nil {
		return false, nil
	}
	if t == want {
		return true, nil
	}
	return false, d.Errorf("", "%s", d.opt.Wording.mismatch(Describe(t), Describe(want)))
}

// Object reads an object, calling fn for each member with the decoder at
// the member's value and its key pushed on the path; fn must consume the
// value. null reads as an empty object.
func (d *Decoder) Object(ctx context.Context, fn func(key string) error) error {
	ok, err := d.Open('{')
	if !ok || err != nil {
		return err
	}
	return d.Members(ctx, fn)
}

// Members is Object for an object whose '{' has been read.
func (d *Decoder) Members(ctx context.Context, fn func(key string) error) error {
	for d.dec.More() {
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := d.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string) // the json.Decoder guarantees a string here
		d.push(key)
		if err := fn(key); err != nil {
			return err
		}
		d.pop()
	}
	_, err := d.Token() // '}'
	return err
}

// Array reads an array, calling fn for each element with the decoder at the
// element and its index pushed on the path; fn must consume the element.
// null reads as an empty array.
func (d *Decoder) Array(ctx context.Context, fn func(i int) error) error {
	ok, err := d.Open('[')
	if !ok || err != nil {
		return err
	}
	return d.Elements(ctx, fn)
}

// Elements is Array for an array whose '[' has been read.
func (d *Decoder) Elements(ctx context.Context, fn func(i int) error) error {
	for i := 0; d.dec.More(); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		d.pushIndex(i)
		if err := fn(i); err != nil {
			return err
		}
		d.pop()
	}
	_, err := d.Token() // ']'
	return err
}

// StringValue reads a string; null reads as "".
func (d *Decoder) StringValue() (string, error) {
	t, err := d.Token()
	if err != nil {
		return "", err
	}
	switch v := t.(type) {
	case string:
		return v, nil
	case nil:
		return "", nil
	}
	return "", d.Errorf("", "%s", d.opt.Wording.mismatch(Describe(t), "a string"))
}

// Decode decodes the next value, at most MaxValue bytes, into v, straight
// from the stream. A value of the wrong type is a FormatError at the
// current path followed by the Go field path inside v. Strings are not
// checked against MaxString: check those kept with CheckString.
func (d *Decoder) Decode(v any) error {
	d.g.limit = d.opt.MaxValue
	start := d.dec.InputOffset()
	if err := d.dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return d.ErrorAt(start+te.Offset, te.Field, "%s", d.opt.Wording.value(te))
		}
		return d.fail(err)
	}
	d.started = true
	if d.dec.InputOffset()-start > d.opt.MaxValue {
		// Read ahead before the limit was set: the guard did not see it.
		return d.Errorf("", "value larger than %s", size(d.opt.MaxValue))
	}
	return nil
}

// Record reads the next value whole (at most MaxValue bytes, every string
// in it at most MaxString bytes), decodes it into v and returns the input
// offset of its first byte. A value of the wrong type is a FormatError at
// its exact path, array indices included.
func (d *Decoder) Record(v any) (start int64, err error) {
	d.g.limit = d.opt.MaxValue
	d.raw = d.raw[:0]
	if err := d.dec.Decode(&d.raw); err != nil {
		return 0, d.fail(err)
	}
	d.started = true
	start = d.dec.InputOffset() - int64(len(d.raw))
	if int64(len(d.raw)) > d.opt.MaxValue {
		return start, d.ErrorAt(start, "", "value larger than %s", size(d.opt.MaxValue))
	}
	if _, end, n := measure(d.raw, d.opt.MaxString); end >= 0 {
		return start, d.ErrorAt(start+int64(end), pathAt(d.raw, int64(end)), "%s", d.opt.Wording.long(n, d.opt.MaxString))
	}
	if err := json.Unmarshal(d.raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return start, d.ErrorAt(start+te.Offset, pathAt(d.raw, te.Offset), "%s", d.opt.Wording.value(te))
		}
		return start, d.ErrorAt(start, "", "%v", err)
	}
	return start, nil
}

// Skip consumes the next value without keeping it. Arrays are read element
// by element at any depth; other elements, and object members that are not
// arrays, are each read whole (at most MaxValue bytes) without being
// decoded. So Skip holds one such element or member at a time, however
// large the value. A string longer than MaxString or nesting deeper than
// 512 levels in the value is a FormatError at the value's path.
func (d *Decoder) Skip() error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	open, ok := t.(json.Delim)
	if !ok {
		return nil
	}
	d.stack = append(d.stack[:0], open)
	for len(d.stack) > 0 {
		if !d.dec.More() {
			if _, err := d.Token(); err != nil { // ']' or '}'
				return err
			}
			d.stack = d.stack[:len(d.stack)-1]
			continue
		}
		if d.stack[len(d.stack)-1] == '{' {
			if _, err := d.Token(); err != nil { // the member's key
				return err
			}
		}
		if c := d.peek(); c != '[' && c != 0 {
			if err := d.skipWhole(len(d.stack)); err != nil {
				return err
			}
			continue
		}
		// An array, or a value whose first byte is not buffered yet.
		t, err := d.Token()
		if err != nil {
			return err
		}
		if delim, ok := t.(json.Delim); ok {
			if len(d.stack) >= maxDepth {
				return d.Errorf("", "nested deeper than %d levels", maxDepth)
			}
			d.stack = append(d.stack, delim)
		}
	}
	return nil
}

// peek returns the first byte of the next value when the decoder has it
// buffered, else 0. It must be called where a value is expected (after
// More, or after a member's key).
func (d *Decoder) peek() byte {
	var buf [64]byte
	n, _ := d.dec.Buffered().Read(buf[:])
	for _, c := range buf[:n] {
		switch c {
		case ' ', '\t', '\n', '\r', ',', ':':
		default:
			return c
		}
	}
	return 0
}

// skipWhole reads the next value whole, at nesting depth depth, and checks
// its strings and nesting.
func (d *Decoder) skipWhole(depth int) error {
	d.g.limit = d.opt.MaxValue
	d.whole = measured{limit: d.opt.MaxString}
	start := d.dec.InputOffset()
	if err := d.dec.Decode(&d.whole); err != nil {
		return d.fail(err)
	}
	switch {
	case d.dec.InputOffset()-start > d.opt.MaxValue:
		return d.Errorf("", "value larger than %s", size(d.opt.MaxValue))
	case d.whole.end >= 0:
		return d.Errorf("", "%s", d.opt.Wording.long(d.whole.n, d.opt.MaxString))
	case depth+d.whole.depth > maxDepth:
		return d.Errorf("", "nested deeper than %d levels", maxDepth)
	}
	return nil
}

// measured takes the place of a value that Skip reads whole: it keeps only
// what measure says of it.
type measured struct {
	limit  int64
	depth  int
	end, n int
}

func (m *measured) UnmarshalJSON(b []byte) error {
	m.depth, m.end, m.n = measure(b, m.limit)
	return nil
}

// End checks that nothing but white space follows the document.
func (d *Decoder) End() error {
	d.g.limit = d.opt.MaxString + tokenSlack
	_, err := d.dec.Token()
	var se *json.SyntaxError
	switch {
	case err == io.EOF:
		return nil
	case errors.As(err, &se):
		return d.ErrorAt(se.Offset, "", "unexpected data after the report: %s", d.opt.Wording.syntax(se))
	case err != nil && d.g.err != nil && errors.Is(err, d.g.err):
		return fmt.Errorf("read %s report: %w", d.opt.Format, err)
	}
	return d.Errorf("", "unexpected data after the report")
}

// measure returns the nesting depth of raw, one valid JSON value (0 for a
// scalar), and the offset just past and the encoded length of its first
// string longer than limit bytes (end is -1 when there is none).
func measure(raw []byte, limit int64) (depth, end, n int) {
	end = -1
	level := 0
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '{', '[':
			level++
			depth = max(depth, level)
		case '}', ']':
			level--
		case '"':
			start := i
			for i++; i < len(raw) && raw[i] != '"'; i++ {
				if raw[i] == '\\' {
					i++
				}
			}
			if l := i - start - 1; end < 0 && int64(l) > limit {
				end, n = i+1, l
			}
		}
	}
	return depth, end, n
}

// joinPath joins a path and a path relative to it.
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

// renderPath renders steps as "runs[0].results[12]". Keys are cut to 64
// bytes so that a hostile key cannot make a message huge.
func renderPath(steps []step) string {
	var b strings.Builder
	for _, s := range steps {
		if s.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		k := s.key
		if len(k) > 64 {
			k = k[:64] + "…"
		}
		b.WriteString(k)
	}
	return b.String()
}
