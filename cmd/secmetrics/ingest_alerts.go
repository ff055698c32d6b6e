package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/elastic"
	"github.com/secmetrics/secmetrics/ingest/generic"
	"github.com/secmetrics/secmetrics/ingest/pagerduty"
	"github.com/secmetrics/secmetrics/ingest/sentinel"
	"github.com/secmetrics/secmetrics/ingest/splunk"
	"github.com/secmetrics/secmetrics/ingest/thehive"
)

// AlertsConfig lists the alert-system instances (docs/alerts.md).
type AlertsConfig struct {
	PagerDuty []pagerduty.Config `yaml:"pagerduty"`
	Sentinel  []sentinel.Config  `yaml:"sentinel"`
	Splunk    []splunk.Config    `yaml:"splunk"`
	Elastic   []elastic.Config   `yaml:"elastic"`
	TheHive   []thehive.Config   `yaml:"thehive"`
	Generic   []generic.Config   `yaml:"generic"`
}

func joined(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

// check validates every instance, rejects duplicate names within a system,
// and resolves the secrets into the configs.
func (c *AlertsConfig) check(getenv func(string) string) []string {
	var problems []string
	names := map[string]bool{}
	name := func(system, path, n string) {
		if names[system+":"+n] {
			problems = append(problems, fmt.Sprintf("%s.name: %q is used twice for %s", path, n, system))
		}
		names[system+":"+n] = true
	}
	resolve := func(path, stem, env, file string, dst *string) {
		errs := len(problems)
		if env == "" && file == "" {
			return // Validate reported it
		}
		v, err := secretNamed(path, stem, env, file, getenv)
		if err != nil && errs == len(problems) {
			problems = append(problems, err.Error())
		}
		*dst = v
	}
	for i := range c.PagerDuty {
		p := fmt.Sprintf("alerts.pagerduty[%d]", i)
		problems = append(problems, joined(c.PagerDuty[i].Validate(p))...)
		name("pagerduty", p, c.PagerDuty[i].Name)
		resolve(p, "token", c.PagerDuty[i].TokenEnv, c.PagerDuty[i].TokenFile, &c.PagerDuty[i].Token)
	}
	for i := range c.Sentinel {
		p := fmt.Sprintf("alerts.sentinel[%d]", i)
		problems = append(problems, joined(c.Sentinel[i].Validate(p))...)
		name("sentinel", p, c.Sentinel[i].Name)
		resolve(p, "client_secret", c.Sentinel[i].ClientSecretEnv, c.Sentinel[i].ClientSecretFile, &c.Sentinel[i].ClientSecret)
	}
	for i := range c.Splunk {
		p := fmt.Sprintf("alerts.splunk[%d]", i)
		problems = append(problems, joined(c.Splunk[i].Validate(p))...)
		name("splunk", p, c.Splunk[i].Name)
		resolve(p, "token", c.Splunk[i].TokenEnv, c.Splunk[i].TokenFile, &c.Splunk[i].Token)
	}
	for i := range c.Elastic {
		p := fmt.Sprintf("alerts.elastic[%d]", i)
		problems = append(problems, joined(c.Elastic[i].Validate(p))...)
		name("elastic", p, c.Elastic[i].Name)
		resolve(p, "api_key", c.Elastic[i].APIKeyEnv, c.Elastic[i].APIKeyFile, &c.Elastic[i].APIKey)
	}
	for i := range c.TheHive {
		p := fmt.Sprintf("alerts.thehive[%d]", i)
		problems = append(problems, joined(c.TheHive[i].Validate(p))...)
		name("thehive", p, c.TheHive[i].Name)
		resolve(p, "api_key", c.TheHive[i].APIKeyEnv, c.TheHive[i].APIKeyFile, &c.TheHive[i].APIKey)
	}
	for i := range c.Generic {
		p := fmt.Sprintf("alerts.generic[%d]", i)
		problems = append(problems, joined(c.Generic[i].Validate(p))...)
		name("generic", p, c.Generic[i].Name)
	}
	return problems
}

// alertSource is what every alert connector offers; Pull is nil for
// file-only sources (generic).
type alertSource struct {
	name  string
	every time.Duration
	pull  func(context.Context, ingest.PullOptions) (ingest.AlertSummary, error)
	imp   func(ctx context.Context, f *os.File, name string) (ingest.AlertSummary, error)
}

// alertSources builds every configured connector.
func (e *env) alertSources(store *ingest.Store) ([]alertSource, error) {
	var out []alertSource
	c := e.cfg.Alerts
	add := func(name string, every time.Duration, pull func(context.Context, ingest.PullOptions) (ingest.AlertSummary, error),
		imp func(context.Context, *os.File, string) (ingest.AlertSummary, error)) {
		out = append(out, alertSource{name: name, every: every, pull: pull, imp: imp})
	}
	for _, cfg := range c.PagerDuty {
		s, err := pagerduty.New(cfg, store, e.log)
		if err != nil {
			return nil, err
		}
		add(s.Name(), cfg.PollInterval, s.Pull, func(ctx context.Context, f *os.File, n string) (ingest.AlertSummary, error) {
			return s.Import(ctx, f, n)
		})
	}
	for _, cfg := range c.Sentinel {
		s, err := sentinel.New(cfg, store, e.log)
		if err != nil {
			return nil, err
		}
		add(s.Name(), cfg.PollInterval, s.Pull, func(ctx context.Context, f *os.File, n string) (ingest.AlertSummary, error) {
			return s.Import(ctx, f, n)
		})
	}
	for _, cfg := range c.Splunk {
		s, err := splunk.New(cfg, store, e.log)
		if err != nil {
			return nil, err
		}
		add(s.Name(), cfg.PollInterval, s.Pull, func(ctx context.Context, f *os.File, n string) (ingest.AlertSummary, error) {
			return s.Import(ctx, f, n)
		})
	}
	for _, cfg := range c.Elastic {
		s, err := elastic.New(cfg, store, e.log)
		if err != nil {
			return nil, err
		}
		add(s.Name(), cfg.PollInterval, s.Pull, func(ctx context.Context, f *os.File, n string) (ingest.AlertSummary, error) {
			return s.Import(ctx, f, n)
		})
	}
	for _, cfg := range c.TheHive {
		s, err := thehive.New(cfg, store, e.log)
		if err != nil {
			return nil, err
		}
		add(s.Name(), cfg.PollInterval, s.Pull, func(ctx context.Context, f *os.File, n string) (ingest.AlertSummary, error) {
			return s.Import(ctx, f, n)
		})
	}
	for _, cfg := range c.Generic {
		s, err := generic.New(cfg, store, e.log)
		if err != nil {
			return nil, err
		}
		add(s.Name(), 0, nil, func(ctx context.Context, f *os.File, n string) (ingest.AlertSummary, error) {
			return s.Import(ctx, f, n)
		})
	}
	return out, nil
}

func (e *env) ingestAlerts(args []string) error {
	fs := newFlags("ingest alerts", e.stderr)
	source := fs.String("source", "", "the instance, as system:name (e.g. sentinel:prod)")
	since := fs.String("since", "", "pull from this time (RFC 3339) instead of the watermark")
	dry := fs.Bool("dry-run", false, "read the source and print what would be stored; write nothing")
	timeout := fs.Duration("timeout", time.Hour, "bound on the whole pull")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *source == "" {
		return errors.New("usage: secmetrics ingest alerts --source SYSTEM:NAME [--since T] [--dry-run] [FILE...]")
	}
	d, err := e.open()
	if err != nil {
		return err
	}
	defer d.Close()
	srcs, err := e.alertSources(e.store(d))
	if err != nil {
		return err
	}
	var src *alertSource
	var known []string
	for i := range srcs {
		known = append(known, srcs[i].name)
		if srcs[i].name == *source {
			src = &srcs[i]
		}
	}
	if src == nil {
		sort.Strings(known)
		return fmt.Errorf("no alert source %q configured (configured: %s)", *source, strings.Join(known, ", "))
	}
	ctx, cancel := context.WithTimeout(e.ctx, *timeout)
	defer cancel()
	if files := fs.Args(); len(files) > 0 {
		if *dry || *since != "" {
			return errors.New("--dry-run and --since apply to pulls, not file imports")
		}
		for _, name := range files {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			sum, err := src.imp(ctx, f, name)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			sum.Print(e.stdout)
		}
		return nil
	}
	if src.pull == nil {
		return fmt.Errorf("%s imports files only: pass FILE arguments", src.name)
	}
	opts := ingest.PullOptions{DryRun: *dry, Out: e.stdout}
	if *since != "" {
		t, err := time.Parse(time.RFC3339, *since)
		if err != nil {
			return fmt.Errorf("--since: %q is not an RFC 3339 time", *since)
		}
		opts.Since = t
	}
	sum, err := src.pull(ctx, opts)
	if !*dry {
		sum.Print(e.stdout)
	}
	return err
}
