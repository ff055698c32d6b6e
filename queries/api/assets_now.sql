-- Current asset attributes: per asset, the inventory version with the
-- greatest valid_from before @now (ties: the latest import), as
-- kpi/asset_history.sql defines an asset's state at an instant. It is a
-- fragment, included by the api/*.sql files that say so (template field
-- Assets). Team "" is reported as "unowned" by the including statement.
-- Window: versions with valid_from < @now. Parameters: now DateTime.
-- Output: asset, ai_team, business_unit, tier, asset_kind, active,
-- in_inventory, internet_facing, owner, system, lifecycle.
SELECT
    asset,
    tupleElement(a, 1) AS ai_team,
    tupleElement(a, 2) AS business_unit,
    tupleElement(a, 3) AS tier,
    tupleElement(a, 4) AS asset_kind,
    tupleElement(a, 5) AS active,
    tupleElement(a, 6) AS in_inventory,
    tupleElement(a, 7) AS internet_facing,
    tupleElement(a, 8) AS owner,
    tupleElement(a, 9) AS system,
    tupleElement(a, 10) AS lifecycle
FROM
(
    SELECT asset,
        argMax((team, business_unit, tier, asset_kind, active, in_inventory, internet_facing, owner, system, lifecycle),
               (valid_from, imported_at)) AS a
    FROM assets
    WHERE valid_from < @now
    GROUP BY asset
)
