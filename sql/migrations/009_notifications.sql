-- Notify-when-free: citizens' Web Push subscriptions, the service's VAPID key, and the trigger
-- that decides, in the transaction of the change, that a subscription is due (an outbox).

-- One VAPID key pair for every worker and instance: the private key encrypted with the
-- service's secret key (bedsvc/secret_box.py), the public key as browsers take it
-- (applicationServerKey: the uncompressed P-256 point, base64url).
CREATE TABLE webpush_vapid_key (
    id                     boolean PRIMARY KEY DEFAULT true CHECK (id),
    public_key             text NOT NULL,
    private_key_encrypted  bytea NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now()
);

-- A subscription waits while its class is full at its hospital (or at every hospital of its
-- region); it is made only then. The change that frees a bed there sets `due_at` and
-- `freed_hospital_code` in its own transaction; a worker then claims it, sends one push and
-- deletes it. An unused one is deleted at `expires_at`.
CREATE TABLE webpush_subscriptions (
    id                   bigserial PRIMARY KEY,
    endpoint             text NOT NULL,
    p256dh               text NOT NULL,
    auth                 text NOT NULL,
    hospital_code        text REFERENCES hospitals (code) ON DELETE CASCADE,
    region_code          text REFERENCES regions (code) ON DELETE CASCADE,
    bed_class            text NOT NULL REFERENCES bed_classes (code),
    client_address       text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    expires_at           timestamptz NOT NULL,
    freed_hospital_code  text,
    due_at               timestamptz,
    next_attempt_at      timestamptz,
    attempts             integer NOT NULL DEFAULT 0,
    last_error           text,
    CHECK ((hospital_code IS NULL) <> (region_code IS NULL)),
    UNIQUE NULLS NOT DISTINCT (endpoint, hospital_code, region_code, bed_class)
);
CREATE INDEX webpush_subscriptions_waiting_idx
    ON webpush_subscriptions (bed_class) WHERE due_at IS NULL;
CREATE INDEX webpush_subscriptions_due_idx
    ON webpush_subscriptions (next_attempt_at) WHERE due_at IS NOT NULL;
CREATE INDEX webpush_subscriptions_address_idx ON webpush_subscriptions (client_address);
CREATE INDEX webpush_subscriptions_endpoint_idx ON webpush_subscriptions (endpoint);

-- Once per statement that wrote wards (reports, closings, the bridges, ward staff): the
-- waiting subscriptions whose class now has a free bed at a hospital that wrote one become
-- due. A subscription exists only while its class was full everywhere it watches (checked
-- under the hospitals' row locks when it is made), so a free bed now is the change from 0.
-- With no waiting subscription the statement pays one index probe.
CREATE FUNCTION webpush_mark_freed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM webpush_subscriptions WHERE due_at IS NULL) THEN
        RETURN NULL;
    END IF;
    WITH freed AS (
        SELECT DISTINCT n.hospital_code, n.bed_class, h.region_code
        FROM freed_wards n
        JOIN hospitals h ON h.code = n.hospital_code
        WHERE n.available > 0 AND n.closed_at IS NULL AND h.active
    ),
    chosen AS (
        -- One hospital per subscription (a region's may be freed at several at once).
        SELECT DISTINCT ON (s.id) s.id, f.hospital_code
        FROM webpush_subscriptions s
        JOIN freed f
          ON f.bed_class = s.bed_class
         AND (s.hospital_code = f.hospital_code OR s.region_code = f.region_code)
        WHERE s.due_at IS NULL AND s.expires_at > now()
        ORDER BY s.id, f.hospital_code
    )
    UPDATE webpush_subscriptions s
    SET due_at = now(), next_attempt_at = now(), freed_hospital_code = c.hospital_code
    FROM chosen c
    WHERE s.id = c.id AND s.due_at IS NULL;
    RETURN NULL;
END;
$$;

-- Transition tables take one event per trigger: an upsert fires both.
CREATE TRIGGER wards_webpush_inserted
    AFTER INSERT ON wards REFERENCING NEW TABLE AS freed_wards
    FOR EACH STATEMENT EXECUTE FUNCTION webpush_mark_freed();
CREATE TRIGGER wards_webpush_updated
    AFTER UPDATE ON wards REFERENCING NEW TABLE AS freed_wards
    FOR EACH STATEMENT EXECUTE FUNCTION webpush_mark_freed();
