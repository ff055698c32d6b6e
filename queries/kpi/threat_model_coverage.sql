-- threat_model_coverage@1 (definition: ../shared/spec/kpis.md and
-- docs/metrics.md).
--
-- Per period end T: of the active tier-1 assets in the inventory at T
-- (the asset's version as of T: active = 1, in_inventory = 1, tier = 1),
-- the share with a completed threat-model ticket (kind threat_model,
-- resolved in [T − 365 d, T)) naming the asset (tickets.asset).
-- Team and business unit are the asset's at T; scope and filters apply
-- before counting.
-- Units: count of assets. Parameters: tos Array(DateTime), scope, f_teams,
-- f_bus, f_assets Array(String). Template: Group, Assets.
-- Output per (pi, g): n (tier-1 assets), covered.
SELECT pi, g, count() AS n, countIf(modelled = 1) AS covered
FROM
(
    SELECT *
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
            {{.Group}} AS g
        FROM ({{.Assets}})
    )
    WHERE ai > 0 AND active = 1 AND in_inventory = 1 AND tier = 1
      AND (empty(CAST(@f_assets AS Array(String))) OR has(CAST(@f_assets AS Array(String)), asset))
      AND (empty(CAST(@scope AS Array(String))) OR has(CAST(@scope AS Array(String)), team))
      AND (empty(CAST(@f_teams AS Array(String))) OR has(CAST(@f_teams AS Array(String)), team))
      AND (empty(CAST(@f_bus AS Array(String))) OR has(CAST(@f_bus AS Array(String)), business_unit))
) AS tmc_l1
ANY LEFT JOIN
(
    SELECT asset, pi, toUInt8(1) AS modelled
    FROM tickets FINAL
    ARRAY JOIN arrayEnumerate(CAST(@tos AS Array(DateTime))) AS pi
    WHERE kind = 'threat_model' AND asset != '' AND resolved IS NOT NULL
      AND resolved < CAST(@tos AS Array(DateTime))[pi]
      AND resolved >= CAST(@tos AS Array(DateTime))[pi] - 31536000
    GROUP BY asset, pi
) AS tmc_r1 USING (asset, pi)
GROUP BY pi, g
