-- name: lock_migrations(lock_id)$
SELECT pg_advisory_lock(:lock_id);

-- name: unlock_migrations(lock_id)$
SELECT pg_advisory_unlock(:lock_id);

-- name: create_schema_migrations()#
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- name: applied_migrations()
SELECT version FROM schema_migrations;

-- name: record_migration(version, name)!
INSERT INTO schema_migrations (version, name) VALUES (:version, :name);

-- name: schema_migrations_exists()$
SELECT to_regclass('schema_migrations') IS NOT NULL;
