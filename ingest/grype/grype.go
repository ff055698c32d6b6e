// Package grype reads Grype JSON reports (grype -o json) into normalized
// findings, decoding one match at a time so that a large report is never
// held in memory whole.
//
// # What is read
//
// matches[] are findings; ignoredMatches[] (matches an ignore rule
// suppressed) are findings with Suppression "grype:ignored" and the rules'
// reasons (or VEX justifications) as StatusReason. source and descriptor
// give the scan. distro and the per-match matchDetails, cvss and advisories
// are not read.
//
// # Identity
//
// Grype has no fingerprint of its own. The key is the "|"-separated
// composite ("%" and "|" inside a part escaped as %25 and %7C)
//
//	vulnerability.id|artifact.name|artifact.type|location path|location path...
//
// with the artifact's location paths sorted and without repeats. Layer ids
// (image digests) and the artifact's version are left out, so a rebuilt
// image, or a package upgraded to a version that is still vulnerable, keeps
// its findings.
//
// # Severity and enrichment
//
// Severity is vulnerability.severity through ingest.ParseSeverity
// (Negligible is ingest.Low); OriginalSeverity keeps the word as written.
// CVE is vulnerability.id when it is a CVE, otherwise the first CVE among
// relatedVulnerabilities[].id; the other ids are Aliases. EPSS comes from
// vulnerability.epss[] (or relatedVulnerabilities[].epss[]), preferring the
// entry for the chosen CVE; KEV is true when vulnerability.knownExploited
// (or a related vulnerability's) is a non-empty list or true.
// FixedVersion is vulnerability.fix.versions joined with ", " when
// fix.state is "fixed", and empty otherwise.
//
// # Kind, asset and scan
//
// A match whose artifact has a location in an image layer (layerID) is
// ingest.Container, any other ingest.SCA; the kind is taken from the match
// itself because Grype writes source after all matches. Scan.Kinds lists
// the kind the source implies (image: container; directory or file: sca)
// and every kind emitted. Scan.Asset is ingest.ImageAsset of
// source.target.userInput for images and ingest.RepoAsset of the target
// otherwise; Scan.Time is descriptor.timestamp and Scan.ScannerVersion
// descriptor.version.
//
// # Limits
//
// One match or header object larger than 16 MiB is a FormatError, and so
// is a JSON string longer than 1 MiB, except inside a match's fields that
// the parser does not read.
package grype

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/jsonstream"
)

// Format is the Scan.Format and FormatError.Format of this parser.
const Format = "grype"

// Limits of the report reader (see the package documentation).
const (
	maxValue  = 16 << 20 // bytes of one match or header object
	maxString = 1 << 20  // bytes of one string
)

// Parser reads Grype JSON reports. The zero value is ready to use.
type Parser struct{}

var _ ingest.Parser = Parser{}

// Detect reports whether head, the first bytes (at most 64 KiB) of a file,
// looks like a Grype JSON report: an object whose matches array holds
// objects with a vulnerability or an artifact, or is empty beside source
// or descriptor.
func Detect(head []byte) bool {
	s := jsonstream.ReadShape(head)
	if s.Array || !s.Keys["matches"] {
		return false
	}
	m, ok := s.First["matches"]
	if !ok {
		return false
	}
	if len(m) == 0 {
		return s.Keys["source"] || s.Keys["descriptor"]
	}
	return m["vulnerability"] || m["artifact"]
}

type epss struct {
	CVE        string  `json:"cve"`
	EPSS       float64 `json:"epss"`
	Percentile float64 `json:"percentile"`
}

// kev is knownExploited: Grype writes a list of CISA KEV entries; a
// boolean is accepted too.
type kev bool

func (k *kev) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*k = false
	case bytes.Equal(b, []byte("true")), bytes.Equal(b, []byte("false")):
		*k = b[0] == 't'
	case len(b) > 0 && b[0] == '[':
		var list []json.RawMessage
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		*k = len(list) > 0
	default:
		value := "number"
		if len(b) > 0 && b[0] == '"' {
			value = "string"
		} else if len(b) > 0 && b[0] == '{' {
			value = "object"
		}
		return &json.UnmarshalTypeError{Value: value, Type: reflect.TypeFor[[]any]()}
	}
	return nil
}

type related struct {
	ID             string `json:"id"`
	EPSS           []epss `json:"epss"`
	KnownExploited kev    `json:"knownExploited"`
}

type match struct {
	Vulnerability struct {
		// ID, EPSS and KnownExploited are those of related, not embedded
		// so that decoding errors name the report's own path.
		ID             string `json:"id"`
		EPSS           []epss `json:"epss"`
		KnownExploited kev    `json:"knownExploited"`
		DataSource     string `json:"dataSource"`
		Severity       string `json:"severity"`
		Fix            struct {
			Versions []string `json:"versions"`
			State    string   `json:"state"`
		} `json:"fix"`
	} `json:"vulnerability"`
	RelatedVulnerabilities []related `json:"relatedVulnerabilities"`
	Artifact               struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Type      string `json:"type"`
		Locations []struct {
			Path    string `json:"path"`
			LayerID string `json:"layerID"`
		} `json:"locations"`
	} `json:"artifact"`
	// AppliedIgnoreRules is only in ignoredMatches.
	AppliedIgnoreRules []struct {
		Reason           string `json:"reason"`
		VexJustification string `json:"vex-justification"`
	} `json:"appliedIgnoreRules"`
}

type parse struct {
	ctx  context.Context
	rd   *jsonstream.Decoder
	emit func(ingest.Finding) error

	hasMatches bool
	source     struct {
		Type   string          `json:"type"`
		Target json.RawMessage `json:"target"`
	}
	descriptor struct {
		Version   string `json:"version"`
		Timestamp string `json:"timestamp"`
	}
	time    time.Time
	emitted map[ingest.Kind]bool
}

// Parse reads one Grype JSON report from r, calling emit for every match in
// report order, and returns the scan once the report has been read to its
// end. A malformed, truncated or wrongly typed report is a
// *ingest.FormatError; an error from emit or ctx is returned as is.
func (Parser) Parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error) (ingest.Scan, error) {
	rd := jsonstream.New(r, jsonstream.Options{Format: Format, MaxString: maxString, MaxValue: maxValue, Wording: jsonstream.IsWant})
	p := &parse{ctx: ctx, rd: rd, emit: emit, emitted: map[ingest.Kind]bool{}}
	if err := p.report(); err != nil {
		return ingest.Scan{}, err
	}
	return p.scan()
}

func (p *parse) report() error {
	rd := p.rd
	err := rd.Object(p.ctx, func(k string) error {
		switch k {
		case "matches":
			p.hasMatches = true
			return rd.Array(p.ctx, func(int) error { return p.match("") })
		case "ignoredMatches":
			return rd.Array(p.ctx, func(int) error { return p.match("grype:ignored") })
		case "source":
			if err := rd.Decode(&p.source); err != nil {
				return err
			}
			return rd.CheckString("type", p.source.Type)
		case "descriptor":
			if err := rd.Decode(&p.descriptor); err != nil {
				return err
			}
			if err := rd.CheckString("version", p.descriptor.Version); err != nil {
				return err
			}
			if p.descriptor.Timestamp != "" {
				t, err := time.Parse(time.RFC3339Nano, p.descriptor.Timestamp)
				if err != nil {
					return rd.Errorf("timestamp", "not an RFC 3339 time: %s", jsonstream.Brief(p.descriptor.Timestamp))
				}
				p.time = t
			}
		default:
			return rd.Skip()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := rd.End(); err != nil {
		return err
	}
	if !p.hasMatches {
		return rd.Errorf("", "missing matches: not a Grype JSON report")
	}
	return nil
}

// match reads one element of matches or ignoredMatches.
func (p *parse) match(supp string) error {
	rd := p.rd
	var m match
	if err := rd.Decode(&m); err != nil {
		return err
	}
	v, a := &m.Vulnerability, &m.Artifact
	if v.ID == "" {
		return rd.Errorf("vulnerability.id", "missing")
	}
	if a.Name == "" {
		return rd.Errorf("artifact.name", "missing")
	}
	for _, f := range [...]struct{ sub, s string }{
		{"vulnerability.id", v.ID}, {"vulnerability.dataSource", v.DataSource}, {"vulnerability.severity", v.Severity},
		{"artifact.name", a.Name}, {"artifact.version", a.Version}, {"artifact.type", a.Type},
	} {
		if err := rd.CheckString(f.sub, f.s); err != nil {
			return err
		}
	}
	if err := rd.CheckStrings("vulnerability.fix.versions", v.Fix.Versions); err != nil {
		return err
	}

	f := ingest.Finding{
		Kind:             ingest.SCA,
		RuleID:           v.ID,
		Severity:         ingest.ParseSeverity(v.Severity),
		OriginalSeverity: v.Severity,
		Package:          a.Name,
		InstalledVersion: a.Version,
		URL:              v.DataSource,
		Suppression:      supp,
	}

	var paths []string
	for i, l := range a.Locations {
		if err := rd.CheckString(fmt.Sprintf("artifact.locations[%d].path", i), l.Path); err != nil {
			return err
		}
		if l.LayerID != "" {
			f.Kind = ingest.Container
		}
		if l.Path != "" && !slices.Contains(paths, l.Path) {
			paths = append(paths, l.Path)
		}
	}
	slices.Sort(paths)
	if len(paths) > 0 {
		f.File = paths[0]
	}
	f.Key = ingest.CompositeKey(append([]string{v.ID, a.Name, a.Type}, paths...)...)
	f.KeySource = "composite:vulnerability+package+type+locations"

	all := append([]related{{ID: v.ID, EPSS: v.EPSS, KnownExploited: v.KnownExploited}}, m.RelatedVulnerabilities...)
	for i, r := range all {
		sub := "vulnerability"
		if i > 0 {
			sub = fmt.Sprintf("relatedVulnerabilities[%d]", i-1)
		}
		if err := rd.CheckString(sub+".id", r.ID); err != nil {
			return err
		}
		if f.CVE == "" && strings.HasPrefix(r.ID, "CVE-") {
			f.CVE = r.ID
		}
		f.KEV = f.KEV || bool(r.KnownExploited)
		for j, e := range r.EPSS {
			if e.EPSS < 0 || e.EPSS > 1 || e.Percentile < 0 || e.Percentile > 1 {
				return rd.Errorf(fmt.Sprintf("%s.epss[%d]", sub, j), "epss %g or percentile %g outside [0, 1]", e.EPSS, e.Percentile)
			}
		}
	}
	for _, r := range all {
		if r.ID != "" && r.ID != f.CVE && !slices.Contains(f.Aliases, r.ID) {
			f.Aliases = append(f.Aliases, r.ID)
		}
	}
	if e, ok := pickEPSS(all, f.CVE); ok {
		f.EPSS, f.EPSSPercentile, f.HasEPSS = e.EPSS, e.Percentile, true
	}
	if v.Fix.State == "fixed" {
		f.FixedVersion = strings.Join(v.Fix.Versions, ", ")
	}

	var reasons []string
	for _, r := range m.AppliedIgnoreRules {
		for _, s := range []string{r.Reason, r.VexJustification} {
			if s != "" && !slices.Contains(reasons, s) {
				reasons = append(reasons, s)
			}
		}
	}
	f.StatusReason = strings.Join(reasons, "; ")
	if err := rd.CheckString("appliedIgnoreRules", f.StatusReason); err != nil {
		return err
	}

	p.emitted[f.Kind] = true
	return p.emit(f)
}

// pickEPSS returns the EPSS entry for cve, else the first entry, looking at
// the vulnerability before its related vulnerabilities.
func pickEPSS(all []related, cve string) (epss, bool) {
	if cve != "" {
		for _, r := range all {
			for _, e := range r.EPSS {
				if e.CVE == cve {
					return e, true
				}
			}
		}
	}
	for _, r := range all {
		if len(r.EPSS) > 0 {
			return r.EPSS[0], true
		}
	}
	return epss{}, false
}

// scan is the report's scan, once it has been read whole.
func (p *parse) scan() (ingest.Scan, error) {
	s := ingest.Scan{
		Format:         Format,
		Scanner:        "grype",
		ScannerVersion: p.descriptor.Version,
		Time:           p.time,
	}
	covered := map[ingest.Kind]bool{}
	const at = "source.target"
	target := bytes.TrimSpace(p.source.Target)
	switch {
	case len(target) == 0 || bytes.Equal(target, []byte("null")):
	case target[0] == '"':
		var t string
		if err := json.Unmarshal(target, &t); err != nil {
			return s, p.rd.Errorf(at, "malformed string")
		}
		if err := p.rd.CheckString(at, t); err != nil {
			return s, err
		}
		if p.source.Type != "unknown" {
			s.Asset = ingest.RepoAsset(t)
		}
	case target[0] == '{':
		var t struct {
			UserInput string   `json:"userInput"`
			Tags      []string `json:"tags"`
		}
		if err := json.Unmarshal(target, &t); err != nil {
			return s, p.rd.Errorf(at, "malformed image target: %v", err)
		}
		ref := t.UserInput
		if ref == "" && len(t.Tags) > 0 {
			ref = t.Tags[0]
		}
		if err := p.rd.CheckString(at+".userInput", ref); err != nil {
			return s, err
		}
		if p.source.Type == "image" {
			s.Asset = ingest.ImageAsset(ref)
		} else {
			s.Asset = ingest.RepoAsset(ref)
		}
	default:
		return s, p.rd.Errorf(at, "is neither a string nor an object")
	}
	switch p.source.Type {
	case "image":
		covered[ingest.Container] = true
	case "directory", "file":
		covered[ingest.SCA] = true
	}
	for _, k := range ingest.Kinds {
		if covered[k] || p.emitted[k] {
			s.Kinds = append(s.Kinds, k)
		}
	}
	return s, nil
}
