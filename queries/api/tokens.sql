-- API tokens, latest version of each (api.ListTokens and the token cache).
-- A token row is rewritten whole on every change (revocation), so the
-- latest version holds every column; the tuple keeps NULL expiry and
-- revocation times from being skipped by argMax.
-- Window: none (current state). Parameters: none.
-- Output: token_id, name, hash (hex SHA-256 of the secret), scopes, teams
-- (empty: every team), created_at, expires_at and revoked_at (NULL: none).
SELECT
    token_id,
    tupleElement(t, 1) AS name,
    tupleElement(t, 2) AS hash,
    tupleElement(t, 3) AS scopes,
    tupleElement(t, 4) AS teams,
    tupleElement(t, 5) AS created_at,
    tupleElement(t, 6) AS expires_at,
    tupleElement(t, 7) AS revoked_at
FROM
(
    SELECT token_id, argMax((name, hash, scopes, teams, created_at, expires_at, revoked_at), version) AS t
    FROM api_tokens
    GROUP BY token_id
)
ORDER BY created_at, token_id
