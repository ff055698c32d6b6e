// Package sentinel reads Microsoft Sentinel incidents as alerts:
// incrementally from the Azure Resource Manager incidents API (client
// credentials from Entra ID), and from exports of the SecurityIncident
// table (CSV or JSON Lines from Log Analytics), where an incident has one
// row per change and the latest row wins.
//
// The incidents API keeps no change history: an incident's first triage is
// the lastModifiedTimeUtc of the first pull that saw it out of New, kept
// across pulls, and its closing time, when the API does not give
// closedTimeUtc, the lastModifiedTimeUtc of the first pull that saw it
// Closed. Both are upper bounds as tight as the pull interval; an export of
// SecurityIncident gives the exact times and, imported later, replaces
// them (the earlier time wins). See docs/alerts.md.
package sentinel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/transport"
)

// System is the source type and the prefix of source names.
const System = "sentinel"

// Source pulls and imports the incidents of one Sentinel workspace.
type Source struct {
	cfg   Config
	store *ingest.Store
	log   *slog.Logger
	norm  *normalizer

	tokMu  sync.Mutex
	tok    string
	tokExp time.Time

	// HTTP sends the requests; New sets a client with a retrying
	// transport.Transport. Tests replace it.
	HTTP *http.Client
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// New returns the Source of cfg, which must be valid (Config.Validate) and
// carry its client secret.
func New(cfg Config, store *ingest.Store, log *slog.Logger) (*Source, error) {
	if err := cfg.Validate(System); err != nil {
		return nil, err
	}
	if cfg.ClientSecret == "" {
		return nil, fmt.Errorf("%s %s: no client secret (client_secret_env or client_secret_file resolved to nothing)", System, cfg.Name)
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	disp, err := ingest.NewDispositionMap(DefaultDispositions, cfg.Mapping.Dispositions)
	if err != nil {
		return nil, err
	}
	s := &Source{
		cfg:   cfg,
		store: store,
		log:   log,
		HTTP:  &http.Client{Timeout: cfg.Timeout, Transport: &transport.Transport{Limit: 4, Log: log}},
		Now:   func() time.Time { return time.Now().UTC() },
	}
	s.norm = &normalizer{source: s.Name(), cfg: cfg, disp: disp}
	return s, nil
}

// Name is the source name, "sentinel:<instance>".
func (s *Source) Name() string { return System + ":" + s.cfg.Name }

// Pull reads the incidents modified since the watermark minus the overlap
// ($filter on properties/lastModifiedTimeUtc, following nextLink) and
// stores them as alerts, then advances the watermark; see
// ingest.Store.PullAlerts. A rejected client secret or token is an error
// wrapping transport.ErrUnauthorized (or the token endpoint's 400
// invalid_client), naming the credential, never showing it.
func (s *Source) Pull(ctx context.Context, opts ingest.PullOptions) (ingest.AlertSummary, error) {
	now := s.Now()
	approx := map[string]bool{}
	return s.store.PullAlerts(ctx, ingest.AlertPull{
		Source:     s.Name(),
		SourceType: System,
		Start:      now.Add(-s.cfg.InitialLookback),
		Overlap:    s.cfg.Overlap,
		Fetch: func(ctx context.Context, since time.Time, emit func(ingest.Alert) error) (time.Time, error) {
			return now, s.fetch(ctx, since, func(inc *incident) error {
				approx[inc.name] = inc.closedApprox
				return emit(s.norm.alert(inc))
			})
		},
		Prepare: func(ctx context.Context, batch []ingest.Alert) error {
			return s.carryOver(ctx, batch, approx, false)
		},
	}, opts)
}

// carryOver merges what is stored into a batch: the earliest first-triage
// time known wins, and so does the earliest closing time while an
// approximate one (no closedTimeUtc; approxClosed) finds the incident
// still closed. For an export older than the stored state (export set),
// the stored state is kept, with the export's earlier times.
func (s *Source) carryOver(ctx context.Context, batch []ingest.Alert, approxClosed map[string]bool, export bool) error {
	ids := make([]string, len(batch))
	for i := range batch {
		ids[i] = batch[i].ID
	}
	prev, err := s.store.AlertsByID(ctx, s.Name(), ids)
	if err != nil {
		return err
	}
	for i := range batch {
		a := &batch[i]
		p, ok := prev[a.ID]
		if !ok {
			continue
		}
		first := earliest(a.FirstTriage, p.FirstTriage)
		if export && p.Updated.After(a.Updated) {
			if !p.Closed.IsZero() && !a.Closed.IsZero() && a.Closed.Before(p.Closed) {
				p.Closed = a.Closed
			}
			p.FirstTriage = first
			*a = p // no Raw: the stored payload stays
			continue
		}
		a.FirstTriage = first
		if approxClosed[a.ID] && !a.Closed.IsZero() && !p.Closed.IsZero() && p.Closed.Before(a.Closed) {
			a.Closed = p.Closed
		}
	}
	return nil
}

// earliest is the earlier of two times, ignoring zero ones.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func (s *Source) incidentsURL() string {
	return strings.TrimRight(s.cfg.ManagementURL, "/") +
		"/subscriptions/" + url.PathEscape(s.cfg.SubscriptionID) +
		"/resourceGroups/" + url.PathEscape(s.cfg.ResourceGroup) +
		"/providers/Microsoft.OperationalInsights/workspaces/" + url.PathEscape(s.cfg.Workspace) +
		"/providers/Microsoft.SecurityInsights/incidents"
}

// fetch pages through the incidents modified at or after since.
func (s *Source) fetch(ctx context.Context, since time.Time, fn func(*incident) error) error {
	q := url.Values{}
	q.Set("api-version", s.cfg.APIVersion)
	q.Set("$filter", "properties/lastModifiedTimeUtc ge "+since.UTC().Format("2006-01-02T15:04:05.000Z"))
	q.Set("$top", strconv.Itoa(s.cfg.PageSize))
	next := s.incidentsURL() + "?" + q.Encode()
	base, err := url.Parse(s.cfg.ManagementURL)
	if err != nil {
		return err
	}
	for page := 1; next != ""; page++ {
		var body struct {
			Value    *[]json.RawMessage `json:"value"`
			NextLink string             `json:"nextLink"`
		}
		if err := s.get(ctx, next, &body); err != nil {
			return fmt.Errorf("list incidents page %d: %w", page, err)
		}
		if body.Value == nil {
			return fmt.Errorf("list incidents page %d: malformed response: no \"value\"", page)
		}
		for _, raw := range *body.Value {
			inc, err := parseAPIIncident(raw)
			if err != nil {
				return fmt.Errorf("list incidents page %d: %w", page, err)
			}
			if err := fn(inc); err != nil {
				return err
			}
		}
		next = body.NextLink
		if next != "" {
			// The bearer token goes only to the configured endpoint.
			u, err := url.Parse(next)
			if err != nil || u.Scheme != base.Scheme || u.Host != base.Host {
				return fmt.Errorf("list incidents page %d: nextLink leaves %s", page, base.Host)
			}
		}
	}
	return nil
}

// get fetches u with a bearer token into dst; a 401 renews the token once.
func (s *Source) get(ctx context.Context, u string, dst any) error {
	for attempt := 1; ; attempt++ {
		tok, err := s.token(ctx, attempt > 1)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		resp, err := s.HTTP.Do(req)
		if err != nil {
			return err
		}
		err = transport.Check(resp, "the access token of "+s.Name()+" (client "+s.cfg.ClientID+")")
		if errors.Is(err, transport.ErrUnauthorized) && attempt == 1 {
			continue
		}
		if err != nil {
			return err
		}
		body, err := transport.ReadLimited(resp.Body, s.cfg.MaxResponseBytes)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("GET %s: %w", transport.RedactURL(req.URL), err)
		}
		if err := json.Unmarshal(body, dst); err != nil {
			return fmt.Errorf("GET %s: malformed response: %w", transport.RedactURL(req.URL), err)
		}
		return nil
	}
}

// token returns a cached access token, or a new one from the client
// credentials flow when it expires within five minutes or renew is set.
func (s *Source) token(ctx context.Context, renew bool) (string, error) {
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	if !renew && s.tok != "" && s.Now().Add(5*time.Minute).Before(s.tokExp) {
		return s.tok, nil
	}
	form := url.Values{}
	form.Set("client_id", s.cfg.ClientID)
	form.Set("client_secret", s.cfg.ClientSecret)
	form.Set("grant_type", "client_credentials")
	form.Set("scope", strings.TrimRight(s.cfg.ManagementURL, "/")+"/.default")
	u := strings.TrimRight(s.cfg.LoginURL, "/") + "/" + url.PathEscape(s.cfg.TenantID) + "/oauth2/v2.0/token"
	req, err := http.NewRequestWithContext(transport.AllowRetry(ctx), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("get access token: %w", err)
	}
	defer resp.Body.Close()
	if err := transport.Check(resp, "the client secret of "+s.Name()+" (client "+s.cfg.ClientID+")"); err != nil {
		var se *transport.StatusError
		if errors.As(err, &se) && se.Status == http.StatusBadRequest && strings.Contains(se.Body, "invalid_client") {
			return "", fmt.Errorf("get access token: the client credentials of %s (client %s) were rejected: %w", s.Name(), s.cfg.ClientID, err)
		}
		return "", fmt.Errorf("get access token: %w", err)
	}
	body, err := transport.ReadLimited(resp.Body, 1<<20)
	if err != nil {
		return "", fmt.Errorf("get access token: %w", err)
	}
	var t struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" || !strings.EqualFold(t.TokenType, "Bearer") {
		return "", errors.New("get access token: malformed token response")
	}
	secs, err := strconv.Atoi(strings.Trim(string(t.ExpiresIn), `"`))
	if err != nil || secs <= 0 {
		return "", errors.New("get access token: malformed token response: expires_in")
	}
	s.tok, s.tokExp = t.AccessToken, s.Now().Add(time.Duration(secs)*time.Second)
	return s.tok, nil
}

// Import reads an export of the SecurityIncident table (CSV as the Log
// Analytics portal exports it, with "[UTC]" column suffixes and its
// date format or ISO 8601; JSON Lines; or a JSON array of rows) and stores
// the latest state of each incident as an alert, all or nothing; it does
// not move the watermark. name names the file in errors.
func (s *Source) Import(ctx context.Context, r io.Reader, name string) (ingest.AlertSummary, error) {
	rows, err := readExport(transport.LimitReader(r, s.cfg.MaxResponseBytes))
	if err != nil {
		return ingest.AlertSummary{}, fmt.Errorf("import %s: %w", name, err)
	}
	incs, err := s.norm.fromRows(rows)
	if err != nil {
		return ingest.AlertSummary{}, fmt.Errorf("import %s: %w", name, err)
	}
	alerts := make([]ingest.Alert, 0, len(incs))
	for _, inc := range incs {
		if err := ctx.Err(); err != nil {
			return ingest.AlertSummary{}, err
		}
		alerts = append(alerts, s.norm.alert(inc))
	}
	if err := s.carryOver(ctx, alerts, nil, true); err != nil {
		return ingest.AlertSummary{}, fmt.Errorf("import %s: %w", name, err)
	}
	sum, err := s.store.ImportAlerts(ctx, s.Name(), System, alerts)
	if err != nil {
		return sum, fmt.Errorf("import %s: %w", name, err)
	}
	return sum, nil
}
