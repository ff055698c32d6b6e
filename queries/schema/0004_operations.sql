-- Raw source payloads, gzip-compressed in the application (column codecs
-- are not available on 18.16), so records can be re-normalized without
-- re-fetching. A payload over the part size is split into numbered parts.
CREATE TABLE IF NOT EXISTS {{table "raw_payloads"}} {{on_cluster}} (
    source String,
    payload_kind String,
    payload_key String,
    part UInt32,
    parts UInt32,
    sha256 String,
    encoding String,
    content String,
    fetched_at DateTime('UTC'),
    version UInt64
) ENGINE = {{engine "raw_payloads" "ReplacingMergeTree" "version"}}
PARTITION BY toYYYYMM(fetched_at)
ORDER BY (source, payload_kind, payload_key, part);
{{distributed "raw_payloads" "cityHash64(payload_key)"}}

-- Per-source ingest state: the watermark is advanced only after the data
-- it covers is written.
CREATE TABLE IF NOT EXISTS {{table "ingest_state"}} {{on_cluster}} (
    source String,
    source_type String,
    watermark Nullable(DateTime('UTC')),
    cursor String,
    last_attempt DateTime('UTC'),
    last_success Nullable(DateTime('UTC')),
    last_error String,
    items UInt64,
    version UInt64
) ENGINE = {{engine "ingest_state" "ReplacingMergeTree" "version"}}
ORDER BY source;
{{distributed "ingest_state" "cityHash64(source)"}}

-- API tokens: only the SHA-256 of the secret is stored. An empty teams
-- array means every team.
CREATE TABLE IF NOT EXISTS {{table "api_tokens"}} {{on_cluster}} (
    token_id String,
    name String,
    hash String,
    scopes Array(String),
    teams Array(String),
    created_at DateTime('UTC'),
    expires_at Nullable(DateTime('UTC')),
    revoked_at Nullable(DateTime('UTC')),
    version UInt64
) ENGINE = {{engine "api_tokens" "ReplacingMergeTree" "version"}}
ORDER BY token_id;
{{distributed "api_tokens" "cityHash64(token_id)"}}

-- Audit log of every API request.
CREATE TABLE IF NOT EXISTS {{table "audit_log"}} {{on_cluster}} (
    time DateTime('UTC'),
    request_id String,
    token_id String,
    token_name String,
    method String,
    route String,
    params String,
    status UInt16,
    duration_ms UInt32,
    client_ip String
) ENGINE = {{engine "audit_log" "MergeTree"}}
PARTITION BY toYYYYMM(time)
ORDER BY (time, request_id);
{{distributed "audit_log" "rand()"}}

-- Scheduled and manual export runs.
CREATE TABLE IF NOT EXISTS {{table "export_runs"}} {{on_cluster}} (
    run_id UUID,
    export String,
    scheduled_for DateTime('UTC'),
    started_at DateTime('UTC'),
    finished_at Nullable(DateTime('UTC')),
    status Enum8('running' = 1, 'ok' = 2, 'failed' = 3),
    attempt UInt8,
    period String,
    destination String,
    file String,
    size UInt64,
    error String,
    version UInt64
) ENGINE = {{engine "export_runs" "ReplacingMergeTree" "version"}}
PARTITION BY toYYYYMM(started_at)
ORDER BY (export, started_at, run_id);
{{distributed "export_runs" "cityHash64(export)"}}
