-- Alert rows for kpi/work_scope.sql (template field Rows): the latest
-- version of every alert (FINAL), with its own team as own_team.
-- Parameters: none. Output: source, rule_id, rule_name, severity, created,
-- first_triage, closed, disposition, own_team, asset.
SELECT source, rule_id, rule_name, severity, created, first_triage, closed, disposition, team AS own_team, asset
FROM alerts FINAL
