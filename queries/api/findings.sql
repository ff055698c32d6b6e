-- Findings drill-down list (GET /api/v1/findings) and findings by id (GET
-- /api/v1/findings/{id}; the rows of a list page): the current state of
-- each finding as of @now, with the same rules as the KPIs' state at a
-- period end (kpi/finding_states.sql):
--   team, business_unit, tier  the asset's current version (assets_now);
--                no version or an empty team: team "unowned", tier 0
--   status       the latest stored status, except that a risk acceptance
--                whose status_until (1970 = none) is <= @now counts as
--                "none" again (status_expired = 1): the finding is open
--                and counts in every KPI
--   kev          CVE or an alias in the KEV catalog added before @now, or
--                the report's own KEV flag
--   due          the SLA due date (metrics.DueSQL, policy bound by
--                metrics.SLAPolicy.DueArgs) from the current severity,
--                tier, KEV state (and catalog due date, with
--                kev_due_date_cap) and latest reopen (with
--                restart_sla_on_reopen); 1970 = no SLA
--   overdue      open, status none, with a due date before @now (the
--                "open overdue" of sla_adherence)
-- The team scope (@scope, empty = every team) and every filter apply here,
-- before the page is cut; a finding outside the scope is never returned,
-- by id either. Assets of teams outside the scope and team filter are
-- skipped early (an optimization; the exact test is the outer WHERE).
-- The latest version of each finding is read with FINAL (the table is a
-- ReplacingMergeTree on version, sorted by asset, scanner, finding_id): it
-- is the row the store wrote last, which carries the finding's earliest
-- first_seen (a late report writes the earlier time into a new version).
-- The conditions under FINAL are on identity columns only (asset, scanner,
-- kind, finding_id: the same in every version), so they select the same
-- findings whether they are applied before or after the merge; they are
-- a PREWHERE, so other columns are read only for the findings they keep.
-- Window: current state at @now. Units: times in UTC, epss 0–1.
-- Parameters: now DateTime, scope, f_teams, f_bus, f_assets, f_sources,
-- f_kinds, f_sevs, f_states, f_statuses, f_cves, f_rules Array(String),
-- f_tiers Array(UInt8), f_overdue, f_kev Int8 (-1 any, 0 no, 1 yes),
-- c_v, c_t (cursor), limit UInt64, ids Array(String) (Where only), and the
-- SLA parameters.
-- Template fields: Assets (api/assets_now.sql), Due (metrics.DueSQL),
-- Where (a fixed condition on finding_id), Order and After (api.page: an
-- allowlisted ORDER BY and keyset condition), Wide (every column, for the
-- rows shown; without it only what filters and sorts need, for finding a
-- page), CVE (the cve filter is used: read cve and aliases), KEVCap and
-- Restart (whether the SLA policy needs the catalog due date and the
-- latest reopen: each costs a join).
-- Output: one row per finding: id and the sort columns, and with Wide the
-- columns of api.Finding.
SELECT
    toString(finding_id) AS id, asset, first_seen, last_seen, fixed_at, due, toUInt8(sev) AS severity_code, epss{{if .Wide}},
    team, business_unit, tier, scanner, kind_name, rule_id, title, severity_name, original_severity, cve, aliases,
    package, installed_version, fixed_version, file, line, branches, url, state_name, status_name, status_reason,
    status_until, status_actor, toUInt8(expired) AS status_expired, toUInt8(is_kev) AS kev_flag, has_epss,
    toUInt8(is_overdue) AS overdue_flag{{end}}
FROM
(
    SELECT *,
        toString(sev) AS severity_name,
        stored_status = 'risk_accepted' AND status_until > toDateTime(0) AND status_until <= @now AS expired,
        if(expired, 'none', stored_status) AS status_name,
        if(ai_team = '', 'unowned', ai_team) AS team,
        report_kev = 1 OR finding_id IN
        (
            -- Known exploited by the catalog, from date_added
            -- (kpi/finding_states.sql, same rule): the CVE, or an alias.
            SELECT finding_id
            FROM findings
            WHERE cve IN (SELECT cve FROM kev WHERE toDateTime(date_added, 'UTC') < @now) {{.Where}}
            UNION ALL
            SELECT finding_id
            FROM
            (
                SELECT finding_id, arrayJoin(aliases) AS alias
                FROM findings
                WHERE notEmpty(aliases) {{.Where}}
            )
            WHERE alias IN (SELECT cve FROM kev WHERE toDateTime(date_added, 'UTC') < @now)
        ) AS is_kev,
        {{.Due}} AS due,
        state_name = 'open' AND status_name = 'none' AND due > toDateTime(0) AND due < @now AS is_overdue
    FROM
    (
        -- One JOIN per SELECT (ClickHouse 18.16): the latest reopen, then
        -- the catalog due date, then the asset.
        SELECT *{{if not .Restart}}, toDateTime(0) AS last_reopen{{end}}
        FROM
        (
            SELECT *{{if not .KEVCap}}, toDateTime(0) AS kev_due{{end}}
            FROM
            (
                SELECT *
                FROM
                (
                    SELECT
                        finding_id, asset, scanner,
                        toString(kind) AS kind_name,
                        severity AS sev,
                        toString(state) AS state_name,
                        toString(status) AS stored_status,
                        status_until, first_seen, last_seen, fixed_at, epss,
                        kev AS report_kev,
                        rule_id{{if or .Wide .CVE}}, cve, aliases{{end}}{{if .Wide}},
                        title, original_severity, package, installed_version, fixed_version, file, line, branches, url,
                        status_reason, status_actor, has_epss{{end}}
                    FROM findings FINAL
                    PREWHERE (empty(CAST(@f_assets AS Array(String))) OR has(CAST(@f_assets AS Array(String)), asset))
                      AND (empty(CAST(@f_sources AS Array(String))) OR has(CAST(@f_sources AS Array(String)), scanner))
                      AND (empty(CAST(@f_kinds AS Array(String))) OR has(CAST(@f_kinds AS Array(String)), toString(kind)))
                      AND (empty(CAST(@scope AS Array(String))) OR has(CAST(@scope AS Array(String)), 'unowned')
                           OR asset IN (SELECT asset FROM ({{.Assets}}) WHERE has(CAST(@scope AS Array(String)), ai_team)))
                      AND (empty(CAST(@f_teams AS Array(String))) OR has(CAST(@f_teams AS Array(String)), 'unowned')
                           OR asset IN (SELECT asset FROM ({{.Assets}}) WHERE has(CAST(@f_teams AS Array(String)), ai_team)))
                      {{.Where}}
                ) AS f
                ANY LEFT JOIN ({{.Assets}}) AS a USING asset
            ) AS fa
            {{- if .KEVCap}}
            ANY LEFT JOIN
            (
                -- The earliest catalog due date of a known exploited finding
                -- (end of that day), for the kev_due_date_cap rule.
                SELECT finding_id, minIf(kdue, kdue > toDateTime(0)) AS kev_due
                FROM
                (
                    SELECT finding_id, if(due_date > toDate('1970-01-01'), toDateTime(due_date, 'UTC') + 86400, toDateTime(0)) AS kdue
                    FROM
                    (
                        SELECT finding_id, arrayJoin(arrayFilter(x -> x != '', arrayPushFront(aliases, cve))) AS cve
                        FROM findings
                        WHERE (cve != '' OR notEmpty(aliases)) {{.Where}}
                    ) AS fc2
                    ANY INNER JOIN
                    (
                        SELECT cve, min(due_date) AS due_date
                        FROM kev
                        WHERE toDateTime(date_added, 'UTC') < @now
                        GROUP BY cve
                    ) AS k2 USING cve
                )
                GROUP BY finding_id
            ) AS kv USING finding_id
            {{- end}}
        ) AS fk
        {{- if .Restart}}
        ANY LEFT JOIN
        (
            SELECT finding_id, max(event_time) AS last_reopen
            FROM finding_events
            WHERE event_type = 'reopened' AND event_time < @now {{.Where}}
            GROUP BY finding_id
        ) AS r USING finding_id
        {{- end}}
    ) AS fr
)
WHERE (empty(CAST(@scope AS Array(String))) OR has(CAST(@scope AS Array(String)), team))
  AND (empty(CAST(@f_teams AS Array(String))) OR has(CAST(@f_teams AS Array(String)), team))
  AND (empty(CAST(@f_bus AS Array(String))) OR has(CAST(@f_bus AS Array(String)), business_unit))
  AND (empty(CAST(@f_tiers AS Array(UInt8))) OR has(CAST(@f_tiers AS Array(UInt8)), tier))
  AND (empty(CAST(@f_sevs AS Array(String))) OR has(CAST(@f_sevs AS Array(String)), severity_name))
  AND (empty(CAST(@f_states AS Array(String))) OR has(CAST(@f_states AS Array(String)), state_name))
  AND (empty(CAST(@f_statuses AS Array(String))) OR has(CAST(@f_statuses AS Array(String)), status_name))
  {{- if or .Wide .CVE}}
  AND (empty(CAST(@f_cves AS Array(String))) OR has(CAST(@f_cves AS Array(String)), cve) OR hasAny(aliases, CAST(@f_cves AS Array(String))))
  {{- end}}
  AND (empty(CAST(@f_rules AS Array(String))) OR has(CAST(@f_rules AS Array(String)), rule_id))
  AND (@f_overdue < 0 OR is_overdue = @f_overdue)
  AND (@f_kev < 0 OR is_kev = @f_kev)
  {{.After}}
ORDER BY {{.Order}}
LIMIT @limit
