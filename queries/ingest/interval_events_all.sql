-- Every event of one part of the findings (cityHash64(finding_id) modulo
-- the number of parts), for ingest.RebuildIntervals; as
-- ingest/interval_events.sql otherwise. Parameters: parts UInt64, part
-- UInt64. Output: as ingest/interval_events.sql.
SELECT finding_id, event_time, toUInt8(event_type) AS et, toUInt8(severity) AS sev, toUInt8(status) AS st,
    status_until, asset, scanner, toString(kind) AS kind
FROM finding_events
WHERE cityHash64(toString(finding_id)) % ? = ?
ORDER BY finding_id, event_time, et, recorded_at
