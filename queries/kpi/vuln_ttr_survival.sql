-- vuln_ttr_survival@1: Kaplan–Meier input, grouped durations (definition:
-- ../shared/spec/kpis.md and docs/metrics.md).
--
-- Cohort per period end T: findings first seen in [T − 365 d, T) whose
-- status at T is none (false_positive and duplicate are dropped by
-- finding_states, risk_accepted here). A finding fixed at T (latest
-- lifecycle event before T is a fix) has an event at lc_time − first_seen;
-- one open at T is censored at T − first_seen. Slices: "all" and the
-- severity at T (@f_sevs filters it).
-- The Kaplan–Meier product is taken in Go over these rows, which are
-- grouped by exact duration so ties stay ties.
-- Units: seconds. Parameters: those of finding_states plus f_sevs.
-- Template: States.
-- Output per (pi, g, slice, d): d UInt32 seconds, events, censored (UInt64).
SELECT pi, g, slice, d, countIf(fixed) AS events, countIf(NOT fixed) AS censored
FROM
(
    SELECT
        pi, g,
        lc_last = 2 AS fixed,
        toUInt32(if(fixed, lc_time, T)) - toUInt32(first_seen) AS d,
        arrayJoin(['all', ['unknown', 'info', 'low', 'medium', 'high', 'critical'][sev_end + 1]]) AS slice
    FROM ({{.States}})
    WHERE status_end = 0
      AND first_seen >= T - 31536000
      AND (empty(CAST(@f_sevs AS Array(UInt8))) OR has(CAST(@f_sevs AS Array(UInt8)), sev_end))
)
GROUP BY pi, g, slice, d
ORDER BY pi, g, slice, d
