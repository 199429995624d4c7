-- name: insert_aplicares_credential(cons_id, hospital_code, secret_enc, label, allowed_addresses)!
INSERT INTO aplicares_credentials (cons_id, hospital_code, secret_enc, label, allowed_addresses)
VALUES (:cons_id, :hospital_code, :secret_enc, :label, :allowed_addresses);

-- name: find_aplicares_credential(cons_id)^
-- The credential with the PPK code of its hospital, so one query answers both checks.
SELECT c.cons_id, c.hospital_code, c.secret_enc, c.revoked_at, c.allowed_addresses,
       h.bpjs_ppk_code, h.active
FROM aplicares_credentials c
JOIN hospitals h ON h.code = c.hospital_code
WHERE c.cons_id = :cons_id;

-- name: revoke_aplicares_credential(cons_id)$
UPDATE aplicares_credentials
SET revoked_at = coalesce(revoked_at, now())
WHERE cons_id = :cons_id
RETURNING hospital_code;

-- name: upsert_sirs_credential(hospital_code, password_hash, label)!
-- A new password replaces the previous one (and lifts a revocation).
INSERT INTO sirs_credentials (hospital_code, password_hash, label)
VALUES (:hospital_code, :password_hash, :label)
ON CONFLICT (hospital_code) DO UPDATE
SET password_hash = EXCLUDED.password_hash,
    label = EXCLUDED.label,
    created_at = now(),
    revoked_at = NULL;

-- name: find_sirs_credential(hospital_code)^
-- The credential with whether its hospital is active, so one query answers both checks.
SELECT c.hospital_code, c.password_hash, c.revoked_at, h.active
FROM sirs_credentials c
JOIN hospitals h ON h.code = c.hospital_code
WHERE c.hospital_code = :hospital_code;

-- name: replace_sirs_password_hash(hospital_code, old_hash, new_hash)!
-- Only if the hash is still the one checked: a password issued meanwhile wins.
UPDATE sirs_credentials
SET password_hash = :new_hash
WHERE hospital_code = :hospital_code AND password_hash = :old_hash;

-- name: revoke_sirs_credential(hospital_code)$
UPDATE sirs_credentials
SET revoked_at = coalesce(revoked_at, now())
WHERE hospital_code = :hospital_code
RETURNING hospital_code;

-- name: bridge_wards(hospital_code)
-- The open wards of one hospital in the order the bridges list them.
SELECT w.id_t_tt, w.ward_code, w.name, w.bed_class, w.capacity, w.available,
       w.available_male, w.available_female, w.waiting, w.received_at
FROM wards w
JOIN bed_classes bc ON bc.code = w.bed_class
WHERE w.hospital_code = :hospital_code AND w.closed_at IS NULL
ORDER BY bc.sort_order, w.ward_code;

-- name: open_ward_by_id_t_tt(hospital_code, id_t_tt)^
SELECT id_t_tt, ward_code, name, bed_class
FROM wards
WHERE hospital_code = :hospital_code AND id_t_tt = :id_t_tt AND closed_at IS NULL;

-- name: ward_id_t_tt(hospital_code, ward_code)$
SELECT id_t_tt FROM wards WHERE hospital_code = :hospital_code AND ward_code = :ward_code;

-- name: sirs_bed_types()
SELECT id_tt, name FROM sirs_bed_types ORDER BY id_tt;
