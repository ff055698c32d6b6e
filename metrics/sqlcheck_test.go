package metrics

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

var chdbCheck = flag.Bool("chdb", false, "also run every KPI statement on current ClickHouse with ../shared/tools/chdb-check")

// recorder runs statements on the real database and keeps each one with
// its values bound, for the check on current ClickHouse.
type recorder struct {
	db   selecter
	sqls []string
}

func (r *recorder) Select(ctx context.Context, dest any, query string, args ...any) error {
	r.sqls = append(r.sqls, bindForCheck(query, args))
	return r.db.Select(ctx, dest, query, args...)
}

// bindForCheck substitutes named arguments as SQL literals (test use only:
// the engine always binds through the driver).
func bindForCheck(q string, args []any) string {
	named := map[string]string{}
	for _, a := range args {
		if nv, ok := a.(driver.NamedValue); ok {
			named[nv.Name] = literal(reflect.ValueOf(nv.Value))
		}
	}
	var b strings.Builder
	inComment := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		if inComment {
			b.WriteByte(c)
			if c == '\n' {
				inComment = false
			}
			continue
		}
		if c == '-' && i+1 < len(q) && q[i+1] == '-' {
			inComment = true
			b.WriteByte(c)
			continue
		}
		if c == '@' {
			j := i + 1
			for j < len(q) && (q[j] == '_' || q[j] >= 'a' && q[j] <= 'z' || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			if v, ok := named[q[i+1:j]]; ok {
				b.WriteString(v)
				i = j - 1
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func literal(v reflect.Value) string {
	if t, ok := v.Interface().(time.Time); ok {
		return fmt.Sprintf("toDateTime('%s', 'UTC')", t.UTC().Format("2006-01-02 15:04:05"))
	}
	switch v.Kind() {
	case reflect.String:
		return "'" + strings.ReplaceAll(strings.ReplaceAll(v.String(), `\`, `\\`), "'", `\'`) + "'"
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = literal(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// TestSQLRunsEverywhere runs the whole scorecard and every list on 18.16
// (chtest) and, with -chdb, the same bound statements on current
// ClickHouse.
func TestSQLRunsEverywhere(t *testing.T) {
	db := chtest.New(t)
	e, err := New(db, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{db: db}
	e.db = rec
	p, _ := e.ParsePeriod("2026-Q3")
	ctx := context.Background()
	for _, gb := range []string{"", "team"} {
		if _, err := e.Scorecard(ctx, ScorecardQuery{Period: p, GroupBy: gb, Scope: Scope{Teams: []string{"payments"}}}); err != nil {
			t.Fatalf("scorecard by %q: %v", gb, err)
		}
	}
	// A trend (more periods in the per-period loops) with the reopen-restart
	// SQL variant.
	er, err := New(db, Config{SLA: SLAPolicy{RestartOnReopen: true, KEVDueDateCap: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	er.db = rec
	for _, k := range []string{"vuln_mttr", "exploitable_backlog", "scan_coverage", "detection_precision"} {
		if _, err := er.Compute(ctx, Query{KPI: k, Period: p, Compare: true, Trend: 4, GroupBy: "tier"}); err != nil {
			t.Fatalf("%s trend: %v", k, err)
		}
	}
	lq := ListQuery{Period: p, Limit: 10}
	if _, err := e.OverdueFindings(ctx, lq); err != nil {
		t.Fatal(err)
	}
	if _, err := e.OverdueTeams(ctx, lq); err != nil {
		t.Fatal(err)
	}
	if _, err := e.UncoveredAssets(ctx, lq); err != nil {
		t.Fatal(err)
	}
	if _, err := e.NoisiestRules(ctx, lq); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ExploitableFindings(ctx, lq); err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("SECMETRICS_SQL_DUMP") // keep the bound statements for study
	if dir == "" {
		if !*chdbCheck {
			return
		}
		dir = t.TempDir()
	}
	schema := filepath.Join(dir, "0000_schema.sql")
	if err := os.WriteFile(schema, []byte(schemaForCheck(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	files := []string{schema}
	for i, s := range rec.sqls {
		f := filepath.Join(dir, fmt.Sprintf("q%03d.sql", i))
		if err := os.WriteFile(f, []byte(s+";\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if !*chdbCheck {
		return
	}
	out, err := exec.Command("../../shared/tools/chdb-check", files...).CombinedOutput()
	t.Logf("chdb-check: %s", out)
	if err != nil {
		t.Fatalf("chdb-check failed: %v", err)
	}
}

// schemaForCheck is the single-server schema, for the chDB session.
func schemaForCheck(t *testing.T) string {
	ms, err := queries.Migrations("secmetrics", "")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, m := range ms {
		for _, s := range m.Statements {
			b.WriteString(s + ";\n")
		}
	}
	return b.String()
}
