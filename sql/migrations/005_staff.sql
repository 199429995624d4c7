-- Ward staff of hospitals without a SIMRS: their own sign-in, sessions and the audit trail.

-- One row per person, issued by an operator; the password is stored as an Argon2 hash only.
CREATE TABLE staff_users (
    username       text PRIMARY KEY,
    hospital_code  text NOT NULL REFERENCES hospitals (code) ON DELETE CASCADE,
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz
);
CREATE INDEX staff_users_hospital_idx ON staff_users (hospital_code);

-- Server-side sessions, so that signing out or disabling a user ends them at once. The
-- cookie carries a random token; only its SHA-256 is kept.
CREATE TABLE staff_sessions (
    token_hash  bytea PRIMARY KEY,
    username    text NOT NULL REFERENCES staff_users (username) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX staff_sessions_username_idx ON staff_sessions (username);
CREATE INDEX staff_sessions_expires_idx ON staff_sessions (expires_at);

-- Failed sign-ins per username and per client address, counted in a fixed window, in
-- PostgreSQL so that every worker and instance sees the same count.
CREATE TABLE sign_in_failures (
    scope         text NOT NULL CHECK (scope IN ('username', 'address')),
    subject       text NOT NULL,
    failures      integer NOT NULL,
    window_start  timestamptz NOT NULL,
    PRIMARY KEY (scope, subject)
);

-- A change made on the entry page names the person who made it (key_id stays null then).
ALTER TABLE occupancy_history ADD COLUMN username text;
-- The audit trail lists changes by the time bedsvc received them.
CREATE INDEX occupancy_history_received_idx ON occupancy_history (received_at);

-- A hospital's own receiver of its stale alerts, besides the health office's.
ALTER TABLE hospitals ADD COLUMN alert_webhook_url text
    CHECK (alert_webhook_url ~ '^https?://');

-- Registry edits and credential changes (keys, bridge credentials, users), for the audit trail.
CREATE TABLE audit_events (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    key_id         text,
    username       text,
    action         text NOT NULL,
    hospital_code  text,
    subject        text NOT NULL,
    detail         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_hospital_at_idx ON audit_events (hospital_code, at);

-- SIRS Online's id_tt 24-27 are ICU beds (with and without negative pressure), not isolation
-- beds: counted as intensive care (SANER's ICU counts) and shown as such. The negative-pressure
-- ICU keeps a class of its own; 28-29 stay isolation.
INSERT INTO bed_classes
    (code, name_id, name_en, aplicares_codes, sirs_ids, edxl_bed_types, is_intensive, sort_order)
VALUES
    ('ICU_TEKANAN_NEGATIF', 'ICU tekanan negatif', 'Negative-pressure ICU', '{}', '{24,25}',
        '{AdultICU,NegativeFlowIsolation}', true, 95)
ON CONFLICT (code) DO NOTHING;
UPDATE bed_classes SET sirs_ids = '{6,38,26,27}' WHERE code = 'ICU' AND sirs_ids = '{6,38}';
UPDATE bed_classes SET sirs_ids = '{12,28,29}'
WHERE code = 'ISOLASI' AND sirs_ids = '{12,24,25,26,27,28,29}';
