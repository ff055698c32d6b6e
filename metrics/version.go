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

// valueTables are the tables KPI values are computed from (and their
// _local shards in a cluster): a write to any of them changes the version
// that keys precomputed scorecards. ingest_state is not one: it only
// feeds freshness, which is evaluated at each request, and pollers write
// it on every run even when nothing changed.
var valueTables = []string{"findings", "finding_events", "finding_intervals", "assets", "scan_runs", "kev", "epss", "tickets",
	"ticket_transitions", "worklogs", "alerts"}

// ReadDataVersion returns the data version of the tables KPI answers read,
// freshness (ingest_state) included: a short hash of the highest insert
// block number of every partition (kpi/data_version.sql). It changes with
// every insert, truncation or dropped partition, and not when ClickHouse
// merges parts. The API keys its response cache with it.
func ReadDataVersion(ctx context.Context, db interface {
	Select(ctx context.Context, dest any, query string, args ...any) error
}) (string, error) {
	return readVersion(ctx, db, append(slices.Clone(valueTables), "ingest_state"))
}

func readVersion(ctx context.Context, db selecter, tables []string) (string, error) {
	var rows []struct {
		Table     string `ch:"table"`
		Partition string `ch:"partition_id"`
		Block     int64  `ch:"block"`
	}
	for _, t := range slices.Clone(tables) {
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

// DataVersion returns the version of the data KPI values are computed from
// (ReadDataVersion without ingest_state), reading it at most once a
// second. It keys the precomputed scorecards.
func (e *Engine) DataVersion(ctx context.Context) (string, error) {
	c := &e.version
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < versionReuse {
		return c.v, nil
	}
	v, err := readVersion(ctx, e.db, slices.Clone(valueTables))
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
