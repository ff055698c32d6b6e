// Package github reads GitHub's Dependabot alerts and code scanning alerts,
// from exported files (a REST list response saved as one JSON array) and
// from the REST API, into ingest.Findings.
//
// # Identity
//
// GitHub numbers alerts per repository and never reuses a number: an alert
// keeps its number through dismissal, reopening and fixing, while a new
// alert for the same advisory gets a new one (GitHub's own identity, and
// the only stable one: one repository routinely holds several alerts for
// the same CVE, package and manifest, one per vulnerable version range).
// Finding.Key is therefore "<repository>#<number>", with the repository
// written as ingest.RepoAsset names it ("github.com/octo/app#184"), and
// KeySource is "github:repository+number".
//
// The repository is taken from the alert itself: repository.html_url
// (organization exports), else the alert's html_url or url. Only when an
// alert names no repository at all does the parser's Asset option apply; an
// alert with neither is an error, never a guessed identity. The repository
// is also Finding.Asset, and Scan.Asset when every alert of the report has
// the same one (else the Asset option, else empty for an organization
// export).
//
// # Lifecycle
//
// Alerts carry their own lifecycle, so Scan.Tracked is true and Scan.Kinds
// is empty: an alert missing from an export is not fixed. created_at is
// Finding.DetectedAt; for state "fixed", fixed_at is Finding.FixedAt (and
// required). A dismissed alert gets Suppression "github:" + its
// dismissed_reason in snake_case ("github:tolerable_risk",
// "github:false_positive", "github:won't_fix"; "github:dismissed" when GitHub
// gives no reason), and an auto-dismissed Dependabot alert
// "github:auto_dismissed"; Finding.StatusAt is then dismissed_at (or
// auto_dismissed_at) and StatusReason the dismisser's comment.
//
// # Errors
//
// Every malformed, truncated or wrongly typed alert is an
// *ingest.FormatError naming the alert's index and field ("[12].state"),
// never a skipped alert; so is an unknown state, which could not be mapped
// to a lifecycle.
package github

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// The formats, as ingest.Scan.Format and ingest.FormatError.Format name them.
const (
	FormatDependabot   = "github-dependabot"
	FormatCodeScanning = "github-code-scanning"
)

// KeySource is the Finding.KeySource of every GitHub alert.
const KeySource = "github:repository+number"

// repository is the repository object of organization-level alerts.
type repository struct {
	FullName string `json:"full_name"`
	HTMLURL  string `json:"html_url"`
}

// lifecycle holds the fields both alert kinds share.
type lifecycle struct {
	Number           *int64      `json:"number"`
	State            string      `json:"state"`
	URL              string      `json:"url"`
	HTMLURL          string      `json:"html_url"`
	CreatedAt        string      `json:"created_at"`
	FixedAt          string      `json:"fixed_at"`
	DismissedAt      string      `json:"dismissed_at"`
	DismissedReason  string      `json:"dismissed_reason"`
	DismissedComment string      `json:"dismissed_comment"`
	AutoDismissedAt  string      `json:"auto_dismissed_at"`
	Repository       *repository `json:"repository"`
}

// apply fills f's identity and lifecycle from the alert; states lists the
// states the alert kind knows. path is the alert's place ("[3]").
func (a *lifecycle) apply(f *ingest.Finding, format, path, fallbackAsset string, states ...string) error {
	bad := func(field, msg string, args ...any) error {
		return &ingest.FormatError{Format: format, Path: path + "." + field, Msg: fmt.Sprintf(msg, args...)}
	}
	if a.Number == nil {
		return bad("number", "missing")
	}
	if *a.Number <= 0 {
		return bad("number", "%d is not an alert number", *a.Number)
	}
	repo := alertRepo(a.Repository, a.HTMLURL, a.URL)
	if repo == "" {
		repo = fallbackAsset
	}
	if repo == "" {
		return bad("html_url", "the alert names no repository (repository, html_url or url) and no asset is configured")
	}
	f.Asset = repo
	f.Key = repo + "#" + strconv.FormatInt(*a.Number, 10)
	f.KeySource = KeySource

	var err error
	if f.DetectedAt, err = parseTime(a.CreatedAt); err != nil || f.DetectedAt.IsZero() {
		if err == nil {
			err = errors.New("missing")
		}
		return bad("created_at", "%v", err)
	}
	known := false
	for _, s := range states {
		known = known || a.State == s
	}
	if !known {
		return bad("state", "unknown state %q (want one of %s)", a.State, strings.Join(states, ", "))
	}
	switch a.State {
	case "fixed":
		if f.FixedAt, err = parseTime(a.FixedAt); err != nil || f.FixedAt.IsZero() {
			if err == nil {
				err = errors.New("missing for a fixed alert")
			}
			return bad("fixed_at", "%v", err)
		}
	case "dismissed":
		if f.StatusAt, err = parseTime(a.DismissedAt); err != nil {
			return bad("dismissed_at", "%v", err)
		}
		reason := snake(a.DismissedReason)
		if reason == "" {
			reason = "dismissed"
		}
		f.Suppression = "github:" + reason
		f.StatusReason = strings.TrimSpace(a.DismissedComment)
	case "auto_dismissed":
		if f.StatusAt, err = parseTime(a.AutoDismissedAt); err != nil {
			return bad("auto_dismissed_at", "%v", err)
		}
		f.Suppression = "github:auto_dismissed"
	}
	return nil
}

// snake normalizes a dismissal reason to a suppression key word: lower
// case, spaces and hyphens as underscores ("won't fix" gives "won't_fix").
func snake(reason string) string {
	r := strings.ToLower(strings.TrimSpace(reason))
	return strings.Join(strings.FieldsFunc(r, func(c rune) bool { return c == ' ' || c == '-' || c == '_' }), "_")
}

// parseTime parses a GitHub timestamp (RFC 3339); "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// alertRepo names the repository of an alert ("github.com/owner/name"),
// or "" when the alert does not say.
func alertRepo(repo *repository, htmlURL, apiURL string) string {
	if repo != nil && repo.HTMLURL != "" {
		if r := ownerRepo(repo.HTMLURL, false); r != "" {
			return r
		}
	}
	if r := ownerRepo(htmlURL, false); r != "" {
		return r
	}
	return ownerRepo(apiURL, true)
}

// ownerRepo takes host/owner/name out of a github web URL
// (https://host/owner/name/...) or, when api is true, a REST URL
// (https://api.github.com/repos/owner/name/... or, for GitHub Enterprise
// Server, https://host/api/v3/repos/owner/name/...).
func ownerRepo(raw string, api bool) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	host := u.Host
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if api {
		i := 0
		for i < len(parts) && parts[i] != "repos" {
			i++
		}
		if i == len(parts) {
			return ""
		}
		parts = parts[i+1:]
		if host == "api.github.com" {
			host = "github.com"
		}
	}
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return ""
	}
	return ingest.RepoAsset(host + "/" + parts[0] + "/" + parts[1])
}

// readArray streams a JSON array of alerts from r, decoding each element
// with one and handing it its index. It checks ctx between elements and
// rejects anything after the closing bracket.
func readArray(ctx context.Context, r io.Reader, format string, one func(dec *json.Decoder, i int) error) error {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return decodeError(format, "", dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return &ingest.FormatError{Format: format, Msg: fmt.Sprintf("want a JSON array of alerts, found %v", tokenText(tok))}
	}
	for i := 0; dec.More(); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := one(dec, i); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return decodeError(format, "", dec, err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return decodeError(format, "", dec, err)
		}
		return &ingest.FormatError{Format: format, Offset: dec.InputOffset(), Msg: fmt.Sprintf("unexpected %v after the array", tokenText(tok))}
	}
	return nil
}

// decodeElement decodes the next array element into v.
func decodeElement(dec *json.Decoder, format string, i int, v any) error {
	if err := dec.Decode(v); err != nil {
		return decodeError(format, fmt.Sprintf("[%d]", i), dec, err)
	}
	return nil
}

// decodeError turns a json.Decoder error into an *ingest.FormatError; an
// error of the underlying reader is returned wrapped as it is.
func decodeError(format, path string, dec *json.Decoder, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &ingest.FormatError{Format: format, Path: path, Offset: syn.Offset, Msg: syn.Error()}
	case errors.As(err, &typ):
		// encoding/json names a promoted field by its embedded struct too
		// ("lifecycle.number"); the input knows it as "number".
		if field := strings.TrimPrefix(typ.Field, "lifecycle."); field != "" {
			path += "." + field
		}
		return &ingest.FormatError{Format: format, Path: path, Offset: typ.Offset,
			Msg: fmt.Sprintf("JSON %s cannot be a %s", typ.Value, typ.Type)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ingest.FormatError{Format: format, Path: path, Offset: dec.InputOffset(), Msg: "truncated input"}
	}
	return fmt.Errorf("read %s: %w", format, err)
}

func tokenText(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return string(v)
	case string:
		return "a string"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// topKeys returns the keys of the first object of a JSON array that head
// (the start of a file, possibly cut anywhere) shows; nil when head does
// not start like an array of objects.
func topKeys(head []byte) map[string]bool {
	dec := json.NewDecoder(strings.NewReader(string(head)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	keys := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		k, ok := tok.(string)
		if !ok {
			break
		}
		keys[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			break
		}
	}
	return keys
}

// has reports whether keys holds every one of want.
func has(keys map[string]bool, want ...string) bool {
	for _, k := range want {
		if !keys[k] {
			return false
		}
	}
	return len(want) > 0
}

// scanAcc gathers what the alerts of one export, or of every page of one
// pull, say about the scan.
type scanAcc struct {
	format string
	asset  string // the parser's Asset option, for a report naming none
	// repos, tools and versions see every alert's value.
	repos, tools, versions uniform
}

func (a *scanAcc) scan() ingest.Scan {
	s := ingest.Scan{
		Format:  a.format,
		Asset:   cmp.Or(a.repos.value(), a.asset),
		Tracked: true,
	}
	switch a.format {
	case FormatDependabot:
		s.Scanner = "dependabot"
	case FormatCodeScanning:
		s.Scanner = cmp.Or(a.tools.value(), FormatCodeScanning)
		if a.tools.value() != "" {
			s.ScannerVersion = a.versions.value()
		}
	}
	return s
}

// uniform tracks whether every alert has the same value (a repository, a
// tool), for the Scan fields.
type uniform struct {
	first      string
	seen, many bool
}

func (u *uniform) add(v string) {
	switch {
	case !u.seen:
		u.first, u.seen = v, true
	case v != u.first:
		u.many = true
	}
}

// value is the one value every alert had, else "" (none, or several).
func (u *uniform) value() string {
	if u.many {
		return ""
	}
	return u.first
}

// detectLimit is how much of a file the Detect functions look at.
const detectLimit = 64 << 10

func clip(head []byte) []byte {
	if len(head) > detectLimit {
		return head[:detectLimit]
	}
	return head
}
