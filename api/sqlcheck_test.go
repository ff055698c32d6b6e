package api

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

	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

var chdbCheck = flag.Bool("chdb", false, "also run every API statement the tests send on current ClickHouse with ../shared/tools/chdb-check")

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

// bindForCheck substitutes named arguments as SQL literals (test use
// only: the server always binds through the driver).
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

// TestSQLRunsEverywhere runs every API statement with filters, cursors
// and a team scope on 18.16 (chtest) and, with -chdb, the same bound
// statements on current ClickHouse.
func TestSQLRunsEverywhere(t *testing.T) {
	e := newEnv(t, nil)
	f := loadFixture(t, e)
	rec := &recorder{db: e.db}
	e.srv.db = rec
	all := e.token("all", []string{"*"}, Admin)
	alpha := e.token("alpha", []string{"alpha"}, ReadFindings, ReadKPIs)
	paths := []string{
		"/api/v1/findings?limit=1&sort=-severity&team=alpha&state=open&status=none&kind=sast&overdue=true&kev=false&cve=CVE-1&rule=r&tier=1&severity=high&business_unit=payments&asset=repo-a&source=semgrep",
		"/api/v1/findings?limit=1&sort=epss", "/api/v1/findings?limit=1&sort=due", "/api/v1/findings/" + f.ids["a1"],
		"/api/v1/alerts?limit=1&disposition=none&rule=r-1&closed=false&from=2026-01-01&to=2027-01-01&severity=high",
		"/api/v1/alerts?limit=1&sort=severity", "/api/v1/tickets?limit=1&kind=security_debt&state=new&project=SEC",
		"/api/v1/tickets?limit=1&sort=-updated", "/api/v1/assets?limit=1&covered=false&active=true&kind=repository",
		"/api/v1/assets?limit=1&sort=-last_scan", "/api/v1/sources", "/api/v1/audit?limit=1&route=/api/v1/findings&status=200&method=GET",
	}
	for _, p := range paths {
		for _, tok := range []string{all, alpha} {
			r := e.get(p, tok)
			if r.Code != 200 && !(r.Code == 403 && strings.Contains(p, "audit")) {
				t.Fatalf("%s: %d %s", p, r.Code, r.body)
			}
			var page struct {
				Next string `json:"next_cursor"`
			}
			r.json(t, &page)
			if page.Next != "" {
				want(t, e.get(p+"&cursor="+page.Next, tok), 200)
			}
		}
	}
	// The SLA options that add joins to the findings statement.
	e2 := newEnvMetrics(t, chtest.New(t), nil, metrics.Config{SLA: metrics.SLAPolicy{KEVDueDateCap: true, RestartOnReopen: true}})
	f2 := loadFixture(t, e2)
	e2.srv.db = &recorder{db: e2.db}
	tok2 := e2.token("all", []string{"*"}, ReadFindings)
	want(t, e2.get("/api/v1/findings?kev=false&overdue=true&sort=due", tok2), 200)
	want(t, e2.get("/api/v1/findings/"+f2.ids["a1"], tok2), 200)
	rec.sqls = append(rec.sqls, e2.srv.db.(*recorder).sqls...)
	ctx := context.Background()
	var n []struct {
		Asset string `ch:"asset"`
		Team  string `ch:"team"`
	}
	sql := queries.SQL("api/asset_teams.sql")
	if err := rec.Select(ctx, &n, sql, clickhouseNamed("assets", []string{"repo-a"}), clickhouseNamed("now", testNow)); err != nil {
		t.Fatal(err)
	}
	var v []struct {
		Table     string `ch:"table"`
		Partition string `ch:"partition_id"`
		Block     int64  `ch:"block"`
		Rows      uint64 `ch:"rows"`
	}
	if err := rec.Select(ctx, &v, queries.SQL("api/data_version.sql"), clickhouseNamed("tables", kpiTables)); err != nil {
		t.Fatal(err)
	}
	rec.sqls = append(rec.sqls, queries.SQL("api/tokens.sql"))
	dir := os.Getenv("SECMETRICS_SQL_DUMP")
	if dir == "" {
		if !*chdbCheck {
			return
		}
		dir = t.TempDir()
	}
	ms, err := queries.Migrations("secmetrics", "")
	if err != nil {
		t.Fatal(err)
	}
	var schema strings.Builder
	for _, m := range ms {
		for _, st := range m.Statements {
			schema.WriteString(st + ";\n")
		}
	}
	files := []string{filepath.Join(dir, "0000_schema.sql")}
	if err := os.WriteFile(files[0], []byte(schema.String()), 0o600); err != nil {
		t.Fatal(err)
	}
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
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("chdb-check: %v", err)
	}
}
