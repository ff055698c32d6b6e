-- mean_time_to_contain@1 (definition: ../shared/spec/kpis.md and
-- docs/metrics.md).
--
-- Incident tickets (kind incident, latest version, FINAL) whose contained_at
-- (when ingest saw the configured contained status) is in [F, T):
-- P50/P90 of contained_at − created, per PERCENTILE.INC over the sorted
-- durations. Slices: "all" and the incident type ("unspecified" when
-- empty). Team etc. as in kpi/work_scope.sql.
-- Units: seconds. Parameters: those of work_scope. Template: Scope.
-- Output per (pi, g, slice): n, p (Array [p50, p90]).
SELECT pi, g, slice, length(d) AS n,
    arrayMap(p -> d[toUInt32(floor((n - 1) * p)) + 1] + ((n - 1) * p - floor((n - 1) * p)) * (d[toUInt32(ceil((n - 1) * p)) + 1] - d[toUInt32(floor((n - 1) * p)) + 1]), [0.5, 0.9]) AS p
FROM
(
    SELECT pi, g, slice, arraySort(groupArray(toFloat64(toUInt32(assumeNotNull(contained_at))) - toUInt32(created))) AS d
    FROM
    (
        SELECT pi, g, created, contained_at,
            arrayJoin(['all', if(incident_type = '', 'unspecified', incident_type)]) AS slice
        FROM ({{.Scope}})
        WHERE contained_at IS NOT NULL AND contained_at >= F AND contained_at < T
    )
    GROUP BY pi, g, slice
)
