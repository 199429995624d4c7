-- name: set_relay_credential(hospital_code, registry, login, secret_enc)!
-- A new credential starts the relay afresh: everything is sent again under it, and a
-- refusal of the previous one no longer holds.
INSERT INTO relay_targets AS r (hospital_code, registry, login, secret_enc)
VALUES (:hospital_code, :registry, :login, :secret_enc)
ON CONFLICT (hospital_code, registry) DO UPDATE
SET login = EXCLUDED.login,
    secret_enc = EXCLUDED.secret_enc,
    credential_set_at = clock_timestamp(),
    sent_version = 0,
    next_attempt_at = now(),
    failures = 0,
    last_error = NULL,
    last_error_detail = NULL,
    last_error_at = NULL,
    failing_since = NULL,
    refused_at = NULL;

-- name: clear_relay_credential(hospital_code, registry)$
DELETE FROM relay_targets
WHERE hospital_code = :hospital_code AND registry = :registry
RETURNING hospital_code;

-- name: claim_relays(registries, batch, lease)
-- Claims due relays that no other worker holds, for the lease: nobody else sends one while
-- its send is under way, and one whose worker stopped mid-send is sent again afterwards.
-- Due: the hospital has changed since the version sent (the outbox mark, see
-- 007_relay.sql), the minimum interval or backoff has passed, the credential is not refused.
WITH due AS (
    SELECT r.hospital_code, r.registry
    FROM relay_targets r
    JOIN hospitals h ON h.code = r.hospital_code
    WHERE r.registry = ANY(:registries::text[]) AND r.refused_at IS NULL
      AND r.next_attempt_at <= now() AND (r.lease_until IS NULL OR r.lease_until <= now())
      AND h.active AND h.version > r.sent_version
    ORDER BY r.next_attempt_at
    LIMIT :batch
    FOR UPDATE OF r SKIP LOCKED
)
UPDATE relay_targets r
SET lease_until = now() + make_interval(secs => :lease::float8)
FROM due
WHERE r.hospital_code = due.hospital_code AND r.registry = due.registry
RETURNING r.hospital_code, r.registry, r.login, r.secret_enc, r.credential_set_at, r.failures,
          r.min_stamp, r.sent_keys;

-- name: relay_hospital(hospital_code)^
-- What a relay sends: the hospital's current wards (open and closed) and the version they
-- are, from one snapshot, with the time it was taken.
SELECT h.version, h.bpjs_ppk_code, now() AS read_at,
       coalesce((
           SELECT jsonb_agg(jsonb_build_object(
                      'ward_code', w.ward_code, 'name', w.name, 'bed_class', w.bed_class,
                      'capacity', w.capacity, 'available', w.available,
                      'available_male', w.available_male,
                      'available_female', w.available_female, 'waiting', w.waiting,
                      'open', w.closed_at IS NULL)
                  ORDER BY w.ward_code)
           FROM wards w
           WHERE w.hospital_code = h.code
       ), '[]'::jsonb) AS wards
FROM hospitals h
WHERE h.code = :hospital_code;

-- name: relay_sent(hospital_code, registry, credential_set_at, version, state_at, min_stamp, min_interval, sent_keys)!
-- Only under the credential that was claimed: one set meanwhile starts afresh.
UPDATE relay_targets
SET sent_version = greatest(sent_version, :version),
    last_sent_at = now(),
    sent_state_at = :state_at,
    next_attempt_at = now() + make_interval(secs => :min_interval::float8),
    lease_until = NULL,
    failures = 0,
    last_error = NULL,
    last_error_detail = NULL,
    failing_since = NULL,
    min_stamp = greatest(min_stamp, :min_stamp),
    sent_keys = :sent_keys
WHERE hospital_code = :hospital_code AND registry = :registry
  AND credential_set_at = :credential_set_at;

-- name: relay_failed(hospital_code, registry, credential_set_at, error, detail, retry_in, refused, min_stamp)!
UPDATE relay_targets
SET failures = failures + 1,
    last_error = :error,
    last_error_detail = :detail,
    last_error_at = now(),
    failing_since = coalesce(failing_since, now()),
    next_attempt_at = now() + make_interval(secs => :retry_in::float8),
    lease_until = NULL,
    refused_at = CASE WHEN :refused::boolean THEN now() END,
    min_stamp = greatest(min_stamp, :min_stamp)
WHERE hospital_code = :hospital_code AND registry = :registry
  AND credential_set_at = :credential_set_at;

-- name: relay_status(hospital_code)
-- Every listed hospital (or one) with its relays, if any: a hospital without a row for a
-- registry is not relayed there.
SELECT h.code AS hospital_code, h.name AS hospital_name, h.version, r.registry, r.login,
       r.sent_version, r.last_sent_at, r.last_error, r.last_error_detail, r.last_error_at,
       r.failing_since, r.refused_at, r.next_attempt_at
FROM hospitals h
LEFT JOIN relay_targets r ON r.hospital_code = h.code
WHERE h.active AND (:hospital_code::text IS NULL OR h.code = :hospital_code::text)
ORDER BY h.code, r.registry;

-- name: relay_lag(registries)
-- Per registry, how long the oldest change not yet sent has waited: since the first ward
-- change received after the state last sent was read (or since the credential was set).
-- not null: lag_seconds
SELECT r.registry,
       max(extract(epoch FROM now() - coalesce(
           (SELECT min(w.received_at) FROM wards w
            WHERE w.hospital_code = r.hospital_code
              AND w.received_at > coalesce(r.sent_state_at, r.credential_set_at)),
           coalesce(r.sent_state_at, r.credential_set_at))))::float8 AS lag_seconds
FROM relay_targets r
JOIN hospitals h ON h.code = r.hospital_code
WHERE h.active AND h.version > r.sent_version AND r.registry = ANY(:registries::text[])
GROUP BY r.registry;

-- name: failing_relays(registries, older_than)
-- Relays whose credential was refused, or that have failed for longer than older_than.
SELECT r.hospital_code, h.name AS hospital_name, h.region_code, r.registry, r.last_error,
       r.failing_since, r.refused_at
FROM relay_targets r
JOIN hospitals h ON h.code = r.hospital_code
WHERE h.active AND r.registry = ANY(:registries::text[])
  AND (r.refused_at IS NOT NULL OR r.failing_since < now() - :older_than::interval)
ORDER BY r.hospital_code, r.registry;

-- name: relay_recovered(registry)!
-- The registry answered again: the relays waiting out a backoff for its outage are due now,
-- not when each one's backoff ends.
UPDATE relay_targets
SET next_attempt_at = now()
WHERE registry = :registry AND refused_at IS NULL AND next_attempt_at > now()
  AND last_error IN ('unreachable', 'timeout', 'server_error');
