package jsonstream

import (
	"bytes"
	"encoding/json"
)

// Shape is what the first bytes of a JSON document show of its structure:
// the keys of its first object (the document itself, or the first element
// of a top-level array) and, for each of those keys whose value is an
// array, the keys of that array's first element. Detect functions use it to
// recognise a format from a head that may end mid-document.
type Shape struct {
	Array bool // the document is an array of objects
	Keys  map[string]bool
	// First holds, by key, the keys of the first element of an array
	// value; an empty (non-nil) map for an empty array.
	First map[string]map[string]bool
}

// ReadShape reads as much of the shape as head holds; a head that is not
// JSON gives an empty shape.
func ReadShape(head []byte) Shape {
	s := Shape{Keys: map[string]bool{}, First: map[string]map[string]bool{}}
	dec := json.NewDecoder(bytes.NewReader(head))
	t, err := dec.Token()
	if err != nil {
		return s
	}
	if t == json.Delim('[') {
		if t, err = dec.Token(); err != nil || t != json.Delim('{') {
			return s
		}
		s.Array = true
	} else if t != json.Delim('{') {
		return s
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return s
		}
		k, _ := t.(string)
		s.Keys[k] = true
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
				s.First[k] = m
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
			s.First[k] = map[string]bool{}
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
