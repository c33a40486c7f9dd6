//! One hotspot: beacons on schedule with fresh oracle entropy, witnesses every beacon its radio
//! hears, reports every device uplink it hears (for the router to buy), and stores each signed
//! report in the outbox for the MQTT link to publish.

use hexproof_proto::clock::Clock;
use std::{
    sync::{Arc, Mutex, atomic::Ordering},
    time::Duration,
};

use hexproof_proto::{
    Keypair, Signed, beacon,
    region::RegionPlan,
    topics, uplink,
    v1::{self, BeaconReport, PacketReport, WitnessReport},
};
use prost::Message;
use rand::{Rng, RngCore, SeedableRng, rngs::StdRng};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::{
    config::BeaconConfig,
    entropy::EntropyStore,
    outbox::Outbox,
    radio::{RadioLink, RxPacket, TxPacket},
    stats::Stats,
};

/// Local entropy bytes put into each beacon.
const LOCAL_ENTROPY_LEN: usize = 8;

/// What an agent needs to know about its hotspot.
#[derive(Debug, Clone)]
pub struct Hotspot {
    pub key: Keypair,
    pub region: &'static RegionPlan,
    pub gain_ddbi: i32,
    /// The exact asserted cell and its salt, revealed to the oracles in every beacon and
    /// witness report (the chain holds only a commitment): `None` when the owner has not set
    /// `location`, and then the oracles cannot judge this hotspot's reports.
    pub location: Option<v1::LocationReveal>,
}

/// How a hotspot departs from the protocol: nothing for a real one. Simulations set it for the
/// adversaries of the anti-gaming scenarios (see `hexproof_fixtures::Behaviour`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conduct {
    /// dB x 10 subtracted from the transmit power a beacon report states (a griefer).
    pub understate_power_ddb: i32,
    /// Network seconds a beacon report is held back after the beacon went out.
    pub hold_beacons_secs: u64,
}

/// A running hotspot's state.
#[derive(Debug)]
pub struct Agent {
    hotspot: Hotspot,
    conduct: Conduct,
    beacon: BeaconConfig,
    clock: Clock,
    entropy: EntropyStore,
    outbox: Arc<Mutex<Outbox>>,
    new_reports: Arc<Notify>,
    stats: Arc<Stats>,
    rng: StdRng,
    last_beacon_packet: Option<Vec<u8>>,
}

/// Builds the signed witness report for a received packet, if the packet is a beacon.
pub fn witness_report(hotspot: &Hotspot, rx: &RxPacket) -> Option<WitnessReport> {
    beacon::is_beacon(&rx.payload).then(|| {
        WitnessReport {
            location: hotspot.location.clone(),
            payload: rx.payload.clone(),
            timestamp_ns: rx.timestamp_ns,
            frequency_hz: rx.frequency_hz,
            data_rate: rx.data_rate as i32,
            rssi_ddbm: rx.rssi_ddbm,
            snr_ddb: rx.snr_ddb,
            ..Default::default()
        }
        .signed(&hotspot.key)
    })
}

/// Builds the signed packet report for a received packet, if it is shaped like a device's
/// LoRaWAN uplink (the router decides the rest).
pub fn packet_report(key: &Keypair, rx: &RxPacket) -> Option<PacketReport> {
    (!beacon::is_beacon(&rx.payload) && uplink::looks_like_uplink(&rx.payload)).then(|| {
        PacketReport {
            payload: rx.payload.clone(),
            timestamp_ns: rx.timestamp_ns,
            frequency_hz: rx.frequency_hz,
            data_rate: rx.data_rate as i32,
            rssi_ddbm: rx.rssi_ddbm,
            snr_ddb: rx.snr_ddb,
            ..Default::default()
        }
        .signed(key)
    })
}

/// Puts a signed report in the outbox and wakes the MQTT link; a report that cannot be written
/// is lost and counted.
fn store_report(
    outbox: &Mutex<Outbox>,
    notify: &Notify,
    stats: &Stats,
    topic: &str,
    payload: &[u8],
) {
    let mut outbox = outbox.lock().unwrap_or_else(|e| e.into_inner());
    let dropped_before = outbox.dropped();
    match outbox.push(topic, payload) {
        Ok(_) => {
            Stats::add(&stats.outbox_dropped, outbox.dropped() - dropped_before);
            stats
                .outbox_pending
                .store(outbox.len() as u64, Ordering::Relaxed);
            drop(outbox);
            notify.notify_one();
        }
        Err(e) => {
            Stats::add(&stats.outbox_lost, 1);
            tracing::error!(
                %e,
                lost_total = Stats::get(&stats.outbox_lost),
                "could not store a report: it is lost"
            );
        }
    }
}

impl Agent {
    pub fn new(
        hotspot: Hotspot,
        beacon: BeaconConfig,
        clock: Clock,
        entropy: EntropyStore,
        outbox: Arc<Mutex<Outbox>>,
        new_reports: Arc<Notify>,
        stats: Arc<Stats>,
    ) -> Self {
        Agent {
            hotspot,
            beacon,
            clock,
            entropy,
            outbox,
            new_reports,
            stats,
            rng: StdRng::from_entropy(),
            last_beacon_packet: None,
            conduct: Conduct::default(),
        }
    }

    /// The agent departing from the protocol as `conduct` says (simulated adversaries).
    pub fn with_conduct(mut self, conduct: Conduct) -> Self {
        self.conduct = conduct;
        self
    }

    /// Clock time until the next beacon: the interval plus random jitter.
    fn next_beacon_delay(&mut self, first: bool) -> Duration {
        let jitter = self.rng.gen_range(0..=self.beacon.jitter_secs * 1000);
        let base = if first {
            0
        } else {
            self.beacon.interval_secs * 1000
        };
        self.clock.real(Duration::from_millis(base + jitter))
    }

    fn store(&self, topic: String, payload: Vec<u8>) {
        store_report(
            &self.outbox,
            &self.new_reports,
            &self.stats,
            &topic,
            &payload,
        );
    }

    fn witness(&mut self, rx: &RxPacket) {
        if self.last_beacon_packet.as_deref() == Some(rx.payload.as_slice()) {
            return; // our own beacon
        }
        let Some(report) = witness_report(&self.hotspot, rx) else {
            if let Some(packet) = packet_report(&self.hotspot.key, rx) {
                self.store(
                    topics::packets(&self.hotspot.key.public()),
                    packet.encode_to_vec(),
                );
                Stats::add(&self.stats.packets, 1);
            }
            return;
        };
        tracing::debug!(rssi = rx.rssi_ddbm, snr = rx.snr_ddb, "witnessed a beacon");
        self.store(
            topics::witnesses(&self.hotspot.key.public()),
            report.encode_to_vec(),
        );
        Stats::add(&self.stats.witnesses, 1);
    }

    /// Transmits a beacon and reports it; false when no fresh entropy is known.
    async fn beacon(&mut self, radio: &RadioLink) -> bool {
        let now = self.clock.now_ns();
        let Some(entropy) = self.entropy.fresh(now).cloned() else {
            return false;
        };
        let mut local_entropy = vec![0u8; LOCAL_ENTROPY_LEN];
        self.rng.fill_bytes(&mut local_entropy);
        let key = self.hotspot.key.public();
        let packet = beacon::derive_packet(entropy.id, &entropy.data, &local_entropy, &key);
        let region = self.hotspot.region;
        let channel = region.channels_hz[self.rng.gen_range(0..region.channels_hz.len())];
        let tx = TxPacket {
            payload: packet.to_vec(),
            frequency_hz: channel,
            data_rate: region.beacon_data_rate,
            power_ddbm: region.beacon_tx_power_ddbm(self.hotspot.gain_ddbi),
        };
        self.last_beacon_packet = Some(tx.payload.clone());
        match radio.transmit(tx.clone()).await {
            Ok(receipt) => {
                let report = BeaconReport {
                    entropy_id: entropy.id,
                    entropy_data: entropy.data.clone(),
                    local_entropy,
                    payload: tx.payload,
                    frequency_hz: tx.frequency_hz,
                    data_rate: tx.data_rate as i32,
                    tx_power_ddbm: receipt.power_ddbm - self.conduct.understate_power_ddb,
                    timestamp_ns: receipt.at_ns,
                    location: self.hotspot.location.clone(),
                    ..Default::default()
                }
                .signed(&self.hotspot.key);
                if self.conduct.hold_beacons_secs > 0 {
                    let hold = self
                        .clock
                        .real(Duration::from_secs(self.conduct.hold_beacons_secs));
                    let (outbox, notify, stats) = (
                        self.outbox.clone(),
                        self.new_reports.clone(),
                        self.stats.clone(),
                    );
                    tokio::spawn(async move {
                        tokio::time::sleep(hold).await;
                        let payload = report.encode_to_vec();
                        store_report(&outbox, &notify, &stats, &topics::beacons(&key), &payload);
                    });
                } else {
                    self.store(topics::beacons(&key), report.encode_to_vec());
                }
                Stats::add(&self.stats.beacons, 1);
                tracing::info!(
                    entropy = entropy.id,
                    frequency = tx.frequency_hz,
                    "beaconed"
                );
            }
            Err(e) => {
                // Not sent, so not reported: the oracle only hears of beacons that went out.
                Stats::add(&self.stats.tx_errors, 1);
                tracing::warn!(%e, "beacon not transmitted");
            }
        }
        true
    }

    fn accept_entropy(&mut self, bytes: &[u8]) {
        match self.entropy.accept(bytes, self.clock.now_ns()) {
            Ok(e) => {
                Stats::add(&self.stats.entropy_accepted, 1);
                tracing::debug!(id = e.id, "new oracle entropy");
            }
            Err(e) => {
                Stats::add(&self.stats.entropy_rejected, 1);
                // Several oracles publish on one retained topic: an older one arriving after a
                // newer is routine, not a problem.
                if matches!(e, crate::entropy::EntropyRejected::NotNewer(..)) {
                    tracing::debug!(reason = %e, "ignored an older entropy message");
                } else {
                    tracing::warn!(reason = %e, len = bytes.len(), "ignored an entropy message");
                }
            }
        }
    }

    /// Runs until `shutdown` is cancelled.
    pub async fn run(
        mut self,
        mut radio: RadioLink,
        mut entropy: mpsc::Receiver<Vec<u8>>,
        shutdown: CancellationToken,
    ) {
        let timer = tokio::time::sleep(self.next_beacon_delay(true));
        tokio::pin!(timer);
        // A beacon that fell due while no fresh entropy was known goes out when entropy comes.
        let mut due = false;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = &mut timer, if self.beacon.enabled && !due => {
                    if !self.beacon(&radio).await {
                        Stats::add(&self.stats.beacons_waiting_for_entropy, 1);
                        tracing::info!("beacon due, waiting for fresh oracle entropy");
                        due = true;
                    }
                    let delay = self.next_beacon_delay(false);
                    timer.as_mut().reset(tokio::time::Instant::now() + delay);
                }
                message = entropy.recv() => {
                    let Some(bytes) = message else { break };
                    self.accept_entropy(&bytes);
                    if due && self.beacon(&radio).await {
                        due = false;
                        // The interval runs from the beacon actually sent.
                        let delay = self.next_beacon_delay(false);
                        timer.as_mut().reset(tokio::time::Instant::now() + delay);
                    }
                }
                packet = radio.received.recv() => {
                    let Some(rx) = packet else { break };
                    self.witness(&rx);
                }
            }
        }
    }
}
