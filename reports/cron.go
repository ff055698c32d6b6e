package reports

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// wallCron is an export's schedule: a five-field cron spec evaluated on
// the wall clock of its time zone, with daylight saving defined as
// docs/reports.md says:
//
//   - a wall-clock time that a spring change skips (02:30 when clocks go
//     from 02:00 to 03:00) runs once, at the first valid time after the
//     gap (03:00);
//   - a wall-clock time that an autumn change repeats (02:30 twice) runs
//     once, at its first occurrence.
//
// The spec is evaluated by robfig/cron (through gocron) on a clock without
// daylight saving (UTC standing in for the wall clock), and each wall-clock
// slot is mapped to exactly one instant. It implements gocron.Cron.
type wallCron struct {
	loc  *time.Location
	wall gocron.Cron // the spec in UTC, read as the wall clock of loc
}

var _ gocron.Cron = (*wallCron)(nil)

// errSchedule describes a schedule the cron parser must not see.
var errSchedule = errors.New("want five cron fields (minute hour day-of-month month day-of-week) or @yearly, @monthly, @weekly, @daily, @hourly")

// parseSchedule validates a schedule for zone loc. The time zone is never
// part of the spec: gocron and robfig/cron crash on a bare "TZ=" (slice
// bounds out of range), so TZ= and CRON_TZ= prefixes are refused before
// the parser sees them, and the parser runs behind a recover.
func parseSchedule(spec string, loc *time.Location, now time.Time) (c *wallCron, err error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "":
		return nil, fmt.Errorf("required: %w", errSchedule)
	case strings.Contains(strings.ToUpper(spec), "TZ="):
		return nil, fmt.Errorf("%q: set the zone with time_zone, not TZ= in the schedule", spec)
	case strings.HasPrefix(spec, "@every"):
		return nil, fmt.Errorf("%q: @every is not a wall-clock schedule: %w", spec, errSchedule)
	case strings.HasPrefix(spec, "@"):
		switch spec {
		case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly":
		default:
			return nil, fmt.Errorf("%q: %w", spec, errSchedule)
		}
	case len(strings.Fields(spec)) != 5:
		return nil, fmt.Errorf("%q: %w", spec, errSchedule)
	}
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("%q: %w", spec, errSchedule)
		}
	}()
	w := gocron.NewDefaultCron(false)
	if err := w.IsValid(spec, time.UTC, wallClock(now, loc)); err != nil {
		if errors.Is(err, gocron.ErrCronJobInvalid) {
			return nil, fmt.Errorf("%q never fires (no such date)", spec)
		}
		return nil, fmt.Errorf("%q: %w", spec, errSchedule)
	}
	return &wallCron{loc: loc, wall: w}, nil
}

// IsValid implements gocron.Cron; the spec was checked by parseSchedule.
func (c *wallCron) IsValid(string, *time.Location, time.Time) error { return nil }

// Next returns the first scheduled instant strictly after t (zero when the
// schedule never fires again).
func (c *wallCron) Next(t time.Time) time.Time {
	w := wallClock(t, c.loc)
	for i := 0; i < 1000; i++ {
		nw := c.wall.Next(w)
		if nw.IsZero() {
			return time.Time{}
		}
		if at := instantOf(nw, c.loc); at.After(t) {
			return at
		}
		w = nw
	}
	return time.Time{}
}

// wallClock is t's wall clock in loc, as a UTC time.
func wallClock(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// instantOf returns the first instant whose wall clock in loc is w or
// later: w itself when it occurs once, its first occurrence when an
// autumn change repeats it, the end of the gap when a spring change skips
// it.
func instantOf(w time.Time, loc *time.Location) time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	if wallClock(t, loc).Equal(w) {
		once := true
		for _, d := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
			if wallClock(t.Add(-d), loc).Equal(w) {
				once = false
			}
		}
		if once {
			return t
		}
	}
	// Around a change: the first minute, from three hours before, whose
	// wall clock has reached w.
	for x := t.Add(-3 * time.Hour).Truncate(time.Minute); x.Before(t.Add(3 * time.Hour)); x = x.Add(time.Minute) {
		if !wallClock(x, loc).Before(w) {
			return x
		}
	}
	return t
}
