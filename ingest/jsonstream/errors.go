package jsonstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
)

// Wording chooses how a Decoder words its error messages. The two wordings
// say the same things; there are two because the parsers that share this
// package came with different wordings, and their tests quote both.
type Wording int

const (
	// WantGot words a value of the wrong type as "want an array, got a
	// string" ("want an integer, got number 2.5" for a decoded value), a
	// syntax error as "invalid JSON: ..." and a long string as "string
	// longer than 1 MiB".
	WantGot Wording = iota
	// IsWant words a value of the wrong type as "is a string, want an
	// array" ("is a JSON number 2.5, want an integer" for a decoded value),
	// a syntax error as "malformed JSON: ..." and a long string as "string
	// of 2000000 bytes, longer than the 1 MiB limit".
	IsWant
)

// mismatch words a token that is not the value wanted; got and want are
// Describe's words.
func (w Wording) mismatch(got, want string) string {
	if w == IsWant {
		return "is " + got + ", want " + want
	}
	return "want " + want + ", got " + got
}

// value words a decoded value of the wrong type.
func (w Wording) value(te *json.UnmarshalTypeError) string {
	if w == IsWant {
		return "is a JSON " + te.Value + ", want " + kindName(te.Type)
	}
	return "want " + kindName(te.Type) + ", got " + te.Value
}

// syntax words a syntax error.
func (w Wording) syntax(se *json.SyntaxError) string {
	if w == IsWant {
		return "malformed JSON: " + se.Error()
	}
	return "invalid JSON: " + se.Error()
}

// long words a string of n bytes (n < 0: not known) longer than limit.
func (w Wording) long(n int, limit int64) string {
	switch {
	case w != IsWant:
		return "string longer than " + size(limit)
	case n < 0:
		return "string longer than the " + size(limit) + " limit"
	}
	return "string of " + strconv.Itoa(n) + " bytes, longer than the " + size(limit) + " limit"
}

// size renders a limit in bytes, in MiB when it is a whole number of them.
func size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// kindName names the JSON value a Go type decodes from.
func kindName(t reflect.Type) string {
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

// Describe names a token's JSON type for an error message: "an object",
// "an array", "a string", "a number", "a boolean", "null", or the
// delimiter quoted ("']'").
func Describe(t json.Token) string {
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

// Brief quotes s for an error message, cut to its first 64 bytes.
func Brief(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
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
		steps := make([]step, 0, len(st))
		for _, f := range st {
			if (f.obj && f.expectKey) || (!f.obj && f.index < 0) {
				break
			}
			steps = append(steps, step{key: f.key, index: f.index})
		}
		return renderPath(steps)
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
