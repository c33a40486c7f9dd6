//! LoRaWAN end devices on the simulated medium: the demand side of a simulated network.
//!
//! Each device ([`hexproof_fixtures::devices::Placed`]) sends a real LoRaWAN 1.0 uplink every
//! interval (its frame counter counting up, its payload [`hexproof_fixtures::devices::payload`]
//! encrypted with its AppSKey, its MIC by its NwkSKey) on its region's channels; hotspots hear
//! it through the medium's path loss as they hear beacons, and report it to the router. What
//! each device sent is counted in [`DeviceStats`] so tests and the demo account by identity.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use hexproof_fixtures::devices::{Placed, payload};
use hexproof_proto::{clock::Clock, region::RegionPlan, v1::DataRate};
use tokio_util::sync::CancellationToken;

use crate::radio::{
    Radio, TxPacket,
    sim::{Placement, SimMedium},
};

/// How devices behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Network seconds between a device's uplinks.
    pub interval_secs: u64,
    /// FRMPayload bytes per uplink.
    pub payload_size: usize,
    pub data_rate: DataRate,
    /// Conducted power, dBm x 10 (devices have no antenna gain to speak of).
    pub power_ddbm: i32,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            interval_secs: 300,
            payload_size: 12,
            data_rate: DataRate::Sf9bw125,
            power_ddbm: 140,
        }
    }
}

/// What the devices sent: (DevAddr, frame counter) of every uplink, in order.
#[derive(Debug, Default)]
pub struct DeviceStats {
    sent: Mutex<Vec<(u32, u32)>>,
}

impl DeviceStats {
    pub fn sent(&self) -> Vec<(u32, u32)> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Starts every device on `medium`; they stop at `shutdown`.
pub fn spawn(
    devices: &[Placed],
    config: &DeviceConfig,
    medium: &SimMedium,
    clock: Clock,
    tasks: &mut tokio::task::JoinSet<()>,
    shutdown: &CancellationToken,
) -> Arc<DeviceStats> {
    let stats = Arc::new(DeviceStats::default());
    for (i, placed) in devices.iter().enumerate() {
        // A device only sends: its receive queue is the smallest there is.
        let radio = medium
            .attach(Placement::at(placed.lat, placed.lon, 0), 1)
            .start(shutdown.clone());
        let channels =
            RegionPlan::by_name(&placed.region).map_or(&[868_100_000u64][..], |r| r.channels_hz);
        let (placed, config, stats, shutdown) = (
            placed.clone(),
            config.clone(),
            stats.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move {
            let interval = clock.real(Duration::from_secs(config.interval_secs.max(1)));
            // Devices start spread over the first interval, not all at once.
            let offset = interval.mul_f64((i as f64 * 0.618_034).fract());
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(offset) => {}
            }
            let mut fcnt = 0u32;
            loop {
                let d = &placed.device;
                let frame = d.uplink(
                    fcnt,
                    1,
                    &payload(d.dev_addr, fcnt, config.payload_size),
                    false,
                );
                let packet = TxPacket {
                    payload: frame,
                    frequency_hz: channels[fcnt as usize % channels.len()],
                    data_rate: config.data_rate,
                    power_ddbm: config.power_ddbm,
                };
                if radio.transmit(packet).await.is_ok() {
                    stats
                        .sent
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((d.dev_addr, fcnt));
                }
                fcnt += 1;
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(interval) => {}
                }
            }
        });
    }
    stats
}
