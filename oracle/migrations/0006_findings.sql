-- What detection found per closed epoch (hexproof_poc::detect): a code and the evidence, in a
-- sentence with the numbers, for the hotspot's owner and the explorer.
CREATE TABLE findings (
    epoch BIGINT NOT NULL,
    hotspot TEXT NOT NULL,
    code TEXT NOT NULL,
    evidence TEXT NOT NULL,
    PRIMARY KEY (epoch, hotspot, code)
);
CREATE INDEX findings_hotspot ON findings (hotspot, epoch);
