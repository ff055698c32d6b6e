-- Finding states over time, maintained by ingest from finding_events (the
-- one implementation is ingest.BuildIntervals): one row per finding and
-- instant at which it changed, holding its state over [valid_from,
-- valid_to). A row's values are those after every event at or before
-- valid_from; valid_to is the next event's time, 4294967295 while none.
-- The state at the end T of a period is the row with valid_from < T <=
-- valid_to, so a KPI reads one row per finding and period instead of
-- aggregating each finding's history.
--
-- Rows are replaced by collapsing: ingest writes a copy with sign = -1 of a
-- row it replaces and the new row with sign = +1. Every query weights rows
-- by sign (sum(sign), sumIf(x * sign, ...), sumMap for durations), which is
-- exact whether or not ClickHouse has merged the pairs yet. row_hash (of a
-- row's values) is part of the sorting key, so a merge only ever collapses
-- copies of the same row.
--
-- first_seen: first detection at or before valid_from (rows before a first
-- detection are not written). lc, lc_time: latest lifecycle event
-- (detected 1, fixed 2, reopened 3; ties at one instant by that order).
-- severity, status, status_until: those of the latest event. last_reopen:
-- latest reopen. fix_*: one element per distinct fix time at or before
-- valid_from, ascending: the time, the severity fixed (the highest of one
-- instant), the latest reopen strictly before it, and 1 when a reopen
-- follows it within 60 days (known only later: a reopen rewrites the
-- finding's rows).
CREATE TABLE IF NOT EXISTS {{table "finding_intervals"}} {{on_cluster}} (
    finding_id UUID,
    valid_from DateTime('UTC'),
    valid_to DateTime('UTC'),
    row_hash UInt64,
    sign Int8,
    asset String,
    scanner String,
    kind Enum8('sast' = 1, 'sca' = 2, 'container' = 3, 'secret' = 4, 'iac' = 5, 'dast' = 6),
    first_seen DateTime('UTC'),
    lc UInt8,
    lc_time DateTime('UTC'),
    severity UInt8,
    status UInt8,
    status_until DateTime('UTC'),
    last_reopen DateTime('UTC'),
    fix_times Array(DateTime('UTC')),
    fix_sevs Array(UInt8),
    fix_reopens Array(DateTime('UTC')),
    fix_reopened Array(UInt8),
    written_at DateTime('UTC')
) ENGINE = {{engine "finding_intervals" "CollapsingMergeTree" "sign"}}
ORDER BY (finding_id, valid_from, row_hash);
{{distributed "finding_intervals" "cityHash64(finding_id)"}}
