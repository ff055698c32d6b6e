-- design_review_cycle_time@1 and customer_escalation_time_to_close@1
-- (definitions: ../shared/spec/kpis.md and docs/metrics.md).
--
-- Tickets of kind @kind (design_review or customer_escalation; latest
-- version, FINAL) resolved in [F, T): P50/P90 of (resolved − created) in
-- business seconds, per PERCENTILE.INC over the sorted durations.
-- Business time is elapsed time without Saturdays and Sundays of the
-- reporting time zone @tz: each instant is taken as its local wall-clock
-- time w, and B(w) = whole weeks since Monday 1970-01-05 × 5 days + the
-- part of the current week up to Saturday 00:00; the duration is
-- B(w(resolved)) − B(w(created)). (Wall-clock arithmetic equals elapsed
-- time on weekdays unless a daylight-saving change falls on a weekday.)
-- Team etc. as in kpi/work_scope.sql.
-- Units: seconds. Parameters: those of work_scope plus kind String, tz
-- String. Template: Scope.
-- Output per (pi, g, slice "all"): n, p (Array [p50, p90]).
SELECT pi, g, 'all' AS slice, length(d) AS n,
    arrayMap(p -> d[toUInt32(floor((n - 1) * p)) + 1] + ((n - 1) * p - floor((n - 1) * p)) * (d[toUInt32(ceil((n - 1) * p)) + 1] - d[toUInt32(floor((n - 1) * p)) + 1]), [0.5, 0.9]) AS p
FROM
(
    SELECT pi, g, arraySort(groupArray(toFloat64(b_resolved) - b_created)) AS d
    FROM
    (
        SELECT pi, g,
            toInt64(toUnixTimestamp(toDateTime(toString(created, @tz), 'UTC'))) - 345600 AS w_created,
            toInt64(toUnixTimestamp(toDateTime(toString(assumeNotNull(resolved), @tz), 'UTC'))) - 345600 AS w_resolved,
            intDiv(w_created, 604800) * 432000 + least(w_created % 604800, 432000) AS b_created,
            intDiv(w_resolved, 604800) * 432000 + least(w_resolved % 604800, 432000) AS b_resolved
        FROM ({{.Scope}})
        WHERE kind = @kind AND resolved IS NOT NULL AND resolved >= F AND resolved < T
    )
    GROUP BY pi, g
)
