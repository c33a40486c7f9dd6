//! Each adversary kind in a synthetic epoch: a 7 × 7 grid of honest hotspots 700 m apart in
//! Berlin, plus the kind under test, on the field's physics (issue 28): every link has its own
//! static shadowing (8 dB, the same both ways), every packet 2 dB of fast fading, one hotspot
//! in ten stands on a 40 m mast (it hears and is heard far better than the city's law) and one
//! in ten indoors (12 dB of walls on every link). Each test asserts the kind is found with its
//! code and that no honest hotspot (its neighbours included) is.

use std::collections::{BTreeMap, BTreeSet};

use h3o::{LatLng, Resolution};
use hexproof_proto::{Keypair, PublicKey, region};

use super::*;

const POWER_DDBM: i32 = 140;
const GAIN_DDBI: i32 = 30;
const BEACONS: u64 = 6;

#[derive(Clone)]
struct Station {
    key: PublicKey,
    /// Where the radio is, and where it is asserted.
    truth: (f64, f64),
    asserted: (f64, f64),
    /// Stations sharing a radio (key farm) share this (and so every link's shadowing).
    radio: u32,
    /// Antenna height, metres.
    elevation_m: i32,
    /// Walls or cable on every link, dB x 10.
    site_loss_ddb: i32,
}

/// A deterministic standard normal-ish draw (sum of four uniforms) from a counter.
fn fading(seed: u64) -> f64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut sum = 0.0;
    for _ in 0..4 {
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x ^= x >> 29;
        sum += (x >> 11) as f64 / (1u64 << 53) as f64;
    }
    (sum - 2.0) * (3.0f64).sqrt() // variance 1
}

fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    hexproof_proto::rf::distance_m(a.0, a.1, b.0, b.1)
}

/// The medium's randomness, dB (standard deviations).
#[derive(Clone, Copy)]
struct Physics {
    /// Static, per link, the same both ways.
    link_db: f64,
    /// Per packet.
    fading_db: f64,
}

/// What the field has (issue 28): 6–10 dB of shadowing per link.
const FIELD: Physics = Physics {
    link_db: 8.0,
    fading_db: 2.0,
};

/// The textbook law exactly: what a forger without a radio computes.
#[allow(dead_code)]
const TEXTBOOK: Physics = Physics {
    link_db: 0.0,
    fading_db: 0.0,
};

/// A mast's gain over the city's law, dB: 20·log10(h / 10 m), at most 15 dB, fully from
/// 10 km, half at 1 km (as the simulator's medium).
fn height_gain_db(elevation_m: i32, d: f64) -> f64 {
    let height = (20.0 * (f64::from(elevation_m.max(1)) / 10.0).log10()).clamp(0.0, 15.0);
    height * ((d.max(1.0) / 100.0).log10() / 2.0).clamp(0.0, 1.0)
}

/// Received power from `from` at `to` with the link's shadowing and the packet's fading (dB),
/// dBm x 10; `None` below SF9's reach. Never above free space but for 3 dB of multipath.
fn received(from: &Station, to: &Station, shadow: f64, fade: f64) -> Option<i32> {
    let d = metres(from.truth, to.truth).max(1.0);
    let free = 31.2 + 20.0 * d.log10();
    let law =
        31.2 + 30.0 * d.log10() - height_gain_db(from.elevation_m.max(to.elevation_m), d) - shadow;
    let loss = (law - fade).max(free - 3.0);
    let dbm =
        f64::from(POWER_DDBM + 2 * GAIN_DDBI - from.site_loss_ddb - to.site_loss_ddb) / 10.0 - loss;
    (dbm >= -128.0).then(|| (dbm * 10.0).round() as i32)
}

/// The textbook law at `d` metres between plain sites, dBm x 10 (`None` below SF9's reach).
fn rssi(d: f64, shadow: f64) -> Option<i32> {
    let plain = |at| Station {
        key: key(0),
        truth: at,
        asserted: at,
        radio: 0,
        elevation_m: 5,
        site_loss_ddb: 0,
    };
    // A point `d` metres east of the origin (0.0001° of longitude at 52.5° N is 6.77 m).
    let there = (ORIGIN.0, ORIGIN.1 + d / 67_700.0);
    received(&plain(ORIGIN), &plain(there), shadow, 0.0)
}

struct World {
    stations: Vec<Station>,
    receptions: Vec<Reception>,
    beacons: BTreeMap<PublicKey, u64>,
    physics: Physics,
    /// Draws the links' shadowing.
    seed: u64,
    /// Calls of [`World::air`] so far (each sends new beacons).
    rounds: u64,
}

fn key(n: u32) -> PublicKey {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&n.to_le_bytes());
    seed[31] = 7;
    Keypair::from_secret(seed).public()
}

const ORIGIN: (f64, f64) = (52.50, 13.35);
const STEP: (f64, f64) = (0.0063, 0.0103);

fn grid(i: u32, j: u32) -> (f64, f64) {
    (
        ORIGIN.0 + f64::from(i) * STEP.0,
        ORIGIN.1 + f64::from(j) * STEP.1,
    )
}

impl World {
    /// The 7 × 7 grid on the field's physics, links drawn from seed 1.
    fn honest() -> World {
        World::honest_with(FIELD, 1)
    }

    fn honest_with(physics: Physics, seed: u64) -> World {
        let mut stations = Vec::new();
        for i in 0..7 {
            for j in 0..7 {
                let n = i * 7 + j;
                // Which tenth is on masts and which indoors varies with the seed.
                let site = (u64::from(n) + seed * 3) % 10;
                stations.push(Station {
                    key: key(n),
                    truth: grid(i, j),
                    asserted: grid(i, j),
                    radio: n,
                    elevation_m: if site == 3 { 40 } else { 5 },
                    site_loss_ddb: if site == 7 { 120 } else { 0 },
                });
            }
        }
        World {
            stations,
            receptions: Vec::new(),
            beacons: BTreeMap::new(),
            physics,
            seed,
            rounds: 0,
        }
    }

    fn add(&mut self, n: u32, truth: (f64, f64), asserted: (f64, f64), radio: u32) -> PublicKey {
        let k = key(n);
        self.stations.push(Station {
            key: k,
            truth,
            asserted,
            radio,
            elevation_m: 5,
            site_loss_ddb: 0,
        });
        k
    }

    fn honest_keys(&self) -> Vec<PublicKey> {
        (0..49).map(key).collect()
    }

    /// The static shadowing between two radios, dB.
    fn link(&self, a: u32, b: u32) -> f64 {
        let (lo, hi) = (u64::from(a.min(b)), u64::from(a.max(b)));
        self.physics.link_db * fading((self.seed << 48) ^ (lo << 24) ^ hi ^ 0x5EED)
    }

    /// Every station with a radio beacons `BEACONS` times; everyone with a radio hears it as
    /// physics allows. `stated` gives the power a beaconer states.
    fn air(&mut self, stated: impl Fn(&PublicKey) -> i32, silent: &[PublicKey]) {
        let mut counter = (self.seed << 40) + (self.rounds << 32);
        self.rounds += 1;
        for b in self.stations.clone() {
            if silent.contains(&b.key) {
                continue;
            }
            for n in 0..BEACONS {
                let beacon = beacon_id(&b.key, n + (self.rounds - 1) * BEACONS);
                *self.beacons.entry(b.key).or_default() += 1;
                // One measurement per radio and beacon (key farms share it).
                let mut by_radio: BTreeMap<u32, Option<i32>> = BTreeMap::new();
                for w in &self.stations {
                    if w.radio == b.radio {
                        continue;
                    }
                    counter += 1;
                    let shadow = self.link(b.radio, w.radio);
                    let fade = self.physics.fading_db * fading(counter);
                    let measured = *by_radio
                        .entry(w.radio)
                        .or_insert_with(|| received(&b, w, shadow, fade));
                    if let Some(rssi_ddbm) = measured {
                        self.receptions.push(Reception {
                            beacon,
                            beaconer: b.key,
                            witness: w.key,
                            rssi_ddbm,
                            snr_ddb: 50,
                            tx_power_ddbm: stated(&b.key),
                            heard: Heard::Valid,
                        });
                    }
                }
            }
        }
    }

    fn infos(&self) -> Vec<HotspotInfo> {
        self.stations
            .iter()
            .map(|s| HotspotInfo {
                pubkey: s.key,
                owner: s.key,
                location: Some(
                    LatLng::new(s.asserted.0, s.asserted.1)
                        .unwrap()
                        .to_cell(Resolution::Twelve),
                ),
                gain_ddbi: GAIN_DDBI,
                elevation_m: s.elevation_m,
                asserted_at_ns: 0,
                region: &region::EU868,
                placement: None,
            })
            .collect()
    }

    fn detect(&self) -> Detection {
        detect(&self.receptions, &self.infos(), &self.beacons)
    }
}

fn beacon_id(k: &PublicKey, n: u64) -> [u8; 32] {
    let mut id = k.to_bytes();
    id[..8].copy_from_slice(&n.to_le_bytes());
    id
}

fn codes_of(d: &Detection, k: &PublicKey) -> Vec<Code> {
    d.findings
        .iter()
        .filter(|f| f.hotspot == *k)
        .map(|f| f.code)
        .collect()
}

/// No honest hotspot is found (suspended) for anything.
fn assert_honest_clear(w: &World, d: &Detection) {
    for k in w.honest_keys() {
        assert!(
            !d.suspended.contains(&k),
            "honest {k} suspended: {:?}",
            d.findings
                .iter()
                .filter(|f| f.hotspot == k)
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn an_honest_network_has_no_findings() {
    let mut w = World::honest();
    w.air(|_| POWER_DDBM, &[]);
    let d = w.detect();
    assert!(d.findings.is_empty(), "{:#?}", d.findings);
    assert!(d.suspended.is_empty());
}

/// Runs `world(seed)` on the air for every seed and asserts no honest hotspot was suspended.
fn assert_never_flagged(seeds: std::ops::RangeInclusive<u64>, world: impl Fn(u64) -> World) {
    let mut flagged = Vec::new();
    for seed in seeds {
        let mut w = world(seed);
        w.air(|_| POWER_DDBM, &[]);
        let d = w.detect();
        flagged.extend(
            d.findings
                .into_iter()
                .filter(|f| f.code.suspends())
                .map(|f| (seed, f.code, f.evidence)),
        );
    }
    assert!(
        flagged.is_empty(),
        "{} honest findings: {flagged:#?}",
        flagged.len()
    );
}

/// Issue 28 item 7: honest hotspots in real terrain (8 dB of static shadowing per link, masts,
/// indoor sites) are not flagged, over many draws of the links (980 hotspot-epochs).
#[test]
fn honest_hotspots_in_real_terrain_are_never_flagged() {
    assert_never_flagged(1..=20, |seed| World::honest_with(FIELD, seed));
}

/// The field's worst: 10 dB of shadowing per link, one hotspot in seven indoors behind 15 dB
/// of walls, one in ten on a mast (scenario `terrain`), 20 draws of the links.
const HARSH: Physics = Physics {
    link_db: 10.0,
    fading_db: 2.0,
};

fn harsh_world(seed: u64) -> World {
    let mut w = World::honest_with(HARSH, seed);
    for (n, s) in w.stations.iter_mut().enumerate() {
        if (n as u64 + seed) % 7 == 2 {
            s.site_loss_ddb = 150;
        }
    }
    w
}

#[test]
fn honest_hotspots_in_harsh_terrain_are_never_flagged() {
    assert_never_flagged(1..=20, harsh_world);
}

/// Scenario `coast-mix`: with 10 dB of shadowing the margin above SF9 from which a listener
/// was expected to hear a beacon grew to 25 dB (2.5 × the spread); at a low-power region's
/// 14 dBm that reach shrank to about a kilometre, and a ring asserted a kilometre or two
/// from the town's edge was expected by nobody.
#[test]
fn a_ring_just_outside_a_town_in_harsh_terrain_is_found() {
    for seed in 1..=5 {
        let mut w = harsh_world(seed);
        w.air(|_| POWER_DDBM, &[]);
        // 1.3 km north of the town's northern row, along it.
        let places = row((grid(6, 0).0 + 0.012, grid(6, 1).1), (0.0, 0.012), 5);
        let ring = w.ring(200, &places, BEACONS, POWER_DDBM);
        let d = w.detect();
        assert_found(&d, &ring, Code::MissingExpectedWitnesses);
        assert_honest_clear(&w, &d);
    }
}

#[test]
fn a_near_spoofer_is_found_and_its_neighbours_are_not() {
    let mut w = World::honest();
    // Its radio in the middle of the grid, asserted 60 km north-east.
    let truth = (ORIGIN.0 + 3.5 * STEP.0, ORIGIN.1 + 3.5 * STEP.1);
    let spoofer = w.add(100, truth, (ORIGIN.0 + 0.32, ORIGIN.1 + 0.58), 100);
    w.air(|_| POWER_DDBM, &[]);
    let d = w.detect();
    assert_eq!(
        codes_of(&d, &spoofer),
        [Code::SignalInconsistentWithLocation],
        "{:#?}",
        d.findings
    );
    assert_honest_clear(&w, &d);
}

#[test]
fn a_griefer_understating_its_power_is_found_and_its_witnesses_are_pardoned() {
    let mut w = World::honest();
    let griefer = w.add(100, grid(3, 4), grid(3, 4), 100);
    w.air(
        |k| {
            if *k == griefer {
                POWER_DDBM - 200
            } else {
                POWER_DDBM
            }
        },
        &[],
    );
    // Its loudest witnesses were judged too loud by the per-report rule.
    for r in w.receptions.iter_mut() {
        if r.beaconer == griefer && r.rssi_ddbm > -900 {
            r.heard = Heard::TooLoud;
        }
    }
    let too_loud = w
        .receptions
        .iter()
        .filter(|r| r.heard == Heard::TooLoud)
        .count() as u64;
    assert!(too_loud > 0);
    let d = w.detect();
    assert_eq!(
        codes_of(&d, &griefer),
        [Code::BeaconsLouderThanClaimed],
        "{:#?}",
        d.findings
    );
    assert_honest_clear(&w, &d);
    // Its witnesses' "too loud" verdicts are the griefer's doing: pardoned, every one.
    assert_eq!(d.pardoned.values().sum::<u64>(), too_loud);
}

#[test]
fn a_key_farm_is_found_as_one_radio_and_its_neighbours_are_not() {
    let mut w = World::honest();
    // Three keys on one radio in the house of the honest hotspot at grid (2, 2), each asserted
    // 2–3 km away in its own direction.
    let radio = grid(2, 2);
    let farm = [
        w.add(100, radio, (radio.0 + 0.020, radio.1), 100),
        w.add(101, radio, (radio.0, radio.1 + 0.040), 100),
        w.add(102, radio, (radio.0 - 0.018, radio.1 - 0.012), 100),
    ];
    w.air(|_| POWER_DDBM, &[]);
    let d = w.detect();
    for k in &farm {
        assert!(
            codes_of(&d, k).contains(&Code::OneRadioManyKeys),
            "{k}: {:#?}",
            d.findings
        );
    }
    assert_honest_clear(&w, &d);
}

#[test]
fn a_ring_without_radio_is_found_by_the_neighbours_that_never_hear_it() {
    let mut w = World::honest();
    w.air(|_| POWER_DDBM, &[]);
    // Three keys asserted among the honest hotspots, no RF: they beacon and witness each other
    // with RSSI forged from the textbook model at their asserted distances.
    let places = [(2.5, 2.5), (2.4, 3.6), (3.6, 2.8)];
    let ring: Vec<(PublicKey, (f64, f64))> = places
        .iter()
        .enumerate()
        .map(|(i, &(a, b))| {
            let at = (ORIGIN.0 + a * STEP.0, ORIGIN.1 + b * STEP.1);
            (w.add(200 + i as u32, at, at, 200 + i as u32), at)
        })
        .collect();
    for (b, at) in &ring {
        for n in 0..BEACONS {
            *w.beacons.entry(*b).or_default() += 1;
            for (m, there) in &ring {
                if m == b {
                    continue;
                }
                w.receptions.push(Reception {
                    beacon: beacon_id(b, n),
                    beaconer: *b,
                    witness: *m,
                    rssi_ddbm: rssi(metres(*at, *there), 0.0).unwrap(),
                    snr_ddb: 50,
                    tx_power_ddbm: POWER_DDBM,
                    heard: Heard::Valid,
                });
            }
        }
    }
    let d = w.detect();
    for (k, _) in &ring {
        // (Forged without fading, two members' reports of a third's beacons can also come out
        // the same, which `one_radio_many_keys` notices: a second reason, not a wrong one.)
        assert!(
            codes_of(&d, k).contains(&Code::MissingExpectedWitnesses),
            "{:#?}",
            d.findings
        );
    }
    assert_honest_clear(&w, &d);
}

#[test]
fn a_relay_hearing_far_beyond_range_is_found() {
    let mut w = World::honest();
    // A second honest town 30 km east, out of the first one's radio range.
    w.town(300, (ORIGIN.0, 13.80), 4);
    let relay = w.add(100, grid(6, 6), grid(6, 6), 100);
    w.air(|_| POWER_DDBM, &[]);
    // The relay also reports the other town's beacons, at just above what SF9 demodulates.
    let far: Vec<PublicKey> = (300..316).map(key).collect();
    w.relay(relay, &far, -1_220);
    let d = w.detect();
    assert_eq!(
        codes_of(&d, &relay),
        [Code::HearsBeyondRange],
        "{:#?}",
        d.findings
    );
    assert_honest_clear(&w, &d);
    for k in &far {
        assert!(!d.suspended.contains(k), "{:#?}", d.findings);
    }
}

#[test]
fn a_witness_only_hotspot_is_found_without_reciprocity() {
    let mut w = World::honest();
    let listener = w.add(100, grid(4, 4), grid(4, 4), 100);
    w.air(|_| POWER_DDBM, &[listener]);
    let d = w.detect();
    assert_eq!(codes_of(&d, &listener), [Code::NoReciprocity]);
    // Informational: the reward rule already pays it nothing; no suspension.
    assert!(d.suspended.is_empty());
}

#[test]
fn findings_do_not_depend_on_the_order_of_receptions() {
    let mut w = World::honest();
    w.add(100, grid(3, 3), (ORIGIN.0 + 0.32, ORIGIN.1 + 0.58), 100);
    w.air(|_| POWER_DDBM, &[]);
    let a = w.detect();
    assert!(!a.findings.is_empty(), "the spoofer is found either way");
    w.receptions.reverse();
    assert_eq!(a, w.detect());
}

/// Hostile hotspots sign whatever they like: a valid witness report may claim any RSSI or
/// SNR, a valid beacon any power below the limit. Detection takes them without a panic
/// (overflow checks on in tests) and still finds the near spoofer among them.
#[test]
fn extreme_claims_do_not_break_detection() {
    let mut w = World::honest();
    let truth = (ORIGIN.0 + 3.5 * STEP.0, ORIGIN.1 + 3.5 * STEP.1);
    let spoofer = w.add(100, truth, (ORIGIN.0 + 0.32, ORIGIN.1 + 0.58), 100);
    let liars: Vec<PublicKey> = (0..3)
        .map(|i| w.add(200 + i, grid(i, 6), grid(i, 6), 200 + i))
        .collect();
    w.air(|_| POWER_DDBM, &[]);
    let extremes = [i32::MIN, i32::MAX, 0, -1];
    for (n, r) in w.receptions.iter_mut().enumerate() {
        if liars.contains(&r.witness) {
            r.rssi_ddbm = extremes[n % 4];
            r.snr_ddb = extremes[(n + 1) % 4];
        }
        if liars.contains(&r.beaconer) {
            r.tx_power_ddbm = extremes[(n + 2) % 4];
        }
    }
    let d = w.detect();
    assert!(codes_of(&d, &spoofer).contains(&Code::SignalInconsistentWithLocation));
    assert_honest_clear(&w, &d);
}

#[test]
fn hearing_far_location_spoofers_does_not_make_an_honest_hotspot_a_relay() {
    let mut w = World::honest();
    // Four spoofers among the honest hotspots, asserted about 200 km away: the rules reject
    // every reception between them and their neighbours (`witness_too_far`).
    let spoofers: Vec<PublicKey> = (0..4)
        .map(|i| {
            let truth = (
                ORIGIN.0 + (1.5 + f64::from(i)) * STEP.0,
                ORIGIN.1 + 2.5 * STEP.1,
            );
            w.add(
                100 + i,
                truth,
                (ORIGIN.0 + 1.5, ORIGIN.1 + 2.0 + f64::from(i) * 0.01),
                100 + i,
            )
        })
        .collect();
    w.air(|_| POWER_DDBM, &[]);
    for r in w.receptions.iter_mut() {
        if spoofers.contains(&r.beaconer) || spoofers.contains(&r.witness) {
            r.heard = Heard::Other;
        }
    }
    let d = w.detect();
    assert_honest_clear(&w, &d);
}

// ---- Issue 28: the holes an attacker found, one test each (each failed before the change) ----

impl World {
    /// A town of `side` × `side` honest hotspots from `corner`, keys numbered from `first`.
    fn town(&mut self, first: u32, corner: (f64, f64), side: u32) {
        for i in 0..side {
            for j in 0..side {
                let n = first + i * side + j;
                let at = (
                    corner.0 + f64::from(i) * STEP.0,
                    corner.1 + f64::from(j) * STEP.1,
                );
                self.add(n, at, at, n);
            }
        }
    }

    /// `relay` reports every beacon of `beaconers` as heard, forged just above what SF9
    /// demodulates (`base` dBm x 10, up to 4 dB more), as a relay fed them from elsewhere.
    fn relay(&mut self, relay: PublicKey, beaconers: &[PublicKey], base: i32) {
        for (i, b) in beaconers.iter().enumerate() {
            for n in 0..BEACONS {
                self.receptions.push(Reception {
                    beacon: beacon_id(b, n),
                    beaconer: *b,
                    witness: relay,
                    rssi_ddbm: base + (i as i32 % 5) * 10,
                    snr_ddb: -80,
                    tx_power_ddbm: POWER_DDBM,
                    heard: Heard::Valid,
                });
            }
        }
    }

    /// `relay` reports every beacon of `beaconers` that its radio did not hear (forged just
    /// above the demodulation limit): each of their links looks perfect from its side.
    fn relay_missing(&mut self, relay: PublicKey, beaconers: &[PublicKey], base: i32) {
        let heard: BTreeSet<[u8; 32]> = self
            .receptions
            .iter()
            .filter(|r| r.witness == relay)
            .map(|r| r.beacon)
            .collect();
        for (i, b) in beaconers.iter().enumerate() {
            for n in 0..BEACONS {
                if heard.contains(&beacon_id(b, n)) {
                    continue;
                }
                self.receptions.push(Reception {
                    beacon: beacon_id(b, n),
                    beaconer: *b,
                    witness: relay,
                    rssi_ddbm: base + (i as i32 % 5) * 10,
                    snr_ddb: -80,
                    tx_power_ddbm: POWER_DDBM,
                    heard: Heard::Valid,
                });
            }
        }
    }

    /// Keys without radio at `places`, each beaconing `beacons` times at `stated` power and
    /// witnessing the others' beacons with RSSI forged from the textbook law at the stated
    /// power (no fading: what a forger computes). Added after [`World::air`]: no radio hears
    /// them, they hear no radio.
    fn ring(
        &mut self,
        first: u32,
        places: &[(f64, f64)],
        beacons: u64,
        stated: i32,
    ) -> Vec<PublicKey> {
        let members: Vec<Station> = places
            .iter()
            .enumerate()
            .map(|(i, &at)| {
                let n = first + i as u32;
                self.add(n, at, at, n);
                self.stations.last().unwrap().clone()
            })
            .collect();
        for b in &members {
            for n in 0..beacons {
                *self.beacons.entry(b.key).or_default() += 1;
                for m in &members {
                    if m.key == b.key {
                        continue;
                    }
                    let Some(rssi) = received(b, m, 0.0, 0.0) else {
                        continue;
                    };
                    self.receptions.push(Reception {
                        beacon: beacon_id(&b.key, n),
                        beaconer: b.key,
                        witness: m.key,
                        rssi_ddbm: rssi - (POWER_DDBM - stated),
                        snr_ddb: 50,
                        tx_power_ddbm: stated,
                        heard: Heard::Valid,
                    });
                }
            }
        }
        members.iter().map(|m| m.key).collect()
    }
}

/// `n` places in a row from `from`, `step` degrees apart.
fn row(from: (f64, f64), step: (f64, f64), n: u32) -> Vec<(f64, f64)> {
    (0..n)
        .map(|i| {
            (
                from.0 + f64::from(i) * step.0,
                from.1 + f64::from(i) * step.1,
            )
        })
        .collect()
}

fn assert_found(d: &Detection, keys: &[PublicKey], code: Code) {
    for k in keys {
        assert!(
            codes_of(d, k).contains(&code),
            "{k} not found {code}: {:#?}",
            d.findings
        );
    }
}

/// Hole 1: a ring asserted just outside the town, where only a few honest hotspots listen,
/// passed (three missing listeners and more than half of them were needed, and its own
/// members counted as listeners that heard it).
#[test]
fn a_ring_where_few_honest_hotspots_listen_is_found() {
    let mut w = World::honest();
    w.air(|_| POWER_DDBM, &[]);
    let corner = (ORIGIN.0 - 0.004, ORIGIN.1 - 0.006);
    let ring = w.ring(
        200,
        &row(corner, (-0.0012, -0.0008), 8),
        BEACONS,
        POWER_DDBM,
    );
    let d = w.detect();
    assert_found(&d, &ring, Code::MissingExpectedWitnesses);
    assert_honest_clear(&w, &d);
}

/// Hole 1: a ring stating a low transmit power (and forging its receptions to match) shrank
/// the radius where it was expected to be heard below the distance to its neighbours.
#[test]
fn a_ring_stating_a_low_power_is_still_expected_where_beacons_reach() {
    a_three_key_ring_in_town_is_found(BEACONS, 0);
}

/// A ring of three keys asserted inside the grid, beaconing `beacons` times at `stated`: found
/// missing its expected witnesses, nobody honest found.
fn a_three_key_ring_in_town_is_found(beacons: u64, stated: i32) {
    let mut w = World::honest();
    w.air(|_| POWER_DDBM, &[]);
    let places = [grid_at(2.5, 2.5), grid_at(2.4, 3.6), grid_at(3.6, 2.8)];
    let ring = w.ring(200, &places, beacons, stated);
    let d = w.detect();
    assert_found(&d, &ring, Code::MissingExpectedWitnesses);
    assert_honest_clear(&w, &d);
}

/// Hole 1: a ring beaconing once per epoch skipped the test (two beacons were needed).
#[test]
fn a_ring_beaconing_once_is_found() {
    a_three_key_ring_in_town_is_found(1, POWER_DDBM);
}

/// Hole 1 and 5: a ring asserted among the town's hotspots, more keys than the honest
/// listeners around its places, made every honest beaconer nearby "missing expected
/// witnesses" (its members were expected listeners that never heard them). A ring of 20 next
/// to a town of 49 is found; one of 30 is as large as half the town, and radio data cannot
/// tell which group is the real one: neither is suspended (what a key costs answers it).
#[test]
fn a_large_ring_inside_the_town_does_not_suspend_its_honest_neighbours() {
    for (size, found) in [(20, true), (30, false)] {
        let mut w = World::honest();
        w.air(|_| POWER_DDBM, &[]);
        let places: Vec<(f64, f64)> = (0..size)
            .map(|i| grid_at(1.5 + f64::from(i % 6) * 0.7, 1.5 + f64::from(i / 6) * 0.8))
            .collect();
        let ring = w.ring(200, &places, BEACONS, POWER_DDBM);
        let d = w.detect();
        if found {
            assert_found(&d, &ring, Code::MissingExpectedWitnesses);
        }
        assert_honest_clear(&w, &d);
    }
}

/// A point of the grid at fractional (row, column).
fn grid_at(i: f64, j: f64) -> (f64, f64) {
    (ORIGIN.0 + i * STEP.0, ORIGIN.1 + j * STEP.1)
}

/// Hole 2: `hears_beyond_range` divided by the beacons of every beaconer in the network: a
/// second region's city, far beyond any radio's reach, diluted a relay's rate below 60 %.
#[test]
fn a_relay_is_found_however_many_beaconers_are_in_other_regions() {
    let mut w = World::honest();
    // A town 30 km east, out of the first one's range; and a city 300 km south, in another
    // region's plan, larger than both.
    w.town(300, (ORIGIN.0, 13.80), 4);
    w.town(400, (49.8, 13.35), 9);
    let relay = w.add(100, grid(6, 6), grid(6, 6), 100);
    w.air(|_| POWER_DDBM, &[]);
    let far: Vec<PublicKey> = (300..316).map(key).collect();
    w.relay(relay, &far, -1_220);
    let d = w.detect();
    assert_eq!(
        codes_of(&d, &relay),
        [Code::HearsBeyondRange],
        "{:#?}",
        d.findings
    );
    assert_honest_clear(&w, &d);
    assert!(d.suspended.len() == 1, "{:#?}", d.findings);
}

/// Hole 3: a farm whose keys jitter their copies of one measurement by a tenth of a dB
/// defeated the identical-measurement rule, and one key sending 4 dB below the power it
/// states was never a suspect pair (the comparison's RMS was not centred).
#[test]
fn a_jittering_farm_with_a_weak_key_is_still_one_radio() {
    let mut w = World::honest();
    let radio = grid(2, 2);
    let farm = [
        w.add(100, radio, (radio.0 + 0.020, radio.1), 100),
        w.add(101, radio, (radio.0, radio.1 + 0.040), 100),
        w.add(102, radio, (radio.0 - 0.018, radio.1 - 0.012), 100),
    ];
    // Key 102 states 14 dBm and sends 10.
    w.air(
        |k| {
            if *k == farm[2] {
                POWER_DDBM + 40
            } else {
                POWER_DDBM
            }
        },
        &[],
    );
    for (n, r) in w.receptions.iter_mut().enumerate() {
        if let Some(i) = farm.iter().position(|k| *k == r.witness) {
            let jitter = (n as i32 + i as i32) % 3 - 1;
            r.rssi_ddbm += jitter;
            r.snr_ddb -= jitter;
        }
    }
    let d = w.detect();
    assert_found(&d, &farm, Code::OneRadioManyKeys);
    assert_honest_clear(&w, &d);
}

/// Hole 3, the witness side alone: farm keys that never beacon (no beaconer comparison) but
/// report one radio's measurements with ±0.1 dB of jitter.
#[test]
fn jittered_copies_of_one_radios_measurements_are_one_radio() {
    let mut w = World::honest();
    let radio = grid(4, 2);
    let farm = [
        w.add(100, radio, (radio.0 + 0.020, radio.1), 100),
        w.add(101, radio, (radio.0, radio.1 + 0.040), 100),
    ];
    w.air(|_| POWER_DDBM, &farm);
    for (n, r) in w.receptions.iter_mut().enumerate() {
        if r.witness == farm[0] {
            r.rssi_ddbm += (n as i32 % 3) - 1;
        }
    }
    let d = w.detect();
    assert_found(&d, &farm, Code::OneRadioManyKeys);
}

/// A sparse countryside: `n` hotspots `spacing` degrees of latitude apart (0.009° is 1 km)
/// zig-zagging north, each with a radio.
fn countryside(n: u32, spacing: f64) -> World {
    countryside_with(n, spacing, FIELD, 3)
}

fn countryside_with(n: u32, spacing: f64, physics: Physics, seed: u64) -> World {
    let mut w = World::honest_with(physics, seed);
    w.stations.clear();
    for i in 0..n {
        let at = (
            ORIGIN.0 + f64::from(i) * spacing,
            ORIGIN.1 + f64::from(i % 2) * 0.01,
        );
        w.add(i, at, at, i);
    }
    w
}

/// Review of the 2 × spread margin: a beaconer behind walls or in a valley (15–20 dB on every
/// link) in sparse country, with two to four listeners expected, was as likely as not to
/// miss most of them: its own weak site was not in what they were expected to hear. Its
/// own hearing shows the site (walls cost both ways): 50 draws of 10 dB shadowing, a third of
/// the hotspots on weak sites, no finding.
#[test]
fn honest_weak_sites_in_sparse_country_are_never_flagged() {
    assert_never_flagged(1..=50, |seed| {
        let mut w = countryside_with(14, 0.011, HARSH, seed);
        for (i, s) in w.stations.iter_mut().enumerate() {
            if (i as u64 + seed).is_multiple_of(3) {
                s.site_loss_ddb = if i % 2 == 0 { 150 } else { 200 };
            }
        }
        w
    });
}

/// Review of the one-way test at an eighth: four keys of one radio next to a hotspot at the
/// edge of the town refuse to report its beacons (four partners that never hear it, of fewer
/// than 32). Found as one radio, their silence is no evidence.
#[test]
fn a_farms_keys_refusing_to_report_a_hotspot_do_not_make_it_one_way() {
    for seed in 1..=5 {
        let mut w = harsh_world(seed);
        let victim = key(0);
        let radio = (grid(0, 0).0 - 0.004, grid(0, 0).1 - 0.004);
        let farm: Vec<PublicKey> = (0..4)
            .map(|i| {
                let asserted = (radio.0 - 0.002 * f64::from(i), radio.1);
                w.add(300 + i, radio, asserted, 300)
            })
            .collect();
        w.air(|_| POWER_DDBM, &[]);
        w.receptions
            .retain(|r| !(r.beaconer == victim && farm.contains(&r.witness)));
        let d = w.detect();
        assert!(
            !codes_of(&d, &victim).contains(&Code::HearsBeyondRange),
            "seed {seed}: {:#?}",
            d.findings
        );
        assert_honest_clear(&w, &d);
    }
}

/// Hole 4: three framers with radios near a rural hotspot (two honest neighbours) reporting
/// its beacons 15 dB louder than they are (valid, under the free-space ceiling) got it
/// flagged `beacons_louder_than_claimed`, and were themselves excused.
#[test]
fn loud_framers_do_not_get_a_rural_hotspot_flagged() {
    let mut w = World::honest();
    // A hamlet 20 km north of the town: the victim, two neighbours, three framers.
    let hamlet = (ORIGIN.0 + 0.18, ORIGIN.1);
    let victim = w.add(90, hamlet, hamlet, 90);
    for i in 0..2 {
        let at = (hamlet.0 + 0.012 * f64::from(i + 1), hamlet.1 - 0.01);
        w.add(91 + i, at, at, 91 + i);
    }
    let framers: Vec<PublicKey> = (0..3)
        .map(|i| {
            let at = (hamlet.0 - 0.004 * f64::from(i + 1), hamlet.1 + 0.006);
            w.add(100 + i, at, at, 100 + i)
        })
        .collect();
    w.air(|_| POWER_DDBM, &[]);
    for r in w.receptions.iter_mut() {
        if r.beaconer == victim && framers.contains(&r.witness) {
            r.rssi_ddbm += 150;
        }
    }
    let d = w.detect();
    assert!(!d.suspended.contains(&victim), "{:#?}", d.findings);
    assert_honest_clear(&w, &d);
}

/// Hole 4: radio-less keys asserted around a rural hotspot (witnessing each other) got it
/// flagged `missing_expected_witnesses`: they listened and never heard it.
#[test]
fn radio_less_keys_around_a_rural_hotspot_do_not_get_it_flagged() {
    let mut w = countryside(12, 0.018);
    w.air(|_| POWER_DDBM, &[]);
    let victim = w.stations[6].clone();
    let places: Vec<(f64, f64)> = (0..6)
        .map(|i| {
            (
                victim.truth.0 + 0.003 * f64::from(i % 3) - 0.003,
                victim.truth.1 + 0.004 * f64::from(i / 3) + 0.002,
            )
        })
        .collect();
    let ring = w.ring(200, &places, BEACONS, POWER_DDBM);
    let d = w.detect();
    assert!(!d.suspended.contains(&victim.key), "{:#?}", d.findings);
    assert_found(&d, &ring, Code::MissingExpectedWitnesses);
}

/// Hole 4: a griefer understating its power heard by only two victims was never found (three
/// counterparts were needed), so its victims' "too loud" verdicts were never pardoned and
/// reached the fraud-suspension limit.
#[test]
fn victims_of_a_griefer_too_few_to_find_are_pardoned() {
    let mut w = countryside(6, 0.018);
    let at = (ORIGIN.0 + 2.5 * 0.018, ORIGIN.1 + 0.03);
    let griefer = w.add(100, at, at, 100);
    w.air(
        |k| {
            if *k == griefer {
                POWER_DDBM - 200
            } else {
                POWER_DDBM
            }
        },
        &[],
    );
    w.receptions
        .retain(|r| r.beaconer != griefer || r.witness == key(2) || r.witness == key(3));
    let mut loud = 0;
    for r in w.receptions.iter_mut() {
        if r.beaconer == griefer {
            r.heard = Heard::TooLoud;
            loud += 1;
        }
    }
    assert!(loud >= 6, "{loud}");
    let d = w.detect();
    assert_eq!(d.pardoned.values().sum::<u64>(), loud);
}

/// Hole 6: below 30 hearing pairs (a network's launch) every test was off, even the one that
/// needs no path-loss law: a two-key farm on one radio among a village's hotspots earned as
/// two.
#[test]
fn a_farm_at_launch_is_found_without_a_fitted_law() {
    let mut w = World::honest_with(FIELD, 4);
    w.stations.clear();
    for i in 0..4 {
        let at = (
            ORIGIN.0 + f64::from(i) * 0.006,
            ORIGIN.1 + f64::from(i % 2) * 0.004,
        );
        w.add(i, at, at, i);
    }
    let radio = (ORIGIN.0 + 0.012, ORIGIN.1 + 0.009);
    let farm = [
        w.add(100, radio, (radio.0 + 0.02, radio.1), 100),
        w.add(101, radio, (radio.0 - 0.02, radio.1 + 0.01), 100),
    ];
    for _ in 0..2 {
        w.air(|_| POWER_DDBM, &[]);
    }
    let d = w.detect();
    let pairs: std::collections::BTreeSet<(PublicKey, PublicKey)> = w
        .receptions
        .iter()
        .map(|r| (r.beaconer, r.witness))
        .collect();
    assert!(
        pairs.len() < signal::MIN_FIT_POINTS,
        "{} pairs",
        pairs.len()
    );
    assert_found(&d, &farm, Code::OneRadioManyKeys);
}

/// Hole 2: a relay 33 km out, sending less than the town's beaconers (so that one-way links
/// are what physics expects of it) and forging every beacon of the town just above what SF9
/// demodulates, was never loud (its forgeries were within 12 dB of the law) nor beyond range
/// by the old count: it reports far more far links than shadowing gives a radio there.
#[test]
fn a_relay_sending_less_than_it_hears_is_found_by_its_far_links() {
    let mut w = World::honest();
    let far = (ORIGIN.0 + 0.30, ORIGIN.1 + 0.03);
    let relay = w.add(100, far, far, 100);
    w.air(|k| if *k == relay { 100 } else { POWER_DDBM }, &[]);
    let town: Vec<PublicKey> = w.honest_keys();
    w.relay(relay, &town, -1_250);
    let d = w.detect();
    // Its claims put it where it is not, or hear what no radio there hears: either is the lie.
    let codes = codes_of(&d, &relay);
    assert!(
        codes.contains(&Code::HearsBeyondRange)
            || codes.contains(&Code::SignalInconsistentWithLocation),
        "{:#?}",
        d.findings
    );
    assert_honest_clear(&w, &d);
}

/// Scenario `terrain`: a relay on a 48 m mast whose radio hears most of the town forges only
/// the beacons it misses, just above what SF9 demodulates. Its partners that never hear it
/// back were fewer than a fifth of them (the share the test asked for, against framers
/// refusing to report a victim), and it earned 1.67 fair shares. Found when it forges a sixth
/// to a quarter of its links (terrain's relay: 9 of 55); below an eighth it is not (what it
/// gains is then less than an eighth over its radio's honest share).
#[test]
fn a_mast_relay_forging_only_what_its_radio_misses_is_found() {
    let mut tried = 0;
    for seed in 1..=12 {
        let mut w = harsh_world(seed);
        let at = (grid(3, 3).0, grid(3, 6).1 + 0.09);
        let relay = w.add(100, at, at, 100);
        w.stations.last_mut().unwrap().elevation_m = 48;
        w.air(|_| POWER_DDBM, &[]);
        let town = w.honest_keys();
        let heard: BTreeSet<PublicKey> = w
            .receptions
            .iter()
            .filter(|r| r.witness == relay)
            .map(|r| r.beaconer)
            .collect();
        let missed: Vec<PublicKey> = town
            .iter()
            .filter(|k| !heard.contains(*k))
            .copied()
            .collect();
        if missed.len() * 6 < town.len() || missed.len() * 4 > town.len() {
            continue;
        }
        tried += 1;
        w.relay(relay, &missed, -1_265);
        let d = w.detect();
        assert!(
            codes_of(&d, &relay).contains(&Code::HearsBeyondRange),
            "seed {seed}, {} forged: {:#?}",
            missed.len(),
            d.findings
        );
        assert_honest_clear(&w, &d);
    }
    assert!(tried >= 3, "{tried} draws forge a sixth to a quarter");
}

/// Scenario `default` (a CI run, 2026-12-03): a relay whose radio hears most of the town
/// weakly fills in every beacon its radio misses, so every link looks perfect from its side.
/// The partners on its weakest links heard one or two of its beacons back (fading), so only
/// four partners besides a farm's keys were wholly silent: fewer than an eighth, and it earned
/// 0.96 of a fair share in that epoch. A partner that heard a quarter or less of what the
/// link carried the other way is as one-way as a silent one.
#[test]
fn a_relay_filling_in_what_its_radio_misses_is_found() {
    let mut tried = 0;
    for seed in 1..=40 {
        let mut w = harsh_world(seed);
        // East of the town, a little farther each seed of three.
        let at = (grid(3, 3).0, grid(3, 6).1 + 0.08 + 0.01 * (seed % 3) as f64);
        let relay = w.add(100, at, at, 100);
        w.stations.last_mut().unwrap().elevation_m = 48;
        w.air(|_| POWER_DDBM, &[]);
        let town = w.honest_keys();
        // How often each partner heard the relay's beacons back.
        let mut back: BTreeMap<PublicKey, u64> = BTreeMap::new();
        for r in w.receptions.iter().filter(|r| r.beaconer == relay) {
            *back.entry(r.witness).or_default() += 1;
        }
        let back_of = |k: &PublicKey| back.get(k).copied().unwrap_or(0);
        let silent = town.iter().filter(|k| back_of(k) == 0).count();
        // A quarter or less of the link's 0.95 × BEACONS.
        let near_silent = town.iter().filter(|k| back_of(k) * 4 < BEACONS).count();
        // What the CI run saw: wholly silent partners too few for the share asked, partners
        // that heard it once or twice beside them.
        if silent * 8 >= town.len() || near_silent * 8 < town.len() {
            continue;
        }
        let before = w.receptions.len();
        w.relay_missing(relay, &town, -1_265);
        // As in the scenario, it forges a fifth or more of what it reports (below an eighth
        // it is not found: `a_mast_relay_forging_only_what_its_radio_misses_is_found`).
        let forged = w.receptions.len() - before;
        let reported = w.receptions.iter().filter(|r| r.witness == relay).count();
        if forged * 5 < reported {
            continue;
        }
        tried += 1;
        let d = w.detect();
        assert!(
            codes_of(&d, &relay).contains(&Code::HearsBeyondRange),
            "seed {seed}: {silent} silent, {near_silent} heard it once or never, of {}: {:#?}",
            town.len(),
            d.findings
        );
        assert_honest_clear(&w, &d);
    }
    assert!(
        tried >= 3,
        "{tried} draws with few silent partners and weak links back"
    );
}

/// Hotspots online only part of an epoch beacon and listen only then: their few beacons are
/// heard every time by a neighbour that was on all along, which they heard back only while
/// they listened. That is not a one-way link (a review of the quarter rule for silent
/// partners: a hotspot with four such partners was found).
#[test]
fn partners_online_part_of_the_epoch_do_not_make_a_hotspot_one_way() {
    let mut flagged = Vec::new();
    for seed in 1..=20 {
        let mut w = harsh_world(seed);
        w.air(|_| POWER_DDBM, &[]);
        // A third of the town is on only for the first third of the epoch.
        let part: BTreeSet<PublicKey> = w
            .honest_keys()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == seed as usize % 3)
            .map(|(_, k)| k)
            .collect();
        let on = BEACONS / 3;
        w.receptions.retain(|r| {
            let n = u64::from_le_bytes(r.beacon[..8].try_into().unwrap());
            n < on || !(part.contains(&r.beaconer) || part.contains(&r.witness))
        });
        for k in &part {
            w.beacons.insert(*k, on);
        }
        let d = w.detect();
        flagged.extend(
            d.findings
                .into_iter()
                .filter(|f| f.code.suspends())
                .map(|f| (seed, f.code, f.evidence)),
        );
    }
    assert!(
        flagged.is_empty(),
        "{} honest findings: {flagged:#?}",
        flagged.len()
    );
}

/// Receivers in a noisy place (a city's interference, a cheap front end) hear less than they
/// are heard: 6 dB more noise on receive only, at one hotspot in five, next to quiet ones. Their
/// quiet neighbours hear them on links they do not hear back. That is not a relay.
#[test]
fn noisy_neighbours_do_not_make_a_quiet_receiver_one_way() {
    for noise_ddb in [60, 100] {
        let mut flagged = Vec::new();
        for seed in 1..=20 {
            let mut w = harsh_world(seed);
            w.air(|_| POWER_DDBM, &[]);
            let noisy: BTreeSet<PublicKey> = w
                .honest_keys()
                .into_iter()
                .enumerate()
                .filter(|(i, _)| (*i as u64 + seed).is_multiple_of(5))
                .map(|(_, k)| k)
                .collect();
            w.receptions
                .retain(|r| !noisy.contains(&r.witness) || r.rssi_ddbm >= -1_280 + noise_ddb);
            let d = w.detect();
            flagged.extend(
                d.findings
                    .into_iter()
                    .filter(|f| f.code.suspends())
                    .map(|f| (seed, f.code, f.evidence)),
            );
        }
        assert!(
            flagged.is_empty(),
            "{noise_ddb} ddB: {} honest findings: {flagged:#?}",
            flagged.len()
        );
    }
}

/// The other side of the one-way test: the four nearest neighbours of a hotspot (real radios
/// that hear it loudly) never report its beacons, to get it found as a relay. Fewer than an
/// eighth of its partners: it is not.
#[test]
fn neighbours_refusing_to_report_a_hotspot_do_not_make_it_one_way() {
    for seed in 1..=5 {
        let mut w = harsh_world(seed);
        w.air(|_| POWER_DDBM, &[]);
        let victim = key(24);
        let framers = [key(17), key(23), key(25), key(31)];
        w.receptions
            .retain(|r| !(r.beaconer == victim && framers.contains(&r.witness)));
        let d = w.detect();
        assert!(codes_of(&d, &victim).is_empty(), "{:#?}", d.findings);
        assert_honest_clear(&w, &d);
    }
}

/// Four cities (scenario `four-cities`): a ring in a city other than the largest was never
/// found, its city's listeners not being "the network" (the largest group of all).
#[test]
fn a_ring_in_a_smaller_city_is_found() {
    let mut w = World::honest();
    // A town of 16, 300 km south: its own group of hotspots hearing each other.
    w.town(400, (49.8, ORIGIN.1), 4);
    w.air(|_| POWER_DDBM, &[]);
    let places = [
        (49.8 + 1.5 * STEP.0, ORIGIN.1 + 1.5 * STEP.1),
        (49.8 + 1.4 * STEP.0, ORIGIN.1 + 2.6 * STEP.1),
        (49.8 + 2.6 * STEP.0, ORIGIN.1 + 1.8 * STEP.1),
    ];
    let ring = w.ring(200, &places, BEACONS, POWER_DDBM);
    let d = w.detect();
    assert_found(&d, &ring, Code::MissingExpectedWitnesses);
    assert_honest_clear(&w, &d);
    for n in 400..416 {
        assert!(!d.suspended.contains(&key(n)), "{:#?}", d.findings);
    }
}

/// Scenario `high-mix`: a farm's keys, asserted kilometres from their radio, are "too loud"
/// for every honest neighbour of the radio; those verdicts are the farm's doing, pardoned
/// (they fraud-suspended honest neighbours of three farms).
#[test]
fn too_loud_verdicts_on_a_farms_keys_are_pardoned() {
    let mut w = World::honest();
    let radio = grid(3, 3);
    let farm = [
        w.add(100, radio, (radio.0 + 0.020, radio.1), 100),
        w.add(101, radio, (radio.0, radio.1 + 0.040), 100),
        w.add(102, radio, (radio.0 - 0.018, radio.1 - 0.012), 100),
    ];
    w.air(|_| POWER_DDBM, &[]);
    let mut loud = 0;
    for r in w.receptions.iter_mut() {
        if farm.contains(&r.beaconer) && !farm.contains(&r.witness) && r.rssi_ddbm > -1_000 {
            r.heard = Heard::TooLoud;
            loud += 1;
        }
    }
    assert!(loud > 6, "{loud}");
    let d = w.detect();
    assert_found(&d, &farm, Code::OneRadioManyKeys);
    assert_eq!(d.pardoned.values().sum::<u64>(), loud);
}

/// Hole 4: one sacrificial key copying an honest witness's published measurements got both
/// flagged `one_radio_many_keys`. A copy can only come after the beacon was judged (the
/// measurements are published then): it is `witness_late`, and proves nothing of its victim.
#[test]
fn a_copier_of_published_measurements_does_not_frame_its_victim() {
    let mut w = World::honest();
    w.air(|_| POWER_DDBM, &[]);
    let victim = key(24);
    let copier = w.add(100, grid(0, 0), (ORIGIN.0 - 0.2, ORIGIN.1), 100);
    let copies: Vec<Reception> = w
        .receptions
        .iter()
        .filter(|r| r.witness == victim)
        .map(|r| Reception {
            witness: copier,
            heard: Heard::Other,
            ..r.clone()
        })
        .collect();
    assert!(copies.len() >= 20);
    w.receptions.extend(copies);
    let d = w.detect();
    assert!(!d.suspended.contains(&victim), "{:#?}", d.findings);
    assert_honest_clear(&w, &d);
}

/// Scenario `default`: the rules judge every link of a near spoofer "too loud" (free space at
/// its asserted 60 km is far quieter than its neighbours hear it), so none of its links is
/// valid and it listened to nobody; its claims are still claims no radio there could make.
#[test]
fn a_near_spoofer_whose_every_link_is_too_loud_is_found() {
    let mut w = World::honest();
    let truth = (ORIGIN.0 + 3.5 * STEP.0, ORIGIN.1 + 3.5 * STEP.1);
    let spoofer = w.add(100, truth, (ORIGIN.0 + 0.32, ORIGIN.1 + 0.58), 100);
    w.air(|_| POWER_DDBM, &[]);
    for r in w.receptions.iter_mut() {
        if r.beaconer == spoofer || r.witness == spoofer {
            r.heard = Heard::TooLoud;
        }
    }
    let d = w.detect();
    assert!(d.suspended.contains(&spoofer), "{:#?}", d.findings);
    assert_honest_clear(&w, &d);
}
