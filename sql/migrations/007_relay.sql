-- Relay to the national registries (Kemenkes SIRS Online, BPJS Aplicares): one row per
-- hospital and registry it is relayed to, holding the hospital's credential there and how far
-- the relay got.
--
-- The outbox mark: a relay is due when its hospital's version is above the version it last
-- sent (`hospitals.version > relay_targets.sent_version`). Every change of a hospital already
-- takes the hospital's next version in the change's own transaction (write_report,
-- close_ward, the registry's upsert), so that bump is the mark: committed with the report,
-- never without it, and never lost by a crash. Neither a trigger on hospitals.version nor a
-- CTE in write_report was added: either would write a second row in every report's
-- transaction (a function call, a row version and its WAL, per report) and take a lock on
-- the relay row that a worker recording a send also takes, so a push could wait on the
-- relay. The relay workers pay instead: one indexed join over this small table per poll.
CREATE TABLE relay_targets (
    hospital_code   text NOT NULL REFERENCES hospitals (code) ON DELETE CASCADE,
    registry        text NOT NULL CHECK (registry IN ('sirs', 'aplicares')),
    -- The registry's login: SIRS Online rs_id, Aplicares cons_id.
    login           text NOT NULL,
    -- The password or secret, sent to the registry, so kept encrypted (a Fernet token under
    -- BEDSVC_SECRET_KEY), never in plain text.
    secret_enc      bytea NOT NULL,
    credential_set_at timestamptz NOT NULL DEFAULT now(),
    -- The hospital version the registry holds (0: nothing sent with this credential yet).
    sent_version    bigint NOT NULL DEFAULT 0,
    last_sent_at    timestamptz,
    -- When the state last sent was read: changes received after it are not sent yet.
    sent_state_at   timestamptz,
    -- No send before this: the minimum interval after a send, or the backoff after a failure.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A worker holds the row until then while it sends (nobody else sends it meanwhile).
    lease_until     timestamptz,
    -- Failed attempts in a row, the last failure's kind and text, since when it fails.
    failures        integer NOT NULL DEFAULT 0,
    last_error      text,
    last_error_detail text,
    last_error_at   timestamptz,
    failing_since   timestamptz,
    -- The registry refused the credential: no retry until it is set again.
    refused_at      timestamptz,
    -- Aplicares reads X-timestamp (whole seconds) as the report time: the next send's stamp
    -- must be above this, or the registry would take it as stale.
    min_stamp       bigint NOT NULL DEFAULT 0,
    -- What the last send sent each ward as (SIRS Online: ward code → [id_tt, ruang]), so that
    -- a ward renamed or moved to another bed type updates its row instead of leaving it.
    sent_keys       jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (hospital_code, registry)
);
CREATE INDEX relay_targets_due_idx ON relay_targets (next_attempt_at) WHERE refused_at IS NULL;

-- The relay_failing alert rule: a relay refused its credential or failing for long.
ALTER TABLE alerts DROP CONSTRAINT alerts_rule_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_rule_check
    CHECK (rule IN ('class_exhausted', 'hospital_stale', 'relay_failing'));
