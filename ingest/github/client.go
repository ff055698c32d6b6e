package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/transport"
)

// DefaultBaseURL is the REST API of github.com. GitHub Enterprise Server's
// is https://HOST/api/v3.
const DefaultBaseURL = "https://api.github.com"

// DefaultMaxPageBytes bounds one response page. A page of 100 Dependabot
// alerts, with their advisories' full descriptions, is about 0.5 MB.
const DefaultMaxPageBytes = 32 << 20

// APIVersion is the REST API version the client asks for and the parsers
// are written against.
const APIVersion = "2022-11-28"

// ErrNotEnabled is wrapped (beside the *transport.StatusError) by the code
// scanning methods when GitHub answers 404: code scanning is not set up for
// the repository (no analysis uploaded, or GitHub Advanced Security off),
// or the token cannot see it. A scheduler pulling many repositories can
// skip these with errors.Is.
var ErrNotEnabled = errors.New("code scanning is not enabled for the repository, or the token cannot see it")

// Client pulls alerts from the GitHub REST API. The zero value (with a
// Token) talks to github.com with a retrying transport.
//
// Each method follows the Link: rel="next" pagination (page numbers for
// code scanning, an after= cursor for Dependabot) with per_page=100 until
// the last page, and passes every alert, converted as the parsers describe,
// to emit in API order. It returns the scan metadata (always Tracked) once
// every page has been read. Any error ends the pull: findings already
// emitted then belong to an incomplete pull and the caller should discard
// them. Errors are:
//
//   - a *transport.StatusError for a final non-2xx response, classed for
//     errors.Is: transport.ErrUnauthorized (401, the token is wrong or
//     expired), transport.ErrForbidden (403: missing permission, such as
//     "Dependabot alerts: read" or "Code scanning alerts: read" on a
//     fine-grained token, or the feature is disabled), transport.ErrNotFound,
//     transport.ErrRateLimited; for code scanning a 404 also wraps
//     ErrNotEnabled;
//   - an *ingest.FormatError for a malformed page (never skipped);
//   - an error wrapping transport.ErrTooLarge for a page over MaxPageBytes;
//   - the error of emit, or of ctx, as is (wrapped with the page).
//
// No error names the token.
type Client struct {
	// BaseURL is the API root; "" means DefaultBaseURL.
	BaseURL string
	// Token is sent as "Authorization: Bearer"; a personal access token,
	// fine-grained token or GitHub App installation token.
	Token string
	// TokenName is how errors name the token to the operator, such as the
	// configuration key ("github.token"); "" means "the GitHub token".
	TokenName string
	// HTTP sends the requests; nil means a client with a default
	// transport.Transport (retries, Retry-After) and a 10-minute timeout.
	// A caller's client should have a transport.Transport too.
	HTTP *http.Client
	// MaxPageBytes bounds each response body; 0 means DefaultMaxPageBytes.
	MaxPageBytes int64
}

// DependabotAlerts pulls the Dependabot alerts of one repository, in every
// state (GET /repos/{owner}/{repo}/dependabot/alerts).
func (c *Client) DependabotAlerts(ctx context.Context, owner, repo string, emit func(ingest.Finding) error) (ingest.Scan, error) {
	p := DependabotParser{Asset: c.repoAsset(owner, repo)}
	return c.pull(ctx, "dependabot alerts of "+owner+"/"+repo, false,
		"/repos/"+url.PathEscape(owner)+"/"+url.PathEscape(repo)+"/dependabot/alerts", p.parse, emit)
}

// OrgDependabotAlerts pulls the Dependabot alerts of every repository of an
// organization the token can see (GET /orgs/{org}/dependabot/alerts); each
// finding names its repository in Finding.Asset.
func (c *Client) OrgDependabotAlerts(ctx context.Context, org string, emit func(ingest.Finding) error) (ingest.Scan, error) {
	return c.pull(ctx, "dependabot alerts of organization "+org, false,
		"/orgs/"+url.PathEscape(org)+"/dependabot/alerts", DependabotParser{}.parse, emit)
}

// CodeScanningAlerts pulls the code scanning alerts of one repository, in
// every state and from every tool (GET
// /repos/{owner}/{repo}/code-scanning/alerts).
func (c *Client) CodeScanningAlerts(ctx context.Context, owner, repo string, emit func(ingest.Finding) error) (ingest.Scan, error) {
	p := CodeScanningParser{Asset: c.repoAsset(owner, repo)}
	return c.pull(ctx, "code scanning alerts of "+owner+"/"+repo, true,
		"/repos/"+url.PathEscape(owner)+"/"+url.PathEscape(repo)+"/code-scanning/alerts", p.parse, emit)
}

// OrgCodeScanningAlerts pulls the code scanning alerts of every repository
// of an organization the token can see (GET /orgs/{org}/code-scanning/alerts).
func (c *Client) OrgCodeScanningAlerts(ctx context.Context, org string, emit func(ingest.Finding) error) (ingest.Scan, error) {
	return c.pull(ctx, "code scanning alerts of organization "+org, true,
		"/orgs/"+url.PathEscape(org)+"/code-scanning/alerts", CodeScanningParser{}.parse, emit)
}

// pageParser parses one page into findings, accumulating the scan's
// metadata in acc across pages.
type pageParser func(ctx context.Context, r io.Reader, emit func(ingest.Finding) error, acc *scanAcc) error

// pull reads every page from path and returns the accumulated scan.
func (c *Client) pull(ctx context.Context, what string, codeScanning bool, path string, parse pageParser, emit func(ingest.Finding) error) (ingest.Scan, error) {
	base, err := c.base()
	if err != nil {
		return ingest.Scan{}, fmt.Errorf("%s: %w", what, err)
	}
	next := base.JoinPath(path)
	next.RawQuery = url.Values{"per_page": {"100"}}.Encode()
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Transport: &transport.Transport{}, Timeout: 10 * time.Minute}
	}
	seen := map[string]bool{}
	var acc scanAcc
	for page := 1; next != nil; page++ {
		if seen[next.String()] {
			return ingest.Scan{}, fmt.Errorf("%s: page %d: the next-page link repeats an earlier page", what, page)
		}
		seen[next.String()] = true
		if next, err = c.page(ctx, hc, next, base, codeScanning, parse, emit, &acc); err != nil {
			return ingest.Scan{}, fmt.Errorf("%s: page %d: %w", what, page, err)
		}
	}
	return acc.scan(), nil
}

// page fetches and parses one page and returns the next page's URL (nil on
// the last page).
func (c *Client) page(ctx context.Context, hc *http.Client, u, base *url.URL, codeScanning bool, parse pageParser, emit func(ingest.Finding) error, acc *scanAcc) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	req.Header.Set("User-Agent", "secmetrics")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := transport.Check(resp, c.tokenName()); err != nil {
		if codeScanning && errors.Is(err, transport.ErrNotFound) {
			return nil, fmt.Errorf("%w: %w", ErrNotEnabled, err)
		}
		return nil, err
	}
	max := c.MaxPageBytes
	if max <= 0 {
		max = DefaultMaxPageBytes
	}
	if err := parse(ctx, transport.LimitReader(resp.Body, max), emit, acc); err != nil {
		return nil, err
	}
	return nextLink(resp.Header, u, base)
}

// nextLink returns the rel="next" target of a Link header, resolved against
// the current page, or nil when there is none. The target must be on the
// API's own scheme and host: the token is never sent anywhere else.
func nextLink(h http.Header, current, base *url.URL) (*url.URL, error) {
	for _, v := range h.Values("Link") {
		for _, link := range strings.Split(v, ",") {
			target, params, ok := strings.Cut(link, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			isNext := false
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") {
					for _, rel := range strings.Fields(strings.Trim(val, `"`)) {
						isNext = isNext || rel == "next"
					}
				}
			}
			if !isNext {
				continue
			}
			u, err := current.Parse(target[1 : len(target)-1])
			if err != nil {
				return nil, fmt.Errorf("bad next-page link: %w", err)
			}
			if u.Scheme != base.Scheme || u.Host != base.Host {
				return nil, fmt.Errorf("next-page link leaves %s://%s (to %s://%s); not following it with the token", base.Scheme, base.Host, u.Scheme, u.Host)
			}
			return u, nil
		}
	}
	return nil, nil
}

func (c *Client) base() (*url.URL, error) {
	raw := c.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q is not an http(s) URL", raw)
	}
	return u, nil
}

// repoAsset names a repository of this API's GitHub as ingest.RepoAsset
// would ("github.com/owner/repo"); it is the fallback asset of alerts that
// name none.
func (c *Client) repoAsset(owner, repo string) string {
	host := "github.com"
	if u, err := c.base(); err == nil && u.Host != "api.github.com" {
		host = u.Host
	}
	return ingest.RepoAsset(host + "/" + owner + "/" + repo)
}

func (c *Client) tokenName() string {
	if c.TokenName != "" {
		return c.TokenName
	}
	return "the GitHub token"
}
