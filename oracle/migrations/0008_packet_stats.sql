-- How many packet reports the router took from each hotspot, bought or not (its "heard"
-- count: reports from a registered key with a valid signature), counted in the transaction that
-- stores the receipts of their copies.
CREATE TABLE packet_heard (
    hotspot TEXT PRIMARY KEY,
    heard BIGINT NOT NULL,
    last_ns BIGINT NOT NULL
);
CREATE INDEX packet_receipts_route ON packet_receipts (route_id, oui);
