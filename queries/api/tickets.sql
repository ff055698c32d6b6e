-- Tickets drill-down list (GET /api/v1/tickets): the latest version of
-- every ticket (FINAL), with its team as the KPIs define it
-- (kpi/work_scope.sql): the ticket's own team when set, else its asset's
-- current team, else "unowned"; business unit and tier are the asset's.
-- The team scope and every filter apply before the page is cut.
-- Window: tickets created in [@from, @to). Parameters: now, from, to
-- DateTime, scope, f_teams, f_bus, f_sevs, f_sources, f_assets, f_kinds,
-- f_states, f_projects Array(String), f_tiers Array(UInt8), c_v, c_t,
-- limit. Template fields: Assets (api/assets_now.sql), Order, After.
-- Output: one row per ticket; row_key is a unique, prefix-free key of
-- (source, ticket_key) used to order ties; times with no value are NULL.
SELECT source, ticket_key, project, issue_type, kind_name, summary, team, business_unit, tier, severity_name, severity_code,
    original_severity, status, status_category, state_name, resolution, labels, components, asset, incident_type,
    assignee, created, updated, resolved, due, contained_at, row_key
FROM
(
    SELECT *,
        if(own_team != '', own_team, if(ai_team = '', 'unowned', ai_team)) AS team,
        concat(toString(length(source)), ':', source, ticket_key) AS row_key
    FROM
    (
        SELECT source, ticket_key, project, issue_type, toString(kind) AS kind_name, summary, team AS own_team,
            toString(severity) AS severity_name, toUInt8(severity) AS severity_code, original_severity, status,
            status_category, toString(state) AS state_name, resolution, labels, components, asset, incident_type,
            assignee, created, updated, resolved, due, contained_at
        FROM tickets FINAL
        WHERE created >= @from AND created < @to
    ) AS w
    ANY LEFT JOIN ({{.Assets}}) AS a USING asset
)
WHERE (empty(CAST(@scope AS Array(String))) OR has(CAST(@scope AS Array(String)), team))
  AND (empty(CAST(@f_teams AS Array(String))) OR has(CAST(@f_teams AS Array(String)), team))
  AND (empty(CAST(@f_bus AS Array(String))) OR has(CAST(@f_bus AS Array(String)), business_unit))
  AND (empty(CAST(@f_tiers AS Array(UInt8))) OR has(CAST(@f_tiers AS Array(UInt8)), tier))
  AND (empty(CAST(@f_sevs AS Array(String))) OR has(CAST(@f_sevs AS Array(String)), severity_name))
  AND (empty(CAST(@f_sources AS Array(String))) OR has(CAST(@f_sources AS Array(String)), source))
  AND (empty(CAST(@f_assets AS Array(String))) OR has(CAST(@f_assets AS Array(String)), asset))
  AND (empty(CAST(@f_kinds AS Array(String))) OR has(CAST(@f_kinds AS Array(String)), kind_name))
  AND (empty(CAST(@f_states AS Array(String))) OR has(CAST(@f_states AS Array(String)), state_name))
  AND (empty(CAST(@f_projects AS Array(String))) OR has(CAST(@f_projects AS Array(String)), project))
  {{.After}}
ORDER BY {{.Order}}
LIMIT @limit
