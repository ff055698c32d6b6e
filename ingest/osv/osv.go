// Package osv reads OSV-Scanner JSON output (osv-scanner --format json)
// into normalized findings, one package at a time: a package's OSV records
// are reduced to the few fields used as they are decoded, so a large
// report is never held in memory whole.
//
// # Groups
//
// OSV-Scanner lists, per package, every OSV record that affects it
// (vulnerabilities[]) and groups the records that are aliases of each other
// (groups[]: a GHSA advisory and the PYSEC record of the same flaw). One
// group of one package is one finding. Records no group names are a finding
// each, and so is every record when the output has no groups (older
// OSV-Scanner). CVE is the first CVE id, in sorted order, among the group's
// ids, its aliases and the aliases of its records; every other id is an
// Alias. RuleID is the group's first id in sorted order.
//
// # Identity
//
// The key is the "|"-separated composite ("%" and "|" inside a part
// escaped as %25 and %7C)
//
//	first id|ecosystem|package name|source path
//
// where the first id is the smallest of the group's ids. The first id is
// used rather than all of them because OSV adds alias records over time
// (a PYSEC record for an existing GHSA advisory), which would change a key
// made of the whole id list; the version is left out so that an upgrade
// that is still vulnerable keeps its finding. The source path is kept as
// OSV-Scanner writes it, which is an absolute path on the scanning
// machine: scan from the same directory to keep keys stable.
//
// # Severity
//
// A group's max_severity (a CVSS base score written as a string, in
// OSV-Scanner 1.9 and later) gives Severity through
// ingest.SeverityFromScore, and is kept as OriginalSeverity. Without it,
// the highest CVSS v3 base score computed from the group's records'
// severity[] vectors is used (OriginalSeverity is that vector), and
// without one of those the highest database_specific.severity word
// (GitHub's "MODERATE", ...) through ingest.ParseSeverity. CVSS v2 and v4
// vectors are not scored. Otherwise Severity is ingest.Unknown.
//
// # Fixed version
//
// FixedVersion joins with ", " the distinct "fixed" events of the
// ECOSYSTEM and SEMVER ranges of the group's records' affected[] entries for
// this package (same name, ignoring case; same ecosystem before any ":"
// suffix). GIT ranges name commits, not versions, and are not used.
//
// # Scan
//
// Every finding is ingest.SCA (package name and version as read, the commit
// for git sources) with File the source path. The output names neither the
// asset, the scan time nor the scanner version; Scan.Kinds is [sca].
// OSV-Scanner drops ignored vulnerabilities from its output, so there is
// no suppression to read.
//
// # Limits
//
// One OSV record or other value read whole that is larger than 16 MiB is a
// FormatError, and so is a JSON string longer than 1 MiB, except inside a
// record's fields that the parser does not read.
package osv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/jsonstream"
)

// Format is the Scan.Format and FormatError.Format of this parser.
const Format = "osv-scanner"

// Limits of the report reader (see the package documentation).
const (
	maxValue  = 16 << 20 // bytes of one OSV record or other value read whole
	maxString = 1 << 20  // bytes of one string
)

// Parser reads OSV-Scanner JSON output. The zero value is ready to use.
type Parser struct{}

var _ ingest.Parser = Parser{}

// Detect reports whether head, the first bytes (at most 64 KiB) of a file,
// looks like OSV-Scanner JSON output: an object whose results array holds
// objects with a source or packages, or is empty with nothing beside it but
// OSV-Scanner's experimental_config.
func Detect(head []byte) bool {
	s := jsonstream.ReadShape(head)
	if s.Array || !s.Keys["results"] {
		return false
	}
	r, ok := s.First["results"]
	if !ok {
		return false
	}
	if len(r) == 0 {
		for k := range s.Keys {
			if k != "results" && k != "experimental_config" {
				return false
			}
		}
		return true
	}
	return r["source"] || r["packages"]
}

// loose accepts any JSON value and keeps it only when it is a string.
type loose string

func (l *loose) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, (*string)(l))
	}
	*l = ""
	return nil
}

// record is the part of an OSV record that is read.
type record struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases"`
	Summary  string   `json:"summary"`
	Severity []struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	} `json:"severity"`
	DatabaseSpecific struct {
		Severity loose `json:"severity"`
	} `json:"database_specific"`
	Affected []struct {
		Package struct {
			Name      string `json:"name"`
			Ecosystem string `json:"ecosystem"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Fixed string `json:"fixed"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

// fix is the fixed versions a record gives for one affected package.
type fix struct {
	name, ecosystem string
	fixed           []string
}

// vuln is a record reduced to what makes a finding.
type vuln struct {
	id, summary string
	aliases     []string
	score       float64 // highest CVSS v3 base score; -1 when none
	vector      string  // the vector of score
	word        string  // database_specific.severity
	fixes       []fix
}

type group struct {
	IDs         []string `json:"ids"`
	Aliases     []string `json:"aliases"`
	MaxSeverity string   `json:"max_severity"`
}

type pkg struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Ecosystem string `json:"ecosystem"`
	Commit    string `json:"commit"`
}

type parse struct {
	ctx  context.Context
	rd   *jsonstream.Decoder
	emit func(ingest.Finding) error
}

// Parse reads one OSV-Scanner JSON output from r, calling emit for every
// finding in report order, and returns the scan once the output has been
// read to its end. A malformed, truncated or wrongly typed output is a
// *ingest.FormatError; an error from emit or ctx is returned as is.
func (Parser) Parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error) (ingest.Scan, error) {
	rd := jsonstream.New(r, jsonstream.Options{Format: Format, MaxString: maxString, MaxValue: maxValue, Wording: jsonstream.IsWant})
	p := &parse{ctx: ctx, rd: rd, emit: emit}
	hasResults := false
	err := rd.Object(ctx, func(k string) error {
		if k != "results" {
			return rd.Skip()
		}
		hasResults = true
		return rd.Array(ctx, func(int) error { return p.result() })
	})
	if err == nil {
		err = rd.End()
	}
	if err == nil && !hasResults {
		err = rd.Errorf("", "missing results: not OSV-Scanner JSON output")
	}
	if err != nil {
		return ingest.Scan{}, err
	}
	return ingest.Scan{Format: Format, Scanner: "osv-scanner", Kinds: []ingest.Kind{ingest.SCA}}, nil
}

// result reads one results entry. Its findings are emitted package by
// package once its source is known; when source comes after packages they
// wait for it.
func (p *parse) result() error {
	rd := p.rd
	var (
		source struct {
			Path string `json:"path"`
			Type string `json:"type"`
		}
		hasSource bool
		waiting   []ingest.Finding
	)
	send := func(f ingest.Finding) error {
		if !hasSource {
			waiting = append(waiting, f)
			return nil
		}
		return p.emit(withSource(f, source.Path))
	}
	err := rd.Object(p.ctx, func(k string) error {
		switch k {
		case "source":
			if err := rd.Decode(&source); err != nil {
				return err
			}
			hasSource = true
			return rd.CheckString("path", source.Path)
		case "packages":
			return rd.Array(p.ctx, func(int) error { return p.pkg(send) })
		default:
			return rd.Skip()
		}
	})
	if err != nil {
		return err
	}
	if !hasSource {
		return rd.Errorf("", "missing source")
	}
	for _, f := range waiting {
		if err := p.emit(withSource(f, source.Path)); err != nil {
			return err
		}
	}
	return nil
}

// withSource completes a package's finding with its source path: File,
// and the last part of the key (ingest.CompositeKey(a, b, c, d) is ingest.CompositeKey(a, b, c) + "|" +
// ingest.CompositeKey(d)).
func withSource(f ingest.Finding, source string) ingest.Finding {
	f.File = source
	f.Key += "|" + ingest.CompositeKey(source)
	return f
}

// pkg reads one packages entry and sends its findings, keyed without the
// source path, in group order.
func (p *parse) pkg(send func(ingest.Finding) error) error {
	rd := p.rd
	var (
		info   pkg
		vulns  []vuln
		groups []group
	)
	err := rd.Object(p.ctx, func(k string) error {
		switch k {
		case "package":
			if err := rd.Decode(&info); err != nil {
				return err
			}
			for _, s := range [...]struct{ name, s string }{
				{"name", info.Name}, {"version", info.Version}, {"ecosystem", info.Ecosystem}, {"commit", info.Commit},
			} {
				if err := rd.CheckString(s.name, s.s); err != nil {
					return err
				}
			}
		case "vulnerabilities":
			return rd.Array(p.ctx, func(int) error {
				v, err := p.record()
				vulns = append(vulns, v)
				return err
			})
		case "groups":
			if err := rd.Decode(&groups); err != nil {
				return err
			}
			for i, g := range groups {
				if len(g.IDs) == 0 {
					return rd.Errorf(fmt.Sprintf("[%d].ids", i), "missing: a group names at least one vulnerability")
				}
				if err := rd.CheckStrings(fmt.Sprintf("[%d].ids", i), g.IDs); err != nil {
					return err
				}
				if err := rd.CheckStrings(fmt.Sprintf("[%d].aliases", i), g.Aliases); err != nil {
					return err
				}
			}
		default:
			return rd.Skip()
		}
		return nil
	})
	if err != nil {
		return err
	}

	// Every record no group names is a group of its own.
	named := map[string]bool{}
	for _, g := range groups {
		for _, id := range g.IDs {
			named[id] = true
		}
	}
	for _, v := range vulns {
		if !named[v.id] {
			groups = append(groups, group{IDs: []string{v.id}})
			named[v.id] = true
		}
	}
	for i, g := range groups {
		f, err := p.finding(i, info, g, vulns)
		if err != nil {
			return err
		}
		if err := send(f); err != nil {
			return err
		}
	}
	return nil
}

// record reads one OSV record and reduces it.
func (p *parse) record() (vuln, error) {
	rd := p.rd
	var r record
	if err := rd.Decode(&r); err != nil {
		return vuln{}, err
	}
	if r.ID == "" {
		return vuln{}, rd.Errorf("id", "missing")
	}
	for _, s := range [...]struct{ name, s string }{
		{"id", r.ID}, {"summary", r.Summary}, {"database_specific.severity", string(r.DatabaseSpecific.Severity)},
	} {
		if err := rd.CheckString(s.name, s.s); err != nil {
			return vuln{}, err
		}
	}
	if err := rd.CheckStrings("aliases", r.Aliases); err != nil {
		return vuln{}, err
	}
	v := vuln{id: r.ID, summary: r.Summary, aliases: r.Aliases, score: -1, word: string(r.DatabaseSpecific.Severity)}
	for i, s := range r.Severity {
		if err := rd.CheckString(fmt.Sprintf("severity[%d].score", i), s.Score); err != nil {
			return vuln{}, err
		}
		if score, ok := cvss3(s.Score); ok && score > v.score {
			v.score, v.vector = score, s.Score
		}
	}
	for i, a := range r.Affected {
		fx := fix{name: a.Package.Name, ecosystem: a.Package.Ecosystem}
		for j, rg := range a.Ranges {
			if rg.Type != "ECOSYSTEM" && rg.Type != "SEMVER" {
				continue
			}
			for k, e := range rg.Events {
				if err := rd.CheckString(fmt.Sprintf("affected[%d].ranges[%d].events[%d].fixed", i, j, k), e.Fixed); err != nil {
					return vuln{}, err
				}
				if e.Fixed != "" {
					fx.fixed = append(fx.fixed, e.Fixed)
				}
			}
		}
		if len(fx.fixed) > 0 {
			v.fixes = append(v.fixes, fx)
		}
	}
	return v, nil
}

// finding makes the finding of group g (groups[gi]) of package info.
func (p *parse) finding(gi int, info pkg, g group, vulns []vuln) (ingest.Finding, error) {
	ids := slices.Clone(g.IDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var members []*vuln
	for _, id := range ids {
		for i := range vulns {
			if vulns[i].id == id {
				members = append(members, &vulns[i])
				break
			}
		}
	}

	all := append(slices.Clone(ids), g.Aliases...)
	for _, v := range members {
		all = append(all, v.aliases...)
	}
	slices.Sort(all)
	all = slices.Compact(all)

	f := ingest.Finding{
		Key:              ingest.CompositeKey(ids[0], info.Ecosystem, info.Name),
		KeySource:        "composite:first-id+ecosystem+package+source",
		Kind:             ingest.SCA,
		RuleID:           ids[0],
		Severity:         ingest.Unknown,
		Package:          info.Name,
		InstalledVersion: info.Version,
		URL:              "https://osv.dev/vulnerability/" + ids[0],
	}
	if f.InstalledVersion == "" {
		f.InstalledVersion = info.Commit
	}
	for _, id := range all {
		if f.CVE == "" && strings.HasPrefix(id, "CVE-") {
			f.CVE = id
		} else if id != "" {
			f.Aliases = append(f.Aliases, id)
		}
	}
	for _, v := range members {
		if v.summary != "" {
			f.Title = v.summary
			break
		}
	}

	score, vector, word := -1.0, "", ""
	for _, v := range members {
		if v.score > score {
			score, vector = v.score, v.vector
		}
		if v.word != "" && (word == "" || rank(ingest.ParseSeverity(v.word)) < rank(ingest.ParseSeverity(word))) {
			word = v.word
		}
	}
	switch {
	case g.MaxSeverity != "":
		s, err := strconv.ParseFloat(g.MaxSeverity, 64)
		if err != nil {
			return f, p.rd.Errorf(fmt.Sprintf("groups[%d].max_severity", gi), "not a CVSS score: %s", jsonstream.Brief(g.MaxSeverity))
		}
		f.Severity, f.OriginalSeverity = ingest.SeverityFromScore(s), g.MaxSeverity
	case score >= 0:
		f.Severity, f.OriginalSeverity = ingest.SeverityFromScore(score), vector
	case word != "":
		f.Severity, f.OriginalSeverity = ingest.ParseSeverity(word), word
	}

	var fixed []string
	for _, v := range members {
		for _, fx := range v.fixes {
			if !strings.EqualFold(fx.name, info.Name) || !sameEcosystem(fx.ecosystem, info.Ecosystem) {
				continue
			}
			for _, s := range fx.fixed {
				if !slices.Contains(fixed, s) {
					fixed = append(fixed, s)
				}
			}
		}
	}
	f.FixedVersion = strings.Join(fixed, ", ")
	return f, nil
}

// rank orders severities, most severe first.
func rank(s ingest.Severity) int {
	return slices.Index(ingest.Severities, s)
}

// sameEcosystem compares ecosystems ignoring case and a release suffix
// ("Debian:12" is "Debian").
func sameEcosystem(a, b string) bool {
	a, _, _ = strings.Cut(a, ":")
	b, _, _ = strings.Cut(b, ":")
	return strings.EqualFold(a, b)
}
