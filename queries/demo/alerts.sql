-- Direct load: alerts of the demo's detection rules (@rule_* arrays, one
-- entry per rule). Alert n: rule from @rule_pick, a 1,000-entry table of
-- rule numbers in proportion to the rules' weekly rates; created uniform
-- in [@start, @now); first triage after a log-normal time in minutes
-- (median 15 falling to 9, sigma 1.1);
-- closed a log-normal time later (median 3 h, sigma 1), with a
-- disposition drawn from the rule's precision: true_positive with
-- probability p, then benign 30 % / false 70 % of the rest, 3 % duplicate,
-- 2 % undetermined, 2 % none; 12 % of the alerts of rules below 20 %
-- precision closed by automation as false positives, untriaged. Alerts
-- whose triage or closing falls after @now are open.
-- Parameters: offset, n UInt64; rule_pick Array(UInt16); rule_precision
-- Array(Float64); rule_system, rule_id, rule_name, rule_severity,
-- rule_original Array(String); start, now UInt32; version UInt64.
-- Writes: alerts.
INSERT INTO alerts (source, alert_id, rule_id, rule_name, severity, original_severity, created, first_triage, closed, status, disposition, original_disposition, auto_closed, assignee, team, asset, incident, updated, version)
SELECT
    concat(CAST(@rule_system AS Array(String))[r], ':bench') AS source,
    concat('A', toString(n)),
    CAST(@rule_id AS Array(String))[r],
    CAST(@rule_name AS Array(String))[r],
    CAST(@rule_severity AS Array(String))[r],
    CAST(@rule_original AS Array(String))[r],
    toDateTime(created),
    if(auto OR triage >= @now, CAST(NULL AS Nullable(DateTime)), toNullable(toDateTime(triage))),
    if(closed >= @now, CAST(NULL AS Nullable(DateTime)), toNullable(toDateTime(closed))),
    if(closed >= @now, if(triage >= @now, 'new', 'active'), 'closed'),
    if(closed >= @now, 'none', disp),
    if(closed >= @now OR disp = 'none', '', disp),
    toUInt8(auto),
    if(auto, '', concat('analyst', toString(cityHash64(n, 46) % 8 + 1))),
    'security', '', '',
    toDateTime(least(toUInt32(closed), toUInt32(@now - 1))),
    @version
FROM
(
    SELECT *,
        CAST(@rule_pick AS Array(UInt16))[1 + cityHash64(n, 40) % 1000] AS r,
        CAST(@rule_precision AS Array(Float64))[r] AS p,
        p < 0.2 AND u_a < 0.12 AS auto,
        toUInt32(created + 60 * (15 - 6 * (created - @start) / (@now - @start)) * exp(1.1 * z1)) + 1 AS triage,
        if(auto, created + 300 + toUInt32(u_a * 30000), triage + toUInt32(10800 * exp(z2))) AS closed,
        multiIf(auto, 'false_positive', u_d < 0.03, 'duplicate', u_d < 0.05, 'undetermined', u_d < 0.07, 'none',
            u_v < p, 'true_positive', u_v < p + (1 - p) * 0.3, 'benign_positive', 'false_positive') AS disp
    FROM
    (
        SELECT
            number + @offset AS n,
            toUInt32(@start + (cityHash64(n, 41) % 1000000) / 1000000. * (@now - @start)) AS created,
            sqrt(-2 * log((cityHash64(n, 42) % 1000000 + 1) / 1000001.)) * cos(2 * pi() * (cityHash64(n, 43) % 1000000) / 1000000.) AS z1,
            sqrt(-2 * log((cityHash64(n, 44) % 1000000 + 1) / 1000001.)) * cos(2 * pi() * (cityHash64(n, 45) % 1000000) / 1000000.) AS z2,
            (cityHash64(n, 47) % 1000000) / 1000000. AS u_a,
            (cityHash64(n, 48) % 1000000) / 1000000. AS u_d,
            (cityHash64(n, 49) % 1000000) / 1000000. AS u_v
        FROM numbers(@n)
    )
)
