//! LoRaWAN region plans: the channels, data rates and EIRP limit a beacon must respect.
//! Values from the LoRaWAN Regional Parameters (RP002-1.0.4), restricted to the sub-bands
//! Helium's hotspots use (US915 and AU915 sub-band 2).

use crate::v1::DataRate;

/// One region's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionPlan {
    pub name: &'static str,
    /// Uplink channel centre frequencies, Hz.
    pub channels_hz: &'static [u64],
    /// Data rates allowed for uplinks (and so for beacons).
    pub data_rates: &'static [DataRate],
    /// The rate beacons are sent at.
    pub beacon_data_rate: DataRate,
    /// Maximum EIRP, dBm x 10 (conducted power plus antenna gain).
    pub max_eirp_ddbm: i32,
    /// Conducted power a concentrator transmits at when the limit allows, dBm x 10.
    pub default_tx_power_ddbm: i32,
}

const BW125: &[DataRate] = &[
    DataRate::Sf7bw125,
    DataRate::Sf8bw125,
    DataRate::Sf9bw125,
    DataRate::Sf10bw125,
    DataRate::Sf11bw125,
    DataRate::Sf12bw125,
];

pub const EU868: RegionPlan = RegionPlan {
    name: "EU868",
    channels_hz: &[
        867_100_000,
        867_300_000,
        867_500_000,
        867_700_000,
        867_900_000,
        868_100_000,
        868_300_000,
        868_500_000,
    ],
    data_rates: BW125,
    beacon_data_rate: DataRate::Sf9bw125,
    // 14 dBm ERP = 16.15 dBm EIRP.
    max_eirp_ddbm: 160,
    default_tx_power_ddbm: 140,
};

pub const US915: RegionPlan = RegionPlan {
    name: "US915",
    channels_hz: &[
        903_900_000,
        904_100_000,
        904_300_000,
        904_500_000,
        904_700_000,
        904_900_000,
        905_100_000,
        905_300_000,
    ],
    data_rates: &[
        DataRate::Sf7bw125,
        DataRate::Sf8bw125,
        DataRate::Sf9bw125,
        DataRate::Sf10bw125,
        DataRate::Sf8bw500,
    ],
    beacon_data_rate: DataRate::Sf9bw125,
    max_eirp_ddbm: 360,
    default_tx_power_ddbm: 270,
};

pub const AU915: RegionPlan = RegionPlan {
    name: "AU915",
    channels_hz: &[
        916_800_000,
        917_000_000,
        917_200_000,
        917_400_000,
        917_600_000,
        917_800_000,
        918_000_000,
        918_200_000,
    ],
    data_rates: BW125,
    beacon_data_rate: DataRate::Sf9bw125,
    max_eirp_ddbm: 300,
    default_tx_power_ddbm: 270,
};

pub const AS923_1: RegionPlan = RegionPlan {
    name: "AS923_1",
    channels_hz: &[
        923_200_000,
        923_400_000,
        922_000_000,
        922_200_000,
        922_400_000,
        922_600_000,
        922_800_000,
        923_000_000,
    ],
    data_rates: BW125,
    beacon_data_rate: DataRate::Sf9bw125,
    max_eirp_ddbm: 160,
    default_tx_power_ddbm: 140,
};

pub const KR920: RegionPlan = RegionPlan {
    name: "KR920",
    channels_hz: &[
        922_100_000,
        922_300_000,
        922_500_000,
        922_700_000,
        922_900_000,
        923_100_000,
        923_300_000,
    ],
    data_rates: BW125,
    beacon_data_rate: DataRate::Sf9bw125,
    max_eirp_ddbm: 140,
    default_tx_power_ddbm: 140,
};

pub const ALL: &[RegionPlan] = &[EU868, US915, AU915, AS923_1, KR920];

impl RegionPlan {
    pub fn by_name(name: &str) -> Option<&'static RegionPlan> {
        ALL.iter().find(|r| r.name.eq_ignore_ascii_case(name))
    }

    /// The plan a location uses, by coarse continental boxes: the Americas north of the
    /// equator US915, South America AU915 (Brazil's plan), Korea KR920, Australia AU915,
    /// Europe and Africa EU868, the rest of Asia AS923-1. (Helium assigns regions by polygons;
    /// a box is enough for the five plans here and needs no data files.)
    pub fn for_location(lat_deg: f64, lon_deg: f64) -> &'static RegionPlan {
        let plan = if lon_deg < -30.0 {
            if lat_deg < 0.0 { &AU915 } else { &US915 }
        } else if (33.0..39.0).contains(&lat_deg) && (124.0..132.0).contains(&lon_deg) {
            &KR920
        } else if lat_deg < -10.0 && lon_deg > 110.0 {
            &AU915
        } else if lon_deg < 60.0 {
            &EU868
        } else {
            &AS923_1
        };
        // The constants above are in ALL; return the 'static entry.
        ALL.iter().find(|r| r.name == plan.name).unwrap_or(&ALL[0])
    }

    pub fn has_channel(&self, frequency_hz: u64) -> bool {
        self.channels_hz.contains(&frequency_hz)
    }

    pub fn allows_data_rate(&self, rate: DataRate) -> bool {
        self.data_rates.contains(&rate)
    }

    /// The conducted power to transmit at so that power + antenna gain stays within the limit.
    pub fn beacon_tx_power_ddbm(&self, antenna_gain_ddbi: i32) -> i32 {
        self.default_tx_power_ddbm
            .min(self.max_eirp_ddbm.saturating_sub(antenna_gain_ddbi))
    }
}

#[cfg(test)]
mod location_tests {
    use super::*;

    #[test]
    fn cities_get_their_plans() {
        for (lat, lon, plan) in [
            (37.77, -122.42, "US915"),
            (-23.55, -46.63, "AU915"),
            (52.52, 13.40, "EU868"),
            (-1.29, 36.82, "EU868"),
            (37.57, 126.98, "KR920"),
            (-33.87, 151.21, "AU915"),
            (25.03, 121.57, "AS923_1"),
        ] {
            assert_eq!(RegionPlan::for_location(lat, lon).name, plan, "{lat},{lon}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_limits() {
        let eu = RegionPlan::by_name("eu868").unwrap();
        assert!(eu.has_channel(868_100_000));
        assert!(!eu.has_channel(868_100_001));
        assert!(eu.allows_data_rate(DataRate::Sf12bw125));
        assert!(!US915.allows_data_rate(DataRate::Sf12bw125));
        // A 1.2 dBi antenna may use the full 14 dBm; an 8 dBi one must back off to 8 dBm.
        assert_eq!(eu.beacon_tx_power_ddbm(12), 140);
        assert_eq!(eu.beacon_tx_power_ddbm(80), 80);
        assert!(RegionPlan::by_name("XX000").is_none());
        for r in ALL {
            assert!(r.allows_data_rate(r.beacon_data_rate), "{}", r.name);
        }
    }
}
