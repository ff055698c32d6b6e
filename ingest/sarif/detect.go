package sarif

import (
	"bytes"
	"encoding/json"
	"strings"
)

// DetectSize is how much of the head of a file Detect looks at.
const DetectSize = 64 << 10

// Detect reports whether head, the first bytes of a file (at most
// DetectSize are looked at), is a SARIF 2.1.0 log: a top-level object with
// a runs array, and either "version": "2.1.0", a $schema naming SARIF, or a
// run with a tool, results or invocations member. Key order does not
// matter, and a head cut anywhere is fine. Any other top-level version is
// not claimed.
func Detect(head []byte) bool {
	if len(head) > DetectSize {
		head = head[:DetectSize]
	}
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	var runs, evidence, badVersion bool
	walkHead(head, func(path []string, key string, value json.Token) bool {
		switch {
		case len(path) == 0 && key == "runs":
			if value == json.Delim('[') {
				runs = true
			}
		case len(path) == 0 && key == "version":
			if value == "2.1.0" {
				evidence = true
			} else {
				badVersion = true
			}
		case len(path) == 0 && key == "$schema":
			if v, ok := value.(string); ok && strings.Contains(strings.ToLower(v), "sarif") {
				evidence = true
			}
		case len(path) == 2 && path[0] == "runs" && (key == "tool" || key == "results" || key == "invocations"):
			evidence = true
		}
		return !(runs && evidence) && !badVersion
	})
	return runs && evidence && !badVersion
}

// walkHead walks the JSON text head, which may be cut anywhere, calling
// visit for every object member with the path of the object ("runs", "[]"
// for any array element, ...), the member's key and its value's first
// token. Only a top-level object is walked. The walk stops at the first
// error, at the end of head, or when visit returns false.
func walkHead(head []byte, visit func(path []string, key string, value json.Token) bool) {
	dec := json.NewDecoder(bytes.NewReader(head))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil || t != json.Delim('{') {
		return
	}
	type frame struct {
		obj       bool
		expectKey bool
	}
	st := []frame{{obj: true, expectKey: true}}
	path := []string{}
	var key string
	for len(st) > 0 {
		t, err := dec.Token()
		if err != nil {
			return
		}
		top := &st[len(st)-1]
		if top.obj && top.expectKey {
			if t == json.Delim('}') {
				st = st[:len(st)-1]
				if len(path) > 0 {
					path = path[:len(path)-1]
				}
				if n := len(st); n > 0 && st[n-1].obj {
					st[n-1].expectKey = true
				}
				continue
			}
			key, _ = t.(string)
			top.expectKey = false
			continue
		}
		if !top.obj && t == json.Delim(']') {
			st = st[:len(st)-1]
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
			if n := len(st); n > 0 && st[n-1].obj {
				st[n-1].expectKey = true
			}
			continue
		}
		name := "[]"
		if top.obj {
			name = key
			if !visit(path, key, t) {
				return
			}
		}
		switch t {
		case json.Delim('{'):
			st = append(st, frame{obj: true, expectKey: true})
			path = append(path, name)
		case json.Delim('['):
			st = append(st, frame{})
			path = append(path, name)
		default:
			if top.obj {
				top.expectKey = true
			}
		}
	}
}
