-- The latest version of one finding, every column.
-- Parameters: finding_id (UUID). Output: at most one row.
SELECT
    argMax(source, version) AS source, argMax(asset, version) AS asset, argMax(scanner, version) AS scanner,
    toString(argMax(kind, version)) AS kind, argMax(fingerprint, version) AS fingerprint,
    argMax(key_source, version) AS key_source, argMax(rule_id, version) AS rule_id, argMax(title, version) AS title,
    toString(argMax(severity, version)) AS severity, argMax(original_severity, version) AS original_severity,
    argMax(cve, version) AS cve, argMax(aliases, version) AS aliases, argMax(package, version) AS package,
    argMax(installed_version, version) AS installed_version, argMax(fixed_version, version) AS fixed_version,
    argMax(file, version) AS file, argMax(line, version) AS line, argMax(branches, version) AS branches,
    argMax(epss, version) AS epss, argMax(epss_percentile, version) AS epss_percentile,
    argMax(has_epss, version) AS has_epss, argMax(kev, version) AS kev, toString(argMax(state, version)) AS state,
    toString(argMax(status, version)) AS status, argMax(status_reason, version) AS status_reason,
    argMax(status_until, version) AS status_until, argMax(status_actor, version) AS status_actor,
    min(first_seen) AS first_seen, max(last_seen) AS last_seen, argMax(fixed_at, version) AS fixed_at,
    argMax(last_scan_id, version) AS last_scan_id, argMax(url, version) AS url
FROM findings
WHERE finding_id = ?
GROUP BY finding_id
