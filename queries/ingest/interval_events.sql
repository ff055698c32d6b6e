-- The events of some findings, for ingest.BuildIntervals, ordered by
-- finding, time, type and recording time (copies of one (time, type) event
-- that merges have not collapsed yet come together; the reader keeps the
-- last recorded, as merges of finding_events do).
-- Parameters: ids Array(String) (finding ids).
-- Output: finding_id, event_time, event_type, severity, status (Enum8
-- codes), status_until, asset, scanner, kind.
SELECT finding_id, event_time, toUInt8(event_type) AS et, toUInt8(severity) AS sev, toUInt8(status) AS st,
    status_until, asset, scanner, toString(kind) AS kind
FROM finding_events
WHERE finding_id IN (SELECT toUUID(arrayJoin(CAST(? AS Array(String)))))
ORDER BY finding_id, event_time, et, recorded_at
