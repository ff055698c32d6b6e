-- Direct load: weekly scan runs of every asset's scopes (repositories:
-- SAST and SCA; images: container), the scanners finding_model.sql gives
-- the asset, over [@start, @now); 3 % of the assets are never scanned.
-- Row n covers asset n ÷ (2 × @weeks), scope (n ÷ @weeks) % 2, week
-- n % @weeks. Parameters: offset, n, assets, weeks UInt64; team_pct
-- Array(String); start, now UInt32; ingested DateTime. Writes: scan_runs.
INSERT INTO scan_runs (scan_id, asset, scanner, scanner_version, format, kinds, branch, commit, scan_time, counts, late, tracked, report_sha256, file_name, findings, new, fixed, reopened, unchanged, status, error, ingested_at)
SELECT
    {{template "id" "r"}}, asset, scanner, '', scanner, [kind], if(is_image, '', 'main'), '',
    toDateTime(t), 1, 0, 0, '', 'bench', 0, 0, 0, 0, 0, 'ok', '', @ingested
FROM
(
    SELECT
        number + @offset AS r,
        intDiv(r, 2 * @weeks) AS a,
        intDiv(r, @weeks) % 2 AS sc,
        r % @weeks AS w,
        CAST(@team_pct AS Array(String))[1 + cityHash64(a, 2) % 100] AS team,
        cityHash64(a, 3) % 100 < 40 AS is_image,
        if(is_image, concat('registry.acme.example/', team, '/bench-', toString(a)), concat('github.com/acme/bench-', toString(a))) AS asset,
        multiIf(is_image, 'container', sc = 0, 'sast', 'sca') AS kind,
        multiIf(kind = 'sast', if(cityHash64(a, 6) % 100 < 55, 'semgrep', 'codeql'), if(cityHash64(a, 7) % 100 < 65, 'trivy', 'grype')) AS scanner,
        toUInt32(@start + w * 604800 + cityHash64(a, sc, 8) % 604800) AS t
    FROM numbers(@n)
)
WHERE NOT (is_image AND sc = 1) AND t < @now AND cityHash64(a, 9) % 100 >= 3
