-- Reminders to a stale hospital itself (mail, Telegram), and alerts that wait out a flapping
-- condition before they fire or resolve.

-- Where a hospital's own staff are reminded when it stops reporting.
ALTER TABLE hospitals ADD COLUMN reminder_emails text[] NOT NULL DEFAULT '{}';
ALTER TABLE hospitals ADD COLUMN telegram_chat_ids text[] NOT NULL DEFAULT '{}';

-- One row per lapse: a listed hospital going without a report for longer than the stale
-- threshold. `since` is its last report (or its registration, never having reported). The
-- partial unique index allows one open lapse per hospital, so however many workers look at
-- once, each lapse is opened once; a fresh report (or the hospital leaving the list) closes it.
CREATE TABLE stale_lapses (
    id             bigserial PRIMARY KEY,
    hospital_code  text NOT NULL REFERENCES hospitals (code) ON DELETE CASCADE,
    since          timestamptz NOT NULL,
    opened_at      timestamptz NOT NULL DEFAULT now(),
    escalated_at   timestamptz,                 -- the second reminder was decided
    closed_at      timestamptz
);
CREATE UNIQUE INDEX stale_lapses_open_idx ON stale_lapses (hospital_code) WHERE closed_at IS NULL;

-- An outbox, as alert_deliveries: each reminder written in the statement that opened (or
-- escalated) its lapse, claimed with FOR UPDATE SKIP LOCKED, retried with backoff. A delivery
-- whose lapse ended before it went out is cancelled: nobody is reminded of a past lapse.
CREATE TABLE reminder_deliveries (
    id               bigserial PRIMARY KEY,
    lapse_id         bigint NOT NULL REFERENCES stale_lapses (id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('first', 'escalation')),
    channel          text NOT NULL CHECK (channel IN ('email', 'telegram')),
    recipient        text NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    failed_at        timestamptz,           -- gave up after the last attempt
    cancelled_at     timestamptz,           -- the lapse ended first
    last_error       text,
    UNIQUE (lapse_id, kind, channel, recipient)
);
CREATE INDEX reminder_deliveries_due_idx ON reminder_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL AND cancelled_at IS NULL;

-- Hysteresis of the alert rules: since when each rule's condition has held for a subject, or
-- has been clear. A rule fires once its condition held BEDSVC_ALERT_HOLD_SECONDS and resolves
-- once it has been clear that long, whichever worker looks.
CREATE TABLE alert_conditions (
    rule           text NOT NULL,
    subject        text NOT NULL,
    holding_since  timestamptz,
    clear_since    timestamptz,
    PRIMARY KEY (rule, subject),
    CHECK ((holding_since IS NULL) <> (clear_since IS NULL))
);

-- The rules are the service's to name (BEDSVC_ALERT_RULES is checked against them): a new
-- rule needs no migration.
ALTER TABLE alerts DROP CONSTRAINT IF EXISTS alerts_rule_check;
