package sentinel

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// Config is one Microsoft Sentinel workspace (an entry under
// alerts.sentinel).
type Config struct {
	ingest.AlertConfig `yaml:",inline"`

	// TenantID and ClientID identify the Entra ID application (service
	// principal) that reads incidents; it needs the Microsoft Sentinel
	// Reader role on the workspace.
	TenantID string `yaml:"tenant_id"`
	ClientID string `yaml:"client_id"`
	// ClientSecretEnv or ClientSecretFile names where the caller reads the
	// client secret; ClientSecret holds it once resolved.
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`
	ClientSecret     string `yaml:"-"`

	SubscriptionID string `yaml:"subscription_id"`
	ResourceGroup  string `yaml:"resource_group"`
	Workspace      string `yaml:"workspace"`

	// ManagementURL is the Azure Resource Manager endpoint; empty means
	// https://management.azure.com. LoginURL is the Entra ID authority;
	// empty means https://login.microsoftonline.com.
	ManagementURL string `yaml:"management_url"`
	LoginURL      string `yaml:"login_url"`
	// APIVersion of Microsoft.SecurityInsights; empty means 2024-03-01.
	APIVersion string `yaml:"api_version"`
	// PageSize is $top; 0 means 200, at most 1000.
	PageSize int `yaml:"page_size"`

	// AutoCloseModifiers are the prefixes of SecurityIncident.ModifiedBy
	// that mean automation, not a person, closed the incident (exports
	// only: the incidents API does not say who changed an incident). Empty
	// means "Automation rule", "Playbook", "Microsoft", "Alert updated".
	AutoCloseModifiers []string `yaml:"auto_close_modifiers"`
}

var (
	guid     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	armName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._()-]{0,89}$`)
	tenantID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$`) // a GUID or a domain name
	apiVer   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$`)
)

// Validate lists every problem of c, each prefixed with its key path under
// path (e.g. "alerts.sentinel[0]").
func (c Config) Validate(path string) error {
	errs := c.AlertConfig.Validate(path)
	if !tenantID.MatchString(c.TenantID) {
		errs = append(errs, fmt.Errorf("%s.tenant_id: %q is not a tenant id or domain", path, c.TenantID))
	}
	if !guid.MatchString(c.ClientID) {
		errs = append(errs, fmt.Errorf("%s.client_id: %q is not a GUID", path, c.ClientID))
	}
	errs = append(errs, ingest.SecretRef{Env: c.ClientSecretEnv, File: c.ClientSecretFile}.Validate(path, "client_secret")...)
	if !guid.MatchString(c.SubscriptionID) {
		errs = append(errs, fmt.Errorf("%s.subscription_id: %q is not a GUID", path, c.SubscriptionID))
	}
	if !armName.MatchString(c.ResourceGroup) {
		errs = append(errs, fmt.Errorf("%s.resource_group: %q is not a resource group name", path, c.ResourceGroup))
	}
	if !armName.MatchString(c.Workspace) {
		errs = append(errs, fmt.Errorf("%s.workspace: %q is not a workspace name", path, c.Workspace))
	}
	for _, u := range []struct{ key, v string }{{"management_url", c.ManagementURL}, {"login_url", c.LoginURL}} {
		if u.v == "" {
			continue
		}
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.RawQuery != "" {
			errs = append(errs, fmt.Errorf("%s.%s: %q is not an http(s) base URL", path, u.key, u.v))
		}
	}
	if c.APIVersion != "" && !apiVer.MatchString(c.APIVersion) {
		errs = append(errs, fmt.Errorf("%s.api_version: %q is not an API version (YYYY-MM-DD[-preview])", path, c.APIVersion))
	}
	if c.PageSize < 0 || c.PageSize > 1000 {
		errs = append(errs, fmt.Errorf("%s.page_size: %d is outside 0..1000", path, c.PageSize))
	}
	for i, m := range c.AutoCloseModifiers {
		if m == "" {
			errs = append(errs, fmt.Errorf("%s.auto_close_modifiers[%d]: empty", path, i))
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	c.AlertConfig = c.AlertConfig.WithDefaults(time.Hour)
	if c.ManagementURL == "" {
		c.ManagementURL = "https://management.azure.com"
	}
	if c.LoginURL == "" {
		c.LoginURL = "https://login.microsoftonline.com"
	}
	if c.APIVersion == "" {
		c.APIVersion = "2024-03-01"
	}
	if c.PageSize == 0 {
		c.PageSize = 200
	}
	if len(c.AutoCloseModifiers) == 0 {
		c.AutoCloseModifiers = []string{"Automation rule", "Playbook", "Microsoft", "Alert updated"}
	}
	return c
}

// DefaultDispositions maps Sentinel's classification, alone or with its
// reason ("FalsePositive/InaccurateData"), to dispositions (keys compare
// without case; the classification/reason pair is tried first).
// mapping.dispositions overrides and extends it.
var DefaultDispositions = map[string]ingest.Disposition{
	"TruePositive":                         ingest.DispositionTruePositive,
	"TruePositive/SuspiciousActivity":      ingest.DispositionTruePositive,
	"BenignPositive":                       ingest.DispositionBenignPositive,
	"BenignPositive/SuspiciousButExpected": ingest.DispositionBenignPositive,
	"FalsePositive":                        ingest.DispositionFalsePositive,
	"FalsePositive/IncorrectAlertLogic":    ingest.DispositionFalsePositive,
	"FalsePositive/InaccurateData":         ingest.DispositionFalsePositive,
	"Undetermined":                         ingest.DispositionUndetermined,
}
