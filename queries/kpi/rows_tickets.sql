-- Ticket rows for kpi/work_scope.sql (template field Rows): the latest
-- version of every ticket (FINAL), with its own team as own_team.
-- Parameters: none. Output: source, kind, severity, created, resolved,
-- contained_at, incident_type, own_team, asset.
SELECT source, kind, severity, created, resolved, contained_at, incident_type, team AS own_team, asset
FROM tickets FINAL
