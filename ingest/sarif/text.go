package sarif

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/secmetrics/secmetrics/ingest"
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

// textDigest is a short stable digest (SHA-256, first 8 bytes) of a text
// with its white space collapsed, used in composite keys so that
// indentation changes do not change them.
func textDigest(s string) digest {
	sum := sha256.Sum256([]byte(strings.Join(strings.Fields(s), " ")))
	return digest(sum[:8])
}

// textHash is textDigest in hex, as it appears in keys.
func textHash(s string) string {
	d := textDigest(s)
	return hex.EncodeToString(d[:])
}

// isSeverityTag reports whether a rule tag is exactly a severity word, as
// older Trivy SARIF templates write ("HIGH").
func isSeverityTag(t string) bool {
	switch strings.ToLower(t) {
	case "critical", "high", "medium", "low":
		return true
	}
	return false
}

// isUnknownWord reports whether ingest.ParseSeverity does not know s.
func isUnknownWord(s string) bool { return ingest.ParseSeverity(s) == ingest.Unknown }

// vulnID matches the vulnerability identifiers the parser recognises at
// the start of a string: CVE, GHSA, Go, PyPI, RustSec, OSV and the
// distribution advisories Trivy reports.
var vulnID = regexp.MustCompile(`^(?i:(CVE-\d{4}-\d{4,})|(GHSA(?:-[0-9a-z]{4}){3})|((?:GO|PYSEC|RUSTSEC|OSV|GMS|DLA|DSA|ALAS|ALAS2|RHSA|USN|ELSA|ALSA|RLSA|OPENSUSE-SU|SUSE-SU|MAL)-[0-9A-Za-z:.-]*\d))`)

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

// isCVE reports whether id is a CVE id.
func isCVE(id string) bool { return strings.HasPrefix(id, "CVE-") }

// unescape percent-decodes s, keeping it as written when it is not valid.
func unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// artifactPath turns an artifactLocation.uri into the File of a finding:
// a file: URI gives its path, other URIs are percent-decoded.
func artifactPath(uri string) string {
	if rest, ok := strings.CutPrefix(uri, "file://"); ok {
		uri = rest
	}
	return unescape(uri)
}
