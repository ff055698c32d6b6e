-- Current alerts of one source: one row per alert, the latest version
-- (ReplacingMergeTree FINAL; among equal versions the last inserted row).
-- Parameters: source (String).
-- Output: the alerts columns except version, ordered by alert_id; times are
-- DateTime('UTC'), first_triage and closed NULL when unknown.
SELECT
    source, alert_id, rule_id, rule_name, severity, original_severity,
    created, first_triage, closed, status, disposition, original_disposition,
    auto_closed, assignee, team, asset, incident, updated
FROM alerts FINAL
WHERE source = ?
ORDER BY alert_id
