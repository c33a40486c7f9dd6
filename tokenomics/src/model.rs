//! One simulated network, epoch by epoch (an epoch is a day). Pure: a scenario and a seed in,
//! metrics out; the emission, the reward split, the mint window and the mint cap are the
//! deployment's own code (`hexproof_commitment::EmissionSchedule`,
//! `hexproof_poc::rewards::compute_with_data`, `hexproof_commitment::MintWindow`,
//! `hexproof_commitment::mint_cap`), called with one key per group of identical hotspots (a
//! quality tier, the adversary's unfound keys): rewards are pro rata, so a group earns exactly
//! what its hotspots would one by one.
//!
//! Each epoch: the price moves (geometric Brownian motion and the scenario's shocks); devices
//! want credits (growth, noise, a launch ramp, falling as the token dearer makes credits
//! dearer at the fixed peg) which their owners buy by burning tokens; the honest tiers carry
//! them by their traffic weight; the adversary's keys claim inflated witness counts and those
//! detection misses are paid; the epoch's rewards are computed, and owners claim what the
//! mint window has room for (the rest waits; the cap is reported as headroom, never passed by
//! construction); then hosts react to what a hotspot earned over the last month: new
//! ones deploy while payback is short, and each tier loses hosts when running costs more than
//! it earns.

use hexproof_commitment::{EmissionSchedule, MintWindow, TOKEN_BASE_UNITS, mint_cap};
use hexproof_poc::rewards::{Activity, DataActivity, RewardConfig, SCALE_ONE, compute_with_data};
use hexproof_proto::PublicKey;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::metrics::{self, EpochMetrics};
use crate::scenario::Scenario;

/// Reports are counted in thousandths of a hotspot-day, so fractional hotspot counts keep
/// their weight in the integer reward code.
const COUNT_RESOLUTION: f64 = 1_000.0;
/// The most reports a pool counts: larger networks are counted at a common coarser unit, so
/// `pool × units` stays inside the reward code's u128 (payouts within a pool are pro rata:
/// a common factor changes only rounding).
const MAX_REPORTS: f64 = 1e12;
/// Hosts react to a month's earnings, not a day's.
const SMOOTHING_DAYS: f64 = 30.0;
const DAYS_PER_MONTH: f64 = 30.0;
/// An epoch is a day.
const EPOCH_SECS: i64 = 86_400;
/// The org every device's credits are bought for.
const OUI: u64 = 1;

fn tier_key(i: usize) -> PublicKey {
    let mut bytes = [0u8; 32];
    bytes[0] = 1;
    bytes[1] = i as u8;
    PublicKey::from(bytes)
}

fn adversary_key() -> PublicKey {
    PublicKey::from([2u8; 32])
}

enum Group {
    Tier(usize),
    Adversary,
}

fn group_of(key: &PublicKey) -> Option<Group> {
    let bytes = key.to_bytes();
    match bytes[0] {
        1 => Some(Group::Tier(usize::from(bytes[1]))),
        2 => Some(Group::Adversary),
        _ => None,
    }
}

fn tokens(base_units: u64) -> f64 {
    base_units as f64 / TOKEN_BASE_UNITS as f64
}

/// The reward config a scenario's token section describes.
pub fn reward_config(scenario: &Scenario) -> RewardConfig {
    RewardConfig {
        initial_emission: (scenario.token.initial_emission * TOKEN_BASE_UNITS as f64).round()
            as u64,
        halving_interval: scenario.token.halving_epochs,
        dc_per_token: scenario.token.dc_per_token,
        data_share_bps: scenario.token.data_share_bps,
        beacon_share_bps: scenario.token.beacon_share_bps,
        ..RewardConfig::default()
    }
}

/// The exogenous draws of one run: the price path and the demand noise, day by day.
#[derive(Debug, Clone, PartialEq)]
pub struct Draws {
    pub price: Vec<f64>,
    pub demand_noise: Vec<f64>,
}

impl Draws {
    pub fn new(scenario: &Scenario, seed: u64) -> Draws {
        let days = scenario.epochs() as usize;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let p = &scenario.price;
        let dt = 1.0 / 365.0;
        let sigma = p.volatility_per_year;
        let mu = (p.drift_per_year - sigma * sigma / 2.0) * dt;
        let mut price = Vec::with_capacity(days);
        let mut demand_noise = Vec::with_capacity(days);
        let mut level = p.initial_usd;
        let noise = scenario.demand.noise;
        for day in 0..days {
            // A shock from day `d` (epoch `d`, from 1) over `over_days` days moves the prices
            // of epochs d .. d + over_days − 1.
            let epoch = day + 1;
            for s in &p.shocks {
                let (start, len) = (s.day as usize, s.over_days.max(1) as usize);
                if epoch >= start && epoch < start + len {
                    level *= s.factor.powf(1.0 / len as f64);
                }
            }
            // A price is never zero or infinite (a file's shocks cannot make it so).
            level = level.clamp(1e-12, 1e12);
            price.push(level);
            let z: f64 = StandardNormal.sample(&mut rng);
            let n: f64 = StandardNormal.sample(&mut rng);
            demand_noise.push((noise * n - noise * noise / 2.0).exp());
            level = (level * (mu + sigma * dt.sqrt() * z).exp()).clamp(1e-12, 1e12);
        }
        Draws {
            price,
            demand_noise,
        }
    }
}

/// The network's state between epochs.
#[derive(Debug, Clone)]
struct State {
    /// Honest hotspots per tier.
    tiers: Vec<f64>,
    /// Tokens a tier's hotspot earned per day, smoothed over a month (what hosts react to).
    earned: Vec<f64>,
    minted: u64,
    burned: u64,
    /// Earned but not minted yet: claims wait for room in the program's mint window.
    unclaimed: u64,
    window: MintWindow,
}

/// Report counts of one pool, in key order, from each group's `weights` (hotspot-days).
fn fill_counts<'a>(slots: impl Iterator<Item = &'a mut u64>, weights: &[f64]) {
    let total: f64 = weights.iter().map(|w| w * COUNT_RESOLUTION).sum();
    let k = if total > MAX_REPORTS {
        MAX_REPORTS / total
    } else {
        1.0
    };
    for (slot, w) in slots.zip(weights) {
        *slot = (w * COUNT_RESOLUTION * k).round() as u64;
    }
}

/// Buffers an epoch fills and the next reuses.
#[derive(Debug, Default)]
struct Scratch {
    weights: Vec<f64>,
    per_hotspot: Vec<f64>,
    groups: Vec<(f64, f64)>,
    owners: Vec<(f64, f64)>,
    monthly: Vec<f64>,
}

/// Simulates one run: a metrics row per epoch.
pub fn simulate(scenario: &Scenario, draws: &Draws) -> Vec<EpochMetrics> {
    let config = reward_config(scenario);
    let schedule = EmissionSchedule {
        initial_per_epoch: config.initial_emission,
        halving_interval: config.halving_interval,
    };
    let price = config.dc_price();
    let hosts = &scenario.hosts;
    let share_total: f64 = hosts.tiers.iter().map(|t| t.share).sum();
    let shares: Vec<f64> = hosts.tiers.iter().map(|t| t.share / share_total).collect();
    // A new hotspot lands in a tier by the tiers' shares; an adversary's key claims its
    // multiple of an average honest hotspot's witnesses.
    let mean_witnesses: f64 = hosts
        .tiers
        .iter()
        .zip(&shares)
        .map(|(t, s)| t.witnesses_per_day * s)
        .sum();
    let departures = scenario.departures();
    let mut state = State {
        tiers: shares.iter().map(|s| hosts.initial_hotspots * s).collect(),
        earned: vec![0.0; shares.len()],
        minted: 0,
        burned: 0,
        unclaimed: 0,
        window: MintWindow {
            window_secs: (scenario.token.mint_window_epochs.max(1) as i64)
                .saturating_mul(EPOCH_SECS),
            limit: (config.initial_emission as f64 * scenario.token.mint_window_multiple) as u64,
            value: 0,
            updated_ts: 0,
        },
    };
    let epochs = scenario.epochs();
    let mut out = Vec::with_capacity(epochs as usize);
    let adv = adversary_key();
    let mut activity = Activity::default();
    let mut data = DataActivity::default();
    for (i, t) in hosts.tiers.iter().enumerate() {
        let k = tier_key(i);
        activity
            .scales
            .insert(k, (t.scale * SCALE_ONE as f64).round() as u64);
        activity.beacons.insert(k, 0);
        activity.witnesses.insert(k, 0);
        data.carried.insert(k, 0);
    }
    activity.beacons.insert(adv, 0);
    activity.witnesses.insert(adv, 0);
    let mut scratch = Scratch::default();
    for epoch in 1..=epochs {
        let day = (epoch - 1) as usize;
        let usd = draws.price[day];
        for (d, fraction) in &departures {
            if u64::from(*d) == epoch {
                for n in &mut state.tiers {
                    *n *= 1.0 - fraction;
                }
            }
        }
        let honest: f64 = state.tiers.iter().sum();
        let a = &scenario.adversary;
        let adversary_keys = honest * a.share / (1.0 - a.share);
        let unfound = adversary_keys * (1.0 - a.detection);

        // The maps keep their keys from epoch to epoch, in key order: the tiers' (`tier_key`)
        // then the adversary's; values are updated in place.
        scratch.weights.clear();
        scratch.weights.extend(state.tiers.iter().copied());
        scratch.weights.push(unfound);
        fill_counts(activity.beacons.values_mut(), &scratch.weights);
        scratch.weights.clear();
        scratch.weights.extend(
            hosts
                .tiers
                .iter()
                .zip(&state.tiers)
                .map(|(t, n)| n * t.witnesses_per_day),
        );
        scratch
            .weights
            .push(unfound * mean_witnesses * a.witness_multiplier);
        fill_counts(activity.witnesses.values_mut(), &scratch.weights);

        // Devices' credits, bought by burning at the peg; carried by the honest tiers.
        let wanted = credits_wanted(scenario, draws, day, usd);
        let carriers: f64 = hosts
            .tiers
            .iter()
            .zip(&state.tiers)
            .map(|(t, n)| t.traffic * n)
            .sum();
        let (wanted, burn) = if carriers > 0.0 && wanted >= 1.0 {
            let credits = wanted.min(1e18) as u64;
            // Whole base units: what buy_credits burns for at least `credits` credits.
            let burn_for = |credits: u64| {
                (u128::from(credits) * u128::from(TOKEN_BASE_UNITS))
                    .div_ceil(u128::from(config.dc_per_token.max(1)))
                    .min(u128::from(u64::MAX / 4)) as u64
            };
            // Nobody burns tokens that do not exist: demand beyond the supply goes unmet.
            let supply = state.minted.saturating_sub(state.burned);
            let credits = if burn_for(credits) <= supply {
                credits
            } else {
                price.credits_for(supply).min(credits)
            };
            (credits, burn_for(credits))
        } else {
            (0, 0)
        };
        let mut left = wanted;
        let last = hosts.tiers.len() - 1;
        for (i, ((t, n), slot)) in hosts
            .tiers
            .iter()
            .zip(&state.tiers)
            .zip(data.carried.values_mut())
            .enumerate()
        {
            let dc = if wanted == 0 {
                0
            } else if i == last {
                left
            } else {
                ((wanted as f64 * t.traffic * n / carriers).floor() as u64).min(left)
            };
            left -= dc;
            *slot = dc;
        }
        data.charged.insert(OUI, wanted);
        let emission = schedule.emission(epoch);
        let rewards = compute_with_data(emission, &activity, &data, &config);
        state.burned = state.burned.saturating_add(burn);
        // Owners claim at the epoch's end what the mint window has room for; the rest waits.
        let now = (epoch as i64).saturating_mul(EPOCH_SECS);
        state.unclaimed = state.unclaimed.saturating_add(rewards.paid);
        let claim = state.unclaimed.min(state.window.room(now));
        if state.window.admit(claim, now).is_some() {
            state.minted = state.minted.saturating_add(claim);
            state.unclaimed -= claim;
        }
        let cap = mint_cap(&schedule, epoch, state.burned, u64::MAX, 0);

        let Scratch {
            weights: _,
            per_hotspot,
            groups,
            owners,
            monthly,
        } = &mut scratch;
        // What each group was paid, read off the rewards in one pass (keys name their group).
        per_hotspot.clear();
        per_hotspot.resize(state.tiers.len(), 0.0);
        let mut adversary_base = 0u64;
        for (k, r) in &rewards.rewards {
            match group_of(k) {
                Some(Group::Tier(i)) if i < per_hotspot.len() => per_hotspot[i] = tokens(r.total()),
                Some(Group::Adversary) => adversary_base = r.total(),
                _ => {}
            }
        }
        for (v, n) in per_hotspot.iter_mut().zip(&state.tiers) {
            *v = if *n > 0.0 { *v / n } else { 0.0 };
        }
        let adversary_paid = tokens(adversary_base);
        groups.clear();
        groups.extend(per_hotspot.iter().zip(&state.tiers).map(|(v, n)| (*v, *n)));
        groups.push((
            if unfound > 0.0 {
                adversary_paid / unfound
            } else {
                0.0
            },
            unfound,
        ));
        groups.push((0.0, adversary_keys - unfound));
        let honest_paid: f64 = per_hotspot
            .iter()
            .zip(&state.tiers)
            .map(|(v, n)| v * n)
            .sum();
        let fleet_share = hosts.fleet_share;
        owners.clear();
        owners.extend(
            per_hotspot
                .iter()
                .zip(&state.tiers)
                .map(|(v, n)| (*v, n * (1.0 - fleet_share))),
        );
        if fleet_share > 0.0 && hosts.fleets > 0 {
            owners.push((
                honest_paid * fleet_share / f64::from(hosts.fleets),
                f64::from(hosts.fleets),
            ));
        }
        owners.push((adversary_paid, 1.0));

        // Hosts' reaction: a month's smoothed earnings per hotspot of each tier.
        for (e, v) in state.earned.iter_mut().zip(per_hotspot.iter()) {
            *e = if epoch == 1 {
                *v
            } else {
                *e + (v - *e) / SMOOTHING_DAYS
            };
        }
        monthly.clear();
        monthly.extend(state.earned.iter().map(|e| e * usd * DAYS_PER_MONTH));
        let new_monthly: f64 = monthly.iter().zip(&shares).map(|(m, s)| m * s).sum();
        let payback = payback_months(hosts.hardware_usd, new_monthly - hosts.opex_usd_per_month);
        let new = if payback.is_finite() {
            hosts.max_new_per_day / (1.0 + (payback / hosts.target_payback_months).powi(2))
        } else {
            0.0
        };
        for ((n, m), s) in state.tiers.iter_mut().zip(monthly.iter()).zip(&shares) {
            let shortfall = if hosts.opex_usd_per_month > 0.0 {
                ((hosts.opex_usd_per_month - m) / hosts.opex_usd_per_month).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let churn = (hosts.churn_per_month + hosts.unprofitable_churn_per_month * shortfall)
                / DAYS_PER_MONTH;
            *n = (*n * (1.0 - churn.min(1.0)) + new * s).max(0.0);
        }

        let paid = tokens(rewards.paid);
        out.push(EpochMetrics {
            epoch,
            price_usd: usd,
            hotspots: honest,
            adversary_keys,
            emission: tokens(emission),
            paid,
            dust: tokens(rewards.dust),
            remint: tokens(rewards.remint),
            minted: tokens(state.minted),
            unclaimed: tokens(state.unclaimed),
            scheduled: tokens(schedule.cumulative(epoch)),
            burned: tokens(state.burned),
            supply: tokens(state.minted) - tokens(state.burned),
            net_emission: paid - tokens(burn),
            dc_burned: wanted as f64,
            tokens_burned: tokens(burn),
            reward_usd_per_hotspot_month: if honest > 0.0 {
                honest_paid / honest * usd * DAYS_PER_MONTH
            } else {
                0.0
            },
            payback_months: payback,
            data_share: if rewards.paid > 0 {
                rewards.data_paid as f64 / rewards.paid as f64
            } else {
                0.0
            },
            gini: metrics::gini(groups),
            nakamoto: metrics::nakamoto(owners),
            adversary_take: if paid > 0.0 {
                adversary_paid / paid
            } else {
                0.0
            },
            mint_headroom: tokens(cap) - tokens(state.minted),
        });
    }
    out
}

/// Credits devices want on `day` (0-based) at price `usd`.
fn credits_wanted(scenario: &Scenario, draws: &Draws, day: usize, usd: f64) -> f64 {
    let d = &scenario.demand;
    if d.stops_on_day.is_some_and(|stop| day + 1 >= stop as usize) {
        return 0.0;
    }
    let ramp = if d.ramp_days == 0 {
        1.0
    } else {
        ((day + 1) as f64 / f64::from(d.ramp_days)).min(1.0)
    };
    let wanted = d.initial_dc_per_day
        * (d.growth_per_year * day as f64 / 365.0).exp()
        * draws.demand_noise[day]
        * (scenario.price.initial_usd / usd).powf(d.price_elasticity)
        * ramp;
    // Beyond what any network carries (an overflowing growth): as much as can be counted.
    if wanted.is_nan() {
        0.0
    } else {
        wanted.clamp(0.0, 1e18)
    }
}

/// Months a hotspot takes to pay back `hardware` dollars netting `net_monthly` a month
/// (infinite when it nets nothing).
pub fn payback_months(hardware: f64, net_monthly: f64) -> f64 {
    if net_monthly > 0.0 {
        hardware / net_monthly
    } else {
        f64::INFINITY
    }
}

/// Adversary's keys' totals over a run: what they were paid (dollars at each epoch's price)
/// and what their keys cost to onboard.
pub fn adversary_return(scenario: &Scenario, rows: &[EpochMetrics]) -> (f64, f64) {
    let paid: f64 = rows
        .iter()
        .map(|r| r.adversary_take * r.paid * r.price_usd)
        .sum();
    let keys = rows.iter().map(|r| r.adversary_keys).fold(0.0, f64::max);
    (paid, keys * scenario.adversary.onboarding_usd)
}
