-- Toil rows for kpi/work_scope.sql (template field Rows): worklogs of the
-- security team (@users; empty: every author) with their ticket's team,
-- asset, severity and toil flag (is_log = 1), and resolved tickets for the
-- count-based fallback (is_log = 0). A ticket is toil when its kind is
-- toil or it carries one of @triage_labels (alert-triage tickets).
-- Parameters: users, triage_labels Array(String). Output: source,
-- own_team, asset, severity, is_log, is_toil, seconds, started, resolved.
SELECT source, own_team, asset, severity, toUInt8(1) AS is_log,
    toUInt8(kind = 'toil' OR hasAny(labels, CAST(@triage_labels AS Array(String)))) AS is_toil,
    toUInt64(seconds) AS seconds, started, toDateTime(0) AS resolved
FROM
(
    SELECT source, ticket_key, started, seconds
    FROM worklogs FINAL
    WHERE empty(CAST(@users AS Array(String))) OR has(CAST(@users AS Array(String)), author)
) AS rt_l1
ANY LEFT JOIN
(
    SELECT source, ticket_key, kind, labels, team AS own_team, asset, severity
    FROM tickets FINAL
) AS rt_r1 USING (source, ticket_key)
UNION ALL
SELECT source, team AS own_team, asset, severity, toUInt8(0) AS is_log,
    toUInt8(kind = 'toil' OR hasAny(labels, CAST(@triage_labels AS Array(String)))) AS is_toil,
    toUInt64(0) AS seconds, toDateTime(0) AS started, assumeNotNull(resolved) AS resolved
FROM tickets FINAL
WHERE resolved IS NOT NULL
