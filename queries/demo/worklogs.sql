-- Direct load: worklogs of ticket_model.sql's tickets. Row r covers
-- ticket r ÷ 8, worklog r % 8 (kept while below the ticket's count),
-- started at the ticket's creation plus a week per worklog (before @now),
-- by one of 8 analysts; hours: toil 2.6 falling to 1.4, other 8,
-- incidents 3.5, threat models 10, design reviews 4, the rest 2.
-- Parameters: those of ticket_model.sql (offset and n counting tickets),
-- plus version UInt64. Writes: worklogs.
INSERT INTO worklogs (source, worklog_id, ticket_key, author, started, seconds, updated, version)
SELECT
    'jira:bench', concat(toString(n), '-', toString(j)), concat('BENCH-', toString(n)),
    concat('analyst', toString(cityHash64(n, j, 70) % 8 + 1)),
    toDateTime(created + j * 604800 + 3600 AS st), toUInt32(3600 * multiIf(kind = 'toil', 2.6 - 1.2 * frac, kind = 'other', 8., kind = 'incident', 3.5,
        kind = 'threat_model', 10., kind = 'design_review', 4., 2.)),
    toDateTime(st), @version
FROM ({{template "ticket" .}})
ARRAY JOIN range(toUInt64(logs)) AS j
WHERE st < @now
