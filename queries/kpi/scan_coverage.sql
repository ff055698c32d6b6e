-- scan_coverage@1 (definition: ../shared/spec/kpis.md and docs/metrics.md).
--
-- Per period end T: the assets in the inventory at T (version with the
-- greatest valid_from < T has active = 1 and in_inventory = 1) whose
-- asset_kind is in @asset_kinds (empty: every kind) are in scope. An asset
-- is covered for a kind when a successful (status ok) counting (counts = 1)
-- scan run complete for that kind (kinds) has scan_time in
-- [T − @window_s, T); a run with zero findings counts. It is covered
-- overall when covered for every kind its tier requires
-- (@req_by_tier[tier + 1]; an empty list means nothing is required).
-- Team, business unit and tier are the asset's at T (empty team:
-- "unowned"); the scope and filters apply to them before counting.
-- Units: count of assets. Parameters: tos Array(DateTime), window_s
-- UInt32, asset_kinds Array(String), req_by_tier Array(Array(String)) (5
-- entries, tiers 0–4), scope, f_teams, f_bus, f_assets Array(String),
-- f_tiers Array(UInt8), limit (List only). Template: Group, Assets; List:
-- one row per uncovered asset at the last period's end instead of counts,
-- with the kinds it misses and its latest successful counting scan before
-- the end (1970: none), unknown tiers last.
-- Output per (pi, g, slice) with slice "all" or a required kind: n (assets
-- in scope that need it), covered.
{{if .List}}SELECT asset, team, tier, asset_kind, arrayFilter(k -> NOT has(have, k), req) AS missing, last_scan
FROM ({{template "rows" .}})
WHERE pi = length(CAST(@tos AS Array(DateTime))) AND NOT hasAll(have, req)
ORDER BY tier = 0, tier, team, asset
LIMIT @limit
{{else}}SELECT pi, g, slice, count() AS n, countIf(if(slice = 'all', hasAll(have, req), has(have, slice))) AS covered
FROM
(
    SELECT pi, g, have, req, arrayJoin(arrayPushFront(req, 'all')) AS slice
    FROM ({{template "rows" .}})
)
GROUP BY pi, g, slice
{{end}}{{define "rows"}}
    SELECT asset, pi, team, business_unit, tier, asset_kind, g, req, have, last_scan
    FROM
    (
        SELECT
            asset,
            arrayJoin(arrayEnumerate(CAST(@tos AS Array(DateTime)))) AS pi,
            CAST(@tos AS Array(DateTime))[pi] AS T,
            arrayCount(h -> h.1 < T, hist) AS ai,
            if(hist[ai].2 = '', 'unowned', hist[ai].2) AS team,
            hist[ai].3 AS business_unit,
            hist[ai].4 AS tier,
            hist[ai].5 AS active,
            hist[ai].6 AS in_inventory,
            hist[ai].7 AS asset_kind,
            {{.Group}} AS g,
            CAST(@req_by_tier AS Array(Array(String)))[tier + 1] AS req
        FROM ({{.Assets}})
        WHERE (empty(CAST(@f_assets AS Array(String))) OR has(CAST(@f_assets AS Array(String)), asset))
    ) AS sc_l1
    ANY LEFT JOIN
    (
        SELECT asset, pi,
            groupUniqArrayArrayIf(kinds, scan_time >= CAST(@tos AS Array(DateTime))[pi] - @window_s) AS have,
            max(scan_time) AS last_scan
        FROM scan_runs
        ARRAY JOIN arrayEnumerate(CAST(@tos AS Array(DateTime))) AS pi
        WHERE status = 'ok' AND counts = 1
          AND scan_time < CAST(@tos AS Array(DateTime))[pi]
        GROUP BY asset, pi
    ) AS sc_r1 USING (asset, pi)
    WHERE ai > 0 AND active = 1 AND in_inventory = 1
      AND (empty(CAST(@asset_kinds AS Array(String))) OR has(CAST(@asset_kinds AS Array(String)), asset_kind))
      AND (empty(CAST(@scope AS Array(String))) OR has(CAST(@scope AS Array(String)), team))
      AND (empty(CAST(@f_teams AS Array(String))) OR has(CAST(@f_teams AS Array(String)), team))
      AND (empty(CAST(@f_bus AS Array(String))) OR has(CAST(@f_bus AS Array(String)), business_unit))
      AND (empty(CAST(@f_tiers AS Array(UInt8))) OR has(CAST(@f_tiers AS Array(UInt8)), tier))
{{end}}
