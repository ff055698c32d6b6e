-- Data version: the highest insert block number of every active partition
-- of the tables that KPIs read. Every insert adds a block with a higher
-- number, and dropping or emptying a partition removes its row, so the list
-- changes with every write; merges keep the highest number, so it does not
-- change when ClickHouse merges parts (the KPIs read merged and unmerged
-- parts alike: FINAL, or collapsing in the query). A mutation (ALTER …
-- UPDATE/DELETE, which secmetrics never issues) keeps block numbers and is
-- not seen. The engine hashes the rows of the tables KPI values are
-- computed from into the version that keys precomputed scorecards; the API
-- hashes those and ingest_state (freshness) into its response cache key.
-- The version is never shown.
-- Window: none (current state). Parameters: tables Array(String).
-- Output: table, partition_id, block Int64.
SELECT table, partition_id, max(max_block_number) AS block
FROM system.parts
WHERE database = currentDatabase() AND active AND has(CAST(@tables AS Array(String)), table)
GROUP BY table, partition_id
ORDER BY table, partition_id
