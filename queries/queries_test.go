package queries_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

func schemaOf(t *testing.T, db *queries.DB) string {
	t.Helper()
	var rows []struct {
		Name  string `ch:"name"`
		Query string `ch:"create_table_query"`
	}
	// create_table_query is not on 18.16's system.tables; read columns instead.
	var cols []struct {
		Table string `ch:"table"`
		Name  string `ch:"name"`
		Type  string `ch:"type"`
	}
	_ = rows
	if err := db.Select(context.Background(), &cols,
		"SELECT table, name, type FROM system.columns WHERE database = ? ORDER BY table, name", db.Database()); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range cols {
		b.WriteString(c.Table + "." + c.Name + " " + c.Type + "\n")
	}
	return b.String()
}

func TestMigrateTwiceAndConcurrently(t *testing.T) {
	db, cfg := chtest.NewWithConfig(t, nil)
	ctx := context.Background()
	before := schemaOf(t, db)
	if !strings.Contains(before, "finding_events.event_type Enum8") {
		t.Fatalf("schema lacks finding_events.event_type:\n%s", before)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if after := schemaOf(t, db); after != before {
		t.Fatalf("schema changed by a second migrate")
	}

	// Two migrators at once on a fresh database.
	cfg2 := cfg
	cfg2.Database = cfg.Database + "_c"
	var wg sync.WaitGroup
	errs := make([]error, 2)
	dbs := make([]*queries.DB, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := queries.Open(ctx, cfg2, slog.New(slog.DiscardHandler))
			if err != nil {
				errs[i] = err
				return
			}
			dbs[i] = d
			errs[i] = d.Migrate(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrator %d: %v", i, err)
		}
	}
	t.Cleanup(func() { _ = db.Exec(ctx, "DROP DATABASE IF EXISTS "+cfg2.Database); dbs[0].Close(); dbs[1].Close() })
	got := strings.ReplaceAll(schemaOf(t, dbs[0]), cfg2.Database, cfg.Database)
	if got != before {
		t.Fatalf("concurrent migrate gave a different schema")
	}
	pending, err := dbs[1].Pending(ctx)
	if err != nil || len(pending) != 0 {
		t.Fatalf("pending after migrate = %v, %v", pending, err)
	}
	var versions uint64
	if err := dbs[0].QueryRow(ctx, "SELECT uniqExact(version) FROM schema_migrations", nil, &versions); err != nil {
		t.Fatal(err)
	}
	ms, _ := queries.Migrations("x", "")
	if int(versions) != len(ms) {
		t.Fatalf("recorded %d versions, have %d migrations", versions, len(ms))
	}
}

func TestClusterRendering(t *testing.T) {
	ms, err := queries.Migrations("secmetrics", "prod")
	if err != nil {
		t.Fatal(err)
	}
	var all string
	for _, m := range ms {
		all += strings.Join(m.Statements, ";\n") + ";\n"
	}
	for _, want := range []string{
		"CREATE TABLE IF NOT EXISTS findings_local ON CLUSTER prod",
		"ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/secmetrics/findings_local', '{replica}', version)",
		"CREATE TABLE IF NOT EXISTS findings ON CLUSTER prod AS findings_local ENGINE = Distributed(prod, secmetrics, findings_local, cityHash64(asset))",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("cluster schema lacks %q", want)
		}
	}
	single, _ := queries.Migrations("secmetrics", "")
	for _, m := range single {
		for _, s := range m.Statements {
			if strings.Contains(s, "_local") || strings.Contains(s, "Replicated") || strings.Contains(s, "{{") {
				t.Errorf("single-server statement has cluster text: %s", s[:min(80, len(s))])
			}
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := queries.Defaults()
	cfg.Addr = []string{"127.0.0.1:1"}
	cfg.DialTimeout = time.Second
	_, err := queries.Open(ctx, cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "connect to clickhouse at 127.0.0.1:1") {
		t.Fatalf("Open on a closed port: %v", err)
	}
	cfg.Database = "bad-name; DROP"
	if _, err := queries.Open(ctx, cfg, nil); err == nil || !strings.Contains(err.Error(), "invalid database name") {
		t.Fatalf("Open with a bad database name: %v", err)
	}
}

func TestCleanServerError(t *testing.T) {
	db := chtest.New(t)
	err := db.Exec(context.Background(), "SELECT * FROM no_such_table")
	var qe *queries.Error
	if err == nil || !strings.HasPrefix(err.Error(), "clickhouse error 60") || strings.Contains(err.Error(), "Stack trace") {
		t.Fatalf("error = %v", err)
	}
	if !errorsAs(err, &qe) || qe.Code != 60 {
		t.Fatalf("not a *queries.Error with code 60: %#v", err)
	}
}

func TestSplit(t *testing.T) {
	got := queries.Split("-- c\nSELECT 1;\n\nSELECT ';'\n  , 2;\nSELECT 3")
	want := []string{"SELECT 1", "SELECT ';'\n  , 2", "SELECT 3"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Split = %q", got)
	}
}
