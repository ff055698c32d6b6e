-- The current state of every finding of one scan scope (asset, scanner),
-- latest version per finding. Used by ingest to classify a new report's
-- findings as new, reopened or unchanged and to find the ones it fixes.
-- Parameters: asset (String), scanner (String).
-- Output: finding_id, kind, state, severity, status, status_actor,
-- status_until, first_seen, last_seen, fixed_at, branches.
SELECT
    finding_id,
    toString(argMax(kind, version)) AS kind,
    toString(argMax(state, version)) AS state,
    toString(argMax(severity, version)) AS severity,
    toString(argMax(status, version)) AS status,
    argMax(status_actor, version) AS status_actor,
    argMax(status_until, version) AS status_until,
    min(first_seen) AS first_seen,
    max(last_seen) AS last_seen,
    argMax(fixed_at, version) AS fixed_at,
    argMax(branches, version) AS branches
FROM findings
WHERE asset = ? AND scanner = ?
GROUP BY finding_id
