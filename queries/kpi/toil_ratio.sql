-- toil_ratio@1 (definition: ../shared/spec/kpis.md and docs/metrics.md).
--
-- Hours: worklogs (latest version, FINAL) started in [F, T) by the security
-- team (@users; empty: every author) on any ticket; toil when the ticket is
-- of kind toil or carries a triage label (@triage_labels, alert-triage
-- tickets). Ratio = toil seconds ÷ all seconds. A worklog's team, asset and
-- severity are its ticket's (a worklog on an unknown ticket belongs to
-- "unowned"); scope and filters as in kpi/work_scope.sql.
-- Count-based fallback (used by the Go code when a period and group has no
-- worklog seconds): resolved toil tickets ÷ all resolved tickets, both
-- resolved in [F, T).
-- Units: seconds and counts. Parameters: those of work_scope plus users,
-- triage_labels Array(String). Template: Scope (over the union of worklog
-- and resolved-ticket rows, told apart by is_log).
-- Output per (pi, g): toil_s, all_s, logs (worklogs), toil_resolved,
-- all_resolved.
SELECT pi, g,
    sumIf(seconds, is_log = 1 AND is_toil = 1 AND started >= F AND started < T) AS toil_s,
    sumIf(seconds, is_log = 1 AND started >= F AND started < T) AS all_s,
    countIf(is_log = 1 AND started >= F AND started < T) AS logs,
    countIf(is_log = 0 AND is_toil = 1 AND resolved >= F AND resolved < T) AS toil_resolved,
    countIf(is_log = 0 AND resolved >= F AND resolved < T) AS all_resolved
FROM ({{.Scope}})
GROUP BY pi, g
