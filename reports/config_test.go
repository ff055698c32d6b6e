package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/secmetrics/secmetrics/metrics"
)

var update = flag.Bool("update", false, "rewrite the golden files of config problems")

// TestConfigCheck checks configuration files against the problems they
// must produce (testdata/config/NAME.want; -update rewrites them, a
// missing one fails).
func TestConfigCheck(t *testing.T) {
	files, _ := filepath.Glob("testdata/config/*.yaml")
	if len(files) == 0 {
		t.Fatal("no test configurations")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var c Config
			dec := yaml.NewDecoder(bytes.NewReader(b))
			dec.KnownFields(true)
			if err := dec.Decode(&c); err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for _, err := range c.Check("reports") {
				got.WriteString(err.Error() + "\n")
			}
			env := map[string]string{"SMTP_PASSWORD": "pw", "HOOK_SECRET": "s3cret"}
			for _, err := range c.ResolveSecrets("reports", func(k string) string { return env[k] }, os.ReadFile) {
				got.WriteString(err.Error() + "\n")
			}
			want := strings.TrimSuffix(path, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(want, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			w, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test -run TestConfigCheck -update after checking the output)", err)
			}
			if got.String() != string(w) {
				t.Errorf("problems of %s:\n%s\nwant:\n%s", path, got.String(), w)
			}
		})
	}
}

// TestScheduleSpecs: a bare TZ= (which crashes robfig/cron), zones in the
// spec and non-wall-clock specs are refused at start-up; good specs pass.
func TestScheduleSpecs(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for _, spec := range []string{"TZ=", "CRON_TZ=", "TZ=UTC 0 6 * * *", "cron_tz=UTC * * * * *", "", "  ", "* * * *", "0 0 6 * * *", "@every 5m", "@reboot", "61 * * * *", "0 6 30 2 *", "x y z a b"} {
		if _, err := parseSchedule(spec, loc, now); err == nil {
			t.Errorf("schedule %q accepted", spec)
		}
	}
	for _, spec := range []string{"0 6 * * *", "0 6 1 1,4,7,10 *", "*/15 8-18 * * 1-5", "@daily", "@monthly", "30 2 * * 0"} {
		if _, err := parseSchedule(spec, loc, now); err != nil {
			t.Errorf("schedule %q: %v", spec, err)
		}
	}
}

func TestFileName(t *testing.T) {
	at := time.Date(2026, 10, 1, 6, 5, 0, 0, time.UTC)
	got, err := fileName(DefaultFileName, "qbr", "2026-Q3", "xlsx", at)
	if err != nil || got != "qbr-2026-Q3-2026-10-01.xlsx" {
		t.Errorf("default template: %q, %v", got, err)
	}
	if got, _ := fileName("{name}_{time}.csv", "a", "p", "csv", at); got != "a_0605.csv" {
		t.Errorf("time: %q", got)
	}
	for _, tmpl := range []string{"../{name}.xlsx", "/etc/{name}", "{name}/{period}.xlsx", "..", ".{name}"} {
		if got, err := fileName(tmpl, "qbr", "2026-Q3", "xlsx", at); err == nil {
			t.Errorf("template %q gave %q", tmpl, got)
		}
	}
}

// TestPeriodFor: each period rule at a few instants, in the reporting
// zone.
func TestPeriodFor(t *testing.T) {
	e, err := metrics.New(nil, metrics.Config{TimeZone: "Europe/Berlin"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	berlin := e.Location()
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, c := range []struct {
		rule, at, name, from, to string
	}{
		{PreviousQuarter, "2026-10-01 06:00", "2026-Q3", "2026-07-01 00:00", "2026-10-01 00:00"},
		{PreviousQuarter, "2026-01-01 00:00", "2025-Q4", "2025-10-01 00:00", "2026-01-01 00:00"},
		{PreviousQuarter, "2026-09-30 23:59", "2026-Q2", "2026-04-01 00:00", "2026-07-01 00:00"},
		{PreviousMonth, "2026-03-01 06:00", "2026-02", "2026-02-01 00:00", "2026-03-01 00:00"},
		{PreviousWeek, "2026-10-05 06:00", "2026-W40", "2026-09-28 00:00", "2026-10-05 00:00"},
		{MonthToDate, "2026-09-15 06:00", "", "2026-09-01 00:00", "2026-09-15 06:00"},
		{MonthToDate, "2026-09-01 00:00", "2026-08", "2026-08-01 00:00", "2026-09-01 00:00"},
		{QuarterToDate, "2026-08-15 12:30", "", "2026-07-01 00:00", "2026-08-15 12:30"},
	} {
		p, err := PeriodFor(e, c.rule, at(c.at))
		if err != nil {
			t.Errorf("%s at %s: %v", c.rule, c.at, err)
			continue
		}
		if (c.name != "" && p.Name != c.name) || !p.From.Equal(at(c.from)) || !p.To.Equal(at(c.to)) {
			t.Errorf("%s at %s: %s [%s, %s), want %s [%s, %s)", c.rule, c.at, p.Name, p.From.In(berlin), p.To.In(berlin), c.name, c.from, c.to)
		}
	}
	if p, _ := PeriodFor(e, MonthToDate, at("2026-09-15 06:00")); periodLabel(p) != "2026-09-01_to_2026-09-15" {
		t.Errorf("range label %q", periodLabel(p))
	}
}

// TestLatestSlot: the catch-up finds the latest missed slot only.
func TestLatestSlot(t *testing.T) {
	c, err := parseSchedule("0 6 * * *", time.UTC, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	day := func(d, h int) time.Time { return time.Date(2026, 10, d, h, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		after, now time.Time
		want       time.Time
	}{
		{day(1, 6), day(1, 7), time.Time{}}, // nothing missed
		{day(1, 6), day(2, 5), time.Time{}}, // next slot not due yet
		{day(1, 6), day(2, 6), day(2, 6)},   // due now
		{day(1, 6), day(5, 9), day(5, 6)},   // several missed: the latest only
		{day(1, 6).AddDate(-2, 0, 0), day(5, 9), day(5, 6)},
	} {
		got, ok := latestSlot(c, tc.after, tc.now)
		if ok != !tc.want.IsZero() || !got.Equal(tc.want) {
			t.Errorf("after %s, now %s: %s %v, want %s", tc.after, tc.now, got, ok, tc.want)
		}
	}
	m, _ := parseSchedule("0 6 1 1,4,7,10 *", time.UTC, time.Now())
	if got, ok := latestSlot(m, day(1, 6).AddDate(-1, 0, 0), day(20, 0)); !ok || !got.Equal(day(1, 6)) {
		t.Errorf("quarterly after a year away: %s %v", got, ok)
	}
}

// TestWallCron: schedules on the wall clock across daylight-saving
// changes, including a half-hour change (Lord Howe Island).
func TestWallCron(t *testing.T) {
	for _, c := range []struct {
		zone, spec, from string
		want             []string
	}{
		{"America/New_York", "30 2 * * *", "2026-03-07T12:00:00-05:00", []string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"}},
		{"Europe/Berlin", "0 * * * *", "2026-10-25T01:30:00+02:00", []string{"2026-10-25T02:00:00+02:00", "2026-10-25T03:00:00+01:00", "2026-10-25T04:00:00+01:00"}},
		{"Europe/Berlin", "15 2 * * *", "2026-03-28T12:00:00+01:00", []string{"2026-03-29T03:00:00+02:00", "2026-03-30T02:15:00+02:00", "2026-03-31T02:15:00+02:00"}},
		{"Australia/Lord_Howe", "15 2 * * *", "2026-10-03T12:00:00+10:30", []string{"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00", "2026-10-06T02:15:00+11:00"}},
		{"Australia/Lord_Howe", "45 1 * * *", "2026-04-04T12:00:00+11:00", []string{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30", "2026-04-07T01:45:00+10:30"}},
		{"UTC", "0 6 1 1,4,7,10 *", "2026-09-30T00:00:00Z", []string{"2026-10-01T06:00:00Z", "2027-01-01T06:00:00Z", "2027-04-01T06:00:00Z"}},
	} {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		from, _ := time.Parse(time.RFC3339, c.from)
		cr, err := parseSchedule(c.spec, loc, from)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for at := from; len(got) < len(c.want); {
			at = cr.Next(at)
			got = append(got, at.In(loc).Format(time.RFC3339))
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s %q from %s:\n got %v\nwant %v", c.zone, c.spec, c.from, got, c.want)
		}
	}
}
