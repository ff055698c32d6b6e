package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/secmetrics/secmetrics/api"
	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/inventory"
	"github.com/secmetrics/secmetrics/ingest/jira"
	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/reports"
)

// Config is the whole service configuration (secmetrics.example.yaml
// documents every key). Only this package reads files and the environment;
// packages receive their typed section.
type Config struct {
	ClickHouse queries.Config       `yaml:"clickhouse"`
	Embedded   queries.ServerConfig `yaml:"embedded"`
	Server     api.Config           `yaml:"server"`
	Log        LogConfig            `yaml:"log"`
	Inventory  inventory.Config     `yaml:"inventory"`
	Ingest     IngestConfig         `yaml:"ingest"`
	GitHub     GitHubConfig         `yaml:"github"`
	Jira       jira.Config          `yaml:"jira"`
	Alerts     AlertsConfig         `yaml:"alerts"`
	Metrics    metrics.Config       `yaml:"metrics"`
	Reports    reports.Config       `yaml:"reports"`
}

// LogConfig configures logging.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text
}

// IngestConfig configures scanner ingest.
type IngestConfig struct {
	// Branches whose scans drive the finding lifecycle; empty: every scan.
	Branches []string `yaml:"branches"`
	// Dispositions overrides the mapping of report suppressions to
	// statuses ("sarif:external": risk_accepted, ...).
	Dispositions map[string]string `yaml:"dispositions"`
	// MaxFileBytes bounds a report read from a file.
	MaxFileBytes int64 `yaml:"max_file_bytes"`
}

func defaults() Config {
	return Config{
		ClickHouse: queries.Defaults(),
		Embedded:   queries.ServerConfig{DataDir: "./var/clickhouse"},
		Server:     api.Defaults(),
		Log:        LogConfig{Level: "info", Format: "json"},
		Inventory:  inventory.Defaults(),
		Ingest:     IngestConfig{Branches: []string{"main", "master"}, MaxFileBytes: 8 << 30},
		GitHub:     GitHubConfig{BaseURL: "https://api.github.com", TokenEnv: "GITHUB_TOKEN", Dependabot: true, CodeScanning: true, Interval: 6 * time.Hour},
	}
}

// configError lists every problem found in a configuration.
type configError struct{ problems []string }

func (e *configError) Error() string {
	return fmt.Sprintf("configuration has %d problem(s):\n  %s", len(e.problems), strings.Join(e.problems, "\n  "))
}

// loadConfig reads path (empty: defaults only), expands ${VAR} in string
// values, applies defaults, resolves secrets from the environment or files
// and validates everything, returning every problem at once.
func loadConfig(path string, getenv func(string) string) (Config, error) {
	cfg := defaults()
	var problems []string
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("read config: %w", err)
		}
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
		if len(root.Content) > 0 {
			doc := root.Content[0]
			problems = append(problems, expandEnv(doc, "", getenv)...)
			problems = append(problems, unknownKeys(doc, reflect.TypeOf(cfg), "")...)
			var buf bytes.Buffer
			enc := yaml.NewEncoder(&buf)
			if err := enc.Encode(doc); err != nil {
				return cfg, fmt.Errorf("config %s: %w", path, err)
			}
			if err := yaml.Unmarshal(buf.Bytes(), &cfg); err != nil {
				problems = append(problems, typeErrors(err)...)
			}
		}
	}
	problems = append(problems, cfg.check(getenv)...)
	slices.Sort(problems)
	if len(problems) > 0 {
		return cfg, &configError{problems: problems}
	}
	return cfg, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${VAR} in scalar values (never in keys, and never
// re-parsing the result as YAML, so a value cannot inject structure).
func expandEnv(n *yaml.Node, path string, getenv func(string) string) []string {
	var problems []string
	switch n.Kind {
	case yaml.ScalarNode:
		if strings.Contains(n.Value, "${") {
			n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
				name := envRef.FindStringSubmatch(m)[1]
				v := getenv(name)
				if v == "" {
					problems = append(problems, fmt.Sprintf("%s: environment variable %s is not set", path, name))
				}
				return v
			})
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			problems = append(problems, expandEnv(n.Content[i+1], join(path, n.Content[i].Value), getenv)...)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			problems = append(problems, expandEnv(c, fmt.Sprintf("%s[%d]", path, i), getenv)...)
		}
	}
	return problems
}

// unknownKeys walks the document against the Go type and reports keys no
// field takes, all of them (yaml.v3's KnownFields stops at the first).
func unknownKeys(n *yaml.Node, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var problems []string
	switch {
	case t == reflect.TypeOf(time.Duration(0)):
		return nil
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		structFields(t, fields)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			ft, ok := fields[key]
			if !ok {
				known := make([]string, 0, len(fields))
				for k := range fields {
					known = append(known, k)
				}
				slices.Sort(known)
				problems = append(problems, fmt.Sprintf("%s: unknown key (known: %s)", join(path, key), strings.Join(known, ", ")))
				continue
			}
			problems = append(problems, unknownKeys(n.Content[i+1], ft, join(path, key))...)
		}
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			problems = append(problems, unknownKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			problems = append(problems, unknownKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))...)
		}
	}
	return problems
}

// structFields collects the YAML keys of a struct type, flattening
// `yaml:",inline"` fields as yaml.v3 does.
func structFields(t reflect.Type, fields map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			structFields(f.Type, fields)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
}

func typeErrors(err error) []string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return te.Errors
	}
	return []string{err.Error()}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// check validates every section and resolves secrets.
func (c *Config) check(getenv func(string) string) []string {
	var problems []string
	add := func(errs []error) {
		for _, e := range errs {
			problems = append(problems, e.Error())
		}
	}
	ch := &c.ClickHouse
	if ch.Database == "" {
		problems = append(problems, "clickhouse.database: required")
	}
	for i, a := range ch.Addr {
		if !strings.Contains(a, ":") {
			problems = append(problems, fmt.Sprintf("clickhouse.addr[%d]: %q is not host:port", i, a))
		}
	}
	pw, err := secret("clickhouse", ch.PasswordEnv, ch.PasswordFile, getenv)
	if err != nil {
		problems = append(problems, err.Error())
	}
	ch.Password = pw
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"dial_timeout", ch.DialTimeout}, {"read_timeout", ch.ReadTimeout}, {"query_timeout", ch.QueryTimeout}, {"max_execution_time", ch.MaxExecutionTime}} {
		if d.v <= 0 {
			problems = append(problems, fmt.Sprintf("clickhouse.%s: must be positive", d.key))
		}
	}
	if ch.MaxExecutionTime > 0 && ch.MaxExecutionTime < time.Second {
		problems = append(problems, "clickhouse.max_execution_time: at least 1s")
	}
	if len(ch.Addr) == 0 && c.Embedded.DataDir == "" {
		problems = append(problems, "embedded.data_dir: required when clickhouse.addr is empty")
	}
	if c.Embedded.Port < 0 || c.Embedded.Port > 65535 {
		problems = append(problems, "embedded.port: not a port number")
	}
	if c.Server.SessionKeyEnv != "" || c.Server.SessionKeyFile != "" {
		key, err := secretNamed("server", "session_key", c.Server.SessionKeyEnv, c.Server.SessionKeyFile, getenv)
		if err != nil {
			problems = append(problems, err.Error())
		}
		c.Server.SessionKey = []byte(key)
	}
	add(c.Server.Check("server"))
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Sprintf("log.level: %q is not debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		problems = append(problems, fmt.Sprintf("log.format: %q is not json or text", c.Log.Format))
	}
	add(c.Inventory.Check("inventory"))
	for k, v := range c.Ingest.Dispositions {
		switch ingest.Status(v) {
		case ingest.FalsePositive, ingest.RiskAccepted, ingest.Duplicate, ingest.StatusNone:
		default:
			problems = append(problems, fmt.Sprintf("ingest.dispositions.%s: %q is not false_positive, risk_accepted, duplicate or empty", k, v))
		}
		if !strings.Contains(k, ":") {
			problems = append(problems, fmt.Sprintf("ingest.dispositions.%s: key must be source:value, e.g. sarif:external", k))
		}
	}
	if c.Ingest.MaxFileBytes <= 0 {
		problems = append(problems, "ingest.max_file_bytes: must be positive")
	}
	problems = append(problems, c.GitHub.check(getenv)...)
	if len(c.Jira.Instances) > 0 { // Jira is optional: validated when configured
		errs := c.Jira.Validate()
		add(errs)
		if err := c.Jira.Resolve(getenv, os.ReadFile); len(errs) == 0 && err != nil {
			if joined, ok := err.(interface{ Unwrap() []error }); ok {
				add(joined.Unwrap())
			} else {
				problems = append(problems, err.Error())
			}
		}
	}
	problems = append(problems, c.Alerts.check(getenv)...)
	add(c.Metrics.Check("metrics"))
	if errs := c.Reports.Check("reports"); len(errs) > 0 {
		add(errs)
	} else {
		add(c.Reports.ResolveSecrets("reports", getenv, os.ReadFile))
	}
	return problems
}

// secret reads a password from the named environment variable or file.
// Neither set means no secret.
func secret(key, env, file string, getenv func(string) string) (string, error) {
	return secretNamed(key, "password", env, file, getenv)
}

// secretNamed reads the secret that the keys <stem>_env / <stem>_file under
// path name. Errors name the key and the variable or file, never a value.
func secretNamed(path, stem, env, file string, getenv func(string) string) (string, error) {
	switch {
	case env != "" && file != "":
		return "", fmt.Errorf("%s: set %s_env or %s_file, not both", path, stem, stem)
	case env != "":
		v := getenv(env)
		if v == "" {
			return "", fmt.Errorf("%s.%s_env: environment variable %s is empty or not set", path, stem, env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s.%s_file: cannot read %s", path, stem, file)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

// dispositions returns the default mapping with the configured overrides.
func (c IngestConfig) dispositions() ingest.Dispositions {
	d := ingest.Dispositions{}
	for k, v := range ingest.DefaultDispositions {
		d[k] = v
	}
	for k, v := range c.Dispositions {
		d[k] = ingest.Status(v)
	}
	return d
}
