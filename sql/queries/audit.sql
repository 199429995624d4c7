-- name: audit_changes(hospital_code, since, until, max_rows)
-- Accepted ward changes, newest first, each with the ward's state before it (the same ward's
-- previous history row, found with the ward and time index).
SELECT h.id, h.received_at AS at, h.key_id, h.username, h.change, h.hospital_code,
       h.ward_code, h.bed_class, h.reported_at,
       h.capacity, h.available, h.available_male, h.available_female, h.waiting,
       p.change AS before_change, p.capacity AS before_capacity,
       p.available AS before_available, p.available_male AS before_available_male,
       p.available_female AS before_available_female, p.waiting AS before_waiting
FROM occupancy_history h
LEFT JOIN LATERAL (
    SELECT change, capacity, available, available_male, available_female, waiting
    FROM occupancy_history p
    WHERE p.hospital_code = h.hospital_code AND p.ward_code = h.ward_code
      AND (p.reported_at < h.reported_at OR (p.reported_at = h.reported_at AND p.id < h.id))
    ORDER BY p.reported_at DESC, p.id DESC
    LIMIT 1
) p ON true
WHERE (:hospital_code::text IS NULL OR h.hospital_code = :hospital_code::text)
  AND h.received_at >= :since AND h.received_at < :until
ORDER BY h.received_at DESC, h.id DESC
LIMIT :max_rows;

-- name: audit_events(hospital_code, since, until, max_rows)
-- Registry edits and credential changes, newest first.
SELECT id, at, key_id, username, action, hospital_code, subject, detail
FROM audit_events
WHERE (:hospital_code::text IS NULL OR hospital_code = :hospital_code::text)
  AND at >= :since AND at < :until
ORDER BY at DESC, id DESC
LIMIT :max_rows;
