// Package ingest holds the normalized records that every source adapter
// produces (findings, scans, tickets, alerts) and the store that writes them
// to ClickHouse. Adapters live in sub-packages named after the technology they
// read (ingest/sarif, ingest/jira, ...); each turns a source's own payload
// into these types and nothing else.
package ingest

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Severity is a normalized severity. The source's own value is always kept
// beside it (Finding.OriginalSeverity).
type Severity string

// The normalized severities, most severe first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Info     Severity = "info"
	Unknown  Severity = "unknown"
)

// Severities lists every severity, most severe first.
var Severities = []Severity{Critical, High, Medium, Low, Info, Unknown}

// ParseSeverity maps a tool's severity word to a Severity. It accepts the
// vocabularies of the supported scanners (CVSS words, SARIF levels, Semgrep's
// ERROR/WARNING/INFO, GitHub's "moderate", "negligible", ...). Anything it
// does not know is Unknown, never an error: the original text is kept by the
// caller.
func ParseSeverity(s string) Severity {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical", "crit", "blocker":
		return Critical
	case "high", "error", "major", "important":
		return High
	case "medium", "moderate", "warning", "warn":
		return Medium
	case "low", "minor", "note", "negligible":
		return Low
	case "info", "informational", "information", "none":
		return Info
	}
	return Unknown
}

// SeverityFromScore maps a CVSS v3 base score (or a SARIF security-severity
// number, which uses the same scale) to a Severity: 9.0–10 critical,
// 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low, 0 info. A score outside 0–10
// is Unknown.
func SeverityFromScore(score float64) Severity {
	switch {
	case score < 0 || score > 10:
		return Unknown
	case score >= 9:
		return Critical
	case score >= 7:
		return High
	case score >= 4:
		return Medium
	case score > 0:
		return Low
	}
	return Info
}

// Kind is what sort of weakness a finding is.
type Kind string

// The finding kinds.
const (
	SAST      Kind = "sast"
	SCA       Kind = "sca"
	Container Kind = "container"
	Secret    Kind = "secret"
	IaC       Kind = "iac"
	DAST      Kind = "dast"
)

// Kinds lists every kind.
var Kinds = []Kind{SAST, SCA, Container, Secret, IaC, DAST}

// ParseKind returns the Kind named s, or an error naming the valid kinds.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown kind %q (want one of sast, sca, container, secret, iac, dast)", s)
}

// Status is a finding's triage status, apart from open/fixed. The empty
// Status means none: the finding counts in every vulnerability KPI.
type Status string

// The finding statuses.
const (
	StatusNone    Status = ""
	FalsePositive Status = "false_positive"
	RiskAccepted  Status = "risk_accepted"
	Duplicate     Status = "duplicate"
)

// Finding is one weakness reported by a source, normalized. Parsers fill what
// the report carries; the store adds the asset, identity and lifecycle.
//
// A secret's value is never part of a Finding: parsers drop it (and any
// "match" or code snippet that contains it) while reading.
type Finding struct {
	// Key identifies the weakness within its (asset, scanner, kind): the
	// tool's own fingerprint where it is trustworthy, otherwise a composite
	// of rule/CVE, package and location. It must not contain anything that
	// changes when an image is rebuilt or a file is re-scanned unchanged
	// (digests, scan ids, timestamps). Required.
	Key string
	// KeySource says how Key was made, e.g. "sarif:matchBasedId/v1",
	// "composite:cve+package" (kept for debugging identity problems).
	KeySource string

	Kind             Kind
	RuleID           string
	Title            string
	Severity         Severity
	OriginalSeverity string // the tool's own severity text or score, as written

	CVE     string   // the primary CVE id, if any
	Aliases []string // other ids: GHSA, OSV, further CVEs; never CVE itself

	Package          string
	InstalledVersion string
	FixedVersion     string // empty when no fix is known
	File             string // path within the asset, or the scan target
	Line             int    // 1-based; 0 when unknown

	// Asset is set when the report names the asset per finding (Snyk
	// --all-projects, GitHub alerts); otherwise the scan's asset applies.
	Asset string

	EPSS           float64 // EPSS probability in [0,1] carried by the report; valid when HasEPSS
	EPSSPercentile float64
	HasEPSS        bool
	KEV            bool // the report says the CVE is known exploited

	// Suppression is the disposition a report carries for the finding, as a
	// source-qualified key ("sarif:inSource", "sarif:external",
	// "snyk:ignore", "github:false_positive", "github:tolerable_risk", ...);
	// empty when the finding is not suppressed. Parsers set Suppression and
	// never Status: the store maps it through the configured Dispositions.
	Suppression  string
	StatusReason string    // the source's own words (justification, comment)
	StatusUntil  time.Time // expiry of a risk acceptance, zero if none
	// StatusAt is when the source recorded the suppression (GitHub's
	// dismissed_at), for sources with their own lifecycle; zero otherwise.
	StatusAt time.Time
	// Status is set by the store from Suppression.
	Status Status

	// DetectedAt and FixedAt are set only by sources that carry their own
	// lifecycle (GitHub alerts): then the store uses them instead of deriving
	// the lifecycle from complete scans.
	DetectedAt time.Time
	FixedAt    time.Time

	URL string // advisory or rule documentation
}

// Scan is what a report says about the scan that produced it.
type Scan struct {
	Format         string // the detected report format, e.g. "sarif", "trivy"
	Scanner        string // the tool, lower case: "trivy", "semgrep", "codeql"
	ScannerVersion string
	// Asset is the scanned asset when the report names it (Trivy's artifact
	// without tag or digest, a SARIF repository URI, a Snyk project); flags
	// and upload metadata override it.
	Asset  string
	Branch string
	Commit string
	// Kinds are the kinds this scan is complete for: a finding of one of
	// these kinds absent from the scan is fixed. A parser lists the kinds the
	// report shows were scanned, even when it has no findings of them.
	Kinds []Kind
	// Time is when the scan ran, from the report; zero when the report does
	// not say (the caller then supplies it).
	Time time.Time
	// Tracked is true for sources that carry their own lifecycle (GitHub
	// alert exports): the report is not a complete scan and absence does not
	// mean fixed.
	Tracked bool
}

// Parser reads one report of a format. Parse streams: it calls emit once per
// finding, in report order, without holding the whole report in memory, and
// returns the scan's metadata when the report has been read to its end.
// Every malformed, truncated or wrongly typed input is an error (a
// *FormatError where the place is known), never a skipped record; an error
// from emit is returned as is. Parse honours ctx between records.
type Parser interface {
	Parse(ctx context.Context, r io.Reader, emit func(Finding) error) (Scan, error)
}

// FormatError says where a report is wrong. Path is a JSON-path-like
// location ("runs[0].results[12].level") or "line 42" for line formats.
type FormatError struct {
	Format string // the format being read, e.g. "sarif"
	Path   string
	Offset int64 // byte offset in the input, when known (0 otherwise)
	Msg    string
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString(e.Format)
	if e.Path != "" {
		b.WriteString(": ")
		b.WriteString(e.Path)
	}
	if e.Offset > 0 {
		fmt.Fprintf(&b, " (byte %d)", e.Offset)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Dispositions maps a Finding.Suppression key to a Status. A key missing
// from the map falls back to its source's "*" entry ("sarif:*"), then to
// RiskAccepted: a suppressed finding is never silently counted as open, and
// never silently dropped.
type Dispositions map[string]Status

// DefaultDispositions is the documented default mapping (docs/ingest.md).
var DefaultDispositions = Dispositions{
	"sarif:inSource":  RiskAccepted,
	"sarif:external":  RiskAccepted,
	"sarif:*":         RiskAccepted,
	"snyk:ignore":     RiskAccepted,
	"trivy:ignored":   RiskAccepted,
	"trivy:exception": RiskAccepted,
	// VEX statements: the vendor says the product is not affected, or the
	// vulnerability is fixed in it: the finding is not real.
	"trivy:not_affected": FalsePositive,
	"trivy:fixed":        FalsePositive,
	// Still being investigated: stays open.
	"trivy:under_investigation": StatusNone,
	"grype:ignored":             RiskAccepted,
	"semgrep:nosemgrep":         FalsePositive,
	"gitleaks:allowlisted":      FalsePositive,
	"github:false_positive":     FalsePositive,
	"github:inaccurate":         FalsePositive,
	"github:used_in_tests":      FalsePositive,
	"github:not_used":           FalsePositive,
	"github:tolerable_risk":     RiskAccepted,
	"github:won't_fix":          RiskAccepted,
	"github:no_bandwidth":       RiskAccepted,
	"github:auto_dismissed":     RiskAccepted,
	"github:dismissed":          RiskAccepted,
	// A fix in progress is still an exposure: the finding stays open.
	"github:fix_started": StatusNone,
	"github:*":           RiskAccepted,
}

// Map returns the Status for a suppression key (see Dispositions).
func (d Dispositions) Map(key string) Status {
	if key == "" {
		return StatusNone
	}
	if s, ok := d[key]; ok {
		return s
	}
	if i := strings.IndexByte(key, ':'); i > 0 {
		if s, ok := d[key[:i]+":*"]; ok {
			return s
		}
	}
	return RiskAccepted
}
