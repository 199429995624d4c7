-- name: vapid_key()^
SELECT public_key, private_key_encrypted FROM webpush_vapid_key;

-- name: add_vapid_key(public_key, private_key_encrypted)!
-- The first worker to start stores its key; the others read that one.
INSERT INTO webpush_vapid_key (public_key, private_key_encrypted)
VALUES (:public_key, :private_key_encrypted)
ON CONFLICT (id) DO NOTHING;

-- name: lock_watched_hospitals(hospital_code, region_code)
-- The listed hospitals a subscription watches, locked against reports until it is stored: a
-- report that frees a bed there either commits first (and the class is found free) or waits,
-- and its trigger then sees the subscription.
SELECT code
FROM hospitals
WHERE active AND (code = :hospital_code OR region_code = :region_code)
ORDER BY code
FOR SHARE;

-- name: watched_free_beds(hospital_code, region_code, bed_class)$
SELECT coalesce(sum(w.available), 0)::int
FROM wards w
JOIN hospitals h ON h.code = w.hospital_code
WHERE w.closed_at IS NULL AND h.active AND w.bed_class = :bed_class
  AND (h.code = :hospital_code OR h.region_code = :region_code);

-- name: lock_address(client_address)!
-- Two subscriptions of one address at once count one after the other.
SELECT pg_advisory_xact_lock(hashtextextended('webpush:' || :client_address, 0));

-- name: waiting_for_address(client_address)$
SELECT count(*)::int FROM webpush_subscriptions
WHERE client_address = :client_address AND due_at IS NULL AND expires_at > now();

-- name: subscribe(endpoint, p256dh, auth, hospital_code, region_code, bed_class, client_address, lifetime)^
-- The same browser asking again renews its subscription (new keys, new expiry).
INSERT INTO webpush_subscriptions AS s
    (endpoint, p256dh, auth, hospital_code, region_code, bed_class, client_address, expires_at)
VALUES (:endpoint, :p256dh, :auth, :hospital_code, :region_code, :bed_class, :client_address,
        now() + make_interval(secs => :lifetime::float8))
ON CONFLICT (endpoint, hospital_code, region_code, bed_class) DO UPDATE
SET p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, client_address = EXCLUDED.client_address,
    expires_at = EXCLUDED.expires_at
WHERE s.due_at IS NULL
RETURNING id, expires_at;

-- name: unsubscribe(endpoint)$
WITH gone AS (
    DELETE FROM webpush_subscriptions WHERE endpoint = :endpoint RETURNING id
)
SELECT count(*)::int FROM gone;

-- name: claim_notifications(batch, lease)
-- Claims due notifications that no other worker holds, for the lease: nobody else sends one
-- while its request is under way, and one whose worker stopped is sent again afterwards. The
-- numbers are read now, so a retry names the latest state.
-- not null: id, endpoint, p256dh, auth, bed_class, attempts, hospital_code, available
WITH due AS (
    SELECT id
    FROM webpush_subscriptions
    WHERE due_at IS NOT NULL AND next_attempt_at <= now()
    ORDER BY next_attempt_at, id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
),
claimed AS (
    UPDATE webpush_subscriptions s
    SET attempts = s.attempts + 1,
        next_attempt_at = now() + make_interval(secs => :lease::float8)
    FROM due
    WHERE s.id = due.id
    RETURNING s.id, s.endpoint, s.p256dh, s.auth, s.bed_class, s.freed_hospital_code,
              s.attempts
)
SELECT c.id, c.endpoint, c.p256dh, c.auth, c.bed_class, c.attempts,
       c.freed_hospital_code AS hospital_code, h.name AS hospital_name,
       bc.name_id AS class_name,
       (SELECT coalesce(sum(w.available), 0)::int FROM wards w
        WHERE w.hospital_code = c.freed_hospital_code AND w.bed_class = c.bed_class
          AND w.closed_at IS NULL) AS available
FROM claimed c
JOIN hospitals h ON h.code = c.freed_hospital_code
JOIN bed_classes bc ON bc.code = c.bed_class
ORDER BY c.id;

-- name: drop_subscription(id)!
-- Sent (the subscription ends), or refused for good by the push service.
DELETE FROM webpush_subscriptions WHERE id = :id;

-- name: notification_failed(id, error, max_attempts, backoff, backoff_max)!
-- The next attempt waits backoff, doubling per attempt up to backoff_max; after the last
-- attempt the subscription is dropped.
WITH given_up AS (
    DELETE FROM webpush_subscriptions WHERE id = :id AND attempts >= :max_attempts RETURNING id
)
UPDATE webpush_subscriptions
SET last_error = :error,
    next_attempt_at = now() + make_interval(secs => least(
        :backoff::float8 * power(2, attempts - 1), :backoff_max::float8))
WHERE id = :id AND NOT EXISTS (SELECT FROM given_up);

-- name: expire_subscriptions()$
WITH gone AS (
    DELETE FROM webpush_subscriptions
    WHERE due_at IS NULL AND expires_at <= now()
    RETURNING id
)
SELECT count(*)::int FROM gone;
