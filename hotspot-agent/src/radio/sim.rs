//! A simulated radio medium. Every [`SimRadio`] attached to a [`SimMedium`] hears the others'
//! transmissions as physics allows: log-distance path loss from the radios' *true* positions
//! (`hexproof_proto::rf`), both antenna gains, log-normal shadowing, the receiver's thermal noise
//! floor, and the demodulation limit of the data rate (packets below it are not heard). A radio
//! does not hear itself.
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
    /// Standard deviation of log-normal shadowing, dB.
    pub shadowing_db: f64,
    /// Receiver noise figure, dB.
    pub noise_figure_db: f64,
}

impl Default for MediumModel {
    fn default() -> Self {
        MediumModel {
            path_loss: LogDistance::default(),
            shadowing_db: 4.0,
            noise_figure_db: 6.0,
        }
    }
}

/// Where a simulated radio is and what antenna it has.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    pub lat: f64,
    pub lon: f64,
    /// Antenna gain, dBi x 10.
    pub gain_ddbi: i32,
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
    clock: Clock,
    state: Arc<Mutex<MediumState>>,
}

/// How a packet arrives at one receiver, or `None` when it is below what the receiver can
/// demodulate. Pure: the caller supplies the shadowing draw.
pub fn reception(
    model: &MediumModel,
    from: &Placement,
    to: &Placement,
    packet: &TxPacket,
    shadowing_db: f64,
) -> Option<(i32, i32)> {
    let distance = rf::distance_m(from.lat, from.lon, to.lat, to.lon);
    let loss = model
        .path_loss
        .path_loss_db(distance, packet.frequency_hz as f64);
    let rssi_dbm =
        f64::from(packet.power_ddbm + from.gain_ddbi + to.gain_ddbi) / 10.0 - loss + shadowing_db;
    let noise = rf::noise_floor_dbm(packet.data_rate.bandwidth_hz(), model.noise_figure_db);
    let snr_db = rssi_dbm - noise;
    let snr_ddb = (snr_db * 10.0).round() as i32;
    (snr_ddb >= packet.data_rate.min_snr_ddb()).then(|| ((rssi_dbm * 10.0).round() as i32, snr_ddb))
}

impl SimMedium {
    pub fn new(model: MediumModel, clock: Clock, seed: u64) -> Self {
        SimMedium {
            model,
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
                    // Box–Muller: one standard normal draw.
                    let (u1, u2): (f64, f64) = (rng.r#gen::<f64>().max(1e-12), rng.r#gen());
                    let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                    let physical = reception(
                        &self.model,
                        &source,
                        &to,
                        packet,
                        normal * self.model.shadowing_db,
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
        let near = reception(&model, &a, &at(52.01, 13.0), &packet(), 0.0).unwrap();
        let far = reception(&model, &a, &at(52.05, 13.0), &packet(), 0.0).unwrap();
        assert!(near.0 > far.0 && near.1 > far.1);
        // 14 dBm + 2 x 3 dBi − (31.2 + 30·log10(1112)) ≈ −102.6 dBm at 1.11 km.
        assert!((near.0 - -1026).abs() <= 5, "{near:?}");
        // 50 km away: far below the SF9 limit.
        assert_eq!(
            reception(&model, &a, &at(52.45, 13.0), &packet(), 0.0),
            None
        );
    }

    #[test]
    fn physical_rssi_never_exceeds_free_space() {
        let model = MediumModel::default();
        let a = at(52.0, 13.0);
        for step in 1..40 {
            let b = at(52.0 + f64::from(step) * 0.0005, 13.0);
            if let Some((rssi, _)) = reception(&model, &a, &b, &packet(), 0.0) {
                let d = rf::distance_m(a.lat, a.lon, b.lat, b.lon);
                let free = 14.0 + 6.0 - rf::fspl_db(d, 868.1e6);
                assert!(f64::from(rssi) / 10.0 <= free + 0.05);
            }
        }
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
