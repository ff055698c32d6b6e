-- The current team of the named assets (api/assets_now.sql rule; "" when
-- the inventory gives none), to check that a team-scoped ingest token
-- writes only data of its teams. Assets without an inventory version are
-- absent from the output (the caller applies the ownership rules).
-- Window: current state at @now. Parameters: now DateTime, assets
-- Array(String). Output: asset, team.
SELECT asset, argMax(team, (valid_from, imported_at)) AS team
FROM assets
WHERE valid_from < @now AND has(CAST(@assets AS Array(String)), asset)
GROUP BY asset
