-- Finding states as of period ends: the one implementation of "state at the
-- end of a period" (../shared/spec/kpis.md, "State at the end of a period";
-- docs/metrics.md, "As-of rules") that every vulnerability KPI and list
-- aggregates. It is a fragment, included by the kpi/*.sql files that say so.
--
-- One row per (finding, period) for the periods [@froms[pi], @tos[pi]):
-- each finding's events are read once and grouped into sorted arrays (all
-- events; lifecycle events; distinct fixes; distinct reopens), with what
-- does not depend on the period computed once per finding (the first
-- detection; for each fix whether a reopen followed within 60 days). Each
-- period end then only counts array prefixes (events before T), so a trend
-- or a current/previous pair costs one pass over finding_events. Only
-- events with event_time < end count, except the reopen look-ahead (60
-- days after a fix, up to @horizon). Identical duplicate events (before
-- merges) do not change any state and fix events are counted distinct.
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
-- are the latest reopens before T and before the fix looked up).
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
    SELECT
        finding_id, asset, kind, scanner,
        arrayJoin(arrayEnumerate(CAST(@tos AS Array(DateTime)))) AS pi,
        CAST(@tos AS Array(DateTime))[pi] AS T,
        CAST(@froms AS Array(DateTime))[pi] AS F,
        if(detected_at < T, detected_at, toDateTime(0)) AS first_seen,
        ev[arrayCount(e -> e.1 < T, ev)] AS last_event,
        last_event.3 AS sev_end,
        if(last_event.4 = 2 AND last_event.5 > toDateTime(0) AND last_event.5 <= T, 0, last_event.4) AS status_end,
        lc[arrayCount(e -> e.1 < T, lc)] AS last_lc,
        last_lc.2 AS lc_last,
        last_lc.1 AS lc_time,
        lc_last IN (1, 3) AS is_open,
        arrayCount(f -> f.1 < T, fx) AS fixes_before_end,
        arrayCount(f -> f.1 < F, fx) AS fixes_before_start,
        toUInt64(fixes_before_end - fixes_before_start) AS fix_events,
        fix_events > 0 AS fixed_in,
        fx[fixes_before_end].1 AS fix_time,
        if(fixed_in, fx[fixes_before_end].2, sev_end) AS sev_fix,
        toUInt64(arraySum(arraySlice(fx_reopened, fixes_before_start + 1, fix_events))) AS fix_reopened,
        arrayCount(h -> h.1 < T, hist) AS ai,
        if(ai = 0 OR hist[ai].2 = '', 'unowned', hist[ai].2) AS team,
        hist[ai].3 AS business_unit,
        hist[ai].4 AS tier,
        hist[arrayCount(h -> h.1 < fix_time, hist)].4 AS tier_fix,
        in_kev = 1 AND kev_from < T AS kev_end,
        in_kev = 1 AND kev_from < fix_time AS kev_fix,
        {{if .Restart}}ro[arrayCount(r -> r < T, ro)]{{else}}toDateTime(0){{end}} AS reopen_end,
        {{if .Restart}}ro[arrayCount(r -> r < fix_time, ro)]{{else}}toDateTime(0){{end}} AS reopen_fix,
        {{.DueEnd}} AS due_end,
        {{.DueFix}} AS due_fix
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
                minIf(event_time, event_type = 'detected') AS detected_at,
                arraySort(groupArray((event_time, toUInt8(event_type), toUInt8(severity), toUInt8(status), status_until))) AS ev,
                arraySort(groupArrayIf((event_time, toUInt8(event_type)), toUInt8(event_type) <= 3)) AS lc,
                arrayDistinct(arraySort(groupArrayIf((event_time, toUInt8(severity)), event_type = 'fixed'))) AS fx,
                arrayDistinct(arraySort(groupArrayIf(event_time, event_type = 'reopened'))) AS ro,
                arrayMap(f -> toUInt32(arrayExists(r -> r > f.1 AND r <= f.1 + 5184000, ro)), fx) AS fx_reopened
            FROM
            (
                SELECT finding_id, event_time, event_type, severity, status, status_until, asset, kind, scanner
                FROM finding_events
                WHERE event_time < @horizon
                  AND (empty(CAST(@f_sources AS Array(String))) OR has(CAST(@f_sources AS Array(String)), scanner))
                  AND (empty(CAST(@f_assets AS Array(String))) OR has(CAST(@f_assets AS Array(String)), asset))
                  {{.Prefilter}}
            )
            GROUP BY finding_id
        ) AS fs_l1
        ANY LEFT JOIN ({{.Assets}}) AS fs_r1 USING asset
    ) AS fs_l2
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
    ) AS fs_r2 USING finding_id
)
WHERE first_seen > toDateTime(0)
  AND status_end NOT IN (1, 3)
  AND (empty(CAST(@scope AS Array(String))) OR has(CAST(@scope AS Array(String)), team))
  AND (empty(CAST(@f_teams AS Array(String))) OR has(CAST(@f_teams AS Array(String)), team))
  AND (empty(CAST(@f_bus AS Array(String))) OR has(CAST(@f_bus AS Array(String)), business_unit))
  AND (empty(CAST(@f_tiers AS Array(UInt8))) OR has(CAST(@f_tiers AS Array(UInt8)), tier))
