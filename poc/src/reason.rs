//! Why a report is invalid: one code per rule, stored with every rejected report and shown to
//! the hotspot's owner.

use serde::{Deserialize, Serialize};

/// A rejection reason. The snake_case name ([`Reason::code`]) is what is stored and served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    // Any report, at ingest.
    /// The payload is not a protobuf message of the topic's type.
    Malformed,
    /// The signature does not verify against the signer field.
    BadSignature,
    /// Published under another hotspot's topic than the key that signed it.
    TopicMismatch,

    // Beacons.
    BeaconUnknownHotspot,
    BeaconNoLocation,
    /// The chain holds a commitment to the hotspot's exact cell, and the report does not
    /// reveal a cell and salt that open it.
    BeaconLocationUnrevealed,
    /// The entropy id is not one this oracle published, or the bytes differ.
    BeaconEntropyUnknown,
    /// Sent outside the entropy's validity window.
    BeaconEntropyExpired,
    /// The packet is not the one derived from (entropy, local entropy, hotspot key).
    BeaconPayloadMismatch,
    /// Another valid beacon from the same hotspot is closer in time than the beacon interval.
    BeaconTooFrequent,
    /// Timestamp later than the oracle received it (beyond the allowed clock skew).
    BeaconTimestampFuture,
    /// Timestamp too long before the oracle received it.
    BeaconTimestampStale,
    BeaconBadFrequency,
    BeaconBadDataRate,
    /// Transmit power plus antenna gain above the region's EIRP limit.
    BeaconTxPowerTooHigh,
    /// The same packet was already beaconed.
    BeaconDuplicate,
    /// Witnesses of its packet reached the oracle long before it: the beacon was held back.
    BeaconLate,
    /// The beaconer declares an antenna gain or elevation outside the allowed bounds.
    BeaconAntennaOutOfRange,

    // Witnesses.
    WitnessUnknownHotspot,
    WitnessNoLocation,
    /// As [`Reason::BeaconLocationUnrevealed`], for the witness.
    WitnessLocationUnrevealed,
    /// A hotspot witnessing its own beacon.
    WitnessSelf,
    /// No valid beacon with this packet exists.
    WitnessNoValidBeacon,
    /// The witness arrived after its beacon had been judged.
    WitnessLate,
    /// Received too long before or after the beacon was sent.
    WitnessTimeWindow,
    WitnessFrequencyMismatch,
    WitnessDataRateMismatch,
    /// Inside the beaconer's neighbourhood (same H3 cell at the configured resolution, or
    /// closer than the minimum distance).
    WitnessTooClose,
    /// Farther than the maximum distance.
    WitnessTooFar,
    /// Stronger than free-space propagation allows over the asserted distance.
    WitnessRssiTooHigh,
    /// Failed the RSSI or time rule as most of the beacon's witnesses did: the beacon's stated
    /// power or time is the likelier fault, so it does not count towards fraud suspension.
    WitnessBeaconInconsistent,
    /// Below what the data rate can demodulate.
    WitnessSnrTooLow,
    /// The same hotspot already witnessed this beacon.
    WitnessDuplicate,
    /// The witness's location was asserted too recently.
    WitnessLocationTooRecent,
    WitnessTimestampFuture,
    WitnessTimestampStale,
    /// The witness declares an antenna gain or elevation outside the allowed bounds.
    WitnessAntennaOutOfRange,
}

impl Reason {
    pub const ALL: &'static [Reason] = &[
        Reason::Malformed,
        Reason::BadSignature,
        Reason::TopicMismatch,
        Reason::BeaconUnknownHotspot,
        Reason::BeaconNoLocation,
        Reason::BeaconLocationUnrevealed,
        Reason::BeaconEntropyUnknown,
        Reason::BeaconEntropyExpired,
        Reason::BeaconPayloadMismatch,
        Reason::BeaconTooFrequent,
        Reason::BeaconTimestampFuture,
        Reason::BeaconTimestampStale,
        Reason::BeaconBadFrequency,
        Reason::BeaconBadDataRate,
        Reason::BeaconTxPowerTooHigh,
        Reason::BeaconDuplicate,
        Reason::BeaconLate,
        Reason::BeaconAntennaOutOfRange,
        Reason::WitnessUnknownHotspot,
        Reason::WitnessNoLocation,
        Reason::WitnessLocationUnrevealed,
        Reason::WitnessSelf,
        Reason::WitnessNoValidBeacon,
        Reason::WitnessLate,
        Reason::WitnessTimeWindow,
        Reason::WitnessFrequencyMismatch,
        Reason::WitnessDataRateMismatch,
        Reason::WitnessTooClose,
        Reason::WitnessTooFar,
        Reason::WitnessRssiTooHigh,
        Reason::WitnessBeaconInconsistent,
        Reason::WitnessSnrTooLow,
        Reason::WitnessDuplicate,
        Reason::WitnessLocationTooRecent,
        Reason::WitnessTimestampFuture,
        Reason::WitnessTimestampStale,
        Reason::WitnessAntennaOutOfRange,
    ];

    /// The stored, machine-readable code, e.g. `"witness_rssi_too_high"`.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::BadSignature => "bad_signature",
            Reason::TopicMismatch => "topic_mismatch",
            Reason::BeaconUnknownHotspot => "beacon_unknown_hotspot",
            Reason::BeaconNoLocation => "beacon_no_location",
            Reason::BeaconLocationUnrevealed => "beacon_location_unrevealed",
            Reason::BeaconEntropyUnknown => "beacon_entropy_unknown",
            Reason::BeaconEntropyExpired => "beacon_entropy_expired",
            Reason::BeaconPayloadMismatch => "beacon_payload_mismatch",
            Reason::BeaconTooFrequent => "beacon_too_frequent",
            Reason::BeaconTimestampFuture => "beacon_timestamp_future",
            Reason::BeaconTimestampStale => "beacon_timestamp_stale",
            Reason::BeaconBadFrequency => "beacon_bad_frequency",
            Reason::BeaconBadDataRate => "beacon_bad_data_rate",
            Reason::BeaconTxPowerTooHigh => "beacon_tx_power_too_high",
            Reason::BeaconDuplicate => "beacon_duplicate",
            Reason::BeaconLate => "beacon_late",
            Reason::BeaconAntennaOutOfRange => "beacon_antenna_out_of_range",
            Reason::WitnessUnknownHotspot => "witness_unknown_hotspot",
            Reason::WitnessNoLocation => "witness_no_location",
            Reason::WitnessLocationUnrevealed => "witness_location_unrevealed",
            Reason::WitnessSelf => "witness_self",
            Reason::WitnessNoValidBeacon => "witness_no_valid_beacon",
            Reason::WitnessLate => "witness_late",
            Reason::WitnessTimeWindow => "witness_time_window",
            Reason::WitnessFrequencyMismatch => "witness_frequency_mismatch",
            Reason::WitnessDataRateMismatch => "witness_data_rate_mismatch",
            Reason::WitnessTooClose => "witness_too_close",
            Reason::WitnessTooFar => "witness_too_far",
            Reason::WitnessRssiTooHigh => "witness_rssi_too_high",
            Reason::WitnessBeaconInconsistent => "witness_beacon_inconsistent",
            Reason::WitnessSnrTooLow => "witness_snr_too_low",
            Reason::WitnessDuplicate => "witness_duplicate",
            Reason::WitnessLocationTooRecent => "witness_location_too_recent",
            Reason::WitnessTimestampFuture => "witness_timestamp_future",
            Reason::WitnessTimestampStale => "witness_timestamp_stale",
            Reason::WitnessAntennaOutOfRange => "witness_antenna_out_of_range",
        }
    }

    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.iter().copied().find(|r| r.code() == code)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A rejection: the reason and a sentence for the owner with the numbers involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub reason: Reason,
    pub detail: String,
}

impl Invalid {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Invalid {
            reason,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut codes: Vec<_> = Reason::ALL.iter().map(|r| r.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Reason::ALL.len());
        for r in Reason::ALL {
            assert_eq!(Reason::from_code(r.code()), Some(*r));
            // serde's name and the stored code agree.
            assert_eq!(
                serde_json::to_string(r).unwrap(),
                format!("\"{}\"", r.code())
            );
        }
    }
}
