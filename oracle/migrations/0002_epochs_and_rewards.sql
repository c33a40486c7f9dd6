-- Closed epochs: what was paid, the Merkle root over lifetime amounts, the oracle's signature.
CREATE TABLE epochs (
    epoch BIGINT PRIMARY KEY,
    start_ns BIGINT NOT NULL,
    end_ns BIGINT NOT NULL,
    emission BIGINT NOT NULL,
    paid BIGINT NOT NULL,
    dust BIGINT NOT NULL,
    lifetime_total BIGINT NOT NULL,
    hotspot_count BIGINT NOT NULL,
    merkle_root BYTEA NOT NULL,
    program_id BYTEA NOT NULL,
    oracle BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    closed_ns BIGINT NOT NULL
);

-- Every hotspot with a lifetime amount after each epoch (the tree's leaves), and what the
-- epoch itself paid it.
CREATE TABLE rewards (
    epoch BIGINT NOT NULL,
    hotspot TEXT NOT NULL,
    beacon_amount BIGINT NOT NULL,
    witness_amount BIGINT NOT NULL,
    lifetime BIGINT NOT NULL,
    PRIMARY KEY (epoch, hotspot)
);
CREATE INDEX rewards_hotspot ON rewards (hotspot, epoch);
