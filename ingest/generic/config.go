package generic

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// Config is one generic alert source (an entry under alerts.generic): a
// tool whose alerts arrive as CSV or JSON Lines files.
type Config struct {
	// Name is the instance name: the source is "generic:<name>".
	Name string `yaml:"name"`
	// Format is "csv" or "jsonl"; empty means detected per file (a file
	// whose first non-space byte is '{' is JSON Lines).
	Format string `yaml:"format"`
	// Comma is the CSV field separator; empty means ",".
	Comma string `yaml:"comma"`
	// Fields maps alert fields to the file's CSV columns or JSON fields
	// (dotted paths reach into nested objects). ID and Created are
	// required.
	Fields Fields `yaml:"fields"`
	// TimeFormat is how times are written: "rfc3339" (the default; RFC
	// 3339 with or without fractional seconds), "unix" (seconds),
	// "unix_ms" (milliseconds), or a Go reference layout such as
	// "2006-01-02 15:04:05".
	TimeFormat string `yaml:"time_format"`
	// TimeZone is the IANA zone of times written without an offset in a
	// layout; empty means UTC.
	TimeZone string `yaml:"time_zone"`
	// Severities maps the file's severity values to critical, high,
	// medium, low, info or unknown; values not listed go through the
	// usual severity words (ingest.ParseSeverity).
	Severities map[string]string `yaml:"severities"`
	// MaxBytes bounds a file; 0 means 64 MiB. MaxRows bounds its rows; 0
	// means 100,000.
	MaxBytes int64 `yaml:"max_bytes"`
	MaxRows  int   `yaml:"max_rows"`
	// Mapping maps team values (the team field, else "asset:<asset>") and
	// disposition values: the normalized names map to themselves, and
	// mapping.dispositions adds the file's own words.
	Mapping ingest.AlertMapping `yaml:"mapping"`
}

// Fields names, for each alert field, the CSV column or JSON field that
// holds it; empty means the file does not have it.
type Fields struct {
	ID          string `yaml:"id"`
	RuleID      string `yaml:"rule_id"`
	RuleName    string `yaml:"rule_name"`
	Severity    string `yaml:"severity"`
	Created     string `yaml:"created"`
	FirstTriage string `yaml:"first_triage"`
	Closed      string `yaml:"closed"`
	Updated     string `yaml:"updated"`
	Status      string `yaml:"status"`
	Disposition string `yaml:"disposition"`
	AutoClosed  string `yaml:"auto_closed"`
	Assignee    string `yaml:"assignee"`
	Team        string `yaml:"team"`
	Asset       string `yaml:"asset"`
	Incident    string `yaml:"incident"`
}

// Validate lists every problem of c, each prefixed with its key path under
// path (e.g. "alerts.generic[0]").
func (c Config) Validate(path string) error {
	errs := ingest.AlertConfig{Name: c.Name, Mapping: c.Mapping}.Validate(path)
	switch c.Format {
	case "", "csv", "jsonl":
	default:
		errs = append(errs, fmt.Errorf("%s.format: %q is not csv or jsonl", path, c.Format))
	}
	if r := []rune(c.Comma); len(r) > 1 || len(r) == 1 && (r[0] == '"' || r[0] == '\n' || r[0] == '\r') {
		errs = append(errs, fmt.Errorf("%s.comma: %q is not a single separator character", path, c.Comma))
	}
	if c.Fields.ID == "" {
		errs = append(errs, fmt.Errorf("%s.fields.id: required", path))
	}
	if c.Fields.Created == "" {
		errs = append(errs, fmt.Errorf("%s.fields.created: required", path))
	}
	switch c.TimeFormat {
	case "", "rfc3339", "unix", "unix_ms":
	default:
		if !strings.Contains(c.TimeFormat, "2006") || !strings.Contains(c.TimeFormat, "01") && !strings.Contains(c.TimeFormat, "Jan") {
			errs = append(errs, fmt.Errorf("%s.time_format: %q is not rfc3339, unix, unix_ms or a Go layout (e.g. \"2006-01-02 15:04:05\")", path, c.TimeFormat))
		}
	}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			errs = append(errs, fmt.Errorf("%s.time_zone: %w", path, err))
		}
	}
	for _, k := range sortedKeys(c.Severities) {
		switch ingest.Severity(c.Severities[k]) {
		case ingest.Critical, ingest.High, ingest.Medium, ingest.Low, ingest.Info, ingest.Unknown:
		default:
			errs = append(errs, fmt.Errorf("%s.severities[%q]: %q is not critical, high, medium, low, info or unknown", path, k, c.Severities[k]))
		}
	}
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("%s.max_bytes: must not be negative", path))
	}
	if c.MaxRows < 0 {
		errs = append(errs, fmt.Errorf("%s.max_rows: must not be negative", path))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Comma == "" {
		c.Comma = ","
	}
	if c.TimeFormat == "" {
		c.TimeFormat = "rfc3339"
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 64 << 20
	}
	if c.MaxRows == 0 {
		c.MaxRows = 100_000
	}
	return c
}

// DefaultDispositions maps the normalized names to themselves (and "none"
// to no disposition); mapping.dispositions adds a file's own words.
var DefaultDispositions = map[string]ingest.Disposition{
	"true_positive":   ingest.DispositionTruePositive,
	"benign_positive": ingest.DispositionBenignPositive,
	"false_positive":  ingest.DispositionFalsePositive,
	"duplicate":       ingest.DispositionDuplicate,
	"undetermined":    ingest.DispositionUndetermined,
	"none":            ingest.DispositionNone,
}
