-- Failed sign-ins are counted by one throttle in Redis (bedsvc/throttle.py) for the bridges
-- and ward staff alike, each count expiring with its window; this table only grew.
DROP TABLE IF EXISTS sign_in_failures;
