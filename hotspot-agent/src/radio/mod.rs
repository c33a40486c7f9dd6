//! Radios behind one trait. A backend runs as its own task; the agent talks to it through a
//! [`RadioLink`]: packets it heard come out of `received`, packets to send go in through
//! [`RadioLink::transmit`], which resolves when the radio has sent them (or refused).
//!
//! - [`semtech::SemtechUdp`]: a real LoRa concentrator through the Semtech UDP packet-forwarder
//!   protocol (what `lora_pkt_fwd` speaks).
//! - [`sim::SimRadio`]: a radio on a shared simulated medium with a physical path-loss model.

pub mod semtech;
pub mod sim;

use hexproof_proto::v1::DataRate;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// A packet to transmit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxPacket {
    pub payload: Vec<u8>,
    pub frequency_hz: u64,
    pub data_rate: DataRate,
    /// Conducted power, dBm x 10.
    pub power_ddbm: i32,
}

/// A packet the radio received, with the radio's own measurements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RxPacket {
    pub payload: Vec<u8>,
    /// Reception time, ns since the Unix epoch.
    pub timestamp_ns: u64,
    pub frequency_hz: u64,
    pub data_rate: DataRate,
    pub rssi_ddbm: i32,
    pub snr_ddb: i32,
}

/// What the radio did with a packet it sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxReceipt {
    /// Transmission time, ns since the Unix epoch.
    pub at_ns: u64,
    /// The power really used (a concentrator may lower it), dBm x 10.
    pub power_ddbm: i32,
}

/// Why a transmission did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("no concentrator is connected")]
    NoConcentrator,
    #[error("the concentrator refused the packet: {0}")]
    Refused(String),
    #[error("the concentrator did not acknowledge in time")]
    Timeout,
    #[error("the radio has stopped")]
    Stopped,
}

pub(crate) type TxRequest = (TxPacket, oneshot::Sender<Result<TxReceipt, TxError>>);

/// The agent's side of a running radio.
#[derive(Debug)]
pub struct RadioLink {
    pub received: mpsc::Receiver<RxPacket>,
    transmit: mpsc::Sender<TxRequest>,
}

impl RadioLink {
    pub(crate) fn new(
        received: mpsc::Receiver<RxPacket>,
        transmit: mpsc::Sender<TxRequest>,
    ) -> Self {
        RadioLink { received, transmit }
    }

    /// Sends a packet and waits until the radio has sent it or refused.
    pub async fn transmit(&self, packet: TxPacket) -> Result<TxReceipt, TxError> {
        let (done, result) = oneshot::channel();
        self.transmit
            .send((packet, done))
            .await
            .map_err(|_| TxError::Stopped)?;
        result.await.map_err(|_| TxError::Stopped)?
    }
}

/// A radio backend.
pub trait Radio: Send + 'static {
    /// Starts the backend's task; it stops when `shutdown` is cancelled.
    fn start(self, shutdown: CancellationToken) -> RadioLink;
}
