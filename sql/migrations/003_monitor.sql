-- Health-office monitoring: history lookups per ward, and alerts with their webhook deliveries.

-- The history query finds each ward's last report before a range; one index probe per ward.
CREATE INDEX occupancy_history_ward_time_idx
    ON occupancy_history (hospital_code, ward_code, reported_at);

-- One row per firing of a rule on a subject (a region's bed class, a hospital), open until
-- the condition clears. The partial unique index allows one open alert per rule and subject,
-- so however many workers evaluate the rules at once, each transition is recorded once.
CREATE TABLE alerts (
    id             bigserial PRIMARY KEY,
    rule           text NOT NULL CHECK (rule IN ('class_exhausted', 'hospital_stale')),
    subject        text NOT NULL,
    region_code    text,
    hospital_code  text,
    bed_class      text,
    message        text NOT NULL,
    fired_at       timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz
);
CREATE UNIQUE INDEX alerts_open_idx ON alerts (rule, subject) WHERE resolved_at IS NULL;
CREATE INDEX alerts_fired_at_idx ON alerts (fired_at DESC);

-- An outbox: each transition's webhook calls, written in the transition's transaction and
-- claimed by whichever worker gets to them first (FOR UPDATE SKIP LOCKED).
CREATE TABLE alert_deliveries (
    id               bigserial PRIMARY KEY,
    alert_id         bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    event            text NOT NULL CHECK (event IN ('fired', 'resolved')),
    url              text NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    failed_at        timestamptz,           -- gave up after the last attempt
    last_error       text,
    UNIQUE (alert_id, event, url)
);
CREATE INDEX alert_deliveries_due_idx ON alert_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
