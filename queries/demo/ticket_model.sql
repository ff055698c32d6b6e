-- Direct load, fragment: one synthetic Jira ticket per row number
-- (included by tickets.sql and worklogs.sql).
--
-- Ticket n (@offset ≤ n < @offset + @n): kind by the generator's mix
-- (incident 16 %, design_review 17 %, threat_model 6 %,
-- customer_escalation 11 %, security_debt 16 %, vulnerability 13 %, toil
-- 15 %, other 6 %); created uniform in [@start, @now); resolved after a
-- log-normal time in days by kind (incident 4, design_review 8 falling to
-- 4, threat_model 12, customer_escalation 14 falling to 10, security_debt
-- 170 falling to 60, vulnerability the severity's fix median, toil 4.4,
-- other 60), open when that is not before @now; incidents contained after
-- a log-normal 6 h; team by the asset's team (toil and other: security);
-- worklogs: toil 8, other 4, incident 2, vulnerability 2, the rest 1
-- (security debt none).
-- Parameters: offset, n, assets UInt64; team_pct Array(String); start,
-- now UInt32.
SELECT *,
    if(kind IN ('toil', 'other'), 'security', team_a) AS team,
    if(done_at < @now, done_at, toUInt32(0)) AS resolved,
    if(kind = 'incident' AND contain_at < @now, contain_at, toUInt32(0)) AS contained,
    multiIf(kind = 'toil', 8, kind = 'other', 4, kind IN ('incident', 'vulnerability'), 2, kind = 'security_debt', 0, 1) AS logs
FROM
(
    SELECT *,
        created + toUInt32(days * 86400) AS done_at,
        created + toUInt32(6 * 3600 * exp(0.7 * z)) AS contain_at
    FROM
    (
        SELECT
            number + @offset AS n,
            (cityHash64(n, 60) % 1000000) / 1000000. AS u,
            multiIf(u < 0.16, 'incident', u < 0.33, 'design_review', u < 0.39, 'threat_model', u < 0.50, 'customer_escalation',
                u < 0.66, 'security_debt', u < 0.79, 'vulnerability', u < 0.94, 'toil', 'other') AS kind,
            toUInt32(@start + (cityHash64(n, 61) % 1000000) / 1000000. * (@now - @start)) AS created,
            (created - @start) / (@now - @start) AS frac,
            sqrt(-2 * log((cityHash64(n, 62) % 1000000 + 1) / 1000001.)) * cos(2 * pi() * (cityHash64(n, 63) % 1000000) / 1000000.) AS z,
            (cityHash64(n, 64) % 1000000) / 1000000. AS u_s,
            multiIf(u_s < 0.12, 'critical', u_s < 0.5, 'high', u_s < 0.88, 'medium', 'low') AS vsev,
            multiIf(kind = 'incident', 4., kind = 'design_review', 8 - 4 * frac, kind = 'threat_model', 12., kind = 'customer_escalation', 14 - 4 * frac,
                kind = 'security_debt', 170 - 110 * frac, kind = 'toil', 4.4, kind = 'other', 60.,
                multiIf(vsev = 'critical', 14., vsev = 'high', 25., vsev = 'medium', 65., 120.)) * exp(if(kind = 'toil', 0., 0.6) * z) AS days,
            cityHash64(n, 65) % @assets AS a,
            CAST(@team_pct AS Array(String))[1 + cityHash64(a, 2) % 100] AS team_a,
            if(cityHash64(a, 3) % 100 < 40, concat('registry.acme.example/', team_a, '/bench-', toString(a)), concat('github.com/acme/bench-', toString(a))) AS asset_a
        FROM numbers(@n)
    )
)
