-- Which member of the oracle set proposed each closed epoch, and every signature the epoch
-- went on chain with (a single oracle's epochs have none here: its own is in `epochs`).
ALTER TABLE epochs ADD COLUMN proposer BYTEA;
CREATE TABLE epoch_signatures (
    epoch BIGINT NOT NULL,
    oracle BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    PRIMARY KEY (epoch, oracle)
);

-- Reports by their own timestamp: an epoch's window (tallies, an oracle set's inputs) and
-- whether the stream has come past a moment are range reads, not scans.
CREATE INDEX reports_timestamp ON reports (timestamp_ns);
