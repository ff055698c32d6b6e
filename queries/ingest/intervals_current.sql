-- The stored finding_intervals rows of some findings with their net weight
-- (sum of sign), for ingest to write the difference to a new computation.
-- Rows with the same row_hash hold the same values. Parameters: ids
-- Array(String) (finding ids). Output: the columns of the table, sign
-- replaced by the weight w (rows of weight 0 left out).
SELECT finding_id, valid_from, any(valid_to), row_hash, sum(sign) AS w,
    any(asset), any(scanner), toString(any(kind)), any(first_seen), any(lc), any(lc_time),
    any(severity), any(status), any(status_until), any(last_reopen),
    any(fix_times), any(fix_sevs), any(fix_reopens), any(fix_reopened)
FROM finding_intervals
WHERE finding_id IN (SELECT toUUID(arrayJoin(CAST(? AS Array(String)))))
GROUP BY finding_id, valid_from, row_hash
HAVING w != 0
