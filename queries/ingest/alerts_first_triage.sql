-- Stored first-triage times of some alerts of one source (latest version),
-- for connectors that carry the earliest observed triage over between pulls.
-- Parameters: source (String), alert ids (Array(String)).
-- Output: alert_id, first_triage (DateTime('UTC')); alerts without a
-- first-triage time are left out.
SELECT alert_id, assumeNotNull(first_triage) AS first_triage
FROM alerts FINAL
WHERE source = ? AND has(?, alert_id) AND first_triage IS NOT NULL
