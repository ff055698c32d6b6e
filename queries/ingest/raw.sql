-- Raw payloads of one (source, kind): the parts of the latest version of
-- each key, in key and part order (parts of older versions are ignored even
-- when the older version had more parts).
-- Parameters: source (String), payload_kind (String), repeated twice.
-- Output: payload_key, part, content (gzip bytes).
SELECT payload_key, part, content
FROM raw_payloads
WHERE source = ? AND payload_kind = ?
  AND (payload_key, version) IN (
      SELECT payload_key, max(version)
      FROM raw_payloads
      WHERE source = ? AND payload_kind = ?
      GROUP BY payload_key)
ORDER BY payload_key, part
