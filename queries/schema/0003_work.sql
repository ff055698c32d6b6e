-- Tickets (Jira), current state: one row per ticket, latest version wins.
-- Times with no value are NULL.
CREATE TABLE IF NOT EXISTS {{table "tickets"}} {{on_cluster}} (
    source String,
    ticket_key String,
    ticket_id String,
    project String,
    issue_type String,
    kind Enum8('other' = 0, 'vulnerability' = 1, 'incident' = 2, 'design_review' = 3, 'threat_model' = 4, 'customer_escalation' = 5, 'security_debt' = 6, 'exception' = 7, 'toil' = 8),
    summary String,
    team String,
    severity Enum8('unknown' = 0, 'info' = 1, 'low' = 2, 'medium' = 3, 'high' = 4, 'critical' = 5),
    original_severity String,
    status String,
    status_category String,
    state Enum8('new' = 0, 'triaged' = 1, 'in_progress' = 2, 'contained' = 3, 'done' = 4),
    resolution String,
    labels Array(String),
    components Array(String),
    asset String,
    incident_type String,
    assignee String,
    reporter String,
    created DateTime('UTC'),
    updated DateTime('UTC'),
    resolved Nullable(DateTime('UTC')),
    due Nullable(DateTime('UTC')),
    contained_at Nullable(DateTime('UTC')),
    version UInt64
) ENGINE = {{engine "tickets" "ReplacingMergeTree" "version"}}
ORDER BY (source, ticket_key);
{{distributed "tickets" "cityHash64(ticket_key)"}}

-- Ticket field changes from the changelog (status and resolution), one row
-- per changed field per history entry.
CREATE TABLE IF NOT EXISTS {{table "ticket_transitions"}} {{on_cluster}} (
    source String,
    ticket_key String,
    history_id String,
    changed_at DateTime('UTC'),
    field String,
    from_value String,
    to_value String,
    from_category String,
    to_category String,
    author String,
    recorded_at DateTime('UTC')
) ENGINE = {{engine "ticket_transitions" "ReplacingMergeTree" "recorded_at"}}
ORDER BY (source, ticket_key, changed_at, history_id, field);
{{distributed "ticket_transitions" "cityHash64(ticket_key)"}}

CREATE TABLE IF NOT EXISTS {{table "worklogs"}} {{on_cluster}} (
    source String,
    worklog_id String,
    ticket_key String,
    author String,
    started DateTime('UTC'),
    seconds UInt32,
    updated DateTime('UTC'),
    version UInt64
) ENGINE = {{engine "worklogs" "ReplacingMergeTree" "version"}}
ORDER BY (source, worklog_id);
{{distributed "worklogs" "cityHash64(worklog_id)"}}

-- Security alerts with their triage disposition, current state.
CREATE TABLE IF NOT EXISTS {{table "alerts"}} {{on_cluster}} (
    source String,
    alert_id String,
    rule_id String,
    rule_name String,
    severity Enum8('unknown' = 0, 'info' = 1, 'low' = 2, 'medium' = 3, 'high' = 4, 'critical' = 5),
    original_severity String,
    created DateTime('UTC'),
    first_triage Nullable(DateTime('UTC')),
    closed Nullable(DateTime('UTC')),
    status String,
    disposition Enum8('none' = 0, 'true_positive' = 1, 'benign_positive' = 2, 'false_positive' = 3, 'duplicate' = 4, 'undetermined' = 5),
    original_disposition String,
    auto_closed UInt8,
    assignee String,
    team String,
    asset String,
    incident String,
    updated DateTime('UTC'),
    version UInt64
) ENGINE = {{engine "alerts" "ReplacingMergeTree" "version"}}
PARTITION BY toYYYYMM(created)
ORDER BY (source, alert_id);
{{distributed "alerts" "cityHash64(alert_id)"}}
