-- How many successful scan runs already ingested the same report (by its
-- SHA-256) for the same asset, scanner and branch at the same scan time. A
-- byte-identical report at another time (a clean scan repeated weekly,
-- which reports "[]" every time) is a new scan, not a duplicate.
-- Parameters: report_sha256, asset, scanner, branch (String), scan_time
-- (DateTime).
-- Output: one count.
SELECT count() FROM scan_runs
WHERE report_sha256 = ? AND asset = ? AND scanner = ? AND branch = ? AND scan_time = ? AND status = 'ok'
