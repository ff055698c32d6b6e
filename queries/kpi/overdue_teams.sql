-- Most overdue teams at the end T of the last period: per team (as of T),
-- open findings with status none, and those overdue (due date before T).
-- Most overdue first. Parameters: those of finding_states plus f_sevs,
-- limit. Template: States, with Open (only open rows). Output: team, open, overdue (UInt64).
SELECT team,
    countIf(is_open AND status_end = 0) AS open,
    countIf(is_open AND status_end = 0 AND due_end > toDateTime(0) AND due_end < T) AS overdue
FROM ({{.States}})
WHERE pi = length(CAST(@tos AS Array(DateTime)))
  AND (empty(CAST(@f_sevs AS Array(UInt8))) OR has(CAST(@f_sevs AS Array(UInt8)), sev_end))
GROUP BY team
HAVING open > 0
ORDER BY overdue DESC, open DESC, team
LIMIT @limit
