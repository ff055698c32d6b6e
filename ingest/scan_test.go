package ingest_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

// fakeParser emits a fixed report; failAt > 0 makes it fail after that
// many findings, like a truncated file.
type fakeParser struct {
	scan     ingest.Scan
	findings []ingest.Finding
	failAt   int
}

func (p fakeParser) Parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error) (ingest.Scan, error) {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return ingest.Scan{}, err
	}
	for i, f := range p.findings {
		if p.failAt > 0 && i == p.failAt {
			return ingest.Scan{}, &ingest.FormatError{Format: "fake", Path: "results[1]", Msg: "unexpected end of input"}
		}
		if err := emit(f); err != nil {
			return ingest.Scan{}, err
		}
	}
	return p.scan, nil
}

func vuln(key string, sev ingest.Severity) ingest.Finding {
	return ingest.Finding{Key: key, Kind: ingest.SCA, RuleID: key, Severity: sev, CVE: key}
}

var t0 = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

func day(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }

type harness struct {
	t     *testing.T
	s     *ingest.Store
	db    *queries.DB
	asset string
}

func newHarness(t *testing.T) *harness {
	db := chtest.New(t)
	s := ingest.NewStore(db, nil)
	s.Now = func() time.Time { return day(400) }
	return &harness{t: t, s: s, db: db, asset: "github.com/acme/api"}
}

// scan ingests a report of the given keys (body distinguishes reports for
// duplicate detection) at day d.
func (h *harness) scan(d int, body string, branch string, fs ...ingest.Finding) ingest.Summary {
	h.t.Helper()
	sum, err := h.s.IngestScan(context.Background(), ingest.ScanInput{
		Name: "report.json", Body: strings.NewReader(body), Branch: branch,
		Parser: fakeParser{scan: ingest.Scan{Format: "fake", Scanner: "Trivy", Asset: h.asset, Kinds: []ingest.Kind{ingest.SCA}, Time: day(d)}, findings: fs},
	})
	if err != nil {
		h.t.Fatalf("scan day %d: %v", d, err)
	}
	return sum
}

type evRow struct {
	Key  string    `ch:"fingerprint"`
	Type string    `ch:"event_type"`
	At   time.Time `ch:"event_time"`
	Sev  string    `ch:"severity"`
	Stat string    `ch:"status"`
}

func (h *harness) events() []string {
	h.t.Helper()
	var rows []evRow
	err := h.db.Select(context.Background(), &rows, `
		SELECT f.fingerprint AS fingerprint, toString(e.event_type) AS event_type, e.event_time AS event_time,
		       toString(e.severity) AS severity, toString(e.status) AS status
		FROM (SELECT DISTINCT finding_id, event_type, event_time, severity, status FROM finding_events) AS e
		ANY LEFT JOIN (SELECT finding_id, any(fingerprint) AS fingerprint FROM findings GROUP BY finding_id) AS f USING finding_id
		ORDER BY fingerprint, event_time, event_type`)
	if err != nil {
		h.t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Key + " " + r.Type + " d" + itoa(int(r.At.Sub(t0).Hours()/24)) + " " + r.Sev + " " + r.Stat
	}
	return out
}

func (h *harness) states() map[string]string {
	h.t.Helper()
	var rows []struct {
		Key   string    `ch:"fingerprint"`
		State string    `ch:"state"`
		First time.Time `ch:"first_seen"`
	}
	if err := h.db.Select(context.Background(), &rows, `
		SELECT fingerprint, toString(argMax(state, version)) AS state, min(first_seen) AS first_seen
		FROM findings GROUP BY fingerprint ORDER BY fingerprint`); err != nil {
		h.t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.Key] = r.State + " first d" + itoa(int(r.First.Sub(t0).Hours()/24))
	}
	return out
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}

func wantSummary(t *testing.T, got ingest.Summary, n, newN, fixed, reopened, unchanged int) {
	t.Helper()
	if got.Findings != n || got.New != newN || got.Fixed != fixed || got.Reopened != reopened || got.Unchanged != unchanged {
		t.Fatalf("summary = findings %d new %d fixed %d reopened %d unchanged %d; want %d %d %d %d %d",
			got.Findings, got.New, got.Fixed, got.Reopened, got.Unchanged, n, newN, fixed, reopened, unchanged)
	}
}

func TestLifecycleFixReopenDuplicate(t *testing.T) {
	h := newHarness(t)
	a, b, c := vuln("CVE-A", ingest.High), vuln("CVE-B", ingest.Medium), vuln("CVE-C", ingest.Low)

	wantSummary(t, h.scan(0, "r0", "", a, b), 2, 2, 0, 0, 0)
	wantSummary(t, h.scan(10, "r10", "", a, c), 2, 1, 1, 0, 1) // B fixed, C new
	// The same report again: nothing changes.
	dup := h.scan(10, "r10", "", a, c)
	if !dup.Duplicate {
		t.Fatalf("second upload of the same report not flagged duplicate: %+v", dup)
	}
	wantSummary(t, dup, 2, 0, 0, 0, 2)
	wantSummary(t, h.scan(20, "r20", "", a, b, c), 3, 0, 0, 1, 2) // B reopened
	// A's severity rises; C disappears.
	a2 := a
	a2.Severity = ingest.Critical
	wantSummary(t, h.scan(30, "r30", "", a2, b), 2, 0, 1, 0, 2)

	want := []string{
		"CVE-A detected d0 high none",
		"CVE-A severity_changed d30 critical none",
		"CVE-B detected d0 medium none",
		"CVE-B fixed d10 medium none",
		"CVE-B reopened d20 medium none",
		"CVE-C detected d10 low none",
		"CVE-C fixed d30 low none",
	}
	if diff := cmp.Diff(want, h.events()); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	wantStates := map[string]string{"CVE-A": "open first d0", "CVE-B": "open first d0", "CVE-C": "fixed first d10"}
	if diff := cmp.Diff(wantStates, h.states()); diff != "" {
		t.Fatalf("states (-want +got):\n%s", diff)
	}
}

// TestSameBytesLaterIsANewScan: a byte-identical report at a later scan
// time (a clean scan repeated weekly) is applied, not taken for a
// duplicate, so the fix it carries is recorded.
func TestSameBytesLaterIsANewScan(t *testing.T) {
	h := newHarness(t)
	h.scan(0, "r0", "", vuln("CVE-A", ingest.High))
	wantSummary(t, h.scan(7, "[]", ""), 0, 0, 1, 0, 0)
	h.scan(10, "r10", "", vuln("CVE-A", ingest.High)) // reopened
	again := h.scan(14, "[]", "")
	if again.Duplicate {
		t.Fatal("the same empty report a week later was taken for a duplicate")
	}
	wantSummary(t, again, 0, 0, 1, 0, 0)
	if got := h.states()["CVE-A"]; got != "fixed first d0" {
		t.Fatalf("CVE-A = %s, want fixed first d0", got)
	}
}

func TestLifecycleZeroFindingScanFixesAndCounts(t *testing.T) {
	h := newHarness(t)
	h.scan(0, "r0", "", vuln("CVE-A", ingest.High))
	wantSummary(t, h.scan(5, "empty", ""), 0, 0, 1, 0, 0)
	var runs []struct {
		Findings uint32 `ch:"findings"`
		Fixed    uint32 `ch:"fixed"`
	}
	if err := h.db.Select(context.Background(), &runs, "SELECT findings, fixed FROM scan_runs ORDER BY scan_time"); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[1].Findings != 0 || runs[1].Fixed != 1 {
		t.Fatalf("scan runs = %+v; want the zero-finding scan recorded with 1 fix", runs)
	}
}

func TestLifecycleLateReport(t *testing.T) {
	h := newHarness(t)
	a, b, c := vuln("CVE-A", ingest.High), vuln("CVE-B", ingest.High), vuln("CVE-C", ingest.High)
	h.scan(10, "r10", "", a)
	h.scan(20, "r20", "", a, b)
	// A report from day 5 arrives late. It must not fix B (absent from it)
	// nor touch A's state; it moves A's first_seen to day 5 (A was first
	// seen by the very next scan), and C, unknown, existed on day 5 and was
	// gone by the next scan (day 10).
	late := h.scan(5, "r5", "", a, c)
	if !late.Late {
		t.Fatalf("late report not flagged: %+v", late)
	}
	wantSummary(t, late, 2, 1, 0, 0, 1)
	want := map[string]string{"CVE-A": "open first d5", "CVE-B": "open first d20", "CVE-C": "fixed first d5"}
	if diff := cmp.Diff(want, h.states()); diff != "" {
		t.Fatalf("states (-want +got):\n%s", diff)
	}
	wantEv := []string{
		"CVE-A detected d5 high none",
		"CVE-A detected d10 high none",
		"CVE-B detected d20 high none",
		"CVE-C detected d5 high none",
		"CVE-C fixed d10 high none",
	}
	if diff := cmp.Diff(wantEv, h.events()); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	// A late report from day 15 with B: the next scan after it (day 20)
	// first saw B, so B's first_seen moves to day 15.
	h.scan(15, "r15", "", a, b)
	if got := h.states()["CVE-B"]; got != "open first d15" {
		t.Fatalf("B after a late report on day 15 = %s, want open first d15", got)
	}
	// A late report from day 12 with C: C was fixed on day 10 and the scans
	// in between did not report it, so nothing changes for C.
	h.scan(12, "r12", "", a, c)
	if got := h.states()["CVE-C"]; got != "fixed first d5" {
		t.Fatalf("C after a late report on day 12 = %s, want fixed first d5", got)
	}
}

func TestLifecycleBranches(t *testing.T) {
	h := newHarness(t)
	h.s.Branches = []string{"main"}
	a := vuln("CVE-A", ingest.High)
	h.scan(0, "main0", "main", a)
	// A feature branch without A is recorded but fixes nothing.
	feat := h.scan(1, "feat1", "feature/x")
	if feat.Counted || feat.Fixed != 0 {
		t.Fatalf("feature-branch scan = %+v; want uncounted, no fix", feat)
	}
	// The same weakness reported on main again is the same finding.
	wantSummary(t, h.scan(2, "main2", "main", a), 1, 0, 0, 0, 1)
	if got := h.states(); len(got) != 1 || got["CVE-A"] != "open first d0" {
		t.Fatalf("states = %v", got)
	}
	var rows []struct {
		Counts uint8 `ch:"counts"`
	}
	if err := h.db.Select(context.Background(), &rows, "SELECT counts FROM scan_runs ORDER BY scan_time"); err != nil {
		t.Fatal(err)
	}
	var counted []uint8
	for _, r := range rows {
		counted = append(counted, r.Counts)
	}
	if diff := cmp.Diff([]uint8{1, 0, 1}, counted); diff != "" {
		t.Fatalf("scan_runs.counts (-want +got):\n%s", diff)
	}
}

func TestMalformedReportWritesNothing(t *testing.T) {
	h := newHarness(t)
	_, err := h.s.IngestScan(context.Background(), ingest.ScanInput{
		Name: "broken.json", Body: strings.NewReader("x"),
		Parser: fakeParser{scan: ingest.Scan{Scanner: "trivy", Asset: h.asset, Kinds: []ingest.Kind{ingest.SCA}, Time: day(0)},
			findings: []ingest.Finding{vuln("CVE-A", ingest.High), vuln("CVE-B", ingest.High)}, failAt: 1},
	})
	var fe *ingest.FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "broken.json: fake: results[1]: unexpected end of input") {
		t.Fatalf("error = %v", err)
	}
	for _, table := range []string{"findings", "finding_events", "scan_runs", "assets"} {
		var n uint64
		if err := h.db.QueryRow(context.Background(), "SELECT count() FROM "+table, nil, &n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s has %d rows after a rejected report", table, n)
		}
	}
}

func TestSuppressionAndHumanTriage(t *testing.T) {
	h := newHarness(t)
	a := vuln("CVE-A", ingest.High)
	b := vuln("CVE-B", ingest.High)
	b.Suppression, b.StatusReason = "sarif:external", "accepted by AppSec"
	h.scan(0, "r0", "", a, b)
	// A person marks A false positive (as the API does): a later report
	// without a suppression must not reopen that decision.
	if err := h.s.SetStatus(context.Background(), ingest.FindingID(h.asset, "trivy", ingest.SCA, "CVE-A"), ingest.FalsePositive, time.Time{}, "not reachable", "alice-token", day(1)); err != nil {
		t.Fatal(err)
	}
	// B's suppression disappears from the report: the report-set status is cleared.
	h.scan(2, "r2", "", a, vuln("CVE-B", ingest.High))
	want := []string{
		"CVE-A detected d0 high none",
		"CVE-A status_changed d1 high false_positive",
		"CVE-B detected d0 high risk_accepted",
		"CVE-B status_changed d2 high none",
	}
	if diff := cmp.Diff(want, h.events()); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
}

func TestApplyTracked(t *testing.T) {
	h := newHarness(t)
	item := ingest.Tracked{
		Finding: ingest.Finding{Key: "SEC-7", Kind: ingest.SAST, Severity: ingest.Medium, Asset: h.asset, Title: "XSS in search"},
		Scanner: "jira",
		History: []ingest.Change{
			{Time: day(0), Type: ingest.Detected},
			{Time: day(3), Type: ingest.SeverityChanged, Severity: ingest.Critical},
			{Time: day(9), Type: ingest.Fixed},
			{Time: day(12), Type: ingest.Reopened},
		},
	}
	sum, err := h.s.ApplyTracked(context.Background(), "jira", []ingest.Tracked{item})
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, sum, 1, 1, 0, 0, 0)
	// Pulling the same history again, then an extended one.
	if _, err := h.s.ApplyTracked(context.Background(), "jira", []ingest.Tracked{item}); err != nil {
		t.Fatal(err)
	}
	item.History = append(item.History, ingest.Change{Time: day(20), Type: ingest.Fixed})
	sum, err = h.s.ApplyTracked(context.Background(), "jira", []ingest.Tracked{item})
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, sum, 1, 0, 1, 0, 0)
	want := []string{
		"SEC-7 detected d0 medium none",
		"SEC-7 severity_changed d3 critical none",
		"SEC-7 fixed d9 critical none",
		"SEC-7 reopened d12 critical none",
		"SEC-7 fixed d20 critical none",
	}
	if diff := cmp.Diff(want, h.events()); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	if _, err := h.s.ApplyTracked(context.Background(), "jira", []ingest.Tracked{{Finding: item.Finding, Scanner: "jira",
		History: []ingest.Change{{Time: day(1), Type: ingest.Fixed}}}}); err == nil {
		t.Fatal("a history that does not start with a detection was accepted")
	}
}

func TestFindingIDStable(t *testing.T) {
	a := ingest.FindingID("ghcr.io/acme/api", "trivy", ingest.Container, "CVE-2024-1|openssl")
	if a != ingest.FindingID("ghcr.io/acme/api", "trivy", ingest.Container, "CVE-2024-1|openssl") {
		t.Fatal("FindingID not deterministic")
	}
	if a == ingest.FindingID("ghcr.io/acme/api", "grype", ingest.Container, "CVE-2024-1|openssl") {
		t.Fatal("FindingID ignores the scanner")
	}
	if a.Version() != 8 || a.Variant() != uuid.RFC4122 {
		t.Fatalf("FindingID %s: version %d variant %v, want 8 and RFC 4122", a, a.Version(), a.Variant())
	}
}

// TestConcurrentIngestsSmallPool: many ingests at once over a small
// connection pool all succeed (writers are bounded by the pool size instead
// of starving each other of connections).
func TestConcurrentIngestsSmallPool(t *testing.T) {
	db, _ := chtest.NewWithConfig(t, func(c *queries.Config) { c.MaxOpenConns = 3 })
	s := ingest.NewStore(db, nil)
	s.Now = func() time.Time { return day(400) }
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			fs := []ingest.Finding{vuln("CVE-A", ingest.High), vuln("CVE-B", ingest.Low)}
			_, err := s.IngestScan(context.Background(), ingest.ScanInput{
				Name: "r.json", Body: strings.NewReader("r"),
				Parser: fakeParser{scan: ingest.Scan{Scanner: "trivy", Asset: "asset-" + itoa(i), Kinds: []ingest.Kind{ingest.SCA}, Time: day(i)}, findings: fs},
			})
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var n uint64
	if err := db.QueryRow(context.Background(), "SELECT uniqExact(finding_id) FROM findings", nil, &n); err != nil || n != 16 {
		t.Fatalf("findings = %d, %v; want 16", n, err)
	}
}
