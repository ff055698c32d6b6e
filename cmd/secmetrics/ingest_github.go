package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/github"
)

// GitHubConfig configures pulls of Dependabot and code scanning alerts from
// the GitHub REST API.
type GitHubConfig struct {
	// BaseURL is the API root: https://api.github.com, or
	// https://HOST/api/v3 for GitHub Enterprise Server.
	BaseURL   string `yaml:"base_url"`
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	token     string
	// Orgs are pulled with the organization endpoints (every repository the
	// token can see); Repos ("owner/name") one by one.
	Orgs         []string `yaml:"orgs"`
	Repos        []string `yaml:"repos"`
	Dependabot   bool     `yaml:"dependabot"`
	CodeScanning bool     `yaml:"code_scanning"`
	// Interval is how often serve pulls; 0 disables scheduled pulls.
	Interval time.Duration `yaml:"interval"`
}

func (c *GitHubConfig) check(getenv func(string) string) []string {
	if len(c.Orgs) == 0 && len(c.Repos) == 0 {
		return nil
	}
	var problems []string
	if _, err := url.ParseRequestURI(c.BaseURL); err != nil || !strings.HasPrefix(c.BaseURL, "https://") {
		problems = append(problems, fmt.Sprintf("github.base_url: %q is not an https URL", c.BaseURL))
	}
	tok, err := secretNamed("github", "token", c.TokenEnv, c.TokenFile, getenv)
	switch {
	case err != nil:
		problems = append(problems, err.Error())
	case tok == "":
		problems = append(problems, "github.token_env: required when orgs or repos are set (a token with alerts read access)")
	}
	c.token = tok
	for i, r := range c.Repos {
		if owner, name, ok := strings.Cut(r, "/"); !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			problems = append(problems, fmt.Sprintf("github.repos[%d]: %q is not owner/name", i, r))
		}
	}
	if !c.Dependabot && !c.CodeScanning {
		problems = append(problems, "github: enable dependabot or code_scanning")
	}
	if c.Interval < 0 {
		problems = append(problems, "github.interval: must not be negative")
	}
	return problems
}

// pullGitHub pulls every configured org and repository and applies each as
// one tracked scan. A failing target is reported and the others go on.
func (e *env) pullGitHub(store *ingest.Store) error {
	c := e.cfg.GitHub
	if len(c.Orgs) == 0 && len(c.Repos) == 0 {
		return errors.New("no github.orgs or github.repos configured")
	}
	client := &github.Client{BaseURL: c.BaseURL, Token: c.token, TokenName: "github." + firstNonEmpty(c.TokenEnv, c.TokenFile)}
	type target struct {
		what string
		pull func(emit func(ingest.Finding) error) (ingest.Scan, error)
	}
	var targets []target
	for _, org := range c.Orgs {
		if c.Dependabot {
			targets = append(targets, target{"dependabot alerts of org " + org, func(emit func(ingest.Finding) error) (ingest.Scan, error) {
				return client.OrgDependabotAlerts(e.ctx, org, emit)
			}})
		}
		if c.CodeScanning {
			targets = append(targets, target{"code scanning alerts of org " + org, func(emit func(ingest.Finding) error) (ingest.Scan, error) {
				return client.OrgCodeScanningAlerts(e.ctx, org, emit)
			}})
		}
	}
	for _, r := range c.Repos {
		owner, name, _ := strings.Cut(r, "/")
		if c.Dependabot {
			targets = append(targets, target{"dependabot alerts of " + r, func(emit func(ingest.Finding) error) (ingest.Scan, error) {
				return client.DependabotAlerts(e.ctx, owner, name, emit)
			}})
		}
		if c.CodeScanning {
			targets = append(targets, target{"code scanning alerts of " + r, func(emit func(ingest.Finding) error) (ingest.Scan, error) {
				return client.CodeScanningAlerts(e.ctx, owner, name, emit)
			}})
		}
	}
	var failed []string
	var total uint64
	for _, t := range targets {
		var fs []ingest.Finding
		scan, err := t.pull(func(f ingest.Finding) error { fs = append(fs, f); return nil })
		if err == nil {
			var sum ingest.Summary
			sum, err = store.IngestTrackedFindings(e.ctx, "github", scan, fs)
			if err == nil {
				total += uint64(sum.Findings)
				fmt.Fprintf(e.stdout, "%s: %d alerts: %d new, %d fixed, %d reopened, %d unchanged\n", t.what, sum.Findings, sum.New, sum.Fixed, sum.Reopened, sum.Unchanged)
			}
		}
		if err != nil {
			e.log.Error("github pull failed", "target", t.what, "err", err)
			failed = append(failed, t.what+": "+err.Error())
		}
	}
	if len(failed) > 0 {
		err := fmt.Errorf("github: %d of %d pulls failed: %s", len(failed), len(targets), strings.Join(failed, "; "))
		_ = store.Failed(e.ctx, "github", "github", err)
		return err
	}
	return store.Succeeded(e.ctx, "github", "github", time.Time{}, total)
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
