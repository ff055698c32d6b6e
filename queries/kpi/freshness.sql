-- Data freshness: the last successful ingest per source type, for the
-- freshness list every KPI result carries (docs/metrics.md, "Data
-- freshness"). Per source the latest ingest_state version counts; a source
-- type's time is the latest over its sources. Scans also count through
-- scan_runs: the latest ingested_at of a successful scan is a successful
-- ingest of source type "scan".
-- Window: none (current state). Parameters: none.
-- Output: source_type String, last_success Nullable(DateTime) (NULL: never).
SELECT source_type, max(last_success) AS last_success
FROM
(
    SELECT source, argMax(source_type, version) AS source_type, argMax(last_success, version) AS last_success
    FROM ingest_state
    GROUP BY source
    UNION ALL
    SELECT '' AS source, 'scan' AS source_type, toNullable(max(ingested_at)) AS last_success
    FROM scan_runs
    WHERE status = 'ok'
    HAVING count() > 0
)
GROUP BY source_type
