//! A valid beacon, a valid witness and their context, for rule tests: each test breaks exactly
//! one thing.

use h3o::{LatLng, Resolution};
use hexproof_proto::{
    Keypair, Signed,
    beacon::derive_packet,
    region,
    v1::{BeaconReport, DataRate, WitnessReport},
};

use crate::{EntropyRecord, HotspotInfo};

/// The beacon's timestamp.
pub const T0: u64 = 1_800_000_000_000_000_000;

pub fn beaconer_key() -> Keypair {
    Keypair::from_secret([1; 32])
}

pub fn witness_key() -> Keypair {
    Keypair::from_secret([2; 32])
}

fn info(key: &Keypair, lat: f64, lon: f64) -> HotspotInfo {
    HotspotInfo {
        pubkey: key.public(),
        owner: Keypair::from_secret([9; 32]).public(),
        location: Some(LatLng::new(lat, lon).unwrap().to_cell(Resolution::Twelve)),
        gain_ddbi: 30,
        elevation_m: 5,
        asserted_at_ns: 0,
        region: &region::EU868,
        placement: None,
    }
}

/// In Berlin.
pub fn beaconer_info() -> HotspotInfo {
    info(&beaconer_key(), 52.52, 13.405)
}

/// About 2.2 km north of the beaconer.
pub fn witness_info() -> HotspotInfo {
    info(&witness_key(), 52.54, 13.405)
}

pub fn entropy_record() -> EntropyRecord {
    EntropyRecord {
        id: 7,
        data: vec![0xE7; 32],
        timestamp_ns: T0 - 1_000_000_000,
        ttl_secs: 180,
    }
}

pub fn valid_beacon() -> BeaconReport {
    let e = entropy_record();
    let local = vec![4, 3, 2, 1, 0, 1, 2, 3];
    BeaconReport {
        entropy_id: e.id,
        payload: derive_packet(e.id, &e.data, &local, &beaconer_key().public()).to_vec(),
        entropy_data: e.data,
        local_entropy: local,
        frequency_hz: 868_100_000,
        data_rate: DataRate::Sf9bw125 as i32,
        tx_power_ddbm: 130,
        timestamp_ns: T0,
        ..Default::default()
    }
    .signed(&beaconer_key())
}

pub fn valid_witness() -> WitnessReport {
    WitnessReport {
        payload: valid_beacon().payload,
        timestamp_ns: T0 + 5_000_000,
        frequency_hz: 868_100_000,
        data_rate: DataRate::Sf9bw125 as i32,
        rssi_ddbm: -1100,
        snr_ddb: -50,
        ..Default::default()
    }
    .signed(&witness_key())
}
