package metrics

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/secmetrics/secmetrics/queries"
)

// versionTables are the tables KPIs, scorecards and lists read (and their
// _local shards in a cluster): a write to any of them changes the data
// version.
var versionTables = []string{"findings", "finding_events", "finding_intervals", "assets", "scan_runs", "kev", "epss", "tickets",
	"ticket_transitions", "worklogs", "alerts", "ingest_state"}

// ReadDataVersion returns the data version of db: a short hash of the
// highest insert block number of every partition of the tables KPIs read
// (kpi/data_version.sql). It changes with every insert, truncation or
// dropped partition, and not when ClickHouse merges parts.
func ReadDataVersion(ctx context.Context, db interface {
	Select(ctx context.Context, dest any, query string, args ...any) error
}) (string, error) {
	var rows []struct {
		Table     string `ch:"table"`
		Partition string `ch:"partition_id"`
		Block     int64  `ch:"block"`
	}
	tables := slices.Clone(versionTables)
	for _, t := range versionTables {
		tables = append(tables, t+"_local")
	}
	if err := db.Select(ctx, &rows, queries.SQL("kpi/data_version.sql"), clickhouse.Named("tables", tables)); err != nil {
		return "", fmt.Errorf("data version: %w", err)
	}
	h := sha256.New()
	for _, r := range rows {
		fmt.Fprintf(h, "%s\x00%s\x00%d\n", r.Table, r.Partition, r.Block)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12]), nil
}

// versionCache is the engine's data version, read at most once per
// versionReuse (and at once after InvalidateVersion).
type versionCache struct {
	mu sync.Mutex
	at time.Time
	v  string
}

// versionReuse is how long a data version read is reused: a write through
// another process is seen by precomputed scorecards at most this late.
const versionReuse = time.Second

// DataVersion returns the current data version (ReadDataVersion), reading
// it at most once a second.
func (e *Engine) DataVersion(ctx context.Context) (string, error) {
	c := &e.version
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < versionReuse {
		return c.v, nil
	}
	v, err := ReadDataVersion(ctx, e.db)
	if err != nil {
		return "", err
	}
	c.v, c.at = v, time.Now()
	return v, nil
}

// InvalidateVersion makes the next DataVersion read the version again: a
// caller that wrote data (an upload, a triage) calls it so that its next
// request does not get a scorecard precomputed before the write.
func (e *Engine) InvalidateVersion() {
	e.version.mu.Lock()
	e.version.at = time.Time{}
	e.version.mu.Unlock()
}
