package sarif

import (
	"bytes"
	"encoding/json"
	"strings"
)

// The types below are the parts of SARIF 2.1.0 the parser reads. A wrong
// JSON type in any of them is a FormatError; property bags (properties) are
// tool-defined, so their members are read leniently (see props).

type resultJSON struct {
	RuleID    string `json:"ruleId"`
	RuleIndex *int   `json:"ruleIndex"`
	Rule      *struct {
		ID            string `json:"id"`
		Index         *int   `json:"index"`
		ToolComponent *struct {
			Index *int `json:"index"`
		} `json:"toolComponent"`
	} `json:"rule"`
	Kind                string            `json:"kind"`
	Level               string            `json:"level"`
	Message             messageJSON       `json:"message"`
	Locations           []locationJSON    `json:"locations"`
	Fingerprints        map[string]string `json:"fingerprints"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Suppressions        []suppressionJSON `json:"suppressions"`
	BaselineState       string            `json:"baselineState"`
	Properties          props             `json:"properties"`
}

type messageJSON struct {
	Text string `json:"text"`
}

type locationJSON struct {
	PhysicalLocation *struct {
		ArtifactLocation *struct {
			URI string `json:"uri"`
		} `json:"artifactLocation"`
		Region *struct {
			StartLine *int `json:"startLine"`
			Snippet   *struct {
				Text string `json:"text"`
			} `json:"snippet"`
		} `json:"region"`
	} `json:"physicalLocation"`
}

type suppressionJSON struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

type ruleJSON struct {
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	ShortDescription *messageJSON `json:"shortDescription"`
	HelpURI          string       `json:"helpUri"`
	Help             *messageJSON `json:"help"`
	Default          *struct {
		Level string `json:"level"`
	} `json:"defaultConfiguration"`
	Properties props `json:"properties"`
}

type invocationJSON struct {
	ExecutionSuccessful *bool  `json:"executionSuccessful"`
	StartTimeUTC        string `json:"startTimeUtc"`
	EndTimeUTC          string `json:"endTimeUtc"`
}

type provenanceJSON struct {
	RepositoryURI string `json:"repositoryUri"`
	RevisionID    string `json:"revisionId"`
	Branch        string `json:"branch"`
}

type runPropsJSON struct {
	ImageName json.RawMessage `json:"imageName"`
}

// props is the part of a property bag the parser looks at. The members are
// kept raw and read leniently: a property of an unexpected type is passed
// over, never an error, because property bags are free-form.
type props struct {
	SecuritySeverity json.RawMessage `json:"security-severity"`
	Severity         json.RawMessage `json:"severity"`
	Tags             json.RawMessage `json:"tags"`
	CVE              json.RawMessage `json:"cve"`
	CVEs             json.RawMessage `json:"cves"`
	GHSA             json.RawMessage `json:"ghsa"`
	Purls            json.RawMessage `json:"purls"`
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

// rule is what the parser keeps of a reportingDescriptor: the rules table
// holds these, not the descriptors, so that its size does not grow with the
// rules' help texts.
type rule struct {
	id      string
	name    string
	short   string // shortDescription, shortened
	helpURI string
	level   string // defaultConfiguration.level
	secSev  string // properties["security-severity"] as written; "" when absent
	sevWord string // properties["severity"] when it is a known severity word
	tagSev  string // a tag that is exactly a severity word (older Trivy)
	tags    []string
	vulnIDs []string // vulnerability ids from the id, tags, properties and help
	pkg     string   // from the help text or purls (Grype, Trivy)
	version string
	fixed   string
}

// compactRule keeps what the parser needs of a rule.
func compactRule(rj *ruleJSON) *rule {
	r := &rule{
		id:      rj.ID,
		name:    rj.Name,
		helpURI: rj.HelpURI,
	}
	if rj.ShortDescription != nil {
		r.short = shortTitle(rj.ShortDescription.Text)
	}
	if rj.Default != nil {
		r.level = rj.Default.Level
	}
	r.secSev, _ = scalarText(rj.Properties.SecuritySeverity)
	r.sevWord = severityWord(rj.Properties.Severity)
	r.tags = stringList(rj.Properties.Tags)
	for _, t := range r.tags {
		if isSeverityTag(t) {
			r.tagSev = t
			break
		}
	}
	r.vulnIDs = appendVulnIDs(nil, rj.ID, rj.Properties)
	if rj.Help != nil {
		// Trivy and Grype start their help text with "Vulnerability <id>"
		// and list the package in "Key: value" lines.
		help := rj.Help.Text
		if first, _, _ := strings.Cut(help, "\n"); strings.HasPrefix(first, "Vulnerability ") {
			if id := leadingVulnID(strings.TrimPrefix(first, "Vulnerability ")); id != "" {
				r.vulnIDs = appendUnique(r.vulnIDs, id)
			}
		}
		r.pkg = lineValue(help, "Package: ")
		r.version = lineValue(help, "Version: ")
		if r.version == "" {
			r.version = lineValue(help, "Installed Version: ")
		}
		r.fixed = lineValue(help, "Fix Version: ")
		if r.fixed == "" {
			r.fixed = lineValue(help, "Fixed Version: ")
		}
	}
	if r.pkg == "" {
		for _, p := range stringList(rj.Properties.Purls) {
			if name, version, ok := parsePurl(p); ok {
				r.pkg, r.version = name, version
				break
			}
		}
	}
	return r
}

// severityWord returns a property's text when it is a severity word
// ingest.ParseSeverity knows, else "".
func severityWord(raw json.RawMessage) string {
	s, ok := scalarText(raw)
	if !ok || isUnknownWord(s) {
		return ""
	}
	return s
}

// appendVulnIDs adds the vulnerability ids named by a rule or result: a
// rule id that starts with one, tags that are one, and the cve, cves and
// ghsa properties.
func appendVulnIDs(ids []string, ruleID string, p props) []string {
	if id := leadingVulnID(ruleID); id != "" {
		ids = appendUnique(ids, id)
	}
	for _, t := range stringList(p.Tags) {
		if id := leadingVulnID(t); id != "" && len(id) == len(strings.TrimSpace(t)) {
			ids = appendUnique(ids, id)
		}
	}
	for _, raw := range []json.RawMessage{p.CVE, p.CVEs, p.GHSA} {
		for _, s := range stringList(raw) {
			if id := leadingVulnID(s); id != "" {
				ids = appendUnique(ids, id)
			}
		}
	}
	return ids
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// lineValue returns the rest of the first line of text that starts with
// prefix, trimmed; "" when there is none.
func lineValue(text, prefix string) string {
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// parsePurl returns the name and version of a package URL
// ("pkg:deb/debian/openssl@1.1.1n-0?arch=amd64" gives "openssl",
// "1.1.1n-0"); the namespace is kept for ecosystems that need it
// ("pkg:npm/%40babel/core@7.0.0" gives "@babel/core").
func parsePurl(p string) (name, version string, ok bool) {
	rest, ok := strings.CutPrefix(p, "pkg:")
	if !ok {
		return "", "", false
	}
	rest, _, _ = strings.Cut(rest, "#")
	rest, _, _ = strings.Cut(rest, "?")
	typ, rest, ok := strings.Cut(rest, "/")
	if !ok || typ == "" {
		return "", "", false
	}
	rest, version, _ = strings.Cut(rest, "@")
	name = rest
	switch typ {
	case "deb", "rpm", "apk", "alpm":
		// The namespace is the distribution, not part of the name.
		if i := strings.LastIndexByte(rest, '/'); i >= 0 {
			name = rest[i+1:]
		}
	}
	name = unescape(name)
	version = unescape(version)
	return name, version, name != ""
}
