package ingest

import (
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// TestFreshLogRoundTrip: what a freshLog gives back is what was added, in
// memory and past its in-memory limit (in a temporary file, removed by
// reset).
func TestFreshLogRoundTrip(t *testing.T) {
	at := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	var evs [][]event
	for i := range 50 {
		id := uuid.New()
		e := event{id: id, at: at.Add(time.Duration(i) * time.Hour), typ: Detected, sev: Severities[i%len(Severities)],
			asset: "a", scanner: "trivy", kind: SCA}
		switch i % 5 {
		case 1:
			e.asset, e.kind = "b", Container // a second scope
		case 2:
			e.status, e.until = RiskAccepted, time.Unix(openEnded, 0)
		}
		f := []event{e}
		for j := range i % 4 { // up to three more events
			e.at, e.typ, e.status, e.until = e.at.Add(time.Duration(j+1)*time.Minute), Fixed, FalsePositive, time.Time{}
			f = append(f, e)
		}
		evs = append(evs, f)
	}
	for _, max := range []int{freshInMemory, 64} {
		l := &freshLog{max: max}
		t.Cleanup(l.reset) // a failed test leaves no file behind
		want := []IntervalFinding{}
		for _, f := range evs {
			if err := l.add(f); err != nil {
				t.Fatal(err)
			}
			w := IntervalFinding{ID: f[0].id, Asset: f[0].asset, Scanner: f[0].scanner, Kind: string(f[0].kind)}
			for _, e := range f {
				w.Events = append(w.Events, intervalEvent(e))
			}
			want = append(want, w)
		}
		if err := l.add(nil); err != nil {
			t.Fatal(err)
		}
		if err := l.add([]event{evs[0][0], evs[1][0]}); err == nil {
			t.Fatal("events of two findings were added as one")
		}
		if spilled := l.file != nil; spilled != (max == 64) {
			t.Fatalf("max %d: in a file: %v", max, spilled)
		}
		for range 2 { // each may be called again
			got := []IntervalFinding{}
			if err := l.each(func(f IntervalFinding) error {
				f.Events = append([]IntervalEvent(nil), f.Events...) // each reuses the slice
				got = append(got, f)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("max %d: findings (-added +read):\n%s", max, diff)
			}
		}
		if l.file != nil {
			name := l.file.Name()
			l.reset()
			if _, err := os.Stat(name); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("after reset, the file: %v", err)
			}
		}
		l.reset()
		if l.n != 0 || l.max != max {
			t.Fatalf("after reset: n %d, max %d", l.n, l.max)
		}
	}
}
