-- Direct load: current finding rows (one version each) for the findings
-- of finding_model.sql. Ids are UUIDs made from two hashes of n; keys,
-- rules and files are synthetic ("bench|<n>").
-- Parameters: those of finding_model.sql, plus version UInt64 and
-- updated DateTime. Writes: findings.
INSERT INTO findings (finding_id, version, source, asset, scanner, kind, fingerprint, key_source, rule_id, title, severity, original_severity, cve, aliases, package, installed_version, fixed_version, file, line, branches, epss, epss_percentile, has_epss, kev, state, status, status_reason, status_until, status_actor, first_seen, last_seen, fixed_at, last_scan_id, url, updated_at)
SELECT
    {{template "id" "n"}} AS finding_id,
    @version, 'scan', asset, scanner, kind,
    concat('bench|', toString(n)), 'bench', concat(kind, '-rule-', toString(cityHash64(n, 30) % 40)),
    concat('Synthetic ', severity, ' ', kind, ' finding'),
    severity, upper(severity), cve, emptyArrayString(),
    if(cve = '', '', concat('pkg-', toString(cityHash64(n, 31) % 300))), if(cve = '', '', '1.0.0'), if(cve = '', '', '1.0.1'),
    concat('src/file', toString(cityHash64(n, 32) % 500)), toUInt32(1 + cityHash64(n, 33) % 400),
    if(is_image, emptyArrayString(), ['main']),
    epss, epss, toUInt8(cve != ''), kev,
    state, status, '', toDateTime(0), if(status = 'none', '', 'report'),
    toDateTime(fs), toDateTime(if(fixed_at > 0, fixed_at - 3600, @now - 3600)), toDateTime(fixed_at),
    {{template "id" "a"}}, '', @updated
FROM ({{template "model" .}})
