package github

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/secmetrics/secmetrics/ingest"
)

// DependabotParser reads Dependabot alerts: the response of
// GET /repos/{owner}/{repo}/dependabot/alerts or
// GET /orgs/{org}/dependabot/alerts, saved as one JSON array (the pages
// concatenated). Each alert is one Finding of kind sca:
//
//   - RuleID is the GHSA id, Title the advisory summary, CVE its cve_id
//     (else its first CVE identifier), Aliases the other identifiers;
//   - Severity comes from security_vulnerability.severity (else
//     security_advisory.severity), kept as written in OriginalSeverity;
//   - Package is dependency.package.name, File the manifest path,
//     FixedVersion security_vulnerability.first_patched_version; alerts do
//     not carry the installed version, so InstalledVersion stays empty;
//   - EPSS and EPSSPercentile come from security_advisory.epss (GitHub sends
//     an object, documents an array of one; both are read, numbers or
//     numeric strings), HasEPSS only when present;
//   - URL is the GitHub advisory page.
//
// Identity and lifecycle are described in the package documentation.
type DependabotParser struct {
	// Asset is the repository of alerts that name none (see the package
	// documentation), and Scan.Asset of a report without alerts.
	Asset string
}

var _ ingest.Parser = DependabotParser{}

// dependabotStates are the alert states of the Dependabot API.
var dependabotStates = []string{"open", "fixed", "dismissed", "auto_dismissed"}

type pkg struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
}

type dependabotAlert struct {
	lifecycle
	Dependency struct {
		Package      pkg    `json:"package"`
		ManifestPath string `json:"manifest_path"`
	} `json:"dependency"`
	SecurityAdvisory *struct {
		GHSAID      string `json:"ghsa_id"`
		CVEID       string `json:"cve_id"`
		Summary     string `json:"summary"`
		Severity    string `json:"severity"`
		Identifiers []struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"identifiers"`
		References []struct {
			URL string `json:"url"`
		} `json:"references"`
		EPSS json.RawMessage `json:"epss"`
	} `json:"security_advisory"`
	SecurityVulnerability struct {
		Package             pkg    `json:"package"`
		Severity            string `json:"severity"`
		FirstPatchedVersion *struct {
			Identifier string `json:"identifier"`
		} `json:"first_patched_version"`
	} `json:"security_vulnerability"`
}

// DetectDependabot reports whether head, the start of a file (only its
// first 64 KiB are looked at), is a Dependabot alert export: a JSON array
// whose first object has number, state, dependency and security_advisory.
func DetectDependabot(head []byte) bool {
	return has(topKeys(clip(head)), "number", "state", "dependency", "security_advisory")
}

// Parse implements ingest.Parser.
func (p DependabotParser) Parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error) (ingest.Scan, error) {
	var acc scanAcc
	if err := p.parse(ctx, r, emit, &acc); err != nil {
		return ingest.Scan{}, err
	}
	return acc.scan(), nil
}

// parse reads one export or API page; acc gathers the scan across pages.
func (p DependabotParser) parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error, acc *scanAcc) error {
	acc.format, acc.asset = FormatDependabot, p.Asset
	return readArray(ctx, r, FormatDependabot, func(dec *json.Decoder, i int) error {
		var a dependabotAlert
		if err := decodeElement(dec, FormatDependabot, i, &a); err != nil {
			return err
		}
		f, err := p.finding(&a, fmt.Sprintf("[%d]", i))
		if err != nil {
			return err
		}
		acc.repos.add(f.Asset)
		return emit(f)
	})
}

func (p DependabotParser) finding(a *dependabotAlert, path string) (ingest.Finding, error) {
	f := ingest.Finding{Kind: ingest.SCA}
	if err := a.apply(&f, FormatDependabot, path, p.Asset, dependabotStates...); err != nil {
		return f, err
	}
	adv := a.SecurityAdvisory
	if adv == nil {
		return f, &ingest.FormatError{Format: FormatDependabot, Path: path + ".security_advisory", Msg: "missing"}
	}
	if adv.GHSAID == "" {
		return f, &ingest.FormatError{Format: FormatDependabot, Path: path + ".security_advisory.ghsa_id", Msg: "missing"}
	}
	vuln := &a.SecurityVulnerability
	f.RuleID = adv.GHSAID
	f.Title = adv.Summary
	f.OriginalSeverity = vuln.Severity
	if f.OriginalSeverity == "" {
		f.OriginalSeverity = adv.Severity
	}
	f.Severity = ingest.ParseSeverity(f.OriginalSeverity)

	f.CVE = adv.CVEID
	for _, id := range adv.Identifiers {
		if f.CVE == "" && strings.EqualFold(id.Type, "CVE") {
			f.CVE = id.Value
		}
	}
	f.Aliases = aliases(f.CVE, adv.GHSAID, adv.Identifiers)

	f.Package = a.Dependency.Package.Name
	if f.Package == "" {
		f.Package = vuln.Package.Name
	}
	if f.Package == "" {
		return f, &ingest.FormatError{Format: FormatDependabot, Path: path + ".dependency.package.name", Msg: "missing"}
	}
	f.File = a.Dependency.ManifestPath
	if vuln.FirstPatchedVersion != nil {
		f.FixedVersion = vuln.FirstPatchedVersion.Identifier
	}

	var err error
	if f.EPSS, f.EPSSPercentile, f.HasEPSS, err = parseEPSS(adv.EPSS); err != nil {
		return f, &ingest.FormatError{Format: FormatDependabot, Path: path + ".security_advisory.epss", Msg: err.Error()}
	}
	f.URL = advisoryURL(adv.GHSAID, adv.References)
	return f, nil
}

// aliases lists the GHSA id and every identifier except the primary CVE,
// without repeats, in the advisory's order.
func aliases(cve, ghsa string, ids []struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}) []string {
	out := []string{ghsa}
	for _, id := range ids {
		v := id.Value
		if v == "" || v == cve {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == v
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

// advisoryURL is the advisory's page in the GitHub Advisory Database: the
// reference that points there (its host is right for GitHub Enterprise
// too), else github.com's.
func advisoryURL(ghsa string, refs []struct {
	URL string `json:"url"`
}) string {
	for _, r := range refs {
		if strings.HasSuffix(r.URL, "/advisories/"+ghsa) && !strings.Contains(r.URL, "/security/advisories/") {
			return r.URL
		}
	}
	return "https://github.com/advisories/" + ghsa
}

// parseEPSS reads security_advisory.epss: null or absent (no score), an
// object {percentage, percentile}, or an array whose first element is one.
// The values are probabilities in [0, 1], as numbers or numeric strings.
func parseEPSS(raw json.RawMessage) (score, percentile float64, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, 0, false, nil
	}
	type epss struct {
		Percentage *flexFloat `json:"percentage"`
		Percentile *flexFloat `json:"percentile"`
	}
	var e epss
	if raw[0] == '[' {
		var list []epss
		if err := json.Unmarshal(raw, &list); err != nil {
			return 0, 0, false, err
		}
		if len(list) == 0 {
			return 0, 0, false, nil
		}
		e = list[0]
	} else if err := json.Unmarshal(raw, &e); err != nil {
		return 0, 0, false, err
	}
	if e.Percentage == nil {
		return 0, 0, false, fmt.Errorf("percentage missing")
	}
	score = float64(*e.Percentage)
	if e.Percentile != nil {
		percentile = float64(*e.Percentile)
	}
	if !(score >= 0 && score <= 1) || !(percentile >= 0 && percentile <= 1) {
		return 0, 0, false, fmt.Errorf("percentage %v or percentile %v is outside [0, 1]", score, percentile)
	}
	return score, percentile, true, nil
}

// flexFloat is a JSON number, or a string holding one.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) > 0 && s[0] == '"' {
		var err error
		if s, err = strconv.Unquote(s); err != nil {
			return fmt.Errorf("bad string %s", b)
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s is not a number", b)
	}
	*f = flexFloat(v)
	return nil
}
