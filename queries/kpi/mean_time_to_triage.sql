-- mean_time_to_triage@1 (definition: ../shared/spec/kpis.md and
-- docs/metrics.md).
--
-- Alerts (latest version, FINAL) created in [F, T) of each period. Triage
-- time = first_triage − created (first_triage is the first acknowledgement
-- or status change out of new, as ingest records it) for alerts triaged
-- before T; alerts without a first_triage before T are untriaged.
-- Percentiles per PERCENTILE.INC (h = (n − 1)·p, linear interpolation)
-- over the sorted durations. Slices: "all" and the alert's severity.
-- Units: seconds. Parameters: those of work_scope. Template: Scope.
-- Output per (pi, g, slice): n (triaged), p (Array [p50, p90]), untriaged.
SELECT pi, g, slice, length(d) AS n,
    arrayMap(p -> d[toUInt32(floor((n - 1) * p)) + 1] + ((n - 1) * p - floor((n - 1) * p)) * (d[toUInt32(ceil((n - 1) * p)) + 1] - d[toUInt32(floor((n - 1) * p)) + 1]), [0.5, 0.9]) AS p,
    untriaged
FROM
(
    SELECT pi, g, slice,
        arraySort(groupArrayIf(toFloat64(toUInt32(assumeNotNull(first_triage))) - toUInt32(created), triaged)) AS d,
        countIf(NOT triaged) AS untriaged
    FROM
    (
        SELECT pi, g, created, first_triage,
            if(first_triage IS NULL, 0, assumeNotNull(first_triage) < T) AS triaged,
            arrayJoin(['all', severity_name]) AS slice
        FROM ({{.Scope}})
        WHERE created >= F AND created < T
    )
    GROUP BY pi, g, slice
)
