-- Asset history: one row per asset with its versions, oldest first, so any
-- KPI can read an asset's state as of an instant T (the version with the
-- greatest valid_from < T) with arrayCount(h -> h.1 < T, hist) as index
-- (0: unknown at T). Duplicate versions (before merges) collapse to the
-- latest import. It is a fragment, included by the kpi/*.sql files that
-- say so (template field Assets).
-- Window: all versions. Parameters: none.
-- Output: asset, hist Array(Tuple(valid_from, team, business_unit, tier,
-- active, in_inventory, asset_kind)).
SELECT asset, arraySort(groupArray((valid_from, team, business_unit, tier, active, in_inventory, asset_kind))) AS hist
FROM
(
    SELECT asset, valid_from,
        argMax(team, imported_at) AS team,
        argMax(business_unit, imported_at) AS business_unit,
        argMax(tier, imported_at) AS tier,
        argMax(active, imported_at) AS active,
        argMax(in_inventory, imported_at) AS in_inventory,
        argMax(asset_kind, imported_at) AS asset_kind
    FROM assets
    GROUP BY asset, valid_from
)
GROUP BY asset
