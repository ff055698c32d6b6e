package chtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/secmetrics/secmetrics/queries"
)

// Selecter is the query side of *queries.DB that Recorder wraps.
type Selecter interface {
	Select(ctx context.Context, dest any, query string, args ...any) error
}

// Recorder runs statements on a real database and keeps each with its
// named values bound as literals, so that a test can run the same
// statements on current ClickHouse (CheckCurrent).
// It is safe for concurrent use (the metrics engine runs statements side
// by side); read SQL once the statements are done.
type Recorder struct {
	DB  Selecter
	SQL []string
	mu  sync.Mutex
}

// Select records the bound statement and runs it on r.DB.
func (r *Recorder) Select(ctx context.Context, dest any, query string, args ...any) error {
	r.mu.Lock()
	r.SQL = append(r.SQL, Bind(query, args))
	r.mu.Unlock()
	return r.DB.Select(ctx, dest, query, args...)
}

// Bind substitutes named arguments (clickhouse.Named) and, in order, the
// positional ones (each ? outside comments and string literals) as SQL
// literals. For tests only: the service always binds through the driver.
func Bind(q string, args []any) string {
	named := map[string]string{}
	var positional []string
	for _, a := range args {
		if nv, ok := a.(driver.NamedValue); ok {
			named[nv.Name] = literal(reflect.ValueOf(nv.Value))
		} else {
			positional = append(positional, literal(reflect.ValueOf(a)))
		}
	}
	var b strings.Builder
	inComment, inString := false, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		if inComment {
			b.WriteByte(c)
			if c == '\n' {
				inComment = false
			}
			continue
		}
		if inString {
			b.WriteByte(c)
			if c == '\\' && i+1 < len(q) {
				i++
				b.WriteByte(q[i])
			} else if c == '\'' {
				inString = false
			}
			continue
		}
		if c == '-' && i+1 < len(q) && q[i+1] == '-' {
			inComment = true
			b.WriteByte(c)
			continue
		}
		if c == '\'' {
			inString = true
			b.WriteByte(c)
			continue
		}
		if c == '?' && len(positional) > 0 {
			b.WriteString(positional[0])
			positional = positional[1:]
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
	switch x := v.Interface().(type) {
	case time.Time:
		return fmt.Sprintf("toDateTime('%s', 'UTC')", x.UTC().Format("2006-01-02 15:04:05"))
	case fmt.Stringer: // uuid.UUID
		if v.Kind() == reflect.Array && v.Len() == 16 {
			return "toUUID('" + x.String() + "')"
		}
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

// CheckCurrent writes the single-server schema and sqls to a directory
// ($SECMETRICS_SQL_DUMP, or a temporary one) and, when
// SECMETRICS_CHDB_CHECK is set (CI sets it), runs them all on the current
// ClickHouse engine with ../shared/tools/chdb-check, failing t on any error.
// Without either variable it does nothing.
func CheckCurrent(t testing.TB, sqls []string) {
	t.Helper()
	check := os.Getenv("SECMETRICS_CHDB_CHECK") != ""
	dir := os.Getenv("SECMETRICS_SQL_DUMP")
	if dir == "" {
		if !check {
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
	for i, s := range sqls {
		f := filepath.Join(dir, fmt.Sprintf("q%03d.sql", i))
		if err := os.WriteFile(f, []byte(s+";\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if !check {
		return
	}
	tool, err := sharedTool("tools/chdb-check")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, files...).CombinedOutput()
	t.Logf("chdb-check: %s", out)
	if err != nil {
		t.Fatalf("chdb-check failed: %v", err)
	}
}

// sharedTool finds a file of the shared/ folder beside the checkout,
// searching upwards from the working directory ($SECMETRICS_SHARED wins).
func sharedTool(rel string) (string, error) {
	if d := os.Getenv("SECMETRICS_SHARED"); d != "" {
		return filepath.Join(d, rel), nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "..", "shared", rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no shared/%s beside the checkout (set SECMETRICS_SHARED)", rel)
		}
		dir = parent
	}
}
