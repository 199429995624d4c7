-- name: summary_rows(region_code)
-- One row per listed hospital: its open wards' capacity and free beds summed per class, the
-- classes in the vocabulary's order with their sums at the same index (empty arrays for a
-- hospital without open wards), and its newest report. One row per hospital, not per class:
-- the national summary moves a seventh of the rows it would otherwise.
-- not null: bed_classes, capacities, availables
SELECT h.code, h.name, h.region_code, h.lat, h.lon,
       coalesce(c.bed_classes, '{}') AS bed_classes,
       coalesce(c.capacities, '{}') AS capacities,
       coalesce(c.availables, '{}') AS availables,
       c.updated_at
FROM hospitals h
CROSS JOIN LATERAL (
    -- Per hospital: an index scan of its wards (a region's summary reads only its own).
    SELECT array_agg(k.bed_class ORDER BY k.sort_order, k.bed_class) AS bed_classes,
           array_agg(k.capacity ORDER BY k.sort_order, k.bed_class) AS capacities,
           array_agg(k.available ORDER BY k.sort_order, k.bed_class) AS availables,
           max(k.updated_at) AS updated_at
    FROM (
        SELECT w.bed_class, bc.sort_order, sum(w.capacity)::bigint AS capacity,
               sum(w.available)::bigint AS available, max(w.reported_at) AS updated_at
        FROM wards w
        LEFT JOIN bed_classes bc ON bc.code = w.bed_class
        WHERE w.hospital_code = h.code AND w.closed_at IS NULL
        GROUP BY w.bed_class, bc.sort_order
    ) k
) c
WHERE h.active AND (:region_code::text IS NULL OR h.region_code = :region_code::text)
ORDER BY h.code;

-- name: stale_rows(older_than, region_code)
-- Open wards reported longer ago than older_than, and listed hospitals that never reported,
-- with their age by the database clock; the oldest hospital first.
-- not null: code, name, region_code, phone
WITH latest AS (
    SELECT h.code, h.name, h.region_code, h.phone,
           w.ward_code, w.name AS ward_name, w.bed_class, w.reported_at,
           max(w.reported_at) OVER (PARTITION BY h.code) AS hospital_reported_at
    FROM hospitals h
    LEFT JOIN wards w ON w.hospital_code = h.code AND w.closed_at IS NULL
    WHERE h.active AND (:region_code::text IS NULL OR h.region_code = :region_code::text)
)
SELECT code, name, region_code, phone, ward_code, ward_name, bed_class, reported_at,
       hospital_reported_at,
       extract(epoch FROM now() - reported_at)::bigint AS age_seconds,
       extract(epoch FROM now() - hospital_reported_at)::bigint AS hospital_age_seconds,
       hospital_reported_at < now() - :older_than::interval AS hospital_stale
FROM latest
WHERE hospital_reported_at IS NULL OR reported_at < now() - :older_than::interval
ORDER BY hospital_reported_at NULLS FIRST, code, reported_at, ward_code;

-- name: history_rows(bucket, origin, start, stop, hospital_code, region_code, bed_class)
-- Occupancy per time bucket, hospital and class. A ward counts with its last report in the
-- bucket or, without one, with the last before it (carried forward); a closed ward counts
-- for nothing from its closing on. Buckets start at origin + n * bucket and cover
-- [start, stop). Each ward's states become segments that are expanded into the buckets they
-- span, so the work grows with the rows returned, whatever the planner estimates.
-- not null: bucket_start, hospital_code, bed_class, capacity, occupied, available
WITH bounds AS (
    SELECT date_bin(:bucket::interval, :start::timestamptz, :origin::timestamptz) AS first_bucket,
           date_bin(:bucket::interval, :stop::timestamptz - interval '1 microsecond',
                    :origin::timestamptz) + :bucket::interval AS grid_end
),
scope AS (
    SELECT w.hospital_code, w.ward_code
    FROM wards w
    JOIN hospitals h ON h.code = w.hospital_code
    WHERE (:hospital_code::text IS NULL OR w.hospital_code = :hospital_code::text)
      AND (:region_code::text IS NULL OR h.region_code = :region_code::text)
),
carried_in AS (
    SELECT s.hospital_code, s.ward_code, b.first_bucket AS bucket_start, 0 AS priority,
           prior.bed_class, prior.change, prior.capacity, prior.available
    FROM scope s
    CROSS JOIN bounds b
    CROSS JOIN LATERAL (
        SELECT oh.bed_class, oh.change, oh.capacity, oh.available
        FROM occupancy_history oh
        WHERE oh.hospital_code = s.hospital_code AND oh.ward_code = s.ward_code
          AND oh.reported_at < b.first_bucket
        ORDER BY oh.reported_at DESC, oh.version DESC
        LIMIT 1
    ) prior
),
in_range AS (
    SELECT DISTINCT ON (oh.hospital_code, oh.ward_code,
                        date_bin(:bucket::interval, oh.reported_at, :origin::timestamptz))
           oh.hospital_code, oh.ward_code,
           date_bin(:bucket::interval, oh.reported_at, :origin::timestamptz) AS bucket_start,
           1 AS priority, oh.bed_class, oh.change, oh.capacity, oh.available
    FROM occupancy_history oh
    JOIN scope s ON s.hospital_code = oh.hospital_code AND s.ward_code = oh.ward_code
    CROSS JOIN bounds b
    WHERE oh.reported_at >= b.first_bucket AND oh.reported_at < :stop::timestamptz
    ORDER BY oh.hospital_code, oh.ward_code,
             date_bin(:bucket::interval, oh.reported_at, :origin::timestamptz),
             oh.reported_at DESC, oh.version DESC
),
changes AS (
    SELECT DISTINCT ON (hospital_code, ward_code, bucket_start)
           hospital_code, ward_code, bucket_start, bed_class, change, capacity, available
    FROM (
        SELECT hospital_code, ward_code, bucket_start, priority,
               bed_class, change, capacity, available
        FROM carried_in
        UNION ALL
        SELECT hospital_code, ward_code, bucket_start, priority,
               bed_class, change, capacity, available
        FROM in_range
    ) c
    ORDER BY hospital_code, ward_code, bucket_start, priority DESC
),
segments AS (
    SELECT c.hospital_code, c.bed_class, c.change, c.capacity, c.available,
           c.bucket_start AS segment_start,
           coalesce(lead(c.bucket_start) OVER (
                        PARTITION BY c.hospital_code, c.ward_code ORDER BY c.bucket_start),
                    b.grid_end) AS segment_end
    FROM changes c
    CROSS JOIN bounds b
)
SELECT bucket_start, s.hospital_code, s.bed_class,
       sum(s.capacity)::bigint AS capacity,
       sum(s.capacity - s.available)::bigint AS occupied,
       sum(s.available)::bigint AS available
FROM segments s
CROSS JOIN LATERAL generate_series(
    s.segment_start, s.segment_end - :bucket::interval, :bucket::interval) AS bucket_start
WHERE s.change = 'report' AND (:bed_class::text IS NULL OR s.bed_class = :bed_class::text)
GROUP BY bucket_start, s.hospital_code, s.bed_class
ORDER BY bucket_start, s.hospital_code, s.bed_class;

-- name: set_local_query_limits(timeout, check_interval)$
-- For the rest of the transaction only (milliseconds, as text): a pooled connection is shared.
-- The check interval makes PostgreSQL itself stop a query whose connection was closed (a
-- cancelled request whose connection the pool dropped), not only when it next sends rows.
SELECT set_config('statement_timeout', :timeout, true),
       set_config('client_connection_check_interval', :check_interval, true);

-- name: history_series_count(hospital_code, region_code, bed_class)$
-- How many (hospital, class) series a history query may return: with its buckets, what it
-- costs is known before it runs. Counted over the wards' current classes.
SELECT count(DISTINCT (w.hospital_code, w.bed_class))
FROM wards w
JOIN hospitals h ON h.code = w.hospital_code
WHERE (:hospital_code::text IS NULL OR w.hospital_code = :hospital_code::text)
  AND (:region_code::text IS NULL OR h.region_code = :region_code::text)
  AND (:bed_class::text IS NULL OR w.bed_class = :bed_class::text);
