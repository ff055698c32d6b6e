package semgrep

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash/maphash"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/jsonstream"
)

// Default limits of a Parser whose fields are zero.
const (
	DefaultMaxString = 1 << 20  // bytes of one JSON string
	DefaultMaxRecord = 16 << 20 // bytes of one result or error
)

// Parser reads `semgrep --json` reports. The zero Parser uses the default
// limits.
type Parser struct {
	// MaxString is the largest JSON string accepted anywhere in the report,
	// in encoded bytes; a longer one is a FormatError.
	MaxString int
	// MaxRecord is the largest single result or error, in bytes; a larger
	// one is a FormatError. Other values are skipped one array element at
	// a time and only those elements are limited by it: paths.scanned,
	// which lists every file, is not limited as a whole.
	MaxRecord int
}

var _ ingest.Parser = Parser{}

// The parts of the report the parser reads. A wrong JSON type in them is a
// FormatError; rule metadata is written by rule authors and is read
// leniently (see metadataJSON).

type resultJSON struct {
	CheckID string        `json:"check_id"`
	Path    string        `json:"path"`
	Start   *positionJSON `json:"start"`
	Extra   *struct {
		Message     string `json:"message"`
		Severity    string `json:"severity"`
		Fingerprint string `json:"fingerprint"`
		IsIgnored   bool   `json:"is_ignored"`
		// Metavars are the matched code's metavariable bindings. They are
		// read for composite keys only; "lines" (the matched source) is
		// never read.
		Metavars map[string]struct {
			AbstractContent string `json:"abstract_content"`
		} `json:"metavars"`
		Metadata metadataJSON    `json:"metadata"`
		SCAInfo  json.RawMessage `json:"sca_info"`
	} `json:"extra"`
}

type positionJSON struct {
	Line *int `json:"line"`
}

// metadataJSON is the part of a rule's metadata the parser looks at. Rule
// authors write metadata freely, so its members are kept raw and a member
// of an unexpected type is passed over, never an error.
type metadataJSON struct {
	Impact         json.RawMessage `json:"impact"`
	Product        json.RawMessage `json:"product"`
	SecretType     json.RawMessage `json:"secret_type"`
	CVE            json.RawMessage `json:"cve"`
	GHSA           json.RawMessage `json:"ghsa"`
	SCASeverity    json.RawMessage `json:"sca-severity"`
	SCAFixVersions json.RawMessage `json:"sca-fix-versions"`
	Source         json.RawMessage `json:"source"`
	Shortlink      json.RawMessage `json:"shortlink"`
}

// scaInfoJSON is the part of a Supply Chain result's sca_info the parser
// reads, best effort.
type scaInfoJSON struct {
	DependencyMatch struct {
		FoundDependency struct {
			Package string `json:"package"`
			Version string `json:"version"`
		} `json:"found_dependency"`
	} `json:"dependency_match"`
}

type errorJSON struct {
	Level string          `json:"level"`
	Type  json.RawMessage `json:"type"`
}

// Parse implements ingest.Parser: it reads a `semgrep --json` report from
// r and calls emit for every result, in report order; see the package
// documentation for how findings are built. Malformed, truncated or wrongly
// typed input is an *ingest.FormatError naming the place; an error from
// emit, or ctx's error when it is done, is returned as is.
func (p Parser) Parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error) (ingest.Scan, error) {
	maxString, maxRecord := int64(p.MaxString), int64(p.MaxRecord)
	if maxString <= 0 {
		maxString = DefaultMaxString
	}
	if maxRecord <= 0 {
		maxRecord = DefaultMaxRecord
	}
	ps := &parse{
		ctx:   ctx,
		s:     jsonstream.New(r, jsonstream.Options{Format: "semgrep", MaxString: maxString, MaxValue: maxRecord}),
		emit:  emit,
		kinds: map[ingest.Kind]bool{ingest.SAST: true},
		keys:  map[uint64]uint32{},
		seed:  maphash.MakeSeed(),
	}
	if err := ps.report(); err != nil {
		return ingest.Scan{}, err
	}
	scan := ingest.Scan{Format: "semgrep", Scanner: "semgrep", ScannerVersion: ps.version}
	if !ps.incomplete {
		for _, k := range ingest.Kinds {
			if ps.kinds[k] {
				scan.Kinds = append(scan.Kinds, k)
			}
		}
	}
	return scan, nil
}

// parse is the state of one Parse call.
type parse struct {
	ctx        context.Context
	s          *jsonstream.Decoder
	emit       func(ingest.Finding) error
	version    string
	kinds      map[ingest.Kind]bool
	incomplete bool              // an error says the scan did not cover everything
	keys       map[uint64]uint32 // occurrences of each key so far
	seed       maphash.Seed
}

// report reads the top-level object.
func (ps *parse) report() error {
	s := ps.s
	t, err := s.Token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return s.Errorf("", "want a semgrep --json object at the top level, got %s", jsonstream.Describe(t))
	}
	sawResults := false
	err = s.Members(ps.ctx, func(key string) error {
		switch key {
		case "results":
			sawResults = true
			ok, err := s.Open('[')
			if err != nil {
				return err
			}
			if !ok {
				return s.Errorf("", "want an array, got null")
			}
			return s.Elements(ps.ctx, ps.result)
		case "errors":
			return s.Array(ps.ctx, ps.errorEntry)
		case "version":
			var err error
			ps.version, err = s.StringValue()
			return err
		}
		return s.Skip()
	})
	if err == nil {
		err = s.End()
	}
	if err != nil {
		return err
	}
	if !sawResults {
		return s.ErrorAt(0, "results", "missing")
	}
	return nil
}

// errorEntry reads one entry of errors. An error of level "error", or a timeout
// or out-of-memory error of any level, makes the scan incomplete.
func (ps *parse) errorEntry(int) error {
	var e errorJSON
	if _, err := ps.s.Record(&e); err != nil {
		return err
	}
	if strings.EqualFold(e.Level, "error") {
		ps.incomplete = true
	}
	// "type" is a string in older Semgrep and ["Name", details...] in newer.
	typ, _ := scalarText(e.Type)
	if typ == "" {
		var list []json.RawMessage
		if json.Unmarshal(e.Type, &list) == nil && len(list) > 0 {
			typ, _ = scalarText(list[0])
		}
	}
	switch typ {
	case "Timeout", "OutOfMemory", "Out of memory", "Fixpoint timeout":
		ps.incomplete = true
	}
	return nil
}

// result reads one entry of results and emits its finding.
func (ps *parse) result(int) error {
	s := ps.s
	var rj resultJSON
	start, err := s.Record(&rj)
	if err != nil {
		return err
	}
	switch {
	case rj.CheckID == "":
		return s.ErrorAt(start, "check_id", "missing")
	case rj.Path == "":
		return s.ErrorAt(start, "path", "missing")
	case rj.Start == nil || rj.Start.Line == nil:
		return s.ErrorAt(start, "start.line", "missing")
	case *rj.Start.Line < 1:
		return s.ErrorAt(start, "start.line", "must be at least 1, got %d", *rj.Start.Line)
	case rj.Extra == nil:
		return s.ErrorAt(start, "extra", "missing")
	}
	x := rj.Extra
	md := &x.Metadata

	f := ingest.Finding{
		Kind:   ingest.SAST,
		RuleID: rj.CheckID,
		File:   rj.Path,
		Line:   *rj.Start.Line,
	}
	product, _ := scalarText(md.Product)
	var sca scaInfoJSON
	isSCA := len(bytes.TrimSpace(x.SCAInfo)) > 0 && string(bytes.TrimSpace(x.SCAInfo)) != "null"
	if isSCA {
		_ = json.Unmarshal(x.SCAInfo, &sca) // best effort: Semgrep-internal shape
	}
	switch {
	case strings.EqualFold(product, "secrets"):
		f.Kind = ingest.Secret
	case isSCA || strings.EqualFold(product, "supply-chain") || strings.EqualFold(product, "sca"):
		f.Kind = ingest.SCA
	}

	f.Severity, f.OriginalSeverity = severity(x.Severity, md, f.Kind == ingest.SCA)

	if f.Kind == ingest.Secret {
		// Never the message: Semgrep interpolates metavariables into it, and
		// for a secrets rule one of them is the secret.
		secretType, _ := scalarText(md.SecretType)
		f.Title = firstOf(secretType, rj.CheckID)
	} else {
		f.Title = shortTitle(x.Message)
	}
	if u, ok := scalarText(md.Source); ok && !isNumber(u) {
		f.URL = u
	} else if u, ok := scalarText(md.Shortlink); ok && !isNumber(u) {
		f.URL = u
	}

	var ids []string
	if id := leadingVulnID(rj.CheckID); id != "" {
		ids = append(ids, id)
	}
	for _, v := range append(stringList(md.CVE), stringList(md.GHSA)...) {
		if id := leadingVulnID(v); id != "" {
			ids = appendUnique(ids, id)
		}
	}
	for _, id := range ids {
		if f.CVE == "" && strings.HasPrefix(id, "CVE-") {
			f.CVE = id
		}
	}
	for _, id := range ids {
		if id != f.CVE {
			f.Aliases = append(f.Aliases, id)
		}
	}

	if f.Kind == ingest.SCA {
		dep := sca.DependencyMatch.FoundDependency
		f.Package, f.InstalledVersion = dep.Package, dep.Version
		f.FixedVersion = fixVersion(md.SCAFixVersions, dep.Package)
	}

	if x.IsIgnored {
		f.Suppression = "semgrep:nosemgrep"
	}

	ps.key(&f, x.Fingerprint, x.Message, x.Metavars)
	ps.kinds[f.Kind] = true
	return ps.emit(f)
}

// severity decides a result's severity; see the package documentation.
func severity(sev string, md *metadataJSON, sca bool) (ingest.Severity, string) {
	if sca {
		if v, ok := scalarText(md.SCASeverity); ok {
			if s := ingest.ParseSeverity(v); s != ingest.Unknown {
				return s, v
			}
		}
	}
	if s := semgrepSeverity(sev); s != ingest.Unknown {
		return s, sev
	}
	if v, ok := scalarText(md.Impact); ok {
		if s := ingest.ParseSeverity(v); s != ingest.Unknown {
			return s, v
		}
	}
	return ingest.Unknown, sev
}

// semgrepSeverity maps Semgrep's severities, old and new, by Semgrep's own
// equivalences: ERROR is HIGH, WARNING is MEDIUM, INFO is LOW; INVENTORY
// and EXPERIMENT are not weaknesses.
func semgrepSeverity(s string) ingest.Severity {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "CRITICAL":
		return ingest.Critical
	case "ERROR", "HIGH":
		return ingest.High
	case "WARNING", "MEDIUM":
		return ingest.Medium
	case "INFO", "LOW":
		return ingest.Low
	case "INVENTORY", "EXPERIMENT":
		return ingest.Info
	}
	return ingest.Unknown
}

// fixVersion finds pkg's version in sca-fix-versions, a list of
// {"package": "version"} objects.
func fixVersion(raw json.RawMessage, pkg string) string {
	var list []map[string]json.RawMessage
	if pkg == "" || json.Unmarshal(raw, &list) != nil {
		return ""
	}
	for _, m := range list {
		if v, ok := scalarText(m[pkg]); ok {
			return v
		}
	}
	return ""
}

// key sets the finding's Key and KeySource; see the package documentation.
// The n-th finding of a report with a key already used gets "#n" appended.
func (ps *parse) key(f *ingest.Finding, fingerprint, message string, metavars map[string]struct {
	AbstractContent string `json:"abstract_content"`
}) {
	rule, file := f.RuleID, f.File
	switch {
	case fingerprint != "" && fingerprint != "requires login":
		f.Key, f.KeySource = fingerprint, "semgrep:fingerprint"
	case f.Kind == ingest.Secret:
		f.Key, f.KeySource = file+":"+rule+":"+strconv.Itoa(f.Line), "composite:file+rule+line"
	case f.Kind == ingest.SCA && f.Package != "":
		f.Key, f.KeySource = rule+"|"+file+"|"+f.Package, "composite:rule+file+package"
	case message != "" || len(metavars) > 0:
		// The message with its metavariables interpolated, and the
		// metavariables' bound code: both are the matched code, not its
		// position.
		h := sha256.New()
		h.Write([]byte(strings.Join(strings.Fields(message), " ")))
		names := make([]string, 0, len(metavars))
		for name := range metavars {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			h.Write([]byte("\x00" + name + "=" + strings.Join(strings.Fields(metavars[name].AbstractContent), " ")))
		}
		f.Key = rule + "|" + file + "|match:" + hex.EncodeToString(h.Sum(nil)[:8])
		f.KeySource = "composite:rule+file+match"
	default:
		f.Key, f.KeySource = rule+"|"+file+"|"+strconv.Itoa(f.Line), "composite:rule+file+line"
	}
	h := maphash.String(ps.seed, f.Key)
	n := ps.keys[h] + 1
	ps.keys[h] = n
	if n > 1 {
		f.Key += "#" + strconv.Itoa(int(n))
	}
}
