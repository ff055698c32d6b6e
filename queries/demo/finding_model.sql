-- Direct load, fragment: one synthetic finding per row number, with its
-- whole lifecycle (included by findings.sql and finding_events.sql, so
-- both see the same values).
--
-- Finding n (@offset ≤ n < @offset + @n), all values hashed from n:
--   asset      a = cityHash64(n, 1) % @assets, with the team, kind and
--              tier assets.sql gives a
--   kind       images: container; repositories: sast 35 %, sca 62 %,
--              secret 3 %; scanner semgrep/codeql (sast), trivy/grype
--              (sca, container, 65/35), gitleaks (secret)
--   severity   critical/high/medium/low: container 9/28/41/22 %, sca
--              11/32/41/16 %, sast 8/30/42/20 %; secrets high
--   status     3 % risk_accepted, 1.5 % false_positive (never fixed)
--   detected   uniform in [@start, @now)
--   fixed      after a log-normal time in days: median by severity
--              (critical 14, high 25, medium 65, low 120; secrets: the
--              team's rotation hours @rotate ÷ 24) × the team's
--              speed (@speed; not for secrets) × maturity (1.35 → 0.8 over the
--              history), sigma 0.6 (critical) or 0.8; open when that is
--              not before @now
--   reopened   with the team's probability (@reopen), 10–60 days after
--              the fix, fixed again after 0.6 × a new draw
--   cve/epss   package findings name one of 5,000 CVEs, carry an EPSS
--              score (90 % below 0.05, 7 % 0.05–0.3, 3 % 0.3–0.9) and 1 %
--              the report's KEV flag
-- Times are DateTime seconds; absent ones are 0.
-- Parameters: offset, n, assets UInt64; team_pct Array(String) (100),
-- team_names Array(String), speed, reopen, rotate Array(Float64) (per
-- team); start, now UInt32 (seconds). Also defines "id": the UUID of a
-- finding or asset number, from two hashes of it.
SELECT
    n, a, team, is_image, kind, scanner, severity, status, asset, tier,
    fs, fix1, re, fix2,
    if(fix2 > 0 OR (fix1 > 0 AND re = 0), 'fixed', 'open') AS state,
    if(fix2 > 0, fix2, if(fix1 > 0 AND re = 0, fix1, 0)) AS fixed_at,
    cve, epss, kev
FROM
(
    SELECT *,
        -- Fix times: 0 when not fixed before now.
        fs + toUInt32(d1 * 86400) AS f1,
        if(status = 'none' AND f1 < @now, f1, toUInt32(0)) AS fix1,
        fix1 + toUInt32((10 + 50 * u_r2) * 86400) AS r1,
        if(fix1 > 0 AND u_r < CAST(@reopen AS Array(Float64))[ti] AND r1 < @now, r1, toUInt32(0)) AS re,
        re + toUInt32(d1 * 0.6 * exp(sigma * z2) * 86400) AS f2,
        if(re > 0 AND f2 < @now, f2, toUInt32(0)) AS fix2
    FROM
    (
        SELECT *,
            median * if(kind = 'secret', 1., CAST(@speed AS Array(Float64))[ti]) * (1.35 - 0.55 * (fs - @start) / (@now - @start)) * exp(sigma * z1) AS d1
        FROM
        (
            SELECT
                n,
                cityHash64(n, 1) % @assets AS a,
                CAST(@team_pct AS Array(String))[1 + cityHash64(a, 2) % 100] AS team,
                indexOf(CAST(@team_names AS Array(String)), team) AS ti,
                cityHash64(a, 3) % 100 < 40 AS is_image,
                cityHash64(a, 5) % 100 AS tp,
                toUInt8(1 + (tp >= 12) + (tp >= 40) + (tp >= 75)) AS tier,
                if(is_image, concat('registry.acme.example/', team, '/bench-', toString(a)), concat('github.com/acme/bench-', toString(a))) AS asset,
                (cityHash64(n, 10) % 1000000) / 1000000. AS u_k,
                multiIf(is_image, 'container', u_k < 0.35, 'sast', u_k < 0.97, 'sca', 'secret') AS kind,
                (cityHash64(n, 11) % 1000000) / 1000000. AS u_s,
                multiIf(kind = 'secret', 'high',
                    kind = 'container', multiIf(u_s < 0.09, 'critical', u_s < 0.37, 'high', u_s < 0.78, 'medium', 'low'),
                    kind = 'sca', multiIf(u_s < 0.11, 'critical', u_s < 0.43, 'high', u_s < 0.84, 'medium', 'low'),
                    multiIf(u_s < 0.08, 'critical', u_s < 0.38, 'high', u_s < 0.80, 'medium', 'low')) AS severity,
                multiIf(kind = 'sast', if(cityHash64(a, 6) % 100 < 55, 'semgrep', 'codeql'),
                    kind = 'secret', 'gitleaks',
                    if(cityHash64(a, 7) % 100 < 65, 'trivy', 'grype')) AS scanner,
                (cityHash64(n, 12) % 1000000) / 1000000. AS u_st,
                multiIf(kind != 'secret' AND u_st < 0.03, 'risk_accepted', kind = 'sast' AND u_st < 0.045, 'false_positive', 'none') AS status,
                toUInt32(@start + (cityHash64(n, 13) % 1000000) / 1000000. * (@now - @start)) AS fs,
                multiIf(kind = 'secret', CAST(@rotate AS Array(Float64))[ti] / 24, severity = 'critical', 14., severity = 'high', 25., severity = 'medium', 65., 120.) AS median,
                if(severity = 'critical', 0.6, 0.8) AS sigma,
                sqrt(-2 * log((cityHash64(n, 14) % 1000000 + 1) / 1000001.)) * cos(2 * pi() * (cityHash64(n, 15) % 1000000) / 1000000.) AS z1,
                sqrt(-2 * log((cityHash64(n, 16) % 1000000 + 1) / 1000001.)) * cos(2 * pi() * (cityHash64(n, 17) % 1000000) / 1000000.) AS z2,
                (cityHash64(n, 18) % 1000000) / 1000000. AS u_r,
                (cityHash64(n, 19) % 1000000) / 1000000. AS u_r2,
                cityHash64(n, 20) % 5000 AS cve_i,
                if(kind IN ('sca', 'container'), concat('CVE-', toString(2018 + cve_i % 8), '-', toString(20000 + cityHash64(cve_i, 21) % 40000)), '') AS cve,
                (cityHash64(cve_i, 22) % 1000000) / 1000000. AS u_e,
                if(cve = '', 0., multiIf(u_e < 0.9, exp(-7.6 + 4.6 * u_e / 0.9), u_e < 0.97, 0.05 + 0.25 * (u_e - 0.9) / 0.07, 0.3 + 0.6 * (u_e - 0.97) / 0.03)) AS epss,
                toUInt8(cve != '' AND cityHash64(cve_i, 23) % 100 = 0) AS kev
            FROM (SELECT number + @offset AS n FROM numbers(@n))
        )
    )
)
{{define "id"}}toUUID(concat(substring(hex(bitOr(cityHash64({{.}}, 101), 9223372036854775808)), 1, 8), '-', substring(hex(bitOr(cityHash64({{.}}, 101), 9223372036854775808)), 9, 4), '-', substring(hex(bitOr(cityHash64({{.}}, 101), 9223372036854775808)), 13, 4), '-', substring(hex(bitOr(cityHash64({{.}}, 102), 9223372036854775808)), 1, 4), '-', substring(hex(bitOr(cityHash64({{.}}, 102), 9223372036854775808)), 5, 12))){{end}}
