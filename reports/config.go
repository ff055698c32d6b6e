package reports

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Config is the reports section of the service configuration: the
// scheduled exports (docs/reports.md, "Scheduled exports"). The zero value
// schedules nothing.
type Config struct {
	Exports []Export `yaml:"exports"`
	Retry   Retry    `yaml:"retry"`
}

// Retry bounds how a failed scheduled run is retried: Attempts tries in
// all, waiting Backoff before the second, twice that before the third, and
// so on, never more than MaxBackoff.
type Retry struct {
	Attempts   int           `yaml:"attempts"`    // default 3, at most 10
	Backoff    time.Duration `yaml:"backoff"`     // default 1m
	MaxBackoff time.Duration `yaml:"max_backoff"` // default 30m
}

// Export is one scheduled export.
type Export struct {
	// Name identifies the export in runs, file names and "secmetrics
	// export run NAME": lower-case letters, digits, - and _.
	Name string `yaml:"name"`
	// Schedule is a standard five-field cron expression (minute hour
	// day-of-month month day-of-week) or @yearly, @monthly, @weekly,
	// @daily, @hourly; it is evaluated in TimeZone. The zone is its own
	// key: TZ= or CRON_TZ= prefixes are refused.
	Schedule string `yaml:"schedule"`
	// TimeZone is the IANA zone the schedule runs in (default: UTC).
	TimeZone string `yaml:"time_zone"`
	// Period is the period each run reports on, relative to its scheduled
	// time: previous_quarter, previous_month, previous_week,
	// quarter_to_date or month_to_date. Periods follow the reporting time
	// zone and fiscal year of the metrics configuration.
	Period string `yaml:"period"`
	// Teams is the team scope of the export; empty means every team.
	Teams []string `yaml:"teams"`
	// Format is xlsx (the QBR workbook, default) or csv (the scorecard).
	Format    string    `yaml:"format"`
	Directory Directory `yaml:"directory"`
	Email     *Email    `yaml:"email"`
	Webhook   *Webhook  `yaml:"webhook"`
}

// Directory is where an export's file is written.
type Directory struct {
	Path string `yaml:"path"`
	// FileName is a template of the file name with {name}, {period},
	// {date} (the scheduled day, YYYY-MM-DD in the export's zone), {time}
	// (HHMM) and {format}; default "{name}-{period}-{date}.{format}". Only
	// letters, digits, ., - and _ may appear; never a path.
	FileName string `yaml:"file_name"`
}

// Email sends the file as an attachment through an SMTP relay.
type Email struct {
	Host string   `yaml:"host"`
	Port int      `yaml:"port"` // default 587
	From string   `yaml:"from"`
	To   []string `yaml:"to"`
	// Subject prefixes the subject line (default "secmetrics export").
	Subject  string `yaml:"subject"`
	Username string `yaml:"username"`
	// The password comes from an environment variable or a file, resolved
	// by ResolveSecrets; never from the configuration text.
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	Password     string `yaml:"-"`
	// StartTLS requires STARTTLS before authenticating or sending (default
	// true). Turning it off is allowed only for a relay on loopback.
	StartTLS *bool `yaml:"starttls"`
	// CAFile, when set, is the PEM bundle the relay's certificate must
	// chain to instead of the system roots; ResolveSecrets reads it.
	CAFile  string        `yaml:"ca_file"`
	CAPEM   []byte        `yaml:"-"`
	Timeout time.Duration `yaml:"timeout"` // default 30s
}

// Webhook is notified with a signed JSON POST when a run ends.
type Webhook struct {
	URL string `yaml:"url"`
	// SecretEnv names the environment variable holding the HMAC-SHA256
	// key; ResolveSecrets reads it into Secret.
	SecretEnv string        `yaml:"secret_env"`
	Secret    string        `yaml:"-"`
	Timeout   time.Duration `yaml:"timeout"` // default 10s
}

// Period rules.
const (
	PreviousQuarter = "previous_quarter"
	PreviousMonth   = "previous_month"
	PreviousWeek    = "previous_week"
	QuarterToDate   = "quarter_to_date"
	MonthToDate     = "month_to_date"
)

var periodRules = []string{PreviousQuarter, PreviousMonth, PreviousWeek, QuarterToDate, MonthToDate}

var (
	exportName   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	fileTemplate = regexp.MustCompile(`^(?:[A-Za-z0-9._-]|\{name\}|\{period\}|\{date\}|\{time\}|\{format\})+$`)
	safeFileName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$`)
)

// DefaultFileName is the file name template of an export without one.
const DefaultFileName = "{name}-{period}-{date}.{format}"

// withDefaults returns c with every default filled in.
func (c Config) withDefaults() Config {
	if c.Retry.Attempts == 0 {
		c.Retry.Attempts = 3
	}
	if c.Retry.Backoff == 0 {
		c.Retry.Backoff = time.Minute
	}
	if c.Retry.MaxBackoff == 0 {
		c.Retry.MaxBackoff = 30 * time.Minute
	}
	out := make([]Export, len(c.Exports))
	for i, e := range c.Exports {
		if e.TimeZone == "" {
			e.TimeZone = "UTC"
		}
		if e.Format == "" {
			e.Format = "xlsx"
		}
		if e.Directory.FileName == "" {
			e.Directory.FileName = DefaultFileName
		}
		if e.Email != nil {
			m := *e.Email
			if m.Port == 0 {
				m.Port = 587
			}
			if m.StartTLS == nil {
				t := true
				m.StartTLS = &t
			}
			if m.Timeout == 0 {
				m.Timeout = 30 * time.Second
			}
			if m.Subject == "" {
				m.Subject = "secmetrics export"
			}
			e.Email = &m
		}
		if e.Webhook != nil {
			w := *e.Webhook
			if w.Timeout == 0 {
				w.Timeout = 10 * time.Second
			}
			e.Webhook = &w
		}
		out[i] = e
	}
	c.Exports = out
	return c
}

// Check lists every problem of c, each named by its key under prefix
// ("reports.exports[0].schedule: ..."). Schedules are parsed here, at
// start-up, so a spec that would crash the cron parser (a bare "TZ=") or
// never fire is refused before anything runs. Secrets are checked by
// ResolveSecrets.
func (c Config) Check(prefix string) []error {
	c = c.withDefaults()
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	if c.Retry.Attempts < 1 || c.Retry.Attempts > 10 {
		add("retry.attempts", "%d: want 1–10", c.Retry.Attempts)
	}
	if c.Retry.Backoff < time.Second {
		add("retry.backoff", "%s: want at least 1s", c.Retry.Backoff)
	}
	if c.Retry.MaxBackoff < c.Retry.Backoff || c.Retry.MaxBackoff > 24*time.Hour {
		add("retry.max_backoff", "%s: want between backoff and 24h", c.Retry.MaxBackoff)
	}
	seen := map[string]bool{}
	for i, e := range c.Exports {
		k := fmt.Sprintf("exports[%d]", i)
		if !exportName.MatchString(e.Name) {
			add(k+".name", "%q: want lower-case letters, digits, - and _ (at most 63)", e.Name)
		} else if seen[e.Name] {
			add(k+".name", "%q: listed twice", e.Name)
		}
		seen[e.Name] = true
		loc, err := time.LoadLocation(e.TimeZone)
		if err != nil || strings.EqualFold(e.TimeZone, "local") {
			add(k+".time_zone", "%q: want an IANA time zone such as Europe/Berlin", e.TimeZone)
			loc = time.UTC // still check the schedule
		}
		if _, err := parseSchedule(e.Schedule, loc, time.Now()); err != nil {
			add(k+".schedule", "%v", err)
		}
		if !slices.Contains(periodRules, e.Period) {
			add(k+".period", "%q: want one of %s", e.Period, strings.Join(periodRules, ", "))
		}
		for j, t := range e.Teams {
			if strings.TrimSpace(t) == "" {
				add(fmt.Sprintf("%s.teams[%d]", k, j), "empty team name")
			}
		}
		if e.Format != "xlsx" && e.Format != "csv" {
			add(k+".format", "%q: want xlsx or csv", e.Format)
		}
		if e.Directory.Path == "" {
			add(k+".directory.path", "required")
		}
		if !fileTemplate.MatchString(e.Directory.FileName) || strings.HasPrefix(e.Directory.FileName, ".") || strings.Contains(e.Directory.FileName, "..") {
			add(k+".directory.file_name", "%q: only letters, digits, ., -, _ and {name}, {period}, {date}, {time}, {format}; no path, no leading dot", e.Directory.FileName)
		}
		if m := e.Email; m != nil {
			errs = append(errs, m.check(prefix+"."+k+".email")...)
		}
		if w := e.Webhook; w != nil {
			errs = append(errs, w.check(prefix+"."+k+".webhook")...)
		}
	}
	return errs
}

func (m *Email) check(key string) []error {
	var errs []error
	add := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", key, k, fmt.Sprintf(format, args...)))
	}
	if m.Host == "" || strings.ContainsAny(m.Host, " /:") {
		add("host", "%q: want a host name", m.Host)
	}
	if m.Port < 1 || m.Port > 65535 {
		add("port", "%d: not a port", m.Port)
	}
	if _, err := mail.ParseAddress(m.From); err != nil || strings.ContainsAny(m.From, "\r\n") {
		add("from", "%q: not an e-mail address", m.From)
	}
	if len(m.To) == 0 {
		add("to", "at least one recipient")
	}
	for i, to := range m.To {
		if _, err := mail.ParseAddress(to); err != nil || strings.ContainsAny(to, "\r\n") {
			add(fmt.Sprintf("to[%d]", i), "%q: not an e-mail address", to)
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		add("subject", "must be one line")
	}
	if m.Username != "" && m.PasswordEnv == "" && m.PasswordFile == "" {
		add("password_env", "set password_env or password_file with username")
	}
	if m.PasswordEnv != "" && m.PasswordFile != "" {
		add("password_env", "set password_env or password_file, not both")
	}
	if m.StartTLS != nil && !*m.StartTLS && !isLoopback(m.Host) {
		add("starttls", "may be off only for a relay on loopback: mail and credentials would cross the network in clear")
	}
	if m.Timeout <= 0 {
		add("timeout", "must be positive")
	}
	return errs
}

func (w *Webhook) check(key string) []error {
	var errs []error
	u, err := url.Parse(w.URL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		errs = append(errs, fmt.Errorf("%s.url: %q: want an http(s) URL", key, w.URL))
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		errs = append(errs, fmt.Errorf("%s.url: %q: want https (http only on loopback)", key, w.URL))
	case u.User != nil:
		errs = append(errs, fmt.Errorf("%s.url: credentials in the URL; use secret_env", key))
	}
	if w.SecretEnv == "" {
		errs = append(errs, fmt.Errorf("%s.secret_env: required (the HMAC key that signs each notification)", key))
	}
	if w.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("%s.timeout: must be positive", key))
	}
	return errs
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ResolveSecrets reads every export's secrets: SMTP passwords from
// password_env (through getenv) or password_file, CA bundles from ca_file
// (through readFile), webhook keys from secret_env. It lists every problem
// by key, never the secret itself. Only cmd calls it: packages do not read
// the environment or files.
func (c *Config) ResolveSecrets(prefix string, getenv func(string) string, readFile func(string) ([]byte, error)) []error {
	var errs []error
	for i := range c.Exports {
		e := &c.Exports[i]
		k := fmt.Sprintf("%s.exports[%d]", prefix, i)
		if m := e.Email; m != nil {
			switch {
			case m.PasswordEnv != "":
				if m.Password = getenv(m.PasswordEnv); m.Password == "" {
					errs = append(errs, fmt.Errorf("%s.email.password_env: environment variable %s is empty or not set", k, m.PasswordEnv))
				}
			case m.PasswordFile != "":
				b, err := readFile(m.PasswordFile)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s.email.password_file: cannot read %s", k, m.PasswordFile))
				}
				m.Password = strings.TrimRight(string(b), "\r\n")
			}
			if m.CAFile != "" {
				b, err := readFile(m.CAFile)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s.email.ca_file: cannot read %s", k, m.CAFile))
				}
				m.CAPEM = b
			}
		}
		if w := e.Webhook; w != nil && w.SecretEnv != "" {
			if w.Secret = getenv(w.SecretEnv); w.Secret == "" {
				errs = append(errs, fmt.Errorf("%s.webhook.secret_env: environment variable %s is empty or not set", k, w.SecretEnv))
			}
		}
	}
	return errs
}
