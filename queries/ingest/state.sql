-- The latest ingest state of one source.
-- Parameters: source (String). Output: at most one row.
SELECT
    argMax(source_type, version) AS source_type,
    argMax(watermark, version) AS watermark,
    argMax(cursor, version) AS cursor,
    argMax(last_attempt, version) AS last_attempt,
    argMax(last_success, version) AS last_success,
    argMax(last_error, version) AS last_error,
    argMax(items, version) AS items
FROM ingest_state
WHERE source = ?
GROUP BY source
