//! The demo's network server: what a route's LoRaWAN network server (ChirpStack, say) does
//! with the copies the router forwards, reduced to checking them. It takes Semtech UDP
//! PUSH_DATA on loopback, answers PUSH_ACK, and passes each frame to
//! [`hexproof_fixtures::devices::NetworkServer`], which holds the demo devices' keys: a frame is
//! delivered only if its MIC holds, its counter moved forward and its payload decrypts. Copies
//! of a frame already delivered (other hotspots heard it too) are counted as copies.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use hexproof_fixtures::devices::{Device, NetworkServer};
use semtech_udp::SerializablePacket;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

/// What the network server saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LnsCounts {
    /// Frames delivered: MIC, counter and payload checked.
    pub delivered: u64,
    /// Copies received (every hotspot's, the first included).
    pub copies: u64,
    /// Frames it refused (a MIC that does not hold, an old counter that is not a copy).
    pub refused: u64,
}

/// Starts the network server for `devices` on a loopback port; stops at `shutdown`.
pub async fn start(
    devices: Vec<Device>,
    shutdown: CancellationToken,
) -> anyhow::Result<(u16, Arc<Mutex<LnsCounts>>)> {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let port = socket.local_addr()?.port();
    let counts = Arc::new(Mutex::new(LnsCounts::default()));
    let shared = counts.clone();
    tokio::spawn(async move {
        let mut ns = NetworkServer::new(devices);
        let mut delivered: HashSet<[u8; 32]> = HashSet::new();
        let mut buffer = vec![0u8; 65_536];
        loop {
            let (n, from) = tokio::select! {
                () = shutdown.cancelled() => break,
                r = socket.recv_from(&mut buffer) => match r {
                    Ok(r) => r,
                    Err(_) => continue,
                },
            };
            let Ok(semtech_udp::Up::PushData(push)) =
                semtech_udp::Packet::parse_uplink(&buffer[..n])
            else {
                continue;
            };
            for rxpk in push.data.rxpk.iter().flatten() {
                let frame = rxpk.data();
                let hash: [u8; 32] = Sha256::digest(frame).into();
                let mut c = shared.lock().unwrap_or_else(|e| e.into_inner());
                c.copies += 1;
                if delivered.contains(&hash) {
                    continue;
                }
                match ns.receive(frame) {
                    Ok(_) => {
                        delivered.insert(hash);
                        c.delivered += 1;
                    }
                    Err(e) => {
                        tracing::warn!(%e, "network server: a frame refused");
                        c.refused += 1;
                    }
                }
            }
            let mut ack = vec![0u8; 64];
            if let Ok(n) = push.into_ack().serialize(&mut ack) {
                let _ = socket.send_to(&ack[..n as usize], from).await;
            }
        }
    });
    Ok((port, counts))
}
