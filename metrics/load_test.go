package metrics_test

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/queries"
)

// Rows are table rows as fixtures write them: column name to a YAML value.
// Columns left out get the column type's zero value; finding_id and scan_id
// may be short names (turned into stable UUIDs, see id).
type Rows map[string][]map[string]any

// fixtureNS is the namespace of the stable UUIDs made from fixture names.
var fixtureNS = uuid.MustParse("6f1c3a52-8a07-4a8e-9c1e-2f0d6c9b7e10")

// id returns the UUID a fixture name stands for (a UUID stays itself).
func id(name string) uuid.UUID {
	if u, err := uuid.Parse(name); err == nil {
		return u
	}
	return uuid.NewSHA1(fixtureNS, []byte(name))
}

// load inserts rows into their tables, converting each value to the
// column's ClickHouse type.
func load(t testing.TB, db *queries.DB, rows Rows) {
	t.Helper()
	ctx := context.Background()
	tables := make([]string, 0, len(rows))
	for tb := range rows {
		tables = append(tables, tb)
	}
	sort.Strings(tables)
	for _, tb := range tables {
		var cols []struct {
			Name string `ch:"name"`
			Type string `ch:"type"`
		}
		if err := db.Select(ctx, &cols, "SELECT name, type FROM system.columns WHERE database = ? AND table = ? ", db.Database(), tb); err != nil {
			t.Fatal(err)
		}
		if len(cols) == 0 {
			t.Fatalf("load: no table %q", tb)
		}
		names := make([]string, len(cols))
		known := map[string]bool{}
		for i, c := range cols {
			names[i] = c.Name
			known[c.Name] = true
		}
		for i, r := range rows[tb] {
			for k := range r {
				if !known[k] {
					t.Fatalf("load %s row %d: unknown column %q", tb, i+1, k)
				}
			}
		}
		b, err := db.Conn().PrepareBatch(ctx, "INSERT INTO "+tb+" ("+strings.Join(names, ", ")+")")
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rows[tb] {
			vals := make([]any, len(cols))
			for j, c := range cols {
				v, err := convert(c.Type, r[c.Name], c.Name)
				if err != nil {
					t.Fatalf("load %s row %d column %s: %v", tb, i+1, c.Name, err)
				}
				vals[j] = v
			}
			if err := b.Append(vals...); err != nil {
				t.Fatalf("load %s row %d: %v", tb, i+1, err)
			}
		}
		if b.Rows() != len(rows[tb]) {
			t.Fatalf("load %s: batch has %d rows, want %d", tb, b.Rows(), len(rows[tb]))
		}
		if err := b.Send(); err != nil {
			t.Fatalf("load %s: %v", tb, err)
		}
	}
	if len(rows["finding_events"]) > 0 {
		// Events inserted directly: derive finding_intervals as a bulk
		// load does.
		if _, err := ingest.NewStore(db, slog.New(slog.DiscardHandler)).RebuildIntervals(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func convert(typ string, v any, col string) (any, error) {
	if strings.HasPrefix(typ, "Nullable(") {
		if v == nil {
			return nil, nil
		}
		inner, err := convert(strings.TrimSuffix(strings.TrimPrefix(typ, "Nullable("), ")"), v, col)
		if err != nil {
			return nil, err
		}
		if tm, ok := inner.(time.Time); ok {
			return &tm, nil
		}
		return inner, nil
	}
	switch {
	case typ == "UUID":
		if v == nil {
			return uuid.Nil, nil
		}
		return id(fmt.Sprint(v)), nil
	case typ == "String" || strings.HasPrefix(typ, "Enum8"):
		if v == nil {
			if strings.HasPrefix(typ, "Enum8") {
				return enumDefault(typ), nil
			}
			return "", nil
		}
		return fmt.Sprint(v), nil
	case strings.HasPrefix(typ, "DateTime") || typ == "Date":
		if v == nil {
			return time.Unix(0, 0).UTC(), nil
		}
		return toTime(v)
	case strings.HasPrefix(typ, "Array("):
		inner := strings.TrimSuffix(strings.TrimPrefix(typ, "Array("), ")")
		if inner != "String" {
			return nil, fmt.Errorf("unsupported array type %s", typ)
		}
		out := []string{}
		if v == nil {
			return out, nil
		}
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("want a list, got %T", v)
		}
		for _, x := range list {
			out = append(out, fmt.Sprint(x))
		}
		return out, nil
	case strings.HasPrefix(typ, "UInt") || strings.HasPrefix(typ, "Int"):
		n := int64(0)
		switch x := v.(type) {
		case nil:
		case int:
			n = int64(x)
		case bool:
			if x {
				n = 1
			}
		case string:
			p, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return nil, err
			}
			n = p
		default:
			return nil, fmt.Errorf("want an integer, got %T", v)
		}
		switch typ {
		case "UInt8":
			return uint8(n), nil
		case "UInt16":
			return uint16(n), nil
		case "UInt32":
			return uint32(n), nil
		case "UInt64":
			return uint64(n), nil
		}
		return nil, fmt.Errorf("unsupported integer type %s", typ)
	case typ == "Float32" || typ == "Float64":
		f := 0.0
		switch x := v.(type) {
		case nil:
		case int:
			f = float64(x)
		case float64:
			f = x
		default:
			return nil, fmt.Errorf("want a number, got %T", v)
		}
		if typ == "Float32" {
			return float32(f), nil
		}
		return f, nil
	}
	return nil, fmt.Errorf("unsupported type %s", typ)
}

// enumDefault is the name of the Enum8 value 0, or of its first value.
func enumDefault(typ string) string {
	body := strings.TrimSuffix(strings.TrimPrefix(typ, "Enum8("), ")")
	first := ""
	for _, part := range strings.Split(body, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(part), " = ")
		name = strings.Trim(name, "'")
		if first == "" {
			first = name
		}
		if strings.TrimSpace(val) == "0" {
			return name
		}
	}
	return first
}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case string:
		for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02"} {
			if tm, err := time.Parse(layout, x); err == nil {
				return tm.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("bad time %q", x)
	}
	return time.Time{}, fmt.Errorf("want a time, got %T", v)
}
