package github

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/secmetrics/secmetrics/ingest"
)

// CodeScanningParser reads code scanning alerts: the response of
// GET /repos/{owner}/{repo}/code-scanning/alerts or
// GET /orgs/{org}/code-scanning/alerts, saved as one JSON array. Each alert
// is one Finding of kind sast:
//
//   - RuleID is rule.id, Title rule.description (else rule.name);
//   - Severity comes from rule.security_severity_level (low, medium, high,
//     critical) when the rule has one, else from rule.severity (none, note,
//     warning, error); OriginalSeverity keeps the word used;
//   - File and Line are the most recent instance's location;
//   - URL is the rule's help_uri when the alert carries it.
//
// Scan.Scanner is the tool's name in lower case ("codeql") when every alert
// comes from one tool, else "github-code-scanning" (no alert, or several
// tools in an organization export); Scan.ScannerVersion likewise.
// Identity and lifecycle are described in the package documentation.
type CodeScanningParser struct {
	// Asset is the repository of alerts that name none (see the package
	// documentation), and Scan.Asset of a report without alerts.
	Asset string
}

var _ ingest.Parser = CodeScanningParser{}

// codeScanningStates are the alert states of the code scanning API.
var codeScanningStates = []string{"open", "fixed", "dismissed"}

type codeScanningAlert struct {
	lifecycle
	Rule *struct {
		ID                    string `json:"id"`
		Name                  string `json:"name"`
		Severity              string `json:"severity"`
		SecuritySeverityLevel string `json:"security_severity_level"`
		Description           string `json:"description"`
		HelpURI               string `json:"help_uri"`
	} `json:"rule"`
	Tool struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"tool"`
	MostRecentInstance struct {
		Location struct {
			Path      string `json:"path"`
			StartLine int    `json:"start_line"`
		} `json:"location"`
	} `json:"most_recent_instance"`
}

// DetectCodeScanning reports whether head, the start of a file (only its
// first 64 KiB are looked at), is a code scanning alert export: a JSON
// array whose first object has number, rule, tool and most_recent_instance.
func DetectCodeScanning(head []byte) bool {
	return has(topKeys(clip(head)), "number", "rule", "tool", "most_recent_instance")
}

// Parse implements ingest.Parser.
func (p CodeScanningParser) Parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error) (ingest.Scan, error) {
	var acc scanAcc
	if err := p.parse(ctx, r, emit, &acc); err != nil {
		return ingest.Scan{}, err
	}
	return acc.scan(), nil
}

// parse reads one export or API page; acc gathers the scan across pages.
func (p CodeScanningParser) parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error, acc *scanAcc) error {
	acc.format, acc.asset = FormatCodeScanning, p.Asset
	return readArray(ctx, r, FormatCodeScanning, func(dec *json.Decoder, i int) error {
		var a codeScanningAlert
		if err := decodeElement(dec, FormatCodeScanning, i, &a); err != nil {
			return err
		}
		f, err := p.finding(&a, fmt.Sprintf("[%d]", i))
		if err != nil {
			return err
		}
		acc.repos.add(f.Asset)
		acc.tools.add(strings.ToLower(a.Tool.Name))
		acc.versions.add(a.Tool.Version)
		return emit(f)
	})
}

func (p CodeScanningParser) finding(a *codeScanningAlert, path string) (ingest.Finding, error) {
	f := ingest.Finding{Kind: ingest.SAST}
	if err := a.apply(&f, FormatCodeScanning, path, p.Asset, codeScanningStates...); err != nil {
		return f, err
	}
	rule := a.Rule
	if rule == nil || rule.ID == "" {
		return f, &ingest.FormatError{Format: FormatCodeScanning, Path: path + ".rule.id", Msg: "missing"}
	}
	if a.Tool.Name == "" {
		return f, &ingest.FormatError{Format: FormatCodeScanning, Path: path + ".tool.name", Msg: "missing"}
	}
	f.RuleID = rule.ID
	f.Title = cmp.Or(rule.Description, rule.Name)
	f.OriginalSeverity = cmp.Or(rule.SecuritySeverityLevel, rule.Severity)
	f.Severity = ingest.ParseSeverity(f.OriginalSeverity)
	loc := a.MostRecentInstance.Location
	if loc.StartLine < 0 {
		return f, &ingest.FormatError{Format: FormatCodeScanning, Path: path + ".most_recent_instance.location.start_line",
			Msg: fmt.Sprintf("%d is not a line number", loc.StartLine)}
	}
	f.File, f.Line = loc.Path, loc.StartLine
	f.URL = rule.HelpURI
	return f, nil
}
