package metrics

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// PeriodKind says how a period was named.
type PeriodKind string

// The period kinds.
const (
	Quarter PeriodKind = "quarter" // calendar or fiscal quarter, "2026-Q3"
	Month   PeriodKind = "month"   // "2026-09"
	Week    PeriodKind = "week"    // ISO week, "2026-W38"
	Range   PeriodKind = "range"   // explicit [from, to)
)

// Period is a half-open interval [From, To) of UTC instants. Named periods
// start and end at local midnight in the reporting time zone.
type Period struct {
	Name string     `json:"name"`
	Kind PeriodKind `json:"kind"`
	From time.Time  `json:"from"`
	To   time.Time  `json:"to"`
	// TimeZone is the reporting time zone the boundaries were computed in.
	TimeZone string `json:"time_zone"`
	// Fiscal is set for a fiscal quarter: FiscalStartMonth is the first
	// month of the fiscal year.
	FiscalStartMonth int `json:"fiscal_start_month,omitempty"`

	loc     *time.Location
	year, n int // quarter, month or week number within year
}

// Equal reports whether p and q are the same period (name, kind, bounds).
func (p Period) Equal(q Period) bool {
	return p.Name == q.Name && p.Kind == q.Kind && p.From.Equal(q.From) && p.To.Equal(q.To) &&
		p.TimeZone == q.TimeZone && p.FiscalStartMonth == q.FiscalStartMonth
}

// String returns the period's name.
func (p Period) String() string { return p.Name }

// Days is the period's length in days of 86,400 s.
func (p Period) Days() float64 { return p.To.Sub(p.From).Hours() / 24 }

var (
	reQuarter = regexp.MustCompile(`^(?:FY)?(\d{4})-Q([1-4])$`)
	reMonth   = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
	reWeek    = regexp.MustCompile(`^(\d{4})-W(\d{2})$`)
)

// ParsePeriod parses a period name in the reporting time zone loc (nil
// means UTC):
//
//	2026-Q3          quarter 3 of 2026: a calendar quarter, or with
//	                 fiscalStart in 2–12 fiscal quarter 3 of fiscal year
//	                 2026, the fiscal year that ends in calendar 2026 (with
//	                 fiscalStart 10, FY2026 Q1 is October–December 2025);
//	                 "FY2026-Q3" is accepted too
//	2026-09          a month
//	2026-W38         an ISO 8601 week (Monday to Monday)
//	FROM/TO or FROM..TO  an explicit [FROM, TO): dates (2026-07-01, local
//	                 midnight) or RFC 3339 instants
//
// It returns an *InputError for anything else.
func ParsePeriod(s string, loc *time.Location, fiscalStart int) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	s = strings.TrimSpace(s)
	if fiscalStart == 0 {
		fiscalStart = 1
	}
	if fiscalStart < 1 || fiscalStart > 12 {
		return Period{}, inputErr("period", fmt.Sprintf("fiscal year start month %d: want 1–12", fiscalStart))
	}
	if m := reQuarter.FindStringSubmatch(s); m != nil {
		y, _ := strconv.Atoi(m[1])
		q, _ := strconv.Atoi(m[2])
		return quarter(y, q, loc, fiscalStart), nil
	}
	if m := reMonth.FindStringSubmatch(s); m != nil {
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		if mo < 1 || mo > 12 {
			return Period{}, inputErr("period", fmt.Sprintf("%q: month must be 01–12", s))
		}
		return month(y, mo, loc), nil
	}
	if m := reWeek.FindStringSubmatch(s); m != nil {
		y, _ := strconv.Atoi(m[1])
		w, _ := strconv.Atoi(m[2])
		p, ok := week(y, w, loc)
		if !ok {
			return Period{}, inputErr("period", fmt.Sprintf("%q: ISO year %d has no week %d", s, y, w))
		}
		return p, nil
	}
	for _, sep := range []string{"..", "/"} {
		if a, b, ok := strings.Cut(s, sep); ok {
			from, err1 := parseInstant(a, loc)
			to, err2 := parseInstant(b, loc)
			if err1 != nil || err2 != nil {
				break
			}
			return NewRange(from, to, loc)
		}
	}
	return Period{}, inputErr("period", fmt.Sprintf("%q: want 2026-Q3, 2026-09, 2026-W38 or FROM/TO (dates or RFC 3339 times)", s))
}

func parseInstant(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// NewRange returns the explicit period [from, to). It returns an
// *InputError unless from < to.
func NewRange(from, to time.Time, loc *time.Location) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	if !from.Before(to) {
		return Period{}, inputErr("period", fmt.Sprintf("from %s must be before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339)))
	}
	from, to = from.UTC(), to.UTC()
	return Period{
		Name: from.Format(time.RFC3339) + "/" + to.Format(time.RFC3339), Kind: Range,
		From: from, To: to, TimeZone: loc.String(), loc: loc,
	}, nil
}

func quarter(fy, q int, loc *time.Location, fiscalStart int) Period {
	startYear := fy
	if fiscalStart > 1 {
		startYear = fy - 1
	}
	first := time.Date(startYear, time.Month(fiscalStart+3*(q-1)), 1, 0, 0, 0, 0, loc)
	p := Period{
		Name: fmt.Sprintf("%d-Q%d", fy, q), Kind: Quarter,
		From: first.UTC(), To: first.AddDate(0, 3, 0).UTC(), TimeZone: loc.String(),
		loc: loc, year: fy, n: q,
	}
	if fiscalStart > 1 {
		p.FiscalStartMonth = fiscalStart
	}
	return p
}

func month(y, m int, loc *time.Location) Period {
	first := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, loc)
	return Period{
		Name: fmt.Sprintf("%04d-%02d", first.Year(), int(first.Month())), Kind: Month,
		From: first.UTC(), To: first.AddDate(0, 1, 0).UTC(), TimeZone: loc.String(),
		loc: loc, year: first.Year(), n: int(first.Month()),
	}
}

func week(y, w int, loc *time.Location) (Period, bool) {
	jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, loc)
	wd := (int(jan4.Weekday()) + 6) % 7 // Monday = 0
	monday := time.Date(y, 1, 4-wd+7*(w-1), 0, 0, 0, 0, loc)
	if iy, iw := monday.ISOWeek(); iy != y || iw != w {
		return Period{}, false
	}
	return Period{
		Name: fmt.Sprintf("%04d-W%02d", y, w), Kind: Week,
		From: monday.UTC(), To: time.Date(monday.Year(), monday.Month(), monday.Day()+7, 0, 0, 0, 0, loc).UTC(),
		TimeZone: loc.String(), loc: loc, year: y, n: w,
	}, true
}

func (p Period) location() *time.Location {
	if p.loc != nil {
		return p.loc
	}
	if l, err := time.LoadLocation(p.TimeZone); err == nil {
		return l
	}
	return time.UTC
}

// Previous returns the period before p: the previous quarter, month or ISO
// week, or for a range the range of equal length that ends at p.From.
func (p Period) Previous() Period {
	loc := p.location()
	switch p.Kind {
	case Quarter:
		fs := p.FiscalStartMonth
		if fs == 0 {
			fs = 1
		}
		if p.n == 0 { // a Period decoded from JSON: derive from its start
			return quarterOf(p.From.Add(-time.Second), loc, fs)
		}
		if p.n == 1 {
			return quarter(p.year-1, 4, loc, fs)
		}
		return quarter(p.year, p.n-1, loc, fs)
	case Month:
		prev := p.From.In(loc).AddDate(0, 0, -1)
		return month(prev.Year(), int(prev.Month()), loc)
	case Week:
		y, w := p.From.In(loc).AddDate(0, 0, -7).ISOWeek()
		prev, _ := week(y, w, loc)
		return prev
	}
	r, _ := NewRange(p.From.Add(-p.To.Sub(p.From)), p.From, loc)
	return r
}

// quarterOf returns the quarter (fiscal with start month fs) containing t.
func quarterOf(t time.Time, loc *time.Location, fs int) Period {
	lt := t.In(loc)
	idx := (int(lt.Month()) - fs + 12) % 12 // months since fiscal year start
	fy := lt.Year()
	if fs > 1 && int(lt.Month()) >= fs {
		fy++
	}
	return quarter(fy, idx/3+1, loc, fs)
}

// Last returns the n periods ending with p, oldest first (n < 1 means 1).
func (p Period) Last(n int) []Period {
	if n < 1 {
		n = 1
	}
	out := make([]Period, n)
	out[n-1] = p
	for i := n - 2; i >= 0; i-- {
		out[i] = out[i+1].Previous()
	}
	return out
}
