-- Finding states as of period ends: the one implementation of "state at the
-- end of a period" (../shared/spec/kpis.md, "State at the end of a period";
-- docs/metrics.md, "As-of rules") that every vulnerability KPI and list
-- aggregates. It is a fragment, included by the kpi/*.sql files that say so.
--
-- One row per (finding, period) for the periods [@froms[pi], @tos[pi]):
-- finding_events is read once and grouped by finding; for every period the
-- aggregation keeps the few values the rules need (-If aggregates with the
-- period's bounds, one array element per period, written out by the
-- template loop over P), and the rows per period come from arrayJoin over
-- those arrays. Latest-event values use the key k = event_time · 8 +
-- event type, so ties at one instant go by event type. Only events with
-- event_time < end count, except the reopen look-ahead (60 days after a
-- fix, up to @horizon). Identical duplicate events (before merges) change
-- no state and fix events are counted distinct.
--
-- Rules, per finding and period end T:
--   first_seen   earliest `detected` event before T (1970 = not seen: dropped)
--   lc_last      latest of detected(1)/fixed(2)/reopened(3) before T,
--                ties by event type; open when 1 or 3, fixed when 2
--   sev_end      severity of the latest event before T (Enum8 code)
--   status_end   status of the latest event before T; risk_accepted (2)
--                whose status_until (1970 = none) is <= T counts as none (0).
--                false_positive (1) and duplicate (3) rows are dropped here.
--   fixed_in     a fix event in [F, T); fix_time/sev_fix are the last one's
--                (sev_fix = sev_end when none)
--   fix_events   distinct fix times in [F, T); fix_reopened: how many of
--                them a reopen follows within 60 days (5,184,000 s)
--   team, business_unit, tier
--                the asset's row with the greatest valid_from < T
--                (no row or empty team: team "unowned", tier 0)
--   tier_fix     the asset's tier as of the fix time (SLA of fixed findings)
--   kev_end/kev_fix  CVE or alias in KEV (date_added 00:00 UTC < T, resp.
--                < fix time), or the report's own kev flag
--   due_end/due_fix  due dates (SLA policy, metrics.DueSQL) as of T / the fix
--
-- Parameters: froms, tos Array(DateTime) (same length), horizon DateTime
-- (max(tos) + 60 days), scope, f_teams, f_bus, f_sources, f_assets
-- Array(String), f_tiers Array(UInt8), and the SLA parameters of
-- metrics.SLAPolicy.DueArgs. Template fields: Group (a Go-allowlisted
-- expression over team, business_unit, tier, scanner, asset), DueEnd,
-- DueFix (metrics.DueSQL), Prefilter (an extra condition on finding_id),
-- Assets (kpi/asset_history.sql), Restart (restart_sla_on_reopen: only then
-- are the latest reopens before T and before the fix looked up), P (the
-- period indexes 0 … n − 1) and the functions to/from (period i's bound).
-- Output: finding_id, pi, T, F, asset, kind, scanner, team, business_unit,
-- tier, g, first_seen, lc_last, lc_time, is_open, sev_end, status_end,
-- fixed_in, fix_time, sev_fix, fix_events, fix_reopened, kev_end, due_end,
-- due_fix.
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
            finding_id, asset, kind, scanner, kev_due,
            arrayJoin(arrayEnumerate(lc_k)) AS pi,
            CAST(@tos AS Array(DateTime))[pi] AS T,
            CAST(@froms AS Array(DateTime))[pi] AS F,
            if(detected_at < T, detected_at, toDateTime(0)) AS first_seen,
            lc_k[pi] AS lck,
            toUInt8(lck % 8) AS lc_last,
            toDateTime(intDiv(lck, 8), 'UTC') AS lc_time,
            lc_last IN (1, 3) AS is_open,
            toUInt8(intDiv(last_ss[pi], 4)) AS sev_end,
            toUInt8(last_ss[pi] % 4) AS status_raw,
            if(status_raw = 2 AND last_until[pi] > toDateTime(0) AND last_until[pi] <= T, toUInt8(0), status_raw) AS status_end,
            fix_k[pi] AS fk,
            fk > 0 AS fixed_in,
            toDateTime(intDiv(fk, 8), 'UTC') AS fix_time,
            if(fixed_in, toUInt8(fk % 8), sev_end) AS sev_fix,
            toUInt64(fix_n[pi]) AS fix_events,
            toUInt64(reopened_n[pi]) AS fix_reopened,
            in_kev = 1 AND kev_from < T AS kev_end,
            in_kev = 1 AND kev_from < fix_time AS kev_fix,
            {{if .Restart}}reopen_k[pi]{{else}}toDateTime(0){{end}} AS reopen_end,
            {{if .Restart}}ro[arrayCount(r -> r < fix_time, ro)]{{else}}toDateTime(0){{end}} AS reopen_fix,
            if(a_team[pi] = '', 'unowned', a_team[pi]) AS team,
            a_bu[pi] AS business_unit,
            a_tier[pi] AS tier,
            a_tiers[arrayCount(v -> v < fix_time, a_from)] AS tier_fix
        FROM
        (
            SELECT *
            FROM
            (
                SELECT
                    finding_id,
                    any(asset) AS asset,
                    any(kind) AS kind,
                    any(scanner) AS scanner,
                    minIf(event_time, et = 1) AS detected_at,
                    -- per period: the latest lifecycle event (k), the severity · 4 +
                    -- status and the status_until of the latest event, the last fix
                    -- in [F, T) as fix time · 8 + severity, and the distinct fixes
                    -- in [F, T)
                    [{{range $i, $_ := .P}}{{if $i}}, {{end}}maxIf(k, et <= 3 AND event_time < {{to $i}}){{end}}] AS lc_k,
                    [{{range $i, $_ := .P}}{{if $i}}, {{end}}argMaxIf(sev * 4 + st, k, event_time < {{to $i}}){{end}}] AS last_ss,
                    [{{range $i, $_ := .P}}{{if $i}}, {{end}}argMaxIf(status_until, k, event_time < {{to $i}}){{end}}] AS last_until,
                    [{{range $i, $_ := .P}}{{if $i}}, {{end}}maxIf(toUInt64(event_time) * 8 + sev, et = 2 AND event_time >= {{from $i}} AND event_time < {{to $i}}){{end}}] AS fix_k,
                    -- distinct fix times, the distinct fixes in [F, T), and the fixes
                    -- followed by a reopen within 60 days (whatever the period)
                    arrayDistinct(arraySort(groupArrayIf(event_time, et = 2))) AS fx,
                    [{{range $i, $_ := .P}}{{if $i}}, {{end}}arrayCount(f -> f >= {{from $i}} AND f < {{to $i}}, fx){{end}}] AS fix_n,
                    arrayDistinct(arraySort(groupArrayIf(event_time, et = 3))) AS ro,
                    arrayFilter(f -> arrayExists(r -> r > f AND r <= f + 5184000, ro), fx) AS fx_reopened,
                    [{{range $i, $_ := .P}}{{if $i}}, {{end}}arrayCount(f -> f >= {{from $i}} AND f < {{to $i}}, fx_reopened){{end}}] AS reopened_n{{if .Restart}},
                    [{{range $i, $_ := .P}}{{if $i}}, {{end}}maxIf(event_time, et = 3 AND event_time < {{to $i}}){{end}}] AS reopen_k{{end}}
                FROM
                (
                    SELECT finding_id, event_time, toUInt8(event_type) AS et, toUInt8(severity) AS sev, toUInt8(status) AS st,
                        status_until, asset, kind, scanner, toUInt64(event_time) * 8 + et AS k
                    FROM finding_events
                    WHERE event_time < @horizon
                      AND (empty(CAST(@f_sources AS Array(String))) OR has(CAST(@f_sources AS Array(String)), scanner))
                      AND (empty(CAST(@f_assets AS Array(String))) OR has(CAST(@f_assets AS Array(String)), asset))
                      {{.Prefilter}}
                )
                GROUP BY finding_id
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
                        SELECT finding_id, arrayJoin(arrayFilter(x -> x != '', arrayPushFront(aliases, cve))) AS cve
                        FROM findings
                        WHERE cve != '' OR notEmpty(aliases)
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
WHERE first_seen > toDateTime(0)
  AND status_end NOT IN (1, 3)
  AND (empty(CAST(@scope AS Array(String))) OR has(CAST(@scope AS Array(String)), team))
  AND (empty(CAST(@f_teams AS Array(String))) OR has(CAST(@f_teams AS Array(String)), team))
  AND (empty(CAST(@f_bus AS Array(String))) OR has(CAST(@f_bus AS Array(String)), business_unit))
  AND (empty(CAST(@f_tiers AS Array(UInt8))) OR has(CAST(@f_tiers AS Array(UInt8)), tier))
