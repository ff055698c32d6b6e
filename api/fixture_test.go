package api

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/sarif"
)

// result is one SARIF result of a test report.
type result struct {
	rule, level, file, fp string
	line                  int
}

// sarifReport builds a Semgrep SARIF 2.1.0 log.
func sarifReport(results ...result) []byte {
	type m = map[string]any
	var rs []any
	rules := map[string]bool{}
	var ruleList []any
	for _, r := range results {
		rs = append(rs, m{
			"ruleId": r.rule, "level": r.level, "message": m{"text": "finding " + r.rule},
			"locations":    []any{m{"physicalLocation": m{"artifactLocation": m{"uri": r.file}, "region": m{"startLine": r.line}}}},
			"fingerprints": m{"matchBasedId/v1": r.fp},
		})
		if !rules[r.rule] {
			rules[r.rule] = true
			ruleList = append(ruleList, m{"id": r.rule, "defaultConfiguration": m{"level": r.level}})
		}
	}
	if rs == nil {
		rs = []any{}
	}
	doc := m{"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"runs": []any{m{"tool": m{"driver": m{"name": "Semgrep OSS", "semanticVersion": "1.69.0", "rules": ruleList}}, "results": rs}}}
	b, _ := json.Marshal(doc)
	return b
}

var (
	day = 24 * time.Hour
	t0  = time.Date(2026, 7, 10, 9, 0, 0, 0, time.UTC)
)

// fixture is what loadFixture wrote: findings ids by name.
type fixture struct {
	ids map[string]string // "a1", "a2", "a3", "b1", "b2"
}

// loadFixture writes two teams' data through the ingest store:
//
//	alpha: repo-a (tier 1) with findings a1 (error), a2 (warning, fixed
//	       at t0+31d), a3 (note); alerts ALPHA-1, ALPHA-2; ticket SEC-1
//	beta:  repo-b (tier 2) with findings b1 (error), b2 (warning);
//	       alert BETA-1 (own team) and BETA-2 (team from its asset);
//	       ticket SEC-2
func loadFixture(t testing.TB, e *env) fixture {
	t.Helper()
	ctx := context.Background()
	if _, err := e.store.ImportInventory(ctx, "csv", []ingest.Asset{
		{Name: "repo-a", Team: "alpha", BusinessUnit: "payments", Tier: 1, Kind: "repository", Active: true},
		{Name: "repo-b", Team: "beta", BusinessUnit: "search", Tier: 2, Kind: "repository", Active: true},
	}, t0.Add(-30*day)); err != nil {
		t.Fatal(err)
	}
	scan := func(asset string, at time.Time, rs ...result) {
		t.Helper()
		_, err := e.store.IngestScan(ctx, ingest.ScanInput{Name: asset, Parser: sarif.Parser{}, Body: bytes.NewReader(sarifReport(rs...)),
			Asset: asset, Time: at, Branch: "main"})
		if err != nil {
			t.Fatal(err)
		}
	}
	a1 := result{"go.sql-injection", "error", "db.go", "fp-a1", 10}
	a2 := result{"go.weak-hash", "warning", "hash.go", "fp-a2", 20}
	a3 := result{"go.todo", "note", "main.go", "fp-a3", 30}
	b1 := result{"py.eval", "error", "app.py", "fp-b1", 5}
	b2 := result{"py.assert", "warning", "test.py", "fp-b2", 6}
	scan("repo-a", t0, a1, a2, a3)
	scan("repo-a", t0.Add(31*day), a1, a3)
	scan("repo-b", t0.Add(day), b1, b2)
	if err := e.store.SaveAlerts(ctx, []ingest.Alert{
		{Source: "pagerduty:main", ID: "ALPHA-1", RuleID: "r-1", RuleName: "Brute force", Severity: ingest.High, Team: "alpha",
			Created: t0, FirstTriage: t0.Add(10 * time.Minute), Closed: t0.Add(time.Hour), Disposition: ingest.DispositionTruePositive},
		{Source: "pagerduty:main", ID: "ALPHA-2", RuleID: "r-2", RuleName: "=HYPERLINK(\"http://x\",\"y\")", Severity: ingest.Low,
			Team: "alpha", Created: t0.Add(day)},
		{Source: "pagerduty:main", ID: "BETA-1", RuleID: "r-1", RuleName: "Brute force", Severity: ingest.Critical, Team: "beta",
			Created: t0.Add(2 * day), Closed: t0.Add(3 * day), Disposition: ingest.DispositionFalsePositive},
		{Source: "pagerduty:main", ID: "BETA-2", RuleID: "r-3", RuleName: "Exfiltration", Severity: ingest.Medium, Asset: "repo-b",
			Created: t0.Add(3 * day)},
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SaveTickets(ctx, []ingest.Ticket{
		{Source: "jira:cloud", Key: "SEC-1", Project: "SEC", IssueType: "Bug", Kind: ingest.TicketKind("security_debt"), Summary: "alpha debt",
			Team: "alpha", Severity: ingest.High, Status: "Done", State: ingest.TicketState("done"), Created: t0, Updated: t0.Add(day), Resolved: t0.Add(day)},
		{Source: "jira:cloud", Key: "SEC-2", Project: "SEC", IssueType: "Bug", Kind: ingest.TicketKind("security_debt"), Summary: "beta debt",
			Team: "beta", Severity: ingest.Medium, Status: "Open", State: ingest.TicketState("new"), Created: t0.Add(day), Updated: t0.Add(day)},
	}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Succeeded(ctx, "jira:cloud", "jira", t0, 2); err != nil {
		t.Fatal(err)
	}
	f := fixture{ids: map[string]string{}}
	for name, spec := range map[string]struct {
		asset string
		r     result
	}{"a1": {"repo-a", a1}, "a2": {"repo-a", a2}, "a3": {"repo-a", a3}, "b1": {"repo-b", b1}, "b2": {"repo-b", b2}} {
		f.ids[name] = findingID(t, e, spec.asset, spec.r.fp)
	}
	return f
}

// findingID looks a finding up by asset and fingerprint.
func findingID(t testing.TB, e *env, asset, fp string) string {
	t.Helper()
	var rows []struct {
		ID string `ch:"id"`
	}
	if err := e.db.Select(context.Background(), &rows, "SELECT DISTINCT toString(finding_id) AS id FROM findings WHERE asset = ? AND fingerprint = ?", asset, fp); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("finding %s/%s: %d rows", asset, fp, len(rows))
	}
	return rows[0].ID
}
