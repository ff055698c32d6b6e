package sarif

import (
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"strings"

	"github.com/secmetrics/secmetrics/ingest"
)

// pending is what the parser keeps of one result until its run's rules are
// known: everything a Finding needs from the result itself and nothing else
// (no raw JSON, no snippet, no full message). It is kept small because a
// log whose results come before its tool is held as one pending per result.
type pending struct {
	ruleID, file, title, level string
	key                        string // a fingerprint or line hash (see keyFrom)
	index                      int    // the result's index in run.results, for error paths
	ruleIndex                  int    // ruleIndex or rule.index; -1 when absent
	comp                       int    // the tool component ruleIndex refers to: 0 driver, i+1 extensions[i]
	line                       int
	msgHash, snipHash          digest // of the message and snippet, when the key may need them
	keyFrom                    uint8
	hasMsg, hasSnip            bool
	container                  bool   // a Grype message says the package is installed in a container
	more                       *extra // nil when none of its fields is set
}

// extra holds the fields of a pending that most results do not have.
type extra struct {
	fpName    string // the fingerprints entry used as the key, other than matchBasedId/v1
	indexPath string // "ruleIndex" or "rule.index", for error paths
	kind      string // result.kind
	commit    string // partialFingerprints.commitSha (Gitleaks)
	secSev    string // properties["security-severity"] as written
	sevWord   string // properties["severity"] when it is a severity word
	vulnIDs   []string
	pkg       string // from a Trivy message ("Package: ...")
	version   string
	fixed     string
	supp      string
	reason    string
}

// Where a pending's key comes from.
const (
	keyComposite   uint8 = iota
	keyMatchBased        // fingerprints["matchBasedId/v1"]
	keyFingerprint       // another fingerprints entry, named by extra.fpName
	keyLineHash          // partialFingerprints.primaryLocationLineHash
)

// digest is a short stable digest of a text (see textDigest).
type digest [8]byte

var noExtra extra

// x returns pd's extra fields for reading.
func (pd *pending) x() *extra {
	if pd.more == nil {
		return &noExtra
	}
	return pd.more
}

// set returns pd's extra fields for writing.
func (pd *pending) set() *extra {
	if pd.more == nil {
		pd.more = &extra{}
	}
	return pd.more
}

// pending checks a decoded result and keeps what a Finding needs. keep is
// false for results that are not current findings (baselineState absent,
// kind pass or notApplicable); they are counted in Stats.
func (ps *parse) pending(r *run, j int, rj *resultJSON, start int64) (pd pending, keep bool, err error) {
	s := ps.s
	pd = pending{index: j, ruleID: rj.RuleID, ruleIndex: -1, level: rj.Level}
	if rj.Kind != "" {
		pd.set().kind = rj.Kind
	}
	indexPath := ""
	// An index of -1 is SARIF's "absent".
	if rj.RuleIndex != nil && *rj.RuleIndex != -1 {
		pd.ruleIndex, indexPath = *rj.RuleIndex, "ruleIndex"
	}
	if rj.Rule != nil {
		if pd.ruleID == "" {
			pd.ruleID = rj.Rule.ID
		}
		if rj.Rule.Index != nil && *rj.Rule.Index != -1 && indexPath == "" {
			pd.ruleIndex, indexPath = *rj.Rule.Index, "rule.index"
			if tc := rj.Rule.ToolComponent; tc != nil && tc.Index != nil && *tc.Index != -1 {
				if *tc.Index < 0 {
					return pd, false, s.ErrorAt(start, "rule.toolComponent.index", "must not be negative, got %d", *tc.Index)
				}
				pd.comp = *tc.Index + 1
			}
		}
	}
	if pd.ruleIndex < -1 {
		return pd, false, s.ErrorAt(start, indexPath, "must not be negative, got %d", pd.ruleIndex)
	}
	if indexPath != "" {
		pd.set().indexPath = indexPath
	}
	if pd.ruleID == "" && pd.ruleIndex < 0 {
		return pd, false, s.ErrorAt(start, "ruleId", "missing (no ruleId, rule.id, ruleIndex or rule.index)")
	}

	switch {
	case rj.BaselineState == "absent":
		ps.stats.Absent++
		return pd, false, nil
	case rj.Kind == "pass" || rj.Kind == "notApplicable":
		ps.stats.Passed++
		return pd, false, nil
	}

	snippet := ""
	if len(rj.Locations) > 0 {
		if pl := rj.Locations[0].PhysicalLocation; pl != nil {
			if pl.ArtifactLocation != nil {
				pd.file = artifactPath(pl.ArtifactLocation.URI)
			}
			if rg := pl.Region; rg != nil {
				if rg.StartLine != nil {
					if *rg.StartLine < 1 {
						return pd, false, s.ErrorAt(start, "locations[0].physicalLocation.region.startLine", "must be at least 1, got %d", *rg.StartLine)
					}
					pd.line = *rg.StartLine
				}
				if rg.Snippet != nil {
					snippet = rg.Snippet.Text
				}
			}
		}
	}

	for k, sp := range rj.Suppressions {
		if sp.Kind == "" {
			return pd, false, s.ErrorAt(start, fmt.Sprintf("suppressions[%d].kind", k), "missing")
		}
		switch strings.ToLower(sp.Status) {
		case "", "accepted":
			if pd.x().supp == "" {
				pd.set().supp = "sarif:" + sp.Kind
				pd.set().reason = strings.TrimSpace(sp.Justification)
			}
		case "underreview", "rejected":
			// Not (yet) a suppression: the finding stays open.
		default:
			return pd, false, s.ErrorAt(start, fmt.Sprintf("suppressions[%d].status", k),
				"unknown status %q (want accepted, underReview or rejected)", shortTitle(sp.Status))
		}
	}

	if v := rj.Fingerprints["matchBasedId/v1"]; v != "" {
		pd.key, pd.keyFrom = v, keyMatchBased
	} else {
		for _, name := range sortedKeys(rj.Fingerprints) {
			if v := rj.Fingerprints[name]; v != "" {
				pd.key, pd.keyFrom = v, keyFingerprint
				pd.set().fpName = name
				break
			}
		}
	}
	if v := rj.PartialFingerprints["primaryLocationLineHash"]; v != "" && pd.keyFrom == keyComposite {
		pd.key, pd.keyFrom = v, keyLineHash
	}
	if v := rj.PartialFingerprints["commitSha"]; v != "" {
		pd.set().commit = v
	}

	if v, ok := scalarText(rj.Properties.SecuritySeverity); ok {
		pd.set().secSev = v
	}
	if v := severityWord(rj.Properties.Severity); v != "" {
		pd.set().sevWord = v
	}
	if ids := appendVulnIDs(nil, "", rj.Properties); len(ids) > 0 {
		pd.set().vulnIDs = ids
	}

	msg := rj.Message.Text
	secretTool := r.tool && toolKind(r.scanner) == ingest.Secret
	if !secretTool {
		// A secret scanner's message may quote the secret: never keep it.
		pd.title = shortTitle(msg)
	}
	if strings.HasPrefix(msg, "Package: ") {
		// Trivy: "Package: x\nInstalled Version: y\n...\nFixed Version: z".
		x := pd.set()
		x.pkg = lineValue(msg, "Package: ")
		x.version = lineValue(msg, "Installed Version: ")
		x.fixed = lineValue(msg, "Fixed Version: ")
	}
	pd.container = strings.Contains(msg, "installed in the container")

	if pd.keyFrom == keyComposite && !secretTool {
		if msg != "" {
			pd.msgHash, pd.hasMsg = textDigest(msg), true
		}
		if snippet != "" {
			pd.snipHash, pd.hasSnip = textDigest(snippet), true
		}
	}
	return pd, true, nil
}

// resolve builds the Finding of a result once its run's tool is known.
func (ps *parse) resolve(r *run, pd *pending) (ingest.Finding, error) {
	rl, err := r.lookup(pd)
	if err != nil {
		return ingest.Finding{}, err
	}
	f := ingest.Finding{
		RuleID:       pd.ruleID,
		File:         pd.file,
		Line:         pd.line,
		Suppression:  pd.x().supp,
		StatusReason: pd.x().reason,
	}
	if f.RuleID == "" && rl != nil {
		f.RuleID = rl.id
	}
	f.Kind = r.kindOf(rl, pd)
	f.Severity, f.OriginalSeverity = severity(pd, rl)
	if rl != nil {
		f.URL = rl.helpURI
	}

	var short, name string
	if rl != nil {
		short, name = rl.short, rl.name
	}
	switch {
	case f.Kind == ingest.Secret:
		// Never the message: it may quote the secret.
		f.Title = firstOf(short, name, f.RuleID)
	case packageScanner(r.scanner):
		f.Title = firstOf(short, f.RuleID)
	default:
		f.Title = firstOf(pd.title, short, name, f.RuleID)
	}

	var ids []string
	if id := leadingVulnID(f.RuleID); id != "" {
		ids = append(ids, id)
	}
	if rl != nil {
		for _, id := range rl.vulnIDs {
			ids = appendUnique(ids, id)
		}
	}
	for _, id := range pd.x().vulnIDs {
		ids = appendUnique(ids, id)
	}
	for _, id := range ids {
		if f.CVE == "" && isCVE(id) {
			f.CVE = id
		}
	}
	for _, id := range ids {
		if id != f.CVE {
			f.Aliases = append(f.Aliases, id)
		}
	}

	if f.Kind == ingest.Container || f.Kind == ingest.SCA {
		switch {
		case pd.x().pkg != "":
			x := pd.x()
			f.Package, f.InstalledVersion, f.FixedVersion = x.pkg, x.version, x.fixed
		case rl != nil:
			f.Package, f.InstalledVersion, f.FixedVersion = rl.pkg, rl.version, rl.fixed
		}
	}

	ps.key(&f, pd)
	return f, nil
}

// lookup finds a result's rule: by index when the index is given and
// agrees with ruleId, else by ruleId. A result may have no rule in the
// table (nil, no error); an index that points nowhere without a ruleId to
// fall back on is a FormatError.
func (r *run) lookup(pd *pending) (*rule, error) {
	if pd.ruleIndex >= 0 {
		var rl *rule
		if pd.comp < len(r.comps) && pd.ruleIndex < len(r.comps[pd.comp]) {
			rl = r.comps[pd.comp][pd.ruleIndex]
		}
		if rl != nil && (pd.ruleID == "" || rl.id == pd.ruleID) {
			return rl, nil
		}
		if pd.ruleID == "" {
			comp, n := "tool.driver", 0
			if pd.comp > 0 {
				comp = fmt.Sprintf("tool.extensions[%d]", pd.comp-1)
			}
			if pd.comp < len(r.comps) {
				n = len(r.comps[pd.comp])
			}
			return nil, &ingest.FormatError{
				Format: formatName,
				Path:   fmt.Sprintf("runs[%d].results[%d].%s", r.index, pd.index, pd.x().indexPath),
				Msg:    fmt.Sprintf("no rule %d in %s.rules (%d rules) and no ruleId", pd.ruleIndex, comp, n),
			}
		}
	}
	return r.byID[pd.ruleID], nil
}

// kindOf decides a finding's kind from its tool and, for Trivy and Grype,
// from the rule and the artifact.
func (r *run) kindOf(rl *rule, pd *pending) ingest.Kind {
	switch r.scanner {
	case "trivy":
		var name string
		var tags []string
		if rl != nil {
			name, tags = rl.name, rl.tags
		}
		switch {
		case name == "Misconfiguration" || hasTag(tags, "misconfiguration"):
			return ingest.IaC
		case name == "Secret" || hasTag(tags, "secret"):
			return ingest.Secret
		case name == "OsPackageVulnerability" || r.image != "":
			return ingest.Container
		}
		return ingest.SCA
	case "grype":
		if pd.container || r.image != "" {
			return ingest.Container
		}
		return ingest.SCA
	}
	return toolKind(r.scanner)
}

func hasTag(tags []string, t string) bool {
	for _, x := range tags {
		if strings.EqualFold(x, t) {
			return true
		}
	}
	return false
}

// severity decides a finding's severity and the text it came from; see the
// package documentation for the order.
func severity(pd *pending, rl *rule) (ingest.Severity, string) {
	x := pd.x()
	if x.secSev != "" {
		return fromSecuritySeverity(x.secSev)
	}
	if rl != nil && rl.secSev != "" {
		return fromSecuritySeverity(rl.secSev)
	}
	if x.sevWord != "" {
		return ingest.ParseSeverity(x.sevWord), x.sevWord
	}
	if rl != nil && rl.sevWord != "" {
		return ingest.ParseSeverity(rl.sevWord), rl.sevWord
	}
	if rl != nil && rl.tagSev != "" {
		return ingest.ParseSeverity(rl.tagSev), rl.tagSev
	}
	if pd.level != "" {
		return ingest.ParseSeverity(pd.level), pd.level
	}
	if rl != nil && rl.level != "" {
		return ingest.ParseSeverity(rl.level), rl.level
	}
	// SARIF's default level: warning for failures, none for other kinds.
	if x.kind == "" || x.kind == "fail" {
		return ingest.Medium, ""
	}
	return ingest.Info, ""
}

// fromSecuritySeverity reads a security-severity property: a number is a
// CVSS-like score, anything else a severity word.
func fromSecuritySeverity(s string) (ingest.Severity, string) {
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		if math.IsNaN(f) {
			return ingest.Unknown, s
		}
		return ingest.SeverityFromScore(f), s
	}
	return ingest.ParseSeverity(s), s
}

// key sets the finding's Key and KeySource; see the package documentation
// for the order. The n-th finding of a Parse with a key already used gets
// "#n" appended, so that no two findings of one report share a key.
func (ps *parse) key(f *ingest.Finding, pd *pending) {
	rule, file := f.RuleID, f.File
	switch {
	case pd.keyFrom == keyMatchBased:
		f.Key, f.KeySource = pd.key, "sarif:matchBasedId/v1"
	case pd.keyFrom == keyFingerprint:
		f.Key, f.KeySource = pd.key, "sarif:"+pd.x().fpName
	case pd.keyFrom == keyLineHash:
		f.Key, f.KeySource = rule+"|"+file+"|"+pd.key, "sarif:primaryLocationLineHash"
	case f.Kind == ingest.Secret:
		// Gitleaks' own fingerprint: [commit:]file:rule:line.
		f.Key = file + ":" + rule + ":" + strconv.Itoa(f.Line)
		f.KeySource = "composite:file+rule+line"
		if c := pd.x().commit; c != "" {
			f.Key = c + ":" + f.Key
			f.KeySource = "composite:commit+file+rule+line"
		}
	case (f.Kind == ingest.Container || f.Kind == ingest.SCA) && f.Package != "":
		f.Key, f.KeySource = rule+"|"+file+"|"+f.Package, "composite:rule+file+package"
	case pd.hasSnip:
		f.Key, f.KeySource = rule+"|"+file+"|snippet:"+hex.EncodeToString(pd.snipHash[:]), "composite:rule+file+snippet"
	case pd.hasMsg:
		f.Key, f.KeySource = rule+"|"+file+"|message:"+hex.EncodeToString(pd.msgHash[:]), "composite:rule+file+message"
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

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// scannerName turns a tool.driver.name into Scan.Scanner: lower case, with
// the editions of one tool folded together ("Semgrep OSS", "Semgrep PRO"
// are "semgrep") so that switching edition does not change the scanner a
// finding's identity is scoped by.
func scannerName(driver string) string {
	n := strings.ToLower(strings.TrimSpace(driver))
	for _, tool := range []string{"semgrep", "trivy", "grype", "gitleaks", "checkov", "kics", "tfsec"} {
		if strings.HasPrefix(n, tool) {
			return tool
		}
	}
	switch {
	case strings.Contains(n, "codeql"):
		return "codeql"
	case strings.HasPrefix(n, "anchore container vulnerability report"):
		return "grype" // the name of Grype's SARIF before 0.21
	}
	return n
}

// toolKind is the kind of a scanner's findings when nothing more specific
// is known. Unknown tools are SAST.
func toolKind(scanner string) ingest.Kind {
	switch scanner {
	case "gitleaks", "trufflehog", "detect-secrets", "ggshield", "noseyparker", "secretlint":
		return ingest.Secret
	case "checkov", "kics", "tfsec", "terrascan":
		return ingest.IaC
	case "trivy", "grype", "osv-scanner", "dependency-check":
		return ingest.SCA
	}
	return ingest.SAST
}

// packageScanner reports whether the scanner reports vulnerable packages
// whose kind (container or sca) depends on the artifact.
func packageScanner(scanner string) bool { return scanner == "trivy" || scanner == "grype" }
