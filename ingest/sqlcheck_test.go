package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

// TestIngestSQLRunsEverywhere runs every statement of queries/ingest, bound
// with values of the types ingest passes, on 18.16 (chtest) and, with
// SECMETRICS_CHDB_CHECK set (CI), on current ClickHouse, as
// metrics.TestSQLRunsEverywhere does for the KPI statements. (The .columns
// files are batch column lists: the batches run on 18.16 in every ingest
// test.)
func TestIngestSQLRunsEverywhere(t *testing.T) {
	db := chtest.New(t)
	ctx := context.Background()
	at := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	id := uuid.MustParse("0b6f5c7e-3f41-4f7a-9a59-0d1e2c3b4a59")
	ids := []string{id.String(), "7d7c1a53-2f0e-4f36-8d6c-55c3c8f0a111"}
	statements := []struct {
		file string
		args []any
	}{
		{"alerts.sql", []any{"pagerduty"}},
		{"alerts_by_id.sql", []any{"pagerduty", []string{"P1", "P2"}}},
		{"assets_current.sql", nil},
		{"assets_known.sql", []any{[]string{"github.com/acme/api", "registry.acme.io/acme/web"}}},
		{"duplicate_scan.sql", []any{"9f86d081884c7d65", "github.com/acme/api", "semgrep", "main", at}},
		{"finding_latest.sql", []any{id}},
		{"fix_absent.sql", []any{uint64(1763712000000000000), at, at.Add(time.Minute), "github.com/acme/api", "trivy", []string{"sca", "container"}, id}},
		{"interval_events.sql", []any{ids}},
		{"interval_events_all.sql", []any{uint64(4), uint64(1)}},
		{"intervals_current.sql", []any{ids}},
		{"raw.sql", []any{"jira", "issue", "jira", "issue"}},
		{"scope_scans.sql", []any{at, "github.com/acme/api", "semgrep"}},
		{"scope_state.sql", []any{"github.com/acme/api", "semgrep"}},
		{"state.sql", []any{"jira"}},
		{"states.sql", nil},
	}
	var sqls []string
	for _, st := range statements {
		sql := chtest.Bind(queries.SQL("ingest/"+st.file), st.args)
		if err := db.Exec(ctx, sql); err != nil {
			t.Fatalf("%s on 18.16: %v", st.file, err)
		}
		sqls = append(sqls, sql)
	}
	chtest.CheckCurrent(t, sqls)
}
