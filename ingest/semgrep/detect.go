package semgrep

import (
	"bytes"
	"encoding/json"
)

// DetectSize is how much of the head of a file Detect looks at.
const DetectSize = 64 << 10

// Detect reports whether head, the first bytes of a file (at most
// DetectSize are looked at), is a `semgrep --json` report: a top-level
// object without "runs" (that is SARIF) whose results carry check_id, or
// which has results and errors arrays beside a paths object or a version
// string, or whose errors have Semgrep's code and level members. Key order
// does not matter, and a head cut anywhere is fine.
func Detect(head []byte) bool {
	if len(head) > DetectSize {
		head = head[:DetectSize]
	}
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	var runs, results, errorsArr, paths, version, checkID bool
	errKeys := map[string]bool{}
	walkHead(head, func(path []string, key string, value json.Token) bool {
		switch {
		case len(path) == 0:
			switch key {
			case "runs":
				runs = true
			case "results":
				results = value == json.Delim('[')
			case "errors":
				errorsArr = value == json.Delim('[')
			case "paths":
				paths = value == json.Delim('{')
			case "version":
				_, version = value.(string)
			}
		case len(path) == 2 && path[0] == "results" && key == "check_id":
			checkID = true
		case len(path) == 2 && path[0] == "errors" && (key == "code" || key == "level"):
			errKeys[key] = true
		}
		return !runs && !checkID
	})
	if runs {
		return false
	}
	return checkID ||
		(results && errorsArr && (paths || version)) ||
		(errorsArr && errKeys["code"] && errKeys["level"])
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
