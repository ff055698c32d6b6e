package jira

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The payload types below decode only what the service uses. Fields that
// the v3 API returns as rich text (ADF: description, comments, worklog
// comments) are never requested or decoded.

// searchPage is a page of /rest/api/3/search/jql (Cloud: nextPageToken,
// isLast) or /rest/api/2/search (Data Center: startAt, maxResults, total).
// Issues stay raw: they are stored as fetched.
type searchPage struct {
	Issues        []json.RawMessage `json:"issues"`
	NextPageToken string            `json:"nextPageToken"`
	IsLast        *bool             `json:"isLast"`
	StartAt       int               `json:"startAt"`
	MaxResults    int               `json:"maxResults"`
	Total         *int              `json:"total"`
}

// issue is a search result with the fields the service requests.
type issue struct {
	ID        string                     `json:"id"`
	Key       string                     `json:"key"`
	Fields    map[string]json.RawMessage `json:"fields"`
	Changelog *changelog                 `json:"changelog"`
}

// changelog is the changelog embedded by expand=changelog; Total says how
// many histories exist when Histories is truncated.
type changelog struct {
	StartAt    int       `json:"startAt"`
	MaxResults int       `json:"maxResults"`
	Total      int       `json:"total"`
	Histories  []history `json:"histories"`
}

type history struct {
	ID      string        `json:"id"`
	Author  *user         `json:"author"`
	Created string        `json:"created"`
	Items   []historyItem `json:"items"`
}

type historyItem struct {
	Field      string `json:"field"`
	FieldID    string `json:"fieldId"`
	From       string `json:"from"`
	FromString string `json:"fromString"`
	To         string `json:"to"`
	ToString   string `json:"toString"`
}

// changelogPage is a page of /rest/api/{2,3}/issue/{key}/changelog.
type changelogPage struct {
	StartAt    int               `json:"startAt"`
	MaxResults int               `json:"maxResults"`
	Total      int               `json:"total"`
	IsLast     *bool             `json:"isLast"`
	Values     []json.RawMessage `json:"values"`
}

// bulkChangelogRequest and bulkChangelogPage are the body and answer of
// POST /rest/api/3/changelog/bulkfetch.
type bulkChangelogRequest struct {
	IssueIDsOrKeys []string `json:"issueIdsOrKeys"`
	FieldIDs       []string `json:"fieldIds,omitempty"`
	MaxResults     int      `json:"maxResults,omitempty"`
	NextPageToken  string   `json:"nextPageToken,omitempty"`
}

type bulkChangelogPage struct {
	IssueChangeLogs []struct {
		IssueID         string            `json:"issueId"`
		ChangeHistories []json.RawMessage `json:"changeHistories"`
	} `json:"issueChangeLogs"`
	NextPageToken string `json:"nextPageToken"`
}

// worklogPage is the embedded worklog field and a page of
// /rest/api/{2,3}/issue/{key}/worklog.
type worklogPage struct {
	StartAt    int               `json:"startAt"`
	MaxResults int               `json:"maxResults"`
	Total      int               `json:"total"`
	Worklogs   []json.RawMessage `json:"worklogs"`
}

type worklog struct {
	ID               string `json:"id"`
	IssueID          string `json:"issueId"`
	Author           *user  `json:"author"`
	Started          string `json:"started"`
	Updated          string `json:"updated"`
	TimeSpentSeconds int64  `json:"timeSpentSeconds"`
}

// user is a Jira user: Cloud identifies it by accountId, Data Center by
// name (and key).
type user struct {
	AccountID    string `json:"accountId"`
	Name         string `json:"name"`
	Key          string `json:"key"`
	EmailAddress string `json:"emailAddress"`
	DisplayName  string `json:"displayName"`
}

// id is the user's stable identity: accountId (Cloud), name or key (Data
// Center), else e-mail or display name.
func (u *user) id() string {
	if u == nil {
		return ""
	}
	for _, s := range []string{u.AccountID, u.Name, u.Key, u.EmailAddress, u.DisplayName} {
		if s != "" {
			return s
		}
	}
	return ""
}

// field is an entry of /rest/api/{2,3}/field.
type field struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Custom bool   `json:"custom"`
}

// status is an entry of /rest/api/{2,3}/status.
type status struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	StatusCategory statusCategory `json:"statusCategory"`
}

// statusCategory is Jira's coarse state of a status: key new,
// indeterminate or done.
type statusCategory struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// myself is the part of /rest/api/{2,3}/myself the pull uses.
type myself struct {
	TimeZone string `json:"timeZone"`
}

// apiError is Jira's error body.
type apiError struct {
	ErrorMessages []string          `json:"errorMessages"`
	Errors        map[string]string `json:"errors"`
}

func (e apiError) message() string {
	msgs := append([]string(nil), e.ErrorMessages...)
	for k, v := range e.Errors {
		msgs = append(msgs, k+": "+v)
	}
	return strings.Join(msgs, "; ")
}

// parseTime reads a Jira timestamp: "2021-01-17T12:34:00.000+0000" (no
// colon in the offset, as Jira writes it), with or without fractional
// seconds, or RFC 3339. The result is in UTC.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05-0700", time.RFC3339} {
		// Fractional seconds are accepted after the seconds field although
		// the layouts do not name them.
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad Jira timestamp %q (want 2021-01-17T12:34:00.000+0000)", s)
}

// parseDate reads a date field ("2021-01-20", midnight UTC) or a
// date-time field.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return parseTime(s)
}

// text decodes a field that holds a string (or null).
func text(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// named decodes a field that holds an object with a name (issue type,
// status, priority, resolution) or null.
func named(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var v struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	return v.Name, nil
}

// values renders any field value as the strings a mapping compares: a
// string or number as written, an option by its value, a user by its
// identity, an object by its value, name or key, and an array element by
// element. null is no value.
func values(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return nil, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if s == "" {
			return nil, nil
		}
		return []string{s}, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		var out []string
		for _, it := range items {
			v, err := values(it)
			if err != nil {
				return nil, err
			}
			out = append(out, v...)
		}
		return out, nil
	case '{':
		var o struct {
			Value       *string `json:"value"`
			Name        string  `json:"name"`
			Key         string  `json:"key"`
			AccountID   string  `json:"accountId"`
			DisplayName string  `json:"displayName"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, err
		}
		for _, s := range []string{deref(o.Value), o.Name, o.AccountID, o.Key, o.DisplayName} {
			if s != "" {
				return []string{s}, nil
			}
		}
		return nil, nil
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, err
		}
		return []string{strconv.FormatBool(b)}, nil
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, err
		}
		return []string{n.String()}, nil
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}
