package reports

import (
	"fmt"
	"time"

	"github.com/secmetrics/secmetrics/metrics"
)

// PeriodFor returns the period an export with rule reports on when it runs
// for the scheduled instant at. Periods are the engine's (its reporting
// time zone and fiscal year), whatever zone the schedule runs in:
//
//	previous_quarter  the quarter before the one containing at
//	previous_month    the month before the one containing at
//	previous_week     the ISO week before the one containing at
//	quarter_to_date   [start of the quarter containing at, at)
//	month_to_date     [start of the month containing at, at)
//
// A to-date period that would be empty (at is the first instant of the
// quarter or month) is the whole previous quarter or month instead.
func PeriodFor(e Engine, rule string, at time.Time) (metrics.Period, error) {
	local := at.In(e.Location())
	month := func() (metrics.Period, error) {
		return e.ParsePeriod(fmt.Sprintf("%04d-%02d", local.Year(), int(local.Month())))
	}
	switch rule {
	case PreviousQuarter:
		q, err := e.QuarterContaining(at)
		return q.Previous(), err
	case PreviousMonth:
		m, err := month()
		return m.Previous(), err
	case PreviousWeek:
		y, w := local.ISOWeek()
		p, err := e.ParsePeriod(fmt.Sprintf("%04d-W%02d", y, w))
		return p.Previous(), err
	case QuarterToDate, MonthToDate:
		var p metrics.Period
		var err error
		if rule == QuarterToDate {
			p, err = e.QuarterContaining(at)
		} else {
			p, err = month()
		}
		if err != nil {
			return metrics.Period{}, err
		}
		if !p.From.Before(at) {
			return p.Previous(), nil
		}
		return metrics.NewRange(p.From, at, e.Location())
	}
	return metrics.Period{}, fmt.Errorf("unknown period rule %q", rule)
}

// periodLabel names a period in file names: its own name, or for a range
// "2026-09-01_to_2026-09-15" (local dates, the end excluded).
func periodLabel(p metrics.Period) string {
	if p.Kind != metrics.Range {
		return p.Name
	}
	loc := location(p.TimeZone)
	return p.From.In(loc).Format("2006-01-02") + "_to_" + p.To.In(loc).Format("2006-01-02")
}
