-- The signer's exact resolution-12 cell as the report revealed it against the chain's
-- commitment (hotspots the chain registry places by commitment only; NULL otherwise): what an
-- epoch's detection and rewards place the hotspot by. Never served publicly.
ALTER TABLE reports ADD COLUMN cell BIGINT;
CREATE INDEX reports_cell ON reports (timestamp_ns) WHERE cell IS NOT NULL;
