-- Work-item scope: the team, business unit and tier of an alert, ticket or
-- worklog row as of the period end T, and the scope and filter conditions
-- on them. It is a fragment (template field Scope) that the alert and
-- ticket KPI files select from, over a row source (template field Rows,
-- kpi/rows_*.sql) with columns own_team, asset, severity and source,
-- evaluated at every period [F, T) of @froms/@tos.
--
-- Team: the row's own team when set, else its asset's team at T, else
-- "unowned". Business unit and tier: the asset's at T (tier 0 when
-- unknown). The scope and the team, business unit, tier, severity, source
-- and asset filters apply here, before any aggregation.
-- Template field Window (optional): a condition every row the statement
-- reads meets (e.g. closed in [@from_min, @to_max), the span of its
-- periods), applied to the row source (after its FINAL) before the asset
-- join and the per-period copies.
-- Parameters: froms, tos Array(DateTime), from_min, to_max DateTime (with
-- Window), scope, f_teams, f_bus, f_sources, f_assets, f_sev_names
-- Array(String), f_tiers Array(UInt8).
-- Output: every column of Rows plus pi, T, F, team, business_unit, tier,
-- severity_name, g.
SELECT *
FROM
(
    SELECT *,
        arrayJoin(arrayEnumerate(CAST(@tos AS Array(DateTime)))) AS pi,
        CAST(@tos AS Array(DateTime))[pi] AS T,
        CAST(@froms AS Array(DateTime))[pi] AS F,
        arrayCount(h -> h.1 < T, hist) AS ai,
        if(own_team != '', own_team, if(ai = 0 OR hist[ai].2 = '', 'unowned', hist[ai].2)) AS team,
        hist[ai].3 AS business_unit,
        hist[ai].4 AS tier,
        toString(severity) AS severity_name,
        {{.Group}} AS g
    FROM
    (
        SELECT *
        FROM ({{.Rows}}){{if .Window}}
        WHERE {{.Window}}{{end}}
    ) AS ws_l1
    ANY LEFT JOIN ({{.Assets}}) AS ws_r1 USING asset
)
WHERE (empty(CAST(@scope AS Array(String))) OR has(CAST(@scope AS Array(String)), team))
  AND (empty(CAST(@f_teams AS Array(String))) OR has(CAST(@f_teams AS Array(String)), team))
  AND (empty(CAST(@f_bus AS Array(String))) OR has(CAST(@f_bus AS Array(String)), business_unit))
  AND (empty(CAST(@f_tiers AS Array(UInt8))) OR has(CAST(@f_tiers AS Array(UInt8)), tier))
  AND (empty(CAST(@f_sev_names AS Array(String))) OR has(CAST(@f_sev_names AS Array(String)), severity_name))
  AND (empty(CAST(@f_sources AS Array(String))) OR has(CAST(@f_sources AS Array(String)), source))
  AND (empty(CAST(@f_assets AS Array(String))) OR has(CAST(@f_assets AS Array(String)), asset))
