package ingest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/queries"
)

const dayS = 86400

// ev is an IntervalEvent at day d (seconds since 2026-01-01).
func ev(d int, typ, sev, status uint8) ingest.IntervalEvent {
	return ingest.IntervalEvent{At: uint32(1767225600 + d*dayS), Type: typ, Severity: sev, Status: status}
}

func TestBuildIntervals(t *testing.T) {
	at := func(d int) uint32 { return uint32(1767225600 + d*dayS) }
	f := ingest.IntervalFinding{ID: uuid.New(), Asset: "a", Scanner: "s", Kind: "sast", Events: []ingest.IntervalEvent{
		// Given out of order: sorted by (time, type).
		ev(30, 2, 4, 0),  // fixed again, high
		ev(-5, 5, 3, 2),  // a status before any detection: no row of its own
		ev(0, 1, 3, 0),   // detected, medium
		ev(10, 2, 3, 0),  // fixed
		ev(10, 2, 5, 0),  // a second fix record of the same instant: the higher severity counts
		ev(20, 3, 3, 0),  // reopened 10 days after the fix (within 60)
		ev(25, 4, 4, 0),  // severity raised
		ev(100, 3, 4, 0), // reopened 70 days after the second fix (outside 60)
	}}
	got := ingest.BuildIntervals(f)
	type row struct {
		From, To, FirstSeen, LCTime, LastReopen uint32
		LC, Sev, Status                         uint8
		FixTimes, FixReopens                    []uint32
		FixSevs, FixReopened                    []uint8
	}
	var rows []row
	for _, iv := range got {
		rows = append(rows, row{iv.From, iv.To, iv.FirstSeen, iv.LCTime, iv.LastReopen, iv.LC, iv.Severity, iv.Status,
			iv.FixTimes, iv.FixReopens, iv.FixSevs, iv.FixReopened})
	}
	open := uint32(4294967295)
	// The status of day −5 is in force until a later event sets another.
	want := []row{
		{From: at(0), To: at(10), FirstSeen: at(0), LCTime: at(0), LC: 1, Sev: 3, Status: 0},
		{From: at(10), To: at(20), FirstSeen: at(0), LCTime: at(10), LC: 2, Sev: 5, Status: 0,
			FixTimes: []uint32{at(10)}, FixReopens: []uint32{0}, FixSevs: []uint8{5}, FixReopened: []uint8{1}},
		{From: at(20), To: at(25), FirstSeen: at(0), LCTime: at(20), LastReopen: at(20), LC: 3, Sev: 3,
			FixTimes: []uint32{at(10)}, FixReopens: []uint32{0}, FixSevs: []uint8{5}, FixReopened: []uint8{1}},
		{From: at(25), To: at(30), FirstSeen: at(0), LCTime: at(20), LastReopen: at(20), LC: 3, Sev: 4,
			FixTimes: []uint32{at(10)}, FixReopens: []uint32{0}, FixSevs: []uint8{5}, FixReopened: []uint8{1}},
		{From: at(30), To: at(100), FirstSeen: at(0), LCTime: at(30), LastReopen: at(20), LC: 2, Sev: 4,
			FixTimes: []uint32{at(10), at(30)}, FixReopens: []uint32{0, at(20)}, FixSevs: []uint8{5, 4}, FixReopened: []uint8{1, 0}},
		{From: at(100), To: open, FirstSeen: at(0), LCTime: at(100), LastReopen: at(100), LC: 3, Sev: 4,
			FixTimes: []uint32{at(10), at(30)}, FixReopens: []uint32{0, at(20)}, FixSevs: []uint8{5, 4}, FixReopened: []uint8{1, 0}},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Fatalf("intervals (-want +got):\n%s", diff)
	}
	// The hash tells rows apart and is stable.
	if got[0].Hash() == got[1].Hash() || got[0].Hash() != ingest.BuildIntervals(f)[0].Hash() {
		t.Fatal("row hashes are not distinct and stable")
	}
}

func TestBuildIntervalsSameInstant(t *testing.T) {
	// A fix and a reopen at one instant: the reopen wins (type order), and
	// the fix is followed by it (0 s later is within the window only when
	// strictly after: it is not).
	f := ingest.IntervalFinding{ID: uuid.New(), Events: []ingest.IntervalEvent{ev(0, 1, 2, 0), ev(5, 3, 2, 0), ev(5, 2, 2, 0)}}
	got := ingest.BuildIntervals(f)
	if len(got) != 2 || got[1].LC != 3 || got[1].FixReopened[0] != 0 || got[1].LastReopen != got[1].From {
		t.Fatalf("same-instant fix and reopen: %+v", got)
	}
}

// checkIntervals asserts that finding_intervals, as ingest left it, holds
// every row BuildIntervals gives for the stored events exactly once (net of
// signs) and nothing else: the incremental upkeep equals a full rebuild.
func checkIntervals(t *testing.T, s *ingest.Store, db *queries.DB) {
	t.Helper()
	ctx := context.Background()
	type net struct {
		ID   string `ch:"id"`
		From uint32 `ch:"vf"`
		Hash uint64 `ch:"row_hash"`
		W    int64  `ch:"w"`
	}
	read := func() []net {
		var rows []net
		if err := db.Select(ctx, &rows, `SELECT toString(finding_id) AS id, toUInt32(valid_from) AS vf, row_hash, sum(sign) AS w
			FROM finding_intervals GROUP BY finding_id, valid_from, row_hash HAVING w != 0 ORDER BY id, vf, row_hash`); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	got := read()
	if len(got) == 0 {
		t.Fatal("finding_intervals is empty")
	}
	for _, r := range got {
		if r.W != 1 {
			t.Fatalf("finding %s row at %d has net weight %d", r.ID, r.From, r.W)
		}
	}
	if _, err := s.RebuildIntervals(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(read(), got); diff != "" {
		t.Fatalf("finding_intervals kept by ingest (+) differs from a rebuild (-):\n%s", diff)
	}
}

// TestIntervalsFollowTheLifecycle: fixes, a reopen that marks an earlier
// fix as reopened (rows written before it are replaced), a severity change,
// a late report that moves a detection earlier, a status set by a person,
// and a re-applied tracked history all leave finding_intervals equal to a
// rebuild from the events.
func TestIntervalsFollowTheLifecycle(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	a, b, c := vuln("CVE-A", ingest.High), vuln("CVE-B", ingest.Medium), vuln("CVE-C", ingest.Low)
	h.scan(0, "r0", "", a, b)
	h.scan(10, "r10", "", a, c) // B fixed
	checkIntervals(t, h.s, h.db)
	h.scan(20, "r20", "", a, b, c) // B reopened 10 days after its fix
	var flags []struct {
		F []uint8 `ch:"fix_reopened"`
	}
	if err := h.db.Select(ctx, &flags, "SELECT fix_reopened FROM finding_intervals WHERE finding_id = ? AND valid_from = ? GROUP BY fix_reopened, row_hash HAVING sum(sign) > 0",
		ingest.FindingID(h.asset, "trivy", ingest.SCA, "CVE-B"), day(10)); err != nil {
		t.Fatal(err)
	}
	if len(flags) != 1 || !slices.Equal(flags[0].F, []uint8{1}) {
		t.Fatalf("B's row after its fix, once the reopen came: %+v, want one row with fix_reopened [1]", flags)
	}
	a2 := a
	a2.Severity = ingest.Critical
	h.scan(30, "r30", "", a2, b)
	h.scan(5, "r5", "", a, b, c) // late: C now first seen on day 5
	checkIntervals(t, h.s, h.db)
	if err := h.s.SetStatus(ctx, ingest.FindingID(h.asset, "trivy", ingest.SCA, "CVE-A"), ingest.RiskAccepted, day(90), "accepted", "alice", day(31)); err != nil {
		t.Fatal(err)
	}
	sec := vuln("SEC-1", ingest.High)
	sec.Asset = h.asset
	item := ingest.Tracked{Finding: sec, Scanner: "jira",
		History: []ingest.Change{{Time: day(1), Type: ingest.Detected}, {Time: day(4), Type: ingest.Fixed}}}
	for range 2 {
		if _, err := h.s.ApplyTracked(ctx, "jira", []ingest.Tracked{item}); err != nil {
			t.Fatal(err)
		}
	}
	item.History = append(item.History, ingest.Change{Time: day(40), Type: ingest.Reopened})
	if _, err := h.s.ApplyTracked(ctx, "jira", []ingest.Tracked{item}); err != nil {
		t.Fatal(err)
	}
	checkIntervals(t, h.s, h.db)
}

// TestIntervalsOfManyNewFindings: reports with more new findings than the
// writer keeps in memory (their packed events go to a temporary file until
// the flush), new findings of a late report (detected and fixed in one
// write), and known findings fixed in the same writes all leave
// finding_intervals equal to a rebuild from the events.
func TestIntervalsOfManyNewFindings(t *testing.T) {
	h := newHarness(t)
	many := func(prefix string, n int) []ingest.Finding {
		sevs := []ingest.Severity{ingest.Critical, ingest.High, ingest.Medium, ingest.Low}
		fs := make([]ingest.Finding, n)
		for i := range fs {
			fs[i] = vuln(prefix+itoa(i), sevs[i%len(sevs)])
			if i%7 == 0 {
				fs[i].Suppression = "sarif:inSource"
			}
		}
		return fs
	}
	known := many("K-", 100)
	h.scan(10, "r10", "", known...)
	// 12,000 new findings (about 350 KB packed) and half the known ones:
	// the other half are fixed.
	sum := h.scan(20, "r20", "", append(many("N-", 12_000), known[:50]...)...)
	wantSummary(t, sum, 12_050, 12_000, 50, 0, 50)
	// A late report: its 12,000 unknown findings are detected on day 5 and
	// fixed by the next scan (day 10).
	sum = h.scan(5, "r5", "", append(many("L-", 12_000), known...)...)
	wantSummary(t, sum, 12_100, 12_000, 0, 0, 100)
	checkIntervals(t, h.s, h.db)
}

// TestIntervalsOfATrackedFindingGivenTwice: one new finding given twice in
// one pull, with two histories, gets the rows of all its events once.
func TestIntervalsOfATrackedFindingGivenTwice(t *testing.T) {
	h := newHarness(t)
	sec := vuln("SEC-2", ingest.High)
	sec.Asset = h.asset
	short := ingest.Tracked{Finding: sec, Scanner: "jira", History: []ingest.Change{{Time: day(1), Type: ingest.Detected}}}
	long := short
	long.History = append(slices.Clone(short.History), ingest.Change{Time: day(4), Type: ingest.Fixed}, ingest.Change{Time: day(9), Type: ingest.Reopened})
	other := vuln("SEC-3", ingest.Low)
	other.Asset = h.asset
	if _, err := h.s.ApplyTracked(context.Background(), "jira", []ingest.Tracked{short,
		{Finding: other, Scanner: "jira", History: short.History}, long}); err != nil {
		t.Fatal(err)
	}
	checkIntervals(t, h.s, h.db)
}
