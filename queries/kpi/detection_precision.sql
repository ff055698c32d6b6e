-- detection_precision@1 (definition: ../shared/spec/kpis.md and
-- docs/metrics.md).
--
-- Alerts (latest version, FINAL) closed in [F, T) of each period. Precision
-- = true ÷ (true_positive + benign_positive + false_positive), true being
-- true_positive (plus benign_positive when @benign_true = 1); duplicate,
-- undetermined and none are unclassified, reported as a share of all
-- closed alerts. Slices: "all" and the alert's severity. Team etc. as in
-- kpi/work_scope.sql.
-- Units: counts. Parameters: those of work_scope plus benign_true UInt8.
-- Template: Scope. Rules (1): per detection rule of the last period
-- instead, noisiest first (most closed non-true alerts), LIMIT @limit.
-- Output per (pi, g, slice): closed, classified, tp. Rules: rule_id,
-- rule_name, closed_n, tp, bp, fp, unclassified.
{{if .List}}SELECT rule_id, any(rule_name) AS rule_name, count() AS closed_n,
    countIf(disposition = 'true_positive') AS tp,
    countIf(disposition = 'benign_positive') AS bp,
    countIf(disposition = 'false_positive') AS fp,
    countIf(disposition NOT IN ('true_positive', 'benign_positive', 'false_positive')) AS unclassified
FROM ({{.Scope}})
WHERE pi = length(CAST(@tos AS Array(DateTime))) AND closed >= F AND closed < T
GROUP BY rule_id
ORDER BY closed_n - tp - if(@benign_true = 1, bp, 0) DESC, closed_n DESC, rule_id
LIMIT @limit
{{else}}SELECT pi, g, slice, count() AS closed,
    countIf(disposition IN ('true_positive', 'benign_positive', 'false_positive')) AS classified,
    countIf(disposition = 'true_positive' OR (@benign_true = 1 AND disposition = 'benign_positive')) AS tp
FROM
(
    SELECT pi, g, disposition, arrayJoin(['all', severity_name]) AS slice
    FROM ({{.Scope}})
    WHERE closed >= F AND closed < T
)
GROUP BY pi, g, slice
{{end}}
