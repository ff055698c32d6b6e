-- Direct load: tickets of ticket_model.sql in their current state. Keys
-- are "BENCH-<n>"; threat models and vulnerabilities name their asset.
-- Parameters: those of ticket_model.sql, plus version UInt64. Writes:
-- tickets.
INSERT INTO tickets (source, ticket_key, ticket_id, project, issue_type, kind, summary, team, severity, original_severity, status, status_category, state, resolution, labels, components, asset, incident_type, assignee, reporter, created, updated, resolved, due, contained_at, version)
SELECT
    'jira:bench', concat('BENCH-', toString(n)), toString(n), 'BENCH', kind, kind,
    concat('Synthetic ', kind), team,
    multiIf(kind = 'vulnerability', vsev, kind = 'incident', 'high', 'medium'), '',
    if(resolved > 0, 'Done', 'In Progress'), if(resolved > 0, 'done', 'indeterminate'), if(resolved > 0, 'done', 'in_progress'),
    if(resolved > 0, 'Done', ''),
    if(kind = 'toil', ['alert-triage'], emptyArrayString()), [team],
    if(kind IN ('threat_model', 'vulnerability'), asset_a, ''),
    if(kind = 'incident', ['phishing', 'credential-leak', 'malware', 'ddos', 'data-exposure'][1 + cityHash64(n, 66) % 5], ''),
    concat('analyst', toString(cityHash64(n, 67) % 8 + 1)), 'reporter',
    toDateTime(created), toDateTime(greatest(created, if(resolved > 0, resolved, least(toUInt32(@now - 1), toUInt32(created + 86400))))),
    if(resolved > 0, toNullable(toDateTime(resolved)), CAST(NULL AS Nullable(DateTime))),
    CAST(NULL AS Nullable(DateTime)),
    if(contained > 0, toNullable(toDateTime(contained)), CAST(NULL AS Nullable(DateTime))),
    @version
FROM ({{template "ticket" .}})
