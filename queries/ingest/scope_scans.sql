-- Per kind, the newest successful counting scan of a scope, and the first
-- one strictly after a given time (1970-01-01 when none). Decides whether
-- a report is late and, for a late one, when its unknown findings were
-- fixed.
-- Parameters: at (DateTime), asset (String), scanner (String).
-- Output: kind, latest, next_after.
SELECT
    kind,
    max(scan_time) AS latest,
    minIf(scan_time, scan_time > ?) AS next_after
FROM scan_runs
ARRAY JOIN kinds AS kind
WHERE asset = ? AND scanner = ? AND counts = 1 AND status = 'ok'
GROUP BY kind
