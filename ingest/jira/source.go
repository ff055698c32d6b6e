// Package jira pulls security work from Jira Cloud and Jira Data Center
// into the ingest store: tickets with their complete status history and
// worklogs, and vulnerability tickets as tracked findings (docs/jira.md).
//
// A pull is incremental: per instance it searches the issues updated since
// the committed watermark minus an overlap, in a stable order (updated,
// then key), completes each page's truncated changelogs and worklog lists,
// writes the page, and only then advances the watermark to the page's last
// update. A pull that fails resumes from the last committed page; pulling
// the same issues again is idempotent. The issues are kept raw, so a
// mapping change is applied again with Renormalize, without fetching.
package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/transport"
)

// SourceType is the source type recorded in the ingest state.
const SourceType = "jira"

// Source pulls the configured Jira instances. It is safe for concurrent
// use; pulls of one Source run one at a time.
type Source struct {
	cfg   Config
	store *ingest.Store
	log   *slog.Logger

	// HTTP sends each request attempt under the retrying transport; nil
	// means a default transport with timeouts. Set it before the first
	// Pull (tests point it at an httptest server's client transport).
	HTTP http.RoundTripper
	// Sleep waits between retries; nil means a timer. Set it before the
	// first Pull (tests record the waits instead of sleeping).
	Sleep func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex // held by a pull or renormalization
	once    sync.Once
	clients []*client
	initErr error
}

// New returns a Source for cfg, whose secrets must have been resolved
// (Config.Resolve). It returns every configuration problem at once.
func New(cfg Config, store *ingest.Store, log *slog.Logger) (*Source, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("jira configuration: %w", errors.Join(errs...))
	}
	for i, in := range cfg.Instances {
		if in.token == "" {
			return nil, fmt.Errorf("jira.instances[%d]: the token is not resolved (Config.Resolve)", i)
		}
	}
	if store == nil {
		return nil, errors.New("jira: no store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{cfg: cfg.withDefaults(), store: store, log: log}, nil
}

// Options adjust one Pull.
type Options struct {
	// Since, when set, replaces the committed watermark as the start of the
	// pull (no overlap is subtracted). A Since later than the watermark
	// leaves the watermark where it is, since the issues in between were not
	// pulled.
	Since time.Time
	// DryRun fetches and maps without writing anything (no tickets, no raw
	// payloads, no ingest state) and prints the report to Out.
	DryRun bool
	Out    io.Writer
	// Limit, when positive, stops each instance's pull after about this
	// many tickets (whole pages); meant for dry runs.
	Limit int
	// Instances limits the pull to the named instances; empty means all.
	Instances []string
}

// Summary says what a Pull or Renormalize did, over all instances.
type Summary struct {
	Pages       int
	Tickets     int
	Transitions int
	Worklogs    int
	// Findings is what the finding store did with vulnerability tickets.
	Findings ingest.Summary
	// NoAsset counts vulnerability tickets that name no asset: stored as
	// tickets, not as findings.
	NoAsset int
	// Unmapped counts the distinct values that mapped to nothing.
	Unmapped int
	// Watermarks are the committed watermarks after the pull, by source
	// ("jira:"+instance name); absent in a dry run.
	Watermarks map[string]time.Time
}

func (s *Summary) add(o Summary) {
	s.Pages += o.Pages
	s.Tickets += o.Tickets
	s.Transitions += o.Transitions
	s.Worklogs += o.Worklogs
	s.NoAsset += o.NoAsset
	s.Unmapped += o.Unmapped
	addFindings(&s.Findings, o.Findings)
	for k, v := range o.Watermarks {
		if s.Watermarks == nil {
			s.Watermarks = map[string]time.Time{}
		}
		s.Watermarks[k] = v
	}
}

// addFindings adds the counts of o to dst.
func addFindings(dst *ingest.Summary, o ingest.Summary) {
	dst.Findings += o.Findings
	dst.New += o.New
	dst.Fixed += o.Fixed
	dst.Reopened += o.Reopened
	dst.Unchanged += o.Unchanged
}

func (s *Source) init() error {
	s.once.Do(func() {
		for i := range s.cfg.Instances {
			c, err := newClient(&s.cfg.Instances[i], s.cfg, s.HTTP, s.Sleep, s.log)
			if err != nil {
				s.initErr = err
				return
			}
			s.clients = append(s.clients, c)
		}
	})
	return s.initErr
}

// Pull fetches the issues updated since each instance's watermark (or
// opts.Since) and writes them, page by page, advancing the watermark after
// each committed page. Instances are pulled one after the other; a failing
// instance is recorded in its ingest state and does not stop the others.
// It returns the joined errors of the failed instances. Pull returns when
// ctx is canceled, with the pages committed so far kept.
func (s *Source) Pull(ctx context.Context, opts Options) (Summary, error) {
	if opts.DryRun && opts.Out == nil {
		return Summary{}, errors.New("jira: a dry run needs an output")
	}
	if err := s.init(); err != nil {
		return Summary{}, err
	}
	if !s.mu.TryLock() {
		return Summary{}, errors.New("jira: a pull or renormalization is already running")
	}
	defer s.mu.Unlock()
	for _, name := range opts.Instances {
		if !slices.ContainsFunc(s.cfg.Instances, func(in Instance) bool { return strings.EqualFold(in.Name, name) }) {
			return Summary{}, fmt.Errorf("jira: no instance named %q", name)
		}
	}
	var total Summary
	var errs []error
	for i := range s.cfg.Instances {
		in := &s.cfg.Instances[i]
		if len(opts.Instances) > 0 && !containsFold(opts.Instances, in.Name) {
			continue
		}
		sum, err := s.pull(ctx, s.clients[i], in, opts)
		total.add(sum)
		if err != nil {
			err = fmt.Errorf("jira instance %q: %w", in.Name, err)
			errs = append(errs, err)
			if !opts.DryRun && ctx.Err() == nil {
				if ferr := s.store.Failed(context.WithoutCancel(ctx), in.source(), SourceType, err); ferr != nil {
					errs = append(errs, ferr)
				}
			}
		}
	}
	return total, errors.Join(errs...)
}

// pull runs one instance.
func (s *Source) pull(ctx context.Context, c *client, in *Instance, opts Options) (Summary, error) {
	src := in.source()
	sum := Summary{}
	st, err := s.store.State(ctx, src)
	if err != nil {
		return sum, err
	}
	since, advance := opts.Since, true
	switch {
	case since.IsZero() && !st.Watermark.IsZero():
		since = st.Watermark.Add(-s.cfg.Overlap)
	case !since.IsZero() && !st.Watermark.IsZero() && since.After(st.Watermark):
		advance = false
		s.log.WarnContext(ctx, "jira pull starts after the watermark; the watermark will not move",
			"source", src, "since", since, "watermark", st.Watermark)
	}
	if since.Before(epoch) {
		since = epoch // nothing pulled yet: every issue
	}
	tz, err := s.zone(ctx, c, in)
	if err != nil {
		return sum, err
	}
	rawFields, fields, err := c.fields(ctx)
	if err != nil {
		return sum, fmt.Errorf("read field list: %w", err)
	}
	rawStatuses, statuses, err := c.statuses(ctx)
	if err != nil {
		return sum, fmt.Errorf("read status list: %w", err)
	}
	nt := newNotes()
	z := newNormalizer(src, s.cfg.mapping(in), newMeta(fields, statuses), nt)
	var report func(error) error
	if opts.DryRun {
		report = func(err error) error {
			if werr := nt.write(opts.Out, in, since, err); werr != nil {
				return errors.Join(err, werr)
			}
			return err
		}
	} else {
		if len(z.missing) > 0 {
			return sum, fmt.Errorf("configured fields missing on %s: %s", in.BaseURL, strings.Join(z.missing, "; "))
		}
		if err := s.store.SaveRaw(ctx, src, "fields", "all", rawFields); err != nil {
			return sum, err
		}
		if err := s.store.SaveRaw(ctx, src, "statuses", "all", rawStatuses); err != nil {
			return sum, err
		}
	}
	err = s.pages(ctx, c, in, z, since, tz, opts, &sum, &st, advance)
	sum.Unmapped = nt.problems()
	sum.NoAsset = len(nt.noAsset)
	if report != nil {
		return sum, report(err)
	}
	if err != nil {
		return sum, err
	}
	if err := s.store.Succeeded(ctx, src, SourceType, st.Watermark, uint64(sum.Tickets)); err != nil {
		return sum, err
	}
	sum.Watermarks = map[string]time.Time{src: st.Watermark}
	if sum.Unmapped > 0 {
		s.log.WarnContext(ctx, "jira values mapped to nothing; run ingest jira --dry-run to list them",
			"source", src, "values", sum.Unmapped, "vulnerabilities_without_asset", sum.NoAsset)
	}
	s.log.InfoContext(ctx, "jira pull done", "source", src, "tickets", sum.Tickets, "pages", sum.Pages,
		"transitions", sum.Transitions, "worklogs", sum.Worklogs, "watermark", st.Watermark)
	return sum, nil
}

// zone is the time zone in which the instance reads JQL dates.
func (s *Source) zone(ctx context.Context, c *client, in *Instance) (*time.Location, error) {
	name := in.JQLTimeZone
	if name == "" {
		var err error
		if name, err = c.timeZone(ctx); err != nil {
			return nil, fmt.Errorf("read the API user's time zone: %w", err)
		}
	}
	if name == "" {
		return time.UTC, nil
	}
	tz, err := time.LoadLocation(name)
	if err != nil {
		s.log.WarnContext(ctx, "jira time zone unknown, using UTC; set jql_time_zone", "instance", in.Name, "time_zone", name)
		return time.UTC, nil
	}
	return tz, nil
}

// jql is the bounded, ordered search of in from lower on.
func jql(in *Instance, lower time.Time, tz *time.Location) string {
	var parts []string
	if len(in.Projects) > 0 {
		q := make([]string, len(in.Projects))
		for i, p := range in.Projects {
			q[i] = `"` + p + `"`
		}
		parts = append(parts, "project in ("+strings.Join(q, ", ")+")")
	}
	if j := strings.TrimSpace(in.JQL); j != "" {
		parts = append(parts, "("+j+")")
	}
	l := lower.In(tz)
	_, before := l.Add(-2 * time.Hour).Zone()
	_, after := l.Add(2 * time.Hour).Zone()
	if before != after {
		// Near a daylight saving change a wall-clock minute can be
		// ambiguous, and Jira may read it an hour late: start earlier
		// (what is read twice is skipped or rewritten unchanged).
		l = l.Add(-2 * time.Hour)
	}
	parts = append(parts, `updated >= "`+l.Format("2006-01-02 15:04")+`"`)
	return strings.Join(parts, " AND ") + " ORDER BY updated ASC, key ASC"
}

// epoch is the start of a first pull without Since.
var epoch = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// pages runs the searches of one instance. Each search starts at the
// minute of the last issue seen (JQL dates have minutes), so an issue
// updated during the pull moves to a later page instead of shifting the
// ones not yet seen; issues already seen with the same update are skipped.
// Only when a whole page shares one minute does the search go on with the
// next page of the same query.
func (s *Source) pages(ctx context.Context, c *client, in *Instance, z *normalizer, since time.Time, tz *time.Location,
	opts Options, sum *Summary, st *ingest.State, advance bool) error {
	src := in.source()
	fields := z.fields()
	lower := since.In(tz).Truncate(time.Minute)
	token, startAt := "", 0
	seen := map[string]time.Time{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		q := jql(in, lower, tz)
		p, err := c.search(ctx, q, fields, s.cfg.PageSize, token, startAt)
		if err != nil {
			return fmt.Errorf("search page %d: %w", sum.Pages+1, err)
		}
		sum.Pages++
		var fresh []pending
		var last time.Time
		for i, raw := range p.Issues {
			pe, err := decodePending(raw)
			if err != nil {
				return fmt.Errorf("search page %d, issue %d: %w", sum.Pages, i, err)
			}
			// Restarting at the minute of the latest issue needs the
			// order to hold to the minute (JQL's precision), not finer.
			if pe.updated.Before(last.In(tz).Truncate(time.Minute)) {
				return fmt.Errorf("search page %d: issue %s is out of order (updated %s after %s): the search is not ordered by updated",
					sum.Pages, pe.is.Key, pe.updated, last)
			}
			if pe.updated.After(last) {
				last = pe.updated
			}
			if prev, ok := seen[pe.is.Key]; ok && prev.Equal(pe.updated) {
				continue
			}
			fresh = append(fresh, pe)
		}
		if err := s.complete(ctx, c, in, z, fresh); err != nil {
			return fmt.Errorf("search page %d: %w", sum.Pages, err)
		}
		recs := make([]record, 0, len(fresh))
		for _, pe := range fresh {
			r, err := z.normalize(pe.env)
			if err != nil {
				return fmt.Errorf("search page %d: %w", sum.Pages, err)
			}
			recs = append(recs, r)
		}
		if !opts.DryRun {
			if err := s.commit(ctx, src, fresh, recs, sum); err != nil {
				return fmt.Errorf("write page %d: %w", sum.Pages, err)
			}
			if advance && last.After(st.Watermark) {
				st.Watermark = last
				st.LastAttempt = time.Time{}
				if err := s.store.SaveState(ctx, *st); err != nil {
					return fmt.Errorf("save watermark after page %d: %w", sum.Pages, err)
				}
			}
		} else {
			for _, r := range recs {
				sum.Tickets++
				sum.Transitions += len(r.transitions)
				sum.Worklogs += len(r.worklogs)
			}
		}
		for _, pe := range fresh {
			seen[pe.is.Key] = pe.updated
		}
		if len(p.Issues) == 0 || isLast(in, p, startAt) {
			return nil
		}
		if opts.Limit > 0 && len(seen) >= opts.Limit {
			return nil
		}
		if m := last.In(tz).Truncate(time.Minute); m.After(lower) {
			lower, token, startAt = m, "", 0
			continue
		}
		// The whole page is in one minute: page on within the same query.
		startAt += len(p.Issues)
		token = p.NextPageToken
		if in.Flavor == Cloud && token == "" {
			return nil
		}
	}
}

// isLast reports whether p is the last page of its query.
func isLast(in *Instance, p searchPage, startAt int) bool {
	if in.Flavor == Cloud {
		return (p.IsLast != nil && *p.IsLast) || p.NextPageToken == ""
	}
	if p.Total != nil {
		return startAt+len(p.Issues) >= *p.Total
	}
	return len(p.Issues) < p.MaxResults
}

// pending is an issue of a page, decoded enough to page and complete it.
type pending struct {
	is      issue
	updated time.Time
	env     envelope
	// needHistory and needWorklogs say whether the embedded lists are
	// truncated (or absent).
	needHistory, needWorklogs bool
}

func decodePending(raw json.RawMessage) (pending, error) {
	var is issue
	if err := json.Unmarshal(raw, &is); err != nil {
		return pending{}, fmt.Errorf("decode issue: %w", err)
	}
	if is.Key == "" {
		return pending{}, fmt.Errorf("issue %s has no key", is.ID)
	}
	s, err := text(is.Fields["updated"])
	if err != nil || s == "" {
		return pending{}, fmt.Errorf("issue %s: field updated is missing or not a string", is.Key)
	}
	updated, err := parseTime(s)
	if err != nil {
		return pending{}, fmt.Errorf("issue %s: field updated: %w", is.Key, err)
	}
	pe := pending{is: is, updated: updated, env: envelope{Issue: raw}}
	pe.needHistory = is.Changelog == nil || is.Changelog.Total > len(is.Changelog.Histories)
	wl, ok := is.Fields["worklog"]
	if !ok || isNull(wl) {
		pe.needWorklogs = true
	} else {
		var w worklogPage
		if err := json.Unmarshal(wl, &w); err != nil {
			return pending{}, fmt.Errorf("issue %s: field worklog: %w", is.Key, err)
		}
		pe.needWorklogs = w.Total > len(w.Worklogs)
	}
	return pe, nil
}

// complete fetches the truncated changelogs and worklog lists of a page:
// changelogs in bulk on Cloud (per issue where the bulk endpoint is missing
// or the issue has no id), per issue on Data Center; worklogs per issue.
func (s *Source) complete(ctx context.Context, c *client, in *Instance, z *normalizer, ps []pending) error {
	var tasks []func(context.Context) error
	var bulk []int
	for i := range ps {
		pe := &ps[i]
		if pe.needHistory {
			if in.Flavor == Cloud && pe.is.ID != "" {
				bulk = append(bulk, i)
			} else {
				tasks = append(tasks, func(ctx context.Context) error {
					hs, err := c.issueChangelog(ctx, pe.is.Key)
					if err != nil {
						return fmt.Errorf("changelog of %s: %w", pe.is.Key, err)
					}
					pe.env.Histories = hs
					return nil
				})
			}
		}
		if pe.needWorklogs {
			tasks = append(tasks, func(ctx context.Context) error {
				ws, err := c.issueWorklogs(ctx, pe.is.Key)
				if err != nil {
					return fmt.Errorf("worklogs of %s: %w", pe.is.Key, err)
				}
				pe.env.Worklogs = ws
				return nil
			})
		}
	}
	if len(bulk) > 0 {
		tasks = append(tasks, func(ctx context.Context) error {
			ids := make([]string, len(bulk))
			for j, i := range bulk {
				ids[j] = ps[i].is.ID
			}
			fieldIDs := []string{"status", "resolution"}
			if id, ok := z.refs[refSeverity]; ok {
				fieldIDs = append(fieldIDs, id)
			}
			got, err := c.bulkChangelog(ctx, ids, fieldIDs)
			var se *transport.StatusError
			if errors.As(err, &se) && se.Status == http.StatusNotFound {
				// No bulk endpoint on this site: page each issue.
				for _, i := range bulk {
					if ps[i].env.Histories, err = c.issueChangelog(ctx, ps[i].is.Key); err != nil {
						return fmt.Errorf("changelog of %s: %w", ps[i].is.Key, err)
					}
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("changelog bulk fetch: %w", err)
			}
			for _, i := range bulk {
				ps[i].env.Histories = got[ps[i].is.ID]
			}
			return nil
		})
	}
	return parallel(ctx, s.cfg.Concurrency, tasks)
}

// parallel runs tasks, at most n at once, and returns the first error; the
// others are canceled then.
func parallel(ctx context.Context, n int, tasks []func(context.Context) error) error {
	if len(tasks) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		sem   = make(chan struct{}, max(n, 1))
	)
	for _, t := range tasks {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := t(ctx); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// commit writes one page: the raw envelopes first (so that a renormalize
// finds every issue whose rows exist), then tickets with their transitions
// and worklogs, then the findings of vulnerability tickets.
func (s *Source) commit(ctx context.Context, src string, ps []pending, recs []record, sum *Summary) error {
	raws := make([]ingest.RawPayload, 0, len(ps))
	for _, pe := range ps {
		b, err := json.Marshal(pe.env)
		if err != nil {
			return err
		}
		raws = append(raws, ingest.RawPayload{Key: pe.is.Key, Payload: b})
	}
	if err := s.store.SaveRaws(ctx, src, "issue", raws); err != nil {
		return err
	}
	return s.save(ctx, recs, sum)
}

// save writes normalized records.
func (s *Source) save(ctx context.Context, recs []record, sum *Summary) error {
	var (
		tickets     []ingest.Ticket
		transitions []ingest.Transition
		worklogs    []ingest.Worklog
		tracked     []ingest.Tracked
	)
	for _, r := range recs {
		tickets = append(tickets, r.ticket)
		transitions = append(transitions, r.transitions...)
		worklogs = append(worklogs, r.worklogs...)
		if r.finding != nil {
			tracked = append(tracked, *r.finding)
		}
	}
	if err := s.store.SaveTickets(ctx, tickets, transitions, worklogs); err != nil {
		return err
	}
	fs, err := s.store.ApplyTracked(ctx, Scanner, tracked)
	if err != nil {
		return fmt.Errorf("findings: %w", err)
	}
	sum.Tickets += len(tickets)
	sum.Transitions += len(transitions)
	sum.Worklogs += len(worklogs)
	addFindings(&sum.Findings, fs)
	return nil
}

// renormalizeBatch is how many stored issues Renormalize writes at once.
const renormalizeBatch = 500

// Renormalize maps every stored issue of every instance again with the
// current configuration and writes the results, fetching nothing and
// leaving the watermarks alone. It fails for an instance that was never
// pulled, and when a configured field is not in the instance's stored
// field list.
func (s *Source) Renormalize(ctx context.Context) (Summary, error) {
	if !s.mu.TryLock() {
		return Summary{}, errors.New("jira: a pull or renormalization is already running")
	}
	defer s.mu.Unlock()
	var total Summary
	var errs []error
	for i := range s.cfg.Instances {
		in := &s.cfg.Instances[i]
		sum, err := s.renormalize(ctx, in)
		total.add(sum)
		if err != nil {
			errs = append(errs, fmt.Errorf("jira instance %q: renormalize: %w", in.Name, err))
		}
	}
	return total, errors.Join(errs...)
}

func (s *Source) renormalize(ctx context.Context, in *Instance) (Summary, error) {
	src := in.source()
	var sum Summary
	var fields []field
	var statuses []status
	for _, x := range []struct {
		kind string
		dst  any
	}{{"fields", &fields}, {"statuses", &statuses}} {
		found := false
		err := s.store.EachRaw(ctx, src, x.kind, func(_ string, b []byte) error {
			found = true
			return json.Unmarshal(b, x.dst)
		})
		if err != nil {
			return sum, fmt.Errorf("read stored %s: %w", x.kind, err)
		}
		if !found {
			return sum, fmt.Errorf("no stored %s: pull the instance first", x.kind)
		}
	}
	nt := newNotes()
	z := newNormalizer(src, s.cfg.mapping(in), newMeta(fields, statuses), nt)
	if len(z.missing) > 0 {
		return sum, fmt.Errorf("configured fields missing on %s: %s", in.BaseURL, strings.Join(z.missing, "; "))
	}
	var batch []record
	err := s.store.EachRaw(ctx, src, "issue", func(key string, b []byte) error {
		var env envelope
		if err := json.Unmarshal(b, &env); err != nil {
			return fmt.Errorf("stored issue %s: %w", key, err)
		}
		r, err := z.normalize(env)
		if err != nil {
			return fmt.Errorf("stored issue %s: %w", key, err)
		}
		batch = append(batch, r)
		if len(batch) >= renormalizeBatch {
			err := s.save(ctx, batch, &sum)
			batch = batch[:0]
			return err
		}
		return nil
	})
	if err == nil {
		err = s.save(ctx, batch, &sum)
	}
	sum.Unmapped = nt.problems()
	sum.NoAsset = len(nt.noAsset)
	return sum, err
}

// Poll pulls every interval (Config.PollInterval when every is zero) until
// ctx is canceled, and then returns ctx's error. A failed pull is logged
// and retried at the next interval; it never ends the loop.
func (s *Source) Poll(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = s.cfg.PollInterval
	}
	if every <= 0 {
		return errors.New("jira: no poll interval (jira.poll_interval)")
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		sum, err := s.Pull(ctx, Options{})
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "jira poll failed", "error", err, "tickets", sum.Tickets)
		}
		t.Reset(every)
	}
}
