package reports

import (
	"context"
	"embed"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/secmetrics/secmetrics/queries"
)

// Run is one attempt of an export, as recorded in export_runs and listed
// by GET /api/v1/exports/runs.
type Run struct {
	ID           string     `json:"id"`
	Export       string     `json:"export"`
	ScheduledFor time.Time  `json:"scheduled_for"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at"` // nil while running
	// Duration is FinishedAt − StartedAt in seconds (0 while running).
	Duration float64 `json:"duration_seconds"`
	Status   string  `json:"status"` // running, ok or failed
	Attempt  int     `json:"attempt"`
	Period   string  `json:"period"`
	// Destination lists the destinations the file reached, comma-separated
	// (directory, email, webhook).
	Destination string `json:"destination"`
	File        string `json:"file"`
	Size        uint64 `json:"size"`
	Error       string `json:"error,omitempty"`
}

// The run statuses.
const (
	RunRunning = "running"
	RunOK      = "ok"
	RunFailed  = "failed"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

func sqlText(name string) string {
	b, err := sqlFiles.ReadFile("sql/" + name)
	if err != nil {
		panic("reports: no SQL file " + name)
	}
	return string(b)
}

const runColumns = "run_id, export, scheduled_for, started_at, finished_at, status, attempt, period, destination, file, size, error, version"

// runStore writes and reads export_runs.
type runStore struct {
	db *queries.DB
	mu sync.Mutex
	v  uint64 // the last row version written
}

// version is a strictly increasing row version from the wall clock (not
// the scheduler's clock, which tests stop): a run's end replaces its start.
func (s *runStore) version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := uint64(time.Now().UnixNano())
	if v <= s.v {
		v = s.v + 1
	}
	s.v = v
	return v
}

func (s *runStore) save(ctx context.Context, r Run) error {
	id, err := uuid.Parse(r.ID)
	if err != nil {
		return fmt.Errorf("run id: %w", err)
	}
	ctx, cancel := s.db.Context(ctx)
	defer cancel()
	b, err := s.db.Conn().PrepareBatch(ctx, "INSERT INTO export_runs ("+runColumns+")")
	if err != nil {
		return fmt.Errorf("record run: %w", queries.Clean(err))
	}
	var finished *time.Time
	if r.FinishedAt != nil {
		f := r.FinishedAt.UTC()
		finished = &f
	}
	if err := b.Append(id, r.Export, r.ScheduledFor.UTC(), r.StartedAt.UTC(), finished, r.Status, uint8(r.Attempt),
		r.Period, r.Destination, r.File, r.Size, r.Error, s.version()); err != nil {
		_ = b.Abort()
		return fmt.Errorf("record run: %w", queries.Clean(err))
	}
	if b.Rows() != 1 {
		_ = b.Abort()
		return fmt.Errorf("record run: batch holds %d rows", b.Rows())
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record run: %w", queries.Clean(err))
	}
	return nil
}

func (s *runStore) list(ctx context.Context, limit int) ([]Run, error) {
	var rows []struct {
		ID           string     `ch:"run_id"`
		Export       string     `ch:"export"`
		ScheduledFor time.Time  `ch:"scheduled_for"`
		StartedAt    time.Time  `ch:"started_at"`
		FinishedAt   *time.Time `ch:"finished_at"`
		Status       string     `ch:"status"`
		Attempt      uint8      `ch:"attempt"`
		Period       string     `ch:"period"`
		Destination  string     `ch:"destination"`
		File         string     `ch:"file"`
		Size         uint64     `ch:"size"`
		Error        string     `ch:"error"`
	}
	if err := s.db.Select(ctx, &rows, sqlText("export_runs.sql"), clickhouse.Named("limit", uint32(limit))); err != nil {
		return nil, fmt.Errorf("export runs: %w", err)
	}
	out := make([]Run, len(rows))
	for i, r := range rows {
		out[i] = Run{ID: r.ID, Export: r.Export, ScheduledFor: r.ScheduledFor.UTC(), StartedAt: r.StartedAt.UTC(), Status: r.Status,
			Attempt: int(r.Attempt), Period: r.Period, Destination: r.Destination, File: r.File, Size: r.Size, Error: r.Error}
		if r.FinishedAt != nil {
			f := r.FinishedAt.UTC()
			out[i].FinishedAt = &f
			out[i].Duration = f.Sub(out[i].StartedAt).Seconds()
		}
	}
	return out, nil
}

// lastRuns returns, per export, the reference instant of the catch-up: the
// latest scheduled time of a successful run, or just before the first run
// of one that never succeeded.
func (s *runStore) lastRuns(ctx context.Context) (map[string]time.Time, error) {
	var rows []struct {
		Export string    `ch:"export"`
		LastOK time.Time `ch:"last_ok"`
		First  time.Time `ch:"first"`
	}
	if err := s.db.Select(ctx, &rows, sqlText("export_runs_last.sql")); err != nil {
		return nil, fmt.Errorf("last export runs: %w", err)
	}
	out := map[string]time.Time{}
	for _, r := range rows {
		if r.LastOK.Unix() > 0 {
			out[r.Export] = r.LastOK.UTC()
		} else {
			out[r.Export] = r.First.UTC().Add(-time.Second)
		}
	}
	return out, nil
}
