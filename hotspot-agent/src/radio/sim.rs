//! A simulated radio medium. Every [`SimRadio`] attached to a [`SimMedium`] hears the others'
//! transmissions as physics allows: log-distance path loss from the radios' *true* positions
//! (`hexproof_proto::rf`), both antenna gains, the receiver's thermal noise floor, and the
//! demodulation limit of the data rate (packets below it are not heard). A radio does not hear
//! itself.
//!
//! Real links are not a textbook law plus noise ([`MediumModel`]): each pair of radios has its
//! own **static shadowing** (buildings, trees, hills between them: log-normal, drawn once per
//! link and the same both ways, 8 dB by default), on top of which every packet gets a little
//! **fast fading**; a mast high above the roofs loses less over distance ([`height_gain_db`]);
//! an indoor site or a long cable loses the same on every link it takes part in
//! ([`Placement::site_loss_ddb`]), sending and receiving alike. No link is ever louder than
//! free space (plus its fading): the rules' ceiling is physics, not the model.
//!
//! Adversaries ([`Hearing`]): a radio that [`Hearing::ReplaysEverything`] obtains other
//! hotspots' beacons by other means (a colluder, a relay) and reports them as heard: it gets
//! every packet in the network, late (5–25 s after it was sent, as a relay is) and with a strong
//! made-up signal. A [`Hearing::ForgingRelay`] hears what its radio hears and, relayed from
//! elsewhere, every other packet sent within 100 km, stamped with the time it was sent and a
//! made-up signal just above the demodulation limit.
//! Radios of one [`Placement::radio`] are one radio with several keys (a key farm): they do not
//! hear each other, and every packet reaches all of them with one measurement.

use std::sync::{Arc, Mutex};

use hexproof_proto::rf::{self, LogDistance};
use rand::{Rng, SeedableRng, rngs::StdRng};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Radio, RadioLink, RxPacket, TxPacket, TxReceipt};
use hexproof_proto::clock::Clock;

/// The medium's physical parameters.
#[derive(Debug, Clone, Copy)]
pub struct MediumModel {
    pub path_loss: LogDistance,
    /// Standard deviation of the static per-link shadowing, dB: 6–10 dB in the field.
    pub link_shadowing_db: f64,
    /// Standard deviation of each packet's fast fading, dB.
    pub fading_db: f64,
    /// Receiver noise figure, dB.
    pub noise_figure_db: f64,
}

impl Default for MediumModel {
    fn default() -> Self {
        MediumModel {
            path_loss: LogDistance::default(),
            link_shadowing_db: 8.0,
            fading_db: 2.0,
            noise_figure_db: 6.0,
        }
    }
}

impl MediumModel {
    /// No randomness at all: the law, the antennas and the sites (forged measurements).
    pub fn textbook(self) -> Self {
        MediumModel {
            link_shadowing_db: 0.0,
            fading_db: 0.0,
            ..self
        }
    }
}

/// How much less a link loses when one end's antenna stands `elevation_m` above ground, dB: a
/// mast above the clutter sees farther (Hata's base-station height gain, 20·log10(h / 10 m),
/// at most 15 dB), fully from 10 km, half at 1 km, none within 100 m.
pub fn height_gain_db(elevation_m: i32, distance_m: f64) -> f64 {
    let height = (20.0 * (f64::from(elevation_m.max(1)) / 10.0).log10()).clamp(0.0, 15.0);
    let reach = ((distance_m.max(1.0) / 100.0).log10() / 2.0).clamp(0.0, 1.0);
    height * reach
}

/// A standard normal draw that is a pure function of `seed` and the two places (unordered):
/// the same link always gets the same shadowing, both ways, on every machine.
pub fn link_normal(seed: u64, a: (f64, f64), b: (f64, f64)) -> f64 {
    let key = |p: (f64, f64)| (p.0.to_bits(), p.1.to_bits());
    let (lo, hi) = if key(a) <= key(b) {
        (key(a), key(b))
    } else {
        (key(b), key(a))
    };
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = |v: u64| {
        x = (x ^ v).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x ^= x >> 33;
        x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        x ^= x >> 29;
        x
    };
    for v in [lo.0, lo.1, hi.0, hi.1] {
        next(v);
    }
    // Box–Muller from two 53-bit uniforms.
    let u1 = ((next(1) >> 11) as f64 / (1u64 << 53) as f64).max(1e-12);
    let u2 = (next(2) >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Where a simulated radio is and what antenna it has.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    pub lat: f64,
    pub lon: f64,
    /// Antenna gain, dBi x 10.
    pub gain_ddbi: i32,
    /// Antenna height above ground, metres ([`height_gain_db`]).
    pub elevation_m: i32,
    /// What the site loses on every link, sending and receiving, dB x 10: walls around an
    /// indoor hotspot, a long cable.
    pub site_loss_ddb: i32,
    pub hearing: Hearing,
    /// Stations sharing one physical radio (a key farm) carry the same number.
    pub radio: Option<u32>,
}

impl Placement {
    /// An ordinary radio at a place.
    pub fn at(lat: f64, lon: f64, gain_ddbi: i32) -> Self {
        Placement {
            lat,
            lon,
            gain_ddbi,
            elevation_m: 5,
            site_loss_ddb: 0,
            hearing: Hearing::Physical,
            radio: None,
        }
    }
}

/// How a station comes by the packets it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hearing {
    /// As physics allows.
    #[default]
    Physical,
    /// Every packet in the network, 5–25 s late (by its own time stamp), a made-up strong signal.
    ReplaysEverything,
    /// What physics allows, plus every other packet within [`RELAY_REACH_M`] (relayed),
    /// stamped with its send time and a signal just above the demodulation limit.
    ForgingRelay,
}

/// How far a forging relay's network reaches.
pub const RELAY_REACH_M: f64 = 100_000.0;

#[derive(Debug)]
struct Station {
    placement: Placement,
    inbox: mpsc::Sender<RxPacket>,
}

#[derive(Debug)]
struct MediumState {
    stations: Vec<Station>,
    rng: StdRng,
}

/// The shared medium. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SimMedium {
    model: MediumModel,
    /// Draws each link's shadowing ([`link_normal`]).
    seed: u64,
    clock: Clock,
    state: Arc<Mutex<MediumState>>,
}

/// How far above free space multipath adding up in phase lifts a packet, at most, dB (the
/// oracle's ceiling allows 5).
pub const MULTIPATH_GAIN_DB: f64 = 3.0;

/// How a packet arrives at one receiver, or `None` when it is below what the receiver can
/// demodulate. Pure: the caller supplies the link's shadowing and the packet's fading (dB).
pub fn reception(
    model: &MediumModel,
    from: &Placement,
    to: &Placement,
    packet: &TxPacket,
    shadowing_db: f64,
    fading_db: f64,
) -> Option<(i32, i32)> {
    let distance = rf::distance_m(from.lat, from.lon, to.lat, to.lon);
    let frequency = packet.frequency_hz as f64;
    let law = model.path_loss.path_loss_db(distance, frequency)
        - height_gain_db(from.elevation_m.max(to.elevation_m), distance)
        - shadowing_db;
    // Nothing propagates better than free space, but for multipath adding up in phase.
    let loss = (law - fading_db).max(rf::fspl_db(distance, frequency) - MULTIPATH_GAIN_DB);
    let rssi_dbm = f64::from(
        packet.power_ddbm + from.gain_ddbi + to.gain_ddbi - from.site_loss_ddb - to.site_loss_ddb,
    ) / 10.0
        - loss;
    let noise = rf::noise_floor_dbm(packet.data_rate.bandwidth_hz(), model.noise_figure_db);
    let snr_db = rssi_dbm - noise;
    let snr_ddb = (snr_db * 10.0).round() as i32;
    (snr_ddb >= packet.data_rate.min_snr_ddb()).then(|| ((rssi_dbm * 10.0).round() as i32, snr_ddb))
}

impl SimMedium {
    pub fn new(model: MediumModel, clock: Clock, seed: u64) -> Self {
        SimMedium {
            model,
            seed,
            clock,
            state: Arc::new(Mutex::new(MediumState {
                stations: Vec::new(),
                rng: StdRng::seed_from_u64(seed),
            })),
        }
    }

    /// Attaches a radio at a place. `queue` bounds how many heard packets wait for the agent.
    pub fn attach(&self, placement: Placement, queue: usize) -> SimRadio {
        let (inbox, received) = mpsc::channel(queue.max(1));
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let index = state.stations.len();
        state.stations.push(Station { placement, inbox });
        SimRadio {
            medium: self.clone(),
            index,
            received,
        }
    }

    /// Delivers a transmission from station `from` to every station that hears it; returns
    /// how many did.
    fn broadcast(&self, from: usize, packet: &TxPacket) -> usize {
        let now = self.clock.now_ns();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let MediumState { stations, rng } = &mut *state;
        let source = stations[from].placement;
        let mut heard = 0;
        // One measurement per physical radio (key farms).
        let mut by_radio: std::collections::BTreeMap<u32, Option<(i32, i32)>> = Default::default();
        for (i, station) in stations.iter().enumerate() {
            let to = station.placement;
            if i == from || (to.radio.is_some() && to.radio == source.radio) {
                continue;
            }
            let mut delay_ns = 0;
            let distance = rf::distance_m(source.lat, source.lon, to.lat, to.lon);
            let shared = to.radio.and_then(|r| by_radio.get(&r).copied());
            let measured = match (shared, to.hearing) {
                (Some(m), _) => m,
                (None, Hearing::ReplaysEverything) => {
                    delay_ns = rng.gen_range(5_000_000_000..25_000_000_000u64);
                    Some((-500 + rng.gen_range(-50..50), 80 + rng.gen_range(-20..20)))
                }
                (None, hearing) => {
                    // Box–Muller: one standard normal draw for the packet's fading.
                    let (u1, u2): (f64, f64) = (rng.r#gen::<f64>().max(1e-12), rng.r#gen());
                    let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                    let link = link_normal(self.seed, (source.lat, source.lon), (to.lat, to.lon));
                    let physical = reception(
                        &self.model,
                        &source,
                        &to,
                        packet,
                        link * self.model.link_shadowing_db,
                        normal * self.model.fading_db,
                    );
                    match (physical, hearing) {
                        (None, Hearing::ForgingRelay) if distance <= RELAY_REACH_M => {
                            // Not heard: forged just above what the data rate demodulates.
                            let noise = rf::noise_floor_dbm(
                                packet.data_rate.bandwidth_hz(),
                                self.model.noise_figure_db,
                            );
                            let snr = packet.data_rate.min_snr_ddb() + rng.gen_range(20..60);
                            Some(((noise * 10.0).round() as i32 + snr, snr))
                        }
                        (physical, _) => physical,
                    }
                }
            };
            if let Some(r) = to.radio {
                by_radio.insert(r, measured);
            }
            let Some((rssi_ddbm, snr_ddb)) = measured else {
                continue;
            };
            let rx = RxPacket {
                payload: packet.payload.clone(),
                timestamp_ns: now + (distance / rf::SPEED_OF_LIGHT * 1e9) as u64 + delay_ns,
                frequency_hz: packet.frequency_hz,
                data_rate: packet.data_rate,
                rssi_ddbm,
                snr_ddb,
            };
            // A receiver whose queue is full misses the packet, as a busy radio would.
            if station.inbox.try_send(rx).is_ok() {
                heard += 1;
            }
        }
        heard
    }
}

/// One radio on a [`SimMedium`].
#[derive(Debug)]
pub struct SimRadio {
    medium: SimMedium,
    index: usize,
    received: mpsc::Receiver<RxPacket>,
}

impl Radio for SimRadio {
    fn start(self, shutdown: CancellationToken) -> RadioLink {
        let (transmit, mut requests) = mpsc::channel::<super::TxRequest>(4);
        let SimRadio {
            medium,
            index,
            received,
        } = self;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    request = requests.recv() => {
                        let Some((packet, done)) = request else { break };
                        let at = medium.clock.now_ns();
                        let heard = medium.broadcast(index, &packet);
                        tracing::trace!(heard, "sim transmission");
                        let _ = done.send(Ok(TxReceipt { at_ns: at, power_ddbm: packet.power_ddbm }));
                    }
                }
            }
        });
        RadioLink::new(received, transmit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hexproof_proto::v1::DataRate;

    fn at(lat: f64, lon: f64) -> Placement {
        Placement::at(lat, lon, 30)
    }

    fn packet() -> TxPacket {
        TxPacket {
            payload: vec![1, 2, 3],
            frequency_hz: 868_100_000,
            data_rate: DataRate::Sf9bw125,
            power_ddbm: 140,
        }
    }

    #[test]
    fn signal_falls_with_distance_until_it_is_not_heard() {
        let model = MediumModel::default();
        let a = at(52.0, 13.0);
        // 0.01 degree of latitude is 1.11 km.
        let near = reception(&model, &a, &at(52.01, 13.0), &packet(), 0.0, 0.0).unwrap();
        let far = reception(&model, &a, &at(52.05, 13.0), &packet(), 0.0, 0.0).unwrap();
        assert!(near.0 > far.0 && near.1 > far.1);
        // 14 dBm + 2 x 3 dBi − (31.2 + 30·log10(1112)) ≈ −102.6 dBm at 1.11 km.
        assert!((near.0 - -1026).abs() <= 5, "{near:?}");
        // 50 km away: far below the SF9 limit.
        assert_eq!(
            reception(&model, &a, &at(52.45, 13.0), &packet(), 0.0, 0.0),
            None
        );
    }

    #[test]
    fn physical_rssi_never_exceeds_free_space() {
        let model = MediumModel::default();
        let a = at(52.0, 13.0);
        for step in 1..40 {
            let b = at(52.0 + f64::from(step) * 0.0005, 13.0);
            // However lucky the link (three sigmas of shadowing and fading) or high the mast:
            // the oracle's free-space ceiling (5 dB of slack) holds for every honest radio.
            let mast = Placement {
                elevation_m: 60,
                ..b
            };
            if let Some((rssi, _)) = reception(&model, &a, &mast, &packet(), 24.0, 6.0) {
                let d = rf::distance_m(a.lat, a.lon, b.lat, b.lon);
                let free = 14.0 + 6.0 - rf::fspl_db(d, 868.1e6);
                assert!(f64::from(rssi) / 10.0 <= free + MULTIPATH_GAIN_DB + 0.05);
            }
        }
    }

    /// Issue 28 item 7: shadowing belongs to the link (the same every packet, both ways, on
    /// every machine), about 8 dB across links; a mast gains up to 15 dB at 10 km; an indoor
    /// site loses its walls on every link.
    #[test]
    fn shadowing_is_per_link_static_and_reciprocal() {
        let (a, b) = ((52.0, 13.0), (52.01, 13.02));
        assert_eq!(link_normal(7, a, b), link_normal(7, b, a));
        assert_ne!(link_normal(7, a, b), link_normal(8, a, b));
        let draws: Vec<f64> = (0..4_000)
            .map(|i| link_normal(1, a, (52.0 + f64::from(i) * 1e-4, 13.1)))
            .collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let sd =
            (draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / draws.len() as f64).sqrt();
        assert!(mean.abs() < 0.06 && (sd - 1.0).abs() < 0.05, "{mean} {sd}");

        assert_eq!(height_gain_db(5, 10_000.0), 0.0);
        assert!((height_gain_db(60, 10_000.0) - 15.0).abs() < 1e-9);
        assert!((height_gain_db(40, 1_000.0) - 0.5 * 20.0 * 4f64.log10()).abs() < 1e-9);
        assert_eq!(height_gain_db(40, 80.0), 0.0);

        let model = MediumModel::default();
        let from = at(52.0, 13.0);
        let to = at(52.01, 13.0);
        let plain = reception(&model, &from, &to, &packet(), 0.0, 0.0).unwrap();
        let indoor = Placement {
            site_loss_ddb: 120,
            ..to
        };
        let walled = reception(&model, &from, &indoor, &packet(), 0.0, 0.0).unwrap();
        assert_eq!(plain.0 - walled.0, 120);
        let back = reception(&model, &indoor, &from, &packet(), 0.0, 0.0).unwrap();
        assert_eq!(back.0, walled.0, "walls cost the same both ways");
    }

    #[tokio::test]
    async fn radios_hear_each_other_but_not_themselves() {
        let medium = SimMedium::new(MediumModel::default(), Clock::system(), 1);
        let shutdown = CancellationToken::new();
        let a = medium.attach(at(52.0, 13.0), 8).start(shutdown.clone());
        let mut b = medium.attach(at(52.005, 13.0), 8).start(shutdown.clone());
        let mut far = medium.attach(at(53.0, 13.0), 8).start(shutdown.clone());
        let mut a = a;
        let sent_at = a.transmit(packet()).await.unwrap().at_ns;
        let heard = b.received.recv().await.unwrap();
        assert_eq!(heard.payload, vec![1, 2, 3]);
        assert!(heard.timestamp_ns >= sent_at);
        assert!(a.received.try_recv().is_err());
        assert!(far.received.try_recv().is_err());
        shutdown.cancel();
    }
}
