//! The anti-gaming scorecard: a scenario ([`hexproof_fixtures::Scenario`]) run for its epochs
//! through the whole demo pipeline (gated broker, agents on the simulated medium, oracle,
//! embedded chain) twice — with its adversaries, and the same network without them — and
//! scored from what the oracle stored: who was paid, who was found, who was hurt.
//!
//! Data enters as a scenario and a state directory; it leaves as a [`Scorecard`] (printed as a
//! table, or JSON), with the scenario's bounds checked.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    sync::Arc,
    time::Instant,
};

use anyhow::Context;
use hexproof_client::Chain;
use hexproof_fixtures::{Behaviour, Network, Scenario, scenario::Bounds};
use hexproof_poc::{
    Kind, Status, detect::Code, rewards::RewardConfig, rewards::activity::FRAUD_REASONS,
};
use hexproof_proto::PublicKey;
use oracle::{explorer::ExplorerConfig, store::Store};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::{DemoOptions, DemoSummary};

/// How far (true positions, metres) an honest hotspot may be from an adversary's radio or
/// asserted place to count as its neighbour.
pub const NEIGHBOUR_M: f64 = 3_000.0;

/// One adversary kind's result (a wash trader's coverage is honest; its `return_on_credits`
/// is what is scored).
#[derive(Debug, Clone, Serialize)]
pub struct KindScore {
    pub kind: String,
    pub keys: usize,
    /// Physical radios behind those keys (a farm's keys share one; a ring has none).
    pub radios: usize,
    pub paid: u64,
    /// `paid` ÷ the fair share of its radios (at least one): 1.0 is what an honest radio
    /// earns on average, 0.0 is nothing.
    pub reward_over_fair_share: f64,
    /// Keys caught: a finding, or rejected reports and nothing earned, in some epoch.
    pub caught: usize,
    /// Keys of which the oracle stored nothing at all (dormant, or refused by the broker).
    pub inert: usize,
    /// Findings and rejection reasons on the kind's own reports, with counts.
    pub codes: BTreeMap<String, u64>,
    /// Epochs until every key of the kind was caught (1: the first epoch); `None` when one
    /// never was.
    pub epochs_to_detection: Option<u64>,
    /// Lamports locked in the kind's on-chain hotspot and ledger accounts (onboarding rent).
    pub rent_lamports: u64,
    /// Onboarding fees the kind's registered keys paid into the treasury.
    pub fee_lamports: u64,
    /// Its return on what it spent on chain (rewards per lamport of fees and rent) ÷ the
    /// honest hotspots' return on theirs ([`return_over`]): below 1.0 a key of this kind earns
    /// less per SOL than an honest key, 0.0 when it earned nothing; `None` when the honest
    /// hotspots earned nothing. Hardware is not counted: an honest key also pays for a radio,
    /// a ring's key does not.
    pub return_over_honest: Option<f64>,
    /// Location re-assertions the kind needed (its keys each assert once, at onboarding).
    pub moves: u64,
    /// Data rewards its keys were paid (not in `paid`, which is coverage).
    pub data_paid: u64,
    /// A wash trader's return on the credits its org spent: its keys' data rewards ÷ the
    /// tokens those credits were bought with (at the deployment's one price, so this holds at
    /// any token price). Must stay ≤ 1.00; `None` for kinds without an org.
    pub return_on_credits: Option<f64>,
}

/// `paid` tokens back for `charged` credits at `dc_per_token`: `None` when nothing was spent.
pub fn return_on_credits(paid: u64, charged: u64, dc_per_token: u64) -> Option<f64> {
    let cost = hexproof_commitment::DcPrice { dc_per_token }.tokens_for(charged);
    (cost > 0).then(|| paid as f64 / cost as f64)
}

/// The whole scorecard.
#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    pub scenario: String,
    pub hotspots: usize,
    pub adversary_keys: usize,
    pub epochs: Vec<u64>,
    pub paid: u64,
    pub adversary_paid: u64,
    pub adversary_share_bps: u64,
    /// What the honest hotspots earned with the adversaries, and in the run without them.
    pub honest_paid: u64,
    pub honest_paid_without_adversaries: u64,
    /// Relative loss in basis points (negative: they earned more).
    pub honest_loss_bps: i64,
    pub honest_hotspots: usize,
    /// Honest hotspots suspended (a finding, or fraud suspension that cost them an epoch they
    /// earned in without adversaries), by name.
    pub false_positives: Vec<String>,
    pub false_positive_bps: u64,
    /// Honest hotspots within [`NEIGHBOUR_M`] of an adversary, and how many of them were hit.
    pub neighbours: usize,
    pub neighbour_false_positives: usize,
    pub kinds: Vec<KindScore>,
    /// The deployment's onboarding fee, lamports per key.
    pub onboarding_fee_lamports: u64,
    /// What the honest hotspots spent onboarding (fees and rent), lamports.
    pub honest_spent_lamports: u64,
    pub bounds: Bounds,
    pub pass: bool,
    pub seconds: f64,
}

/// What one run stored, per hotspot and epoch.
#[derive(Debug, Default)]
struct Outcome {
    epochs: Vec<u64>,
    /// (hotspot, epoch index) → paid for coverage.
    paid: BTreeMap<(PublicKey, usize), u64>,
    /// (hotspot, epoch index) → paid from the data pool.
    data: BTreeMap<(PublicKey, usize), u64>,
    /// Credits charged per org over the run.
    charged: BTreeMap<u64, u64>,
    /// (hotspot, epoch index) → findings' codes.
    findings: BTreeMap<(PublicKey, usize), Vec<Code>>,
    /// (hotspot, epoch index) → invalid reports by reason code.
    rejected: BTreeMap<(PublicKey, usize), BTreeMap<String, u64>>,
    /// (hotspot, epoch index) → fraud-reason rejections.
    fraud: BTreeMap<(PublicKey, usize), u64>,
    /// Hotspots with any judged report.
    seen: BTreeSet<PublicKey>,
}

impl Outcome {
    async fn read(summary: &DemoSummary, database: &str) -> anyhow::Result<Outcome> {
        let store = Store::connect(database).await?;
        let rewards = RewardConfig {
            epoch_secs: summary.epoch_secs,
            genesis_ns: summary.genesis_ns,
            ..RewardConfig::default()
        };
        let mut o = Outcome::default();
        for (i, report) in summary.epochs.iter().enumerate() {
            let n = report.epoch;
            o.epochs.push(n);
            let e = store.closed_epoch(n).await?.context("closed epoch")?;
            for r in &e.rows {
                *o.paid.entry((r.hotspot, i)).or_default() += r.beacon + r.witness;
                *o.data.entry((r.hotspot, i)).or_default() += r.data;
            }
            for org in &e.orgs {
                *o.charged.entry(org.oui).or_default() += org.dc;
            }
            for f in store.findings(Some(n), None, u32::MAX).await? {
                o.findings
                    .entry((f.finding.hotspot, i))
                    .or_default()
                    .push(f.finding.code);
            }
            let (start, end) = rewards.bounds(n);
            for t in store.epoch_tallies(start, end).await? {
                o.seen.insert(t.hotspot);
                if t.status != Status::Invalid {
                    continue;
                }
                if let Some(reason) = t.reason {
                    let code = format!("{}/{}", t.kind.name(), reason.code());
                    *o.rejected
                        .entry((t.hotspot, i))
                        .or_default()
                        .entry(code)
                        .or_default() += t.count;
                    if t.kind == Kind::Witness && FRAUD_REASONS.contains(&reason) {
                        *o.fraud.entry((t.hotspot, i)).or_default() += t.count;
                    }
                }
            }
        }
        Ok(o)
    }

    fn paid(&self, k: &PublicKey) -> u64 {
        (0..self.epochs.len())
            .map(|i| self.paid.get(&(*k, i)).copied().unwrap_or(0))
            .sum()
    }

    fn total(&self) -> u64 {
        self.paid.values().sum()
    }

    /// The first epoch index in which `k` was caught: a finding, or rejected reports and
    /// nothing paid.
    fn caught_at(&self, k: &PublicKey) -> Option<usize> {
        (0..self.epochs.len()).find(|&i| {
            self.findings.contains_key(&(*k, i))
                || (self.rejected.contains_key(&(*k, i))
                    && self.paid.get(&(*k, i)).copied().unwrap_or(0) == 0)
        })
    }
}

/// Runs `scenario` twice (with and without its adversaries) and scores it.
pub async fn run(
    scenario: &Scenario,
    state_dir: PathBuf,
    progress: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<Scorecard> {
    let started = Instant::now();
    let (with, without) = scenario.networks()?;
    let adversarial = run_once(
        &with,
        "with-adversaries",
        scenario,
        &state_dir,
        progress,
        &shutdown,
    )
    .await
    .context("the run with adversaries")?;
    let clean = run_once(
        &without, "without", scenario, &state_dir, progress, &shutdown,
    )
    .await
    .context("the run without adversaries")?;
    let (a, chain) = adversarial;
    let (c, _) = clean;
    score(scenario, &with, &a, &c, &chain, started).await
}

async fn run_once(
    network: &Network,
    name: &str,
    scenario: &Scenario,
    state_dir: &std::path::Path,
    progress: bool,
    shutdown: &CancellationToken,
) -> anyhow::Result<(Outcome, Arc<Chain>)> {
    let dir = state_dir.join(name);
    // A scorecard starts from nothing: an earlier run's database and chain in the same state
    // directory would be resumed (its epochs already closed), not measured.
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("clearing the earlier run in {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("network.json");
    std::fs::write(&file, network.to_json())?;
    let admin = oracle::chain::pubkey(&network.oracles[0].pubkey);
    let chain = Arc::new(
        Chain::embedded(&admin)
            .await
            .with_priority_fee(oracle::chain::DEFAULT_PRIORITY_FEE),
    );
    let database = format!("sqlite://{}", dir.join("oracle.db").display());
    let opts = DemoOptions {
        network_file: file,
        epochs: Some(scenario.run.epochs),
        epoch_secs: scenario.run.epoch_secs,
        speed: scenario.run.speed,
        beacon_interval_secs: scenario.run.beacon_interval_secs,
        broker: None,
        database: Some(database.clone()),
        state_dir: dir,
        explorer: ExplorerConfig {
            grpc_listen: None,
            http_listen: None,
            ..Default::default()
        },
        progress,
        oracles: 1,
        metrics: false,
        medium: crate::MediumModel {
            link_shadowing_db: f64::from(scenario.medium.link_shadowing_ddb) / 10.0,
            fading_db: f64::from(scenario.medium.fading_ddb) / 10.0,
            ..Default::default()
        },
        // Scenarios score proof of coverage; packets are not part of them yet.
        devices: 0,
        maker_listen: None,
    };
    if progress {
        eprintln!("scorecard: {} ({} hotspots)", name, network.hotspots.len());
    }
    let summary = crate::run(opts, chain.clone(), shutdown.clone(), |e| {
        if progress {
            crate::print_epoch(e);
        }
    })
    .await?;
    anyhow::ensure!(
        summary.epochs.len() as u64 == scenario.run.epochs,
        "stopped after {} of {} epochs",
        summary.epochs.len(),
        scenario.run.epochs
    );
    Ok((Outcome::read(&summary, &database).await?, chain))
}

/// What registering a key cost on chain: the rent locked in its hotspot and ledger accounts,
/// and the onboarding fee of a key that was ever registered (its ledger is never closed; a
/// scenario onboards each key once).
async fn onboarding_cost(chain: &Chain, key: &PublicKey, fee: u64) -> anyhow::Result<(u64, u64)> {
    let account = oracle::chain::pubkey(key);
    let record = chain
        .balance(&hexproof_client::pda::hotspot(&account))
        .await?;
    let ledger = chain
        .balance(&hexproof_client::pda::ledger(&account))
        .await?;
    Ok((record + ledger, if ledger > 0 { fee } else { 0 }))
}

/// A kind's return on what it spent over the honest hotspots' return on theirs, each
/// (rewards, lamports spent): `None` when the honest hotspots earned or spent nothing (no
/// yardstick), 0.0 when the kind earned nothing, and a kind that spent nothing but earned is
/// measured as if it had spent one lamport.
pub fn return_over(
    (paid, spent): (u64, u64),
    (honest_paid, honest_spent): (u64, u64),
) -> Option<f64> {
    if honest_paid == 0 || honest_spent == 0 {
        return None;
    }
    let honest = honest_paid as f64 / honest_spent as f64;
    Some(paid as f64 / spent.max(1) as f64 / honest)
}

fn bps(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        0
    } else {
        (u128::from(part) * 10_000 / u128::from(whole)) as u64
    }
}

async fn score(
    scenario: &Scenario,
    network: &Network,
    a: &Outcome,
    clean: &Outcome,
    chain: &Chain,
    started: Instant,
) -> anyhow::Result<Scorecard> {
    let honest: Vec<_> = network
        .hotspots
        .iter()
        .filter(|h| h.behaviour == Behaviour::Honest)
        .collect();
    // A wash trader's radios are honest coverage (kept, as honest, in the run without
    // adversaries): what it earns for coverage is not an adversary's take. Its cheat is the
    // traffic it pays for, scored by its return on the credits spent.
    let adversaries: Vec<_> = network
        .hotspots
        .iter()
        .filter(|h| !matches!(h.behaviour, Behaviour::Honest | Behaviour::WashTrader))
        .collect();
    let paid = a.total();
    let adversary_paid: u64 = adversaries.iter().map(|h| a.paid(&h.key.pubkey)).sum();
    let honest_paid: u64 = honest.iter().map(|h| a.paid(&h.key.pubkey)).sum();
    let honest_without: u64 = honest.iter().map(|h| clean.paid(&h.key.pubkey)).sum();
    let honest_loss_bps = if honest_without == 0 {
        0
    } else {
        ((i128::from(honest_without) - i128::from(honest_paid)) * 10_000
            / i128::from(honest_without)) as i64
    };

    // False positives: a suspending finding, or fraud suspension in an epoch the hotspot
    // earned in without adversaries.
    let suspended = |k: &PublicKey, i: usize| {
        a.findings
            .get(&(*k, i))
            .is_some_and(|codes| codes.iter().any(|c| c.suspends()))
            || (a.fraud.get(&(*k, i)).copied().unwrap_or(0)
                >= RewardConfig::default().fraud_suspension_threshold
                && a.paid.get(&(*k, i)).copied().unwrap_or(0) == 0
                && clean.paid.get(&(*k, i)).copied().unwrap_or(0) > 0)
    };
    let hit: BTreeSet<PublicKey> = honest
        .iter()
        .filter(|h| (0..a.epochs.len()).any(|i| suspended(&h.key.pubkey, i)))
        .map(|h| h.key.pubkey)
        .collect();
    let places: Vec<(f64, f64)> = adversaries
        .iter()
        .flat_map(|h| {
            let truth = (h.true_lat_e7 as f64 / 1e7, h.true_lon_e7 as f64 / 1e7);
            let asserted = h
                .asserted_location
                .parse::<h3o::CellIndex>()
                .map(|c| {
                    let ll = h3o::LatLng::from(c);
                    (ll.lat(), ll.lng())
                })
                .unwrap_or(truth);
            [truth, asserted]
        })
        .collect();
    let neighbours: Vec<_> = honest
        .iter()
        .filter(|h| {
            let at = (h.true_lat_e7 as f64 / 1e7, h.true_lon_e7 as f64 / 1e7);
            places
                .iter()
                .any(|p| hexproof_proto::rf::distance_m(at.0, at.1, p.0, p.1) <= NEIGHBOUR_M)
        })
        .collect();

    // Radios: honest one each; per kind as played.
    let radios_of = |kind: Behaviour, keys: &[&hexproof_fixtures::Hotspot]| -> usize {
        match kind {
            Behaviour::Ring | Behaviour::Dormant | Behaviour::MqttWitnessFarm => 0,
            Behaviour::KeyFarm => keys
                .iter()
                .filter_map(|h| h.group)
                .collect::<BTreeSet<_>>()
                .len(),
            _ => keys.len(),
        }
    };
    let mut by_kind: BTreeMap<Behaviour, Vec<&hexproof_fixtures::Hotspot>> = BTreeMap::new();
    for h in network
        .hotspots
        .iter()
        .filter(|h| h.behaviour != Behaviour::Honest)
    {
        by_kind.entry(h.behaviour).or_default().push(h);
    }
    let total_radios = honest.len()
        + by_kind
            .iter()
            .map(|(k, keys)| radios_of(*k, keys))
            .sum::<usize>();
    let per_radio = paid as f64 / total_radios.max(1) as f64;
    let on_chain = hexproof_client::read::config(chain).await?;
    let fee = on_chain.as_ref().map_or(0, |c| c.onboarding_fee);
    let dc_per_token = on_chain
        .as_ref()
        .map_or(RewardConfig::default().dc_per_token, |c| c.dc_per_token);
    let mut honest_spent = 0;
    for h in &honest {
        let (rent, fee) = onboarding_cost(chain, &h.key.pubkey, fee).await?;
        honest_spent += rent + fee;
    }
    let mut kinds = Vec::new();
    for (kind, keys) in &by_kind {
        let radios = radios_of(*kind, keys);
        let kind_paid: u64 = keys.iter().map(|h| a.paid(&h.key.pubkey)).sum();
        let data_paid: u64 = keys
            .iter()
            .map(|h| {
                (0..a.epochs.len())
                    .map(|i| a.data.get(&(h.key.pubkey, i)).copied().unwrap_or(0))
                    .sum::<u64>()
            })
            .sum();
        let mut codes: BTreeMap<String, u64> = BTreeMap::new();
        let (mut rent, mut fees) = (0, 0);
        let mut caught = 0;
        let inert = keys
            .iter()
            .filter(|h| !a.seen.contains(&h.key.pubkey))
            .count();
        let mut last: Option<usize> = Some(0);
        for h in keys {
            let k = h.key.pubkey;
            for i in 0..a.epochs.len() {
                for c in a.findings.get(&(k, i)).into_iter().flatten() {
                    *codes.entry(format!("finding/{c}")).or_default() += 1;
                }
                for (code, n) in a.rejected.get(&(k, i)).into_iter().flatten() {
                    *codes.entry(code.clone()).or_default() += n;
                }
            }
            match a.caught_at(&k) {
                Some(i) => {
                    caught += 1;
                    last = last.map(|l| l.max(i + 1));
                }
                None => last = None,
            }
            let (r, f) = onboarding_cost(chain, &k, fee).await?;
            rent += r;
            fees += f;
        }
        kinds.push(KindScore {
            kind: kind.name().to_string(),
            keys: keys.len(),
            radios,
            paid: kind_paid,
            reward_over_fair_share: kind_paid as f64 / (per_radio * radios.max(1) as f64).max(1.0),
            caught,
            inert,
            codes,
            epochs_to_detection: last.map(|l| l as u64),
            rent_lamports: rent,
            fee_lamports: fees,
            return_over_honest: return_over((kind_paid, rent + fees), (honest_paid, honest_spent)),
            moves: 0,
            data_paid,
            return_on_credits: (*kind == Behaviour::WashTrader)
                .then(|| {
                    return_on_credits(
                        data_paid,
                        a.charged.get(&crate::run::WASH_OUI).copied().unwrap_or(0),
                        dc_per_token,
                    )
                })
                .flatten(),
        });
    }
    let adversary_share_bps = bps(adversary_paid, paid);
    let false_positive_bps = bps(hit.len() as u64, honest.len() as u64);
    let b = &scenario.bounds;
    let pass = adversary_share_bps < b.max_adversary_share_bps
        && honest_loss_bps < b.max_honest_loss_bps as i64
        && false_positive_bps < b.max_false_positive_bps
        && kinds
            .iter()
            .all(|k| k.return_on_credits.is_none_or(|r| r <= 1.0));
    Ok(Scorecard {
        scenario: scenario.name.clone(),
        hotspots: network.hotspots.len(),
        adversary_keys: adversaries.len(),
        epochs: a.epochs.clone(),
        paid,
        adversary_paid,
        adversary_share_bps,
        honest_paid,
        honest_paid_without_adversaries: honest_without,
        honest_loss_bps,
        honest_hotspots: honest.len(),
        false_positives: honest
            .iter()
            .filter(|h| hit.contains(&h.key.pubkey))
            .map(|h| h.name.clone())
            .collect(),
        false_positive_bps,
        neighbours: neighbours.len(),
        neighbour_false_positives: neighbours
            .iter()
            .filter(|h| hit.contains(&h.key.pubkey))
            .count(),
        kinds,
        onboarding_fee_lamports: fee,
        honest_spent_lamports: honest_spent,
        bounds: b.clone(),
        pass,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A return over the honest one, or "n/a" without a yardstick.
fn shown(r: Option<f64>) -> String {
    r.map_or("n/a".to_string(), |r| format!("{r:.2}"))
}

fn pct(bps: i64) -> String {
    format!("{:.2} %", bps as f64 / 100.0)
}

/// Several scorecards as one table: a line per scenario, its three measures against their
/// bounds, the kinds that earned anything (with their reward over a fair share, and their
/// return per SOL spent over the honest hotspots') and those never caught.
pub fn print_table(cards: &[Scorecard]) {
    println!(
        "{:<16} {:>8} {:>6} {:>10} {:>10} {:>10}  {:<4}  kinds paid (÷ fair, return ÷ honest) · never caught",
        "scenario", "hotspots", "adv.", "adv. share", "honest -", "false +", ""
    );
    for s in cards {
        let paid: Vec<String> = s
            .kinds
            .iter()
            .filter(|k| k.paid > 0 && k.return_on_credits.is_none())
            .map(|k| {
                format!(
                    "{} {:.2}, {}",
                    k.kind,
                    k.reward_over_fair_share,
                    shown(k.return_over_honest)
                )
            })
            .chain(
                s.kinds
                    .iter()
                    .filter_map(|k| Some((k, k.return_on_credits?)))
                    .map(|(k, r)| format!("{} {r:.2} on credits", k.kind)),
            )
            .collect();
        let free: Vec<String> = s
            .kinds
            .iter()
            .filter(|k| k.return_on_credits.is_none() && k.caught < k.keys && k.inert < k.keys)
            .map(|k| format!("{} {}/{}", k.kind, k.keys - k.caught - k.inert, k.keys))
            .collect();
        println!(
            "{:<16} {:>8} {:>6} {:>10} {:>10} {:>10}  {:<4}  {} · {}",
            s.scenario,
            s.hotspots,
            s.adversary_keys,
            pct(s.adversary_share_bps as i64),
            pct(s.honest_loss_bps),
            pct(s.false_positive_bps as i64),
            if s.pass { "PASS" } else { "FAIL" },
            if paid.is_empty() {
                "none".to_string()
            } else {
                paid.join(", ")
            },
            if free.is_empty() {
                "none".to_string()
            } else {
                free.join(", ")
            },
        );
    }
}

/// The scorecard as a table.
pub fn print(s: &Scorecard) {
    let mark = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!(
        "── scorecard: {} ── {} hotspots, {} adversary keys, epochs {:?}, {:.0} s",
        s.scenario, s.hotspots, s.adversary_keys, s.epochs, s.seconds
    );
    println!(
        "   adversaries' share of rewards   {:>9}  (bound {})  {}",
        pct(s.adversary_share_bps as i64),
        pct(s.bounds.max_adversary_share_bps as i64),
        mark(s.adversary_share_bps < s.bounds.max_adversary_share_bps)
    );
    println!(
        "   honest loss vs no adversaries   {:>9}  (bound {})  {}   [{} vs {}]",
        pct(s.honest_loss_bps),
        pct(s.bounds.max_honest_loss_bps as i64),
        mark(s.honest_loss_bps < s.bounds.max_honest_loss_bps as i64),
        s.honest_paid,
        s.honest_paid_without_adversaries
    );
    println!(
        "   honest false positives          {:>9}  (bound {})  {}   [{} of {}; {} of {} neighbours]",
        pct(s.false_positive_bps as i64),
        pct(s.bounds.max_false_positive_bps as i64),
        mark(s.false_positive_bps < s.bounds.max_false_positive_bps),
        s.false_positives.len(),
        s.honest_hotspots,
        s.neighbour_false_positives,
        s.neighbours
    );
    println!(
        "   onboarding fee {:.4} SOL per key (a maker pays it for the hardware it sells and prices \
         it in: a Sybil key costs it too); honest hotspots spent {:.4} SOL (fees and rent)",
        s.onboarding_fee_lamports as f64 / 1e9,
        s.honest_spent_lamports as f64 / 1e9
    );
    println!(
        "   {:<18} {:>4} {:>6} {:>10} {:>8} {:>7} {:>5} {:>9} {:>11} {:>9} {:>10}  codes",
        "kind",
        "keys",
        "radios",
        "paid",
        "÷ fair",
        "caught",
        "inert",
        "epochs",
        "spent (SOL)",
        "÷ honest",
        "on credits"
    );
    for k in &s.kinds {
        let codes: Vec<String> = k.codes.iter().map(|(c, n)| format!("{c}×{n}")).collect();
        println!(
            "   {:<18} {:>4} {:>6} {:>10} {:>8.2} {:>4}/{:<2} {:>5} {:>9} {:>11.4} {:>9} {:>10}  {}",
            k.kind,
            k.keys,
            k.radios,
            k.paid,
            k.reward_over_fair_share,
            k.caught,
            k.keys,
            k.inert,
            k.epochs_to_detection
                .map_or("never".to_string(), |e| e.to_string()),
            (k.rent_lamports + k.fee_lamports) as f64 / 1e9,
            shown(k.return_over_honest),
            shown(k.return_on_credits),
            codes.join(" ")
        );
    }
    for k in s.kinds.iter().filter(|k| k.return_on_credits.is_some()) {
        println!(
            "   {} return on credits spent  {:>9}  (bound 1.00)  {}   [{} data rewards]",
            k.kind,
            shown(k.return_on_credits),
            mark(k.return_on_credits.is_none_or(|r| r <= 1.0)),
            k.data_paid
        );
    }
    println!("   {}", if s.pass { "PASS" } else { "FAIL" });
}

#[cfg(test)]
mod tests {
    use super::return_over;

    /// Returns are per lamport spent, against the honest hotspots'; no yardstick, no figure.
    #[test]
    fn a_kinds_return_is_per_lamport_against_the_honest_ones() {
        // Honest: 1,000 tokens for 10 lamports (100 per lamport).
        let honest = (1_000, 10);
        assert_eq!(return_over((200, 4), honest), Some(0.5));
        assert_eq!(return_over((800, 4), honest), Some(2.0));
        assert_eq!(return_over((0, 4), honest), Some(0.0));
        // Spent nothing (a key never registered) but paid: per one lamport.
        assert_eq!(return_over((300, 0), honest), Some(3.0));
        assert_eq!(return_over((300, 4), (0, 10)), None);
        assert_eq!(return_over((300, 4), (1_000, 0)), None);
    }
}
