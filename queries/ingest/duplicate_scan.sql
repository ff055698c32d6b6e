-- How many successful scan runs already ingested the same report (by its
-- SHA-256) for the same asset, scanner and branch.
-- Parameters: report_sha256, asset, scanner, branch (all String).
-- Output: one count.
SELECT count() FROM scan_runs
WHERE report_sha256 = ? AND asset = ? AND scanner = ? AND branch = ? AND status = 'ok'
