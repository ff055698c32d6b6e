package reports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// Hostile names: they must come out as text everywhere.
const (
	xssTeam     = `</script><script>alert(1)</script>`
	formulaTeam = `+cmd|' /C calc'!A0`
	markerTeam  = `__f__alert(2)__f__`
	formulaRule = `=HYPERLINK("http://x","y")`
)

// fixtureNow is "today" for the fixture: just after 2026-Q3.
var fixtureNow = time.Date(2026, 10, 2, 7, 0, 0, 0, time.UTC)

// fixtureZone is the reporting time zone of the fixture engine.
const fixtureZone = "Europe/Berlin"

// scanParser is an ingest.Parser for a complete scan with no findings: it
// records that the asset was scanned for its kinds.
type scanParser struct{ scan ingest.Scan }

func (p scanParser) Parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error) (ingest.Scan, error) {
	_, err := io.Copy(io.Discard, r)
	return p.scan, err
}

// fixture is a QBR's worth of data over eight quarters (2024-Q4 to
// 2026-Q3), loaded through ingest.Store as the connectors would: an
// inventory, tracked findings with histories, complete scans, KEV and
// EPSS, alerts and Jira tickets with worklogs. It is deterministic.
type fixture struct {
	db     *queries.DB
	engine *metrics.Engine
	teams  []string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db := chtest.New(t)
	ctx := context.Background()
	t0 := time.Now()
	st := ingest.NewStore(db, nil)
	st.Now = func() time.Time { return fixtureNow }
	rng := rand.New(rand.NewPCG(8, 2026))
	teams := []string{"payments", "identity", "search", "platform", xssTeam, formulaTeam, markerTeam}

	// Inventory: repositories per team, tier 1 to 3.
	var assets []ingest.Asset
	for ti, team := range teams {
		n := 5
		if ti >= 4 {
			n = 1
		}
		for i := 0; i < n; i++ {
			assets = append(assets, ingest.Asset{
				Name: fmt.Sprintf("github.com/acme/%s-svc-%d", teamSlug(ti), i+1), Team: team, BusinessUnit: "product",
				Tier: 1 + (i % 3), Kind: "repository", Active: true,
			})
		}
	}
	must(t, func() error {
		_, err := st.ImportInventory(ctx, "backstage", assets, fixtureNow.AddDate(-3, 0, 0))
		return err
	})

	start := time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	days := int(end.Sub(start).Hours() / 24)

	// Findings with their histories (SCA from dependabot, SAST from codeql).
	sevs := []ingest.Severity{ingest.Critical, ingest.Critical, ingest.High, ingest.High, ingest.High, ingest.Medium, ingest.Medium, ingest.Medium, ingest.Low, ingest.Low}
	meanFix := map[ingest.Severity]float64{ingest.Critical: 6, ingest.High: 24, ingest.Medium: 60, ingest.Low: 120}
	var kev []ingest.KEVEntry
	var epss []ingest.EPSSScore
	tracked := make([][]ingest.Tracked, len(assets))
	for ai, a := range assets {
		count := 16 + rng.IntN(12)
		for i := 0; i < count; i++ {
			sev := sevs[rng.IntN(len(sevs))]
			first := start.Add(time.Duration(rng.IntN(days*24)) * time.Hour)
			kind := ingest.SCA
			switch i % 6 {
			case 0, 3:
				kind = ingest.SAST
			case 5:
				kind = ingest.Secret
			}
			cve := fmt.Sprintf("CVE-2025-%05d", ai*100+i)
			f := ingest.Finding{Key: fmt.Sprintf("k-%d", i), Kind: kind, RuleID: cve, Title: "Vulnerable dependency " + cve,
				Severity: sev, CVE: cve, Package: "pkg", InstalledVersion: "1.0.0", Asset: a.Name}
			if rng.IntN(6) == 0 {
				f.EPSS, f.HasEPSS = 0.02+0.3*rng.Float64()*rng.Float64(), true
				epss = append(epss, ingest.EPSSScore{CVE: cve, EPSS: f.EPSS, Percentile: 0.9})
			}
			if rng.IntN(12) == 0 {
				kev = append(kev, ingest.KEVEntry{CVE: cve, DateAdded: first.Add(-24 * time.Hour), DueDate: first.Add(21 * 24 * time.Hour), VendorProject: "acme", Product: "pkg", Name: "test"})
			}
			h := []ingest.Change{{Time: first, Type: ingest.Detected}}
			mean := meanFix[sev]
			if kind == ingest.Secret {
				mean = 1.5
			}
			fixAfter := time.Duration(rng.ExpFloat64()*mean*24+2) * time.Hour
			if fixed := first.Add(fixAfter); rng.IntN(5) != 0 && fixed.Before(fixtureNow) {
				h = append(h, ingest.Change{Time: fixed, Type: ingest.Fixed})
				if rng.IntN(15) == 0 && fixed.Add(10*24*time.Hour).Before(fixtureNow) {
					h = append(h, ingest.Change{Time: fixed.Add(10 * 24 * time.Hour), Type: ingest.Reopened})
				}
			}
			tracked[ai] = append(tracked[ai], ingest.Tracked{Finding: f, Scanner: "github", History: h})
		}
	}
	// One asset at a time, four at once: each asset is its own scope.
	parallel(t, len(assets), func(ai int) error { _, err := st.ApplyTracked(ctx, "github", tracked[ai]); return err })
	must(t, func() error { return st.SaveKEV(ctx, "2026.10.01", kev) })
	must(t, func() error { return st.SaveEPSS(ctx, fixtureNow.Add(-24*time.Hour), "v4", epss) })

	t.Logf("fixture: findings loaded %v", time.Since(t0))
	// Complete scans: most repositories scanned for SAST and SCA in the
	// last weeks of every quarter; a few never, a few only for one kind.
	type scan struct {
		asset string
		kind  ingest.Kind
		at    time.Time
	}
	scans := make([][]scan, len(assets))
	for ai, a := range assets {
		if ai%7 == 3 {
			continue // never scanned
		}
		for q := start; q.Before(end); q = q.AddDate(0, 3, 0) {
			at := q.AddDate(0, 3, 0).Add(-time.Duration(3+rng.IntN(15)) * 24 * time.Hour)
			scans[ai] = append(scans[ai], scan{a.Name, ingest.SCA, at})
			if ai%5 != 2 {
				scans[ai] = append(scans[ai], scan{a.Name, ingest.SAST, at.Add(time.Hour)})
			}
		}
	}
	parallel(t, len(assets), func(ai int) error {
		for _, sc := range scans[ai] {
			scanner := map[ingest.Kind]string{ingest.SCA: "trivy", ingest.SAST: "semgrep"}[sc.kind]
			// A distinct body per scan: identical reports are duplicates.
			body := strings.NewReader(sc.asset + " " + string(sc.kind) + " " + sc.at.Format(time.RFC3339))
			p := scanParser{ingest.Scan{Format: "fake", Scanner: scanner, Kinds: []ingest.Kind{sc.kind}, Time: sc.at, Asset: sc.asset}}
			if _, err := st.IngestScan(ctx, ingest.ScanInput{Name: "scan", Parser: p, Body: body}); err != nil {
				return err
			}
		}
		return nil
	})
	t.Logf("fixture: scans loaded %v", time.Since(t0))
	// Alerts: eight rules, one named like a formula, with dispositions.
	rules := []struct{ id, name string }{
		{"R-001", "Impossible travel"}, {"R-002", "Mass file download"}, {"R-003", "Suspicious PowerShell"},
		{"R-004", "New admin role assigned"}, {"R-005", formulaRule}, {"R-006", "Login from TOR exit node"},
		{"R-007", "Malware detected on endpoint"}, {"R-008", "Public S3 bucket"},
	}
	noise := []int{2, 6, 3, 1, 8, 5, 1, 4} // out of 10: chance of a false or benign positive
	var alerts []ingest.Alert
	for i := 0; i < 1100; i++ {
		ri := rng.IntN(len(rules))
		created := start.Add(time.Duration(rng.IntN(days*24*60)) * time.Minute)
		a := ingest.Alert{Source: "pagerduty:main", ID: fmt.Sprintf("A%05d", i), RuleID: rules[ri].id, RuleName: rules[ri].name,
			Severity: []ingest.Severity{ingest.High, ingest.Medium, ingest.Low, ingest.Critical}[rng.IntN(4)], Created: created,
			Team: teams[rng.IntN(4)], Status: "resolved", Updated: fixtureNow}
		if i%37 == 0 {
			a.Team = xssTeam
		}
		triage := created.Add(time.Duration(3+rng.ExpFloat64()*25) * time.Minute)
		if triage.Before(fixtureNow) {
			a.FirstTriage = triage
		}
		closed := triage.Add(time.Duration(rng.IntN(72)+1) * time.Hour)
		if closed.Before(fixtureNow) && rng.IntN(20) != 0 {
			a.Closed = closed
			switch r := rng.IntN(10); {
			case r < noise[ri]:
				a.Disposition = []ingest.Disposition{ingest.DispositionFalsePositive, ingest.DispositionBenignPositive}[rng.IntN(2)]
			case r == 9:
				a.Disposition = ingest.DispositionUndetermined
			default:
				a.Disposition = ingest.DispositionTruePositive
			}
		}
		alerts = append(alerts, a)
	}
	must(t, func() error { return st.SaveAlerts(ctx, alerts) })

	// Jira tickets and worklogs.
	var tickets []ingest.Ticket
	var worklogs []ingest.Worklog
	kinds := []ingest.TicketKind{ingest.TicketIncident, ingest.TicketToil, ingest.TicketToil, ingest.TicketDesignReview, ingest.TicketCustomerEscalation, ingest.TicketSecurityDebt, ingest.TicketSecurityDebt, ingest.TicketOther, ingest.TicketOther}
	for i := 0; i < 700; i++ {
		kind := kinds[rng.IntN(len(kinds))]
		created := start.Add(time.Duration(rng.IntN(days*24)) * time.Hour)
		tk := ingest.Ticket{Source: "jira:cloud", Key: fmt.Sprintf("SEC-%d", i+1), Project: "SEC", IssueType: "Task", Kind: kind,
			Summary: "ticket", Team: teams[rng.IntN(4)], Severity: ingest.Medium, Status: "Open", StatusCategory: "new",
			State: ingest.StateNew, Created: created, Updated: fixtureNow, IncidentType: "phishing"}
		if resolved := created.Add(time.Duration(4+rng.ExpFloat64()*120) * time.Hour); resolved.Before(fixtureNow) && rng.IntN(6) != 0 {
			tk.Resolved, tk.State, tk.Status, tk.StatusCategory, tk.Resolution = resolved, ingest.StateDone, "Done", "done", "Done"
			if kind == ingest.TicketIncident {
				tk.ContainedAt = created.Add(time.Duration(1+rng.ExpFloat64()*10) * time.Hour)
			}
		}
		tickets = append(tickets, tk)
		for w := 0; w < 1+rng.IntN(3); w++ {
			worklogs = append(worklogs, ingest.Worklog{Source: "jira:cloud", ID: fmt.Sprintf("W%d-%d", i, w), Key: tk.Key, Author: "analyst",
				Started: created.Add(time.Duration(w+1) * time.Hour), Seconds: uint32(1800 * (1 + rng.IntN(8))), Updated: fixtureNow})
		}
	}
	for i, a := range assets {
		if a.Tier != 1 || i%2 == 1 {
			continue
		}
		done := fixtureNow.AddDate(0, -2-i%6, 0)
		tickets = append(tickets, ingest.Ticket{Source: "jira:cloud", Key: fmt.Sprintf("TM-%d", i), Project: "TM", IssueType: "Threat model",
			Kind: ingest.TicketThreatModel, Summary: "threat model", Team: a.Team, Asset: a.Name, Severity: ingest.Medium, Status: "Done",
			StatusCategory: "done", State: ingest.StateDone, Resolution: "Done", Created: done.AddDate(0, 0, -20), Updated: fixtureNow, Resolved: done})
	}
	must(t, func() error { return st.SaveTickets(ctx, tickets, nil, worklogs) })

	for _, src := range []struct{ name, typ string }{{"github", "scan"}, {"backstage", "inventory"}, {"kev", "kev"}, {"epss", "epss"}, {"pagerduty:main", "pagerduty"}, {"jira:cloud", "jira"}} {
		must(t, func() error { return st.Succeeded(ctx, src.name, src.typ, fixtureNow.Add(-3*time.Hour), 1) })
	}

	t.Logf("fixture: loaded %v", time.Since(t0))
	e, err := metrics.New(db, metrics.Config{TimeZone: fixtureZone}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.Now = func() time.Time { return fixtureNow }
	return &fixture{db: db, engine: e, teams: teams}
}

func teamSlug(i int) string {
	return []string{"payments", "identity", "search", "platform", "xss", "formula", "marker"}[i]
}

// parallel runs fn(0..n-1) on four goroutines and fails t on the first
// error.
func parallel(t testing.TB, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	next := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func must(t testing.TB, fn func() error) {
	t.Helper()
	if err := fn(); err != nil {
		t.Fatal(err)
	}
}

// reports returns Reports over the fixture with a fixed clock.
func (fx *fixture) reports() *Reports {
	return New(fx.engine, Options{Version: "v-test", Now: func() time.Time { return fixtureNow }})
}

func (fx *fixture) period(t testing.TB, name string) metrics.Period {
	t.Helper()
	p, err := fx.engine.ParsePeriod(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
