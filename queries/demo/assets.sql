-- Direct load: the asset inventory, one version per asset valid from 1970.
--
-- Asset a (0 ≤ a < @assets): team CAST(@team_pct)[1 + cityHash64(a, 2) %
-- 100] (a 100-entry table built from the generator's team shares), its
-- business unit from @unit_of_team; 40 % images ("registry.acme.example/
-- <team>/bench-<a>"), 60 % repositories ("github.com/acme/bench-<a>");
-- tier 1 (12 %), 2 (28 %), 3 (35 %), 4 (25 %); 25 % of tiers 1–2
-- internet-facing. finding_model.sql derives the same attributes from a.
-- Parameters: assets UInt64, team_pct Array(String) (100), team_names,
-- unit_of_team Array(String) (per team), imported DateTime.
-- Writes: assets.
INSERT INTO assets (asset, valid_from, team, business_unit, tier, asset_kind, active, internet_facing, owner, system, lifecycle, tags, source, in_inventory, imported_at)
SELECT
    if(is_image, concat('registry.acme.example/', team, '/bench-', toString(a)), concat('github.com/acme/bench-', toString(a))) AS asset,
    toDateTime(0) AS valid_from,
    team,
    CAST(@unit_of_team AS Array(String))[indexOf(CAST(@team_names AS Array(String)), team)] AS business_unit,
    toUInt8(1 + (t >= 12) + (t >= 40) + (t >= 75)) AS tier,
    if(is_image, 'image', 'repository') AS asset_kind,
    toUInt8(1) AS active,
    toUInt8(tier <= 2 AND cityHash64(a, 4) % 4 = 0) AS internet_facing,
    concat('group:default/', team) AS owner,
    team AS system,
    'production' AS lifecycle,
    emptyArrayString() AS tags,
    'bench' AS source,
    toUInt8(1) AS in_inventory,
    @imported AS imported_at
FROM
(
    SELECT
        number AS a,
        CAST(@team_pct AS Array(String))[1 + cityHash64(a, 2) % 100] AS team,
        cityHash64(a, 3) % 100 < 40 AS is_image,
        cityHash64(a, 5) % 100 AS t
    FROM numbers(@assets)
)
