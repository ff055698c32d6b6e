// Package report recognizes a scanner report's format from its first bytes
// and returns the parser for it. Gzip-compressed reports are decompressed
// transparently. Exactly one format must claim a report: a report two
// formats claim is refused as ambiguous rather than guessed.
package report

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/github"
	"github.com/secmetrics/secmetrics/ingest/gitleaks"
	"github.com/secmetrics/secmetrics/ingest/grype"
	"github.com/secmetrics/secmetrics/ingest/osv"
	"github.com/secmetrics/secmetrics/ingest/sarif"
	"github.com/secmetrics/secmetrics/ingest/semgrep"
	"github.com/secmetrics/secmetrics/ingest/snyk"
	"github.com/secmetrics/secmetrics/ingest/trivy"
)

// Format is a supported report format.
type Format struct {
	Name   string // as accepted by --format and ?format=
	Title  string // for messages
	Detect func(head []byte) bool
	Parser ingest.Parser
}

// Formats lists every supported format.
var Formats = []Format{
	{"sarif", "SARIF 2.1.0", sarif.Detect, sarif.Parser{}},
	{"trivy", "Trivy JSON (SchemaVersion 2)", trivy.Detect, trivy.Parser{}},
	{"grype", "Grype JSON", grype.Detect, grype.Parser{}},
	{"semgrep", "Semgrep JSON", semgrep.Detect, semgrep.Parser{}},
	{"gitleaks", "Gitleaks JSON (v8)", gitleaks.Detect, gitleaks.Parser{}},
	{"snyk", "Snyk test --json", snyk.Detect, snyk.Parser{}},
	{"osv-scanner", "OSV-Scanner JSON", osv.Detect, osv.Parser{}},
	{"github-dependabot", "GitHub Dependabot alerts (REST export)", github.DetectDependabot, github.DependabotParser{}},
	{"github-code-scanning", "GitHub code scanning alerts (REST export)", github.DetectCodeScanning, github.CodeScanningParser{}},
}

// headSize is how much of a report detection looks at.
const headSize = 64 << 10

// ErrUnknown is returned for a report no format recognizes.
var ErrUnknown = errors.New("unknown report format")

// Lookup returns the format named name.
func Lookup(name string) (Format, error) {
	for _, f := range Formats {
		if f.Name == name {
			return f, nil
		}
	}
	return Format{}, fmt.Errorf("unknown format %q (want one of %s)", name, names())
}

func names() string {
	ns := make([]string, len(Formats))
	for i, f := range Formats {
		ns[i] = f.Name
	}
	return strings.Join(ns, ", ")
}

// Open prepares r for parsing: it decompresses gzip and detects the format
// (or uses the one named by format, when not empty). The returned reader
// yields the whole, decompressed report.
func Open(r io.Reader, format string) (Format, io.Reader, error) {
	br := bufio.NewReaderSize(r, headSize)
	magic, _ := br.Peek(2)
	var body io.Reader = br
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return Format{}, nil, fmt.Errorf("gzip: %w", err)
		}
		br = bufio.NewReaderSize(zr, headSize)
		body = br
	}
	if format != "" {
		f, err := Lookup(format)
		return f, body, err
	}
	head, err := br.Peek(headSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return Format{}, nil, fmt.Errorf("read report: %w", err)
	}
	f, err := Detect(head)
	return f, body, err
}

// Detect returns the one format that recognizes head.
func Detect(head []byte) (Format, error) {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	var hits []Format
	for _, f := range Formats {
		if f.Detect(head) {
			hits = append(hits, f)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		titles := make([]string, len(Formats))
		for i, f := range Formats {
			titles[i] = f.Title
		}
		return Format{}, fmt.Errorf("%w: expected one of %s", ErrUnknown, strings.Join(titles, ", "))
	}
	ns := make([]string, len(hits))
	for i, h := range hits {
		ns[i] = h.Name
	}
	sort.Strings(ns)
	return Format{}, fmt.Errorf("ambiguous report format: it looks like %s; pass the format explicitly", strings.Join(ns, " and "))
}
