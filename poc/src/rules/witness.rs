//! Witness rules.

use h3o::Resolution;
use hexproof_proto::{
    PublicKey, rf,
    v1::{BeaconReport, DataRate, WitnessReport},
};

use super::beacon::{antenna_detail, check_timestamp};
use crate::{HotspotInfo, Invalid, Limits, NS_PER_SEC, Reason, distance_m};

/// The valid beacon a witness claims to have heard, and its beaconer.
#[derive(Debug, Clone, Copy)]
pub struct HeardBeacon<'a> {
    pub report: &'a BeaconReport,
    pub beaconer: &'a HotspotInfo,
}

/// What the oracle knows when it judges a witness.
#[derive(Debug, Clone, Copy)]
pub struct WitnessContext<'a> {
    pub witness: Option<&'a HotspotInfo>,
    /// The valid beacon with the witnessed packet; `None` when there is none.
    pub beacon: Option<HeardBeacon<'a>>,
    /// Whether the same hotspot already witnessed this beacon.
    pub duplicate: bool,
    pub received_ns: u64,
}

/// Checks one witness; `Ok` when every rule passes.
pub fn check(w: &WitnessReport, ctx: &WitnessContext<'_>, limits: &Limits) -> Result<(), Invalid> {
    use Reason::*;
    let key = PublicKey::try_from(w.witness.as_slice())
        .map_err(|_| Invalid::new(WitnessUnknownHotspot, "witness key is not 32 bytes"))?;
    let Some(witness) = ctx.witness else {
        return Err(Invalid::new(
            WitnessUnknownHotspot,
            format!("{key} is not registered"),
        ));
    };
    let witness = &witness
        .located(w.location.as_ref(), w.timestamp_ns)
        .map_err(|e| Invalid::new(WitnessLocationUnrevealed, e.to_string()))?;
    let Some(location) = witness.location else {
        return Err(Invalid::new(
            WitnessNoLocation,
            "the hotspot has not asserted a location",
        ));
    };
    if !limits.antenna_ok(witness.gain_ddbi, witness.elevation_m) {
        return Err(Invalid::new(
            WitnessAntennaOutOfRange,
            antenna_detail(witness, limits),
        ));
    }
    check_timestamp(
        w.timestamp_ns,
        ctx.received_ns,
        limits,
        WitnessTimestampFuture,
        WitnessTimestampStale,
    )?;
    let Some(HeardBeacon {
        report: b,
        beaconer,
    }) = ctx.beacon
    else {
        return Err(Invalid::new(
            WitnessNoValidBeacon,
            "no valid beacon was sent with this packet",
        ));
    };
    // A valid beacon revealed its hotspot's cell (the beacon rules checked it).
    let beaconer = &beaconer
        .located(b.location.as_ref(), b.timestamp_ns)
        .map_err(|_| {
            Invalid::new(
                WitnessNoValidBeacon,
                "the beacon does not reveal its hotspot's location",
            )
        })?;
    if beaconer.pubkey == key {
        return Err(Invalid::new(
            WitnessSelf,
            "a hotspot cannot witness its own beacon",
        ));
    }
    if witness
        .asserted_at_ns
        .saturating_add(limits.location_min_age_secs * NS_PER_SEC)
        > w.timestamp_ns
    {
        return Err(Invalid::new(
            WitnessLocationTooRecent,
            format!(
                "the location was asserted less than {} s before",
                limits.location_min_age_secs
            ),
        ));
    }
    let lag = w.timestamp_ns.abs_diff(b.timestamp_ns);
    if lag > limits.max_beacon_to_witness_ms * 1_000_000 {
        return Err(Invalid::new(
            WitnessTimeWindow,
            format!(
                "received {:.3} s from the beacon; at most {:.3} s",
                lag as f64 / 1e9,
                limits.max_beacon_to_witness_ms as f64 / 1e3
            ),
        ));
    }
    let freq_diff = w.frequency_hz.abs_diff(b.frequency_hz);
    if freq_diff > limits.max_frequency_diff_hz {
        return Err(Invalid::new(
            WitnessFrequencyMismatch,
            format!(
                "heard on {} Hz, sent on {} Hz",
                w.frequency_hz, b.frequency_hz
            ),
        ));
    }
    if w.data_rate != b.data_rate {
        return Err(Invalid::new(
            WitnessDataRateMismatch,
            "heard at another data rate than sent",
        ));
    }

    let beacon_cell = beaconer.location.ok_or_else(|| {
        Invalid::new(
            WitnessNoValidBeacon,
            "the beaconer has no asserted location",
        )
    })?;
    let distance = distance_m(beacon_cell, location);
    let res = Resolution::try_from(limits.too_close_resolution).unwrap_or(Resolution::Eleven);
    // One grid step spans less than three average edges anywhere on the globe, so beyond that
    // bound the cells are far enough apart without walking the grid.
    let cell_rule_reach = f64::from(limits.min_cell_distance) * 3.0 * res.edge_length_m();
    // Within reach, a grid the cells cannot be measured on (across a pentagon's distortion)
    // counts as too close: geometry fails closed.
    let within_reach = distance as f64 <= cell_rule_reach;
    let cells_apart = if within_reach {
        match (beacon_cell.parent(res), location.parent(res)) {
            (Some(a), Some(b)) => a.grid_distance(b).ok().map(|d| d.unsigned_abs()),
            _ => None,
        }
    } else {
        None
    };
    let unmeasurable = within_reach && cells_apart.is_none();
    if unmeasurable
        || cells_apart.is_some_and(|d| d < limits.min_cell_distance)
        || distance < limits.min_distance_m
    {
        return Err(Invalid::new(
            WitnessTooClose,
            format!(
                "{distance} m from the beaconer ({} resolution-{} cells); too close to prove coverage",
                cells_apart.map_or("?".to_string(), |d| d.to_string()),
                limits.too_close_resolution
            ),
        ));
    }
    if distance > limits.max_distance_m {
        return Err(Invalid::new(
            WitnessTooFar,
            format!(
                "{:.1} km from the beaconer; at most {} km",
                distance as f64 / 1e3,
                limits.max_distance_m / 1000
            ),
        ));
    }

    let rate = DataRate::try_from(w.data_rate).unwrap_or(DataRate::Unspecified);
    let snr_floor = rate.min_snr_ddb().saturating_sub(limits.snr_margin_ddb);
    if w.snr_ddb < snr_floor {
        return Err(Invalid::new(
            WitnessSnrTooLow,
            format!(
                "SNR {:.1} dB is below the {:.1} dB {} can demodulate",
                f64::from(w.snr_ddb) / 10.0,
                f64::from(rate.min_snr_ddb()) / 10.0,
                rate.as_str_name()
            ),
        ));
    }
    // Free space is the best propagation there is: received power can not exceed transmit
    // power plus both antenna gains minus free-space loss over the asserted distance.
    let ceiling_cdbm = 10 * i64::from(b.tx_power_ddbm)
        + 10 * i64::from(beaconer.gain_ddbi)
        + 10 * i64::from(witness.gain_ddbi)
        - rf::fspl_cdb(distance, b.frequency_hz)
        + 10 * i64::from(limits.rssi_margin_ddb);
    if 10 * i64::from(w.rssi_ddbm) > ceiling_cdbm {
        return Err(Invalid::new(
            WitnessRssiTooHigh,
            format!(
                "RSSI {:.1} dBm at {distance} m; free space allows at most {:.1} dBm",
                f64::from(w.rssi_ddbm) / 10.0,
                (ceiling_cdbm - 10 * i64::from(limits.rssi_margin_ddb)) as f64 / 100.0
            ),
        ));
    }
    if ctx.duplicate {
        return Err(Invalid::new(
            WitnessDuplicate,
            "this hotspot already witnessed this beacon",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use h3o::LatLng;

    fn judge_with(
        w: &WitnessReport,
        witness: Option<&HotspotInfo>,
        beacon: Option<(&BeaconReport, &HotspotInfo)>,
        duplicate: bool,
        received_ns: u64,
    ) -> Result<(), Reason> {
        let ctx = WitnessContext {
            witness,
            beacon: beacon.map(|(report, beaconer)| HeardBeacon { report, beaconer }),
            duplicate,
            received_ns,
        };
        check(w, &ctx, &Limits::default()).map_err(|e| e.reason)
    }

    fn judge(w: &WitnessReport) -> Result<(), Reason> {
        let (b, bi, wi) = (valid_beacon(), beaconer_info(), witness_info());
        judge_with(w, Some(&wi), Some((&b, &bi)), false, T0 + NS_PER_SEC)
    }

    fn altered(tweak: impl FnOnce(&mut WitnessReport)) -> WitnessReport {
        let mut w = valid_witness();
        tweak(&mut w);
        w
    }

    fn witness_at(lat: f64, lon: f64) -> HotspotInfo {
        let mut wi = witness_info();
        wi.location = Some(LatLng::new(lat, lon).unwrap().to_cell(Resolution::Twelve));
        wi
    }

    #[test]
    fn a_valid_witness_passes() {
        assert_eq!(judge(&valid_witness()), Ok(()));
    }

    #[test]
    fn unknown_witness() {
        let (b, bi) = (valid_beacon(), beaconer_info());
        assert_eq!(
            judge_with(&valid_witness(), None, Some((&b, &bi)), false, T0),
            Err(Reason::WitnessUnknownHotspot)
        );
    }

    #[test]
    fn witness_without_location() {
        let (b, bi) = (valid_beacon(), beaconer_info());
        let mut wi = witness_info();
        wi.location = None;
        assert_eq!(
            judge_with(&valid_witness(), Some(&wi), Some((&b, &bi)), false, T0),
            Err(Reason::WitnessNoLocation)
        );
    }

    #[test]
    fn a_50_dbi_antenna_is_refused_before_any_signal_check() {
        // The attack: declare 50 dBi so that no RSSI is ever too high for free space.
        let (b, bi) = (valid_beacon(), beaconer_info());
        let mut wi = witness_info();
        wi.gain_ddbi = 500;
        let w = altered(|w| w.rssi_ddbm = -300);
        assert_eq!(
            judge_with(&w, Some(&wi), Some((&b, &bi)), false, T0 + NS_PER_SEC),
            Err(Reason::WitnessAntennaOutOfRange)
        );
    }

    #[test]
    fn timestamps_against_reception() {
        let wi = witness_info();
        let (b, bi) = (valid_beacon(), beaconer_info());
        assert_eq!(
            judge_with(
                &valid_witness(),
                Some(&wi),
                Some((&b, &bi)),
                false,
                T0 - 60 * NS_PER_SEC
            ),
            Err(Reason::WitnessTimestampFuture)
        );
        assert_eq!(
            judge_with(
                &valid_witness(),
                Some(&wi),
                Some((&b, &bi)),
                false,
                T0 + 3_000 * NS_PER_SEC
            ),
            Err(Reason::WitnessTimestampStale)
        );
    }

    #[test]
    fn no_valid_beacon() {
        let wi = witness_info();
        assert_eq!(
            judge_with(&valid_witness(), Some(&wi), None, false, T0),
            Err(Reason::WitnessNoValidBeacon)
        );
    }

    #[test]
    fn self_witness() {
        let (b, bi) = (valid_beacon(), beaconer_info());
        let w = altered(|w| w.witness = beaconer_key().public().to_bytes().to_vec());
        assert_eq!(
            judge_with(&w, Some(&bi), Some((&b, &bi)), false, T0),
            Err(Reason::WitnessSelf)
        );
    }

    #[test]
    fn location_asserted_too_recently() {
        let (b, bi) = (valid_beacon(), beaconer_info());
        let mut wi = witness_info();
        wi.asserted_at_ns = T0 - 600 * NS_PER_SEC;
        assert_eq!(
            judge_with(&valid_witness(), Some(&wi), Some((&b, &bi)), false, T0),
            Err(Reason::WitnessLocationTooRecent)
        );
    }

    #[test]
    fn outside_the_time_window() {
        let w = altered(|w| w.timestamp_ns = T0 + 5 * NS_PER_SEC);
        assert_eq!(judge(&w), Err(Reason::WitnessTimeWindow));
    }

    #[test]
    fn frequency_mismatch() {
        assert_eq!(judge(&altered(|w| w.frequency_hz = 868_150_000)), Ok(()));
        assert_eq!(
            judge(&altered(|w| w.frequency_hz = 868_300_000)),
            Err(Reason::WitnessFrequencyMismatch)
        );
    }

    #[test]
    fn data_rate_mismatch() {
        assert_eq!(
            judge(&altered(|w| w.data_rate = DataRate::Sf7bw125 as i32)),
            Err(Reason::WitnessDataRateMismatch)
        );
    }

    #[test]
    fn too_close() {
        let (b, bi) = (valid_beacon(), beaconer_info());
        // About 110 m north: under 8 resolution-11 cells.
        let wi = witness_at(52.521, 13.405);
        assert_eq!(
            judge_with(
                &valid_witness(),
                Some(&wi),
                Some((&b, &bi)),
                false,
                T0 + NS_PER_SEC
            ),
            Err(Reason::WitnessTooClose)
        );
    }

    /// Near a pentagon the grid cannot measure some pairs of cells; such a pair used to pass
    /// as "not too close" whatever the distance. It fails closed now.
    #[test]
    fn geometry_that_cannot_be_measured_fails_closed() {
        let res = Resolution::Eleven;
        let pentagon = res.pentagons().next().unwrap();
        // Two cells on either side of the pentagon, a few hundred metres apart, that the grid
        // cannot measure (searched deterministically around it).
        let around: Vec<h3o::CellIndex> = pentagon.grid_disk(12);
        let at = |c: &h3o::CellIndex| c.center_child(Resolution::Twelve).unwrap();
        let (beacon_cell, unmeasurable) = around
            .iter()
            .flat_map(|a| around.iter().map(move |b| (a, b)))
            .find(|(a, b)| {
                let d = distance_m(at(a), at(b));
                a.grid_distance(**b).is_err() && (100..400).contains(&d)
            })
            .map(|(a, b)| (at(a), at(b)))
            .expect("two cells across the pentagon's distortion");
        let mut bi = beaconer_info();
        bi.location = Some(beacon_cell);
        let mut wi = witness_info();
        wi.location = Some(unmeasurable);
        assert_eq!(
            judge_with(
                &valid_witness(),
                Some(&wi),
                Some((&valid_beacon(), &bi)),
                false,
                T0 + NS_PER_SEC
            ),
            Err(Reason::WitnessTooClose)
        );
    }

    #[test]
    fn too_far() {
        let (b, bi) = (valid_beacon(), beaconer_info());
        // Hamburg, about 255 km away. Weak enough for free space.
        let wi = witness_at(53.55, 9.99);
        let w = altered(|w| w.rssi_ddbm = -1350);
        assert_eq!(
            judge_with(&w, Some(&wi), Some((&b, &bi)), false, T0 + NS_PER_SEC),
            Err(Reason::WitnessTooFar)
        );
    }

    #[test]
    fn rssi_higher_than_physics_allows() {
        // 2.2 km at 868.1 MHz: FSPL 98.0 dB; 13 + 3 + 3 − 98.0 = −79.0 dBm (+5 dB margin).
        assert_eq!(judge(&altered(|w| w.rssi_ddbm = -750)), Ok(()));
        assert_eq!(
            judge(&altered(|w| w.rssi_ddbm = -730)),
            Err(Reason::WitnessRssiTooHigh)
        );
    }

    #[test]
    fn snr_below_demodulation() {
        // SF9 demodulates down to −12.5 dB; 2.5 dB margin.
        assert_eq!(judge(&altered(|w| w.snr_ddb = -150)), Ok(()));
        assert_eq!(
            judge(&altered(|w| w.snr_ddb = -151)),
            Err(Reason::WitnessSnrTooLow)
        );
    }

    #[test]
    fn duplicate_witness() {
        let (b, bi, wi) = (valid_beacon(), beaconer_info(), witness_info());
        assert_eq!(
            judge_with(
                &valid_witness(),
                Some(&wi),
                Some((&b, &bi)),
                true,
                T0 + NS_PER_SEC
            ),
            Err(Reason::WitnessDuplicate)
        );
    }
}
