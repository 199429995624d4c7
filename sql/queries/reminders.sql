-- Reminders to stale hospitals: their lapses and the outbox of mails and Telegram messages.

-- name: set_reminder_contacts(code, emails, chat_ids)!
-- NULL keeps what the registry holds (a form or a file without that field).
UPDATE hospitals
SET reminder_emails = coalesce(:emails::text[], reminder_emails),
    telegram_chat_ids = coalesce(:chat_ids::text[], telegram_chat_ids)
WHERE code = :code;

-- name: reminder_contacts(code)^
SELECT reminder_emails, telegram_chat_ids FROM hospitals WHERE code = :code;

-- name: close_lapses(stale_after)$
-- Closes the open lapses that ended: the hospital reported within the threshold, or sent a
-- report that was fresh when it arrived after the lapse began (it came back, then went quiet
-- again: a new lapse), or it is no longer listed. Their reminders not yet sent are cancelled.
-- A report that was already stale when it arrived (a system with a clock far behind) does not
-- end a lapse, so it cannot make one reminder after another.
WITH state AS (
    SELECT l.id, l.since, h.active,
           coalesce(max(w.reported_at), h.created_at) AS last_report,
           max(w.reported_at) FILTER (
               WHERE w.received_at - w.reported_at <= :stale_after::interval) AS last_fresh
    FROM stale_lapses l
    JOIN hospitals h ON h.code = l.hospital_code
    LEFT JOIN wards w ON w.hospital_code = h.code AND w.closed_at IS NULL
    WHERE l.closed_at IS NULL
    GROUP BY l.id, l.since, h.active, h.created_at
),
closed AS (
    UPDATE stale_lapses l
    SET closed_at = now()
    FROM state s
    WHERE l.id = s.id AND l.closed_at IS NULL
      AND (NOT s.active
           OR s.last_report >= now() - :stale_after::interval
           OR s.last_fresh > s.since)
    RETURNING l.id
),
cancelled AS (
    UPDATE reminder_deliveries d
    SET cancelled_at = now(), last_error = 'lapse ended'
    FROM closed c
    WHERE d.lapse_id = c.id
      AND d.delivered_at IS NULL AND d.failed_at IS NULL AND d.cancelled_at IS NULL
    RETURNING d.id
)
SELECT count(*) FROM closed;

-- name: open_lapses(stale_after)$
-- Opens a lapse for each listed hospital silent for longer than the threshold that has none
-- open, with its first reminder to every address and chat the registry holds, in one
-- statement: only one caller opens a lapse, and its reminders come with it.
WITH stale AS (
    SELECT h.code, coalesce(max(w.reported_at), h.created_at) AS since
    FROM hospitals h
    LEFT JOIN wards w ON w.hospital_code = h.code AND w.closed_at IS NULL
    WHERE h.active
    GROUP BY h.code, h.created_at
    HAVING coalesce(max(w.reported_at), h.created_at) < now() - :stale_after::interval
),
opened AS (
    INSERT INTO stale_lapses (hospital_code, since)
    SELECT code, since FROM stale ORDER BY code
    ON CONFLICT (hospital_code) WHERE closed_at IS NULL DO NOTHING
    RETURNING id, hospital_code
),
queued AS (
    INSERT INTO reminder_deliveries (lapse_id, kind, channel, recipient)
    SELECT o.id, 'first', r.channel, r.recipient
    FROM opened o
    JOIN reminder_recipients r ON r.hospital_code = o.hospital_code
    ON CONFLICT (lapse_id, kind, channel, recipient) DO NOTHING
    RETURNING id
)
SELECT count(*) FROM opened;

-- name: escalate_lapses(escalate_after)$
-- Lapses open for longer than escalate_after get their second reminder, once.
WITH escalated AS (
    UPDATE stale_lapses
    SET escalated_at = now()
    WHERE closed_at IS NULL AND escalated_at IS NULL
      AND opened_at <= now() - :escalate_after::interval
    RETURNING id, hospital_code
),
queued AS (
    INSERT INTO reminder_deliveries (lapse_id, kind, channel, recipient)
    SELECT x.id, 'escalation', r.channel, r.recipient
    FROM escalated x
    JOIN reminder_recipients r ON r.hospital_code = x.hospital_code
    ON CONFLICT (lapse_id, kind, channel, recipient) DO NOTHING
    RETURNING id
)
SELECT count(*) FROM escalated;

-- name: escalated_lapses()
-- Open lapses whose second reminder was decided: the health office hears of them.
-- not null: escalated_at, contacts
SELECT h.code, h.name, h.region_code, l.since, l.escalated_at,
       cardinality(h.reminder_emails) + cardinality(h.telegram_chat_ids) AS contacts
FROM stale_lapses l
JOIN hospitals h ON h.code = l.hospital_code
WHERE l.closed_at IS NULL AND l.escalated_at IS NOT NULL AND h.active
ORDER BY h.code;

-- name: claim_reminders(batch, lease)
-- Claims due reminders of open lapses that no other worker holds, for the lease (as
-- claim_deliveries does for webhooks), with what the message needs.
-- not null: id, kind, channel, recipient, attempts
WITH due AS (
    SELECT d.id
    FROM reminder_deliveries d
    WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.cancelled_at IS NULL
      AND d.next_attempt_at <= now()
    ORDER BY d.next_attempt_at, d.id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
),
claimed AS (
    UPDATE reminder_deliveries d
    SET attempts = d.attempts + 1,
        next_attempt_at = now() + make_interval(secs => :lease::float8)
    FROM due
    WHERE d.id = due.id
    RETURNING d.id, d.lapse_id, d.kind, d.channel, d.recipient, d.attempts
)
SELECT c.id, c.kind, c.channel, c.recipient, c.attempts,
       l.since, l.opened_at, l.closed_at IS NULL AS lapse_open,
       h.code AS hospital_code, h.name AS hospital_name, h.region_code,
       CASE c.channel
           WHEN 'email' THEN c.recipient = ANY(h.reminder_emails)
           ELSE c.recipient = ANY(h.telegram_chat_ids)
       END AS still_listed
FROM claimed c
JOIN stale_lapses l ON l.id = c.lapse_id
JOIN hospitals h ON h.code = l.hospital_code
ORDER BY c.id;

-- name: stale_wards(code, stale_after)
-- A hospital's open wards with no report within the threshold, as a reminder lists them.
SELECT w.ward_code, w.name, w.bed_class, bc.name_id AS class_name, w.reported_at
FROM wards w
JOIN bed_classes bc ON bc.code = w.bed_class
WHERE w.hospital_code = :code AND w.closed_at IS NULL
  AND w.reported_at < now() - :stale_after::interval
ORDER BY bc.sort_order, w.ward_code;

-- name: reminder_sent(id)!
UPDATE reminder_deliveries SET delivered_at = now(), last_error = NULL WHERE id = :id;

-- name: reminder_cancelled(id, reason)!
UPDATE reminder_deliveries SET cancelled_at = now(), last_error = :reason WHERE id = :id;

-- name: reminder_failed(id, error, max_attempts, backoff, backoff_max)!
-- The next attempt waits backoff, doubling per attempt up to backoff_max; after the last
-- attempt the reminder is given up.
UPDATE reminder_deliveries
SET last_error = :error,
    failed_at = CASE WHEN attempts >= :max_attempts THEN now() END,
    next_attempt_at = now() + make_interval(secs => least(
        :backoff::float8 * power(2, attempts - 1), :backoff_max::float8))
WHERE id = :id;
