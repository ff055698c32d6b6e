package metrics_test

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

// The generator writes synthetic data straight into the tables with
// INSERT ... SELECT FROM numbers(), so millions of rows load in seconds.
// Scale: @n findings (about 1.8 events each), n/5 alerts, n/50 tickets,
// n/20 worklogs, n/100 assets with 8 scan runs each; two years of history
// ending 2026-10-01.
var benchData = []string{
	`INSERT INTO assets (asset, valid_from, team, business_unit, tier, asset_kind, active, in_inventory, imported_at)
	SELECT concat('asset-', toString(number)), toDateTime('2024-01-01 00:00:00', 'UTC'),
		concat('team-', toString(number % 20)), concat('bu-', toString(number % 4)), toUInt8(number % 5),
		['repository', 'image', 'service'][number % 3 + 1], toUInt8(number % 17 != 0), 1, now()
	FROM numbers(@assets)`,
	`INSERT INTO finding_events (finding_id, event_time, event_type, severity, status, status_until, asset, scanner, kind, source, actor, reason, recorded_at)
	SELECT id, ev.1, ev.2, sev, if(n % 50 = 0, 'risk_accepted', if(n % 67 = 0, 'false_positive', 'none')), toDateTime(0), asset,
		['semgrep', 'trivy', 'gitleaks'][n % 3 + 1], ['sast', 'sca', 'secret'][n % 3 + 1], 'scan', '', '', now()
	FROM
	(
		SELECT number AS n,
			toUUID(concat('00000000-0000-4000-8000-', substring(hex(bitOr(toUInt64(number), toUInt64(1152921504606846976))), 5, 12))) AS id,
			toDateTime('2024-10-01 00:00:00', 'UTC') + intHash32(number) % 63072000 AS det,
			det + intHash32(number + 1) % 17280000 AS fix,
			['low', 'medium', 'high', 'critical', 'info'][number % 5 + 1] AS sev,
			concat('asset-', toString(intHash32(number + 2) % @assets)) AS asset,
			arrayJoin(arrayFilter(x -> x.1 > toDateTime(0) AND x.1 < toDateTime('2026-10-01 00:00:00', 'UTC'), [
				(det, 'detected'),
				(if(number % 10 < 7, fix, toDateTime(0)), 'fixed'),
				(if(number % 10 = 0, fix + 864000, toDateTime(0)), 'reopened'),
				(if(number % 10 = 1, det + 86400, toDateTime(0)), 'severity_changed')])) AS ev
		FROM numbers(@n)
	)`,
	`INSERT INTO alerts (source, alert_id, rule_id, rule_name, severity, created, first_triage, closed, disposition, team, asset, version)
	SELECT 'pd', toString(number), concat('r', toString(number % 300)), concat('rule ', toString(number % 300)),
		['low', 'medium', 'high', 'critical'][number % 4 + 1], c,
		if(number % 20 = 0, NULL, c + intHash32(number) % 7200), if(number % 10 = 0, NULL, c + 86400),
		['true_positive', 'benign_positive', 'false_positive', 'duplicate', 'undetermined', 'none'][number % 6 + 1],
		if(number % 3 = 0, '', concat('team-', toString(number % 20))), concat('asset-', toString(number % @assets)), 1
	FROM (SELECT number, toDateTime('2024-10-01 00:00:00', 'UTC') + intHash32(number) % 63072000 AS c FROM numbers(@alerts))`,
	`INSERT INTO tickets (source, ticket_key, kind, team, severity, created, resolved, contained_at, incident_type, labels, asset, version)
	SELECT 'jira', concat('SEC-', toString(number)), ['incident', 'design_review', 'threat_model', 'customer_escalation', 'security_debt', 'toil', 'other'][number % 7 + 1],
		concat('team-', toString(number % 20)), 'high', c, if(number % 4 = 0, NULL, c + intHash32(number) % 2592000),
		if(number % 7 = 0, c + intHash32(number + 1) % 86400, NULL), ['phishing', 'malware', ''][number % 3 + 1],
		if(number % 11 = 0, ['alert-triage'], emptyArrayString()), concat('asset-', toString(number % @assets)), 1
	FROM (SELECT number, toDateTime('2024-10-01 00:00:00', 'UTC') + intHash32(number) % 63072000 AS c FROM numbers(@tickets))`,
	`INSERT INTO worklogs (source, worklog_id, ticket_key, author, started, seconds, version)
	SELECT 'jira', toString(number), concat('SEC-', toString(number % @tickets)), concat('user', toString(number % 30)),
		toDateTime('2024-10-01 00:00:00', 'UTC') + intHash32(number) % 63072000, 600 + intHash32(number + 1) % 14400, 1
	FROM numbers(@worklogs)`,
	`INSERT INTO scan_runs (scan_id, asset, scanner, kinds, scan_time, counts, status, ingested_at)
	SELECT generateUUIDv4(), concat('asset-', toString(number % @assets)), 'semgrep', [['sast', 'sca'], ['sast'], ['sca']][number % 3 + 1],
		toDateTime('2026-06-01 00:00:00', 'UTC') + intHash32(number) % 10540800, 1, 'ok', now()
	FROM numbers(@scans)`,
	`INSERT INTO ingest_state (source, source_type, last_attempt, last_success, version)
	SELECT s, t, now(), now(), 1 FROM (SELECT arrayJoin([('jira', 'jira'), ('pd', 'pagerduty'), ('inv', 'inventory'), ('kev', 'kev'), ('epss', 'epss')]) AS x, x.1 AS s, x.2 AS t)`,
}

func generate(b *testing.B, db *queries.DB, n int) {
	b.Helper()
	ctx := context.Background()
	assets := max(n/100, 10)
	args := []any{
		clickhouse.Named("n", uint64(n)),
		clickhouse.Named("assets", uint64(assets)),
		clickhouse.Named("alerts", uint64(n/5)),
		clickhouse.Named("tickets", uint64(max(n/50, 10))),
		clickhouse.Named("worklogs", uint64(n/20)),
		clickhouse.Named("scans", uint64(assets*8)),
	}
	start := time.Now()
	for _, q := range benchData {
		if err := db.Exec(ctx, q, args...); err != nil {
			b.Fatalf("generate: %v\n%s", err, q)
		}
	}
	var events uint64
	if err := db.QueryRow(ctx, "SELECT count() FROM finding_events", nil, &events); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d findings (%d events), %d alerts, %d tickets in %s", n, events, n/5, max(n/50, 10), time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if _, err := ingest.NewStore(db, nil).RebuildIntervals(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("finding_intervals rebuilt from the events in %s", time.Since(start).Round(time.Millisecond))
}

// BenchmarkScorecard measures the full QBR scorecard (every KPI, current and
// previous quarter, by team) over SECMETRICS_BENCH_FINDINGS findings
// (default 1,000,000). Opt-in: go test ./metrics -run '^$' -bench Scorecard.
func BenchmarkScorecard(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("SECMETRICS_BENCH_FINDINGS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	db, _ := chtest.NewWithConfig(b, func(c *queries.Config) { c.QueryTimeout = 10 * time.Minute })
	generate(b, db, n)
	if err := db.Exec(context.Background(), "OPTIMIZE TABLE finding_events FINAL"); err != nil {
		b.Logf("optimize: %v", err)
	}
	var log *slog.Logger
	if os.Getenv("SECMETRICS_BENCH_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e, err := metrics.New(db, metrics.Config{}, log)
	if err != nil {
		b.Fatal(err)
	}
	p, _ := e.ParsePeriod("2026-Q3")
	ctx := context.Background()
	for _, gb := range []string{"team", ""} {
		b.Run("group_by="+gb, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Scorecard(ctx, metrics.ScorecardQuery{Period: p, GroupBy: gb}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("vuln_mttr_trend8", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.Compute(ctx, metrics.Query{KPI: "vuln_mttr", Period: p, Compare: true, Trend: 8}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
