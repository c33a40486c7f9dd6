//! The maker: the company that made a hotspot pays for its owner's transactions, so that the
//! owner needs no SOL (account abstraction; Helium's maker onboarding server does the same).
//!
//! Data enters as JSON over HTTP ([`service`]): an owner's agent asks to onboard, assert,
//! transfer, accept or claim (`hexproof_proto::maker::Action`). The maker pays only for keys it
//! made ([`policy`]: its made-keys list, a daily budget, rates per key and per address), checks
//! the request against the chain and builds the instructions ([`build`]), and answers a message
//! in which it is the fee payer. The agent signs it with the hotspot key and the owner's wallet;
//! the maker adds its signature and sends it. Data leaves as Solana transactions, metrics
//! (`hexproof_maker_*`) and alarms: a budget spent or a balance running low is an error log
//! and a metric, and the owner is told in words, never a silent failure.

pub mod build;
pub mod policy;
pub mod service;

use std::{
    collections::HashMap,
    net::IpAddr,
    path::{Path, PathBuf},
    sync::Mutex,
    time::{Duration, Instant},
};

use hexproof_client::{Chain, ChainError, Keypair, Pubkey, Signer};
use hexproof_proto::{
    PublicKey,
    maker::{Action, Prepared, Refusal, RefusalCode, Submit, Submitted, decode_hex, encode_hex},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use policy::{Denied, Limits, Policy};

/// `[maker]`: the maker service's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MakerConfig {
    /// Where the HTTP API listens.
    pub listen: String,
    /// Prometheus metrics (`hexproof_maker_*`, the alarms among them); none when absent.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The maker's wallet (Solana CLI keypair file): pays every fee, rent and onboarding fee.
    pub keypair: PathBuf,
    /// The keys it made, one base58 public key a line (`#` starts a comment).
    pub made_keys: PathBuf,
    /// JSON-RPC URL of the cluster.
    pub rpc_url: String,
    /// Compute-unit price offered, micro-lamports per CU.
    pub priority_fee: u64,
    /// How often the balance is checked for the low-balance alarm, seconds.
    pub balance_check_secs: u64,
    /// How long a prepared message waits for its signatures, seconds (a blockhash lives
    /// about 60–90 s).
    pub message_ttl_secs: u64,
    /// Whom and how much it pays for (`[limits]`).
    pub limits: Limits,
}

impl Default for MakerConfig {
    fn default() -> Self {
        MakerConfig {
            listen: "127.0.0.1:8090".into(),
            metrics_listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 9465))),
            keypair: "maker.json".into(),
            made_keys: "made-keys.txt".into(),
            rpc_url: "http://127.0.0.1:8899".into(),
            priority_fee: crate::chain::DEFAULT_PRIORITY_FEE,
            balance_check_secs: 30,
            message_ttl_secs: 60,
            limits: Limits::default(),
        }
    }
}

impl MakerConfig {
    /// Defaults, then the file (when given), then the environment (`MAKER_…`).
    pub fn load(file: Option<&Path>) -> Result<MakerConfig, Box<figment::Error>> {
        hexproof_proto::config::load(file, "MAKER_")
    }
}

/// Runs the maker until `shutdown`: loads its wallet and made keys, serves the API.
pub async fn run(
    config: MakerConfig,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let key = hexproof_proto::Keypair::read_file(&config.keypair)
        .with_context(|| format!("loading the maker's wallet {}", config.keypair.display()))?;
    let made = read_made_keys(&config.made_keys)?;
    if let Some(addr) = config.metrics_listen {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .with_context(|| format!("starting the metrics endpoint on {addr}"))?;
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let chain =
        std::sync::Arc::new(Chain::rpc(&config.rpc_url).with_priority_fee(config.priority_fee));
    tracing::info!(
        listen = %config.listen,
        payer = %key.public(),
        made = made.len(),
        "maker serving"
    );
    let maker = std::sync::Arc::new(Maker::new(
        chain,
        crate::chain::solana_keypair(&key),
        made,
        config,
    ));
    service::serve(maker, listener, shutdown).await;
    Ok(())
}

/// Reads a made-keys file: one base58 key a line, blank lines and `#` comments skipped.
pub fn read_made_keys(path: &Path) -> anyhow::Result<Vec<PublicKey>> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the made-keys file {}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(i, l)| (i, l.split('#').next().unwrap_or("").trim()))
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| {
            l.parse()
                .with_context(|| format!("{} line {}: not a public key", path.display(), i + 1))
        })
        .collect()
}

/// Why the maker did not do what it was asked, typed; [`MakerError::refusal`] is what the
/// owner reads.
#[derive(Debug, thiserror::Error)]
pub enum MakerError {
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(
        "the maker's account holds {balance} lamports and this needs {cost}: its operator has \
         been alarmed; try again later"
    )]
    OutOfFunds { balance: u64, cost: u64 },
    #[error("this message was not prepared here or has expired: prepare it again")]
    Expired,
    #[error("{0}")]
    BadSignature(String),
    #[error("{0}")]
    Refused(String),
    /// What was asked is the chain's state already.
    #[error("{0}")]
    Done(String),
    #[error("the cluster could not be reached: {0}")]
    Unavailable(String),
}

impl From<ChainError> for MakerError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::TooLarge(_) => MakerError::BadRequest(e.to_string()),
            e => MakerError::Unavailable(e.to_string()),
        }
    }
}

impl MakerError {
    pub fn code(&self) -> RefusalCode {
        match self {
            MakerError::BadRequest(_) => RefusalCode::BadRequest,
            MakerError::Denied(Denied::NotEntitled(_)) => RefusalCode::NotEntitled,
            MakerError::Denied(Denied::KeyRate(..) | Denied::AddressRate(_)) => {
                RefusalCode::RateLimited
            }
            MakerError::Denied(Denied::BudgetSpent { .. }) => RefusalCode::BudgetSpent,
            MakerError::OutOfFunds { .. } => RefusalCode::OutOfFunds,
            MakerError::Expired => RefusalCode::Expired,
            MakerError::BadSignature(_) => RefusalCode::BadSignature,
            MakerError::Refused(_) => RefusalCode::Refused,
            MakerError::Done(_) => RefusalCode::Done,
            MakerError::Unavailable(_) => RefusalCode::Unavailable,
        }
    }

    pub fn refusal(&self) -> Refusal {
        Refusal {
            code: self.code(),
            error: self.to_string(),
        }
    }
}

/// An alarm the maker raised (also an error log and `hexproof_maker_alarms_total`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarm {
    pub reason: AlarmReason,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmReason {
    /// The balance is under `low_balance_lamports`.
    LowBalance,
    /// A request was refused because the account could not pay.
    OutOfFunds,
    /// A request was refused because today's budget is spent.
    BudgetSpent,
}

/// What `/v1/status` shows the maker's operator (and anyone: all of it is public on chain or
/// harmless).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MakerStatus {
    pub payer: PublicKey,
    pub balance: u64,
    pub low_balance_lamports: u64,
    pub spent_today: u64,
    pub daily_budget_lamports: u64,
    /// Raised since start, oldest first (the last 100).
    pub alarms: Vec<Alarm>,
}

/// A message waiting for its signatures.
struct Pending {
    tx: hexproof_client::Transaction,
    action: Action,
    cost: u64,
    expires: Instant,
}

/// Prepared messages held at most, and per hotspot (a stranger preparing claims for many
/// hotspots fills neither for everyone).
const MAX_PENDING: usize = 10_000;
const PENDING_PER_KEY: usize = 4;

/// A hotspot whose transaction is being sent, released when dropped.
struct InFlight<'a> {
    set: &'a Mutex<std::collections::HashSet<PublicKey>>,
    key: PublicKey,
}

impl<'a> InFlight<'a> {
    fn take(set: &'a Mutex<std::collections::HashSet<PublicKey>>, key: PublicKey) -> Option<Self> {
        lock(set).insert(key).then_some(InFlight { set, key })
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        lock(self.set).remove(&self.key);
    }
}
/// Sends of one signed transaction whose fate was unknown (the cluster applies it once).
const SEND_ATTEMPTS: u32 = 3;

impl std::fmt::Debug for Maker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Maker({})", self.payer_key)
    }
}

/// The maker: its wallet, its books and the messages it prepared.
pub struct Maker {
    chain: std::sync::Arc<Chain>,
    payer: Keypair,
    config: MakerConfig,
    policy: Mutex<Policy>,
    pending: Mutex<HashMap<[u8; 32], Pending>>,
    alarms: Mutex<Vec<Alarm>>,
    /// Hotspots whose transaction is being sent.
    in_flight: Mutex<std::collections::HashSet<PublicKey>>,
    /// The hexproof-proto key of the payer.
    payer_key: PublicKey,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Maker {
    pub fn new(
        chain: std::sync::Arc<Chain>,
        payer: Keypair,
        made: Vec<PublicKey>,
        config: MakerConfig,
    ) -> Maker {
        let payer_key = PublicKey::from(payer.pubkey().to_bytes());
        Maker {
            chain,
            payer,
            policy: Mutex::new(Policy::new(made, config.limits.clone())),
            config,
            pending: Mutex::default(),
            alarms: Mutex::default(),
            in_flight: Mutex::default(),
            payer_key,
        }
    }

    pub fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    fn alarm(&self, reason: AlarmReason, message: String) {
        tracing::error!(?reason, "maker alarm: {message}");
        let label = match reason {
            AlarmReason::LowBalance => "low_balance",
            AlarmReason::OutOfFunds => "out_of_funds",
            AlarmReason::BudgetSpent => "budget_spent",
        };
        metrics::counter!("hexproof_maker_alarms_total", "reason" => label).increment(1);
        let mut alarms = lock(&self.alarms);
        alarms.push(Alarm { reason, message });
        let excess = alarms.len().saturating_sub(100);
        alarms.drain(..excess);
    }

    /// Reads the balance, records it, and alarms when it is under the low mark.
    pub async fn check_balance(&self) -> Result<u64, MakerError> {
        let balance = self.chain.balance(&self.payer()).await?;
        metrics::gauge!("hexproof_maker_balance_lamports").set(balance as f64);
        let low = self.config.limits.low_balance_lamports;
        let is_low = balance < low;
        metrics::gauge!("hexproof_maker_low_balance").set(if is_low { 1.0 } else { 0.0 });
        if is_low {
            self.alarm(
                AlarmReason::LowBalance,
                format!(
                    "the maker's account {} holds {balance} lamports, under its low mark of \
                     {low}: fund it before owners are refused",
                    self.payer()
                ),
            );
        }
        Ok(balance)
    }

    pub async fn status(&self) -> Result<MakerStatus, MakerError> {
        let balance = self.chain.balance(&self.payer()).await?;
        let now = now_secs();
        Ok(MakerStatus {
            payer: self.payer_key,
            balance,
            low_balance_lamports: self.config.limits.low_balance_lamports,
            spent_today: lock(&self.policy).spent_today(now),
            daily_budget_lamports: self.config.limits.daily_budget_lamports,
            alarms: lock(&self.alarms).clone(),
        })
    }

    /// Checks and prepares `action` asked from `address`: a message to sign.
    pub async fn prepare(&self, action: Action, address: IpAddr) -> Result<Prepared, MakerError> {
        let outcome = self.prepare_inner(action, address).await;
        let label = match &outcome {
            Ok(_) => "prepared",
            Err(e) => code_label(e.code()),
        };
        metrics::counter!("hexproof_maker_requests_total", "outcome" => label).increment(1);
        outcome
    }

    async fn prepare_inner(&self, action: Action, address: IpAddr) -> Result<Prepared, MakerError> {
        let now = now_secs();
        lock(&self.policy).admit(action.hotspot(), address, now)?;
        let plan = build::plan(
            &self.chain,
            &self.payer(),
            self.config.priority_fee,
            &action,
        )
        .await?;
        if let Err(denied) = lock(&self.policy).affordable(plan.cost, now) {
            self.alarm(AlarmReason::BudgetSpent, denied.to_string());
            return Err(denied.into());
        }
        let balance = self.chain.balance(&self.payer()).await?;
        if balance < plan.cost {
            let e = MakerError::OutOfFunds {
                balance,
                cost: plan.cost,
            };
            self.alarm(AlarmReason::OutOfFunds, e.to_string());
            return Err(e);
        }
        let tx = self
            .chain
            .unsigned(&plan.instructions, &self.payer())
            .await?;
        let bytes = tx.message_data();
        let id: [u8; 32] = Sha256::digest(&bytes).into();
        let prepared = Prepared {
            message: encode_hex(&bytes),
            fee_payer: self.payer_key,
            signers: action.signers(),
            cost_lamports: plan.cost,
        };
        let mut pending = lock(&self.pending);
        let at = Instant::now();
        pending.retain(|_, p| p.expires > at);
        let of_key = pending
            .values()
            .filter(|p| p.action.hotspot() == action.hotspot())
            .count();
        if pending.len() >= MAX_PENDING || of_key >= PENDING_PER_KEY {
            return Err(MakerError::Unavailable(
                "too many messages wait for signatures: try again in a minute".into(),
            ));
        }
        pending.insert(
            id,
            Pending {
                tx,
                action,
                cost: plan.cost,
                expires: at + Duration::from_secs(self.config.message_ttl_secs),
            },
        );
        Ok(prepared)
    }

    /// Takes the signatures of a prepared message, signs it as fee payer and sends it.
    pub async fn submit(&self, submit: Submit) -> Result<Submitted, MakerError> {
        let outcome = self.submit_inner(submit).await;
        let label = match &outcome {
            Ok(_) => "sent",
            Err(e) => code_label(e.code()),
        };
        metrics::counter!("hexproof_maker_submissions_total", "outcome" => label).increment(1);
        outcome
    }

    async fn submit_inner(&self, submit: Submit) -> Result<Submitted, MakerError> {
        let bytes =
            decode_hex(&submit.message).map_err(|e| MakerError::BadRequest(e.to_string()))?;
        let id: [u8; 32] = Sha256::digest(&bytes).into();
        // Signatures are checked before the message is taken out (a bad submit of someone
        // else's message destroys nothing); then it is sent once.
        let (mut tx, action) = lock(&self.pending)
            .get(&id)
            .filter(|p| p.expires > Instant::now())
            .map(|p| (p.tx.clone(), p.action.clone()))
            .ok_or(MakerError::Expired)?;
        let required = usize::from(tx.message.header.num_required_signatures);
        for s in &submit.signatures {
            let key = Pubkey::new_from_array(s.pubkey.to_bytes());
            let at = tx.message.account_keys[..required]
                .iter()
                .position(|k| *k == key)
                .filter(|&i| i > 0)
                .ok_or_else(|| MakerError::BadSignature(format!("{} need not sign", s.pubkey)))?;
            let raw: [u8; 64] = bs58::decode(&s.signature)
                .into_vec()
                .ok()
                .and_then(|v| v.try_into().ok())
                .ok_or_else(|| {
                    MakerError::BadSignature("a signature is not base58 of 64 bytes".into())
                })?;
            let ok = s.pubkey.verifying_key().is_ok_and(|k| {
                k.verify_strict(&bytes, &ed25519_dalek::Signature::from_bytes(&raw))
                    .is_ok()
            });
            if !ok {
                return Err(MakerError::BadSignature(format!(
                    "{}'s signature does not verify over this message",
                    s.pubkey
                )));
            }
            tx.signatures[at] = raw.into();
        }
        for want in action.signers() {
            if !submit.signatures.iter().any(|s| s.pubkey == want) {
                return Err(MakerError::BadSignature(format!("{want} has not signed")));
            }
        }
        let pending = lock(&self.pending).remove(&id).ok_or(MakerError::Expired)?;
        let blockhash = tx.message.recent_blockhash;
        tx.try_partial_sign(&[&self.payer], blockhash)
            .map_err(|e| MakerError::BadSignature(e.to_string()))?;
        // One transaction of a hotspot at a time: a second would be paid for and fail.
        let _sending = InFlight::take(&self.in_flight, *action.hotspot()).ok_or_else(|| {
            MakerError::Unavailable(
                "a transaction of this hotspot is being sent: try again in a minute".into(),
            )
        })?;
        let now = now_secs();
        {
            let mut policy = lock(&self.policy);
            policy.count_key(action.hotspot(), now)?;
            policy.spend(pending.cost, now).inspect_err(|d| {
                self.alarm(AlarmReason::BudgetSpent, d.to_string());
            })?;
        }
        let mut attempt = 0;
        let signature = loop {
            attempt += 1;
            match self.chain.submit(&tx).await {
                Ok(s) => break s,
                Err(e) if e.unreachable() && attempt < SEND_ATTEMPTS => {
                    tracing::warn!(%e, attempt, "sending again");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                Err(e) if e.blockhash_expired() => {
                    // Never applied: nothing spent.
                    lock(&self.policy).refund(pending.cost, now);
                    return Err(MakerError::Expired);
                }
                Err(e) => {
                    // Refused (possibly on chain, its fee paid) or unknown after every attempt
                    // (possibly applied): the books keep the charge, erring on the safe side.
                    return Err(if e.unreachable() {
                        MakerError::Unavailable(e.to_string())
                    } else {
                        MakerError::Refused(refusal_words(&e))
                    });
                }
            }
        };
        tracing::info!(
            action = pending.action.instruction(),
            hotspot = %pending.action.hotspot(),
            %signature,
            cost = pending.cost,
            "maker paid"
        );
        metrics::counter!("hexproof_maker_spent_lamports_total").increment(pending.cost);
        // Sent: a failed balance read must not turn it into a refusal.
        let maker_balance = match self.check_balance().await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(%e, "reading the maker's balance after a send");
                0
            }
        };
        Ok(Submitted {
            signature: signature.to_string(),
            maker_balance,
        })
    }
}

fn code_label(code: RefusalCode) -> &'static str {
    match code {
        RefusalCode::BadRequest => "bad_request",
        RefusalCode::NotEntitled => "not_entitled",
        RefusalCode::RateLimited => "rate_limited",
        RefusalCode::BudgetSpent => "budget_spent",
        RefusalCode::OutOfFunds => "out_of_funds",
        RefusalCode::Expired => "expired",
        RefusalCode::BadSignature => "bad_signature",
        RefusalCode::Refused => "refused",
        RefusalCode::Done => "done",
        RefusalCode::Unavailable => "unavailable",
    }
}

/// The program's refusal in words: its error's message when it is one of the program's.
fn refusal_words(e: &ChainError) -> String {
    use hexproof_client::HexproofError;
    match e.program_error().and_then(|c| c.checked_sub(6000)) {
        Some(i) => HexproofError::ALL
            .get(i as usize)
            .map_or_else(|| e.to_string(), |x| format!("the program refused it: {x}")),
        None => format!("the program refused it: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)]
    fn the_example_config_is_the_default_and_the_environment_overrides_it() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("maker.example.toml");
        figment::Jail::expect_with(|jail| {
            let config = MakerConfig::load(Some(&example)).map_err(|e| e.to_string())?;
            assert_eq!(config, MakerConfig::default());
            jail.set_env("MAKER_LIMITS__PER_KEY_PER_DAY", "3");
            let config = MakerConfig::load(Some(&example)).map_err(|e| e.to_string())?;
            assert_eq!(config.limits.per_key_per_day, 3);
            Ok(())
        });
    }

    #[test]
    fn made_keys_files_skip_comments_and_name_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("made.txt");
        let key = PublicKey::from([7; 32]);
        std::fs::write(&path, format!("# batch 1\n{key}  # unit 1\n\n")).unwrap();
        assert_eq!(read_made_keys(&path).unwrap(), vec![key]);
        std::fs::write(&path, format!("{key}\nnot-a-key\n")).unwrap();
        let e = read_made_keys(&path).unwrap_err();
        assert!(format!("{e:#}").contains("line 2"), "{e:#}");
    }
}
