-- The latest version of every asset (by valid_from, then import time).
-- Output: asset, team, business_unit, tier, asset_kind, active,
-- internet_facing, owner, system, lifecycle, tags, source, in_inventory.
SELECT
    asset,
    argMax(team, (valid_from, imported_at)) AS team,
    argMax(business_unit, (valid_from, imported_at)) AS business_unit,
    argMax(tier, (valid_from, imported_at)) AS tier,
    argMax(asset_kind, (valid_from, imported_at)) AS asset_kind,
    argMax(active, (valid_from, imported_at)) AS active,
    argMax(internet_facing, (valid_from, imported_at)) AS internet_facing,
    argMax(owner, (valid_from, imported_at)) AS owner,
    argMax(system, (valid_from, imported_at)) AS system,
    argMax(lifecycle, (valid_from, imported_at)) AS lifecycle,
    argMax(tags, (valid_from, imported_at)) AS tags,
    argMax(source, (valid_from, imported_at)) AS source,
    argMax(in_inventory, (valid_from, imported_at)) AS in_inventory
FROM assets
GROUP BY asset
