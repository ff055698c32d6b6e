package queries

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"
)

//go:embed schema kpi ingest api demo
var files embed.FS

// SQL returns the embedded statement file name (e.g. "kpi/vuln_mttr.sql").
// It panics if the file is missing: names are constants in the code and a
// missing file is a build defect that tests catch.
func SQL(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("queries: missing embedded SQL " + name)
	}
	return string(b)
}

// Migration is one schema file, queries/schema/NNNN_name.sql.
type Migration struct {
	Version    int
	Name       string
	Checksum   string
	Statements []string // rendered for the configured topology
}

// Migrations returns the embedded migrations in order, rendered for a single
// server (cluster == "") or for a cluster.
func Migrations(database, cluster string) ([]Migration, error) {
	entries, err := fs.ReadDir(files, "schema")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		raw, err := files.ReadFile("schema/" + e.Name())
		if err != nil {
			return nil, err
		}
		stmts, err := render(string(raw), database, cluster)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(raw)
		out = append(out, Migration{Version: v, Name: name, Checksum: hex.EncodeToString(sum[:8]), Statements: stmts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// render expands the topology template of a migration and splits it into
// statements (";" at the end of a line ends a statement; "--" lines are
// comments).
//
// Template functions, so one file serves a single server and a cluster:
//
//	{{table "findings"}}         the table that holds the rows: findings, or findings_local on a cluster
//	{{on_cluster}}               "" or "ON CLUSTER name"
//	{{engine "findings" "ReplacingMergeTree" "version"}}
//	                             ReplacingMergeTree(version), or its Replicated form with a ZooKeeper path
//	{{distributed "findings" "cityHash64(finding_id)"}}
//	                             "" or a statement creating the Distributed table findings over findings_local
func render(text, database, cluster string) ([]string, error) {
	funcs := template.FuncMap{
		"table": func(name string) string {
			if cluster == "" {
				return name
			}
			return name + "_local"
		},
		"on_cluster": func() string {
			if cluster == "" {
				return ""
			}
			return "ON CLUSTER " + cluster
		},
		"engine": func(table, engine string, args ...string) string {
			if cluster == "" {
				return engine + "(" + strings.Join(args, ", ") + ")"
			}
			zk := fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s_local'", database, table)
			return "Replicated" + engine + "(" + strings.Join(append([]string{zk, "'{replica}'"}, args...), ", ") + ")"
		},
		"distributed": func(table, shardKey string) string {
			if cluster == "" {
				return ""
			}
			return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s ON CLUSTER %s AS %s_local ENGINE = Distributed(%s, %s, %s_local, %s);",
				table, cluster, table, cluster, database, table, shardKey)
		},
	}
	tmpl, err := template.New("m").Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, nil); err != nil {
		return nil, err
	}
	return Split(buf.String()), nil
}

// Split splits SQL text into statements: a statement ends with ";" at the
// end of a line; lines starting with "--" are dropped.
func Split(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trim := strings.TrimSpace(line)
		if trim == "" || strings.HasPrefix(trim, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trim, ";") {
			stmt := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			if stmt != "" {
				out = append(out, stmt)
			}
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations %s (
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime('UTC')
) ENGINE = %s ORDER BY version`

// Migrate applies every migration not yet recorded, in order, and records
// each. It is safe to run twice and from two processes at once: every
// statement is idempotent (CREATE ... IF NOT EXISTS; a migration that alters
// must guard itself), a "table already exists" answer from a concurrent
// creator counts as success, and recording a version twice collapses in the
// ReplacingMergeTree. A migration whose checksum differs from the recorded
// one is reported, not re-run.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := Migrations(db.cfg.Database, db.cfg.Cluster)
	if err != nil {
		return err
	}
	onCluster, engine := "", "ReplacingMergeTree(applied_at)"
	if db.cfg.Cluster != "" {
		onCluster = "ON CLUSTER " + db.cfg.Cluster
		engine = fmt.Sprintf("ReplicatedReplacingMergeTree('/clickhouse/tables/all/%s/schema_migrations', '{replica}', applied_at)", db.cfg.Database)
	}
	if err := db.exec(ctx, fmt.Sprintf(migrationsTable, onCluster, engine)); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := db.applied(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if sum, ok := applied[m.Version]; ok {
			if sum != m.Checksum {
				db.log.Warn("migration changed after it was applied", "version", m.Version, "name", m.Name)
			}
			continue
		}
		for i, stmt := range m.Statements {
			if err := db.exec(ctx, stmt); err != nil {
				return fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		if err := db.record(ctx, m); err != nil {
			return err
		}
		db.log.Info("migration applied", "version", m.Version, "name", m.Name)
	}
	return nil
}

func (db *DB) exec(ctx context.Context, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// Schema statements are idempotent (IF NOT EXISTS): a broken pooled
	// connection is retried like any idempotent statement.
	err := Retry(ctx, func() error { return db.conn.Exec(ctx, stmt) })
	if IsCode(err, codeTableExists) || IsCode(err, codeDatabaseExists) {
		return nil // a concurrent migrator created it first
	}
	return Clean(err)
}

func (db *DB) applied(ctx context.Context) (map[int]string, error) {
	var rows []struct {
		Version  uint32 `ch:"version"`
		Checksum string `ch:"checksum"`
	}
	if err := db.Select(ctx, &rows, "SELECT version, argMax(checksum, applied_at) AS checksum FROM schema_migrations GROUP BY version"); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	out := make(map[int]string, len(rows))
	for _, r := range rows {
		out[int(r.Version)] = r.Checksum
	}
	return out, nil
}

func (db *DB) record(ctx context.Context, m Migration) error {
	ctx, cancel := db.Context(ctx)
	defer cancel()
	b, err := db.conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, checksum, applied_at)")
	if err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, Clean(err))
	}
	if err := b.Append(uint32(m.Version), m.Name, m.Checksum, time.Now().UTC()); err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, Clean(err))
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, Clean(err))
	}
	return nil
}

// Pending returns the versions of migrations not yet applied, for readiness
// checks.
func (db *DB) Pending(ctx context.Context) ([]int, error) {
	ms, err := Migrations(db.cfg.Database, db.cfg.Cluster)
	if err != nil {
		return nil, err
	}
	applied, err := db.applied(ctx)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, m := range ms {
		if _, ok := applied[m.Version]; !ok {
			out = append(out, m.Version)
		}
	}
	return out, nil
}
