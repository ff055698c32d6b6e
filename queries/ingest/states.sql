-- The latest ingest state of every source, by source name.
SELECT
    source,
    argMax(source_type, version) AS source_type,
    argMax(watermark, version) AS watermark,
    argMax(last_attempt, version) AS last_attempt,
    argMax(last_success, version) AS last_success,
    argMax(last_error, version) AS last_error,
    argMax(items, version) AS items
FROM ingest_state
GROUP BY source
ORDER BY source
