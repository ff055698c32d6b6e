-- Alerts drill-down list (GET /api/v1/alerts): the latest version of every
-- alert (FINAL), with its team as the KPIs define it (kpi/work_scope.sql):
-- the alert's own team when set, else its asset's current team, else
-- "unowned"; business unit and tier are the asset's (tier 0 unknown). The
-- team scope and every filter apply before the page is cut.
-- Window: alerts created in [@from, @to). Parameters: now, from, to
-- DateTime, scope, f_teams, f_bus, f_sevs, f_sources, f_assets, f_disps,
-- f_rules Array(String), f_tiers Array(UInt8), f_closed Int8 (-1 any, 0
-- open, 1 closed), c_v, c_t, limit. Template fields: Assets
-- (api/assets_now.sql), Order, After (api.page).
-- Output: one row per alert; row_key is a unique, prefix-free key of
-- (source, alert_id) used to order ties.
SELECT source, alert_id, rule_id, rule_name, severity_name, severity_code, original_severity, created, first_triage, closed,
    status, disposition_name, original_disposition, auto_closed, assignee, team, business_unit, tier, asset, incident, updated, row_key
FROM
(
    SELECT *,
        if(own_team != '', own_team, if(ai_team = '', 'unowned', ai_team)) AS team,
        concat(toString(length(source)), ':', source, alert_id) AS row_key
    FROM
    (
        SELECT source, alert_id, rule_id, rule_name, toString(severity) AS severity_name, toUInt8(severity) AS severity_code,
            original_severity, created, first_triage, closed, status, toString(disposition) AS disposition_name,
            original_disposition, auto_closed, assignee, team AS own_team, asset, incident, updated
        FROM alerts FINAL
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
  AND (empty(CAST(@f_disps AS Array(String))) OR has(CAST(@f_disps AS Array(String)), disposition_name))
  AND (empty(CAST(@f_rules AS Array(String))) OR has(CAST(@f_rules AS Array(String)), rule_id))
  AND (@f_closed < 0 OR isNotNull(closed) = @f_closed)
  {{.After}}
ORDER BY {{.Order}}
LIMIT @limit
