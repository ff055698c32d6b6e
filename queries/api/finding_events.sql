-- The event log of one finding, oldest first (GET /api/v1/findings/{id}).
-- Identical events not yet merged (the table is a ReplacingMergeTree on
-- finding, time and type) collapse to the latest recorded one. The caller
-- has already checked that the finding is within the token's scope.
-- Window: all events. Parameters: id String (a UUID).
-- Output: at, type_name, severity_name, status_name, until, scan, actor_name,
-- reason_text.
SELECT
    event_time AS at,
    toString(event_type) AS type_name,
    toString(argMax(severity, recorded_at)) AS severity_name,
    toString(argMax(status, recorded_at)) AS status_name,
    argMax(status_until, recorded_at) AS until,
    toString(argMax(scan_id, recorded_at)) AS scan,
    argMax(actor, recorded_at) AS actor_name,
    argMax(reason, recorded_at) AS reason_text
FROM finding_events
WHERE finding_id = toUUID(@id)
GROUP BY event_time, event_type
ORDER BY event_time, event_type
