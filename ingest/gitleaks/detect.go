package gitleaks

import (
	"bytes"
	"encoding/json"
)

// DetectSize is how much of the head of a file Detect looks at.
const DetectSize = 64 << 10

// Detect reports whether head, the first bytes of a file (at most
// DetectSize are looked at), is a Gitleaks v8 JSON report: a top-level
// array of objects with a string RuleID and a number StartLine. An empty array ("[]", what Gitleaks writes when it finds
// nothing) is not claimed, because other tools' empty reports look the
// same: name the format to read one.
func Detect(head []byte) bool {
	if len(head) > DetectSize {
		head = head[:DetectSize]
	}
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	var ruleID, startLine bool
	walkHead(head, func(path []string, key string, value json.Token) bool {
		if len(path) != 1 {
			return !(ruleID && startLine)
		}
		switch key {
		case "RuleID":
			_, ruleID = value.(string)
		case "StartLine":
			_, startLine = value.(json.Number)
		}
		return !(ruleID && startLine)
	})
	return ruleID && startLine
}

// walkHead walks the JSON text head, which may be cut anywhere, calling
// visit for every object member with the path of the object ("[]" for any
// array element, ...), the member's key and its value's first token. Only
// a top-level array is walked. The walk stops at the first error, at the
// end of head, or when visit returns false.
func walkHead(head []byte, visit func(path []string, key string, value json.Token) bool) {
	dec := json.NewDecoder(bytes.NewReader(head))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil || t != json.Delim('[') {
		return
	}
	type frame struct {
		obj       bool
		expectKey bool
	}
	st := []frame{{}}
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
