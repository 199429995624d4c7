-- Hardening of the bridges' sign-in.

-- An Aplicares credential may be limited to the addresses its SIMRS sends from (empty: any),
-- since its signature covers only cons-id and time, not the body.
ALTER TABLE aplicares_credentials
    ADD COLUMN allowed_addresses cidr[] NOT NULL DEFAULT '{}';

-- SIRS passwords are now kept as `hmac-sha256$<HMAC of the password>$<HMAC of its MD5 hex>`
-- under a key derived from the service's secret key. Hashes of the previous form (Argon2id,
-- starting with `$argon2`) keep working and are replaced by the new form at the next
-- sign-in with the plain password; `bedsvc keys issue --sirs` replaces one at once.
COMMENT ON COLUMN sirs_credentials.password_hash IS
    'hmac-sha256$<hex>$<hex> (keyed with BEDSVC_SECRET_KEY), or a legacy $argon2id$ hash';
