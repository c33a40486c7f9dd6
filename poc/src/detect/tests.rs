//! Each adversary kind in a synthetic epoch: a 7 × 7 grid of honest hotspots 700 m apart in
//! Berlin on a log-distance medium with 4 dB shadowing, plus the kind under test. Each test
//! asserts the kind is found with its code and that no honest hotspot (its neighbours
//! included) is.

use std::collections::BTreeMap;

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
    /// Stations sharing a radio (key farm) share this.
    radio: u32,
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

/// Received power over `d` metres with `shadow` dB, dBm x 10; `None` below SF9's reach.
fn rssi(d: f64, shadow: f64) -> Option<i32> {
    let loss = 31.2 + 30.0 * d.max(1.0).log10();
    let dbm = f64::from(POWER_DDBM + 2 * GAIN_DDBI) / 10.0 - loss + shadow;
    (dbm >= -128.0).then(|| (dbm * 10.0).round() as i32)
}

struct World {
    stations: Vec<Station>,
    receptions: Vec<Reception>,
    beacons: BTreeMap<PublicKey, u64>,
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
    fn honest() -> World {
        let mut stations = Vec::new();
        for i in 0..7 {
            for j in 0..7 {
                let n = i * 7 + j;
                stations.push(Station {
                    key: key(n),
                    truth: grid(i, j),
                    asserted: grid(i, j),
                    radio: n,
                });
            }
        }
        World {
            stations,
            receptions: Vec::new(),
            beacons: BTreeMap::new(),
        }
    }

    fn add(&mut self, n: u32, truth: (f64, f64), asserted: (f64, f64), radio: u32) -> PublicKey {
        let k = key(n);
        self.stations.push(Station {
            key: k,
            truth,
            asserted,
            radio,
        });
        k
    }

    fn honest_keys(&self) -> Vec<PublicKey> {
        (0..49).map(key).collect()
    }

    /// Every station with a radio beacons `BEACONS` times; everyone with a radio hears it as
    /// physics allows. `stated` gives the power a beaconer states.
    fn air(&mut self, stated: impl Fn(&PublicKey) -> i32, silent: &[PublicKey]) {
        let mut counter = 0u64;
        for b in self.stations.clone() {
            if silent.contains(&b.key) {
                continue;
            }
            for n in 0..BEACONS {
                let beacon = beacon_id(&b.key, n);
                *self.beacons.entry(b.key).or_default() += 1;
                // One measurement per radio and beacon (key farms share it).
                let mut by_radio: BTreeMap<u32, Option<i32>> = BTreeMap::new();
                for w in &self.stations {
                    if w.radio == b.radio {
                        continue;
                    }
                    counter += 1;
                    let measured = *by_radio
                        .entry(w.radio)
                        .or_insert_with(|| rssi(metres(b.truth, w.truth), 4.0 * fading(counter)));
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
                elevation_m: 5,
                asserted_at_ns: 0,
                region: &region::EU868,
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
    for i in 0..4 {
        for j in 0..4 {
            let n = 300 + i * 4 + j;
            let at = (
                ORIGIN.0 + f64::from(i) * STEP.0,
                13.80 + f64::from(j) * STEP.1,
            );
            w.add(n, at, at, n);
        }
    }
    let relay = w.add(100, grid(6, 6), grid(6, 6), 100);
    w.air(|_| POWER_DDBM, &[]);
    // The relay also reports the other town's beacons, at just above what SF9 demodulates.
    let far: Vec<PublicKey> = (300..316).map(key).collect();
    for (i, b) in far.iter().enumerate() {
        for n in 0..BEACONS {
            w.receptions.push(Reception {
                beacon: beacon_id(b, n),
                beaconer: *b,
                witness: relay,
                rssi_ddbm: -1_220 + (i as i32 % 5) * 10,
                snr_ddb: -80,
                tx_power_ddbm: POWER_DDBM,
                heard: Heard::Valid,
            });
        }
    }
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
