-- name: insert_key(id, key_hash, role, hospital_code, label)!
INSERT INTO api_keys (id, key_hash, role, hospital_code, label)
VALUES (:id, :key_hash, :role, :hospital_code, :label);

-- name: find_key(key_hash)^
SELECT id, key_hash, role, hospital_code, revoked_at
FROM api_keys
WHERE key_hash = :key_hash;

-- name: revoke_key(id)$
-- Returns the key's hospital ('' for a monitor or admin key); no row for an unknown key.
UPDATE api_keys
SET revoked_at = coalesce(revoked_at, now())
WHERE id = :id
RETURNING coalesce(hospital_code, '');

-- name: find_hospital_keys(key_hashes, hospital_codes)
-- The key (if any) and the hospital each push names, for pushes that need them at the same
-- moment: one row per pair, in the order given.
-- not null: hospital_exists, hospital_active
SELECT k.id, k.key_hash, k.role, k.hospital_code, k.revoked_at,
       h.code IS NOT NULL AS hospital_exists, coalesce(h.active, false) AS hospital_active
FROM unnest(:key_hashes::bytea[], :hospital_codes::text[]) WITH ORDINALITY
     AS wanted (key_hash, code, n)
LEFT JOIN api_keys k ON k.key_hash = wanted.key_hash
LEFT JOIN hospitals h ON h.code = wanted.code
ORDER BY wanted.n;
