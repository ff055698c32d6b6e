-- Finding states as of period ends: the one implementation of "state at the
-- end of a period" (../shared/spec/kpis.md, "State at the end of a period";
-- docs/metrics.md, "As-of rules") that every vulnerability KPI and list
-- aggregates. It is a fragment, included by the kpi/*.sql files that say so.
--
-- One row per (finding_intervals row, period [@froms[pi], @tos[pi])) for
-- the row in force at the period end T: valid_from < T <= valid_to, so the
-- row holds the state after every event before T (ingest.BuildIntervals
-- computes it from finding_events; queries/schema/0005 describes the
-- columns). A row ingest replaced and ClickHouse has not merged away yet
-- (it has a -1 copy) is collapsed here, for the few findings that have
-- one, so each output row stands for one finding and period.
--
-- Rules, per finding and period end T:
--   first_seen   first detection (a row exists only after one)
--   lc_last      latest of detected(1)/fixed(2)/reopened(3) before T,
--                ties by event type; open when 1 or 3, fixed when 2
--   sev_end      severity of the latest event before T (code)
--   status_end   status of the latest event before T; risk_accepted (2)
--                whose status_until (1970 = none) is <= T counts as none (0).
--                false_positive (1) and duplicate (3) rows are dropped here.
--   fixed_in     a fix in [F, T); fix_time/sev_fix are the last one's
--                (sev_fix = sev_end when none)
--   fix_events   distinct fix times in [F, T); fix_reopened: how many of
--                them a reopen follows within 60 days (whenever it came)
--   team, business_unit, tier
--                the asset's row with the greatest valid_from < T
--                (no row or empty team: team "unowned", tier 0)
--   tier_fix     the asset's tier as of the fix time (SLA of fixed findings)
--   kev_end/kev_fix  CVE or alias in KEV (date_added 00:00 UTC < T, resp.
--                < fix time), or the report's own kev flag
--   due_end/due_fix  due dates (SLA policy, metrics.DueSQL) as of T / the fix
--
-- Parameters: froms, tos Array(DateTime) (same length), to_min, to_max
-- DateTime (their least and greatest end), scope, f_teams, f_bus,
-- f_sources, f_assets Array(String), f_tiers Array(UInt8), and the SLA
-- parameters of metrics.SLAPolicy.DueArgs. Template fields: Group (a
-- Go-allowlisted expression over team, business_unit, tier, scanner,
-- asset), DueEnd, DueFix (metrics.DueSQL), Assets (kpi/asset_history.sql), Restart
-- (restart_sla_on_reopen: the latest reopen before T, resp. before the
-- fix, starts the clock), Open (keep only rows open at T, for statements
-- that read nothing else), P (the period indexes 0 … n − 1) and the
-- functions to/from (period i's bound).
-- Output: finding_id, pi, T, F, asset, kind, scanner, team,
-- business_unit, tier, g, first_seen, lc_last, lc_time, is_open, sev_end,
-- status_end, fixed_in, fix_time, sev_fix, fix_events, fix_reopened,
-- kev_end, due_end, due_fix.
SELECT
    finding_id, pi, T, F, asset, kind, scanner, team, business_unit, tier, {{.Group}} AS g,
    first_seen, lc_last, lc_time, is_open, sev_end, status_end,
    fixed_in, fix_time, sev_fix, fix_events, fix_reopened, kev_end, due_end, due_fix
FROM
(
    SELECT *,
        {{.DueEnd}} AS due_end,
        {{.DueFix}} AS due_fix
    FROM
    (
        SELECT
            finding_id, asset, kind, scanner, kev_due, pi, T, F, first_seen,
            lc AS lc_last,
            lc_time,
            lc IN (1, 3) AS is_open,
            severity AS sev_end,
            if(status = 2 AND status_until > toDateTime(0) AND status_until <= T, toUInt8(0), status) AS status_end,
            -- every fix of the row is before T: those from F on are in the period
            toUInt64(arrayCount(f -> f >= F, fix_times)) AS fix_events,
            fix_events > 0 AS fixed_in,
            length(fix_times) AS nfix,
            if(fixed_in, fix_times[nfix], toDateTime(0)) AS fix_time,
            if(fixed_in, fix_sevs[nfix], sev_end) AS sev_fix,
            toUInt64(arraySum(arrayMap((f, r) -> f >= F AND r = 1, fix_times, fix_reopened))) AS fix_reopened,
            in_kev = 1 AND kev_from < T AS kev_end,
            in_kev = 1 AND kev_from < fix_time AS kev_fix,
            {{if .Restart}}last_reopen{{else}}toDateTime(0){{end}} AS reopen_end,
            {{if .Restart}}if(fixed_in, fix_reopens[nfix], toDateTime(0)){{else}}toDateTime(0){{end}} AS reopen_fix,
            if(a_team[pi] = '', 'unowned', a_team[pi]) AS team,
            a_bu[pi] AS business_unit,
            a_tier[pi] AS tier,
            a_tiers[arrayCount(v -> v < fix_time, a_from)] AS tier_fix
        FROM
        (
            SELECT *
            FROM
            (
                -- The row in force at each period end T (valid_from < T <=
                -- valid_to), one per (row, period), except where no measure
                -- reads it: fixed before F (no fix in the period, not open)
                -- and first seen more than 365 days before T (outside the
                -- survival cohort and not opened in the period); with Open,
                -- every row not open at T. Rows replaced by ingest
                -- still unmerged (a -1 copy exists) are collapsed first, so
                -- every row here counts once.
                SELECT
                    finding_id, asset, kind, scanner, first_seen, lc, lc_time, severity, status, status_until,
                    last_reopen, fix_times, fix_sevs, fix_reopens, fix_reopened,
                    arrayJoin(pis) AS pi,
                    CAST(@tos AS Array(DateTime))[pi] AS T,
                    CAST(@froms AS Array(DateTime))[pi] AS F
                FROM
                (
                    -- (The periods are chosen inside each branch and without a
                    -- lambda: 18.16 loses a lambda's columns through UNION ALL.)
                    SELECT finding_id, asset, kind, scanner, first_seen, lc, lc_time, severity, status,
                        status_until, last_reopen, fix_times, fix_sevs, fix_reopens, fix_reopened, {{template "pis" .}}
                    FROM finding_intervals
                    WHERE valid_from < @to_max AND valid_to >= @to_min
                      AND finding_id NOT IN (SELECT finding_id FROM finding_intervals WHERE sign < 0)
                      {{template "filters" .}}
                    UNION ALL
                    SELECT finding_id, c_asset AS asset, c_kind AS kind, c_scanner AS scanner, c_first_seen AS first_seen, c_lc AS lc, c_lc_time AS lc_time, c_severity AS severity, c_status AS status, c_status_until AS status_until, c_last_reopen AS last_reopen, c_fix_times AS fix_times, c_fix_sevs AS fix_sevs, c_fix_reopens AS fix_reopens, c_fix_reopened AS fix_reopened,
                        {{template "pis_c" .}}
                    FROM
                    (
                        SELECT finding_id, valid_from, any(valid_to) AS c_valid_to, any(asset) AS c_asset, any(kind) AS c_kind, any(scanner) AS c_scanner, any(first_seen) AS c_first_seen, any(lc) AS c_lc, any(lc_time) AS c_lc_time, any(severity) AS c_severity, any(status) AS c_status, any(status_until) AS c_status_until, any(last_reopen) AS c_last_reopen, any(fix_times) AS c_fix_times, any(fix_sevs) AS c_fix_sevs, any(fix_reopens) AS c_fix_reopens, any(fix_reopened) AS c_fix_reopened
                        FROM finding_intervals
                        WHERE valid_from < @to_max AND valid_to >= @to_min
                          AND finding_id IN (SELECT finding_id FROM finding_intervals WHERE sign < 0)
                          {{template "filters" .}}
                        GROUP BY finding_id, valid_from, row_hash
                        HAVING sum(sign) > 0
                    )
                )
            ) AS fs_l1
            ANY LEFT JOIN
            (
                -- Findings known exploited: by the catalog (from date_added) or by
                -- the report itself (from the start: the current row has no date).
                SELECT finding_id, toUInt8(1) AS in_kev, min(added) AS kev_from, minIf(due, due > toDateTime(0)) AS kev_due
                FROM
                (
                    SELECT finding_id, toDateTime(date_added, 'UTC') AS added,
                        if(due_date > toDate('1970-01-01'), toDateTime(due_date, 'UTC') + 86400, toDateTime(0)) AS due
                    FROM
                    (
                        -- Each id (CVE and aliases) of a finding, then only those in
                        -- the catalog: a set lookup per id. (hasAny(aliases, catalog
                        -- array) compared every alias with every entry: 0.7 s of
                        -- this pass at 1M findings on 18.16.)
                        SELECT finding_id, cve
                        FROM
                        (
                            SELECT finding_id, arrayJoin(arrayFilter(x -> x != '', arrayPushFront(aliases, cve))) AS cve
                            FROM findings
                            WHERE cve != '' OR notEmpty(aliases)
                        )
                        WHERE cve IN (SELECT cve FROM kev)
                    ) AS fs_l3
                    ANY INNER JOIN
                    (
                        SELECT cve, min(date_added) AS date_added, min(due_date) AS due_date
                        FROM kev
                        GROUP BY cve
                    ) AS fs_r3 USING cve
                    UNION ALL
                    SELECT finding_id, toDateTime(0) AS added, toDateTime(0) AS due
                    FROM findings
                    WHERE kev = 1
                )
                GROUP BY finding_id
            ) AS fs_r1 USING finding_id
        ) AS fs_l2
        ANY LEFT JOIN
        (
            -- Each asset as of each period end (one array element per period):
            -- team, business unit and tier; and its versions' tiers, for the
            -- tier at a fix time.
            SELECT asset,
                [{{range $i, $_ := .P}}{{if $i}}, {{end}}hist[arrayCount(h -> h.1 < {{to $i}}, hist)].2{{end}}] AS a_team,
                [{{range $i, $_ := .P}}{{if $i}}, {{end}}hist[arrayCount(h -> h.1 < {{to $i}}, hist)].3{{end}}] AS a_bu,
                [{{range $i, $_ := .P}}{{if $i}}, {{end}}hist[arrayCount(h -> h.1 < {{to $i}}, hist)].4{{end}}] AS a_tier,
                arrayMap(h -> h.1, hist) AS a_from,
                arrayMap(h -> h.4, hist) AS a_tiers
            FROM ({{.Assets}})
        ) AS fs_r2 USING asset
    )
)
WHERE status_end NOT IN (1, 3)
  AND (empty(CAST(@scope AS Array(String))) OR has(CAST(@scope AS Array(String)), team))
  AND (empty(CAST(@f_teams AS Array(String))) OR has(CAST(@f_teams AS Array(String)), team))
  AND (empty(CAST(@f_bus AS Array(String))) OR has(CAST(@f_bus AS Array(String)), business_unit))
  AND (empty(CAST(@f_tiers AS Array(UInt8))) OR has(CAST(@f_tiers AS Array(UInt8)), tier))
{{define "filters"}}AND (empty(CAST(@f_sources AS Array(String))) OR has(CAST(@f_sources AS Array(String)), scanner))
                      AND (empty(CAST(@f_assets AS Array(String))) OR has(CAST(@f_assets AS Array(String)), asset))
{{end}}
{{define "pis"}}arrayConcat({{range $i, $_ := .P}}{{if $i}}, {{end}}if(valid_from < {{to $i}} AND valid_to >= {{to $i}} AND {{if $.Open}}lc IN (1, 3){{else}}(lc != 2 OR lc_time >= {{from $i}} OR first_seen >= {{to $i}} - 31536000){{end}}, [toUInt32({{$i}} + 1)], emptyArrayUInt32()){{end}}) AS pis{{end}}
{{define "pis_c"}}arrayConcat({{range $i, $_ := .P}}{{if $i}}, {{end}}if(valid_from < {{to $i}} AND c_valid_to >= {{to $i}} AND {{if $.Open}}c_lc IN (1, 3){{else}}(c_lc != 2 OR c_lc_time >= {{from $i}} OR c_first_seen >= {{to $i}} - 31536000){{end}}, [toUInt32({{$i}} + 1)], emptyArrayUInt32()){{end}}) AS pis{{end}}
