-- Marks fixed the findings of a scope that were open and that the scan just
-- applied did not report (their last_scan_id is an older scan): a new row
-- version with state 'fixed' and fixed_at = the scan time, other columns
-- carried over from the latest version.
-- Aliases inside carry an l_ prefix: ClickHouse resolves aliases across
-- the whole query, so an alias equal to a column name would shadow it.
-- Parameters: version (UInt64), fixed_at (DateTime),
-- updated_at (DateTime), asset (String), scanner (String),
-- kinds (Array(String)), scan_id again (UUID).
INSERT INTO findings (finding_id, version, source, asset, scanner, kind, fingerprint, key_source, rule_id, title, severity, original_severity, cve, aliases, package, installed_version, fixed_version, file, line, branches, epss, epss_percentile, has_epss, kev, state, status, status_reason, status_until, status_actor, first_seen, last_seen, fixed_at, last_scan_id, url, updated_at)
SELECT finding_id, ? AS new_version, l_source, l_asset, l_scanner, l_kind, l_fingerprint, l_key_source, l_rule_id, l_title, l_severity, l_original_severity, l_cve, l_aliases, l_package, l_installed_version, l_fixed_version, l_file, l_line, l_branches, l_epss, l_epss_percentile, l_has_epss, l_kev, 'fixed' AS new_state, l_status, l_status_reason, l_status_until, l_status_actor, l_first_seen, l_last_seen, ? AS new_fixed_at, l_last_scan_id, l_url, ? AS new_updated_at
FROM (
    SELECT
        finding_id,
        argMax(source, version) AS l_source,
        argMax(asset, version) AS l_asset,
        argMax(scanner, version) AS l_scanner,
        argMax(kind, version) AS l_kind,
        argMax(fingerprint, version) AS l_fingerprint,
        argMax(key_source, version) AS l_key_source,
        argMax(rule_id, version) AS l_rule_id,
        argMax(title, version) AS l_title,
        argMax(severity, version) AS l_severity,
        argMax(original_severity, version) AS l_original_severity,
        argMax(cve, version) AS l_cve,
        argMax(aliases, version) AS l_aliases,
        argMax(package, version) AS l_package,
        argMax(installed_version, version) AS l_installed_version,
        argMax(fixed_version, version) AS l_fixed_version,
        argMax(file, version) AS l_file,
        argMax(line, version) AS l_line,
        argMax(branches, version) AS l_branches,
        argMax(epss, version) AS l_epss,
        argMax(epss_percentile, version) AS l_epss_percentile,
        argMax(has_epss, version) AS l_has_epss,
        argMax(kev, version) AS l_kev,
        argMax(state, version) AS l_state,
        argMax(status, version) AS l_status,
        argMax(status_reason, version) AS l_status_reason,
        argMax(status_until, version) AS l_status_until,
        argMax(status_actor, version) AS l_status_actor,
        argMax(last_scan_id, version) AS l_last_scan_id,
        argMax(url, version) AS l_url,
        min(first_seen) AS l_first_seen,
        max(last_seen) AS l_last_seen
    FROM findings
    WHERE asset = ? AND scanner = ? AND has(?, toString(kind))
    GROUP BY finding_id
)
WHERE l_state = 'open' AND l_last_scan_id != ?
