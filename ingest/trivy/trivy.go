// Package trivy reads Trivy JSON reports (trivy image|fs|repo --format json,
// SchemaVersion 2) into normalized findings, one vulnerability,
// misconfiguration or secret at a time: a report with a million
// vulnerabilities is never held in memory whole.
//
// # What is read
//
// Results[].Vulnerabilities, Results[].Misconfigurations (FAIL and
// EXCEPTION entries; PASS entries are checks that passed, not findings),
// Results[].Secrets and Results[].ModifiedFindings (findings Trivy
// suppressed through .trivyignore, Rego or VEX, shown with
// --show-suppressed). License results and license findings are not
// weaknesses and are not read; Packages and CustomResources are skipped.
// Any other SchemaVersion than 2 is refused.
//
// # Identity
//
// Trivy's own Fingerprint includes the image digest, so it changes on every
// rebuild and is not used. Keys are composites of "|"-separated parts ("%"
// and "|" inside a part are escaped as %25 and %7C):
//
//	vulnerability, Class os-pkgs:  os-pkgs|VulnerabilityID|PkgName|PkgPath
//	vulnerability, other Class:    Class|Target|VulnerabilityID|PkgName|PkgPath
//	misconfiguration:              config|Target|ID|CauseMetadata.Resource
//	                               (config|Target|ID|line:N when Resource is empty)
//	secret:                        secret|Target|RuleID|line:StartLine
//
// The os-pkgs Target names the image and its OS release
// ("alpine:3.10 (alpine 3.10.2)"), so it is left out; there is one os-pkgs
// result per artifact. Other Targets are paths inside the image or
// repository (a lock file, a binary, "Java", "Node.js") and stay. ID is the
// misconfiguration's ID, or its AVDID when ID is empty. A package installed
// twice in one lock file at different versions gives two findings with the
// same key: they are the same weakness of the asset.
//
// # Severity
//
// Severity is Trivy's own Severity word through ingest.ParseSeverity
// (UNKNOWN is ingest.Unknown); OriginalSeverity keeps the word as written.
// The vendor the severity came from (SeveritySource) and per-vendor scores
// are not kept.
//
// # Kind, asset and scan
//
// Vulnerabilities of a container_image artifact are ingest.Container, of any
// other artifact (filesystem, repository, ...) ingest.SCA;
// misconfigurations are ingest.IaC and secrets ingest.Secret. Scan.Kinds
// lists the kinds whose Result classes the report contains (os-pkgs and
// lang-pkgs for the vulnerability kind, config, secret): Trivy writes a
// package result even when it found nothing in it, and writes none when the
// vulnerability scanner was off, so a secret-only scan of an image does not
// claim to be complete for container findings. Scan.Asset is
// ingest.ImageAsset of Metadata.RepoTags[0] (else ArtifactName) for images,
// and ingest.RepoAsset of Metadata.RepoURL (else ArtifactName) otherwise;
// Scan.Time is CreatedAt, Scan.ScannerVersion is Trivy.Version.
//
// # Suppression
//
// Misconfigurations with Status EXCEPTION get Suppression "trivy:exception".
// ModifiedFindings get Suppression "trivy:" + their Status ("trivy:ignored"
// for .trivyignore and Rego, "trivy:not_affected" or "trivy:fixed" for VEX)
// and StatusReason from their Statement.
//
// # Secrets
//
// A secret's Match and Code (which contain the secret) are never decoded
// into anything the parser keeps; a finding carries only the rule, title,
// severity, file and line.
//
// # Order of fields
//
// Findings are streamed when ArtifactType and the result's Target and
// Class come before its arrays, as Trivy writes them. In a reordered report
// findings wait until those fields have been read; more than 10,000 waiting
// findings are a FormatError rather than unbounded memory.
//
// # Limits
//
// One record or header object larger than 16 MiB is a FormatError, and so
// is a JSON string longer than 1 MiB, except inside a record's fields that
// the parser does not read.
package trivy

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/jsonstream"
)

// Format is the Scan.Format and FormatError.Format of this parser.
const Format = "trivy"

// Limits of the report reader (see the package documentation).
const (
	maxValue  = 16 << 20 // bytes of one record or header object
	maxString = 1 << 20  // bytes of one string
)

// maxPending bounds the findings held back while a reordered report has not
// yet said what they belong to.
const maxPending = 10000

// Parser reads Trivy JSON reports. The zero value is ready to use.
type Parser struct{}

var _ ingest.Parser = Parser{}

// Detect reports whether head, the first bytes (at most 64 KiB) of a file,
// looks like a Trivy JSON report: an object with SchemaVersion and one of
// ArtifactName, ArtifactType or Results. It does not check the schema
// version, so that Parse can refuse other versions with a clear error.
func Detect(head []byte) bool {
	s := jsonstream.ReadShape(head)
	return !s.Array && s.Keys["SchemaVersion"] &&
		(s.Keys["ArtifactName"] || s.Keys["ArtifactType"] || s.Keys["Results"])
}

// record is one entry of Vulnerabilities, Misconfigurations or Secrets (or
// the Finding of a ModifiedFinding): the union of the fields read from
// each. Match and Code of secrets are deliberately absent.
type record struct {
	// Vulnerabilities.
	VulnerabilityID  string
	VendorIDs        []string
	PkgName          string
	PkgPath          string
	InstalledVersion string
	FixedVersion     string
	PrimaryURL       string

	// Misconfigurations.
	ID            string
	AVDID         string
	Status        string
	CauseMetadata struct {
		Resource  string
		StartLine int
	}

	// Secrets.
	RuleID    string
	StartLine int

	// All.
	Title    string
	Severity string
}

// list says which array of a result a record came from.
type list int

const (
	vulnerabilities list = iota
	misconfigurations
	secrets
)

// result holds the header fields of one Results entry.
type result struct {
	target, class       string
	hasTarget, hasClass bool
}

// pending is a record read before what it belongs to was known.
type pending struct {
	res          *result
	sub          string // the record's path below the element read: "" or "Finding"
	list         list
	rec          record
	supp, reason string
}

// at is the path of the record's field name below the element read.
func (it *pending) at(name string) string {
	if it.sub == "" {
		return name
	}
	return it.sub + "." + name
}

type parse struct {
	ctx  context.Context
	rd   *jsonstream.Decoder
	emit func(ingest.Finding) error

	schema       float64
	hasSchema    bool
	artifactType string
	hasType      bool
	artifactName string
	meta         struct {
		RepoTags []string
		RepoURL  string
		Branch   string
		Commit   string
	}
	created time.Time
	version string

	// classes records which Result classes the report has.
	classes struct{ packages, config, secret bool }
	emitted map[ingest.Kind]bool // kinds of the findings emitted
	queue   []pending
}

// Parse reads one Trivy JSON report from r, calling emit for every finding
// in report order, and returns the scan once the report has been read to
// its end. A malformed, truncated or wrongly typed report, or one of
// another SchemaVersion than 2, is a *ingest.FormatError; an error from emit
// or ctx is returned as is.
func (Parser) Parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error) (ingest.Scan, error) {
	rd := jsonstream.New(r, jsonstream.Options{Format: Format, MaxString: maxString, MaxValue: maxValue, Wording: jsonstream.IsWant})
	p := &parse{ctx: ctx, rd: rd, emit: emit, emitted: map[ingest.Kind]bool{}}
	if err := p.report(); err != nil {
		return ingest.Scan{}, err
	}
	return p.scan(), nil
}

func (p *parse) report() error {
	rd := p.rd
	err := rd.Object(p.ctx, func(k string) error {
		switch k {
		case "SchemaVersion":
			if err := rd.Decode(&p.schema); err != nil {
				return err
			}
			p.hasSchema = true
			if p.schema != 2 {
				return rd.Errorf("", "unsupported SchemaVersion %s: only SchemaVersion 2 (Trivy 0.20 and later) is read", strconv.FormatFloat(p.schema, 'g', -1, 64))
			}
		case "ArtifactName":
			if err := rd.Decode(&p.artifactName); err != nil {
				return err
			}
			return rd.CheckString("", p.artifactName)
		case "ArtifactType":
			if err := rd.Decode(&p.artifactType); err != nil {
				return err
			}
			p.hasType = true
			if err := rd.CheckString("", p.artifactType); err != nil {
				return err
			}
			return p.flush()
		case "CreatedAt":
			var s string
			if err := rd.Decode(&s); err != nil {
				return err
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return rd.Errorf("", "not an RFC 3339 time: %s", jsonstream.Brief(s))
			}
			p.created = t
		case "Trivy":
			var v struct{ Version string }
			if err := rd.Decode(&v); err != nil {
				return err
			}
			p.version = v.Version
			return rd.CheckString("Version", v.Version)
		case "Metadata":
			if err := rd.Decode(&p.meta); err != nil {
				return err
			}
			for _, f := range [...]struct{ name, s string }{
				{"RepoURL", p.meta.RepoURL}, {"Branch", p.meta.Branch}, {"Commit", p.meta.Commit},
			} {
				if err := rd.CheckString(f.name, f.s); err != nil {
					return err
				}
			}
			return rd.CheckStrings("RepoTags", p.meta.RepoTags)
		case "Results":
			return rd.Array(p.ctx, func(int) error { return p.result() })
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
	switch {
	case !p.hasSchema:
		return rd.Errorf("", "missing SchemaVersion: not a Trivy SchemaVersion 2 report")
	case !p.hasType:
		return rd.Errorf("", "missing ArtifactType")
	}
	return nil
}

// result reads one Results entry.
func (p *parse) result() error {
	rd := p.rd
	res := &result{}
	err := rd.Object(p.ctx, func(k string) error {
		switch k {
		case "Target":
			res.hasTarget = true
			if err := rd.Decode(&res.target); err != nil {
				return err
			}
			return rd.CheckString("", res.target)
		case "Class":
			res.hasClass = true
			if err := rd.Decode(&res.class); err != nil {
				return err
			}
			return rd.CheckString("", res.class)
		case "Vulnerabilities":
			return p.records(res, vulnerabilities)
		case "Misconfigurations":
			return p.records(res, misconfigurations)
		case "Secrets":
			return p.records(res, secrets)
		case "ModifiedFindings":
			return rd.Array(p.ctx, func(int) error { return p.modified(res) })
		default:
			return rd.Skip()
		}
	})
	if err != nil {
		return err
	}
	switch {
	case !res.hasTarget:
		return rd.Errorf("", "missing Target")
	case !res.hasClass:
		return rd.Errorf("", "missing Class")
	}
	switch res.class {
	case "os-pkgs", "lang-pkgs":
		p.classes.packages = true
	case "config":
		p.classes.config = true
	case "secret":
		p.classes.secret = true
	}
	return p.flush()
}

// records reads one Vulnerabilities, Misconfigurations or Secrets array.
func (p *parse) records(res *result, l list) error {
	return p.rd.Array(p.ctx, func(int) error {
		it := pending{res: res, list: l}
		if err := p.rd.Decode(&it.rec); err != nil {
			return err
		}
		return p.add(it)
	})
}

// modified reads one ModifiedFindings entry.
func (p *parse) modified(res *result) error {
	var m struct {
		Type      string
		Status    string
		Statement string
		Finding   record
	}
	if err := p.rd.Decode(&m); err != nil {
		return err
	}
	it := pending{res: res, sub: "Finding", rec: m.Finding, reason: m.Statement}
	switch m.Type {
	case "vulnerability":
		it.list = vulnerabilities
	case "misconfiguration":
		it.list = misconfigurations
	case "secret":
		it.list = secrets
	case "license":
		return nil // licenses are not weaknesses (see the package documentation)
	default:
		return p.rd.Errorf("Type", "unknown finding type %s (want vulnerability, misconfiguration, secret or license)", jsonstream.Brief(m.Type))
	}
	if m.Status == "" {
		return p.rd.Errorf("Status", "missing: a modified finding must say how it was modified")
	}
	it.supp = "trivy:" + m.Status
	if err := p.rd.CheckString("Status", m.Status); err != nil {
		return err
	}
	if err := p.rd.CheckString("Statement", m.Statement); err != nil {
		return err
	}
	return p.add(it)
}

// add checks a record and emits its finding, or queues it while the report
// has not yet said what it belongs to.
func (p *parse) add(it pending) error {
	if err := p.check(&it); err != nil {
		return err
	}
	if it.list == misconfigurations && it.rec.Status == "PASS" {
		return nil // a check that passed is not a finding
	}
	if len(p.queue) == 0 && p.ready(it.res) {
		return p.send(&it)
	}
	if len(p.queue) >= maxPending {
		return p.rd.Errorf(it.sub, "more than %d findings come before ArtifactType or their result's Target and Class; write those fields first", maxPending)
	}
	p.queue = append(p.queue, it)
	return p.flush()
}

// ready reports whether findings of res can be made now.
func (p *parse) ready(res *result) bool {
	return p.hasType && res.hasTarget && res.hasClass
}

// flush emits the queued findings that can be made now, in order.
func (p *parse) flush() error {
	for len(p.queue) > 0 && p.ready(p.queue[0].res) {
		if err := p.send(&p.queue[0]); err != nil {
			return err
		}
		p.queue[0] = pending{}
		p.queue = p.queue[1:]
	}
	if len(p.queue) == 0 {
		p.queue = nil
	}
	return nil
}

func (p *parse) send(it *pending) error {
	f := p.finding(it)
	p.emitted[f.Kind] = true
	return p.emit(f)
}

// check validates a record where it was read, so that errors carry its
// path and offset even when its finding is made later.
func (p *parse) check(it *pending) error {
	rd, r := p.rd, &it.rec
	switch it.list {
	case vulnerabilities:
		if r.VulnerabilityID == "" {
			return rd.Errorf(it.at("VulnerabilityID"), "missing")
		}
		if r.PkgName == "" {
			return rd.Errorf(it.at("PkgName"), "missing")
		}
		for _, f := range [...]struct{ name, s string }{
			{"VulnerabilityID", r.VulnerabilityID}, {"PkgName", r.PkgName}, {"PkgPath", r.PkgPath},
			{"InstalledVersion", r.InstalledVersion}, {"FixedVersion", r.FixedVersion},
			{"PrimaryURL", r.PrimaryURL}, {"Title", r.Title}, {"Severity", r.Severity},
		} {
			if err := rd.CheckString(it.at(f.name), f.s); err != nil {
				return err
			}
		}
		return rd.CheckStrings(it.at("VendorIDs"), r.VendorIDs)
	case misconfigurations:
		if r.ID == "" && r.AVDID == "" {
			return rd.Errorf(it.at("ID"), "missing (and no AVDID)")
		}
		switch r.Status {
		case "", "FAIL", "PASS", "EXCEPTION":
		default:
			return rd.Errorf(it.at("Status"), "unknown status %s (want FAIL, PASS or EXCEPTION)", jsonstream.Brief(r.Status))
		}
		if r.CauseMetadata.StartLine < 0 {
			return rd.Errorf(it.at("CauseMetadata.StartLine"), "negative line %d", r.CauseMetadata.StartLine)
		}
		for _, f := range [...]struct{ name, s string }{
			{"ID", r.ID}, {"AVDID", r.AVDID}, {"Title", r.Title}, {"Severity", r.Severity},
			{"PrimaryURL", r.PrimaryURL}, {"CauseMetadata.Resource", r.CauseMetadata.Resource},
		} {
			if err := rd.CheckString(it.at(f.name), f.s); err != nil {
				return err
			}
		}
	case secrets:
		if r.RuleID == "" {
			return rd.Errorf(it.at("RuleID"), "missing")
		}
		if r.StartLine < 0 {
			return rd.Errorf(it.at("StartLine"), "negative line %d", r.StartLine)
		}
		for _, f := range [...]struct{ name, s string }{
			{"RuleID", r.RuleID}, {"Title", r.Title}, {"Severity", r.Severity},
		} {
			if err := rd.CheckString(it.at(f.name), f.s); err != nil {
				return err
			}
		}
	}
	return nil
}

// vulnKind is the kind of vulnerability findings of this artifact.
func (p *parse) vulnKind() ingest.Kind {
	if p.artifactType == "container_image" {
		return ingest.Container
	}
	return ingest.SCA
}

// finding makes the finding of a checked record whose result is known.
func (p *parse) finding(it *pending) ingest.Finding {
	r, res := &it.rec, it.res
	f := ingest.Finding{
		Title:            r.Title,
		Severity:         ingest.ParseSeverity(r.Severity),
		OriginalSeverity: r.Severity,
		File:             res.target,
		Suppression:      it.supp,
		StatusReason:     it.reason,
	}
	switch it.list {
	case vulnerabilities:
		f.Kind = p.vulnKind()
		f.RuleID = r.VulnerabilityID
		f.CVE, f.Aliases = ids(r.VulnerabilityID, r.VendorIDs)
		f.Package = r.PkgName
		f.InstalledVersion = r.InstalledVersion
		f.FixedVersion = r.FixedVersion
		if r.PkgPath != "" {
			f.File = r.PkgPath
		}
		f.URL = r.PrimaryURL
		if res.class == "os-pkgs" {
			f.Key = ingest.CompositeKey("os-pkgs", r.VulnerabilityID, r.PkgName, r.PkgPath)
			f.KeySource = "composite:class+vulnerability+package+path"
		} else {
			f.Key = ingest.CompositeKey(res.class, res.target, r.VulnerabilityID, r.PkgName, r.PkgPath)
			f.KeySource = "composite:class+target+vulnerability+package+path"
		}
	case misconfigurations:
		f.Kind = ingest.IaC
		f.RuleID = r.ID
		if f.RuleID == "" {
			f.RuleID = r.AVDID
		} else if r.AVDID != "" && r.AVDID != r.ID {
			f.Aliases = []string{r.AVDID}
		}
		f.Line = r.CauseMetadata.StartLine
		f.URL = r.PrimaryURL
		if r.CauseMetadata.Resource != "" {
			f.Key = ingest.CompositeKey("config", res.target, f.RuleID, r.CauseMetadata.Resource)
			f.KeySource = "composite:target+check+resource"
		} else {
			f.Key = ingest.CompositeKey("config", res.target, f.RuleID, "line:"+strconv.Itoa(f.Line))
			f.KeySource = "composite:target+check+line"
		}
		if f.Suppression == "" && r.Status == "EXCEPTION" {
			f.Suppression = "trivy:exception"
		}
	case secrets:
		f.Kind = ingest.Secret
		f.RuleID = r.RuleID
		f.Line = r.StartLine
		f.Key = ingest.CompositeKey("secret", res.target, r.RuleID, "line:"+strconv.Itoa(r.StartLine))
		f.KeySource = "composite:target+rule+line"
	}
	return f
}

// ids splits a vulnerability's ids into the CVE (VulnerabilityID when it is
// one, else the first CVE among VendorIDs) and the other ids as aliases, in
// report order without repeats.
func ids(id string, vendor []string) (cve string, aliases []string) {
	all := append([]string{id}, vendor...)
	for _, s := range all {
		if strings.HasPrefix(s, "CVE-") {
			cve = s
			break
		}
	}
	for _, s := range all {
		if s != "" && s != cve && !slices.Contains(aliases, s) {
			aliases = append(aliases, s)
		}
	}
	return cve, aliases
}

// scan is the report's scan, once it has been read whole.
func (p *parse) scan() ingest.Scan {
	s := ingest.Scan{
		Format:         Format,
		Scanner:        "trivy",
		ScannerVersion: p.version,
		Branch:         p.meta.Branch,
		Commit:         p.meta.Commit,
		Time:           p.created,
	}
	if p.artifactType == "container_image" {
		ref := p.artifactName
		if len(p.meta.RepoTags) > 0 && p.meta.RepoTags[0] != "" {
			ref = p.meta.RepoTags[0]
		}
		s.Asset = ingest.ImageAsset(ref)
	} else {
		ref := p.artifactName
		if p.meta.RepoURL != "" {
			ref = p.meta.RepoURL
		}
		s.Asset = ingest.RepoAsset(ref)
	}
	covered := map[ingest.Kind]bool{
		p.vulnKind():  p.classes.packages,
		ingest.IaC:    p.classes.config,
		ingest.Secret: p.classes.secret,
	}
	for _, k := range ingest.Kinds {
		if covered[k] || p.emitted[k] {
			s.Kinds = append(s.Kinds, k)
		}
	}
	return s
}
