-- A hotspot's reports in time order, whatever their kind (the explorer's ListReports).
CREATE INDEX reports_hotspot_time ON reports (hotspot, timestamp_ns, id);
-- Witnesses by the beacon they were matched to (a beacon earns only when validly witnessed).
CREATE INDEX reports_beacon ON reports (beacon_id);
