//! An MQTT-only witness farm, for simulations (an adversary, not a hotspot): no radio. It
//! subscribes to every hotspot's beacon topic and publishes, for each beacon it sees, a witness
//! signed by its key that copies the beacon's payload, frequency and data rate, stamped 2 ms
//! after it, with a made-up signal. Against a broker without an ACL every per-report rule would
//! pass; the production ACL and the demo's gate refuse a hotspot identity the beacon topics, so
//! it sees nothing and publishes nothing.

use std::{sync::Arc, time::Duration};

use hexproof_proto::{
    Keypair, Signed, topics,
    v1::{BeaconReport, WitnessReport},
};
use prost::Message;
use rumqttc::{AsyncClient, Event, Packet, QoS};
use tokio_util::sync::CancellationToken;

use crate::{mqtt::MqttConfig, stats::Stats};

/// Runs the farm's one key until `shutdown`; counts the witnesses it publishes in `stats`.
pub async fn run(
    key: Keypair,
    location: Option<h3o::CellIndex>,
    mqtt: MqttConfig,
    stats: Arc<Stats>,
    shutdown: CancellationToken,
) {
    // It reveals its registered cell like any hotspot: its reports are judged on it.
    let location = location.map(|cell| hexproof_proto::location::reveal(&key, cell));
    let options = match mqtt.options(&hexproof_proto::login::hotspot_client_id(&key.public())) {
        Ok(o) => o,
        Err(e) => return tracing::error!(%e, "witness farm: MQTT settings"),
    };
    let login = mqtt.signed_login(&key);
    let (client, mut events) = AsyncClient::new(options, 64);
    loop {
        if let Some(login) = &login {
            login.refresh(&mut events);
        }
        let event = tokio::select! {
            () = shutdown.cancelled() => break,
            event = events.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                let _ = client.try_subscribe(topics::BEACONS_FILTER, QoS::AtLeastOnce);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let Ok(b) = BeaconReport::decode(p.payload.as_ref()) else {
                    continue;
                };
                let witness = WitnessReport {
                    payload: b.payload,
                    timestamp_ns: b.timestamp_ns.saturating_add(2_000_000),
                    frequency_hz: b.frequency_hz,
                    data_rate: b.data_rate,
                    rssi_ddbm: -1_000,
                    snr_ddb: 50,
                    location: location.clone(),
                    ..Default::default()
                }
                .signed(&key);
                let topic = topics::witnesses(&key.public());
                if client
                    .try_publish(topic, QoS::AtLeastOnce, false, witness.encode_to_vec())
                    .is_ok()
                {
                    Stats::add(&stats.witnesses, 1);
                }
            }
            Ok(_) => {}
            Err(e) => {
                // Refused or cut off (the gate drops a client that asks for beacon topics).
                tracing::debug!(%e, "witness farm: connection ended");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}
