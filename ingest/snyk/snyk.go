// Package snyk reads the JSON output of snyk test --json and
// snyk container test --json: one project object, or an array of them
// (--all-projects, or a container test with application projects).
//
// # Findings and deduplication
//
// Snyk lists a vulnerability once per dependency path: the same id appears
// in vulnerabilities[] once for every "from" chain that pulls the vulnerable
// package in. One weakness of a project is one finding: entries with the
// same (id, package, version) within a project are merged, so a project
// with 880 vulnerable paths through 158 such triples gives 158 findings.
// Projects are never merged with each other. Entries of type "license"
// (license policy issues) are not weaknesses and are not read.
//
// Because of the merge, and because Snyk writes projectName and the target
// file after the vulnerabilities, a project's findings are held until the
// project has been read, then emitted in the order of their first entry;
// memory is bounded by the distinct findings of one project, not by the
// number of paths or projects.
//
// # Identity
//
// Snyk has no fingerprint. The key is the "|"-separated composite ("%" and
// "|" inside a part escaped as %25 and %7C)
//
//	displayTargetFile|id|packageName|version
//
// (targetFile when displayTargetFile is empty). The version is part of the
// key because the same package can be installed at two versions in one
// project; an upgrade that is still vulnerable therefore closes the old
// finding and opens a new one.
//
// # Severity
//
// Severity is severityWithCritical when present (older Snyk output caps
// severity at high and adds severityWithCritical), else severity, through
// ingest.ParseSeverity; OriginalSeverity keeps that word as written. CVE
// is identifiers.CVE[0]; the further CVEs and identifiers.GHSA are Aliases
// (CWE ids are weakness classes, not aliases, and are not kept).
// FixedVersion is fixedIn joined with ", ".
//
// # Suppression
//
// Entries under filtered.ignore[] were ignored through a .snyk policy or
// the Snyk UI. A finding all of whose entries are ignored gets Suppression
// "snyk:ignore", StatusReason the distinct reasons joined with "; " and
// StatusUntil the earliest expiry among the applied rules (when one path's
// ignore expires the finding is open again). A finding with any entry
// left in vulnerabilities[] is open: some path is not ignored.
//
// # Kind, asset and scan
//
// A project is ingest.Container when it has a "docker" member, its
// projectName starts with "docker-image|" or its packageManager is
// "docker"; otherwise ingest.SCA. Its asset is ingest.ImageAsset of the
// image name for containers and ingest.RepoAsset(projectName) otherwise.
// For a single project that is Scan.Asset; for an array every finding
// carries its project's asset in Finding.Asset and Scan.Asset is set only
// when all projects share one. Scan.Kinds lists the kinds of the projects.
// Snyk's JSON carries neither the scan time nor the CLI version.
//
// A project object that only reports an error ({"ok": false, "error": ...})
// is a FormatError: the scan is incomplete.
//
// # Limits
//
// One vulnerability entry or other value read whole that is larger than
// 16 MiB is a FormatError, and so is a JSON string longer than 1 MiB,
// except inside an entry's fields that the parser does not read.
package snyk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/jsonstream"
)

// Format is the Scan.Format and FormatError.Format of this parser.
const Format = "snyk"

// Limits of the report reader (see the package documentation).
const (
	maxValue  = 16 << 20 // bytes of one vulnerability entry or other value read whole
	maxString = 1 << 20  // bytes of one string
)

// Parser reads snyk test --json output. The zero value is ready to use.
type Parser struct{}

var _ ingest.Parser = Parser{}

// Detect reports whether head, the first bytes (at most 64 KiB) of a file,
// looks like snyk test --json output: a project object (or an array whose
// first element is one) with vulnerabilities whose first entry has Snyk's
// own fields, or with no vulnerabilities beside packageManager,
// projectName or dependencyCount.
func Detect(head []byte) bool {
	s := jsonstream.ReadShape(head)
	if !s.Keys["vulnerabilities"] {
		return false
	}
	v, ok := s.First["vulnerabilities"]
	if ok && len(v) == 0 {
		return s.Keys["packageManager"] || s.Keys["projectName"] || s.Keys["dependencyCount"]
	}
	for _, k := range []string{"packageName", "moduleName", "from", "semver", "alternativeIds", "upgradePath", "isUpgradable"} {
		if v[k] {
			return true
		}
	}
	return false
}

type vuln struct {
	ID                   string   `json:"id"`
	Type                 string   `json:"type"`
	Title                string   `json:"title"`
	Severity             string   `json:"severity"`
	SeverityWithCritical string   `json:"severityWithCritical"`
	PackageName          string   `json:"packageName"`
	Name                 string   `json:"name"`
	Version              string   `json:"version"`
	FixedIn              []string `json:"fixedIn"`
	Identifiers          struct {
		CVE  []string `json:"CVE"`
		GHSA []string `json:"GHSA"`
	} `json:"identifiers"`
	Filtered struct {
		Ignored []struct {
			Reason  string `json:"reason"`
			Expires string `json:"expires"`
		} `json:"ignored"`
	} `json:"filtered"`
}

// entry is one finding of a project, merged from its paths.
type entry struct {
	f       ingest.Finding
	open    bool // some path is not ignored
	reasons []string
	until   time.Time
}

type project struct {
	name, displayTarget, target, pkgMgr string
	image                               string // path: the image reference of a container test
	docker, hasVulns                    bool
	errMsg                              string
	entries                             []*entry
	byID                                map[string]*entry // by id, package and version
}

type parse struct {
	ctx  context.Context
	rd   *jsonstream.Decoder
	emit func(ingest.Finding) error

	array  bool
	assets []string
	kinds  map[ingest.Kind]bool
}

// Parse reads one snyk test --json output from r, calling emit for every
// finding (projects in order, each project's findings in the order of
// their first path), and returns the scan once the output has been read to
// its end. A malformed, truncated or wrongly typed output, or a project
// that reports an error, is a *ingest.FormatError; an error from emit or
// ctx is returned as is.
func (Parser) Parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error) (ingest.Scan, error) {
	rd := jsonstream.New(r, jsonstream.Options{Format: Format, MaxString: maxString, MaxValue: maxValue, Wording: jsonstream.IsWant})
	p := &parse{ctx: ctx, rd: rd, emit: emit, kinds: map[ingest.Kind]bool{}}
	t, err := rd.Token()
	if err != nil {
		return ingest.Scan{}, err
	}
	switch t {
	case json.Delim('{'):
		err = p.project(true)
	case json.Delim('['):
		p.array = true
		err = rd.Elements(ctx, func(int) error { return p.project(false) })
	default:
		return ingest.Scan{}, rd.Errorf("", "is %s, want a project object or an array of them", jsonstream.Describe(t))
	}
	if err == nil {
		err = rd.End()
	}
	if err != nil {
		return ingest.Scan{}, err
	}
	s := ingest.Scan{Format: Format, Scanner: "snyk"}
	for _, k := range ingest.Kinds {
		if p.kinds[k] {
			s.Kinds = append(s.Kinds, k)
		}
	}
	if len(p.assets) > 0 && !slices.ContainsFunc(p.assets, func(a string) bool { return a != p.assets[0] }) {
		s.Asset = p.assets[0]
	}
	return s, nil
}

// project reads one project object; opened says its "{" has been read.
func (p *parse) project(opened bool) error {
	rd := p.rd
	pr := &project{byID: map[string]*entry{}}
	member := func(k string) error {
		var s *string
		switch k {
		case "vulnerabilities":
			pr.hasVulns = true
			return rd.Array(p.ctx, func(int) error { return p.vuln(pr, false) })
		case "filtered":
			return rd.Object(p.ctx, func(k string) error {
				if k != "ignore" {
					return rd.Skip()
				}
				return rd.Array(p.ctx, func(int) error { return p.vuln(pr, true) })
			})
		case "docker":
			pr.docker = true
			return rd.Skip()
		case "projectName":
			s = &pr.name
		case "displayTargetFile":
			s = &pr.displayTarget
		case "targetFile":
			s = &pr.target
		case "packageManager":
			s = &pr.pkgMgr
		case "path":
			s = &pr.image
		case "error":
			s = &pr.errMsg
		default:
			return rd.Skip()
		}
		if err := rd.Decode(s); err != nil {
			return err
		}
		return rd.CheckString("", *s)
	}
	var err error
	if opened {
		err = rd.Members(p.ctx, member)
	} else {
		err = rd.Object(p.ctx, member)
	}
	if err != nil {
		return err
	}
	if !pr.hasVulns {
		if pr.errMsg != "" {
			return rd.Errorf("", "snyk reported an error instead of results: %s", jsonstream.Brief(pr.errMsg))
		}
		return rd.Errorf("", "missing vulnerabilities: not snyk test --json output")
	}
	return p.finish(pr)
}

// vuln reads one entry of vulnerabilities (or, ignored, of filtered.ignore)
// and merges it into its project's findings.
func (p *parse) vuln(pr *project, ignored bool) error {
	rd := p.rd
	var v vuln
	if err := rd.Decode(&v); err != nil {
		return err
	}
	if v.Type == "license" {
		return nil // license policy issues are not weaknesses
	}
	pkg := v.PackageName
	if pkg == "" {
		pkg = v.Name
	}
	switch {
	case v.ID == "":
		return rd.Errorf("id", "missing")
	case pkg == "":
		return rd.Errorf("packageName", "missing (and no name)")
	}
	for _, f := range [...]struct{ name, s string }{
		{"id", v.ID}, {"title", v.Title}, {"severity", v.Severity}, {"severityWithCritical", v.SeverityWithCritical},
		{"packageName", pkg}, {"version", v.Version},
	} {
		if err := rd.CheckString(f.name, f.s); err != nil {
			return err
		}
	}
	if err := rd.CheckStrings("fixedIn", v.FixedIn); err != nil {
		return err
	}
	if err := rd.CheckStrings("identifiers.CVE", v.Identifiers.CVE); err != nil {
		return err
	}
	if err := rd.CheckStrings("identifiers.GHSA", v.Identifiers.GHSA); err != nil {
		return err
	}

	id := ingest.CompositeKey(v.ID, pkg, v.Version)
	e := pr.byID[id]
	if e == nil {
		e = &entry{f: finding(&v, pkg)}
		pr.byID[id] = e
		pr.entries = append(pr.entries, e)
	}
	if !ignored {
		e.open = true
		return nil
	}
	for i, rule := range v.Filtered.Ignored {
		if err := rd.CheckString(fmt.Sprintf("filtered.ignored[%d].reason", i), rule.Reason); err != nil {
			return err
		}
		if rule.Reason != "" && !slices.Contains(e.reasons, rule.Reason) {
			e.reasons = append(e.reasons, rule.Reason)
		}
		if rule.Expires == "" {
			continue
		}
		t, err := parseTime(rule.Expires)
		if err != nil {
			return rd.Errorf(fmt.Sprintf("filtered.ignored[%d].expires", i), "not a date or RFC 3339 time: %s", jsonstream.Brief(rule.Expires))
		}
		if e.until.IsZero() || t.Before(e.until) {
			e.until = t
		}
	}
	return nil
}

// finding makes the project-independent part of an entry's finding.
func finding(v *vuln, pkg string) ingest.Finding {
	sev := v.SeverityWithCritical
	if sev == "" {
		sev = v.Severity
	}
	f := ingest.Finding{
		RuleID:           v.ID,
		Title:            v.Title,
		Severity:         ingest.ParseSeverity(sev),
		OriginalSeverity: sev,
		Package:          pkg,
		InstalledVersion: v.Version,
		FixedVersion:     strings.Join(v.FixedIn, ", "),
		URL:              "https://security.snyk.io/vuln/" + v.ID,
	}
	for _, id := range append(slices.Clone(v.Identifiers.CVE), v.Identifiers.GHSA...) {
		switch {
		case id == "":
		case f.CVE == "" && strings.HasPrefix(id, "CVE-"):
			f.CVE = id
		case id != f.CVE && !slices.Contains(f.Aliases, id):
			f.Aliases = append(f.Aliases, id)
		}
	}
	return f
}

// parseTime reads an ignore rule's expiry: an RFC 3339 time, or a date.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse(time.DateOnly, s)
	}
	return t, err
}

// finish completes a project's findings, now that its name and target file
// are known, and emits them.
func (p *parse) finish(pr *project) error {
	kind := ingest.SCA
	if pr.docker || strings.HasPrefix(pr.name, "docker-image|") || pr.pkgMgr == "docker" {
		kind = ingest.Container
	}
	var asset string
	if kind == ingest.Container {
		ref := strings.TrimPrefix(pr.name, "docker-image|")
		if ref == "" {
			ref = pr.image
		}
		asset = ingest.ImageAsset(ref)
	} else {
		asset = ingest.RepoAsset(pr.name)
	}
	p.kinds[kind] = true
	p.assets = append(p.assets, asset)

	file := pr.displayTarget
	if file == "" {
		file = pr.target
	}
	for _, e := range pr.entries {
		f := e.f
		f.Kind = kind
		f.File = file
		f.Key = ingest.CompositeKey(file, f.RuleID, f.Package, f.InstalledVersion)
		f.KeySource = "composite:targetfile+id+package+version"
		if p.array {
			f.Asset = asset
		}
		if !e.open {
			f.Suppression = "snyk:ignore"
			f.StatusReason = strings.Join(e.reasons, "; ")
			f.StatusUntil = e.until
		}
		if err := p.emit(f); err != nil {
			return err
		}
	}
	return nil
}
