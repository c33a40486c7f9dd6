//! Beacon rules.

use hexproof_proto::{
    PublicKey,
    beacon::{LOCAL_ENTROPY_MAX, LOCAL_ENTROPY_MIN, derive_packet},
    v1::{BeaconReport, DataRate},
};

use crate::{EntropyRecord, HotspotInfo, Invalid, Limits, NS_PER_SEC, Reason};

/// What the oracle knows when it judges a beacon.
#[derive(Debug, Clone, Copy)]
pub struct BeaconContext<'a> {
    /// The beaconer, from the registry.
    pub beaconer: Option<&'a HotspotInfo>,
    /// The entropy the beacon names, from this oracle's history.
    pub entropy: Option<&'a EntropyRecord>,
    /// Timestamp of the nearest other valid beacon of the same hotspot, if any.
    pub nearest_valid_beacon_ns: Option<u64>,
    /// Whether a valid beacon with the same packet exists already.
    pub duplicate_packet: bool,
    /// When the oracle received the report, ns.
    pub received_ns: u64,
    /// Witnesses of the same packet the oracle received more than twice the witness window
    /// before this beacon (any verdict): the beacon was held back while they waited.
    pub early_witnesses: usize,
}

/// Checks one beacon; `Ok` when every rule passes.
pub fn check(b: &BeaconReport, ctx: &BeaconContext<'_>, limits: &Limits) -> Result<(), Invalid> {
    use Reason::*;
    let hotspot = PublicKey::try_from(b.hotspot.as_slice())
        .map_err(|_| Invalid::new(BeaconUnknownHotspot, "hotspot key is not 32 bytes"))?;
    let Some(beaconer) = ctx.beaconer else {
        return Err(Invalid::new(
            BeaconUnknownHotspot,
            format!("{hotspot} is not registered"),
        ));
    };
    // The chain registry holds a commitment: the report itself reveals the exact cell.
    let beaconer = &beaconer
        .located(b.location.as_ref(), b.timestamp_ns)
        .map_err(|e| Invalid::new(BeaconLocationUnrevealed, e.to_string()))?;
    if beaconer.location.is_none() {
        return Err(Invalid::new(
            BeaconNoLocation,
            "the hotspot has not asserted a location",
        ));
    }
    if !limits.antenna_ok(beaconer.gain_ddbi, beaconer.elevation_m) {
        return Err(Invalid::new(
            BeaconAntennaOutOfRange,
            antenna_detail(beaconer, limits),
        ));
    }
    check_timestamp(
        b.timestamp_ns,
        ctx.received_ns,
        limits,
        BeaconTimestampFuture,
        BeaconTimestampStale,
    )?;
    if ctx.early_witnesses > 0 {
        return Err(Invalid::new(
            BeaconLate,
            format!(
                "{} witnesses of its packet reached the oracle more than {} s before it: a \
                 beacon must be reported as soon as it is sent",
                ctx.early_witnesses,
                2 * limits.witness_wait_secs
            ),
        ));
    }

    let region = beaconer.region;
    if !region.has_channel(b.frequency_hz) {
        return Err(Invalid::new(
            BeaconBadFrequency,
            format!("{} Hz is not a {} channel", b.frequency_hz, region.name),
        ));
    }
    let rate = DataRate::try_from(b.data_rate).unwrap_or(DataRate::Unspecified);
    if !region.allows_data_rate(rate) {
        return Err(Invalid::new(
            BeaconBadDataRate,
            format!("{} is not allowed in {}", rate.as_str_name(), region.name),
        ));
    }
    let eirp = i64::from(b.tx_power_ddbm) + i64::from(beaconer.gain_ddbi);
    if eirp > i64::from(region.max_eirp_ddbm) + i64::from(limits.eirp_tolerance_ddb) {
        return Err(Invalid::new(
            BeaconTxPowerTooHigh,
            format!(
                "{:.1} dBm + {:.1} dBi antenna = {:.1} dBm EIRP, above {}'s {:.1} dBm",
                f64::from(b.tx_power_ddbm) / 10.0,
                f64::from(beaconer.gain_ddbi) / 10.0,
                eirp as f64 / 10.0,
                region.name,
                f64::from(region.max_eirp_ddbm) / 10.0
            ),
        ));
    }

    let entropy = match ctx.entropy {
        Some(e) if e.data == b.entropy_data => e,
        Some(_) => {
            return Err(Invalid::new(
                BeaconEntropyUnknown,
                format!(
                    "entropy {} has other bytes than the oracle published",
                    b.entropy_id
                ),
            ));
        }
        None => {
            return Err(Invalid::new(
                BeaconEntropyUnknown,
                format!(
                    "entropy {} was never published by this oracle",
                    b.entropy_id
                ),
            ));
        }
    };
    let earliest = entropy
        .timestamp_ns
        .saturating_sub(limits.entropy_skew_secs * NS_PER_SEC);
    if b.timestamp_ns < earliest || b.timestamp_ns > entropy.expires_ns() {
        return Err(Invalid::new(
            BeaconEntropyExpired,
            format!(
                "sent {:.1} s after entropy {} was published; it is valid for {} s",
                (b.timestamp_ns as f64 - entropy.timestamp_ns as f64) / 1e9,
                entropy.id,
                entropy.ttl_secs
            ),
        ));
    }

    let local_ok = (LOCAL_ENTROPY_MIN..=LOCAL_ENTROPY_MAX).contains(&b.local_entropy.len());
    if !local_ok
        || derive_packet(b.entropy_id, &b.entropy_data, &b.local_entropy, &hotspot)[..]
            != b.payload[..]
    {
        return Err(Invalid::new(
            BeaconPayloadMismatch,
            "the packet is not the one derived from the entropy and this hotspot's key",
        ));
    }
    if ctx.duplicate_packet {
        return Err(Invalid::new(
            BeaconDuplicate,
            "this packet was already beaconed",
        ));
    }
    if let Some(other) = ctx.nearest_valid_beacon_ns {
        let gap = other.abs_diff(b.timestamp_ns);
        if gap < limits.beacon_interval_secs * NS_PER_SEC {
            return Err(Invalid::new(
                BeaconTooFrequent,
                format!(
                    "another valid beacon {:.0} s apart; the interval is {} s",
                    gap as f64 / 1e9,
                    limits.beacon_interval_secs
                ),
            ));
        }
    }
    Ok(())
}

/// Why a declared antenna is refused, with the bounds.
pub(crate) fn antenna_detail(h: &HotspotInfo, limits: &Limits) -> String {
    format!(
        "declared antenna {:.1} dBi at {} m; allowed {:.1}–{:.1} dBi, {}–{} m",
        f64::from(h.gain_ddbi) / 10.0,
        h.elevation_m,
        f64::from(limits.min_gain_ddbi) / 10.0,
        f64::from(limits.max_gain_ddbi) / 10.0,
        limits.min_elevation_m,
        limits.max_elevation_m
    )
}

/// The timestamp rules every report shares.
pub(crate) fn check_timestamp(
    timestamp_ns: u64,
    received_ns: u64,
    limits: &Limits,
    future: Reason,
    stale: Reason,
) -> Result<(), Invalid> {
    if timestamp_ns > received_ns.saturating_add(limits.max_future_skew_secs * NS_PER_SEC) {
        return Err(Invalid::new(
            future,
            format!(
                "stamped {:.1} s after the oracle received it",
                (timestamp_ns - received_ns) as f64 / 1e9
            ),
        ));
    }
    if received_ns > timestamp_ns.saturating_add(limits.max_report_age_secs * NS_PER_SEC) {
        return Err(Invalid::new(
            stale,
            format!(
                "arrived {:.0} s after its timestamp; at most {} s are allowed",
                (received_ns - timestamp_ns) as f64 / 1e9,
                limits.max_report_age_secs
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    fn judge(b: &BeaconReport, tweak: impl FnOnce(&mut BeaconContext<'_>)) -> Result<(), Reason> {
        let beaconer = beaconer_info();
        let entropy = entropy_record();
        let mut ctx = BeaconContext {
            beaconer: Some(&beaconer),
            entropy: Some(&entropy),
            nearest_valid_beacon_ns: None,
            duplicate_packet: false,
            received_ns: T0 + 2 * NS_PER_SEC,
            early_witnesses: 0,
        };
        tweak(&mut ctx);
        check(b, &ctx, &Limits::default()).map_err(|e| e.reason)
    }

    fn altered(tweak: impl FnOnce(&mut BeaconReport)) -> BeaconReport {
        let mut b = valid_beacon();
        tweak(&mut b);
        b
    }

    #[test]
    fn a_valid_beacon_passes() {
        assert_eq!(judge(&valid_beacon(), |_| {}), Ok(()));
    }

    /// Attack 7 of the anti-gaming issue: a beaconer holds its report back until its friends'
    /// witnesses are in, so the honest witnesses (received right after the transmission) fall
    /// outside the window and only the friends earn. The oracle saw witnesses of the packet
    /// long before the beacon: the beacon is late.
    #[test]
    fn a_beacon_held_back_behind_its_witnesses_is_late() {
        assert_eq!(
            judge(&valid_beacon(), |c| c.early_witnesses = 3),
            Err(Reason::BeaconLate)
        );
    }

    #[test]
    fn unknown_hotspot() {
        assert_eq!(
            judge(&valid_beacon(), |c| c.beaconer = None),
            Err(Reason::BeaconUnknownHotspot)
        );
    }

    #[test]
    fn no_location() {
        let mut info = beaconer_info();
        info.location = None;
        let b = valid_beacon();
        let entropy = entropy_record();
        let ctx = BeaconContext {
            beaconer: Some(&info),
            entropy: Some(&entropy),
            nearest_valid_beacon_ns: None,
            duplicate_packet: false,
            received_ns: T0 + NS_PER_SEC,
            early_witnesses: 0,
        };
        assert_eq!(
            check(&b, &ctx, &Limits::default()).unwrap_err().reason,
            Reason::BeaconNoLocation
        );
    }

    #[test]
    fn antenna_out_of_bounds() {
        for (gain, elevation) in [(500, 5), (-10, 5), (30, 5_000)] {
            let mut info = beaconer_info();
            info.gain_ddbi = gain;
            info.elevation_m = elevation;
            let entropy = entropy_record();
            let ctx = BeaconContext {
                beaconer: Some(&info),
                entropy: Some(&entropy),
                nearest_valid_beacon_ns: None,
                duplicate_packet: false,
                received_ns: T0 + NS_PER_SEC,
                early_witnesses: 0,
            };
            assert_eq!(
                check(&valid_beacon(), &ctx, &Limits::default())
                    .unwrap_err()
                    .reason,
                Reason::BeaconAntennaOutOfRange
            );
        }
    }

    #[test]
    fn timestamp_in_the_future() {
        assert_eq!(
            judge(&valid_beacon(), |c| c.received_ns = T0 - 40 * NS_PER_SEC),
            Err(Reason::BeaconTimestampFuture)
        );
    }

    #[test]
    fn timestamp_stale() {
        assert_eq!(
            judge(&valid_beacon(), |c| c.received_ns = T0 + 2_701 * NS_PER_SEC),
            Err(Reason::BeaconTimestampStale)
        );
    }

    #[test]
    fn frequency_outside_the_region_plan() {
        let b = altered(|b| b.frequency_hz = 915_000_000);
        assert_eq!(judge(&b, |_| {}), Err(Reason::BeaconBadFrequency));
    }

    #[test]
    fn data_rate_outside_the_region_plan() {
        let b = altered(|b| b.data_rate = DataRate::Sf8bw500 as i32);
        assert_eq!(judge(&b, |_| {}), Err(Reason::BeaconBadDataRate));
    }

    #[test]
    fn tx_power_above_the_eirp_limit() {
        // 14 dBm + 3 dBi = 17 dBm > 16 dBm + 1 dB tolerance? No: 17.0 ≤ 17.0. 15 dBm is over.
        assert_eq!(judge(&altered(|b| b.tx_power_ddbm = 140), |_| {}), Ok(()));
        assert_eq!(
            judge(&altered(|b| b.tx_power_ddbm = 150), |_| {}),
            Err(Reason::BeaconTxPowerTooHigh)
        );
    }

    #[test]
    fn entropy_unknown_or_different() {
        assert_eq!(
            judge(&valid_beacon(), |c| c.entropy = None),
            Err(Reason::BeaconEntropyUnknown)
        );
        let b = altered(|b| b.entropy_data[0] ^= 1);
        assert_eq!(judge(&b, |_| {}), Err(Reason::BeaconEntropyUnknown));
    }

    #[test]
    fn entropy_expired() {
        // Sent 200 s after entropy published with a 180 s lifetime (received promptly).
        let b = altered(|b| b.timestamp_ns = T0 + 200 * NS_PER_SEC);
        assert_eq!(
            judge(&b, |c| c.received_ns = T0 + 201 * NS_PER_SEC),
            Err(Reason::BeaconEntropyExpired)
        );
        // Or before the entropy existed.
        let b = altered(|b| b.timestamp_ns = T0 - 20 * NS_PER_SEC);
        assert_eq!(
            judge(&b, |c| c.received_ns = T0),
            Err(Reason::BeaconEntropyExpired)
        );
    }

    #[test]
    fn payload_not_derived_from_the_entropy() {
        let b = altered(|b| b.payload[5] ^= 1);
        assert_eq!(judge(&b, |_| {}), Err(Reason::BeaconPayloadMismatch));
        // Someone else's beacon packet claimed as one's own.
        let b = altered(|b| b.hotspot = witness_key().public().to_bytes().to_vec());
        let w = witness_info();
        let entropy = entropy_record();
        let ctx = BeaconContext {
            beaconer: Some(&w),
            entropy: Some(&entropy),
            nearest_valid_beacon_ns: None,
            duplicate_packet: false,
            received_ns: T0 + NS_PER_SEC,
            early_witnesses: 0,
        };
        assert_eq!(
            check(&b, &ctx, &Limits::default()).unwrap_err().reason,
            Reason::BeaconPayloadMismatch
        );
        let b = altered(|b| b.local_entropy = vec![1; 2]);
        assert_eq!(judge(&b, |_| {}), Err(Reason::BeaconPayloadMismatch));
    }

    #[test]
    fn duplicate_packet() {
        assert_eq!(
            judge(&valid_beacon(), |c| c.duplicate_packet = true),
            Err(Reason::BeaconDuplicate)
        );
    }

    #[test]
    fn beaconing_more_often_than_the_interval() {
        assert_eq!(
            judge(&valid_beacon(), |c| c.nearest_valid_beacon_ns =
                Some(T0 - 3_600 * NS_PER_SEC)),
            Err(Reason::BeaconTooFrequent)
        );
        assert_eq!(
            judge(&valid_beacon(), |c| c.nearest_valid_beacon_ns =
                Some(T0 - 21_600 * NS_PER_SEC)),
            Ok(())
        );
    }
}
