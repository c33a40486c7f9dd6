//! hotspot-agent: the daemon a hotspot owner runs next to a LoRa concentrator (a Raspberry Pi
//! with a concentrator HAT, typically).
//!
//! Data enters from two sides: the radio ([`radio`]: packets it hears, through the Semtech UDP
//! packet forwarder or the simulated medium) and the oracle's signed entropy, a retained MQTT
//! message. It leaves as signed `BeaconReport`s, `WitnessReport`s and `PacketReport`s (device
//! uplinks it heard), which go through the
//! durable on-disk [`outbox`] and are published over MQTT ([`mqtt`]) at QoS 1, deleted only when
//! the broker acknowledges them.
//!
//! - [`agent`]: one hotspot's logic (beacon schedule, witnessing, signing).
//! - [`entropy`]: which oracle entropy is acceptable and fresh.
//! - [`node`]: wires a radio, an agent and an MQTT link into running tasks.
//! - [`swarm`]: every hotspot of a fixture network on one simulated medium, for demos and load.
//! - [`devices`]: LoRaWAN end devices on that medium, whose uplinks hotspots report as packets.
//! - [`config`]: TOML + environment configuration.
//! - [`status`]: the owner's view of the hotspot, from the explorer's JSON API, in plain words.
//! - [`owner`]: the owner's commands (onboard, assert, transfer, accept, claim), paid for by the
//!   hotspot's maker, each message checked before a key signs it.
//! - [`http`]: the HTTP/1.1 client those commands and `status` share.

pub mod agent;
pub mod config;
pub mod devices;
pub mod entropy;
pub mod http;
pub mod mqtt;
pub mod node;
pub mod outbox;
pub mod owner;
pub mod radio;
pub mod stats;
pub mod status;
pub mod swarm;
pub mod witness_farm;
