//! The entropy service: on a schedule, draws 32 random bytes, signs them as an `Entropy`
//! message, stores it (the history beacons are checked against) and publishes it on
//! `hexproof/v1/entropy` as a retained message, so an agent that connects gets the newest one.
//!
//! In an oracle set every member publishes its own entropy on the same topic, and records what
//! the others publish (signed by a member, checked here): a beacon built on any member's
//! entropy is judged the same by all. Ids are unique across the set: the publication time in
//! milliseconds shifted left by 8 bits, the member's position in the set in the low byte.
//!
//! It publishes over an MQTT connection of its own (client id
//! `hexproof-oracle-<key>-entropy`, clean session): entropy lives for minutes, and must not
//! queue behind the acknowledgements of a busy ingest. A broker that names clients by their
//! certificate (`scripts/broker-ca conf`: mosquitto's `use_username_as_clientid`) would give two
//! connections with one certificate one client id, and each would end the other's session (the
//! clean entropy session would discard ingest's queued reports), so with client certificates
//! this connection needs one of its own (`[entropy] client_cert_file`, `client_key_file`:
//! `scripts/broker-ca issue-oracle`).

use std::{path::PathBuf, time::Duration};

use hexproof_proto::mqtt::{MqttConfig, SignedLogin};
use hexproof_proto::{Keypair, PublicKey, Signed, clock::Clock, topics, v1::Entropy};
use prost::Message;
use rand::RngCore;
use rumqttc::{AsyncClient, EventLoop, QoS};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use hexproof_poc::EntropyRecord;

use crate::{
    config::{ConnectionError, own_connection},
    store::Store,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EntropyConfig {
    /// Seconds between new entropy. Default 60: three overlapping valid ones at any time.
    pub interval_secs: u64,
    /// How long beacons may use one, seconds. Default 180: Helium iot-verifier's
    /// `ENTROPY_LIFESPAN`.
    pub ttl_secs: u32,
    /// The entropy connection's own client certificate and key (PEM), in place of `[mqtt]`'s;
    /// required when `[mqtt]` has a client certificate (see the module documentation).
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
}

impl Default for EntropyConfig {
    fn default() -> Self {
        EntropyConfig {
            interval_secs: 60,
            ttl_secs: 180,
            client_cert_file: None,
            client_key_file: None,
        }
    }
}

impl EntropyConfig {
    /// The entropy connection's settings: `mqtt` with this section's client certificate.
    pub fn connection(&self, mqtt: &MqttConfig) -> Result<MqttConfig, ConnectionError> {
        own_connection(
            "entropy",
            mqtt,
            &self.client_cert_file,
            &self.client_key_file,
        )
    }
}

/// The id of entropy published at `now_ns` by the set member at `index`, after `previous`
/// (its own newest): unique across the set, increasing for each member.
pub fn entropy_id(now_ns: u64, index: u8, previous: u64) -> u64 {
    let id = ((now_ns / 1_000_000) << 8) | u64::from(index);
    if id > previous {
        id
    } else {
        // A clock that went back: the next id of this member after its newest.
        (((previous >> 8) + 1).min(u64::MAX >> 8) << 8) | u64::from(index)
    }
}

/// A new signed entropy message with id `id`.
pub fn make(key: &Keypair, id: u64, now_ns: u64, ttl_secs: u32) -> (EntropyRecord, Entropy) {
    let mut data = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut data);
    let record = EntropyRecord {
        id,
        data: data.clone(),
        timestamp_ns: now_ns,
        ttl_secs,
    };
    let message = Entropy {
        id: record.id,
        data,
        timestamp_ns: now_ns,
        ttl_secs,
        ..Default::default()
    }
    .signed(key);
    (record, message)
}

/// Records entropy another member of the set published, when it is signed by one.
/// A member's entropy message, checked: it decodes, is signed by a member of the (sorted) `set`,
/// and its id is that member's ([`hexproof_proto::entropy::check_id`]). Otherwise the reason, a
/// metric label.
pub fn member_entropy(
    message: &[u8],
    set: &[PublicKey],
) -> Result<(PublicKey, Entropy), &'static str> {
    let e = Entropy::decode(message).map_err(|_| "undecodable")?;
    let signer = e.verify().map_err(|_| "bad_signature")?;
    if !set.contains(&signer) {
        return Err("not_a_member");
    }
    hexproof_proto::entropy::check_id(&e, &signer, set).map_err(|f| f.reason())?;
    Ok((signer, e))
}

/// Stores an entropy message another member of `set` published (not `me`'s own).
async fn record_peer_entropy(store: &Store, set: &[PublicKey], me: &PublicKey, payload: &[u8]) {
    match member_entropy(payload, set) {
        Ok((signer, _)) if signer == *me => {}
        Ok((_, e)) => {
            let record = EntropyRecord {
                id: e.id,
                data: e.data.clone(),
                timestamp_ns: e.timestamp_ns,
                ttl_secs: e.ttl_secs,
            };
            if let Err(err) = store.insert_entropy(&record, payload).await {
                tracing::warn!(%err, "storing a peer's entropy");
            }
        }
        Err(reason) => {
            metrics::counter!("hexproof_entropy_refused_total", "reason" => reason).increment(1);
        }
    }
}

async fn drive(
    client: AsyncClient,
    mut eventloop: EventLoop,
    login: Option<SignedLogin>,
    store: Store,
    set: Vec<PublicKey>,
    me: PublicKey,
    shutdown: CancellationToken,
) {
    use rumqttc::{Event, Packet};
    let mut failures = 0u32;
    loop {
        if let Some(login) = &login {
            login.refresh(&mut eventloop);
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) if set.len() > 1 => {
                    failures = 0;
                    if let Err(e) = client.try_subscribe(topics::ENTROPY, QoS::AtLeastOnce) {
                        tracing::warn!(%e, "subscribing to the set's entropy");
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    failures = 0;
                    if p.topic == topics::ENTROPY {
                        record_peer_entropy(&store, &set, &me, &p.payload).await;
                    }
                }
                Ok(_) => failures = 0,
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(10) {
                        tracing::warn!(error = %e, "entropy connection; reconnecting");
                    }
                    let delay = Duration::from_millis((200u64 << failures.min(6)).min(10_000));
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            },
        }
    }
}

/// Who publishes: the oracle's key, its position in the oracle set (0 alone) and the other
/// members, whose entropy it records.
#[derive(Debug, Clone)]
pub struct Publisher {
    pub key: Keypair,
    /// The oracle set, sorted, this oracle included (its position is its ids' low byte).
    pub set: Vec<PublicKey>,
}

/// Publishes entropy until `shutdown`. Stores each before publishing it, so nothing a hotspot
/// can use is missing from the history.
pub async fn run(
    publisher: Publisher,
    store: Store,
    mqtt: MqttConfig,
    config: EntropyConfig,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let Publisher { key, mut set } = publisher;
    let me = key.public();
    if !set.contains(&me) {
        set = vec![me];
    }
    let index = set.iter().position(|k| *k == me).unwrap_or(0) as u8;
    let client_id = hexproof_proto::login::oracle_entropy_client_id(&key.public());
    let options = config
        .connection(&mqtt)
        .map_err(|e| e.to_string())
        .and_then(|mqtt| mqtt.options(&client_id).map_err(|e| e.to_string()));
    let (client, eventloop) = match options {
        Ok(options) => AsyncClient::new(options, 16),
        Err(e) => {
            tracing::error!(%e, "entropy connection settings; no entropy will be published");
            return;
        }
    };
    let driver = tokio::spawn(drive(
        client.clone(),
        eventloop,
        mqtt.signed_login(&key),
        store.clone(),
        set,
        me,
        shutdown.clone(),
    ));
    let interval = clock.real(Duration::from_secs(config.interval_secs.max(1)));
    loop {
        let now = clock.now_ns();
        let latest = match store.latest_entropy_of(index).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(%e, "reading entropy history");
                None
            }
        };
        // Re-announce the newest when it is younger than the interval (a restart), else make one.
        let fresh = latest.as_ref().filter(|(e, _)| {
            now.saturating_sub(e.timestamp_ns) < config.interval_secs * 1_000_000_000
        });
        let (message, wait) = match fresh {
            Some((e, bytes)) => {
                let age = Duration::from_nanos(now.saturating_sub(e.timestamp_ns));
                (bytes.clone(), interval.saturating_sub(clock.real(age)))
            }
            None => {
                let previous = latest.map_or(0, |(e, _)| e.id);
                let id = entropy_id(now, index, previous);
                let (record, message) = make(&key, id, now, config.ttl_secs);
                let bytes = message.encode_to_vec();
                if let Err(e) = store.insert_entropy(&record, &bytes).await {
                    tracing::error!(%e, "storing entropy; not publishing it");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
                metrics::counter!("hexproof_entropy_published_total").increment(1);
                tracing::debug!(id = record.id, "new entropy");
                (bytes, interval)
            }
        };
        let next = tokio::time::Instant::now() + wait.max(Duration::from_millis(10));
        // Never wait on the connection (at shutdown nobody drives it any more): a full request
        // queue is retried until the next entropy is due.
        let mut failures = 0u32;
        while let Err(e) =
            client.try_publish(topics::ENTROPY, QoS::AtLeastOnce, true, message.clone())
        {
            failures += 1;
            if failures == 1 {
                metrics::counter!("hexproof_entropy_publish_retries_total").increment(1);
                tracing::warn!(%e, "publishing entropy; retrying");
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            if tokio::time::Instant::now() >= next {
                break;
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep_until(next) => {}
        }
    }
    let _ = driver.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With client certificates, ingest and entropy connect under identities of their own.
    #[test]
    fn the_entropy_connection_has_a_certificate_of_its_own() {
        let plain = MqttConfig::default();
        let config = EntropyConfig::default();
        assert_eq!(config.connection(&plain), Ok(plain.clone()));
        let tls = MqttConfig {
            url: "mqtts://broker:8883".into(),
            client_cert_file: Some("oracle.pem".into()),
            client_key_file: Some("oracle.key".into()),
            ..MqttConfig::default()
        };
        assert_eq!(
            config.connection(&tls),
            Err(ConnectionError::SharedCertificate("entropy"))
        );
        let own = EntropyConfig {
            client_cert_file: Some("oracle-entropy.pem".into()),
            client_key_file: Some("oracle-entropy.key".into()),
            ..EntropyConfig::default()
        };
        let c = own.connection(&tls).unwrap();
        assert_eq!(
            (c.client_cert_file, c.client_key_file, c.url),
            (
                Some("oracle-entropy.pem".into()),
                Some("oracle-entropy.key".into()),
                tls.url.clone()
            )
        );
        let half = EntropyConfig {
            client_key_file: None,
            ..own
        };
        assert_eq!(
            half.connection(&tls),
            Err(ConnectionError::HalfCertificate("entropy"))
        );
    }
}
