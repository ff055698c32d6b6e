package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/secmetrics/secmetrics/ingest/transport"
)

// ErrRemovedSearch is returned when a Jira Cloud site answers 410 Gone on
// the search endpoint that Data Center still serves: the instance is
// configured with the wrong flavor.
var ErrRemovedSearch = errors.New("this Jira Cloud site removed /search; set flavor: cloud")

// RejectedError is a request Jira refused as invalid (400), typically a JQL
// it cannot parse or a field it does not know. Messages are the server's
// own words.
type RejectedError struct {
	Method   string
	URL      string // redacted
	Messages string
	JQL      string // the query, for searches
}

func (e *RejectedError) Error() string {
	s := fmt.Sprintf("%s %s: Jira rejected the request: %s", e.Method, e.URL, e.Messages)
	if e.JQL != "" {
		s += fmt.Sprintf(" (JQL: %s)", e.JQL)
	}
	return s
}

// client talks to one Jira instance through go-jira's request building and
// transport, with the service's retrying transport beneath the
// authentication.
type client struct {
	jc         *gojira.Client
	in         *Instance
	api        string // "rest/api/3" (Cloud) or "rest/api/2" (Data Center)
	credential string
	max        int64
}

// newClient builds the client of in. base sends each attempt (nil: a
// transport with timeouts); sleep replaces the retry wait in tests.
func newClient(in *Instance, cfg Config, base http.RoundTripper, sleep func(context.Context, time.Duration) error, log *slog.Logger) (*client, error) {
	if in.token == "" {
		return nil, fmt.Errorf("jira instance %q: no token: call Config.Resolve first", in.Name)
	}
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = 2 * time.Minute
		base = t
	}
	retry := &transport.Transport{Base: base, Limit: cfg.Concurrency, Sleep: sleep, Log: log}
	var auth http.RoundTripper
	api := "rest/api/3"
	switch in.Flavor {
	case Cloud:
		auth = &gojira.BasicAuthTransport{Username: in.Email, Password: in.token, Transport: retry}
	case DataCenter:
		auth = &gojira.BearerAuthTransport{Token: in.token, Transport: retry}
		api = "rest/api/2"
	default:
		return nil, fmt.Errorf("jira instance %q: unknown flavor %q", in.Name, in.Flavor)
	}
	jc, err := gojira.NewClient(&http.Client{Transport: auth}, in.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("jira instance %q: %w", in.Name, err)
	}
	return &client{jc: jc, in: in, api: api, credential: in.credential(), max: cfg.MaxResponseBytes}, nil
}

// call sends one request and decodes a 2xx JSON answer into out (raw bytes
// when out is *[]byte). A non-2xx answer is an error: *RejectedError for
// 400, ErrRemovedSearch for a 410, else *transport.StatusError (401/403
// name the credential, never its value). A body that is not JSON, or larger
// than the limit, is an error.
func (c *client) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	if method != http.MethodGet {
		// A search or bulk read changes nothing: safe to send again.
		ctx = transport.AllowRetry(ctx)
	}
	req, err := c.jc.NewRequestWithContext(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("jira instance %q: build request %s: %w", c.in.Name, path, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.jc.Do(req, nil)
	if resp == nil || resp.Response == nil {
		if err == nil {
			err = errors.New("no response")
		}
		return fmt.Errorf("jira instance %q: %w", c.in.Name, err)
	}
	// go-jira's error for a non-2xx status carries nothing the checks
	// below do not: the response is classified here.
	defer resp.Body.Close()
	where := method + " " + transport.RedactURL(req.URL)
	switch resp.StatusCode {
	case http.StatusBadRequest:
		b, _ := transport.ReadLimited(resp.Body, 64<<10)
		var ae apiError
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &ae) == nil && ae.message() != "" {
			msg = ae.message()
		}
		rej := &RejectedError{Method: method, URL: transport.RedactURL(req.URL), Messages: msg}
		if q, ok := body.(searchRequest); ok {
			rej.JQL = q.JQL
		} else if query.Get("jql") != "" {
			rej.JQL = query.Get("jql")
		}
		return rej
	case http.StatusGone:
		return fmt.Errorf("%s: 410 Gone: %w", where, ErrRemovedSearch)
	}
	if err := transport.Check(resp.Response, c.credential); err != nil {
		return err
	}
	b, err := transport.ReadLimited(resp.Body, c.max)
	if err != nil {
		return fmt.Errorf("%s: read response: %w", where, err)
	}
	if raw, ok := out.(*[]byte); ok {
		if !json.Valid(b) {
			return fmt.Errorf("%s: response is not valid JSON", where)
		}
		*raw = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: decode response: %w", where, err)
	}
	return nil
}

// searchRequest is the body of POST /rest/api/3/search/jql.
type searchRequest struct {
	JQL           string   `json:"jql"`
	Fields        []string `json:"fields"`
	Expand        string   `json:"expand,omitempty"`
	MaxResults    int      `json:"maxResults"`
	NextPageToken string   `json:"nextPageToken,omitempty"`
}

// search returns one page of issues matching jql: Cloud pages with token,
// Data Center with startAt.
func (c *client) search(ctx context.Context, jql string, fields []string, max int, token string, startAt int) (searchPage, error) {
	var p searchPage
	if c.in.Flavor == Cloud {
		err := c.call(ctx, http.MethodPost, c.api+"/search/jql", nil,
			searchRequest{JQL: jql, Fields: fields, Expand: "changelog", MaxResults: max, NextPageToken: token}, &p)
		var se *transport.StatusError
		if errors.As(err, &se) && se.Status == http.StatusNotFound {
			return p, fmt.Errorf("%w (no /rest/api/3/search/jql here: if this is Jira Data Center, set flavor: datacenter)", err)
		}
		return p, err
	}
	q := url.Values{
		"jql":        {jql},
		"startAt":    {strconv.Itoa(startAt)},
		"maxResults": {strconv.Itoa(max)},
		"fields":     {strings.Join(fields, ",")},
		"expand":     {"changelog"},
	}
	err := c.call(ctx, http.MethodGet, c.api+"/search", q, nil, &p)
	return p, err
}

// bulkChangelog returns the histories of the issues ids that changed one of
// fieldIDs, raw, keyed by issue id (Cloud only).
func (c *client) bulkChangelog(ctx context.Context, ids []string, fieldIDs []string) (map[string][]json.RawMessage, error) {
	out := map[string][]json.RawMessage{}
	req := bulkChangelogRequest{IssueIDsOrKeys: ids, FieldIDs: fieldIDs, MaxResults: 1000}
	for pages := 0; ; pages++ {
		if pages > 100000 {
			return nil, errors.New("changelog bulk fetch: too many pages")
		}
		var p bulkChangelogPage
		if err := c.call(ctx, http.MethodPost, c.api+"/changelog/bulkfetch", nil, req, &p); err != nil {
			return nil, err
		}
		for _, l := range p.IssueChangeLogs {
			out[l.IssueID] = append(out[l.IssueID], l.ChangeHistories...)
		}
		if p.NextPageToken == "" || p.NextPageToken == req.NextPageToken {
			return out, nil
		}
		req.NextPageToken = p.NextPageToken
	}
}

// issueChangelog returns every history of one issue, raw, by paging
// /issue/{key}/changelog.
func (c *client) issueChangelog(ctx context.Context, key string) ([]json.RawMessage, error) {
	var all []json.RawMessage
	for start := 0; ; {
		var p changelogPage
		q := url.Values{"startAt": {strconv.Itoa(start)}, "maxResults": {"100"}}
		if err := c.call(ctx, http.MethodGet, c.api+"/issue/"+url.PathEscape(key)+"/changelog", q, nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Values...)
		start += len(p.Values)
		if len(p.Values) == 0 || (p.IsLast != nil && *p.IsLast) || (p.IsLast == nil && start >= p.Total) {
			return all, nil
		}
	}
}

// issueWorklogs returns every worklog of one issue, raw.
func (c *client) issueWorklogs(ctx context.Context, key string) ([]json.RawMessage, error) {
	var all []json.RawMessage
	for start := 0; ; {
		var p worklogPage
		q := url.Values{"startAt": {strconv.Itoa(start)}, "maxResults": {"1000"}}
		if err := c.call(ctx, http.MethodGet, c.api+"/issue/"+url.PathEscape(key)+"/worklog", q, nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Worklogs...)
		start = p.StartAt + len(p.Worklogs)
		if len(p.Worklogs) == 0 || start >= p.Total {
			return all, nil
		}
	}
}

// fields returns the instance's fields (raw, to be kept, and decoded).
func (c *client) fields(ctx context.Context) ([]byte, []field, error) {
	var raw []byte
	if err := c.call(ctx, http.MethodGet, c.api+"/field", nil, nil, &raw); err != nil {
		return nil, nil, err
	}
	var fs []field
	if err := json.Unmarshal(raw, &fs); err != nil {
		return nil, nil, fmt.Errorf("decode field list: %w", err)
	}
	return raw, fs, nil
}

// statuses returns the instance's statuses (raw and decoded).
func (c *client) statuses(ctx context.Context) ([]byte, []status, error) {
	var raw []byte
	if err := c.call(ctx, http.MethodGet, c.api+"/status", nil, nil, &raw); err != nil {
		return nil, nil, err
	}
	var ss []status
	if err := json.Unmarshal(raw, &ss); err != nil {
		return nil, nil, fmt.Errorf("decode status list: %w", err)
	}
	return raw, ss, nil
}

// timeZone returns the API user's time zone, in which Jira reads JQL
// dates.
func (c *client) timeZone(ctx context.Context) (string, error) {
	var m myself
	if err := c.call(ctx, http.MethodGet, c.api+"/myself", nil, nil, &m); err != nil {
		return "", err
	}
	return m.TimeZone, nil
}
