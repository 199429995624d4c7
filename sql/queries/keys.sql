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
