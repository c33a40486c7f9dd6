//! A beacon with its witnesses: the beacon's rules, each witness's rules against the beacon,
//! duplicates (the first by timestamp, then id, counts), fault attributed to the side that
//! caused it, and the deterministic selection of the witnesses that earn
//! ([`crate::selection`]).
//!
//! Attribution: a witness heard stronger than free space allows from the beacon's stated
//! power, or outside the beacon's stated time, counts against the witness (towards fraud
//! suspension) only when it is the exception. When such witnesses are at least
//! [`ATTRIBUTION_MIN`], outnumber the beacon's valid witnesses, and heard it at one moment
//! (their signed times within [`ATTRIBUTION_SPREAD_NS`] of each other: one transmission, not
//! relays replaying it each with its own delay), the beacon's own claims are the likelier fault (an
//! understated transmit power, a shifted timestamp: one beaconer could otherwise make every
//! honest hotspot that hears it look like a forger): those witnesses are
//! `witness_beacon_inconsistent`, which earns nothing and suspends no one. The beacon keeps its
//! verdict (valid, it earns only through valid witnesses, and it has fewer of those than
//! doubters): so fake witnesses that outnumber a beacon's real ones cannot take its reward
//! away; they only escape suspension for those reports, which earn them nothing.

use h3o::CellIndex;
use hexproof_proto::{
    PublicKey,
    v1::{BeaconReport, LocationReveal, WitnessReport},
};

use crate::{
    HotspotInfo, Invalid, Limits, Reason, Report, Status, Verdict,
    rewards::activity::FRAUD_REASONS,
    rules::{
        self,
        beacon::BeaconContext,
        witness::{HeardBeacon, WitnessContext},
    },
    selection,
};

/// How many witnesses must fail the power or time rule together before the beacon, not they,
/// is blamed.
pub const ATTRIBUTION_MIN: usize = 3;

/// How close together (signed time, ns) those witnesses must have heard the beacon.
pub const ATTRIBUTION_SPREAD_NS: u64 = 100_000_000;

/// A pending witness with what it decodes to and who sent it.
#[derive(Debug, Clone)]
pub struct WitnessInput {
    pub stored: Report,
    pub report: Option<WitnessReport>,
    pub witness: Option<HotspotInfo>,
}

/// Judges a beacon and its witnesses: the beacon's rules, each witness's rules against the
/// beacon (when valid), duplicates (first by timestamp, then id), and the deterministic
/// selection of at most `max_witnesses_per_beacon` rewarded witnesses.
pub fn judge_group(
    beacon: &Report,
    report: &BeaconReport,
    ctx: &BeaconContext<'_>,
    witnesses: &[WitnessInput],
    limits: &Limits,
) -> Vec<Verdict> {
    let mut verdicts = Vec::with_capacity(witnesses.len() + 1);
    let beacon_result = rules::beacon::check(report, ctx, limits);
    let beacon_valid = beacon_result.is_ok();
    verdicts.push(match beacon_result {
        Ok(()) => Verdict::valid(beacon.id, None),
        Err(e) => Verdict::invalid(beacon.id, e, None),
    });
    let heard = match (beacon_valid, ctx.beaconer) {
        (true, Some(beaconer)) => Some(HeardBeacon { report, beaconer }),
        _ => None,
    };

    let mut seen: Vec<PublicKey> = Vec::new();
    // Valid witnesses: the index of their verdict, and their key.
    let mut valid: Vec<(usize, PublicKey)> = Vec::new();
    for w in witnesses {
        let Some(wr) = &w.report else {
            verdicts.push(Verdict::invalid(
                w.stored.id,
                Invalid::new(Reason::Malformed, "stored payload no longer decodes"),
                Some(beacon.id),
            ));
            continue;
        };
        let key = PublicKey::try_from(wr.witness.as_slice()).ok();
        let duplicate = key.is_some_and(|k| seen.contains(&k));
        let wctx = WitnessContext {
            witness: w.witness.as_ref(),
            beacon: heard,
            duplicate,
            received_ns: w.stored.received_ns,
        };
        match rules::witness::check(wr, &wctx, limits) {
            Ok(()) => {
                // A witness passes its rules only with a well-formed key.
                if let Some(k) = key {
                    seen.push(k);
                    valid.push((verdicts.len(), k));
                    verdicts.push(Verdict::valid(w.stored.id, Some(beacon.id)));
                } else {
                    verdicts.push(Verdict::invalid(
                        w.stored.id,
                        Invalid::new(Reason::WitnessUnknownHotspot, "witness key is not 32 bytes"),
                        Some(beacon.id),
                    ));
                }
            }
            Err(e) => {
                let invalid_beacon = !beacon_valid && e.reason == Reason::WitnessNoValidBeacon;
                let e = if invalid_beacon {
                    let why = verdicts[0].reason.map_or("", |r| r.code());
                    Invalid::new(e.reason, format!("the beacon it heard is invalid ({why})"))
                } else {
                    e
                };
                verdicts.push(Verdict::invalid(w.stored.id, e, Some(beacon.id)));
            }
        }
    }
    // Signed reception times of the witnesses failing the power or time rule.
    let blamed_times: Vec<u64> = verdicts[1..]
        .iter()
        .zip(witnesses)
        .filter(|(v, _)| v.reason.is_some_and(|r| FRAUD_REASONS.contains(&r)))
        .filter_map(|(_, w)| w.report.as_ref().map(|r| r.timestamp_ns))
        .collect();
    let blamed = blamed_times.len();
    let coherent = match (blamed_times.iter().min(), blamed_times.iter().max()) {
        (Some(lo), Some(hi)) => hi - lo <= ATTRIBUTION_SPREAD_NS,
        _ => false,
    };
    if beacon_valid && coherent && blamed >= ATTRIBUTION_MIN && blamed > valid.len() {
        for v in &mut verdicts[1..] {
            if let Some(rule) = v.reason.filter(|r| FRAUD_REASONS.contains(r)) {
                let detail = format!(
                    "failed {rule}, as {blamed} of the beacon's witnesses did ({} passed): the \
                     beacon's stated power or time is the likelier fault",
                    valid.len()
                );
                *v = Verdict::invalid(
                    v.id,
                    Invalid::new(Reason::WitnessBeaconInconsistent, detail),
                    Some(beacon.id),
                );
            }
        }
    }
    if let Some(entropy) = ctx.entropy {
        let keys: Vec<PublicKey> = valid.iter().map(|&(_, k)| k).collect();
        let beaconer = ctx.beaconer.map_or(PublicKey::from([0; 32]), |b| b.pubkey);
        let chosen = selection::select(
            &entropy.data,
            &beaconer,
            &keys,
            limits.max_witnesses_per_beacon,
        );
        for (&(i, _), chosen) in valid.iter().zip(chosen) {
            verdicts[i].selected = chosen;
        }
    }
    // Where each signer was, as its valid report revealed it (hotspots placed by commitment
    // only): what the epoch places it by.
    verdicts[0].cell = revealed(ctx.beaconer, report.location.as_ref(), report.timestamp_ns);
    for (v, w) in verdicts[1..].iter_mut().zip(witnesses) {
        v.cell = w
            .report
            .as_ref()
            .and_then(|r| revealed(w.witness.as_ref(), r.location.as_ref(), r.timestamp_ns));
    }
    for v in &mut verdicts {
        if v.status != Status::Valid {
            v.cell = None;
        }
    }
    verdicts
}

/// The exact cell `reveal` opens for a hotspot the registry places by commitment only.
fn revealed(
    hotspot: Option<&HotspotInfo>,
    reveal: Option<&LocationReveal>,
    stamped_ns: u64,
) -> Option<CellIndex> {
    let hotspot = hotspot.filter(|h| h.placement.is_some())?;
    hotspot.located(reveal, stamped_ns).ok()?.location
}

#[cfg(test)]
mod tests {
    //! Bad input through the whole judge: valid reports with any field replaced by anything
    //! (extreme integers, garbage bytes, unknown or absent hotspots, any entropy and context).
    //! No panic, one verdict per report in order, selection only among valid witnesses.

    use hexproof_proto::Signed;
    use proptest::prelude::*;

    use super::*;
    use crate::{EntropyRecord, Kind, Status, testkit::*};

    /// Signed once: signing per case would be most of the test's time.
    static BEACON: std::sync::LazyLock<BeaconReport> = std::sync::LazyLock::new(valid_beacon);
    static WITNESS: std::sync::LazyLock<WitnessReport> = std::sync::LazyLock::new(valid_witness);

    fn stored(id: u8, kind: Kind, received_ns: u64) -> Report {
        Report {
            id: [id; 32],
            kind,
            hotspot: String::new(),
            packet_hash: None,
            timestamp_ns: 0,
            received_ns,
            payload: Vec::new(),
        }
    }

    fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..48)
    }

    /// Integers with the edges weighted in.
    fn any_i32() -> impl Strategy<Value = i32> {
        prop_oneof![
            Just(i32::MIN),
            Just(i32::MAX),
            Just(0),
            -2_000i32..2_000,
            any::<i32>()
        ]
    }

    fn any_u64() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0),
            Just(u64::MAX),
            T0 - 10_000_000_000..T0 + 10_000_000_000,
            any::<u64>()
        ]
    }

    prop_compose! {
        fn beacon()(
            fields in proptest::collection::vec(0u8..10, 0..4),
            bytes in any_bytes(), int in any_i32(), long in any_u64(),
        ) -> BeaconReport {
            let mut b = BEACON.clone();
            for f in fields {
                match f {
                    0 => b.hotspot = bytes.clone(),
                    1 => b.payload = bytes.clone(),
                    2 => b.entropy_data = bytes.clone(),
                    3 => b.local_entropy = bytes.clone(),
                    4 => b.entropy_id = long,
                    5 => b.frequency_hz = long,
                    6 => b.data_rate = int,
                    7 => b.tx_power_ddbm = int,
                    8 => b.timestamp_ns = long,
                    _ => b.signature = bytes.clone(),
                }
            }
            b
        }
    }

    prop_compose! {
        fn witness()(
            fields in proptest::collection::vec(0u8..8, 0..4),
            bytes in any_bytes(), int in any_i32(), long in any_u64(),
            decodes in proptest::bool::weighted(0.95),
            known in proptest::bool::weighted(0.8),
            lat in -90.0f64..90.0, lon in -180.0f64..180.0,
            gain in any_i32(), received in any_u64(),
        ) -> (Option<WitnessReport>, Option<HotspotInfo>, u64) {
            let mut w = WITNESS.clone();
            for f in fields {
                match f {
                    0 => w.witness = bytes.clone(),
                    1 => w.payload = bytes.clone(),
                    2 => w.timestamp_ns = long,
                    3 => w.frequency_hz = long,
                    4 => w.data_rate = int,
                    5 => w.rssi_ddbm = int,
                    6 => w.snr_ddb = int,
                    _ => w.signature = bytes.clone(),
                }
            }
            let mut info = witness_info();
            info.location = h3o::LatLng::new(lat, lon).ok().map(|p| p.to_cell(h3o::Resolution::Twelve));
            info.gain_ddbi = gain;
            (decodes.then_some(w), known.then_some(info), received)
        }
    }

    prop_compose! {
        fn entropy()(id in any_u64(), data in any_bytes(), ts in any_u64(), ttl in any::<u32>())
            -> EntropyRecord {
            EntropyRecord { id, data, timestamp_ns: ts, ttl_secs: ttl }
        }
    }

    /// Three honest hotspots around the witness's spot, each hearing `beacon` as the medium
    /// delivers it (the testkit witness's signal), received a second after the beacon.
    fn honest_witnesses(beacon: &BeaconReport, n: u8) -> Vec<WitnessInput> {
        (0..n)
            .map(|i| {
                let key = hexproof_proto::Keypair::from_secret([10 + i; 32]);
                let report = WitnessReport {
                    payload: beacon.payload.clone(),
                    ..WITNESS.clone()
                }
                .signed(&key);
                let mut info = witness_info();
                info.pubkey = key.public();
                info.location = Some(
                    h3o::LatLng::new(52.54, 13.405 + 0.002 * f64::from(i))
                        .unwrap()
                        .to_cell(h3o::Resolution::Twelve),
                );
                WitnessInput {
                    stored: stored(i + 1, Kind::Witness, T0 + 1_000_000_000),
                    report: Some(report),
                    witness: Some(info),
                }
            })
            .collect()
    }

    fn judge_attack(beacon: &BeaconReport, witnesses: &[WitnessInput]) -> Vec<Verdict> {
        judge_by(&beaconer_info(), beacon, witnesses)
    }

    /// Judges `beacon` from the beaconer `info` with `witnesses`, received a second after it.
    fn judge_by(
        info: &HotspotInfo,
        beacon: &BeaconReport,
        witnesses: &[WitnessInput],
    ) -> Vec<Verdict> {
        let entropy = entropy_record();
        let ctx = BeaconContext {
            beaconer: Some(info),
            entropy: Some(&entropy),
            nearest_valid_beacon_ns: None,
            duplicate_packet: false,
            received_ns: T0 + 1_000_000_000,
            early_witnesses: 0,
        };
        judge_group(
            &stored(0, Kind::Beacon, T0 + 1_000_000_000),
            beacon,
            &ctx,
            witnesses,
            &Limits::default(),
        )
    }

    fn resigned(change: impl FnOnce(&mut BeaconReport)) -> BeaconReport {
        let mut b = BEACON.clone();
        change(&mut b);
        b.signed(&beaconer_key())
    }

    /// Location privacy: the chain holds a commitment, each report reveals its signer's cell.
    /// Reports that reveal nothing, another cell, or another hotspot's reveal are refused with
    /// the owner-facing reason; reports that open the commitment are judged exactly as on an
    /// operator's registry of exact cells, and each verdict carries the revealed cell.
    #[test]
    fn hotspots_placed_by_commitment_are_judged_on_the_cells_their_reports_reveal() {
        use hexproof_proto::location;
        let committed = |exact: &HotspotInfo, key: &hexproof_proto::Keypair| HotspotInfo {
            location: None,
            placement: location::placement(key, exact.location.unwrap()).map(crate::Placed::at),
            ..exact.clone()
        };
        let beaconer_exact = beaconer_info();
        let beaconer = committed(&beaconer_exact, &beaconer_key());
        let keys: Vec<_> = (0..3u8)
            .map(|i| hexproof_proto::Keypair::from_secret([10 + i; 32]))
            .collect();
        let reveal_beacon = |r: Option<location::RevealError>| {
            let cell = beaconer_exact.location.unwrap();
            resigned(|b| {
                b.location = match r {
                    None => Some(location::reveal(&beaconer_key(), cell)),
                    Some(location::RevealError::Missing) => None,
                    // Another cell of the same public cell, with its own salt.
                    Some(_) => {
                        let other = cell.grid_disk::<Vec<_>>(1)[1];
                        Some(hexproof_proto::v1::LocationReveal {
                            cell: u64::from(other),
                            salt: location::reveal(&beaconer_key(), cell).salt,
                        })
                    }
                }
            })
        };
        let judge = |beacon: &BeaconReport, witnesses: &[WitnessInput], info: &HotspotInfo| {
            judge_by(info, beacon, witnesses)
        };
        // Witnesses that reveal (`reveal`), or not, under commitments.
        let witnesses = |beacon: &BeaconReport, reveal: [bool; 3]| -> Vec<WitnessInput> {
            let mut all = honest_witnesses(beacon, 3);
            for ((w, key), reveal) in all.iter_mut().zip(&keys).zip(reveal) {
                let exact = w.witness.clone().unwrap();
                let cell = exact.location.unwrap();
                let mut report = w.report.clone().unwrap();
                report.location = reveal.then(|| location::reveal(key, cell));
                w.report = Some(report.signed(key));
                w.witness = Some(committed(&exact, key));
            }
            all
        };

        let good = reveal_beacon(None);
        let exact = judge(&good, &honest_witnesses(&good, 3), &beaconer_exact);
        let opened = judge(&good, &witnesses(&good, [true; 3]), &beaconer);
        let status = |v: &[Verdict]| -> Vec<_> { v.iter().map(|v| (v.status, v.reason)).collect() };
        assert_eq!(status(&opened), status(&exact));
        assert!(
            opened.iter().all(|v| v.status == Status::Valid),
            "{opened:?}"
        );
        assert_eq!(opened[0].cell, beaconer_exact.location);
        assert!(opened[1..].iter().all(|v| v.cell.is_some()));
        assert!(
            exact.iter().all(|v| v.cell.is_none()),
            "exact registries need no cell"
        );

        for hidden in [
            reveal_beacon(Some(location::RevealError::Missing)),
            reveal_beacon(Some(location::RevealError::Mismatch)),
        ] {
            let v = judge(&hidden, &witnesses(&hidden, [true; 3]), &beaconer);
            assert_eq!(v[0].reason, Some(Reason::BeaconLocationUnrevealed), "{v:?}");
            assert_eq!(v[0].cell, None);
            assert!(
                v[1..]
                    .iter()
                    .all(|w| w.reason == Some(Reason::WitnessNoValidBeacon)),
                "{v:?}"
            );
        }
        // One witness reveals nothing, one shows the beaconer's reveal as its own.
        let mut mixed = witnesses(&good, [true, false, true]);
        let mut stolen = mixed[2].report.clone().unwrap();
        stolen.location = good.location.clone();
        mixed[2].report = Some(stolen.signed(&keys[2]));
        let v = judge(&good, &mixed, &beaconer);
        assert_eq!(v[0].status, Status::Valid);
        assert_eq!(v[1].status, Status::Valid);
        for w in &v[2..] {
            assert_eq!(w.reason, Some(Reason::WitnessLocationUnrevealed), "{v:?}");
            assert_eq!(w.cell, None);
        }
    }

    /// Attack 8 of the anti-gaming issue: a beaconer that understates its transmit power, or
    /// shifts its timestamp, used to make every honest hotspot that heard it fail a rule that
    /// counts towards fraud suspension. Now the beacon is the one rejected, and its witnesses'
    /// verdicts suspend no one.
    #[test]
    fn a_beaconer_cannot_make_its_honest_witnesses_look_like_forgers() {
        let honest = judge_attack(&BEACON, &honest_witnesses(&BEACON, 3));
        assert!(
            honest.iter().all(|v| v.status == Status::Valid),
            "{honest:?}"
        );

        for (attack, beacon) in [
            ("understated power", resigned(|b| b.tx_power_ddbm = -1_000)),
            (
                "shifted timestamp",
                resigned(|b| b.timestamp_ns -= 5_000_000_000),
            ),
        ] {
            let verdicts = judge_attack(&beacon, &honest_witnesses(&beacon, 3));
            // The beacon earns nothing: nobody heard it as it claims.
            assert!(verdicts[1..].iter().all(|w| w.status == Status::Invalid));
            for w in &verdicts[1..] {
                assert_eq!(
                    w.reason,
                    Some(Reason::WitnessBeaconInconsistent),
                    "{attack}: {verdicts:?}"
                );
                assert!(!w.reason.is_some_and(|r| FRAUD_REASONS.contains(&r)));
            }
        }
    }

    /// Attack 10 of the anti-gaming issue: selection used to hash the witness's report id,
    /// whose bytes the witness chooses, so re-signing with another RSSI or timestamp until
    /// selected paid off. Now whatever bytes it sends, a witness is selected or not the same.
    #[test]
    fn a_witness_cannot_grind_its_way_into_the_selection() {
        let mut witnesses = honest_witnesses(&BEACON, 20);
        let grinder = hexproof_proto::Keypair::from_secret([10; 32]); // witness 0
        let mut outcomes = std::collections::BTreeSet::new();
        for attempt in 0..40 {
            witnesses[0].report = Some(
                WitnessReport {
                    payload: BEACON.payload.clone(),
                    rssi_ddbm: -1_100 - attempt,
                    timestamp_ns: WITNESS.timestamp_ns + attempt as u64,
                    ..WITNESS.clone()
                }
                .signed(&grinder),
            );
            witnesses[0].stored.id = [100 + attempt as u8; 32];
            let verdicts = judge_attack(&BEACON, &witnesses);
            assert_eq!(verdicts[1].status, Status::Valid);
            assert_eq!(verdicts.iter().filter(|v| v.selected).count(), 14);
            outcomes.insert(verdicts[1].selected);
        }
        assert_eq!(outcomes.len(), 1, "selection moved with the report's bytes");
    }

    /// Relays replaying a beacon, each with its own delay, are not one coherent reception: they
    /// stay blamed however many they are.
    #[test]
    fn replaying_relays_are_still_blamed() {
        let replays: Vec<WitnessInput> = (0..4u8)
            .map(|i| {
                let key = hexproof_proto::Keypair::from_secret([50 + i; 32]);
                let mut info = witness_info();
                info.pubkey = key.public();
                WitnessInput {
                    stored: stored(60 + i, Kind::Witness, T0 + 1_000_000_000),
                    report: Some(
                        WitnessReport {
                            timestamp_ns: T0 + 5_000_000_000 + u64::from(i) * 3_000_000_000,
                            ..WITNESS.clone()
                        }
                        .signed(&key),
                    ),
                    witness: Some(info),
                }
            })
            .collect();
        let verdicts = judge_attack(&BEACON, &replays);
        assert!(
            verdicts[1..]
                .iter()
                .all(|v| v.reason == Some(Reason::WitnessTimeWindow)),
            "{verdicts:?}"
        );
    }

    /// Fake witnesses that outnumber a beacon's real ones cannot take its reward away: the
    /// beacon stays valid, its real witnesses stay valid and selected.
    #[test]
    fn outnumbering_fakes_cannot_grief_a_beacon() {
        let mut witnesses = honest_witnesses(&BEACON, 2);
        for i in 0..3u8 {
            let fake = hexproof_proto::Keypair::from_secret([30 + i; 32]);
            let mut info = witness_info();
            info.pubkey = fake.public();
            witnesses.push(WitnessInput {
                stored: stored(40 + i, Kind::Witness, T0 + 1_000_000_000),
                report: Some(
                    WitnessReport {
                        rssi_ddbm: -300,
                        ..WITNESS.clone()
                    }
                    .signed(&fake),
                ),
                witness: Some(info),
            });
        }
        let verdicts = judge_attack(&BEACON, &witnesses);
        assert_eq!(verdicts[0].status, Status::Valid);
        assert!(
            verdicts[1..3]
                .iter()
                .all(|v| v.status == Status::Valid && v.selected)
        );
        assert!(
            verdicts[3..]
                .iter()
                .all(|v| v.reason == Some(Reason::WitnessBeaconInconsistent))
        );
    }

    /// The exception is still the witness's fault: one forged signal among honest witnesses.
    #[test]
    fn a_lone_forger_among_honest_witnesses_is_still_blamed() {
        let mut witnesses = honest_witnesses(&BEACON, 3);
        let forger = hexproof_proto::Keypair::from_secret([20; 32]);
        let mut info = witness_info();
        info.pubkey = forger.public();
        witnesses.push(WitnessInput {
            stored: stored(9, Kind::Witness, T0 + 1_000_000_000),
            report: Some(
                WitnessReport {
                    rssi_ddbm: -300,
                    ..WITNESS.clone()
                }
                .signed(&forger),
            ),
            witness: Some(info),
        });
        let verdicts = judge_attack(&BEACON, &witnesses);
        assert_eq!(verdicts[0].status, Status::Valid);
        assert!(verdicts[1..4].iter().all(|v| v.status == Status::Valid));
        assert_eq!(verdicts[4].reason, Some(Reason::WitnessRssiTooHigh));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 40_000, ..ProptestConfig::default() })]

        #[test]
        fn judging_anything_gives_one_verdict_per_report_and_never_panics(
            beacon in beacon(),
            witnesses in proptest::collection::vec(witness(), 0..8),
            entropy in proptest::option::weighted(0.8, entropy()),
            beaconer_known in proptest::bool::weighted(0.9),
            gain in any_i32(), elevation in any_i32(), asserted in any_u64(),
            nearest in proptest::option::of(any_u64()),
            duplicate in any::<bool>(), received in any_u64(),
            max_witnesses in 0usize..5,
        ) {
            let mut info = beaconer_info();
            info.gain_ddbi = gain;
            info.elevation_m = elevation;
            info.asserted_at_ns = asserted;
            let ctx = BeaconContext {
                beaconer: beaconer_known.then_some(&info),
                entropy: entropy.as_ref(),
                nearest_valid_beacon_ns: nearest,
                duplicate_packet: duplicate,
                received_ns: received,
                early_witnesses: 0,
            };
            let inputs: Vec<WitnessInput> = witnesses
                .into_iter()
                .enumerate()
                .map(|(i, (report, witness, received))| WitnessInput {
                    stored: stored(i as u8 + 1, Kind::Witness, received),
                    report,
                    witness,
                })
                .collect();
            let limits = Limits { max_witnesses_per_beacon: max_witnesses, ..Limits::default() };
            let verdicts = judge_group(&stored(0, Kind::Beacon, received), &beacon, &ctx, &inputs, &limits);

            prop_assert_eq!(verdicts.len(), inputs.len() + 1);
            prop_assert_eq!(verdicts[0].id, [0; 32]);
            for (v, w) in verdicts[1..].iter().zip(&inputs) {
                prop_assert_eq!(v.id, w.stored.id);
                prop_assert_eq!(v.beacon_id, Some([0; 32]));
                prop_assert!(!v.selected || v.status == Status::Valid);
                prop_assert_eq!(v.reason.is_some(), v.status == Status::Invalid);
            }
            let selected = verdicts.iter().filter(|v| v.selected).count();
            prop_assert!(selected <= max_witnesses);
            if verdicts[0].status != Status::Valid {
                prop_assert!(verdicts[1..].iter().all(|v| v.status != Status::Valid));
            }
        }
    }
}
