//! Swarm mode: every hotspot of a fixture network as its own agent in one process, on one
//! simulated radio medium, each with its own key, outbox and MQTT connection (what separate
//! machines would do), for demos, load tests and attack scenarios.
//!
//! Each fixture [`Behaviour`] maps to the radio and conduct that plays it: replayers and
//! forging relays hear through [`Hearing`], a key farm's keys share one radio, a ring's members
//! sit on a private medium (no RF, measurements forged from the model), witness-only hotspots
//! never beacon, griefers understate their power, delayed beaconers hold their reports back;
//! dormant keys never run and MQTT-only witness farms run [`crate::witness_farm`] instead of a
//! hotspot.

use hexproof_proto::clock::Clock;
use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use hexproof_fixtures::{Behaviour, Network};
use hexproof_proto::{PublicKey, region::RegionPlan};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    agent::{Conduct, Hotspot},
    config::{BeaconConfig, OutboxConfig},
    mqtt::MqttConfig,
    node::{self, NodeConfig},
    radio::sim::{Hearing, MediumModel, Placement, SimMedium},
    stats::Stats,
};

#[derive(Debug, Clone)]
pub struct SwarmConfig {
    pub network: Network,
    /// Broker settings shared by every hotspot (each opens its own connection).
    pub mqtt: MqttConfig,
    /// Each hotspot's outbox lives in `<state_dir>/<pubkey>`.
    pub state_dir: PathBuf,
    pub beacon: BeaconConfig,
    /// Oracles whose entropy the hotspots accept; the network's own when empty.
    pub oracles: Vec<PublicKey>,
    pub clock: Clock,
    pub medium: MediumModel,
    pub medium_seed: u64,
    /// Flush each report to disk (slow with hundreds of hotspots; off by default for swarms).
    pub sync: bool,
    /// Record the id of every acknowledged report ([`Swarm::acknowledged_ids`]).
    pub record_acks: bool,
    /// LoRaWAN devices on the medium (none by default) and how they send.
    pub devices: Vec<hexproof_fixtures::devices::Placed>,
    pub device_config: crate::devices::DeviceConfig,
}

impl SwarmConfig {
    /// Every hotspot of `network` through the broker at `broker_url`, beaconing every
    /// `beacon_interval_secs` (± a fifth), on the default medium, the network's own oracles,
    /// reconnecting after 100 ms to 1 s, outboxes not flushed per report.
    pub fn simulated(
        network: Network,
        broker_url: &str,
        state_dir: PathBuf,
        clock: Clock,
        beacon_interval_secs: u64,
    ) -> SwarmConfig {
        SwarmConfig {
            network,
            mqtt: MqttConfig {
                url: broker_url.to_string(),
                reconnect_min_ms: 100,
                reconnect_max_ms: 1_000,
                ..Default::default()
            },
            state_dir,
            beacon: BeaconConfig {
                enabled: true,
                interval_secs: beacon_interval_secs,
                jitter_secs: beacon_interval_secs / 5,
            },
            oracles: vec![],
            clock,
            medium: MediumModel::default(),
            medium_seed: 1,
            sync: false,
            record_acks: true,
            devices: Vec::new(),
            device_config: crate::devices::DeviceConfig::default(),
        }
    }
}

/// Running hotspots.
#[derive(Debug)]
pub struct Swarm {
    pub hotspots: Vec<(PublicKey, Arc<Stats>)>,
    /// What the devices sent.
    pub devices: Arc<crate::devices::DeviceStats>,
    pub tasks: JoinSet<()>,
}

/// Sums over all hotspots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub hotspots: usize,
    pub connected: usize,
    pub beacons: u64,
    pub witnesses: u64,
    /// Device uplinks heard and reported.
    pub packets: u64,
    pub published: u64,
    pub pending: u64,
    /// Reports dropped from full outboxes.
    pub dropped: u64,
    /// Reports that could not be written to an outbox (disk full): lost.
    pub lost: u64,
    pub waiting_for_entropy: u64,
}

impl Totals {
    /// Sums the counters of `stats` (one per hotspot).
    pub fn of<'a>(stats: impl IntoIterator<Item = &'a Stats>) -> Totals {
        let mut t = Totals::default();
        for s in stats {
            t.hotspots += 1;
            t.connected += usize::from(s.connected.load(std::sync::atomic::Ordering::Relaxed));
            t.beacons += Stats::get(&s.beacons);
            t.witnesses += Stats::get(&s.witnesses);
            t.packets += Stats::get(&s.packets);
            t.published += Stats::get(&s.published);
            t.pending += Stats::get(&s.outbox_pending);
            t.dropped += Stats::get(&s.outbox_dropped);
            t.lost += Stats::get(&s.outbox_lost);
            t.waiting_for_entropy += Stats::get(&s.beacons_waiting_for_entropy);
        }
        t
    }
}

impl Swarm {
    pub fn start(config: SwarmConfig, shutdown: &CancellationToken) -> anyhow::Result<Swarm> {
        let medium = SimMedium::new(config.medium, config.clock, config.medium_seed);
        // A ring has no radio: its members reach each other over MQTT only, on a medium of
        // their own where each "hears" the others as the path-loss model says from their
        // asserted places by the textbook law, with no shadowing or fading (forged
        // measurements).
        let mut rings: std::collections::BTreeMap<u32, SimMedium> = Default::default();
        let oracles = if config.oracles.is_empty() {
            config.network.oracles.iter().map(|o| o.pubkey).collect()
        } else {
            config.oracles.clone()
        };
        let mut tasks = JoinSet::new();
        let mut hotspots = Vec::new();
        for h in &config.network.hotspots {
            if h.behaviour == Behaviour::Dormant {
                continue; // registered, never runs
            }
            let key = h.key.keypair()?;
            let region = RegionPlan::by_name(&h.region)
                .with_context(|| format!("hotspot {}: unknown region {}", h.name, h.region))?;
            // With `mqtt.login_broker` (the demo's gated broker), each logs in with its key.
            let mqtt = config.mqtt.clone();
            if h.behaviour == Behaviour::MqttWitnessFarm {
                let stats = Arc::new(Stats::default());
                let location = h.asserted_location.parse().ok();
                tasks.spawn(crate::witness_farm::run(
                    key,
                    location,
                    mqtt,
                    stats.clone(),
                    shutdown.clone(),
                ));
                hotspots.push((h.key.pubkey, stats));
                continue;
            }
            let placement = Placement {
                hearing: match h.behaviour {
                    Behaviour::BeaconReplayer => Hearing::ReplaysEverything,
                    Behaviour::ForgingRelay => Hearing::ForgingRelay,
                    _ => Hearing::Physical,
                },
                radio: h.group.filter(|_| h.behaviour == Behaviour::KeyFarm),
                elevation_m: h.elevation_m,
                site_loss_ddb: h.site_loss_ddb,
                ..Placement::at(
                    h.true_lat_e7 as f64 / 1e7,
                    h.true_lon_e7 as f64 / 1e7,
                    h.gain_ddbi,
                )
            };
            let radio = match (h.behaviour, h.group) {
                (Behaviour::Ring, Some(ring)) => {
                    let seed = config.medium_seed ^ (u64::from(ring) + 1) << 32;
                    let private = config.medium.textbook();
                    rings
                        .entry(ring)
                        .or_insert_with(|| SimMedium::new(private, config.clock, seed))
                        .attach(placement, 256)
                }
                _ => medium.attach(placement, 256),
            };
            let conduct = match h.behaviour {
                Behaviour::Griefer => Conduct {
                    understate_power_ddb: 200,
                    ..Conduct::default()
                },
                Behaviour::DelayedBeaconer => Conduct {
                    hold_beacons_secs: 600,
                    ..Conduct::default()
                },
                _ => Conduct::default(),
            };
            let node = NodeConfig {
                hotspot: Hotspot {
                    location: Some(hexproof_proto::location::reveal(
                        &key,
                        h.asserted_location.parse().with_context(|| {
                            format!("hotspot {}: bad cell {}", h.name, h.asserted_location)
                        })?,
                    )),
                    key,
                    region,
                    gain_ddbi: h.gain_ddbi,
                },
                oracles: oracles.clone(),
                beacon: BeaconConfig {
                    enabled: config.beacon.enabled && h.behaviour != Behaviour::WitnessOnly,
                    ..config.beacon.clone()
                },
                mqtt,
                outbox: OutboxConfig {
                    dir: config.state_dir.join(h.key.pubkey.to_string()),
                    max_reports: 100_000,
                    sync: config.sync,
                },
                clock: config.clock,
                record_acks: config.record_acks,
                conduct,
            };
            let stats = node::spawn(node, radio, &mut tasks, shutdown)?;
            hotspots.push((h.key.pubkey, stats));
        }
        let devices = crate::devices::spawn(
            &config.devices,
            &config.device_config,
            &medium,
            config.clock,
            &mut tasks,
            shutdown,
        );
        Ok(Swarm {
            hotspots,
            devices,
            tasks,
        })
    }

    /// Every report id the broker acknowledged to any hotspot (when recording).
    pub fn acknowledged_ids(&self) -> Vec<[u8; 32]> {
        self.hotspots
            .iter()
            .flat_map(|(_, s)| s.acknowledged_ids())
            .collect()
    }

    pub fn totals(&self) -> Totals {
        Totals::of(self.hotspots.iter().map(|(_, s)| s.as_ref()))
    }

    /// Prints a progress line every `every` until `shutdown`, then waits for every task.
    pub async fn run(mut self, every: Duration, shutdown: CancellationToken) -> Totals {
        let started = Instant::now();
        let mut ticker = tokio::time::interval(every);
        ticker.tick().await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticker.tick() => eprintln!("{}", progress_line(started.elapsed(), &self.totals())),
            }
        }
        while self.tasks.join_next().await.is_some() {}
        let totals = self.totals();
        eprintln!("{}", progress_line(started.elapsed(), &totals));
        totals
    }
}

pub fn progress_line(elapsed: Duration, t: &Totals) -> String {
    format!(
        "[{:>6.1}s] hotspots {}/{} connected | beacons {} | witnesses {} | acked {} | outbox {}{}{}",
        elapsed.as_secs_f64(),
        t.connected,
        t.hotspots,
        t.beacons,
        t.witnesses,
        t.published,
        t.pending,
        if t.dropped + t.lost > 0 {
            format!(" | dropped {} | lost {}", t.dropped, t.lost)
        } else {
            String::new()
        },
        if t.waiting_for_entropy > 0 && t.beacons == 0 {
            " | waiting for oracle entropy"
        } else {
            ""
        }
    )
}
