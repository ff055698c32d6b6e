package elastic

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// Config is one Elastic Security deployment (an entry under
// alerts.elastic).
type Config struct {
	ingest.AlertConfig `yaml:",inline"`

	// API is "elasticsearch" (the default: POST /<index>/_search on
	// Elasticsearch, paged with search_after) or "kibana" (POST
	// /s/<space>/api/detection_engine/signals/search on Kibana, paged by
	// the same sort keys in the query, since that route takes no
	// search_after).
	API string `yaml:"api"`
	// URL is the Elasticsearch (or Kibana) base URL. Required.
	URL string `yaml:"url"`
	// Index is the alerts index or alias; empty means
	// .alerts-security.alerts-<space>.
	Index string `yaml:"index"`
	// Space is the Kibana space; empty means "default".
	Space string `yaml:"space"`
	// APIKeyEnv or APIKeyFile names where the caller reads the API key
	// (the base64 "encoded" form Kibana shows); APIKey holds it once
	// resolved. It needs read access to the alerts index.
	APIKeyEnv  string `yaml:"api_key_env"`
	APIKeyFile string `yaml:"api_key_file"`
	APIKey     string `yaml:"-"`
	// PageSize is the hits per request; 0 means 500, at most 10000.
	PageSize int `yaml:"page_size"`
	// IncludeBuildingBlocks also reads building-block alerts, which are
	// not shown for triage (excluded by default).
	IncludeBuildingBlocks bool `yaml:"include_building_blocks"`
	// AutomationUsers are kibana.alert.workflow_user values (user profile
	// ids) of automation accounts: an alert they closed is auto-closed.
	AutomationUsers []string `yaml:"automation_users"`
}

var (
	spaceName = regexp.MustCompile(`^[a-z0-9_-]{1,100}$`)
	indexName = regexp.MustCompile(`^[a-z0-9._*,-][a-z0-9._*,-]{0,254}$`)
)

// Validate lists every problem of c, each prefixed with its key path under
// path (e.g. "alerts.elastic[0]").
func (c Config) Validate(path string) error {
	errs := c.AlertConfig.Validate(path)
	errs = append(errs, ingest.SecretRef{Env: c.APIKeyEnv, File: c.APIKeyFile}.Validate(path, "api_key")...)
	switch c.API {
	case "", "elasticsearch", "kibana":
	default:
		errs = append(errs, fmt.Errorf("%s.api: %q is not elasticsearch or kibana", path, c.API))
	}
	if u, err := url.Parse(c.URL); c.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		errs = append(errs, fmt.Errorf("%s.url: %q is not an http(s) base URL", path, c.URL))
	}
	if c.Index != "" && !indexName.MatchString(c.Index) {
		errs = append(errs, fmt.Errorf("%s.index: %q is not an index name or pattern", path, c.Index))
	}
	if c.Space != "" && !spaceName.MatchString(c.Space) {
		errs = append(errs, fmt.Errorf("%s.space: %q is not a space id", path, c.Space))
	}
	if c.PageSize < 0 || c.PageSize > 10000 {
		errs = append(errs, fmt.Errorf("%s.page_size: %d is outside 0..10000", path, c.PageSize))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	c.AlertConfig = c.AlertConfig.WithDefaults(15 * time.Minute)
	c.URL = strings.TrimRight(c.URL, "/")
	if c.API == "" {
		c.API = "elasticsearch"
	}
	if c.Space == "" {
		c.Space = "default"
	}
	if c.Index == "" {
		c.Index = ".alerts-security.alerts-" + c.Space
	}
	if c.PageSize == 0 {
		c.PageSize = 500
	}
	return c
}

// DefaultDispositions maps Elastic's close reasons
// (kibana.alert.workflow_reason, Elastic 9.2+) and, for alerts closed
// without one, the default alert tags (kibana.alert.workflow_tags, as
// "tag:<name>") to dispositions. mapping.dispositions overrides and
// extends it (add "tag:<your tag>" keys for tags of your own).
var DefaultDispositions = map[string]ingest.Disposition{
	"true_positive":   ingest.DispositionTruePositive,
	"benign_positive": ingest.DispositionBenignPositive,
	"false_positive":  ingest.DispositionFalsePositive,
	"duplicate":       ingest.DispositionDuplicate,
	"other":           ingest.DispositionUndetermined,

	"tag:False Positive": ingest.DispositionFalsePositive,
	"tag:Duplicate":      ingest.DispositionDuplicate,
}
