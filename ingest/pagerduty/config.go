package pagerduty

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// Limits of the PagerDuty REST API v2 that shape the pull.
const (
	// MaxWindow is the widest since/until range GET /incidents accepts
	// (six months; 180 days here to stay inside every month length).
	MaxWindow = 180 * 24 * time.Hour
	// MaxOffset is the most records classic offset paging reaches:
	// offset+limit may not exceed 10,000. A window holding more incidents
	// is split in two until each half fits.
	MaxOffset = 10000
	// MaxPageSize is the largest limit PagerDuty accepts.
	MaxPageSize = 100
)

// Config is one PagerDuty account (an entry under alerts.pagerduty).
type Config struct {
	ingest.AlertConfig `yaml:",inline"`

	// URL is the REST API base; empty means https://api.pagerduty.com
	// (https://api.eu.pagerduty.com for EU accounts).
	URL string `yaml:"url"`
	// TokenEnv or TokenFile names where the caller reads the REST API key
	// (read-only suffices). Token holds it once resolved; it never comes
	// from the configuration text.
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	Token     string `yaml:"-"`

	// Window is the width of the since/until windows a pull is cut into;
	// 0 means 30 days, at most 180 days.
	Window time.Duration `yaml:"window"`
	// Lookback is how long after its creation an incident may still change
	// and must be read again: GET /incidents filters on creation time only,
	// so each pull lists incidents created from (watermark − overlap −
	// lookback). 0 means 30 days.
	Lookback time.Duration `yaml:"lookback"`
	// PageSize is the limit per page; 0 means 100 (the maximum).
	PageSize int `yaml:"page_size"`
	// ServiceIDs and TeamIDs, when set, restrict the pull (service_ids[],
	// team_ids[]).
	ServiceIDs []string `yaml:"service_ids"`
	TeamIDs    []string `yaml:"team_ids"`

	// Disposition says where an incident's disposition is written.
	Disposition DispositionConfig `yaml:"disposition"`
}

// DispositionConfig says where PagerDuty incidents carry a disposition:
// PagerDuty has none of its own (and incidents carry no tags: tags belong
// to users, teams and escalation policies).
type DispositionConfig struct {
	// From lists the places to read, in order; the first that yields a
	// value wins: "custom_field", "priority", "note". Empty means none:
	// only merged incidents get one (duplicate).
	From []string `yaml:"from"`
	// CustomField is the name of the incident custom field holding the
	// disposition (GET /incidents/{id}/custom_fields/values).
	CustomField string `yaml:"custom_field"`
	// NotePattern is a regular expression matched against the incident's
	// notes (GET /incidents/{id}/notes), latest note first; its first
	// capture group (or the whole match) is the value. Default
	// `(?i)disposition:\s*([a-z_ -]+?)\s*(?:$|[.;,])`.
	NotePattern string `yaml:"note_pattern"`
}

// DefaultNotePattern is the note pattern used when none is configured.
const DefaultNotePattern = `(?i)disposition:\s*([a-z_ -]+?)\s*(?:$|[.;,\n])`

// Validate lists every problem of c, each prefixed with its key path under
// path (e.g. "alerts.pagerduty[0]").
func (c Config) Validate(path string) error {
	errs := c.AlertConfig.Validate(path)
	errs = append(errs, ingest.SecretRef{Env: c.TokenEnv, File: c.TokenFile}.Validate(path, "token")...)
	if c.URL != "" {
		if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s.url: %q is not an http(s) URL", path, c.URL))
		}
	}
	if c.Window < 0 || c.Window > MaxWindow {
		errs = append(errs, fmt.Errorf("%s.window: %s is outside 0..%s (PagerDuty lists at most six months at once)", path, c.Window, MaxWindow))
	}
	if c.Lookback < 0 {
		errs = append(errs, fmt.Errorf("%s.lookback: must not be negative", path))
	}
	if c.PageSize < 0 || c.PageSize > MaxPageSize {
		errs = append(errs, fmt.Errorf("%s.page_size: %d is outside 0..%d", path, c.PageSize, MaxPageSize))
	}
	seen := map[string]bool{}
	for i, f := range c.Disposition.From {
		switch f {
		case "custom_field":
			if c.Disposition.CustomField == "" {
				errs = append(errs, fmt.Errorf("%s.disposition.custom_field: required when from lists custom_field", path))
			}
		case "priority", "note":
		default:
			errs = append(errs, fmt.Errorf("%s.disposition.from[%d]: unknown place %q (want custom_field, priority or note)", path, i, f))
		}
		if seen[f] {
			errs = append(errs, fmt.Errorf("%s.disposition.from[%d]: %q listed twice", path, i, f))
		}
		seen[f] = true
	}
	if c.Disposition.NotePattern != "" {
		if _, err := regexp.Compile(c.Disposition.NotePattern); err != nil {
			errs = append(errs, fmt.Errorf("%s.disposition.note_pattern: %w", path, err))
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	c.AlertConfig = c.AlertConfig.WithDefaults(15 * time.Minute)
	if c.URL == "" {
		c.URL = "https://api.pagerduty.com"
	}
	if c.Window == 0 {
		c.Window = 30 * 24 * time.Hour
	}
	if c.Lookback == 0 {
		c.Lookback = 30 * 24 * time.Hour
	}
	if c.PageSize == 0 {
		c.PageSize = MaxPageSize
	}
	if c.Disposition.NotePattern == "" {
		c.Disposition.NotePattern = DefaultNotePattern
	}
	return c
}

// DefaultDispositions maps the values teams commonly write in a custom
// field, a priority name or a note to dispositions (keys compare without
// case); mapping.dispositions overrides and extends it. A merged incident
// has the value "merge_resolve_reason".
var DefaultDispositions = map[string]ingest.Disposition{
	"true positive": ingest.DispositionTruePositive, "true_positive": ingest.DispositionTruePositive, "tp": ingest.DispositionTruePositive,
	"benign positive": ingest.DispositionBenignPositive, "benign_positive": ingest.DispositionBenignPositive, "bp": ingest.DispositionBenignPositive, "benign": ingest.DispositionBenignPositive,
	"false positive": ingest.DispositionFalsePositive, "false_positive": ingest.DispositionFalsePositive, "fp": ingest.DispositionFalsePositive,
	"duplicate": ingest.DispositionDuplicate, "dup": ingest.DispositionDuplicate, "merge_resolve_reason": ingest.DispositionDuplicate,
	"undetermined": ingest.DispositionUndetermined, "unknown": ingest.DispositionUndetermined,
}
