//! Radio physics both sides of the protocol agree on: free-space path loss, the log-distance
//! model the simulated radio uses, noise floor and per-data-rate demodulation limits.
//!
//! The oracle's verdicts use only the integer functions ([`fspl_cdb`], [`DataRate::min_snr_ddb`]):
//! a verdict must come out the same on every machine, and floating-point logarithms are not
//! guaranteed to. The simulator, which only has to be physical, uses the `f64` ones.

use crate::v1::DataRate;

/// Speed of light, m/s.
pub const SPEED_OF_LIGHT: f64 = 299_792_458.0;
/// Thermal noise density at 290 K, dBm/Hz.
pub const THERMAL_NOISE_DBM_HZ: f64 = -174.0;

/// log2(x) in unsigned Q32.32 fixed point, exact to the last bit on every machine.
fn log2_q32(x: u64) -> u64 {
    debug_assert!(x > 0);
    let int = 63 - u64::from(x.leading_zeros());
    // Mantissa in [1, 2) as Q62.
    let mut m: u128 = ((x as u128) << 62) >> int;
    let mut frac = 0u64;
    for bit in (0..32).rev() {
        m = (m * m) >> 62;
        if m >= 1u128 << 63 {
            m >>= 1;
            frac |= 1 << bit;
        }
    }
    (int << 32) | frac
}

/// log10(2) in Q32.
const LOG10_2_Q32: u128 = 1_292_913_987;
/// 20·log10(4π/c) in centi-dB: −147.5522 dB.
const FSPL_CONSTANT_CDB: i64 = -14_755;

/// Free-space path loss in centi-dB (dB x 100) for a distance in metres (at least 1) and a
/// frequency in Hz: `20·log10(d) + 20·log10(f) − 147.55`. Integer arithmetic only.
pub fn fspl_cdb(distance_m: u64, frequency_hz: u64) -> i64 {
    let l = u128::from(log2_q32(distance_m.max(1))) + u128::from(log2_q32(frequency_hz.max(1)));
    // 2000·log10(x) = 2000·log2(x)·log10(2); Q32·Q32 = Q64, rounded.
    let cdb = (l * LOG10_2_Q32 * 2000 + (1u128 << 63)) >> 64;
    cdb as i64 + FSPL_CONSTANT_CDB
}

/// log10(x) in thousandths (x at least 1), rounded: integer arithmetic only.
pub fn log10_milli(x: u64) -> i64 {
    let l = u128::from(log2_q32(x.max(1)));
    ((l * LOG10_2_Q32 * 1000 + (1u128 << 63)) >> 64) as i64
}

/// Free-space path loss in dB (floating point, for simulation).
pub fn fspl_db(distance_m: f64, frequency_hz: f64) -> f64 {
    let d = distance_m.max(1.0);
    20.0 * d.log10()
        + 20.0 * frequency_hz.log10()
        + 20.0 * (4.0 * std::f64::consts::PI / SPEED_OF_LIGHT).log10()
}

/// Thermal noise floor of a receiver, dBm.
pub fn noise_floor_dbm(bandwidth_hz: u32, noise_figure_db: f64) -> f64 {
    THERMAL_NOISE_DBM_HZ + 10.0 * f64::from(bandwidth_hz).log10() + noise_figure_db
}

/// Log-distance path loss: free space up to `reference_m`, then `10·n·log10(d/d0)` beyond it.
/// With `n >= 2` it is never below free-space loss, which is what the oracle relies on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogDistance {
    /// Path loss exponent: 2 in free space, 2.7–3.5 in urban areas.
    pub exponent: f64,
    pub reference_m: f64,
}

impl Default for LogDistance {
    fn default() -> Self {
        LogDistance {
            exponent: 3.0,
            reference_m: 1.0,
        }
    }
}

impl LogDistance {
    pub fn path_loss_db(&self, distance_m: f64, frequency_hz: f64) -> f64 {
        let d0 = self.reference_m.max(1.0);
        let d = distance_m.max(d0);
        fspl_db(d0, frequency_hz) + 10.0 * self.exponent * (d / d0).log10()
    }
}

/// Great-circle distance in metres (haversine, mean Earth radius), for simulation.
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const R: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R * a.sqrt().asin()
}

impl DataRate {
    /// LoRa spreading factor (7–12); 0 for an unspecified rate.
    pub fn spreading_factor(self) -> u8 {
        use DataRate::*;
        match self {
            Sf7bw125 | Sf7bw250 | Sf7bw500 => 7,
            Sf8bw125 | Sf8bw250 | Sf8bw500 => 8,
            Sf9bw125 | Sf9bw250 | Sf9bw500 => 9,
            Sf10bw125 | Sf10bw250 | Sf10bw500 => 10,
            Sf11bw125 | Sf11bw250 | Sf11bw500 => 11,
            Sf12bw125 | Sf12bw250 | Sf12bw500 => 12,
            Unspecified => 0,
        }
    }

    /// Channel bandwidth in Hz; 0 for an unspecified rate.
    pub fn bandwidth_hz(self) -> u32 {
        use DataRate::*;
        match self {
            Sf7bw125 | Sf8bw125 | Sf9bw125 | Sf10bw125 | Sf11bw125 | Sf12bw125 => 125_000,
            Sf7bw250 | Sf8bw250 | Sf9bw250 | Sf10bw250 | Sf11bw250 | Sf12bw250 => 250_000,
            Sf7bw500 | Sf8bw500 | Sf9bw500 | Sf10bw500 | Sf11bw500 | Sf12bw500 => 500_000,
            Unspecified => 0,
        }
    }

    /// The lowest SNR (dB x 10) a LoRa receiver demodulates at this spreading factor
    /// (Semtech SX1301/SX1302 datasheets: −7.5 dB at SF7 down to −20 dB at SF12).
    pub fn min_snr_ddb(self) -> i32 {
        match self.spreading_factor() {
            0 => i32::MAX,
            sf => -75 - 25 * (i32::from(sf) - 7),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_is_exact_on_powers_and_close_elsewhere() {
        assert_eq!(log2_q32(1), 0);
        assert_eq!(log2_q32(1024), 10 << 32);
        let l3 = log2_q32(3) as f64 / 4_294_967_296.0;
        assert!((l3 - 3f64.log2()).abs() < 1e-9);
        let big = log2_q32(915_000_000) as f64 / 4_294_967_296.0;
        assert!((big - 915e6f64.log2()).abs() < 1e-8);
    }

    /// Textbook values: FSPL(dB) = 20·log10(d_km) + 20·log10(f_MHz) + 32.44.
    #[test]
    fn free_space_path_loss_matches_textbook_values() {
        let cases = [
            (1_000u64, 915_000_000u64, 91.67),
            (1_000, 868_000_000, 91.21),
            (10_000, 868_000_000, 111.21),
            (100_000, 915_000_000, 131.67),
            (1, 868_000_000, 31.21),
            (10_000, 2_400_000_000, 120.05),
        ];
        for (d, f, db) in cases {
            let cdb = fspl_cdb(d, f);
            assert!(
                (cdb as f64 / 100.0 - db).abs() <= 0.02,
                "{d} m {f} Hz: {cdb}"
            );
            assert!(
                (fspl_db(d as f64, f as f64) - db).abs() <= 0.02,
                "{d} m {f} Hz"
            );
        }
        // Doubling distance adds 6.02 dB.
        assert_eq!(
            fspl_cdb(2_000, 868_000_000) - fspl_cdb(1_000, 868_000_000),
            602
        );
        // Below a metre counts as a metre.
        assert_eq!(fspl_cdb(0, 868_000_000), fspl_cdb(1, 868_000_000));
    }

    #[test]
    fn log_distance_is_never_below_free_space() {
        let model = LogDistance::default();
        for d in [1.0, 10.0, 500.0, 3_000.0, 20_000.0] {
            assert!(model.path_loss_db(d, 868e6) >= fspl_db(d, 868e6) - 1e-9);
        }
        // n = 3: ten times farther is 30 dB more.
        let step = model.path_loss_db(10_000.0, 868e6) - model.path_loss_db(1_000.0, 868e6);
        assert!((step - 30.0).abs() < 1e-9);
        let free = LogDistance {
            exponent: 2.0,
            reference_m: 1.0,
        };
        assert!((free.path_loss_db(5_000.0, 915e6) - fspl_db(5_000.0, 915e6)).abs() < 1e-9);
    }

    #[test]
    fn noise_floor_and_sensitivity() {
        // 125 kHz, 6 dB noise figure: −117 dBm.
        assert!((noise_floor_dbm(125_000, 6.0) + 117.03).abs() < 0.01);
        assert_eq!(DataRate::Sf7bw125.min_snr_ddb(), -75);
        assert_eq!(DataRate::Sf9bw125.min_snr_ddb(), -125);
        assert_eq!(DataRate::Sf12bw125.min_snr_ddb(), -200);
        assert_eq!(DataRate::Sf8bw500.bandwidth_hz(), 500_000);
    }

    #[test]
    fn haversine_distance() {
        // One degree of latitude is about 111.2 km.
        assert!((distance_m(0.0, 0.0, 1.0, 0.0) - 111_195.0).abs() < 10.0);
        // San Francisco to Lisbon, about 9,130 km.
        let d = distance_m(37.7749, -122.4194, 38.7223, -9.1393);
        assert!((d - 9_130_000.0).abs() < 30_000.0, "{d}");
    }
}
