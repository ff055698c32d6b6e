-- Asset inventory, versioned. One row per asset per change: an import writes
-- a row only for assets whose attributes changed (or that disappeared, with
-- active = 0), so the state of the estate at any past instant T is the row
-- with the greatest valid_from < T per asset. Small table (one row per asset
-- version); joined into KPI queries to attribute findings to teams and tiers.
CREATE TABLE IF NOT EXISTS {{table "assets"}} {{on_cluster}} (
    asset String,
    valid_from DateTime('UTC'),
    team String,
    business_unit String,
    tier UInt8,
    asset_kind String,
    active UInt8,
    internet_facing UInt8,
    owner String,
    system String,
    lifecycle String,
    tags Array(String),
    source String,
    in_inventory UInt8,
    imported_at DateTime('UTC')
) ENGINE = {{engine "assets" "ReplacingMergeTree" "imported_at"}}
ORDER BY (asset, valid_from);
{{distributed "assets" "cityHash64(asset)"}}
