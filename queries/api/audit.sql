-- The audit log (GET /api/v1/audit, admin tokens for every team only).
-- Window: rows with time in [@from, @to). Parameters: from, to DateTime,
-- token_name, token_id, route, method String ('' = any), status UInt16 (0
-- = any), c_v, c_t (cursor), limit UInt64. Template fields: Order, After
-- (api.page, over time and request_id).
-- Output: every column of audit_log.
SELECT time, request_id, token_id, token_name, method, route, params, status, duration_ms, client_ip
FROM audit_log
WHERE time >= @from AND time < @to
  AND (@token_name = '' OR token_name = @token_name)
  AND (@token_id = '' OR token_id = @token_id)
  AND (@route = '' OR route = @route)
  AND (@method = '' OR method = @method)
  AND (@status = 0 OR status = @status)
  {{.After}}
ORDER BY {{.Order}}
LIMIT @limit
