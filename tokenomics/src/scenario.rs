//! A scenario: the deployment's token parameters, the world around it (price, demand, hosts'
//! economics, adversaries), named stress tests and an optional parameter sweep. Read from
//! TOML; every field has a default, so an empty file is the default scenario.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Errors reading or changing a scenario.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("scenario {path}: {source}")]
    Parse {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("parameter `{0}`: no such field in a scenario")]
    UnknownParameter(String),
    #[error("parameter `{param}` = {value}: {reason}")]
    BadValue {
        param: String,
        value: f64,
        reason: String,
    },
    #[error("scenario: {0}")]
    Invalid(String),
}

/// Everything one simulation needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// What the scenario is for, in a sentence (shown in the report).
    pub description: String,
    pub years: u32,
    /// Monte Carlo runs (each with its own price and demand draws).
    pub runs: u32,
    /// Seed of run 0; run `i` uses `seed + i`. The same seed gives the same figures on any
    /// machine.
    pub seed: u64,
    pub token: Token,
    pub price: Price,
    pub demand: Demand,
    pub hosts: Hosts,
    pub adversary: Adversary,
    /// Named stress tests, each run as a variant of this scenario.
    pub stress: Vec<Stress>,
    /// Optional two-parameter sweep (a heat map of one metric).
    pub sweep: Option<Sweep>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "default".into(),
            description: String::new(),
            years: 5,
            runs: 64,
            seed: 1,
            token: Token::default(),
            price: Price::default(),
            demand: Demand::default(),
            hosts: Hosts::default(),
            adversary: Adversary::default(),
            stress: Vec::new(),
            sweep: None,
        }
    }
}

/// The deployment's parameters: what `initialize` fixes and the oracle's reward config holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Token {
    /// Whole tokens epoch 1 emits (an epoch is a day); halved every `halving_epochs`.
    pub initial_emission: f64,
    pub halving_epochs: u64,
    /// Credits one whole token buys (and pays back at).
    pub dc_per_token: u64,
    /// Share of the emission for the data pool, basis points.
    pub data_share_bps: u64,
    pub beacon_share_bps: u64,
    /// The program's mint window (circuit breaker): claims mint at most
    /// `mint_window_multiple × epoch 1's emission` per `mint_window_epochs`, the rest waits.
    /// The oracle's defaults: one epoch, twice the emission.
    pub mint_window_epochs: u64,
    pub mint_window_multiple: f64,
}

impl Default for Token {
    fn default() -> Self {
        let config = hexproof_poc::rewards::RewardConfig::default();
        Token {
            initial_emission: config.initial_emission as f64
                / hexproof_commitment::TOKEN_BASE_UNITS as f64,
            halving_epochs: config.halving_interval,
            dc_per_token: config.dc_per_token,
            data_share_bps: config.data_share_bps,
            beacon_share_bps: config.beacon_share_bps,
            mint_window_epochs: 1,
            mint_window_multiple: 2.0,
        }
    }
}

/// The token's dollar price: geometric Brownian motion (daily steps) with shocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Price {
    pub initial_usd: f64,
    /// Expected log growth per year (0.0: no trend).
    pub drift_per_year: f64,
    /// Annualised volatility (0.9: a typical small-cap token).
    pub volatility_per_year: f64,
    pub shocks: Vec<Shock>,
}

impl Default for Price {
    fn default() -> Self {
        Price {
            initial_usd: 0.05,
            drift_per_year: 0.0,
            volatility_per_year: 0.9,
            shocks: Vec::new(),
        }
    }
}

/// The price multiplied by `factor` spread evenly over `over_days` days from `day`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shock {
    pub day: u32,
    pub factor: f64,
    #[serde(default = "one")]
    pub over_days: u32,
}

fn one() -> u32 {
    1
}

/// Devices' traffic: credits wanted per day, growing, with noise, falling when the token (and
/// so the credit's dollar price, at the fixed peg) rises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Demand {
    /// Credits wanted on day 1 at the initial price.
    pub initial_dc_per_day: f64,
    /// Log growth per year of what devices want.
    pub growth_per_year: f64,
    /// Daily log-normal noise (standard deviation).
    pub noise: f64,
    /// Price elasticity: credits wanted scale with `(initial price / price)^elasticity`.
    pub price_elasticity: f64,
    /// Demand stops on this day (a stress test), if set.
    pub stops_on_day: Option<u32>,
    /// Demand ramps linearly from zero over this many days (a launch without customers).
    pub ramp_days: u32,
}

impl Default for Demand {
    fn default() -> Self {
        Demand {
            initial_dc_per_day: 20_000_000.0,
            growth_per_year: 0.8,
            noise: 0.1,
            price_elasticity: 0.3,
            stops_on_day: None,
            ramp_days: 180,
        }
    }
}

/// Hotspot hosts: they deploy while a new hotspot pays back fast enough and leave when it
/// costs more to run than it earns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Hosts {
    pub initial_hotspots: f64,
    /// Hardware and installation, dollars.
    pub hardware_usd: f64,
    /// Power and backhaul per month, dollars.
    pub opex_usd_per_month: f64,
    /// New hotspots a day when payback is instant; half that at `target_payback_months`.
    pub max_new_per_day: f64,
    pub target_payback_months: f64,
    /// Hosts leaving per month whatever they earn.
    pub churn_per_month: f64,
    /// Extra monthly churn when a hotspot earns nothing over its costs (scaled by the shortfall).
    pub unprofitable_churn_per_month: f64,
    /// Share of honest hotspots held by fleet operators, and how many fleets share it.
    pub fleet_share: f64,
    pub fleets: u32,
    /// Quality tiers of honest hotspots (share of hotspots, witness activity, hex scale, share
    /// of traffic carried). Shares are normalised.
    pub tiers: Vec<Tier>,
    /// Days on which a share of the hotspots leave at once.
    pub departures: Vec<Departure>,
}

/// `fraction` of every tier's hotspots leave on `day`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Departure {
    pub day: u32,
    pub fraction: f64,
}

impl Default for Hosts {
    fn default() -> Self {
        Hosts {
            initial_hotspots: 500.0,
            hardware_usd: 180.0,
            opex_usd_per_month: 3.0,
            max_new_per_day: 120.0,
            target_payback_months: 9.0,
            churn_per_month: 0.01,
            unprofitable_churn_per_month: 0.15,
            fleet_share: 0.25,
            fleets: 20,
            tiers: vec![
                Tier {
                    name: "dense city".into(),
                    share: 0.4,
                    witnesses_per_day: 40.0,
                    scale: 0.4,
                    traffic: 0.6,
                },
                Tier {
                    name: "suburb".into(),
                    share: 0.4,
                    witnesses_per_day: 20.0,
                    scale: 0.8,
                    traffic: 0.3,
                },
                Tier {
                    name: "rural".into(),
                    share: 0.2,
                    witnesses_per_day: 6.0,
                    scale: 1.0,
                    traffic: 0.1,
                },
            ],
            departures: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub name: String,
    pub share: f64,
    pub witnesses_per_day: f64,
    /// Hex density scale, 0–1 (HIP-17: crowded hexes earn less per report).
    pub scale: f64,
    /// Relative traffic one hotspot of this tier carries (a weight: a tier carries its
    /// hotspots' weights' share of the network's credits).
    pub traffic: f64,
}

/// Keys that cheat: a share of all keys, each claiming `witness_multiplier` times an average
/// honest hotspot's witnesses, found and suspended by detection with probability `detection` per
/// key-epoch (the scorecard's measured rate), costing `onboarding_usd` a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Adversary {
    pub share: f64,
    pub witness_multiplier: f64,
    pub detection: f64,
    pub onboarding_usd: f64,
}

impl Default for Adversary {
    fn default() -> Self {
        Adversary {
            share: 0.05,
            witness_multiplier: 3.0,
            detection: 0.97,
            onboarding_usd: 40.0,
        }
    }
}

/// A named stress test: the scenario with one thing changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stress {
    pub name: String,
    #[serde(flatten)]
    pub event: StressEvent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StressEvent {
    /// The price falls to `factor` of itself over `over_days` days from `day`.
    PriceShock {
        day: u32,
        factor: f64,
        over_days: u32,
    },
    /// Devices stop sending on `day`.
    DemandStops { day: u32 },
    /// `fraction` of the hotspots leave on `day`.
    HotspotsLeave { day: u32, fraction: f64 },
    /// The adversary holds `share` of all keys.
    AdversaryShare { share: f64 },
}

/// A sweep: `x` × `y` parameter values (dotted paths into the scenario, e.g.
/// `token.data_share_bps`), each cell summarised by `metric`'s median at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    pub x: Axis,
    pub y: Axis,
    pub metric: String,
    /// Runs per cell (fewer than the scenario's, to keep sweeps quick).
    #[serde(default = "sweep_runs")]
    pub runs: u32,
}

fn sweep_runs() -> u32 {
    16
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    pub param: String,
    pub values: Vec<f64>,
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let scenario: Scenario = toml::from_str(&text).map_err(|source| ScenarioError::Parse {
            path: path.display().to_string(),
            source: Box::new(source),
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    pub fn epochs(&self) -> u64 {
        u64::from(self.years) * 365
    }

    /// Refuses what cannot be simulated (so a run never panics on a file's numbers).
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let bad = |what: &str| Err(ScenarioError::Invalid(what.to_string()));
        let finite_nonneg = |v: f64| v.is_finite() && v >= 0.0;
        if self.years == 0 || self.years > 200 {
            return bad("years must be 1 to 200");
        }
        if self.runs == 0 || self.runs > 100_000 {
            return bad("runs must be 1 to 100000");
        }
        if !(self.price.initial_usd.is_finite() && self.price.initial_usd > 0.0) {
            return bad("price.initial_usd must be above zero");
        }
        if !self.price.drift_per_year.is_finite()
            || !finite_nonneg(self.price.volatility_per_year)
            || self.price.volatility_per_year > 10.0
        {
            return bad("price.drift_per_year must be finite, volatility 0 to 10");
        }
        for s in &self.price.shocks {
            if !(s.factor.is_finite() && s.factor > 0.0) {
                return bad("a price shock's factor must be above zero");
            }
        }
        let d = &self.demand;
        if !finite_nonneg(d.initial_dc_per_day)
            || !d.growth_per_year.is_finite()
            || d.growth_per_year.abs() > 20.0
            || !finite_nonneg(d.noise)
            || d.noise > 5.0
            || !d.price_elasticity.is_finite()
            || d.price_elasticity.abs() > 10.0
        {
            return bad("demand: values must be finite (growth within ±20, noise 0 to 5)");
        }
        let h = &self.hosts;
        for v in [
            h.initial_hotspots,
            h.hardware_usd,
            h.opex_usd_per_month,
            h.max_new_per_day,
            h.target_payback_months,
            h.churn_per_month,
            h.unprofitable_churn_per_month,
        ] {
            if !finite_nonneg(v) {
                return bad("hosts: values must be finite and not negative");
            }
        }
        if h.initial_hotspots > 1e9 || h.max_new_per_day > 1e7 {
            return bad("hosts: at most 1e9 hotspots and 1e7 new a day");
        }
        if h.target_payback_months <= 0.0 {
            return bad("hosts.target_payback_months must be above zero");
        }
        if !(0.0..=1.0).contains(&h.fleet_share) || (h.fleet_share > 0.0 && h.fleets == 0) {
            return bad("hosts.fleet_share must be 0 to 1, with at least one fleet");
        }
        if h.tiers.is_empty() || h.tiers.len() > 64 {
            return bad("hosts.tiers: 1 to 64 tiers");
        }
        for t in &h.tiers {
            if !finite_nonneg(t.share)
                || !finite_nonneg(t.witnesses_per_day)
                || !(0.0..=1.0).contains(&t.scale)
                || !finite_nonneg(t.traffic)
                || t.witnesses_per_day > 1e6
            {
                return bad("hosts.tiers: shares and traffic ≥ 0, scale 0 to 1");
            }
        }
        if h.departures
            .iter()
            .any(|d| !(0.0..=1.0).contains(&d.fraction))
        {
            return bad("hosts.departures: fraction 0 to 1");
        }
        if h.tiers.iter().map(|t| t.share).sum::<f64>() <= 0.0 {
            return bad("hosts.tiers: shares must not all be zero");
        }
        let a = &self.adversary;
        if !(0.0..1.0).contains(&a.share)
            || !(0.0..=1.0).contains(&a.detection)
            || !finite_nonneg(a.witness_multiplier)
            || a.witness_multiplier > 1e3
            || !finite_nonneg(a.onboarding_usd)
        {
            return bad("adversary: share 0 to below 1, detection 0 to 1");
        }
        if self.token.data_share_bps > 10_000 || self.token.beacon_share_bps > 10_000 {
            return bad("token: shares are basis points, at most 10000");
        }
        // What the program's initialize refuses.
        let t = &self.token;
        if t.dc_per_token == 0 || t.halving_epochs == 0 {
            return bad("token: dc_per_token and halving_epochs must be at least 1");
        }
        if (t.initial_emission * hexproof_commitment::TOKEN_BASE_UNITS as f64).round() < 1.0 {
            return bad("token.initial_emission must be at least one base unit (1e-6 token)");
        }
        let window_ok = (1..=366).contains(&t.mint_window_epochs)
            && t.mint_window_multiple.is_finite()
            && t.mint_window_multiple >= t.mint_window_epochs as f64;
        if !window_ok {
            return bad(
                "token: mint_window_epochs 1 to 366, and mint_window_multiple at least that \
                 (the window must let the emission through, as initialize requires)",
            );
        }
        // Bounded work: every run's rows are kept (about 180 bytes an epoch).
        if u64::from(self.runs).saturating_mul(self.epochs()) > 20_000_000 {
            return bad("runs × years × 365 must be at most 20 million epochs");
        }
        if self.stress.len() > 16 || self.price.shocks.len() > 64 || h.departures.len() > 64 {
            return bad("at most 16 stress tests, 64 price shocks and 64 departures");
        }
        if self.price.shocks.iter().any(|s| s.day == 0)
            || h.departures.iter().any(|d| d.day == 0)
            || self.demand.stops_on_day == Some(0)
        {
            return bad("days count from 1 (epoch 1 is day 1)");
        }
        if !(self.token.initial_emission.is_finite()
            && self.token.initial_emission >= 0.0
            && self.token.initial_emission * (hexproof_commitment::TOKEN_BASE_UNITS as f64)
                < 1.8e19)
        {
            return bad("token.initial_emission must fit the mint's u64 base units");
        }
        if let Some(sweep) = &self.sweep {
            if crate::metrics::metric(&sweep.metric).is_none() {
                return Err(ScenarioError::UnknownParameter(format!(
                    "sweep metric {}",
                    sweep.metric
                )));
            }
            if !(1..=10_000).contains(&sweep.runs)
                || !(1..=32).contains(&sweep.x.values.len())
                || !(1..=32).contains(&sweep.y.values.len())
            {
                return bad("sweep: 1 to 32 values on each axis, 1 to 10000 runs a cell");
            }
            if u64::from(sweep.runs).saturating_mul(self.epochs()) > 20_000_000 {
                return bad("sweep: runs × years × 365 must be at most 20 million epochs");
            }
            // Every cell is a valid scenario (checked now, not after the other runs).
            let mut bare = self.clone();
            bare.sweep = None;
            for x in &sweep.x.values {
                let cell = bare.with(&sweep.x.param, *x)?;
                for y in &sweep.y.values {
                    cell.with(&sweep.y.param, *y)?;
                }
            }
        }
        for s in &self.stress {
            match s.event {
                StressEvent::PriceShock { factor, .. } if !(factor.is_finite() && factor > 0.0) => {
                    return bad("a price_shock's factor must be above zero");
                }
                StressEvent::HotspotsLeave { fraction, .. } if !(0.0..=1.0).contains(&fraction) => {
                    return bad("hotspots_leave: fraction 0 to 1");
                }
                StressEvent::AdversaryShare { share } if !(0.0..1.0).contains(&share) => {
                    return bad("adversary_share: 0 to below 1");
                }
                StressEvent::PriceShock { day: 0, .. }
                | StressEvent::DemandStops { day: 0 }
                | StressEvent::HotspotsLeave { day: 0, .. } => {
                    return bad("a stress test's day counts from 1");
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// This scenario with one stress test applied.
    pub fn stressed(&self, stress: &Stress) -> Scenario {
        let mut s = self.clone();
        s.name = format!("{}: {}", self.name, stress.name);
        match stress.event {
            StressEvent::PriceShock {
                day,
                factor,
                over_days,
            } => s.price.shocks.push(Shock {
                day,
                factor,
                over_days: over_days.max(1),
            }),
            StressEvent::DemandStops { day } => {
                s.demand.stops_on_day = Some(s.demand.stops_on_day.map_or(day, |d| d.min(day)))
            }
            StressEvent::HotspotsLeave { day, fraction } => {
                s.hosts.departures.push(Departure { day, fraction })
            }
            StressEvent::AdversaryShare { share } => s.adversary.share = share,
        }
        s.stress = vec![stress.clone()];
        s.sweep = None;
        s
    }

    /// Days on which a share of the hotspots leave, in order.
    pub fn departures(&self) -> Vec<(u32, f64)> {
        let mut out: Vec<(u32, f64)> = self
            .hosts
            .departures
            .iter()
            .map(|d| (d.day, d.fraction))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        out
    }

    /// This scenario with the number at `param` (a dotted path, e.g. `price.volatility_per_year`)
    /// set to `value`. Integer fields take the value rounded.
    pub fn with(&self, param: &str, value: f64) -> Result<Scenario, ScenarioError> {
        let mut tree = toml::Value::try_from(self).map_err(|e| ScenarioError::BadValue {
            param: param.into(),
            value,
            reason: e.to_string(),
        })?;
        let mut slot = &mut tree;
        for part in param.split('.') {
            slot = slot
                .get_mut(part)
                .ok_or_else(|| ScenarioError::UnknownParameter(param.into()))?;
        }
        *slot = match slot {
            toml::Value::Integer(_) if value.is_finite() && value.abs() < 9e18 => {
                toml::Value::Integer(value.round() as i64)
            }
            toml::Value::Float(_) => toml::Value::Float(value),
            _ => {
                return Err(ScenarioError::BadValue {
                    param: param.into(),
                    value,
                    reason: "not a number field".into(),
                });
            }
        };
        let scenario: Scenario =
            tree.try_into()
                .map_err(|e: toml::de::Error| ScenarioError::BadValue {
                    param: param.into(),
                    value,
                    reason: e.to_string(),
                })?;
        scenario.validate()?;
        Ok(scenario)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_default_scenario_and_defaults_are_the_deployments() {
        let s: Scenario = toml::from_str("").unwrap();
        assert_eq!(s, Scenario::default());
        s.validate().unwrap();
        let config = hexproof_poc::rewards::RewardConfig::default();
        assert_eq!(s.token.dc_per_token, config.dc_per_token);
        assert_eq!(s.token.halving_epochs, config.halving_interval);
    }

    #[test]
    fn a_sweep_sets_fields_by_path_and_refuses_unknown_ones() {
        let s = Scenario::default();
        let t = s.with("price.volatility_per_year", 0.4).unwrap();
        assert_eq!(t.price.volatility_per_year, 0.4);
        let t = s.with("token.data_share_bps", 2_500.4).unwrap();
        assert_eq!(t.token.data_share_bps, 2_500);
        assert!(matches!(
            s.with("price.nonsense", 1.0),
            Err(ScenarioError::UnknownParameter(_))
        ));
        assert!(matches!(
            s.with("token.data_share_bps", 20_000.0),
            Err(ScenarioError::Invalid(_))
        ));
        assert!(s.with("name", 1.0).is_err());
    }

    #[test]
    fn unknown_fields_and_impossible_values_are_clear_errors() {
        assert!(toml::from_str::<Scenario>("yeras = 3").is_err());
        let s: Scenario = toml::from_str("[price]\ninitial_usd = -1.0").unwrap();
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("initial_usd")
        );
        let s: Scenario = toml::from_str(
            "[[stress]]\nname = \"x\"\nkind = \"hotspots_leave\"\nday = 3\nfraction = 2.0",
        )
        .unwrap();
        assert!(s.validate().is_err());
    }
}
