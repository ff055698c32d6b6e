-- Vulnerability KPIs from one pass over finding_events: vuln_mttr@1,
-- vuln_ttr_survival@1, sla_adherence@1, vuln_backlog@1, reopen_rate@1 and
-- secrets_exposure@1 (definitions: ../shared/spec/kpis.md and
-- docs/metrics.md).
--
-- Window: each period [F, T) of @froms/@tos, state as of T (finding_states).
-- Findings are first aggregated per (period, group, severity at T,
-- severity at the last fix in the period); those groups are then spread
-- over the slices "all", the end severity and the fix severity: a fix
-- measure counts in the slices of its fix severity, an end measure in
-- those of its end severity, and the severity filter @f_sevs (Array(UInt8)
-- codes) applies the same way.
-- status_end = 0 (none) keeps risk_accepted out of remediation times,
-- SLA ratios and the open count (it has its own column).
--
-- Units: durations in seconds (Float64), percentiles per PERCENTILE.INC
-- (h = (n − 1)·p, linear interpolation) over the sorted durations.
-- Parameters: those of finding_states plus f_sevs. Template: States.
-- Output, per (pi, g, slice):
--   mttr_n, mttr_p (Array [p50, p90]), mttr_mean      fixed in period, status none
--   sla_fixed_n, sla_fixed_ok                          ... with an SLA, and fixed by due
--   sla_open_n, sla_overdue                            open, status none, with an SLA; due < T
--   open_n, age_0_30, age_31_90, age_91_180, age_over_180, ra_open
--   opened_n, fixed_n                                  first seen in / fixed in the period
--   fix_events, fix_reopened                           reopen_rate numerator/denominator
--   secret_new, rotate_n, rotate_p                     secrets_exposure
--   km_d, km_cum_ev, km_cum_n                          Kaplan–Meier input: the distinct
--       durations in seconds (ascending) with the cumulative events and the
--       cumulative findings up to and including each (grouped in ClickHouse by
--       sorting d·2 + fixed and keeping each duration's last position).
--       Cohort: first seen in [T − 365 d, T), status none; a finding fixed at
--       T (latest lifecycle event a fix) is an event at lc_time − first_seen,
--       one open at T is censored at T − first_seen; slice by severity at T.
--       The product is taken in Go (metrics.KaplanMeier).
SELECT pi, g, slice, mttr_n, mttr_p, mttr_mean, sla_fixed_n, sla_fixed_ok, sla_open_n, sla_overdue,
    open_n, age_0_30, age_31_90, age_91_180, age_over_180, ra_open, opened_n, fixed_n, fix_events, fix_reopened,
    secret_new, rotate_n, rotate_p, km_d, km_cum_ev, km_cum_n
FROM
(
    SELECT
        pi, g, slice,
        length(mttr) AS mttr_n,
        arrayMap(p -> mttr[toUInt32(floor((mttr_n - 1) * p)) + 1] + ((mttr_n - 1) * p - floor((mttr_n - 1) * p)) * (mttr[toUInt32(ceil((mttr_n - 1) * p)) + 1] - mttr[toUInt32(floor((mttr_n - 1) * p)) + 1]), [0.5, 0.9]) AS mttr_p,
        if(mttr_n = 0, 0, arraySum(mttr) / mttr_n) AS mttr_mean,
        sla_fixed_n, sla_fixed_ok, sla_open_n, sla_overdue,
        open_n, age_0_30, age_31_90, age_91_180, age_over_180, ra_open,
        opened_n, fixed_n, fix_events, fix_reopened,
        secret_new,
        length(rotate) AS rotate_n,
        arrayMap(p -> rotate[toUInt32(floor((rotate_n - 1) * p)) + 1] + ((rotate_n - 1) * p - floor((rotate_n - 1) * p)) * (rotate[toUInt32(ceil((rotate_n - 1) * p)) + 1] - rotate[toUInt32(floor((rotate_n - 1) * p)) + 1]), [0.5, 0.9]) AS rotate_p,
        arrayMap(x -> intDiv(x, 2), kmp) AS km_all,
        arraySlice(arrayPushBack(arrayMap((a, b) -> toUInt8(a != b), arrayPopBack(km_all), arrayPopFront(km_all)), toUInt8(1)), 1, length(km_all)) AS km_last,
        arrayFilter((x, m) -> m = 1, km_all, km_last) AS km_d,
        arrayFilter((x, m) -> m = 1, arrayCumSum(arrayMap(x -> x % 2, kmp)), km_last) AS km_cum_ev,
        arrayFilter((x, m) -> m = 1, arrayEnumerate(kmp), km_last) AS km_cum_n
    FROM
    (
        -- Per slice: the (end severity, fix severity) groups whose fix measures
        -- (fix severity) or end measures (end severity) belong to it.
        SELECT
            pi, g, slice,
            arraySort(groupArrayArrayIf(mttr, fix_in)) AS mttr,
            sumIf(sla_fixed_n, fix_in) AS sla_fixed_n,
            sumIf(sla_fixed_ok, fix_in) AS sla_fixed_ok,
            sumIf(sla_open_n, end_in) AS sla_open_n,
            sumIf(sla_overdue, end_in) AS sla_overdue,
            sumIf(open_n, end_in) AS open_n,
            sumIf(age_0_30, end_in) AS age_0_30,
            sumIf(age_31_90, end_in) AS age_31_90,
            sumIf(age_91_180, end_in) AS age_91_180,
            sumIf(age_over_180, end_in) AS age_over_180,
            sumIf(ra_open, end_in) AS ra_open,
            sumIf(opened_n, end_in) AS opened_n,
            sumIf(fixed_n, fix_in) AS fixed_n,
            sumIf(fix_events, fix_in) AS fix_events,
            sumIf(fix_reopened, fix_in) AS fix_reopened,
            sumIf(secret_new, end_in) AS secret_new,
            arraySort(groupArrayArrayIf(rotate, fix_in)) AS rotate,
            arraySort(groupArrayArrayIf(kmp, end_in)) AS kmp
        FROM
        (
            SELECT *,
                ['unknown', 'info', 'low', 'medium', 'high', 'critical'] AS names,
                arrayJoin(arrayDistinct(['all', names[sev_end + 1], names[sev_fix + 1]])) AS slice,
                slice = 'all' OR slice = names[sev_fix + 1] AS fix_in,
                slice = 'all' OR slice = names[sev_end + 1] AS end_in
            FROM
            (
                -- Per (period, group, end severity, fix severity): each finding
                -- counted once, before it is spread over slices.
                SELECT
                    pi, g, sev_end, sev_fix,
                    groupArrayIf(toFloat64(fix_time - first_seen), fix_ok AND status_end = 0) AS mttr,
                    countIf(fix_ok AND status_end = 0 AND due_fix > toDateTime(0)) AS sla_fixed_n,
                    countIf(fix_ok AND status_end = 0 AND due_fix > toDateTime(0) AND fix_time <= due_fix) AS sla_fixed_ok,
                    countIf(end_ok AND is_open AND status_end = 0 AND due_end > toDateTime(0)) AS sla_open_n,
                    countIf(end_ok AND is_open AND status_end = 0 AND due_end > toDateTime(0) AND due_end < T) AS sla_overdue,
                    countIf(end_ok AND is_open AND status_end = 0) AS open_n,
                    countIf(end_ok AND is_open AND status_end = 0 AND age_days <= 30) AS age_0_30,
                    countIf(end_ok AND is_open AND status_end = 0 AND age_days > 30 AND age_days <= 90) AS age_31_90,
                    countIf(end_ok AND is_open AND status_end = 0 AND age_days > 90 AND age_days <= 180) AS age_91_180,
                    countIf(end_ok AND is_open AND status_end = 0 AND age_days > 180) AS age_over_180,
                    countIf(end_ok AND is_open AND status_end = 2) AS ra_open,
                    countIf(end_ok AND first_seen >= F) AS opened_n,
                    countIf(fix_ok) AS fixed_n,
                    sumIf(fix_events, fix_ok) AS fix_events,
                    sumIf(fix_reopened, fix_ok) AS fix_reopened,
                    countIf(end_ok AND kind = 'secret' AND first_seen >= F) AS secret_new,
                    groupArrayIf(toFloat64(fix_time - first_seen), fix_ok AND status_end = 0 AND kind = 'secret') AS rotate,
                    groupArrayIf(toUInt64(km_d) * 2 + (lc_last = 2), end_ok AND status_end = 0 AND first_seen >= T - 31536000) AS kmp
                FROM
                (
                    SELECT
                        pi, T, F, g, kind, first_seen, is_open, status_end, fix_time, due_fix, due_end, fix_events, fix_reopened,
                        lc_last, sev_end, sev_fix,
                        toUInt32(if(lc_last = 2, lc_time, T)) - toUInt32(first_seen) AS km_d,
                        intDiv(toUInt32(T) - toUInt32(first_seen), 86400) AS age_days,
                        fixed_in AND (empty(CAST(@f_sevs AS Array(UInt8))) OR has(CAST(@f_sevs AS Array(UInt8)), sev_fix)) AS fix_ok,
                        (empty(CAST(@f_sevs AS Array(UInt8))) OR has(CAST(@f_sevs AS Array(UInt8)), sev_end)) AS end_ok
                    FROM ({{.States}})
                )
                GROUP BY pi, g, sev_end, sev_fix
            )
        )
        GROUP BY pi, g, slice
    )
)
