package splunk

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// DefaultSearch reads Splunk ES notable events with their review state
// (the `notable` macro) and, from the incident review history, the first
// review that moved each notable out of Unassigned (0) or New (1) and the
// user of its latest review. Override Config.Search to adapt it (custom
// statuses, a narrower index); keep the output field names.
const DefaultSearch = "search `notable`" +
	" | join type=left max=1 event_id [| inputlookup incident_review_lookup" +
	" | eval event_id=rule_id | sort 0 time" +
	` | stats min(eval(if(status!="0" AND status!="1", time, null()))) AS first_triage_time, last(user) AS review_user BY event_id]` +
	" | table _time, event_id, rule_id, rule_name, search_name, urgency, status, status_label, status_end," +
	" owner, owner_realname, disposition, disposition_label, review_time, first_triage_time, review_user," +
	" dest, src, orig_host, security_domain"

// Config is one Splunk Enterprise Security search head (an entry under
// alerts.splunk).
type Config struct {
	ingest.AlertConfig `yaml:",inline"`

	// URL is the REST API base (management port), e.g.
	// https://splunk.example.com:8089. Required.
	URL string `yaml:"url"`
	// App, when set, runs the search in that app's namespace
	// (/servicesNS/-/<app>/search/jobs/export), where ES's macros are
	// visible even if not shared globally, e.g. SplunkEnterpriseSecuritySuite.
	App string `yaml:"app"`
	// TokenEnv or TokenFile names where the caller reads the
	// authentication token; Token holds it once resolved.
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	Token     string `yaml:"-"`
	// AuthScheme is "Bearer" (authentication tokens, the default) or
	// "Splunk" (session keys).
	AuthScheme string `yaml:"auth_scheme"`

	// Search is the SPL that lists notables; empty means DefaultSearch.
	Search string `yaml:"search"`
	// Lookback is how long after its creation a notable may still change
	// and must be read again: the export filters on _time (creation), so
	// each pull reads notables created from (watermark − overlap −
	// lookback). 0 means 30 days.
	Lookback time.Duration `yaml:"lookback"`
	// AutomationUsers are the review users that mean automation, not a
	// person, closed a notable. Empty means splunk-system-user, nobody.
	AutomationUsers []string `yaml:"automation_users"`
	// DefaultDisposition is the disposition ES gives a notable nobody
	// classified; on a notable that is not closed it means none. Empty
	// means "disposition:6" (Undetermined).
	DefaultDisposition string `yaml:"default_disposition"`
}

var appName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

// Validate lists every problem of c, each prefixed with its key path under
// path (e.g. "alerts.splunk[0]").
func (c Config) Validate(path string) error {
	errs := c.AlertConfig.Validate(path)
	errs = append(errs, ingest.SecretRef{Env: c.TokenEnv, File: c.TokenFile}.Validate(path, "token")...)
	if u, err := url.Parse(c.URL); c.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		errs = append(errs, fmt.Errorf("%s.url: %q is not an http(s) base URL (the management port, e.g. https://splunk.example.com:8089)", path, c.URL))
	}
	if c.App != "" && !appName.MatchString(c.App) {
		errs = append(errs, fmt.Errorf("%s.app: %q is not an app name", path, c.App))
	}
	switch c.AuthScheme {
	case "", "Bearer", "Splunk":
	default:
		errs = append(errs, fmt.Errorf("%s.auth_scheme: %q is not Bearer or Splunk", path, c.AuthScheme))
	}
	if s := strings.TrimSpace(c.Search); s != "" && !strings.HasPrefix(s, "search ") && !strings.HasPrefix(s, "|") {
		errs = append(errs, fmt.Errorf("%s.search: must start with \"search \" or \"|\"", path))
	}
	if c.Lookback < 0 {
		errs = append(errs, fmt.Errorf("%s.lookback: must not be negative", path))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	c.AlertConfig = c.AlertConfig.WithDefaults(15 * time.Minute)
	c.URL = strings.TrimRight(c.URL, "/")
	if c.AuthScheme == "" {
		c.AuthScheme = "Bearer"
	}
	if c.Search == "" {
		c.Search = DefaultSearch
	}
	if c.Lookback == 0 {
		c.Lookback = 30 * 24 * time.Hour
	}
	if len(c.AutomationUsers) == 0 {
		c.AutomationUsers = []string{"splunk-system-user", "nobody"}
	}
	if c.DefaultDisposition == "" {
		c.DefaultDisposition = "disposition:6"
	}
	return c
}

// DefaultDispositions maps Splunk ES disposition codes (and their default
// labels, for exports that carry only disposition_label) to dispositions:
// 1 True Positive – Suspicious Activity, 2 Benign Positive – Suspicious
// But Expected, 3 False Positive – Incorrect Analytic Logic, 4 False
// Positive – Inaccurate Data, 5 Other, 6 Undetermined. Other codes (custom
// dispositions, 0, 7 Testing) are unmapped: undetermined and reported.
var DefaultDispositions = map[string]ingest.Disposition{
	"disposition:1": ingest.DispositionTruePositive,
	"disposition:2": ingest.DispositionBenignPositive,
	"disposition:3": ingest.DispositionFalsePositive,
	"disposition:4": ingest.DispositionFalsePositive,
	"disposition:5": ingest.DispositionUndetermined,
	"disposition:6": ingest.DispositionUndetermined,

	"True Positive - Suspicious Activity":       ingest.DispositionTruePositive,
	"Benign Positive - Suspicious But Expected": ingest.DispositionBenignPositive,
	"False Positive - Incorrect Analytic Logic": ingest.DispositionFalsePositive,
	"False Positive - Inaccurate Data":          ingest.DispositionFalsePositive,
	"Other":                                     ingest.DispositionUndetermined,
	"Undetermined":                              ingest.DispositionUndetermined,
}
