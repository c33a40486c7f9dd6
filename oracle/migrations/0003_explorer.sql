-- A hotspot's reports in time order, whatever their kind (the explorer's ListReports).
CREATE INDEX reports_hotspot_time ON reports (hotspot, timestamp_ns, id);
