-- name: exhausted_classes(bed_classes)
-- Region and bed-class pairs that have beds but none free, over listed hospitals' open wards;
-- an empty bed_classes array watches every class.
SELECT h.region_code, r.name AS region_name, w.bed_class, bc.name_id AS class_name,
       sum(w.capacity)::bigint AS capacity
FROM wards w
JOIN hospitals h ON h.code = w.hospital_code
JOIN regions r ON r.code = h.region_code
JOIN bed_classes bc ON bc.code = w.bed_class
WHERE w.closed_at IS NULL AND h.active
  AND (cardinality(:bed_classes::text[]) = 0 OR w.bed_class = ANY(:bed_classes::text[]))
GROUP BY h.region_code, r.name, w.bed_class, bc.name_id
HAVING sum(w.capacity) > 0 AND sum(w.available) = 0
ORDER BY h.region_code, w.bed_class;

-- name: silent_hospitals(older_than)
-- Listed hospitals whose newest open-ward report (or, never reporting, their registration)
-- is older than older_than, with the hospital's own alert receiver if it has one.
SELECT h.code, h.name, h.region_code, h.alert_webhook_url, max(w.reported_at) AS last_report_at
FROM hospitals h
LEFT JOIN wards w ON w.hospital_code = h.code AND w.closed_at IS NULL
WHERE h.active
GROUP BY h.code, h.name, h.region_code, h.created_at, h.alert_webhook_url
HAVING coalesce(max(w.reported_at), h.created_at) < now() - :older_than::interval
ORDER BY h.code;

-- name: open_alert_keys(rules)
SELECT rule, subject FROM alerts WHERE resolved_at IS NULL AND rule = ANY(:rules::text[]);

-- name: fire_alert(rule, subject, region_code, hospital_code, bed_class, message)$
-- Opens an alert unless one is open for the same rule and subject: only one caller gets a row.
INSERT INTO alerts (rule, subject, region_code, hospital_code, bed_class, message)
VALUES (:rule, :subject, :region_code, :hospital_code, :bed_class, :message)
ON CONFLICT (rule, subject) WHERE resolved_at IS NULL DO NOTHING
RETURNING id;

-- name: resolve_alert(rule, subject)$
-- Closes the open alert; a second caller finds it closed and gets no row.
UPDATE alerts SET resolved_at = now()
WHERE rule = :rule AND subject = :subject AND resolved_at IS NULL
RETURNING id;

-- name: add_deliveries(alert_id, event, urls)!
INSERT INTO alert_deliveries (alert_id, event, url)
SELECT :alert_id, :event, url FROM unnest(:urls::text[]) AS url
ON CONFLICT (alert_id, event, url) DO NOTHING;

-- name: claim_deliveries(batch, lease)
-- Claims due deliveries that no other worker holds, for the lease: nobody else tries one while
-- its call is under way, and one whose worker stopped mid-call is tried again afterwards.
-- not null: id, event, url, attempts
WITH due AS (
    SELECT id
    FROM alert_deliveries
    WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
    ORDER BY next_attempt_at, id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
),
claimed AS (
    UPDATE alert_deliveries d
    SET attempts = d.attempts + 1,
        next_attempt_at = now() + make_interval(secs => :lease::float8)
    FROM due
    WHERE d.id = due.id
    RETURNING d.id, d.alert_id, d.event, d.url, d.attempts
)
SELECT c.id, c.event, c.url, c.attempts,
       a.id AS alert_id, a.rule, a.subject, a.region_code, a.hospital_code, a.bed_class,
       a.message, a.fired_at, a.resolved_at, h.alert_webhook_url AS hospital_webhook_url
FROM claimed c
JOIN alerts a ON a.id = c.alert_id
LEFT JOIN hospitals h ON h.code = a.hospital_code
ORDER BY c.id;

-- name: delivery_succeeded(id)!
UPDATE alert_deliveries SET delivered_at = now(), last_error = NULL WHERE id = :id;

-- name: delivery_failed(id, error, max_attempts, backoff, backoff_max)!
-- The next attempt waits backoff, doubling per attempt up to backoff_max; after the last
-- attempt the delivery is given up.
UPDATE alert_deliveries
SET last_error = :error,
    failed_at = CASE WHEN attempts >= :max_attempts THEN now() END,
    next_attempt_at = now() + make_interval(secs => least(
        :backoff::float8 * power(2, attempts - 1), :backoff_max::float8))
WHERE id = :id;

-- name: list_alerts(open_only, max_rows)
-- Open alerts first, then the most recent; with how their webhook deliveries went.
SELECT a.id, a.rule, a.subject, a.region_code, a.hospital_code, a.bed_class, a.message,
       a.fired_at, a.resolved_at,
       count(d.id)::int AS deliveries,
       count(d.delivered_at)::int AS delivered,
       count(d.failed_at)::int AS failed
FROM alerts a
LEFT JOIN alert_deliveries d ON d.alert_id = a.id
WHERE NOT :open_only::boolean OR a.resolved_at IS NULL
GROUP BY a.id
ORDER BY (a.resolved_at IS NULL) DESC, a.fired_at DESC, a.id DESC
LIMIT :max_rows;

-- name: hospital_alert_webhook(code)$
SELECT alert_webhook_url FROM hospitals WHERE code = :code;

-- name: hold_conditions(rules, subjects)!
-- The conditions holding now (rules and subjects pairwise): each holds since it was first seen
-- holding, and is no longer clear.
INSERT INTO alert_conditions AS c (rule, subject, holding_since)
SELECT DISTINCT rule, subject, now()
FROM unnest(:rules::text[], :subjects::text[]) AS t(rule, subject)
ORDER BY rule, subject
ON CONFLICT (rule, subject) DO UPDATE
SET holding_since = coalesce(c.holding_since, now()), clear_since = NULL;

-- name: clear_conditions(rules, holding_rules, holding_subjects)!
-- Every other condition of the evaluated rules that held, or has an open alert, is clear
-- since it was first seen clear.
INSERT INTO alert_conditions AS c (rule, subject, clear_since)
SELECT k.rule, k.subject, now()
FROM (
    SELECT rule, subject FROM alert_conditions
    WHERE rule = ANY(:rules::text[]) AND holding_since IS NOT NULL
    UNION
    SELECT rule, subject FROM alerts WHERE resolved_at IS NULL AND rule = ANY(:rules::text[])
) k
WHERE (k.rule, k.subject) NOT IN (
    SELECT h.rule, h.subject
    FROM unnest(:holding_rules::text[], :holding_subjects::text[]) AS h(rule, subject)
)
ORDER BY k.rule, k.subject
ON CONFLICT (rule, subject) DO UPDATE
SET clear_since = coalesce(c.clear_since, now()), holding_since = NULL;

-- name: conditions_due(rules, hold)
-- Conditions that have held for at least hold and have no open alert: their rule fires.
SELECT c.rule, c.subject
FROM alert_conditions c
WHERE c.rule = ANY(:rules::text[]) AND c.holding_since <= now() - :hold::interval
  AND NOT EXISTS (
      SELECT 1 FROM alerts a
      WHERE a.rule = c.rule AND a.subject = c.subject AND a.resolved_at IS NULL)
ORDER BY c.rule, c.subject;

-- name: alerts_due_to_resolve(rules, hold)
-- Open alerts whose condition has been clear for at least hold: they resolve.
SELECT a.rule, a.subject
FROM alerts a
JOIN alert_conditions c ON c.rule = a.rule AND c.subject = a.subject
WHERE a.resolved_at IS NULL AND a.rule = ANY(:rules::text[])
  AND c.clear_since <= now() - :hold::interval
ORDER BY a.rule, a.subject;

-- name: forget_conditions(hold)!
-- Conditions clear for longer than hold with no open alert need no memory.
DELETE FROM alert_conditions c
WHERE c.clear_since < now() - :hold::interval
  AND NOT EXISTS (
      SELECT 1 FROM alerts a
      WHERE a.rule = c.rule AND a.subject = c.subject AND a.resolved_at IS NULL);
