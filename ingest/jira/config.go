package jira

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// Flavors of Jira.
const (
	Cloud      = "cloud"
	DataCenter = "datacenter"
)

// Defaults for zero Config fields.
const (
	DefaultPageSize         = 100
	DefaultConcurrency      = 4
	DefaultOverlap          = 15 * time.Minute
	DefaultMaxResponseBytes = 64 << 20
)

// Config is the Jira part of the service configuration (the `jira:` key).
// Zero values mean the documented defaults (docs/jira.md). Secrets are never
// read from the file: Resolve reads them from the environment or files that
// the configuration names.
type Config struct {
	Instances []Instance `yaml:"instances"`
	// PageSize is the number of issues per search request (1–100; Cloud
	// returns at most 100 issues with fields).
	PageSize int `yaml:"page_size"`
	// Concurrency bounds the requests in flight to one instance.
	Concurrency int `yaml:"concurrency"`
	// Overlap is subtracted from the watermark when a pull starts, so that
	// issues indexed late by Jira's search are still seen.
	Overlap time.Duration `yaml:"overlap"`
	// PollInterval is how often `serve` pulls; 0 disables polling.
	PollInterval time.Duration `yaml:"poll_interval"`
	// MaxResponseBytes bounds one response body.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// Mapping applies to every instance that has none of its own.
	Mapping Mapping `yaml:"mapping"`
}

// Instance is one Jira site.
type Instance struct {
	// Name identifies the instance in ingest state ("jira:"+Name), ticket
	// rows and logs: lower-case letters, digits, '-' and '_'.
	Name    string `yaml:"name"`
	Flavor  string `yaml:"flavor"` // cloud or datacenter
	BaseURL string `yaml:"base_url"`
	// Email is the Atlassian account of the API token (Cloud only).
	Email string `yaml:"email"`
	// TokenEnv or TokenFile names where the secret is: a Cloud API token or
	// a Data Center personal access token. Exactly one is set.
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// Projects and JQL select the issues; both are ANDed when set. The pull
	// adds `updated >= "..."` and its own ORDER BY.
	Projects []string `yaml:"projects"`
	JQL      string   `yaml:"jql"`
	// JQLTimeZone is the IANA zone in which Jira reads the dates of a JQL
	// query: the API user's profile time zone. Empty means: ask Jira
	// (/myself), falling back to UTC.
	JQLTimeZone string `yaml:"jql_time_zone"`
	// Mapping, when set, replaces Config.Mapping for this instance.
	Mapping *Mapping `yaml:"mapping"`

	token string // resolved secret; never printed
}

// Mapping turns Jira's vocabulary into the service's.
type Mapping struct {
	// Kinds are tried in order; the first rule that matches gives the
	// ticket's kind. A ticket no rule matches is of kind "other".
	Kinds    []KindRule `yaml:"kinds"`
	Severity Severity   `yaml:"severity"`
	Team     Team       `yaml:"team"`
	States   States     `yaml:"states"`
	Fields   Fields     `yaml:"fields"`
	Findings Findings   `yaml:"findings"`
}

// KindRule gives Kind to the tickets that match every non-empty criterion;
// within a criterion, any listed value matches (names compare without regard
// to case).
type KindRule struct {
	Kind       string   `yaml:"kind"`
	Projects   []string `yaml:"projects"`
	IssueTypes []string `yaml:"issue_types"`
	Labels     []string `yaml:"labels"`
	Components []string `yaml:"components"`
}

// Severity says where a ticket's severity comes from.
type Severity struct {
	// Field is "priority" (the default) or a field id or name, e.g.
	// "customfield_10050" or "Security Severity".
	Field string `yaml:"field"`
	// Map maps a field value (compared without regard to case) to a
	// severity; values it lacks are read as severity words (ParseSeverity:
	// Critical, High, Major, ...), and anything else is "unknown".
	Map map[string]string `yaml:"map"`
}

// Team says where a ticket's team comes from.
type Team struct {
	// From lists the places to look, in order: component, label, field,
	// project. The first value that maps to a team wins.
	From []string `yaml:"from"`
	// Field is the field for From "field" (id or name).
	Field string `yaml:"field"`
	// LabelPrefix, when set, limits From "label" to labels with this
	// prefix, which is removed before mapping ("team-payments" → "payments").
	LabelPrefix string `yaml:"label_prefix"`
	// Map maps a value (compared without regard to case) to an inventory
	// team. When it is empty every value is taken as the team name itself.
	Map map[string]string `yaml:"map"`
}

// States maps Jira statuses to ticket states.
type States struct {
	// Statuses maps a status name to a state (new, triaged, in_progress,
	// contained, done). It wins over the category.
	Statuses map[string]string `yaml:"statuses"`
	// Categories maps a status category key or name to a state. Defaults:
	// new → new, indeterminate → in_progress, done → done.
	Categories map[string]string `yaml:"categories"`
	// Contained lists the statuses in which an incident counts as
	// contained (the same as mapping them to "contained" in Statuses).
	Contained []string `yaml:"contained"`
	// DoneIsContained makes a ticket that reached a done state without
	// passing through a contained status contained at that moment. Default
	// true: an incident closed straight away was contained at the latest
	// when it was closed.
	DoneIsContained *bool `yaml:"done_is_contained"`
}

// Fields names the fields (id or name) that carry further ticket data.
type Fields struct {
	DueDate      string `yaml:"due_date"` // default "duedate"
	Asset        string `yaml:"asset"`
	IncidentType string `yaml:"incident_type"`
	// CVE is the field holding a vulnerability's CVE id; when empty, the
	// first CVE id in the summary or labels is used.
	CVE string `yaml:"cve"`
}

// Findings configures how vulnerability tickets become findings.
type Findings struct {
	// Kind is the finding kind of a vulnerability ticket (sast, sca,
	// container, secret, iac, dast); default dast.
	Kind string `yaml:"kind"`
	// Resolutions and statuses that give a finding a status; a resolution
	// in none of these lists means fixed. A list left out has its default
	// (docs/jira.md); an empty list disables it.
	FalsePositive []string `yaml:"false_positive"`
	RiskAccepted  []string `yaml:"risk_accepted"`
	Duplicate     []string `yaml:"duplicate"`
	// DefaultAsset is the asset of a vulnerability ticket whose asset field
	// is empty. Without it such a ticket is stored as a ticket but not as a
	// finding (a finding needs an asset), and the pull reports it.
	DefaultAsset string `yaml:"default_asset"`
}

// Resolve reads each instance's secret from the environment variable
// (getenv) or file (readFile) its configuration names. It returns every
// problem at once; no error contains a secret.
func (c *Config) Resolve(getenv func(string) string, readFile func(string) ([]byte, error)) error {
	var errs []error
	for i := range c.Instances {
		in := &c.Instances[i]
		key := fmt.Sprintf("jira.instances[%d]", i)
		switch {
		case in.TokenEnv != "" && in.TokenFile != "":
			errs = append(errs, fmt.Errorf("%s: set one of token_env and token_file", key))
		case in.TokenEnv != "":
			in.token = strings.TrimSpace(getenv(in.TokenEnv))
			if in.token == "" {
				errs = append(errs, fmt.Errorf("%s.token_env: environment variable %s is empty or not set", key, in.TokenEnv))
			}
		case in.TokenFile != "":
			b, err := readFile(in.TokenFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.token_file: %w", key, err))
				continue
			}
			in.token = strings.TrimSpace(string(b))
			if in.token == "" {
				errs = append(errs, fmt.Errorf("%s.token_file: %s is empty", key, in.TokenFile))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: token_env or token_file is required", key))
		}
	}
	return errors.Join(errs...)
}

// credential names an instance's secret for error messages, without its
// value.
func (in *Instance) credential() string {
	what := "the Jira API token"
	if in.Flavor == DataCenter {
		what = "the Jira personal access token"
	}
	where := "token_env " + in.TokenEnv
	if in.TokenFile != "" {
		where = "token_file " + in.TokenFile
	}
	if in.Flavor == Cloud {
		return fmt.Sprintf("%s of instance %q (%s, email %s)", what, in.Name, where, in.Email)
	}
	return fmt.Sprintf("%s of instance %q (%s)", what, in.Name, where)
}

// source is the ingest source name of the instance.
func (in *Instance) source() string { return "jira:" + in.Name }

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	projectRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	orderByRE = regexp.MustCompile(`(?i)\border\s+by\b`)
)

// Validate lists every problem in the configuration, each prefixed with its
// key path (e.g. "jira.instances[0].base_url: must be an https URL"). It
// does not check secrets: see Resolve.
func (c *Config) Validate() []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(c.Instances) == 0 {
		add("jira.instances", "at least one instance is required")
	}
	if c.PageSize < 0 || c.PageSize > 100 {
		add("jira.page_size", "must be between 1 and 100 (0 means %d)", DefaultPageSize)
	}
	if c.Concurrency < 0 || c.Concurrency > 32 {
		add("jira.concurrency", "must be between 1 and 32 (0 means %d)", DefaultConcurrency)
	}
	if c.Overlap < 0 || c.Overlap > 7*24*time.Hour {
		add("jira.overlap", "must be between 0 and 168h")
	}
	if c.PollInterval != 0 && c.PollInterval < time.Minute {
		add("jira.poll_interval", "must be at least 1m (or 0 to disable polling)")
	}
	if c.MaxResponseBytes < 0 {
		add("jira.max_response_bytes", "must not be negative")
	}
	names := map[string]int{}
	for i, in := range c.Instances {
		key := fmt.Sprintf("jira.instances[%d]", i)
		switch {
		case in.Name == "":
			add(key+".name", "is required")
		case !nameRE.MatchString(in.Name):
			add(key+".name", "%q: use lower-case letters, digits, '-' and '_'", in.Name)
		default:
			if j, dup := names[in.Name]; dup {
				add(key+".name", "%q is also the name of jira.instances[%d]", in.Name, j)
			}
			names[in.Name] = i
		}
		switch in.Flavor {
		case Cloud:
			if in.Email == "" {
				add(key+".email", "is required for flavor cloud (the account of the API token)")
			}
		case DataCenter:
			if in.Email != "" {
				add(key+".email", "is only used with flavor cloud (Data Center authenticates with a personal access token alone)")
			}
		case "":
			add(key+".flavor", "is required: cloud or datacenter")
		default:
			add(key+".flavor", "%q: must be cloud or datacenter", in.Flavor)
		}
		if u, err := url.Parse(in.BaseURL); err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // without the URL, which may hold a password
			}
			add(key+".base_url", "must be an https URL (%v)", err)
		} else if u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			// Redacted: a user:password in the URL is not repeated.
			add(key+".base_url", "must be an https URL without user, query or fragment (got %q)", u.Redacted())
		}
		switch {
		case in.TokenEnv != "" && in.TokenFile != "":
			add(key, "set one of token_env and token_file, not both")
		case in.TokenEnv == "" && in.TokenFile == "":
			add(key, "token_env or token_file is required (the secret is never written in the configuration)")
		}
		if len(in.Projects) == 0 && strings.TrimSpace(in.JQL) == "" {
			add(key, "projects or jql is required (Jira Cloud rejects unbounded searches)")
		}
		for j, p := range in.Projects {
			if !projectRE.MatchString(p) {
				add(fmt.Sprintf("%s.projects[%d]", key, j), "%q is not a project key", p)
			}
		}
		if orderByRE.MatchString(in.JQL) {
			add(key+".jql", "must not contain ORDER BY (the pull orders by updated and key itself)")
		}
		if in.JQLTimeZone != "" {
			if _, err := time.LoadLocation(in.JQLTimeZone); err != nil {
				add(key+".jql_time_zone", "%q is not a known time zone", in.JQLTimeZone)
			}
		}
		if in.Mapping != nil {
			errs = append(errs, in.Mapping.validate(key+".mapping")...)
		}
	}
	errs = append(errs, c.Mapping.validate("jira.mapping")...)
	return errs
}

func (m *Mapping) validate(key string) []error {
	var errs []error
	add := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", k, fmt.Sprintf(format, args...)))
	}
	for i, r := range m.Kinds {
		k := fmt.Sprintf("%s.kinds[%d]", key, i)
		if _, err := ingest.ParseTicketKind(r.Kind); err != nil {
			add(k+".kind", "%v", err)
		}
		if len(r.Projects)+len(r.IssueTypes)+len(r.Labels)+len(r.Components) == 0 {
			add(k, "needs at least one of projects, issue_types, labels, components")
		}
	}
	for _, v := range sortedKeys(m.Severity.Map) {
		if s := m.Severity.Map[v]; !validSeverity(s) {
			add(key+".severity.map."+v, "%q: must be one of critical, high, medium, low, info, unknown", s)
		}
	}
	for i, f := range m.Team.From {
		switch f {
		case "component", "label", "project":
		case "field":
			if m.Team.Field == "" {
				add(key+".team.field", "is required when team.from lists field")
			}
		default:
			add(fmt.Sprintf("%s.team.from[%d]", key, i), "%q: must be component, label, field or project", f)
		}
	}
	for _, v := range sortedKeys(m.Team.Map) {
		if strings.TrimSpace(m.Team.Map[v]) == "" {
			add(key+".team.map."+v, "names no team")
		}
	}
	for _, name := range sortedKeys(m.States.Statuses) {
		if _, err := ingest.ParseTicketState(m.States.Statuses[name]); err != nil {
			add(key+".states.statuses."+name, "%v", err)
		}
	}
	for _, name := range sortedKeys(m.States.Categories) {
		if _, err := ingest.ParseTicketState(m.States.Categories[name]); err != nil {
			add(key+".states.categories."+name, "%v", err)
		}
	}
	if m.Findings.Kind != "" {
		if _, err := ingest.ParseKind(m.Findings.Kind); err != nil {
			add(key+".findings.kind", "%v", err)
		}
	}
	return errs
}

func validSeverity(s string) bool {
	for _, sev := range ingest.Severities {
		if string(sev) == s {
			return true
		}
	}
	return false
}

// withDefaults returns c with the defaults for zero fields.
func (c Config) withDefaults() Config {
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Overlap == 0 {
		c.Overlap = DefaultOverlap
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	return c
}

// mapping returns the instance's mapping.
func (c *Config) mapping(in *Instance) *Mapping {
	if in.Mapping != nil {
		return in.Mapping
	}
	return &c.Mapping
}
