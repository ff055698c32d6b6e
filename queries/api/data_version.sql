-- Data version: the highest insert block number and the row count of
-- every active partition of the tables that KPIs read. Every insert adds a
-- block with a higher number, so the list changes with every write; merges
-- keep the highest number. The API hashes the rows into the key of its KPI
-- response cache (never into anything shown).
-- Window: none (current state). Parameters: tables Array(String).
-- Output: table, partition_id, block Int64, rows UInt64.
SELECT table, partition_id, max(max_block_number) AS block, sum(rows) AS rows
FROM system.parts
WHERE database = currentDatabase() AND active AND has(CAST(@tables AS Array(String)), table)
GROUP BY table, partition_id
ORDER BY table, partition_id
