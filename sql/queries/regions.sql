-- name: region_names()
-- Regions as the registry names them (Kemendagri codes); a region without a name shows its code.
SELECT code, name FROM regions ORDER BY code;

-- name: bpjs_partner_codes()
-- Listed hospitals that are BPJS partners: those with a BPJS PPK code in the registry.
SELECT code FROM hospitals WHERE active AND bpjs_ppk_code IS NOT NULL ORDER BY code;
