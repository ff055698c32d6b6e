-- Open overdue findings at the end T of the last period (the drill-down of
-- sla_adherence@1's open overdue ratio and of the overdue count): open,
-- status none (risk_accepted excluded), with a due date (SLA policy, as of
-- T) before T. Most overdue first.
-- Units: days_overdue = (T − due) ÷ 86,400. Parameters: those of
-- finding_states plus f_sevs, limit. Template: States, with
-- Open (only open rows).
-- Output: finding_id, asset, team, tier, severity, source (scanner),
-- first_seen, due, days_overdue, kev.
SELECT toString(finding_id) AS finding_id, asset, team, tier,
    ['unknown', 'info', 'low', 'medium', 'high', 'critical'][sev_end + 1] AS severity,
    scanner AS source, first_seen, due_end AS due,
    (toFloat64(toUInt32(T)) - toUInt32(due_end)) / 86400 AS days_overdue, kev_end AS kev
FROM ({{.States}})
WHERE pi = length(CAST(@tos AS Array(DateTime)))
  AND is_open AND status_end = 0 AND due_end > toDateTime(0) AND due_end < T
  AND (empty(CAST(@f_sevs AS Array(UInt8))) OR has(CAST(@f_sevs AS Array(UInt8)), sev_end))
ORDER BY due, finding_id
LIMIT @limit
