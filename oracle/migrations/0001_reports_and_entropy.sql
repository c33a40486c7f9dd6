-- One schema for SQLite and PostgreSQL: BYTEA stores blobs in both (SQLite gives the column
-- NUMERIC affinity, which keeps blobs as blobs), BIGINT is INTEGER in SQLite.

-- Every report received, with its verdict.
CREATE TABLE reports (
    -- sha256("<message type>\0" || encoding), or sha256 of the raw bytes when undecodable.
    id BYTEA PRIMARY KEY,
    -- 0 undecodable, 1 beacon, 2 witness.
    kind BIGINT NOT NULL,
    -- base58 key of the signer (or of the topic, when the payload does not decode).
    hotspot TEXT NOT NULL,
    -- sha256 of the beacon packet (beacon payload or witnessed payload): how witnesses find
    -- their beacon.
    packet_hash BYTEA,
    -- The report's own timestamp and when this oracle received it, ns since the Unix epoch.
    timestamp_ns BIGINT NOT NULL,
    received_ns BIGINT NOT NULL,
    -- The bytes exactly as received.
    payload BYTEA NOT NULL,
    -- 0 pending, 1 valid, 2 invalid.
    status BIGINT NOT NULL,
    reason TEXT,
    detail TEXT,
    -- Witnesses: the beacon matched, and whether selected for rewards.
    beacon_id BYTEA,
    selected BIGINT NOT NULL DEFAULT 0,
    -- Witness measurements (dBm x 10, dB x 10, Hz) for explorers.
    rssi_ddbm BIGINT,
    snr_ddb BIGINT,
    frequency_hz BIGINT,
    judged_ns BIGINT
);
CREATE INDEX reports_status ON reports (status, kind, received_ns);
CREATE INDEX reports_packet ON reports (packet_hash);
CREATE INDEX reports_hotspot ON reports (hotspot, kind, timestamp_ns);

-- Entropy this oracle published, as signed.
CREATE TABLE entropy (
    id BIGINT PRIMARY KEY,
    data BYTEA NOT NULL,
    timestamp_ns BIGINT NOT NULL,
    ttl_secs BIGINT NOT NULL,
    message BYTEA NOT NULL
);
