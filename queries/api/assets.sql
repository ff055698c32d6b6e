-- Assets drill-down list with coverage (GET /api/v1/assets): every asset's
-- current inventory version (api/assets_now.sql; team "" is "unowned"),
-- and per scan kind its latest successful (status ok) counting (counts =
-- 1) scan before @now, as scan_coverage@1 counts them. An asset is in the
-- coverage scope when active, in the inventory and of an asset kind in
-- @asset_kinds (empty: every kind); it is covered when it had a scan of
-- every kind its tier requires (@req_by_tier[tier + 1]) in
-- [@now − @window_s, @now). The team scope and every filter apply before
-- the page is cut.
-- Window: current state at @now. Parameters: now DateTime, window_s
-- UInt32, asset_kinds Array(String), req_by_tier Array(Array(String)),
-- scope, f_teams, f_bus, f_assets, f_kinds Array(String), f_tiers
-- Array(UInt8), f_covered, f_active Int8 (-1 any), c_v, c_t, limit.
-- Template fields: Assets, Order, After.
-- Output: one row per asset.
SELECT asset, team, business_unit, tier, asset_kind, active, in_inventory, internet_facing, owner, system, lifecycle,
    scan_kinds, scan_times, in_scope, required, missing, covered, last_scan
FROM
(
    SELECT *,
        if(ai_team = '', 'unowned', ai_team) AS team,
        toUInt8(active = 1 AND in_inventory = 1
            AND (empty(CAST(@asset_kinds AS Array(String))) OR has(CAST(@asset_kinds AS Array(String)), asset_kind))) AS in_scope,
        arrayFilter(k -> in_scope = 1, CAST(@req_by_tier AS Array(Array(String)))[tier + 1]) AS required,
        arrayFilter((k, t) -> t >= @now - @window_s, scan_kinds, scan_times) AS have,
        arrayFilter(k -> NOT has(have, k), required) AS missing,
        toUInt8(in_scope = 1 AND empty(missing)) AS covered,
        if(empty(scan_times), toDateTime(0), arrayReduce('max', scan_times)) AS last_scan
    FROM ({{.Assets}}) AS a
    ANY LEFT JOIN
    (
        SELECT asset, groupArray(kind) AS scan_kinds, groupArray(last) AS scan_times
        FROM
        (
            SELECT asset, arrayJoin(kinds) AS kind, max(scan_time) AS last
            FROM scan_runs
            WHERE status = 'ok' AND counts = 1 AND scan_time < @now
            GROUP BY asset, kind
        )
        GROUP BY asset
    ) AS s USING asset
)
WHERE (empty(CAST(@scope AS Array(String))) OR has(CAST(@scope AS Array(String)), team))
  AND (empty(CAST(@f_teams AS Array(String))) OR has(CAST(@f_teams AS Array(String)), team))
  AND (empty(CAST(@f_bus AS Array(String))) OR has(CAST(@f_bus AS Array(String)), business_unit))
  AND (empty(CAST(@f_tiers AS Array(UInt8))) OR has(CAST(@f_tiers AS Array(UInt8)), tier))
  AND (empty(CAST(@f_assets AS Array(String))) OR has(CAST(@f_assets AS Array(String)), asset))
  AND (empty(CAST(@f_kinds AS Array(String))) OR has(CAST(@f_kinds AS Array(String)), asset_kind))
  AND (@f_covered < 0 OR (in_scope = 1 AND covered = @f_covered))
  AND (@f_active < 0 OR active = @f_active)
  {{.After}}
ORDER BY {{.Order}}
LIMIT @limit
