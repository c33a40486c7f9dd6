-- Data rewards: what each epoch's data pool held and paid, what it re-minted, what each hotspot was paid from it
-- for the credits it carried, and what each organisation was charged (its leaf in the same
-- tree: credits charged in the epoch and in all).
ALTER TABLE epochs ADD COLUMN data_pool BIGINT NOT NULL DEFAULT 0;
ALTER TABLE epochs ADD COLUMN data_paid BIGINT NOT NULL DEFAULT 0;
-- Tokens minted again for the credits the epoch's copies spent (net emissions).
ALTER TABLE epochs ADD COLUMN remint BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rewards ADD COLUMN data_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rewards ADD COLUMN dc BIGINT NOT NULL DEFAULT 0;
CREATE TABLE org_charges (
    epoch BIGINT NOT NULL,
    oui BIGINT NOT NULL,
    dc BIGINT NOT NULL,
    lifetime_dc BIGINT NOT NULL,
    PRIMARY KEY (epoch, oui)
);
-- An epoch's copies, read by purchase time when it closes.
CREATE INDEX packet_receipts_bought ON packet_receipts (bought_ns);
-- Each org's data credits as the router last read them from the chain (what the explorer
-- shows of purchases: the chain is the authority).
CREATE TABLE org_credits (
    oui BIGINT PRIMARY KEY,
    tokens_burned BIGINT NOT NULL,
    dc_bought BIGINT NOT NULL,
    dc_balance BIGINT NOT NULL,
    dc_settled BIGINT NOT NULL,
    dc_unpaid BIGINT NOT NULL,
    read_ns BIGINT NOT NULL
);
