package reports

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries"
)

// ErrUnknownExport is returned by RunNow for a name no export has.
var ErrUnknownExport = errors.New("no such export")

// ErrExportBusy is returned by RunNow while the export is running.
var ErrExportBusy = errors.New("export is running")

// SchedulerOptions configures a Scheduler.
type SchedulerOptions struct {
	// Clock drives the schedules and the waits between retries; default the
	// real clock. Tests pass a clockwork fake clock.
	Clock      clockwork.Clock
	HTTPClient *http.Client // webhooks; default a client with no redirects
	Log        *slog.Logger
}

// Scheduler runs the configured exports on their schedules (gocron), with
// bounded retries, records every attempt in export_runs, and catches up on
// missed runs at start-up (docs/reports.md, "Scheduled exports").
type Scheduler struct {
	cfg     Config
	r       *Reports
	runs    *runStore
	clock   clockwork.Clock
	http    *http.Client
	log     *slog.Logger
	exports map[string]Export
	zones   map[string]*time.Location
	crons   map[string]*wallCron
	locks   map[string]*sync.Mutex

	sched  gocron.Scheduler
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewScheduler checks cfg (every problem at once, as Check) and returns a
// scheduler that renders with r and records runs in db. Secrets must have
// been resolved (Config.ResolveSecrets).
func NewScheduler(cfg Config, r *Reports, db *queries.DB, o SchedulerOptions) (*Scheduler, error) {
	if errs := cfg.Check("reports"); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cfg = cfg.withDefaults()
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{cfg: cfg, r: r, runs: &runStore{db: db}, clock: o.Clock, http: o.HTTPClient, log: o.Log,
		exports: map[string]Export{}, zones: map[string]*time.Location{}, crons: map[string]*wallCron{}, locks: map[string]*sync.Mutex{}}
	for _, e := range cfg.Exports {
		loc, _ := time.LoadLocation(e.TimeZone)
		c, err := parseSchedule(e.Schedule, loc, o.Clock.Now())
		if err != nil {
			return nil, fmt.Errorf("reports.exports %s: %w", e.Name, err)
		}
		s.exports[e.Name], s.zones[e.Name], s.crons[e.Name], s.locks[e.Name] = e, loc, c, &sync.Mutex{}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Start catches up on missed runs and starts the schedules. It returns
// once they are running; Shutdown stops them.
//
// Missed runs: for each export, the reference is the scheduled time of
// its last successful run (a manual run counts at its start), or just
// before its first run when none succeeded. When a scheduled time after
// the reference has passed, the export runs once, now, for the latest
// such time only (its period is that slot's period); older missed slots
// are not run. An export that never ran has nothing to catch up.
func (s *Scheduler) Start(ctx context.Context) error {
	refs, err := s.runs.lastRuns(ctx)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	for name, e := range s.exports {
		ref, ok := refs[name]
		if !ok {
			continue
		}
		slot, ok := latestSlot(s.crons[name], ref, now)
		if !ok {
			continue
		}
		s.log.Info("export catch-up", "export", name, "scheduled_for", slot, "last", ref)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_, _ = s.execute(s.ctx, e, slot, true)
		}()
	}
	sched, err := gocron.NewScheduler(gocron.WithClock(s.clock), gocron.WithLocation(time.UTC))
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	for name, e := range s.exports {
		def, opts := s.job(e)
		_, err := sched.NewJob(def, gocron.NewTask(func(ctx context.Context) {
			// Cron fires on whole minutes: the scheduled time is the
			// minute the job fired in.
			slot := s.clock.Now().UTC().Truncate(time.Minute)
			_, _ = s.execute(ctx, e, slot, true)
		}), opts...)
		if err != nil {
			_ = sched.Shutdown()
			return fmt.Errorf("schedule export %s: %w", name, err)
		}
	}
	sched.Start()
	s.sched = sched
	return nil
}

// job is the gocron definition of an export: its wall-clock cron in its
// zone (wallCron, which defines daylight saving), one run at a time (a
// run still going when the next is due makes gocron skip that one).
func (s *Scheduler) job(e Export) (gocron.JobDefinition, []gocron.JobOption) {
	return gocron.CronJob(strings.TrimSpace(e.Schedule), false), []gocron.JobOption{
		gocron.WithCronImplementation(s.crons[e.Name]),
		gocron.WithName(e.Name),
		gocron.WithContext(s.ctx),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
	}
}

// Shutdown stops the schedules, cancels running exports (a run cut short
// is recorded as failed) and waits for them.
func (s *Scheduler) Shutdown() error {
	s.cancel()
	var err error
	if s.sched != nil {
		err = s.sched.Shutdown()
	}
	s.wg.Wait()
	return err
}

// NextRun returns the next scheduled time of an export.
func (s *Scheduler) NextRun(name string) (time.Time, error) {
	c, ok := s.crons[name]
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %q", ErrUnknownExport, name)
	}
	return c.Next(s.clock.Now()), nil
}

// RunNow runs one export now (secmetrics export run NAME), once, without
// retries, for the period its rule gives at this instant, and returns the
// recorded run. It returns ErrUnknownExport for an unknown name and
// ErrExportBusy while the export is running; a failed run is returned with
// its error.
func (s *Scheduler) RunNow(ctx context.Context, name string) (Run, error) {
	e, ok := s.exports[name]
	if !ok {
		return Run{}, fmt.Errorf("%w: %q", ErrUnknownExport, name)
	}
	return s.execute(ctx, e, s.clock.Now().UTC().Truncate(time.Second), false)
}

// ListRuns returns the latest runs of every export, newest first: limit
// rows (default 50, at most 1,000).
func (s *Scheduler) ListRuns(ctx context.Context, limit int) ([]Run, error) {
	return ListRuns(ctx, s.runs.db, limit)
}

// ListRuns reads the latest export runs from db (GET
// /api/v1/exports/runs), without a scheduler.
func ListRuns(ctx context.Context, db *queries.DB, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = 50
	}
	if limit > 1000 {
		limit = 1000
	}
	return (&runStore{db: db}).list(ctx, limit)
}

// delivery is what a run has done so far, across its attempts: the file is
// made once, and a destination reached is not sent to again.
type delivery struct {
	art  *artifact
	path string
	done []string
}

func (d *delivery) reached(dest string) bool { return slices.Contains(d.done, dest) }

// execute runs export e for the scheduled instant slot: up to
// Retry.Attempts attempts when retry is set (waiting Backoff, doubling,
// between them), one otherwise. Each attempt is recorded. After the last
// failed attempt the webhook, if any, gets a best-effort export.failed
// notification.
func (s *Scheduler) execute(ctx context.Context, e Export, slot time.Time, retry bool) (Run, error) {
	lock := s.locks[e.Name]
	if !retry {
		if !lock.TryLock() {
			return Run{}, fmt.Errorf("%w: %s", ErrExportBusy, e.Name)
		}
	} else {
		lock.Lock()
	}
	defer lock.Unlock()
	attempts := 1
	if retry {
		attempts = s.cfg.Retry.Attempts
	}
	period, perr := PeriodFor(s.r.e, e.Period, slot)
	d := &delivery{}
	var run Run
	var err error
	for attempt := 1; ; attempt++ {
		run, err = s.attempt(ctx, e, slot, period, perr, attempt, d)
		if err == nil || attempt >= attempts || ctx.Err() != nil {
			break
		}
		wait := s.backoff(attempt)
		s.log.Warn("export attempt failed", "export", e.Name, "attempt", attempt, "retry_in", wait.String(), "err", err)
		select {
		case <-s.clock.After(wait):
		case <-ctx.Done():
		}
	}
	if err != nil {
		s.log.Error("export failed", "export", e.Name, "attempts", run.Attempt, "err", err)
		if e.Webhook != nil && !d.reached("webhook") {
			n := s.notification(e, run, d, "export.failed")
			if werr := notify(context.WithoutCancel(ctx), s.http, e.Webhook, n, s.clock.Now(), s.r.version); werr != nil {
				s.log.Warn("export failure notification failed", "export", e.Name, "err", werr)
			}
		}
		return run, err
	}
	s.log.Info("export done", "export", e.Name, "file", run.File, "size", run.Size, "attempt", run.Attempt)
	return run, nil
}

// backoff is the wait after failed attempt n: Backoff·2^(n−1), at most
// MaxBackoff.
func (s *Scheduler) backoff(n int) time.Duration {
	d := s.cfg.Retry.Backoff
	for i := 1; i < n && d < s.cfg.Retry.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.Retry.MaxBackoff)
}

// attempt makes and delivers the file once and records the attempt (as
// running, then as ok or failed).
func (s *Scheduler) attempt(ctx context.Context, e Export, slot time.Time, period metrics.Period, perr error, n int, d *delivery) (Run, error) {
	run := Run{ID: uuid.NewString(), Export: e.Name, ScheduledFor: slot.UTC(), StartedAt: s.clock.Now().UTC().Truncate(time.Second),
		Status: RunRunning, Attempt: n, Period: period.Name}
	// The record is kept even when the database is away: the export
	// itself must not depend on it.
	if err := s.runs.save(context.WithoutCancel(ctx), run); err != nil {
		s.log.Error("export run not recorded", "export", e.Name, "err", err)
	}
	err := perr
	if err == nil {
		err = s.deliver(ctx, e, slot, period, d)
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	finished := s.clock.Now().UTC()
	run.FinishedAt = &finished
	run.Duration = finished.Sub(run.StartedAt).Seconds()
	run.Status = RunOK
	if err != nil {
		run.Status, run.Error = RunFailed, err.Error()
	}
	if d.art != nil {
		run.File, run.Size = d.art.name, uint64(len(d.art.data))
		if d.path != "" {
			run.File = d.path
		}
	}
	run.Destination = strings.Join(d.done, ",")
	if serr := s.runs.save(context.WithoutCancel(ctx), run); serr != nil {
		s.log.Error("export run not recorded", "export", e.Name, "err", serr)
	}
	return run, err
}

// deliver makes the file (once) and sends it to every destination not yet
// reached: the directory, the e-mail recipients, then the webhook, which
// is told only once the file has reached every other destination.
func (s *Scheduler) deliver(ctx context.Context, e Export, slot time.Time, period metrics.Period, d *delivery) error {
	if d.art == nil {
		a, err := s.generate(ctx, e, slot, period)
		if err != nil {
			return err
		}
		d.art = a
	}
	var errs []error
	if !d.reached("directory") {
		path, err := writeFile(e.Directory.Path, *d.art)
		if err != nil {
			errs = append(errs, err)
		} else {
			d.path = path
			d.done = append(d.done, "directory")
		}
	}
	if m := e.Email; m != nil && !d.reached("email") {
		subject := fmt.Sprintf("%s: %s %s", m.Subject, e.Name, period.Name)
		body := fmt.Sprintf("The %s export for %s (%s, %s) is attached: %s.\n\nScope: %s.\nGenerated by secmetrics %s at %s.\n",
			e.Name, period.Name, periodRange(period), period.TimeZone, d.art.name, teamsText(e.Teams), s.r.version,
			s.clock.Now().In(s.zones[e.Name]).Format("2006-01-02 15:04 MST"))
		if err := sendMail(ctx, m, subject, body, *d.art, s.clock.Now()); err != nil {
			errs = append(errs, err)
		} else {
			d.done = append(d.done, "email")
		}
	}
	if w := e.Webhook; w != nil && len(errs) == 0 && !d.reached("webhook") {
		n := s.notification(e, Run{Status: RunOK, Period: period.Name, ScheduledFor: slot}, d, "export.succeeded")
		if err := notify(ctx, s.http, w, n, s.clock.Now(), s.r.version); err != nil {
			errs = append(errs, err)
		} else {
			d.done = append(d.done, "webhook")
		}
	}
	return errors.Join(errs...)
}

func (s *Scheduler) notification(e Export, run Run, d *delivery, event string) Notification {
	n := Notification{Event: event, Export: e.Name, RunID: run.ID, Status: run.Status, Attempt: run.Attempt, Period: run.Period,
		ScheduledFor: run.ScheduledFor.UTC(), Destinations: append([]string{}, d.done...), Error: run.Error}
	if d.art != nil {
		n.File, n.Size, n.SHA256 = d.art.name, len(d.art.data), d.art.sha256
	}
	return n
}

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// generate renders the export's file for its scope and period.
func (s *Scheduler) generate(ctx context.Context, e Export, slot time.Time, period metrics.Period) (*artifact, error) {
	name, err := fileName(e.Directory.FileName, e.Name, periodLabel(period), e.Format, slot.In(s.zones[e.Name]))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	q := WorkbookQuery{Period: period, Scope: metrics.Scope{Teams: e.Teams}}
	a := &artifact{name: name, contentType: xlsxType}
	if e.Format == "csv" {
		a.contentType = "text/csv; charset=utf-8"
		err = s.r.ScorecardCSV(ctx, &buf, q)
	} else {
		err = s.r.Workbook(ctx, &buf, q)
	}
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	a.data = buf.Bytes()
	sum := sha256.Sum256(a.data)
	a.sha256 = hex.EncodeToString(sum[:])
	return a, nil
}

func teamsText(teams []string) string {
	if len(teams) == 0 {
		return "all teams"
	}
	return "teams " + strings.Join(teams, ", ")
}

// latestSlot returns the latest scheduled time of c in (after, now], and
// false when there is none. It walks forward from the shortest recent
// window that holds a slot, so a long outage costs few steps.
func latestSlot(c *wallCron, after, now time.Time) (time.Time, bool) {
	first := c.Next(after)
	if first.IsZero() || first.After(now) {
		return time.Time{}, false
	}
	start := first
	for _, w := range []time.Duration{time.Hour, 25 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour} {
		from := now.Add(-w)
		if !from.After(after) {
			break
		}
		if n := c.Next(from); !n.IsZero() && !n.After(now) {
			start = n
			break
		}
	}
	last := start
	for i := 0; i < 1_000_000; i++ {
		n := c.Next(last)
		if n.IsZero() || n.After(now) {
			break
		}
		last = n
	}
	return last, true
}
