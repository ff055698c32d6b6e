-- Export runs, newest first (GET /api/v1/exports/runs, secmetrics export
-- runs): the latest version of every run row of export_runs (one row per
-- attempt; a run is written when it starts and again when it ends).
-- Window: none. Parameters: limit UInt32.
-- Output: one row per attempt: run_id, export, scheduled_for, started_at,
-- finished_at (NULL while running), status (running, ok, failed), attempt,
-- period, destination, file, size (bytes), error.
SELECT toString(run_id) AS run_id, export, scheduled_for, started_at, finished_at, status, attempt, period, destination, file, size, error
FROM
(
    SELECT run_id, export, started_at,
        argMax(scheduled_for, version) AS scheduled_for,
        argMax(finished_at, version) AS finished_at,
        argMax(toString(status), version) AS status,
        argMax(attempt, version) AS attempt,
        argMax(period, version) AS period,
        argMax(destination, version) AS destination,
        argMax(file, version) AS file,
        argMax(size, version) AS size,
        argMax(error, version) AS error
    FROM export_runs
    GROUP BY run_id, export, started_at
)
ORDER BY started_at DESC, run_id DESC
LIMIT @limit
