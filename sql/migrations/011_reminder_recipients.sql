-- Who a hospital's reminders go to, one row per channel and address: the first reminder of a
-- lapse and its escalation are sent to the same people, read from this one definition.
CREATE VIEW reminder_recipients AS
SELECT h.code AS hospital_code, 'email' AS channel, e AS recipient
FROM hospitals h, unnest(h.reminder_emails) AS e
UNION
SELECT h.code, 'telegram', c
FROM hospitals h, unnest(h.telegram_chat_ids) AS c;
