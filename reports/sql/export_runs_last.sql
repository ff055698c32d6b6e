-- The reference instants of the catch-up of missed runs at start-up
-- (docs/reports.md, "Missed runs"), per export: the latest scheduled_for
-- of a successful run (manual runs record their start as scheduled_for),
-- and the earliest scheduled_for of any run.
-- Window: none. Parameters: none.
-- Output: export String, last_ok DateTime (0 when never ok), first DateTime.
SELECT export, maxIf(scheduled_for, status = 'ok') AS last_ok, min(scheduled_for) AS first
FROM
(
    SELECT run_id, export, argMax(scheduled_for, version) AS scheduled_for, argMax(toString(status), version) AS status
    FROM export_runs
    GROUP BY run_id, export
)
GROUP BY export
