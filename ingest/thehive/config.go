package thehive

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// Config is one TheHive 5 organisation (an entry under alerts.thehive).
type Config struct {
	ingest.AlertConfig `yaml:",inline"`

	// URL is TheHive's base URL, e.g. https://thehive.example.com.
	// Required.
	URL string `yaml:"url"`
	// APIKeyEnv or APIKeyFile names where the caller reads the API key of
	// a read-only user; APIKey holds it once resolved.
	APIKeyEnv  string `yaml:"api_key_env"`
	APIKeyFile string `yaml:"api_key_file"`
	APIKey     string `yaml:"-"`
	// Organisation, when set, is sent as X-Organisation (users in several
	// organisations).
	Organisation string `yaml:"organisation"`
	// Objects lists what is read: "alert", "case". Empty means both.
	Objects []string `yaml:"objects"`
	// PageSize is the objects per query page; 0 means 100, at most 1000.
	PageSize int `yaml:"page_size"`
	// AutomationUsers are logins (_updatedBy) of automation accounts: an
	// object they closed is auto-closed.
	AutomationUsers []string `yaml:"automation_users"`
}

// Validate lists every problem of c, each prefixed with its key path under
// path (e.g. "alerts.thehive[0]").
func (c Config) Validate(path string) error {
	errs := c.AlertConfig.Validate(path)
	errs = append(errs, ingest.SecretRef{Env: c.APIKeyEnv, File: c.APIKeyFile}.Validate(path, "api_key")...)
	if u, err := url.Parse(c.URL); c.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		errs = append(errs, fmt.Errorf("%s.url: %q is not an http(s) base URL", path, c.URL))
	}
	if strings.ContainsAny(c.Organisation, "\r\n") {
		errs = append(errs, fmt.Errorf("%s.organisation: contains a line break", path))
	}
	seen := map[string]bool{}
	for i, o := range c.Objects {
		if o != "alert" && o != "case" {
			errs = append(errs, fmt.Errorf("%s.objects[%d]: %q is not alert or case", path, i, o))
		} else if seen[o] {
			errs = append(errs, fmt.Errorf("%s.objects[%d]: %q listed twice", path, i, o))
		}
		seen[o] = true
	}
	if c.PageSize < 0 || c.PageSize > 1000 {
		errs = append(errs, fmt.Errorf("%s.page_size: %d is outside 0..1000", path, c.PageSize))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	c.AlertConfig = c.AlertConfig.WithDefaults(15 * time.Minute)
	c.URL = strings.TrimRight(c.URL, "/")
	if len(c.Objects) == 0 {
		c.Objects = []string{"alert", "case"}
	}
	if c.PageSize == 0 {
		c.PageSize = 100
	}
	return c
}

// DefaultDispositions maps TheHive's closed statuses, alone or with the
// case's impact status ("TruePositive/NoImpact"), to dispositions (the
// status/impact pair is tried first). A true positive with no impact is a
// benign positive: confirmed activity that did no harm (override
// "TruePositive/NoImpact" to count blocked attacks as true positives).
// Ignored (an alert dismissed without a verdict) is undetermined.
// mapping.dispositions overrides and extends it (custom statuses).
var DefaultDispositions = map[string]ingest.Disposition{
	"TruePositive":               ingest.DispositionTruePositive,
	"TruePositive/WithImpact":    ingest.DispositionTruePositive,
	"TruePositive/NotApplicable": ingest.DispositionTruePositive,
	"TruePositive/NoImpact":      ingest.DispositionBenignPositive,
	"FalsePositive":              ingest.DispositionFalsePositive,
	"Duplicated":                 ingest.DispositionDuplicate,
	"Indeterminate":              ingest.DispositionUndetermined,
	"Other":                      ingest.DispositionUndetermined,
	"Ignored":                    ingest.DispositionUndetermined,
}
