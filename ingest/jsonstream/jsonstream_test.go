package jsonstream

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/secmetrics/secmetrics/ingest"
)

// read is what a test does with a Decoder.
type read func(ctx context.Context, d *Decoder) error

// ended reads with r and then checks the end of the document.
func ended(r read) read {
	return func(ctx context.Context, d *Decoder) error {
		if err := r(ctx, d); err != nil {
			return err
		}
		return d.End()
	}
}

var (
	skip = ended(func(_ context.Context, d *Decoder) error { return d.Skip() })

	// walk reads every object and array member by member and every other
	// value with StringValue (so a number is a wrong type).
	walk read

	// items reads {"items": [...]} and decodes every element with Decode
	// into an item.
	items = itemsWith(func(d *Decoder, v *item) error { return d.Decode(v) })
	// records is items with Record.
	records = itemsWith(func(d *Decoder, v *item) error { _, err := d.Record(v); return err })
)

func init() {
	walk = ended(walkValue)
}

func walkValue(ctx context.Context, d *Decoder) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	switch t {
	case json.Delim('{'):
		return d.Members(ctx, func(string) error { return walkValue(ctx, d) })
	case json.Delim('['):
		return d.Elements(ctx, func(int) error { return walkValue(ctx, d) })
	}
	if _, ok := t.(string); !ok && t != nil {
		return d.Errorf("", "want a string, got %s", Describe(t))
	}
	return nil
}

type item struct {
	ID   int      `json:"id"`
	Tags []string `json:"tags"`
	Sub  struct {
		Scores []float64 `json:"scores"`
	} `json:"sub"`
}

func itemsWith(decode func(d *Decoder, v *item) error) read {
	return ended(func(ctx context.Context, d *Decoder) error {
		return d.Object(ctx, func(key string) error {
			if key != "items" {
				return d.Skip()
			}
			return d.Array(ctx, func(int) error {
				var v item
				return decode(d, &v)
			})
		})
	})
}

// readers are the ways tests feed input: as it comes, and one byte a read,
// so that values straddle every buffer boundary.
var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{{"", func(r io.Reader) io.Reader { return r }}, {"/one byte", iotest.OneByteReader}}

func opts(w Wording, maxString, maxValue int64) Options {
	return Options{Format: "test", MaxString: maxString, MaxValue: maxValue, Wording: w}
}

var (
	wantGot = opts(WantGot, 16, 256)
	isWant  = opts(IsWant, 16, 256)
)

func TestFormatErrors(t *testing.T) {
	deep := strings.Repeat("[", 600) + strings.Repeat("]", 600)
	deepObject := strings.Repeat(`{"a":`, 600) + "1" + strings.Repeat("}", 600)
	long := `"` + strings.Repeat("x", 20) + `"`
	huge := `"` + strings.Repeat("x", 9000) + `"`
	tests := []struct {
		name  string
		opt   Options
		input string
		read  read
		path  string
		msg   string
	}{
		// End of input.
		{"empty", wantGot, ``, walk, "", "unexpected end of input (empty input)"},
		{"white space only", isWant, " \n\t", walk, "", "unexpected end of input (empty input)"},
		{"truncated in an array", wantGot, `{"a":[{},{"b":[`, walk, "a[1].b", "unexpected end of input (truncated input?)"},
		{"truncated after a key", wantGot, `{"a":{"b":`, walk, "a.b", "unexpected end of input (truncated input?)"},
		{"truncated in a record", wantGot, `{"items":[{"id":1},{"id":`, records, "items[1]", "unexpected end of input (truncated input?)"},
		{"truncated in a skipped value", wantGot, `{"x":[[1,2],[3`, skip, "", "unexpected end of input (truncated input?)"},

		// Syntax.
		{"malformed", wantGot, `{"a":[1,}`, skip, "", "invalid JSON: invalid character '}' looking for beginning of value"},
		{"malformed, is-want", isWant, `{"a":[1,}`, skip, "", "malformed JSON: invalid character '}' looking for beginning of value"},
		{"malformed record", wantGot, `{"items":[{"id":1,}]}`, records, "items[0]", "invalid JSON: invalid character '}' looking for beginning of object key string"},

		// Wrong types at the token level.
		{"want an object", wantGot, `[1]`, ended(func(ctx context.Context, d *Decoder) error {
			return d.Object(ctx, func(string) error { return d.Skip() })
		}), "", "want an object, got an array"},
		{"want an object, is-want", isWant, `[1]`, ended(func(ctx context.Context, d *Decoder) error {
			return d.Object(ctx, func(string) error { return d.Skip() })
		}), "", "is an array, want an object"},
		{"want an array", isWant, `{"a":{"b":"x"}}`, ended(func(ctx context.Context, d *Decoder) error {
			return d.Object(ctx, func(string) error { return d.Array(ctx, func(int) error { return d.Skip() }) })
		}), "a", "is an object, want an array"},
		{"want a string", wantGot, `{"a":[true]}`, ended(func(ctx context.Context, d *Decoder) error {
			return d.Object(ctx, func(string) error {
				return d.Array(ctx, func(int) error { _, err := d.StringValue(); return err })
			})
		}), "a[0]", "want a string, got a boolean"},

		// Wrong types in decoded values: Decode names the Go field path,
		// Record the exact path.
		{"decode: wrong type", wantGot, `{"items":[{"id":1},{"id":"2"}]}`, items, "items[1].id", "want an integer, got string"},
		{"decode: wrong type, is-want", isWant, `{"items":[{"id":1.5}]}`, items, "items[0].id", "is a JSON number 1.5, want an integer"},
		{"decode: in a nested array", wantGot, `{"items":[{"sub":{"scores":[1,"x"]}}]}`, items, "items[0].sub.scores", "want a number, got string"},
		{"decode: not an object", isWant, `{"items":[7]}`, items, "items[0]", "is a JSON number, want an object"},
		{"record: wrong type", wantGot, `{"items":[{"id":1},{"id":"2"}]}`, records, "items[1].id", "want an integer, got string"},
		{"record: in a nested array", wantGot, `{"items":[{"sub":{"scores":[1,"x"]}}]}`, records, "items[0].sub.scores[1]", "want a number, got string"},
		{"record: tags not an array", isWant, `{"items":[{"tags":{"a":1}}]}`, records, "items[0].tags", "is a JSON object, want an array"},

		// Strings.
		{"long key", wantGot, `{` + long + `:1}`, walk, "", "string longer than 16 bytes"},
		{"long value", isWant, `{"a":[` + long + `]}`, walk, "a[0]", "string of 20 bytes, longer than the 16 bytes limit"},
		{"very long value", isWant, `{"a":[` + huge + `]}`, walk, "a[0]", "string longer than the 16 bytes limit"},
		{"long string in a record", wantGot, `{"items":[{"tags":["a",` + long + `]}]}`, records, "items[0].tags[1]", "string longer than 16 bytes"},
		{"long string in a skipped value", wantGot, `{"x":[{"a":{"b":` + long + `}}]}`, ended(func(ctx context.Context, d *Decoder) error {
			return d.Object(ctx, func(string) error { return d.Skip() })
		}), "x", "string longer than 16 bytes"},
		{"check strings", isWant, `{"items":[{"id":1},{"tags":["a",` + long + `]}]}`, ended(func(ctx context.Context, d *Decoder) error {
			return d.Object(ctx, func(string) error {
				return d.Array(ctx, func(int) error {
					var v item
					if err := d.Decode(&v); err != nil {
						return err
					}
					return d.CheckStrings("tags", v.Tags)
				})
			})
		}), "items[1].tags[1]", "string of 20 bytes, longer than the 16 bytes limit"},

		{"check string", wantGot, `{"title":` + long + `}`, ended(func(ctx context.Context, d *Decoder) error {
			return d.Object(ctx, func(string) error {
				var s string
				if err := d.Decode(&s); err != nil {
					return err
				}
				return d.CheckString("", s)
			})
		}), "title", "string longer than 16 bytes"},
		{"decode: want a boolean", isWant, `{"ok":"yes"}`, ended(func(ctx context.Context, d *Decoder) error {
			var v struct{ OK bool }
			return d.Decode(&v)
		}), "OK", "is a JSON string, want a boolean"},

		// Values.
		{"large record", wantGot, `{"items":[{"tags":["` + strings.Repeat(`a","`, 100) + `"]}]}`, records, "items[0]", "value larger than 256 bytes"},
		{"large decoded value", opts(IsWant, 16, 1<<20), `{"items":[{"tags":["` + strings.Repeat(`a","`, 300_000) + `"]}]}`, items, "items[0]", "value larger than 1 MiB"},
		{"deep array", wantGot, `{"x":` + deep + `}`, ended(func(ctx context.Context, d *Decoder) error {
			return d.Object(ctx, func(string) error { return d.Skip() })
		}), "x", "nested deeper than 512 levels"},
		{"deep object", opts(WantGot, 16, 1<<20), `{"x":[` + deepObject + `]}`, ended(func(ctx context.Context, d *Decoder) error {
			return d.Object(ctx, func(string) error { return d.Skip() })
		}), "x", "nested deeper than 512 levels"},

		// After the document.
		{"trailing value", wantGot, `{} {}`, skip, "", "unexpected data after the report"},
		{"trailing garbage", wantGot, `[]]`, skip, "", "unexpected data after the report: invalid JSON: invalid character ']' looking for beginning of value"},
		{"trailing garbage, is-want", isWant, `[]x`, skip, "", "unexpected data after the report: malformed JSON: invalid character 'x' looking for beginning of value"},

		// Errors of the caller, at sub-paths.
		{"errorf sub-path", wantGot, `{"a":[{"b":1}]}`, ended(func(ctx context.Context, d *Decoder) error {
			return d.Object(ctx, func(string) error {
				return d.Array(ctx, func(int) error { return d.Errorf("b.c", "bad") })
			})
		}), "a[0].b.c", "bad"},
		{"errorf index sub-path", wantGot, `{"a":[]}`, ended(func(ctx context.Context, d *Decoder) error {
			return d.Object(ctx, func(string) error {
				if err := d.Skip(); err != nil {
					return err
				}
				return d.Errorf("[3].id", "missing")
			})
		}), "a[3].id", "missing"},
		{"long key cut in the path", opts(WantGot, 100, 256), `{"` + strings.Repeat("k", 70) + `":1}`, ended(func(ctx context.Context, d *Decoder) error {
			return d.Object(ctx, func(string) error { return d.Errorf("", "bad") })
		}), strings.Repeat("k", 64) + "…", "bad"},
	}
	for _, tt := range tests {
		for _, r := range readers {
			t.Run(tt.name+r.name, func(t *testing.T) {
				d := New(r.wrap(strings.NewReader(tt.input)), tt.opt)
				err := tt.read(context.Background(), d)
				var fe *ingest.FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("error %v (%T), want a *ingest.FormatError", err, err)
				}
				got := struct{ Format, Path, Msg string }{fe.Format, fe.Path, fe.Msg}
				want := struct{ Format, Path, Msg string }{"test", tt.path, tt.msg}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("error (-want +got):\n%s", d)
				}
			})
		}
	}
}

// Skip consumes exactly one value, however it is buffered, and holds one
// array element or object member at a time, not the whole value.
func TestSkip(t *testing.T) {
	many := `[` + strings.Repeat(`{"a":"bbbbbbbb","c":[1,2,{"d":null}]},`, 2000) + `true]`
	tests := []struct {
		name  string
		input string
	}{
		{"string", `"abc"`},
		{"number", `-1.5e3`},
		{"literals", `[true,false,null]`},
		{"empty containers", `{"a":{},"b":[],"c":[[],{}]}`},
		{"nested", `{"a":[1,{"b":[2,[3,{"c":"d"}]]}],"e":{"f":{"g":[]}}}`},
		{"white space", " {\n  \"a\" :\t[ 1 ,\n\n 2 ] ,\r\n \"b\" : { } }\n"},
		{"brackets in strings", `{"a":"[[{{","b":["]]}}",":,"]}`},
		{"escapes", `{"a\"b":"c\\\"[","d":["\u005b"]}`},
		{"many elements, larger than MaxValue as a whole", many},
		{"deep, within the limit", strings.Repeat("[", 512) + strings.Repeat("]", 512)},
	}
	for _, tt := range tests {
		for _, r := range readers {
			t.Run(tt.name+r.name, func(t *testing.T) {
				d := New(r.wrap(strings.NewReader(tt.input)), opts(WantGot, 16, 1024))
				if err := skip(context.Background(), d); err != nil {
					t.Fatal(err)
				}
			})
		}
	}

	// A member read whole is bounded by MaxValue.
	d := New(strings.NewReader(`{"x":{"a":{"b":"`+strings.Repeat(`a","b":"`, 100)+`"}}}`), wantGot)
	err := skip(context.Background(), d)
	var fe *ingest.FormatError
	if !errors.As(err, &fe) || fe.Path != "" || fe.Msg != "value larger than 256 bytes" {
		t.Errorf("large member: error %v, want value larger than 256 bytes", err)
	}
}

// Object and Array read null as empty, Open tells it apart, and
// StringValue reads it as "".
func TestNull(t *testing.T) {
	ctx := context.Background()
	d := New(strings.NewReader(`[null,null,null,null]`), wantGot)
	var got []string
	err := d.Array(ctx, func(i int) error {
		switch i {
		case 0:
			return d.Object(ctx, func(k string) error { got = append(got, k); return d.Skip() })
		case 1:
			return d.Array(ctx, func(int) error { got = append(got, "element"); return d.Skip() })
		case 2:
			ok, err := d.Open('[')
			if ok || err != nil {
				t.Errorf("Open(null) = %v, %v; want false, nil", ok, err)
			}
			return err
		}
		s, err := d.StringValue()
		if s != "" {
			t.Errorf("StringValue(null) = %q", s)
		}
		return err
	})
	if err == nil {
		err = d.End()
	}
	if err != nil || got != nil {
		t.Errorf("got %v, error %v; want no calls and no error", got, err)
	}
}

// The reader's and the callbacks' errors, and ctx's, are returned as they
// are, not as FormatErrors.
func TestOtherErrors(t *testing.T) {
	broken := errors.New("connection reset")
	stop := errors.New("stop")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		input io.Reader
		fn    func(d *Decoder) error
		want  error
	}{
		{"reader", context.Background(), io.MultiReader(strings.NewReader(`{"a":[1,`), iotest.ErrReader(broken)), nil, broken},
		{"reader after the document", context.Background(), io.MultiReader(strings.NewReader(`{"a":[]} `), iotest.ErrReader(broken)), nil, broken},
		{"callback", context.Background(), strings.NewReader(`{"a":[1,2]}`), func(d *Decoder) error { return stop }, stop},
		{"canceled", canceled, strings.NewReader(`{"a":[1,2]}`), nil, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(tt.input, opts(WantGot, 16, 256))
			err := ended(func(ctx context.Context, d *Decoder) error {
				return d.Object(ctx, func(string) error {
					return d.Array(ctx, func(int) error {
						if tt.fn != nil {
							return tt.fn(d)
						}
						return d.Skip()
					})
				})
			})(tt.ctx, d)
			var fe *ingest.FormatError
			if !errors.Is(err, tt.want) || errors.As(err, &fe) {
				t.Errorf("error %v, want %v and no FormatError", err, tt.want)
			}
		})
	}
}

// Record returns the offset of the record's first byte, and errors about
// it can be placed there.
func TestRecordStart(t *testing.T) {
	const input = `{"items": [{"id": 1}, {"id": 2}]}`
	d := New(strings.NewReader(input), wantGot)
	var starts []int64
	err := ended(func(ctx context.Context, d *Decoder) error {
		return d.Object(ctx, func(string) error {
			return d.Array(ctx, func(int) error {
				var v item
				start, err := d.Record(&v)
				starts = append(starts, start)
				return err
			})
		})
	})(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{int64(strings.Index(input, `{"id": 1}`)), int64(strings.Index(input, `{"id": 2}`))}
	if d := cmp.Diff(want, starts); d != "" {
		t.Errorf("starts (-want +got):\n%s", d)
	}
	err = d.ErrorAt(starts[1], "id", "bad")
	if got := err.Error(); got != "test: id (byte 22): bad" {
		t.Errorf("ErrorAt = %q", got)
	}
}

func TestDescribeAndBrief(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{Describe(json.Delim('{')), "an object"},
		{Describe(json.Delim('[')), "an array"},
		{Describe(json.Delim(']')), "']'"},
		{Describe("x"), "a string"},
		{Describe(json.Number("1")), "a number"},
		{Describe(1.5), "a number"},
		{Describe(false), "a boolean"},
		{Describe(nil), "null"},
		{Brief(`say "hi"`), `"say \"hi\""`},
		{Brief(strings.Repeat("a", 65)), `"` + strings.Repeat("a", 64) + `"...`},
	} {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}
