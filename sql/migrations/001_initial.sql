-- bedsvc schema: reference data, the hospital registry, current occupancy per ward,
-- the append-only change history (also the audit log) and API keys.

CREATE TABLE regions (
    code        text PRIMARY KEY,            -- Kemendagri/BPS code, e.g. 3274 (Kota Cirebon)
    name        text
);

CREATE TABLE bed_classes (
    code            text PRIMARY KEY,
    name_id         text NOT NULL,
    name_en         text NOT NULL,
    aplicares_codes text[] NOT NULL DEFAULT '{}',   -- first one is what bedsvc reports back
    sirs_ids        integer[] NOT NULL DEFAULT '{}',-- first one is what bedsvc reports back
    edxl_bed_types  text[] NOT NULL DEFAULT '{}',
    is_intensive    boolean NOT NULL DEFAULT false,
    sort_order      integer NOT NULL
);

CREATE TABLE hospitals (
    code           text PRIMARY KEY,                -- Kemenkes hospital code
    bpjs_ppk_code  text UNIQUE,                     -- for the Aplicares bridge
    name           text NOT NULL,
    kind           text NOT NULL DEFAULT '',
    region_code    text NOT NULL REFERENCES regions (code),
    address        text NOT NULL DEFAULT '',
    phone          text NOT NULL DEFAULT '',        -- emergency (IGD) phone
    lat            double precision CHECK (lat BETWEEN -90 AND 90),
    lon            double precision CHECK (lon BETWEEN -180 AND 180),
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hospitals_region_idx ON hospitals (region_code);

-- One row per ward, holding its current occupancy (1:1, so one row is one lock).
CREATE TABLE wards (
    hospital_code    text NOT NULL REFERENCES hospitals (code) ON DELETE CASCADE,
    ward_code        text NOT NULL,
    name             text NOT NULL,
    bed_class        text NOT NULL REFERENCES bed_classes (code),
    capacity         integer NOT NULL CHECK (capacity >= 0),
    available        integer NOT NULL CHECK (available >= 0 AND available <= capacity),
    available_male   integer CHECK (available_male >= 0),
    available_female integer CHECK (available_female >= 0),
    waiting          integer CHECK (waiting >= 0),
    reported_at      timestamptz NOT NULL,          -- hospital's clock
    received_at      timestamptz NOT NULL,          -- ours
    version          bigint NOT NULL,
    closed_at        timestamptz,
    PRIMARY KEY (hospital_code, ward_code)
);

-- The single source of change versions. Taking the next version locks this row until commit,
-- so versions are gapless and in commit order: a reader that sees a gap knows it missed one.
CREATE TABLE change_counter (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    version  bigint NOT NULL
);
INSERT INTO change_counter (version) VALUES (0);

-- What the cache holds per listed hospital: its registry entry and its open wards.
CREATE VIEW hospital_states AS
SELECT h.code, h.name, h.kind, h.region_code, h.address, h.phone, h.lat, h.lon,
       coalesce(w.wards, '[]'::jsonb) AS wards
FROM hospitals h
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object(
               'ward_code', wd.ward_code, 'name', wd.name, 'bed_class', wd.bed_class,
               'capacity', wd.capacity, 'available', wd.available,
               'available_male', wd.available_male, 'available_female', wd.available_female,
               'waiting', wd.waiting, 'reported_at', wd.reported_at,
               'received_at', wd.received_at)
           ORDER BY bc.sort_order, wd.ward_code) AS wards
    FROM wards wd
    JOIN bed_classes bc ON bc.code = wd.bed_class
    WHERE wd.hospital_code = h.code AND wd.closed_at IS NULL
) w ON true
WHERE h.active;

CREATE TABLE api_keys (
    id             text PRIMARY KEY,
    key_hash       bytea NOT NULL UNIQUE,           -- SHA-256 of the token; the token is never stored
    role           text NOT NULL CHECK (role IN ('hospital', 'monitor', 'admin')),
    hospital_code  text REFERENCES hospitals (code) ON DELETE CASCADE,
    label          text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    CHECK ((role = 'hospital') = (hospital_code IS NOT NULL))
);

-- Append-only: every accepted change with the key that made it.
CREATE TABLE occupancy_history (
    id               bigserial PRIMARY KEY,
    version          bigint NOT NULL,
    hospital_code    text NOT NULL,
    ward_code        text NOT NULL,
    bed_class        text NOT NULL,
    change           text NOT NULL CHECK (change IN ('report', 'close')),
    capacity         integer NOT NULL,
    available        integer NOT NULL,
    available_male   integer,
    available_female integer,
    waiting          integer,
    reported_at      timestamptz NOT NULL,
    received_at      timestamptz NOT NULL,
    key_id           text
);
CREATE INDEX occupancy_history_hospital_time_idx
    ON occupancy_history (hospital_code, reported_at);
CREATE INDEX occupancy_history_time_idx ON occupancy_history (reported_at);

INSERT INTO bed_classes
    (code, name_id, name_en, aplicares_codes, sirs_ids, edxl_bed_types, is_intensive, sort_order)
VALUES
    ('VVIP', 'VVIP / Super VIP', 'VVIP / Super VIP', '{VVP}', '{1}', '{MedicalSurgical}', false, 10),
    ('VIP', 'VIP', 'VIP', '{VIP}', '{2}', '{MedicalSurgical}', false, 20),
    ('UTAMA', 'Utama', 'Main class', '{UTM}', '{}', '{MedicalSurgical}', false, 30),
    ('KL1', 'Kelas I', 'Class I', '{KL1}', '{3}', '{MedicalSurgical}', false, 40),
    ('KL2', 'Kelas II', 'Class II', '{KL2}', '{4}', '{MedicalSurgical}', false, 50),
    ('KL3', 'Kelas III', 'Class III', '{KL3}', '{5}', '{MedicalSurgical}', false, 60),
    ('KRIS', 'Kelas Rawat Inap Standar JKN', 'JKN standard inpatient class', '{}', '{52}',
        '{MedicalSurgical}', false, 70),
    ('HCU', 'High Care Unit', 'High Care Unit', '{HCU}', '{7}', '{MedicalSurgical}', true, 80),
    ('ICU', 'ICU (dewasa)', 'ICU (adult)', '{ICU}', '{6,38}', '{AdultICU}', true, 90),
    ('ICCU', 'ICCU / ICVCU', 'ICCU / ICVCU', '{ICC}', '{8,51}', '{AdultICU}', true, 100),
    ('NICU', 'NICU', 'NICU', '{NIC}', '{10,39}', '{NeonatalICU}', true, 110),
    ('PICU', 'PICU', 'PICU', '{PIC}', '{11,40}', '{PediatricICU}', true, 120),
    ('ISOLASI', 'Isolasi', 'Isolation', '{IRN}', '{12,24,25,26,27,28,29}',
        '{NegativeFlowIsolation,OtherIsolation}', false, 130),
    ('PERINATOLOGI', 'Perinatologi', 'Perinatology', '{}', '{14}', '{NurseryBeds}', false, 140),
    ('BERSALIN', 'Ruang bersalin', 'Delivery room', '{SAL}', '{}', '{}', false, 150),
    ('IGD', 'IGD / UGD', 'Emergency (IGD/UGD)', '{IGD,UGD}', '{37}', '{EmergencyDepartment}',
        false, 160),
    ('LAINNYA', 'Lainnya', 'Other', '{NON}', '{}', '{}', false, 170);
