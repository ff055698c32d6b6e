-- Current state of some alerts of one source: one row per alert, the latest
-- version (ReplacingMergeTree FINAL), for connectors that carry stored
-- values over between pulls.
-- Parameters: source (String), alert ids (Array(String)).
-- Output: the alerts columns except version, ordered by alert_id.
SELECT
    source, alert_id, rule_id, rule_name, severity, original_severity,
    created, first_triage, closed, status, disposition, original_disposition,
    auto_closed, assignee, team, asset, incident, updated
FROM alerts FINAL
WHERE source = ? AND has(?, alert_id)
ORDER BY alert_id
