-- Scanner sources for GET /api/v1/sources: per scanner, its scan runs on
-- the assets the caller may see (the asset's current team, "unowned" when
-- none, within @scope; empty scope = every team), so a team-scoped token
-- learns nothing of other teams' scans.
-- Window: all runs. Parameters: now DateTime, scope Array(String).
-- Output: scanner, last_scan (latest scan_time), last_success (latest
-- ingest of a successful run), last_failure and last_error (latest failed
-- run; 1970 and '' when none), runs, assets.
SELECT scanner,
    max(scan_time) AS last_scan,
    maxIf(ingested_at, status = 'ok') AS last_success,
    maxIf(ingested_at, status = 'failed') AS last_failure,
    argMaxIf(error, ingested_at, status = 'failed') AS last_error,
    uniqExact(scan_id) AS runs,
    uniqExact(asset) AS assets
FROM
(
    SELECT scanner, scan_time, ingested_at, status, error, scan_id, asset, if(ai_team = '', 'unowned', ai_team) AS team
    FROM scan_runs AS r
    ANY LEFT JOIN ({{.Assets}}) AS a USING asset
)
WHERE empty(CAST(@scope AS Array(String))) OR has(CAST(@scope AS Array(String)), team)
GROUP BY scanner
ORDER BY scanner
