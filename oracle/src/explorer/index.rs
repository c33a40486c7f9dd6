//! The explorer's read model: per-hotspot verdict counts and signal histograms, kept in
//! memory so a hex of any size is summed without touching the database. Built from
//! [`Store::verdict_counts`](crate::store::Store::verdict_counts) at start, then advanced by
//! each final verdict as it is written. Pure: no I/O.
//!
//! Only registered hotspots have an entry: a report of any other key (anyone can invent one)
//! counts in the network's totals and nothing more, so the index is as large as the registry.

use std::collections::{BTreeMap, HashMap};

use hexproof_poc::{Kind, Status};

use crate::store::{ReportView, VerdictCount};

/// RSSI histogram range, whole dBm: [-160, 20).
const RSSI_MIN: i32 = -160;
const RSSI_BINS: usize = 180;
/// SNR histogram range, whole dB: [-40, 40).
const SNR_MIN: i32 = -40;
const SNR_BINS: usize = 80;

/// One hotspot's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HotspotStats {
    pub valid_beacons: u64,
    pub valid_witnesses: u64,
    pub invalid: u64,
    /// Valid witnesses it heard, by whole dBm from -160 and by whole dB from -40.
    rssi: Option<Box<[u32; RSSI_BINS]>>,
    snr: Option<Box<[u32; SNR_BINS]>>,
}

impl HotspotStats {
    fn add_signal(&mut self, rssi_dbm: i32, snr_db: i32, n: u32) {
        let r = (rssi_dbm - RSSI_MIN).clamp(0, RSSI_BINS as i32 - 1) as usize;
        let s = (snr_db - SNR_MIN).clamp(0, SNR_BINS as i32 - 1) as usize;
        self.rssi.get_or_insert_with(|| Box::new([0; RSSI_BINS]))[r] += n;
        self.snr.get_or_insert_with(|| Box::new([0; SNR_BINS]))[s] += n;
    }
}

/// Whole dBm / dB as the database rounds them (truncation of (x - 9) / 10 and x / 10).
pub fn whole_rssi(rssi_ddbm: i32) -> i32 {
    (rssi_ddbm - 9) / 10
}

pub fn whole_snr(snr_ddb: i32) -> i32 {
    snr_ddb / 10
}

/// Sums over a set of hotspots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub valid_beacons: u64,
    pub valid_witnesses: u64,
    pub invalid: u64,
    /// dBm x 10 / dB x 10 (whole-unit resolution); zero when no valid witness.
    pub rssi_min_ddbm: i32,
    pub rssi_median_ddbm: i32,
    pub rssi_max_ddbm: i32,
    pub snr_median_ddb: i32,
}

#[derive(Debug, Default)]
pub struct Index {
    hotspots: HashMap<String, HotspotStats>,
    invalid_by_reason: BTreeMap<String, u64>,
    valid_beacons: u64,
    valid_witnesses: u64,
    invalid: u64,
}

impl Index {
    /// The index of `counts`, with an entry for each hotspot `registered` says is.
    pub fn from_counts(counts: &[VerdictCount], registered: impl Fn(&str) -> bool) -> Index {
        let mut index = Index::default();
        for c in counts {
            index.add(
                registered(&c.hotspot).then_some(c.hotspot.as_str()),
                c.kind,
                c.status,
                c.reason.as_deref(),
                c.rssi_dbm.zip(c.snr_db),
                c.count,
            );
        }
        index
    }

    /// Counts one report that just reached its final verdict; its hotspot gets an entry only
    /// when `registered`.
    pub fn apply(&mut self, v: &ReportView, registered: bool) {
        let signal = match (v.kind, v.status, v.rssi_ddbm, v.snr_ddb) {
            (Kind::Witness, Status::Valid, Some(r), Some(s)) => Some((whole_rssi(r), whole_snr(s))),
            _ => None,
        };
        self.add(
            registered.then_some(v.hotspot.as_str()),
            v.kind,
            v.status,
            v.reason.as_deref(),
            signal,
            1,
        );
    }

    /// After a change of the registry: entries of hotspots no longer registered go (their
    /// verdicts stay in the totals).
    pub fn forget_unregistered(&mut self, registered: impl Fn(&str) -> bool) {
        self.hotspots.retain(|k, _| registered(k));
    }

    /// Entries for hotspots just registered, from their verdicts so far (already in the
    /// totals); hotspots that already have one are left as they are.
    pub fn track(&mut self, counts: &[VerdictCount]) {
        let fresh: std::collections::HashSet<&str> = counts
            .iter()
            .map(|c| c.hotspot.as_str())
            .filter(|k| !self.hotspots.contains_key(*k))
            .collect();
        let mut added = Index::default();
        for c in counts.iter().filter(|c| fresh.contains(c.hotspot.as_str())) {
            added.add(
                Some(&c.hotspot),
                c.kind,
                c.status,
                c.reason.as_deref(),
                c.rssi_dbm.zip(c.snr_db),
                c.count,
            );
        }
        self.hotspots.extend(added.hotspots);
    }

    /// Whether `key` has an entry.
    pub fn tracks(&self, key: &str) -> bool {
        self.hotspots.contains_key(key)
    }

    /// How many hotspots have an entry.
    pub fn len(&self) -> usize {
        self.hotspots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hotspots.is_empty()
    }

    /// Counts `n` verdicts in the totals, and in `hotspot`'s entry when there is one to keep
    /// (a registered hotspot's).
    fn add(
        &mut self,
        hotspot: Option<&str>,
        kind: Kind,
        status: Status,
        reason: Option<&str>,
        signal: Option<(i32, i32)>,
        n: u64,
    ) {
        if status == Status::Pending {
            return;
        }
        let mut scratch = HotspotStats::default();
        let stats = match hotspot {
            Some(key) => self.hotspots.entry(key.to_string()).or_default(),
            None => &mut scratch,
        };
        match (kind, status) {
            (_, Status::Pending) => {}
            (Kind::Beacon, Status::Valid) => {
                stats.valid_beacons += n;
                self.valid_beacons += n;
            }
            (Kind::Witness, Status::Valid) => {
                stats.valid_witnesses += n;
                self.valid_witnesses += n;
                if let Some((rssi, snr)) = signal {
                    stats.add_signal(rssi, snr, u32::try_from(n).unwrap_or(u32::MAX));
                }
            }
            (_, _) => {
                stats.invalid += n;
                self.invalid += n;
                *self
                    .invalid_by_reason
                    .entry(reason.unwrap_or("unknown").to_string())
                    .or_default() += n;
            }
        }
    }

    pub fn hotspot(&self, key: &str) -> Option<&HotspotStats> {
        self.hotspots.get(key)
    }

    /// Sums the given hotspots' counts and merges their signal histograms.
    pub fn summarize<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> Summary {
        let mut s = Summary::default();
        let mut rssi = [0u64; RSSI_BINS];
        let mut snr = [0u64; SNR_BINS];
        for key in keys {
            let Some(h) = self.hotspots.get(key) else {
                continue;
            };
            s.valid_beacons += h.valid_beacons;
            s.valid_witnesses += h.valid_witnesses;
            s.invalid += h.invalid;
            if let (Some(r), Some(n)) = (&h.rssi, &h.snr) {
                for (sum, v) in rssi.iter_mut().zip(r.iter()) {
                    *sum += u64::from(*v);
                }
                for (sum, v) in snr.iter_mut().zip(n.iter()) {
                    *sum += u64::from(*v);
                }
            }
        }
        let total: u64 = rssi.iter().sum();
        if total > 0 {
            let bin = |i: usize, min: i32| (i as i32 + min) * 10;
            let first = rssi.iter().position(|&c| c > 0).unwrap_or(0);
            let last = rssi.iter().rposition(|&c| c > 0).unwrap_or(0);
            s.rssi_min_ddbm = bin(first, RSSI_MIN);
            s.rssi_max_ddbm = bin(last, RSSI_MIN);
            s.rssi_median_ddbm = bin(median(&rssi, total), RSSI_MIN);
            s.snr_median_ddb = bin(median(&snr, snr.iter().sum()), SNR_MIN);
        }
        s
    }

    pub fn totals(&self) -> (u64, u64, u64) {
        (self.valid_beacons, self.valid_witnesses, self.invalid)
    }

    pub fn invalid_by_reason(&self) -> &BTreeMap<String, u64> {
        &self.invalid_by_reason
    }
}

/// The bin holding the lower median of a histogram with `total` entries.
fn median(bins: &[u64], total: u64) -> usize {
    let half = total.div_ceil(2).max(1);
    let mut seen = 0;
    for (i, &c) in bins.iter().enumerate() {
        seen += c;
        if seen >= half {
            return i;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(hotspot: &str, kind: Kind, status: Status, rssi: i32) -> ReportView {
        ReportView {
            id: [0; 32],
            kind,
            hotspot: hotspot.into(),
            timestamp_ns: 0,
            received_ns: 0,
            status,
            reason: (status == Status::Invalid).then(|| "witness_too_far".into()),
            detail: None,
            beaconer: None,
            selected: false,
            rssi_ddbm: Some(rssi),
            snr_ddb: Some(55),
            frequency_hz: None,
        }
    }

    #[test]
    fn live_updates_and_the_database_snapshot_agree() {
        let mut live = Index::default();
        let reports = [
            view("a", Kind::Witness, Status::Valid, -1004),
            view("a", Kind::Witness, Status::Valid, -1100),
            view("a", Kind::Witness, Status::Valid, -1207),
            view("a", Kind::Beacon, Status::Valid, 0),
            view("b", Kind::Witness, Status::Invalid, -900),
        ];
        for r in &reports {
            live.apply(r, true);
        }
        let s = live.summarize(["a", "b", "nobody"]);
        assert_eq!((s.valid_beacons, s.valid_witnesses, s.invalid), (1, 3, 1));
        assert_eq!(
            (s.rssi_min_ddbm, s.rssi_median_ddbm, s.rssi_max_ddbm),
            (-1210, -1100, -1010)
        );
        assert_eq!(s.snr_median_ddb, 50);
        assert_eq!(live.invalid_by_reason()["witness_too_far"], 1);

        // The same reports as the database's GROUP BY gives them.
        let counts: Vec<VerdictCount> = reports
            .iter()
            .map(|r| VerdictCount {
                hotspot: r.hotspot.clone(),
                kind: r.kind,
                status: r.status,
                reason: r.reason.clone(),
                rssi_dbm: (r.kind == Kind::Witness && r.status == Status::Valid)
                    .then(|| whole_rssi(r.rssi_ddbm.unwrap())),
                snr_db: (r.kind == Kind::Witness && r.status == Status::Valid)
                    .then(|| whole_snr(r.snr_ddb.unwrap())),
                count: 1,
            })
            .collect();
        let snapshot = Index::from_counts(&counts, |_| true);
        assert_eq!(snapshot.summarize(["a", "b"]), s);
        assert_eq!(
            live.summarize(["b"]).rssi_median_ddbm,
            0,
            "no valid witness in b"
        );
    }

    #[test]
    fn keys_not_registered_count_in_the_totals_and_get_no_entry() {
        let mut index = Index::default();
        for i in 0..100 {
            let mut v = view(&format!("invented-{i}"), Kind::Beacon, Status::Invalid, 0);
            v.reason = Some("beacon_unknown_hotspot".into());
            index.apply(&v, false);
        }
        index.apply(&view("a", Kind::Beacon, Status::Valid, 0), true);
        assert_eq!(index.len(), 1, "only the registered hotspot has an entry");
        assert_eq!(index.totals(), (1, 0, 100));
        assert_eq!(index.invalid_by_reason()["beacon_unknown_hotspot"], 100);

        // Registered later: its verdicts so far become its entry, once.
        let counts = [VerdictCount {
            hotspot: "invented-7".into(),
            kind: Kind::Beacon,
            status: Status::Invalid,
            reason: Some("beacon_unknown_hotspot".into()),
            rssi_dbm: None,
            snr_db: None,
            count: 1,
        }];
        index.track(&counts);
        index.track(&counts);
        assert_eq!(index.summarize(["invented-7"]).invalid, 1);
        assert_eq!(index.totals(), (1, 0, 100), "already in the totals");
        index.forget_unregistered(|k| k == "a");
        assert_eq!(index.len(), 1);
        assert!(index.tracks("a") && !index.tracks("invented-7"));
    }
}
