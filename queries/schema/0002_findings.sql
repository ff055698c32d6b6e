-- Findings, current state: one row per finding (latest version wins). Used
-- by drill-down lists and by ingest to know what is open in a scan scope,
-- hence sorted by (asset, scanner): loading a scope is a range read. KPIs
-- never read it for past state: they use finding_events.
-- Times with no value (fixed_at of an open finding) are 1970-01-01 00:00:00.
-- status_actor is "report" when the status came from a report suppression,
-- otherwise who set it (an API token name): a report never clears a status
-- a person set.
CREATE TABLE IF NOT EXISTS {{table "findings"}} {{on_cluster}} (
    finding_id UUID,
    version UInt64,
    source String,
    asset String,
    scanner String,
    kind Enum8('sast' = 1, 'sca' = 2, 'container' = 3, 'secret' = 4, 'iac' = 5, 'dast' = 6),
    fingerprint String,
    key_source String,
    rule_id String,
    title String,
    severity Enum8('unknown' = 0, 'info' = 1, 'low' = 2, 'medium' = 3, 'high' = 4, 'critical' = 5),
    original_severity String,
    cve String,
    aliases Array(String),
    package String,
    installed_version String,
    fixed_version String,
    file String,
    line UInt32,
    branches Array(String),
    epss Float64,
    epss_percentile Float64,
    has_epss UInt8,
    kev UInt8,
    state Enum8('open' = 1, 'fixed' = 2),
    status Enum8('none' = 0, 'false_positive' = 1, 'risk_accepted' = 2, 'duplicate' = 3),
    status_reason String,
    status_until DateTime('UTC'),
    status_actor String,
    first_seen DateTime('UTC'),
    last_seen DateTime('UTC'),
    fixed_at DateTime('UTC'),
    last_scan_id UUID,
    url String,
    updated_at DateTime('UTC')
) ENGINE = {{engine "findings" "ReplacingMergeTree" "version"}}
ORDER BY (asset, scanner, finding_id);
{{distributed "findings" "cityHash64(asset)"}}

-- The finding event log, append-only: every lifecycle change (detected,
-- fixed, reopened) and every severity or status change, with the severity
-- and status in force after the event. Any past period is recomputed from
-- it: the state at the end of [from, to) is the latest event before `to`
-- per finding. Sorted by finding then time, so the per-finding aggregation
-- the KPI queries do reads each finding's events together; partitioned by
-- month so `event_time < to` prunes. Re-applying an identical event
-- collapses (ReplacingMergeTree on the full key), which makes re-ingest
-- after a crash idempotent; queries must still count events with
-- uniqExact or dedupe, since merges are eventual.
CREATE TABLE IF NOT EXISTS {{table "finding_events"}} {{on_cluster}} (
    finding_id UUID,
    event_time DateTime('UTC'),
    event_type Enum8('detected' = 1, 'fixed' = 2, 'reopened' = 3, 'severity_changed' = 4, 'status_changed' = 5),
    severity Enum8('unknown' = 0, 'info' = 1, 'low' = 2, 'medium' = 3, 'high' = 4, 'critical' = 5),
    status Enum8('none' = 0, 'false_positive' = 1, 'risk_accepted' = 2, 'duplicate' = 3),
    status_until DateTime('UTC'),
    asset String,
    scanner String,
    kind Enum8('sast' = 1, 'sca' = 2, 'container' = 3, 'secret' = 4, 'iac' = 5, 'dast' = 6),
    source String,
    scan_id UUID,
    actor String,
    reason String,
    recorded_at DateTime('UTC')
) ENGINE = {{engine "finding_events" "ReplacingMergeTree" "recorded_at"}}
PARTITION BY toYYYYMM(event_time)
ORDER BY (finding_id, event_time, event_type);
{{distributed "finding_events" "cityHash64(finding_id)"}}

-- Scan runs, including scans with zero findings (they prove coverage).
-- `kinds` are the kinds the scan was complete for. `counts` is 1 when the
-- scan's branch is one that drives the lifecycle; `late` is 1 when it
-- arrived after a newer scan of its scope (it then neither fixes nor
-- reopens). Coverage reads successful counting scans in [end - 30 d, end).
CREATE TABLE IF NOT EXISTS {{table "scan_runs"}} {{on_cluster}} (
    scan_id UUID,
    asset String,
    scanner String,
    scanner_version String,
    format String,
    kinds Array(String),
    branch String,
    commit String,
    scan_time DateTime('UTC'),
    counts UInt8,
    late UInt8,
    tracked UInt8,
    report_sha256 String,
    file_name String,
    findings UInt32,
    new UInt32,
    fixed UInt32,
    reopened UInt32,
    unchanged UInt32,
    status Enum8('ok' = 1, 'failed' = 2),
    error String,
    ingested_at DateTime('UTC')
) ENGINE = {{engine "scan_runs" "ReplacingMergeTree" "ingested_at"}}
PARTITION BY toYYYYMM(scan_time)
ORDER BY (asset, scanner, scan_time, scan_id);
{{distributed "scan_runs" "cityHash64(asset)"}}

-- Exploit intelligence. KEV entries count from date_added; EPSS scores are
-- kept per score_date so a past period uses the scores known then.
CREATE TABLE IF NOT EXISTS {{table "kev"}} {{on_cluster}} (
    cve String,
    date_added Date,
    due_date Date,
    ransomware UInt8,
    vendor_project String,
    product String,
    name String,
    catalog_version String,
    imported_at DateTime('UTC')
) ENGINE = {{engine "kev" "ReplacingMergeTree" "imported_at"}}
ORDER BY cve;
{{distributed "kev" "cityHash64(cve)"}}

CREATE TABLE IF NOT EXISTS {{table "epss"}} {{on_cluster}} (
    cve String,
    score_date Date,
    epss Float32,
    percentile Float32,
    model_version String,
    imported_at DateTime('UTC')
) ENGINE = {{engine "epss" "ReplacingMergeTree" "imported_at"}}
PARTITION BY toYYYYMM(score_date)
ORDER BY (cve, score_date);
{{distributed "epss" "cityHash64(cve)"}}
