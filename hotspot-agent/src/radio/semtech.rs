//! A real LoRa concentrator through the Semtech UDP packet-forwarder protocol (GWMP), the
//! protocol `lora_pkt_fwd` speaks. The agent is the "server" the forwarder pushes to: received
//! packets arrive as `rxpk` in PUSH_DATA, beacons leave as a `txpk` in PULL_RESP to the
//! forwarder that last sent PULL_DATA, and the forwarder's TX_ACK says whether it was sent.
//! The wire format is the `semtech-udp` crate's.

use std::{net::SocketAddr, str::FromStr, time::Duration};

use hexproof_proto::v1::DataRate;
use semtech_udp::{
    CodingRate, MacAddress, Modulation,
    pull_resp::{PhyData, Time, TxPk},
    push_data::{CRC, RxPk},
    server_runtime::{Event, UdpRuntime},
    tx_ack,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Radio, RadioLink, RxPacket, TxError, TxPacket, TxReceipt};
use hexproof_proto::clock::Clock;

/// A concentrator behind a packet forwarder, reached over UDP.
#[derive(Debug)]
pub struct SemtechUdp {
    runtime: UdpRuntime,
    clock: Clock,
    tx_timeout: Duration,
}

impl SemtechUdp {
    /// Binds the UDP port the packet forwarder sends to (`server_address`/`serv_port_up` in its
    /// `global_conf.json`).
    pub async fn bind(
        listen: SocketAddr,
        clock: Clock,
        tx_timeout: Duration,
    ) -> std::io::Result<Self> {
        let runtime = UdpRuntime::new(listen)
            .await
            .map_err(|e| std::io::Error::other(format!("binding {listen}: {e}")))?;
        Ok(SemtechUdp {
            runtime,
            clock,
            tx_timeout,
        })
    }
}

/// Converts a forwarder's `rxpk` into a received packet; `None` for packets that failed their
/// CRC or carry an unknown data rate.
pub fn rx_packet(rxpk: &RxPk, received_ns: u64) -> Option<RxPacket> {
    if !matches!(rxpk.crc_status(), CRC::OK) {
        return None;
    }
    let data_rate = DataRate::from_str_name(&rxpk.datarate().to_string())?;
    let frequency = rxpk.frequency();
    if !frequency.is_finite() || frequency <= 0.0 || frequency > 10_000.0 {
        return None;
    }
    // GPS-disciplined forwarders stamp packets with UTC; otherwise the host clock at arrival.
    let timestamp_ns = rxpk
        .time()
        .as_deref()
        .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(received_ns, |d| d.as_nanos() as u64);
    let rssi = rxpk.signal_rssi().unwrap_or_else(|| rxpk.channel_rssi());
    let snr = rxpk.snr();
    Some(RxPacket {
        payload: rxpk.data().clone(),
        timestamp_ns,
        frequency_hz: (frequency * 1e6).round() as u64,
        data_rate,
        rssi_ddbm: rssi.saturating_mul(10),
        snr_ddb: if snr.is_finite() {
            (snr * 10.0).round() as i32
        } else {
            i32::MIN
        },
    })
}

/// The `txpk` for a beacon: sent immediately, non-inverted polarity (so other hotspots,
/// listening for uplinks, hear it), coding rate 4/5, 8-symbol preamble.
pub fn tx_pk(packet: &TxPacket) -> Option<TxPk> {
    Some(TxPk {
        time: Time::immediate(),
        freq: packet.frequency_hz as f64 / 1e6,
        rfch: 0,
        powe: u64::try_from(packet.power_ddbm / 10).ok()?,
        modu: Modulation::LORA,
        datr: semtech_udp::DataRate::from_str(packet.data_rate.as_str_name()).ok()?,
        codr: Some(CodingRate::_4_5),
        fdev: None,
        ipol: false,
        prea: Some(8),
        data: PhyData::new(packet.payload.clone()),
        ncrc: None,
    })
}

fn tx_result(
    result: semtech_udp::server_runtime::Result<Option<u32>>,
    at_ns: u64,
    power_ddbm: i32,
) -> Result<TxReceipt, TxError> {
    use semtech_udp::server_runtime::Error;
    match result {
        Ok(_) => Ok(TxReceipt { at_ns, power_ddbm }),
        // Sent, at a power the concentrator chose.
        Err(Error::Ack(tx_ack::Error::AdjustedTransmitPower(power, _))) => Ok(TxReceipt {
            at_ns,
            power_ddbm: power.map_or(power_ddbm, |p| p * 10),
        }),
        Err(Error::Ack(e)) => Err(TxError::Refused(e.to_string())),
        Err(Error::SendTimeout) => Err(TxError::Timeout),
        Err(e) => Err(TxError::Refused(e.to_string())),
    }
}

impl Radio for SemtechUdp {
    fn start(self, shutdown: CancellationToken) -> RadioLink {
        let (inbox, received) = mpsc::channel(256);
        let (transmit, mut requests) = mpsc::channel::<super::TxRequest>(4);
        let (mut rx, mut tx) = self.runtime.split();
        let clock = self.clock;
        let timeout = self.tx_timeout;
        tokio::spawn(async move {
            let mut forwarder: Option<MacAddress> = None;
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    event = rx.recv() => match event {
                        Event::PacketReceived(rxpk, _) => {
                            match rx_packet(&rxpk, clock.now_ns()) {
                                Some(packet) => {
                                    if inbox.try_send(packet).is_err() {
                                        tracing::warn!("agent busy: dropped a received packet");
                                    }
                                }
                                None => tracing::debug!("ignored an rxpk (CRC or data rate)"),
                            }
                        }
                        Event::NewClient((mac, addr)) | Event::UpdateClient((mac, addr)) => {
                            tracing::info!(%mac, %addr, "packet forwarder connected");
                            forwarder = Some(mac);
                        }
                        Event::ClientDisconnected((mac, addr)) => {
                            tracing::warn!(%mac, %addr, "packet forwarder went silent");
                            if forwarder == Some(mac) {
                                forwarder = None;
                            }
                        }
                        Event::UnableToParseUdpFrame(error, frame) => {
                            tracing::warn!(%error, len = frame.len(), "ignored an unparseable UDP datagram");
                        }
                        Event::StatReceived(..) => {}
                        Event::NoClientWithMac(..) => tracing::warn!("downlink for an unknown forwarder"),
                    },
                    request = requests.recv() => {
                        let Some((packet, done)) = request else { break };
                        let Some(mac) = forwarder else {
                            let _ = done.send(Err(TxError::NoConcentrator));
                            continue;
                        };
                        let Some(txpk) = tx_pk(&packet) else {
                            let _ = done.send(Err(TxError::Refused("packet not representable as txpk".into())));
                            continue;
                        };
                        // Wait for the TX_ACK off the receive loop, so reception goes on.
                        let downlink = tx.prepare_downlink(Some(txpk), mac);
                        let power = packet.power_ddbm;
                        tokio::spawn(async move {
                            let at_ns = clock.now_ns();
                            let result = downlink.dispatch(Some(timeout)).await;
                            let _ = done.send(tx_result(result, at_ns, power));
                        });
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

    fn rxpk(json: &str) -> RxPk {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn rxpk_becomes_a_received_packet() {
        let p = rxpk(
            r#"{"chan":2,"codr":"4/5","data":"SFgBAgM=","datr":"SF9BW125","freq":867.1,
            "lsnr":-3.5,"modu":"LORA","rfch":0,"rssi":-104,"size":6,"stat":1,"tmst":1000}"#,
        );
        let rx = rx_packet(&p, 77).unwrap();
        assert_eq!(rx.payload, vec![b'H', b'X', 1, 2, 3]);
        assert_eq!(rx.frequency_hz, 867_100_000);
        assert_eq!(rx.data_rate, DataRate::Sf9bw125);
        assert_eq!(
            (rx.rssi_ddbm, rx.snr_ddb, rx.timestamp_ns),
            (-1040, -35, 77)
        );
    }

    #[test]
    fn gps_time_is_used_when_present_and_bad_crc_is_dropped() {
        let p = rxpk(
            r#"{"chan":2,"codr":"4/5","data":"AA==","datr":"SF7BW125","freq":868.1,
            "lsnr":5.0,"modu":"LORA","rfch":0,"rssi":-80,"size":1,"stat":1,"tmst":1,
            "time":"2026-01-02T03:04:05.000006Z"}"#,
        );
        assert_eq!(
            rx_packet(&p, 0).unwrap().timestamp_ns,
            1_767_323_045_000_006_000
        );
        let bad = rxpk(
            r#"{"chan":2,"codr":"4/5","data":"AA==","datr":"SF7BW125","freq":868.1,
            "lsnr":5.0,"modu":"LORA","rfch":0,"rssi":-80,"size":1,"stat":-1,"tmst":1}"#,
        );
        assert!(rx_packet(&bad, 0).is_none());
    }

    #[test]
    fn beacon_becomes_an_immediate_txpk() {
        let txpk = tx_pk(&TxPacket {
            payload: vec![1, 2, 3],
            frequency_hz: 868_300_000,
            data_rate: DataRate::Sf9bw125,
            power_ddbm: 140,
        })
        .unwrap();
        let json = serde_json::to_value(&txpk).unwrap();
        assert_eq!(json["imme"], true);
        assert_eq!(json["freq"], 868.3);
        assert_eq!(json["powe"], 14);
        assert_eq!(json["datr"], "SF9BW125");
        assert_eq!(json["ipol"], false);
        assert_eq!(json["data"], "AQID");
    }
}
