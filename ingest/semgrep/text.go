package semgrep

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"
)

// maxTitle is the longest Finding.Title, in runes.
const maxTitle = 200

// shortTitle turns a message into a title: white space collapsed, cut after
// the first sentence when that is short enough, else cut at a word boundary
// to maxTitle runes with an ellipsis.
func shortTitle(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 && utf8.RuneCountInString(s[:i+1]) <= maxTitle {
		return s[:i+1]
	}
	if utf8.RuneCountInString(s) <= maxTitle {
		return s
	}
	cut, n := 0, 0
	for i := range s {
		if n == maxTitle {
			cut = i
			break
		}
		n++
	}
	if sp := strings.LastIndexByte(s[:cut], ' '); sp > cut/2 {
		cut = sp
	}
	return s[:cut] + "…"
}

// scalarText returns a JSON string's value or a JSON number's literal text;
// ok is false for anything else (absent, null, empty string, objects, ...).
func scalarText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil || strings.TrimSpace(s) == "" {
			return "", false
		}
		return s, true
	case c == '-' || (c >= '0' && c <= '9'):
		return string(raw), true
	}
	return "", false
}

// isNumber reports whether s is a JSON number's text.
func isNumber(s string) bool {
	return s != "" && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))
}

// stringList returns a JSON string as one value, or the strings of a JSON
// array (other elements are passed over); nil for anything else.
func stringList(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			return []string{s}
		}
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		var out []string
		for _, it := range items {
			var s string
			if json.Unmarshal(it, &s) == nil && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// vulnID matches the vulnerability identifiers the parser recognises at
// the start of a string: CVE, GHSA, and the OSV prefixes.
var vulnID = regexp.MustCompile(`^(?i:(CVE-\d{4}-\d{4,})|(GHSA(?:-[0-9a-z]{4}){3})|((?:GO|PYSEC|RUSTSEC|OSV|GMS|MAL)-[0-9A-Za-z:.-]*\d))`)

// leadingVulnID returns the vulnerability id s starts with, upper-cased
// except for the lower-case body of GHSA ids; "" when there is none.
func leadingVulnID(s string) string {
	m := vulnID.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return ""
	}
	switch {
	case m[1] != "":
		return strings.ToUpper(m[1])
	case m[2] != "":
		return "GHSA" + strings.ToLower(m[2][4:])
	}
	return m[3]
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
