package jsonstream

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// FuzzSkip checks that Skip followed by End accepts exactly the valid JSON
// documents within the limits, however the input is buffered.
func FuzzSkip(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,{"b":"c"}],"d":null}`, `[[],[[]],{}]`, `"x"`, `[1,2`, `{"a":}`, `[] []`,
		`{"a":"\"]"}`, " [ 1 ,\n 2 ] ", `[{"a":[{"b":[{"c":1}]}]}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		// A string decodes to at most three times its encoded bytes (an
		// invalid byte becomes U+FFFD), and MaxString is 64.
		depth, end, _ := measure(doc, 64/3)
		within := depth <= maxDepth && end < 0 && len(doc) <= 4096
		valid := json.Valid(doc)
		for _, r := range readers {
			err := skip(context.Background(), New(r.wrap(bytes.NewReader(doc)), opts(WantGot, 64, 4096)))
			switch {
			case !valid && err == nil:
				t.Errorf("%s: Skip accepted invalid JSON %q", r.name, doc)
			case valid && within && err != nil:
				t.Errorf("%s: Skip refused %q: %v", r.name, doc, err)
			}
		}
	})
}
