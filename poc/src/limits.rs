//! Every limit the validation rules use, in one place, with its default and where the default
//! comes from. Loaded from `[validation]` in the oracle's config.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Least time between two valid beacons of one hotspot, seconds. Default 21 600 (6 h):
    /// Helium iot-verifier's `beacon_interval`.
    pub beacon_interval_secs: u64,
    /// How far a report's timestamp may lie after the moment the oracle received it, seconds.
    /// Default 30: NTP keeps hotspot clocks within a second; 30 s tolerates a poor one.
    pub max_future_skew_secs: u64,
    /// How long after its timestamp a report may still arrive, seconds. Default 2 700 (45 min):
    /// Helium iot-verifier's `beacon_stale_period` / `witness_stale_period`; covers an agent
    /// flushing its outbox after a short outage.
    pub max_report_age_secs: u64,
    /// How far before its entropy's timestamp a beacon may be stamped (clock skew), seconds.
    /// Default 10.
    pub entropy_skew_secs: u64,
    /// Largest gap between a beacon's and a witness's timestamps, milliseconds. Default 4 000:
    /// Helium iot-verifier's `MAX_BEACON_TO_WITNESS_LAG`.
    pub max_beacon_to_witness_ms: u64,
    /// Largest difference between beacon and witness frequency, Hz. Default 100 000: Helium
    /// iot-verifier's `verify_witness_freq`.
    pub max_frequency_diff_hz: u64,
    /// Witness too close: the H3 parents at this resolution of both asserted cells are fewer than
    /// `min_cell_distance` grid steps apart. Defaults 11 and 8 (about 350 m): Helium
    /// iot-verifier's `POC_CELL_PARENT_RES` and `POC_CELL_DISTANCE_MINIMUM`.
    pub too_close_resolution: u8,
    pub min_cell_distance: u32,
    /// Witness too close: nearer than this many metres. Default 0 (off; the cell rule above is
    /// Helium's).
    pub min_distance_m: u64,
    /// Witness too far: farther than this many metres. Default 100 000: HIP-58.
    pub max_distance_m: u64,
    /// Slack on the free-space RSSI ceiling, dB x 10. Default 50 (5 dB): the calibration error of
    /// hobby concentrators plus the position error of a resolution-12 cell at short range.
    pub rssi_margin_ddb: i32,
    /// Slack below a data rate's demodulation limit, dB x 10. Default 25 (2.5 dB): SX130x SNR
    /// readings near the noise floor scatter by about that much.
    pub snr_margin_ddb: i32,
    /// Slack on the region's EIRP limit, dB x 10. Default 10 (1 dB): rounding of integer dBm
    /// power settings.
    pub eirp_tolerance_ddb: i32,
    /// Witnesses of one beacon that earn rewards. Default 14: Helium iot-verifier's
    /// `max_witnesses_per_poc`.
    pub max_witnesses_per_beacon: usize,
    /// A witness's location must have been asserted this long before it witnesses, seconds.
    /// Default 3 600: a hotspot that moves must settle before its witnesses count.
    pub location_min_age_secs: u64,
    /// How long the oracle waits after receiving a beacon before judging it with its witnesses,
    /// seconds. Default 10: longer than `max_beacon_to_witness_ms` plus broker delivery.
    pub witness_wait_secs: u64,
    /// Antenna gain a hotspot may declare, dBi × 10. Defaults 0 and 150 (15 dBi, the largest
    /// LoRa antennas sold; the program refuses other values at onboarding). A declared gain is
    /// added to the signal ceilings, so an unbounded one would disable them.
    pub min_gain_ddbi: i32,
    pub max_gain_ddbi: i32,
    /// Antenna height above ground a hotspot may declare, metres. Defaults 0 and 1,000.
    pub min_elevation_m: i32,
    pub max_elevation_m: i32,
}

impl Limits {
    /// Whether a hotspot's declared antenna is within bounds.
    pub fn antenna_ok(&self, gain_ddbi: i32, elevation_m: i32) -> bool {
        (self.min_gain_ddbi..=self.max_gain_ddbi).contains(&gain_ddbi)
            && (self.min_elevation_m..=self.max_elevation_m).contains(&elevation_m)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            beacon_interval_secs: 21_600,
            max_future_skew_secs: 30,
            max_report_age_secs: 2_700,
            entropy_skew_secs: 10,
            max_beacon_to_witness_ms: 4_000,
            max_frequency_diff_hz: 100_000,
            too_close_resolution: 11,
            min_cell_distance: 8,
            min_distance_m: 0,
            max_distance_m: 100_000,
            rssi_margin_ddb: 50,
            snr_margin_ddb: 25,
            eirp_tolerance_ddb: 10,
            max_witnesses_per_beacon: 14,
            location_min_age_secs: 3_600,
            witness_wait_secs: 10,
            min_gain_ddbi: 0,
            max_gain_ddbi: 150,
            min_elevation_m: 0,
            max_elevation_m: 1_000,
        }
    }
}
