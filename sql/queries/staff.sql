-- name: insert_staff_user(username, hospital_code, password_hash)$
-- Issues a user, or gives a disabled one a new password and enables it again.
INSERT INTO staff_users AS u (username, hospital_code, password_hash)
VALUES (:username, :hospital_code, :password_hash)
ON CONFLICT (username) DO UPDATE
SET password_hash = EXCLUDED.password_hash, hospital_code = EXCLUDED.hospital_code,
    disabled_at = NULL, created_at = now()
WHERE u.disabled_at IS NOT NULL
RETURNING username;

-- name: find_staff_user(username)^
SELECT u.username, u.hospital_code, u.password_hash, u.disabled_at, h.name AS hospital_name
FROM staff_users u
JOIN hospitals h ON h.code = u.hospital_code
WHERE u.username = :username;

-- name: disable_staff_user(username)$
UPDATE staff_users
SET disabled_at = coalesce(disabled_at, now())
WHERE username = :username
RETURNING hospital_code;

-- name: update_password_hash(username, password_hash)!
-- A hash made with older Argon2 parameters is replaced at the next sign-in.
UPDATE staff_users SET password_hash = :password_hash WHERE username = :username;

-- name: insert_session(token_hash, username, csrf_token, lifetime)$
INSERT INTO staff_sessions (token_hash, username, csrf_token, expires_at)
VALUES (:token_hash, :username, :csrf_token, now() + make_interval(secs => :lifetime::float8))
RETURNING expires_at;

-- name: find_session(token_hash)^
-- A live session of an enabled user; expired ones and those of disabled users find nothing.
SELECT s.token_hash, s.username, s.csrf_token, s.expires_at, u.hospital_code,
       h.name AS hospital_name
FROM staff_sessions s
JOIN staff_users u ON u.username = s.username
JOIN hospitals h ON h.code = u.hospital_code
WHERE s.token_hash = :token_hash AND s.expires_at > now() AND u.disabled_at IS NULL;

-- name: delete_session(token_hash)!
DELETE FROM staff_sessions WHERE token_hash = :token_hash;

-- name: delete_user_sessions(username)!
DELETE FROM staff_sessions WHERE username = :username;

-- name: delete_expired_sessions()!
DELETE FROM staff_sessions WHERE expires_at <= now();

-- name: record_audit_event(key_id, username, action, hospital_code, subject, detail)!
INSERT INTO audit_events (key_id, username, action, hospital_code, subject, detail)
VALUES (:key_id, :username, :action, :hospital_code, :subject, :detail);

-- name: set_alert_webhook(code, url)!
UPDATE hospitals SET alert_webhook_url = :url WHERE code = :code;
