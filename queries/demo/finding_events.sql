-- Direct load: the finding event log of finding_model.sql's findings:
-- detected at the first time, fixed, reopened and fixed again when the
-- model says so, each with the finding's severity and status.
-- Parameters: those of finding_model.sql, plus recorded DateTime.
-- Writes: finding_events.
INSERT INTO finding_events (finding_id, event_time, event_type, severity, status, status_until, asset, scanner, kind, source, scan_id, actor, reason, recorded_at)
SELECT
    {{template "id" "n"}} AS finding_id,
    toDateTime(e.1) AS event_time,
    ['detected', 'fixed', 'reopened'][e.2] AS event_type,
    severity, status, toDateTime(0), asset, scanner, kind, 'scan',
    {{template "id" "a"}}, if(e.2 = 2 AND status = 'none', '', 'report'), '', @recorded
FROM ({{template "model" .}})
ARRAY JOIN arrayFilter(x -> x.1 > 0, [(fs, toUInt8(1)), (fix1, toUInt8(2)), (re, toUInt8(3)), (fix2, toUInt8(2))]) AS e
