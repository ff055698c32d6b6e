-- security_debt_burndown@1 (definition: ../shared/spec/kpis.md and
-- docs/metrics.md).
--
-- Security-debt tickets (kind security_debt, latest version, FINAL):
-- created in [F, T) and resolved in [F, T) of each period; net = created −
-- resolved (negative is burn-down). Team etc. as in kpi/work_scope.sql.
-- Units: counts. Parameters: those of work_scope. Template: Scope.
-- Output per (pi, g): created, resolved.
SELECT pi, g,
    countIf(created >= F AND created < T) AS created,
    countIf(resolved IS NOT NULL AND assumeNotNull(resolved) >= F AND assumeNotNull(resolved) < T) AS resolved
FROM ({{.Scope}})
WHERE kind = 'security_debt'
GROUP BY pi, g
