-- The router's signed receipts: one per copy of a device's packet it bought for a route (the
-- input of data rewards), with the frame and measurements it forwards to the route's network
-- server. A copy is bought once per (packet, hotspot, route): the unique index makes a
-- redelivered packet report buy nothing twice.
CREATE TABLE packet_receipts (
    -- The receipt's identity (`Signed::id` of the PacketReceipt).
    id BYTEA PRIMARY KEY,
    payload_hash BYTEA NOT NULL,
    hotspot TEXT NOT NULL,
    oui BIGINT NOT NULL,
    route_id BIGINT NOT NULL,
    payload_size BIGINT NOT NULL,
    bought_ns BIGINT NOT NULL,
    -- The signed PacketReceipt and the hotspot's signed PacketReport, as encoded.
    receipt BYTEA NOT NULL,
    report BYTEA NOT NULL,
    -- When the route's network server acknowledged the copy (NULL: not yet).
    delivered_ns BIGINT,
    -- Sends not acknowledged so far, and when to send again (backing off, so copies that cannot
    -- be delivered now do not hold up the others).
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ns BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX packet_receipts_copy ON packet_receipts (payload_hash, hotspot, route_id);
CREATE INDEX packet_receipts_due ON packet_receipts (delivered_ns, next_attempt_ns, bought_ns);
CREATE INDEX packet_receipts_hotspot ON packet_receipts (hotspot, bought_ns);
