package main

import (
	"testing"
	"time"
)

func TestLastQuarter(t *testing.T) {
	for _, c := range []struct{ now, want string }{
		{"2026-11-20T09:00:00Z", "2026-Q3"},
		{"2026-10-01T00:00:00Z", "2026-Q3"},
		{"2026-09-30T23:59:59Z", "2026-Q2"},
		{"2026-02-14T12:00:00Z", "2025-Q4"},
		{"2026-01-01T00:00:00Z", "2025-Q4"},
	} {
		now, _ := time.Parse(time.RFC3339, c.now)
		if got := lastQuarter(now); got != c.want {
			t.Errorf("lastQuarter(%s) = %s, want %s", c.now, got, c.want)
		}
	}
}

func TestParseDemoTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"2026-06-30", "2026-06-30T00:00:00Z", true},
		{"2026-06-30T12:00:00+02:00", "2026-06-30T10:00:00Z", true},
		{"30/06/2026", "", false},
	} {
		got, err := parseDemoTime(c.in)
		if (err == nil) != c.ok || c.ok && got.Format(time.RFC3339) != c.want {
			t.Errorf("parseDemoTime(%q) = %v, %v; want %s (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}
