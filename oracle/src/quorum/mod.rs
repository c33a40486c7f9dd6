//! Several independent oracles signing the same epochs (M of N).
//!
//! Each member of an oracle set has its own key, database and broker session, so each holds a
//! slightly different picture: reports received a few milliseconds apart, or not at all while
//! it was down. Members therefore do not sign what they computed alone; for each epoch they
//! agree on its *inputs*:
//!
//! 1. When the epoch is ready (its end plus the close delay has passed, every report has a
//!    verdict), the member at position `(epoch + round) mod N` of the sorted set proposes.
//!    Rounds last `round_secs` of real time on the network clock (then twice, four and eight
//!    times that, so members too slow for a round get longer ones), so members agree on whose
//!    turn it is; a proposer that is down or refused simply lets the next round come. It asks
//!    every peer for what it holds of the epoch's input window (`GetReports`: reports, entropy
//!    and a signed attestation of when it received each report; a broker drops messages for a
//!    slow or absent session, so every member misses different ones) and proposes the union
//!    ([`inputs::propose`]): each report received at the lower median of the attested times
//!    ([`attest`]), every attestation included.
//! 2. The others fetch the proposal over gRPC ([`board`]), check it ([`inputs::check`]: the
//!    attestations are members', theirs is in when they gave one, every time is the median,
//!    nothing they received before the cut-off and no entropy they hold is left out), replay
//!    it from scratch ([`inputs::replay`]) and endorse (sign) the root only when they
//!    reproduce the proposer's.
//! 3. The proposer, once it holds `threshold` endorsements of its root, submits them in one
//!    transaction; the program accepts the first and refuses any later root for that epoch.
//!    The chain is the arbiter: every member adopts the root that landed (its own candidate,
//!    or inputs of that root fetched from a peer and replayed), stores it as its closed epoch,
//!    and takes the reports and entropy it missed ([`inputs::catch_up`]).
//!
//! Since the inputs fix every received time, rules that rest on an oracle's own received time
//! give the same verdicts on every member, and a member whose session lagged does not block
//! the others (its times are outvoted, not refused). Reports are signed by hotspots, so a
//! proposer can leave some out (refused) but never invent or change one; with every honest
//! member's attestation in, the median lies within honest times. Nothing is lost or paid twice
//! when no quorum forms: the epoch waits, the next round proposes again, and the program takes
//! an epoch only once.

pub mod attest;
pub mod auth;
pub mod board;
pub mod inputs;
mod rogue;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use anyhow::Context;
use hexproof_client::{Chain, read};
use hexproof_poc::{
    Limits,
    rewards::{
        RewardConfig,
        epoch::{ClosedEpoch, Lifetimes},
    },
};
use hexproof_proto::{Keypair, PublicKey, clock::Clock, v1};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::{epochs::Computed, registry::Registry, store::Store};
pub use board::Board;
use board::Peers;
pub use rogue::Rogue;
use rogue::Steer;

/// `[quorum]` in the oracle's configuration: the other members of its oracle set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuorumConfig {
    /// Where this member answers the others (`hexproof.v1.Quorum` over gRPC, members only):
    /// apart from the public explorer, so operators can firewall it to the set's addresses.
    pub listen: std::net::SocketAddr,
    /// The other members and where their Quorum service answers (their `[quorum] listen`).
    /// Empty: this oracle is alone and signs what it computes.
    pub peers: Vec<Peer>,
    /// Signatures an epoch needs (the program's threshold).
    pub threshold: u8,
    /// How long each member's turn to propose lasts, seconds of real time.
    pub round_secs: u64,
    /// Slack between members' clocks and sessions, milliseconds of real time (an accelerated
    /// simulation scales it like every other window): a report this member received this long
    /// before a proposal's cut-off must be in it, and a cut-off may be this far ahead of our
    /// clock.
    pub received_tolerance_ms: u64,
    /// How long a call to a peer may take, answer included, milliseconds of real time (at most
    /// `round_secs`); a proposer gathers from all peers at once.
    pub peer_timeout_ms: u64,
    /// The largest answer taken from a peer (an epoch's inputs), MiB.
    pub max_message_mib: u32,
    /// Test and demo hook: this member cheats as told. Never read from a file.
    #[serde(skip)]
    pub rogue: Option<Rogue>,
}

impl Default for QuorumConfig {
    fn default() -> Self {
        QuorumConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 50052)),
            peers: Vec::new(),
            threshold: 1,
            round_secs: 30,
            received_tolerance_ms: 1_000,
            peer_timeout_ms: 10_000,
            max_message_mib: 256,
            rogue: None,
        }
    }
}

/// Another member of the set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    pub key: PublicKey,
    /// `http://host:port` of its gRPC API.
    pub url: String,
}

impl QuorumConfig {
    /// Every member's peers from the list of all members: the others.
    pub fn others(all: &[Peer], me: &PublicKey) -> Vec<Peer> {
        all.iter().filter(|p| p.key != *me).cloned().collect()
    }

    /// The set, sorted: this member and its peers.
    pub fn set(&self, me: &PublicKey) -> Vec<PublicKey> {
        let mut set: Vec<PublicKey> = self.peers.iter().map(|p| p.key).collect();
        set.push(*me);
        set.sort();
        set.dedup();
        set
    }

    /// A round's length, ns of the network clock.
    pub fn round_ns(&self, clock: Clock) -> u64 {
        self.round_secs
            .max(1)
            .saturating_mul(1_000_000_000)
            .saturating_mul(u64::from(clock.speed()))
    }

    /// The slack between members, ns of the network clock.
    pub fn tolerance_ns(&self, clock: Clock) -> u64 {
        self.received_tolerance_ms
            .saturating_mul(1_000_000)
            .saturating_mul(u64::from(clock.speed()))
    }

    /// How long a call to a peer may take (real time): the configured timeout, at most the
    /// first round's length (later rounds are longer).
    pub fn peer_timeout(&self) -> Duration {
        Duration::from_millis(
            self.peer_timeout_ms
                .min(self.round_secs.max(1).saturating_mul(1000))
                .max(100),
        )
    }

    /// The largest answer taken from a peer, bytes.
    pub fn max_message(&self) -> usize {
        (self.max_message_mib.max(1) as usize).saturating_mul(1 << 20)
    }
}

/// When `epoch` is ready to agree on: its end plus the close delay, network ns.
pub fn ready_ns(rewards: &RewardConfig, epoch: u64) -> u64 {
    let (_, end) = rewards.bounds(epoch);
    end.saturating_add(rewards.close_delay_secs.saturating_mul(1_000_000_000))
}

/// Whose turn it is to propose `epoch` in `round`, of the sorted `set`.
pub fn proposer(set: &[PublicKey], epoch: u64, round: u64) -> PublicKey {
    let n = set.len().max(1) as u64;
    set.get((epoch.wrapping_add(round) % n) as usize)
        .copied()
        .unwrap_or(PublicKey::from([0; 32]))
}

/// Which round of `epoch` it is at `now_ns`, and whose turn to propose.
pub fn turn(
    rewards: &RewardConfig,
    set: &[PublicKey],
    epoch: u64,
    now_ns: u64,
    round_ns: u64,
) -> (u64, PublicKey) {
    let round = round_at(now_ns.saturating_sub(ready_ns(rewards, epoch)), round_ns);
    (round, proposer(set, epoch, round))
}

/// The round `elapsed` ns after an epoch became ready, with rounds of `base`, `2 base`,
/// `4 base`, then `8 base` each: a set whose members are too slow to finish a round (gather,
/// replay, check, replay) in `base` gets longer ones until they do.
pub fn round_at(elapsed: u64, base: u64) -> u64 {
    let base = base.max(1);
    let mut start = 0u64;
    for r in 0..3 {
        let len = base << r;
        if elapsed < start + len {
            return r;
        }
        start += len;
    }
    3 + (elapsed - start) / (base << 3)
}

/// One member's duty: agree on each epoch, land it, claim for owners.
#[derive(Debug)]
pub struct Member {
    pub store: Store,
    pub registry: Arc<dyn Registry>,
    pub limits: Limits,
    pub rewards: RewardConfig,
    pub key: Keypair,
    pub config: QuorumConfig,
    pub chain: Arc<Chain>,
    pub payer: hexproof_client::Keypair,
    pub claim: bool,
    pub clock: Clock,
    pub board: Arc<Board>,
}

/// This member's candidate for an epoch in one round.
#[derive(Debug, Clone)]
struct Candidate {
    round: u64,
    proposer: PublicKey,
    proposal: Arc<v1::Proposal>,
    /// `None`: the proposal was refused.
    closed: Option<Computed>,
}

/// Inputs as agreed: `proposal` marked agreed, carrying the signatures its epoch landed with.
fn agreed_inputs(
    proposal: &v1::Proposal,
    closed: &ClosedEpoch,
    signatures: &Signatures,
) -> v1::Proposal {
    v1::Proposal {
        agreed: true,
        signatures: signatures
            .iter()
            .map(|(k, s)| board::endorsement(closed, k, s))
            .collect(),
        ..proposal.clone()
    }
}

/// Members' signatures of one epoch message, by member.
type Signatures = Vec<(PublicKey, [u8; 64])>;

/// Every hotspot's lifetime amount after a closed epoch (what the next one closes on).
/// The running state of [`Member::run`].
struct Progress {
    set: Vec<PublicKey>,
    peers: Peers,
    deployment: hexproof_commitment::Deployment,
    candidate: Option<(u64, Candidate)>,
    /// The epoch this member landed, its root and the signatures it went with.
    landed: Option<(u64, [u8; 32], Signatures)>,
    /// Since when this member waits for the signatures of a landed epoch.
    adopting: Option<(u64, std::time::Instant)>,
    /// The landed epoch whose orgs' charges are still to settle and (a claiming member's)
    /// owners' claims to send.
    claim_due: Option<u64>,
    /// A rogue's turns so far, and what it gathered ahead of time.
    rogue: rogue::State,
}

impl Member {
    /// How long one gathering of the peers' holdings may take, network nanoseconds: how old
    /// an attestation a proposal may carry is, at most, this and the clock tolerance.
    fn gather_ns(&self) -> u64 {
        u64::try_from(self.config.peer_timeout().as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_mul(u64::from(self.clock.speed()))
    }

    /// Whose turn it is to propose `epoch` at `now_ns`, and which round that is.
    pub fn turn(&self, set: &[PublicKey], epoch: u64, now_ns: u64) -> (u64, PublicKey) {
        turn(
            &self.rewards,
            set,
            epoch,
            now_ns,
            self.config.round_ns(self.clock),
        )
    }

    /// What a replay needs: the same for every member.
    fn rules<'a>(&'a self, set: &'a [PublicKey]) -> inputs::Rules<'a> {
        inputs::Rules {
            registry: self.registry.clone(),
            limits: &self.limits,
            rewards: &self.rewards,
            set,
        }
    }

    /// Agrees on epochs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let set = self.config.set(&self.key.public());
        let peers: Vec<(PublicKey, String)> = self
            .config
            .peers
            .iter()
            .map(|p| (p.key, p.url.clone()))
            .collect();
        let peers = match Peers::new(&peers, &self.key, &self.config, self.config.peer_timeout()) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "quorum peers; no epochs will close");
                return;
            }
        };
        let mut progress = Progress {
            set,
            peers,
            deployment: hexproof_commitment::Deployment {
                program_id: self.rewards.program_id.to_bytes(),
                id: self.rewards.deployment.0,
            },
            candidate: None,
            landed: None,
            adopting: None,
            claim_due: None,
            rogue: rogue::State::default(),
        };
        self.check_set_on_chain(&progress.set).await;
        let mut next = None;
        let mut failures = 0u32;
        loop {
            let step = async {
                let e = match next {
                    Some(e) => e,
                    None => match self.first_epoch().await? {
                        Some(e) => e,
                        None => return Ok(false),
                    },
                };
                next = Some(e);
                self.claims(&mut progress).await;
                self.step(&mut progress, e).await
            };
            match step.await {
                Ok(true) => {
                    failures = 0;
                    next = next.map(|e| e + 1);
                    continue;
                }
                Ok(false) => failures = 0,
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(20) {
                        tracing::warn!(error = %format!("{e:#}"), "quorum; will retry");
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }

    /// Says loudly when `[quorum]` and the program disagree about the set or its threshold:
    /// signatures of keys outside the program's set do not count, and a threshold below the
    /// program's lands nothing.
    async fn check_set_on_chain(&self, set: &[PublicKey]) {
        match read::config(&self.chain).await {
            Ok(Some(on_chain)) => {
                let mut chain_set: Vec<PublicKey> = on_chain
                    .oracles
                    .iter()
                    .map(|k| PublicKey::from(k.to_bytes()))
                    .collect();
                chain_set.sort();
                if chain_set != set || on_chain.threshold != self.config.threshold {
                    tracing::error!(
                        configured = set.len(),
                        configured_threshold = self.config.threshold,
                        on_chain = chain_set.len(),
                        on_chain_threshold = on_chain.threshold,
                        "[quorum] does not match the program's oracle set; epochs may never land"
                    );
                }
            }
            Ok(None) => tracing::warn!("the program is not initialized yet"),
            Err(e) => tracing::warn!(error = %e, "reading the program's oracle set"),
        }
    }

    /// The first epoch to agree on: after the newest this member closed; else the newest on
    /// chain (adopted, so lifetimes continue from it); else the epoch of the first report.
    async fn first_epoch(&self) -> anyhow::Result<Option<u64>> {
        if let Some(e) = self.store.last_closed_epoch().await? {
            return Ok(Some(e + 1));
        }
        let on_chain = read::config(&self.chain)
            .await?
            .context("the program is not initialized")?;
        if on_chain.epoch > 0 {
            return Ok(Some(on_chain.epoch));
        }
        Ok(self
            .store
            .first_report_ns()
            .await?
            .map(|t| self.rewards.epoch_of(t).max(1)))
    }

    /// One look at `epoch`; `true` once this member stored it as landed.
    async fn step(&self, p: &mut Progress, epoch: u64) -> anyhow::Result<bool> {
        if self.store.closed_epoch(epoch).await?.is_some() {
            return Ok(true);
        }
        let on_chain = read::config(&self.chain)
            .await?
            .context("the program is not initialized")?;
        if on_chain.epoch == epoch {
            return self.adopt(p, epoch, on_chain.root).await;
        }
        if on_chain.epoch > epoch {
            return self
                .adopt_past(p, epoch, on_chain.epoch, on_chain.root)
                .await;
        }
        let now = self.clock.now_ns();
        if self.config.rogue == Some(Rogue::Steer) {
            self.gather_early(p, epoch, now).await;
        }
        if !crate::epochs::ready(&self.store, &self.rewards, epoch, now).await?
            || !self.stream_past(epoch, now).await?
        {
            return Ok(false);
        }
        let (round, proposer) = self.turn(&p.set, epoch, now);
        let current = p
            .candidate
            .as_ref()
            .is_some_and(|(e, c)| *e == epoch && c.round == round);
        if !current {
            match self.candidate(p, epoch, round, proposer, now).await? {
                Some(c) => p.candidate = Some((epoch, c)),
                None => return Ok(false),
            }
        }
        let Some((_, c)) = &p.candidate else {
            return Ok(false);
        };
        let Some(Computed { epoch: closed, .. }) = &c.closed else {
            return Ok(false);
        };
        // The proposer gathers its round's endorsements and lands the epoch.
        if c.proposer != self.key.public() {
            return Ok(false);
        }
        let mut signatures = self.endorsements_of(p, closed).await;
        // Exactly the program's threshold, from keys of the program's set: signatures the
        // program would not count only take packet room (seven fit, with a priority fee).
        signatures.retain(|(k, _)| on_chain.oracles.contains(&crate::chain::pubkey(k)));
        signatures.sort();
        signatures.truncate(usize::from(on_chain.threshold).saturating_sub(1));
        let landed = read::config(&self.chain)
            .await?
            .is_some_and(|c| c.epoch >= epoch);
        if landed {
            return Ok(false); // adopted at the next step
        }
        if 1 + signatures.len() >= usize::from(on_chain.threshold) {
            match crate::chain::submit_epoch(&self.chain, &self.payer, closed, &signatures).await {
                Ok(signature) => {
                    tracing::info!(epoch, round, signers = 1 + signatures.len(), %signature, "epoch landed");
                    // What it landed with, for the others to record.
                    let mut all = signatures.clone();
                    all.push((self.key.public(), closed.signature));
                    all.sort();
                    let agreed = agreed_inputs(&c.proposal, closed, &all);
                    self.board.propose(Arc::new(agreed));
                    p.landed = Some((epoch, closed.root, all));
                }
                Err(e) => tracing::warn!(epoch, error = %format!("{e:#}"), "submitting the epoch"),
            }
        } else if self.config.rogue.is_some() {
            // A rogue member tries its own root alone: the program must refuse it.
            if let Err(e) = crate::chain::submit_epoch(&self.chain, &self.payer, closed, &[]).await
            {
                tracing::info!(epoch, error = %format!("{e:#}"), "rogue submission refused");
            }
        }
        Ok(false)
    }

    /// A rogue about to propose with stale attestations asks its peers for their holdings of
    /// `epoch` a quarter of an epoch before its end (honest members refuse: not ready).
    async fn gather_early(&self, p: &mut Progress, epoch: u64, now: u64) {
        let (start, end) = self.rewards.bounds(epoch);
        let me = self.key.public();
        if p.rogue.next() != Steer::StaleAttestations
            || p.rogue.early.as_ref().is_some_and(|(e, _)| *e == epoch)
            || now < end - (end - start) / 4
            || proposer(&p.set, epoch, 0) != me
        {
            return;
        }
        let held: Vec<v1::Holdings> = p
            .peers
            .all(|peers, key| peers.reports(key, epoch, 0))
            .await
            .into_iter()
            .filter_map(|(_, h)| h)
            .collect();
        tracing::info!(
            epoch,
            peers = held.len(),
            "rogue: gathered attestations early"
        );
        p.rogue.early = Some((epoch, held));
    }

    /// Whether this member's stored reports have come past `epoch`'s end plus the close delay
    /// (a report stamped later is stored), or reports of the epoch can only be stale by now:
    /// a member whose ingest lags (the broker still queues for it) neither proposes nor checks
    /// an epoch whose reports it has not received yet.
    async fn stream_past(&self, epoch: u64, now: u64) -> anyhow::Result<bool> {
        let (_, end) = self.rewards.bounds(epoch);
        let past = end + self.rewards.close_delay_secs * 1_000_000_000;
        let stale = past + self.limits.max_report_age_secs * 1_000_000_000;
        if now >= stale {
            return Ok(true);
        }
        let skew = self.limits.max_future_skew_secs * 1_000_000_000;
        Ok(self.store.stored_stamped_since(past, skew).await?)
    }

    /// The other members' valid endorsements of exactly `closed`'s root and total.
    async fn endorsements_of(&self, p: &Progress, closed: &ClosedEpoch) -> Signatures {
        let deployment = &p.deployment;
        let epoch = closed.epoch;
        p.peers
            .all(|peers, key| peers.endorsement(key, epoch, deployment))
            .await
            .into_iter()
            .filter_map(|(key, e)| {
                let e = e?;
                (e.root == closed.root && e.lifetime_total == closed.lifetime_total)
                    .then(|| Some((key, <[u8; 64]>::try_from(e.signature.as_slice()).ok()?)))?
            })
            .collect()
    }

    /// Every peer's proposal of `epoch` (that says it is of `epoch`), asked at once.
    async fn proposals(&self, p: &Progress, epoch: u64) -> Vec<v1::Proposal> {
        p.peers
            .all(|peers, key| peers.proposal(key, epoch))
            .await
            .into_iter()
            .filter_map(|(_, proposal)| proposal.filter(|x| x.epoch == epoch))
            .collect()
    }

    async fn previous(&self, epoch: u64) -> anyhow::Result<Lifetimes> {
        Ok(if epoch > 1 {
            self.store.lifetimes_after(epoch - 1).await?
        } else {
            Lifetimes::default()
        })
    }

    /// This member's candidate for `epoch` in `round`: its own proposal, or the proposer's
    /// checked and replayed. `None` while the proposer has nothing to show.
    async fn candidate(
        &self,
        p: &mut Progress,
        epoch: u64,
        round: u64,
        proposer: PublicKey,
        now: u64,
    ) -> anyhow::Result<Option<Candidate>> {
        let set = p.set.clone();
        let rules = self.rules(&set);
        let previous = self.previous(epoch).await?;
        if proposer == self.key.public() {
            let steer = match &self.config.rogue {
                Some(Rogue::Steer) => Some(p.rogue.take()),
                _ => None,
            };
            // A rogue skipping the epoch proposes the next one's inputs under its number.
            let named = match steer {
                Some(Steer::SkipEpoch) => epoch + 1,
                _ => epoch,
            };
            // Everyone's holdings (what our session missed, another's may hold), attested,
            // asked of every peer at once.
            let mut holdings = vec![self.board.holdings(named, round).await?];
            match steer {
                Some(Steer::SkipEpoch) => {}
                Some(Steer::StaleAttestations) => holdings.extend(
                    p.rogue
                        .early
                        .take()
                        .filter(|(e, _)| *e == epoch)
                        .map(|(_, h)| h)
                        .unwrap_or_default(),
                ),
                _ => holdings.extend(
                    p.peers
                        .all(|peers, key| peers.reports(key, epoch, round))
                        .await
                        .into_iter()
                        .filter_map(|(_, held)| held),
                ),
            }
            // The cut-off: now, or the newest attestation of this round within the tolerance
            // ahead of it (a member whose clock runs a little ahead is not left out).
            let now = self.clock.now_ns();
            let ahead = now.saturating_add(self.config.tolerance_ns(self.clock));
            let cutoff = holdings
                .iter()
                .filter_map(|h| h.attestation.as_ref())
                .filter(|a| a.round == round && a.cutoff_ns <= ahead)
                .map(|a| a.cutoff_ns)
                .fold(now, u64::max);
            let window = inputs::attestation_window(
                cutoff,
                self.gather_ns(),
                self.config.tolerance_ns(self.clock),
            );
            let mut proposal = inputs::propose(
                &holdings,
                &self.rewards,
                named,
                round,
                &proposer,
                window,
                &p.set,
            );
            if steer == Some(Steer::RewriteTopic) {
                Rogue::rewrite_topic(&mut proposal);
            }
            let mut computed = inputs::replay(&proposal, &rules, &previous, &self.key).await?;
            if let Some(rogue) = &self.config.rogue {
                rogue.cheat(&mut computed.epoch, &self.key);
            }
            let closed = &computed.epoch;
            proposal.root = closed.root.to_vec();
            proposal.lifetime_total = closed.lifetime_total;
            let proposal = Arc::new(proposal);
            // Filed under the epoch asked for (a rogue's may name another).
            self.board.propose_as(epoch, proposal.clone());
            self.board.endorse(board::endorsement_of(closed));
            tracing::info!(epoch, round, reports = proposal.reports.len(), root = %hex::encode(closed.root), "proposed");
            return Ok(Some(Candidate {
                round,
                proposer,
                proposal,
                closed: Some(computed),
            }));
        }
        let Some(proposal) = p.peers.proposal(&proposer, epoch).await else {
            return Ok(None);
        };
        if proposal.agreed || proposal.round != round || proposal.proposer != proposer.to_bytes() {
            return Ok(None); // another round's: wait for this one's
        }
        let proposal = Arc::new(proposal);
        let me = self.key.public();
        let gather_ns = self.gather_ns();
        let expected = inputs::Expected {
            epoch,
            set: &p.set,
            me: &me,
            ours: self.board.attested(epoch, round),
            tolerance_ns: self.config.tolerance_ns(self.clock),
            gather_ns,
            now_ns: now,
        };
        let mut verdict = inputs::check(
            &proposal,
            &self.store,
            &self.rewards,
            &self.limits,
            &expected,
        )
        .await?;
        let mut closed = None;
        if verdict.is_ok() {
            let mut computed = inputs::replay(&proposal, &rules, &previous, &self.key).await?;
            let ours = &mut computed.epoch;
            if let Some(rogue) = &self.config.rogue {
                rogue.cheat(ours, &self.key);
            } else if ours.root.as_slice() != proposal.root.as_slice()
                || ours.lifetime_total != proposal.lifetime_total
            {
                verdict = Err(inputs::Refusal::Root {
                    ours: hex::encode(ours.root),
                    theirs: hex::encode(&proposal.root),
                });
            }
            if verdict.is_ok() {
                self.board.endorse(board::endorsement_of(ours));
                tracing::info!(epoch, round, %proposer, root = %hex::encode(ours.root), "endorsed");
                closed = Some(computed);
            }
        }
        if let Err(refusal) = &verdict {
            metrics::counter!("hexproof_quorum_refused_total", "reason" => refusal.code())
                .increment(1);
            tracing::warn!(epoch, round, %proposer, reason = refusal.code(), %refusal, "proposal refused");
        }
        Ok(Some(Candidate {
            round,
            proposer,
            proposal,
            closed,
        }))
    }

    /// The signatures an agreed proposal says its epoch landed with, when they are `threshold`
    /// valid signatures of distinct members over `root`.
    fn landed_with(
        &self,
        p: &Progress,
        proposal: &v1::Proposal,
        root: &[u8],
    ) -> Option<Signatures> {
        let mut signatures: BTreeMap<PublicKey, [u8; 64]> = BTreeMap::new();
        for e in &proposal.signatures {
            let key = PublicKey::from(<[u8; 32]>::try_from(e.oracle.as_slice()).ok()?);
            if e.root == root
                && e.epoch == proposal.epoch
                && e.lifetime_total == proposal.lifetime_total
                && p.set.contains(&key)
                && board::valid(e, &key, &p.deployment)
            {
                signatures.insert(key, <[u8; 64]>::try_from(e.signature.as_slice()).ok()?);
            }
        }
        (proposal.agreed
            && proposal.root == root
            && signatures.len() >= usize::from(self.config.threshold))
        .then(|| signatures.into_iter().collect())
    }

    /// Stores the epoch that landed as the chain's newest, with root `target`: from this
    /// member's own candidate, else from inputs of that root a peer has. The signatures recorded
    /// are the ones it landed with, as the member that landed it published them (after a grace
    /// period without them: the members' endorsements of that root that can still be seen).
    async fn adopt(&self, p: &mut Progress, epoch: u64, target: [u8; 32]) -> anyhow::Result<bool> {
        let mut proposals = self.proposals(p, epoch).await;
        // Agreed inputs first: a round's proposal of the same root (a rogue's may have the
        // landed root with inputs nobody agreed on) only when no agreed ones are shown.
        proposals.sort_by_key(|x| !x.agreed);
        let mut signatures = match &p.landed {
            Some((e, root, sigs)) if *e == epoch && *root == target => Some(sigs.clone()),
            _ => proposals
                .iter()
                .find_map(|x| self.landed_with(p, x, &target)),
        };
        if signatures.is_none() {
            let since = *p.adopting.get_or_insert((epoch, std::time::Instant::now()));
            if since.0 == epoch && since.1.elapsed() < Duration::from_secs(10) {
                return Ok(false); // the member that landed it publishes them in a moment
            }
        }
        // Our own candidate, else inputs of that root from whoever has them.
        let mut found = p
            .candidate
            .as_ref()
            .filter(|(e, c)| {
                *e == epoch && c.closed.as_ref().is_some_and(|x| x.epoch.root == target)
            })
            .map(|(_, c)| (c.proposal.clone(), c.closed.clone()));
        let endorsed_it = found.is_some();
        if found.is_none() {
            let set = p.set.clone();
            let rules = self.rules(&set);
            let previous = self.previous(epoch).await?;
            for proposal in proposals.into_iter().filter(|x| x.root == target) {
                // Inputs a peer shows may be junk under a landed root: an error is a mismatch.
                match inputs::replay(&proposal, &rules, &previous, &self.key).await {
                    Ok(closed) if closed.epoch.root == target => {
                        found = Some((Arc::new(proposal), Some(closed)));
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(epoch, error = %format!("{e:#}"), "a peer's inputs do not replay")
                    }
                }
            }
        }
        let Some((proposal, Some(computed))) = found else {
            tracing::debug!(epoch, "waiting for the inputs of the landed root");
            return Ok(false);
        };
        let signatures = match signatures.take() {
            Some(s) => s,
            None => {
                let mut seen = Vec::new();
                for key in p.peers.keys() {
                    if let Some(e) = p.peers.endorsement(key, epoch, &p.deployment).await
                        && e.root == target
                        && let Ok(signature) = <[u8; 64]>::try_from(e.signature.as_slice())
                    {
                        seen.push((*key, signature));
                    }
                }
                if endorsed_it {
                    seen.push((self.key.public(), computed.epoch.signature));
                }
                seen.sort();
                seen
            }
        };
        self.record(p, &proposal, computed, signatures).await?;
        Ok(true)
    }

    /// Stores the epochs from `from` to `newest` (the chain's newest, root `newest_root`), the
    /// chain having moved past `from` while this member was away: only roots that landed. The
    /// chain keeps only its newest root, so the agreed inputs peers show for the epochs in
    /// between (each with `threshold` members' signatures, which a root that never landed can
    /// have too) are replayed in order, each on the lifetimes of the one before, and taken only
    /// when they lead to `newest_root`: every lifetime amount is in it, so no other chain of
    /// roots does.
    async fn adopt_past(
        &self,
        p: &mut Progress,
        from: u64,
        newest: u64,
        newest_root: [u8; 32],
    ) -> anyhow::Result<bool> {
        /// Replays one catch-up may cost (each a whole epoch).
        const MAX_REPLAYS: usize = 256;
        let mut options: Vec<Vec<(v1::Proposal, Signatures)>> = Vec::new();
        for epoch in from..=newest {
            let mut roots: Vec<(v1::Proposal, Signatures)> = Vec::new();
            for x in self.proposals(p, epoch).await {
                // Every distinct one (another member may show junk inputs under a real root
                // with its real signatures: signatures cover the root, not the inputs).
                if (epoch < newest || x.root == newest_root)
                    && !roots.iter().any(|(o, _)| *o == x)
                    && let Some(signatures) = self.landed_with(p, &x, &x.root)
                {
                    roots.push((x, signatures));
                }
            }
            if roots.is_empty() {
                tracing::debug!(
                    epoch,
                    "waiting for the agreed inputs of an epoch that landed"
                );
                return Ok(false);
            }
            options.push(roots);
        }
        let set = p.set.clone();
        let rules = self.rules(&set);
        let base = self.previous(from).await?;
        // Depth first: (which option, its replay) per epoch so far.
        let mut path: Vec<(usize, Computed)> = Vec::new();
        let mut choice = 0;
        let mut replays = 0;
        while path.len() < options.len() {
            let i = path.len();
            if choice >= options[i].len() {
                match path.pop() {
                    Some((c, _)) => {
                        choice = c + 1;
                        continue;
                    }
                    None => {
                        tracing::warn!(
                            from,
                            newest,
                            "no agreed inputs shown lead to the root on chain"
                        );
                        return Ok(false);
                    }
                }
            }
            replays += 1;
            if replays > MAX_REPLAYS {
                return Ok(false);
            }
            let previous = match path.last() {
                Some((_, c)) => c.epoch.lifetimes(),
                None => base.clone(),
            };
            let proposal = &options[i][choice].0;
            match inputs::replay(proposal, &rules, &previous, &self.key).await {
                Ok(computed) if computed.epoch.root.as_slice() == proposal.root => {
                    path.push((choice, computed));
                    choice = 0;
                }
                _ => choice += 1,
            }
        }
        for (i, (choice, computed)) in path.into_iter().enumerate() {
            let (proposal, signatures) = &options[i][choice];
            self.record(p, &Arc::new(proposal.clone()), computed, signatures.clone())
                .await?;
        }
        Ok(true)
    }

    /// Stores a landed epoch (its findings, closed epoch and signatures), takes the reports
    /// and entropy of its inputs this member missed, and shows its agreed inputs to the others.
    async fn record(
        &self,
        p: &mut Progress,
        proposal: &Arc<v1::Proposal>,
        computed: Computed,
        signatures: Signatures,
    ) -> anyhow::Result<()> {
        let Computed {
            epoch: closed,
            findings,
        } = computed;
        let epoch = closed.epoch;
        let proposer =
            PublicKey::from(<[u8; 32]>::try_from(proposal.proposer.as_slice()).unwrap_or_default());
        self.store.save_findings(epoch, &findings).await?;
        self.store
            .save_closed_epoch(&closed, self.clock.now_ns())
            .await?;
        self.store
            .save_quorum(epoch, &proposer, &signatures)
            .await?;
        let new = inputs::catch_up(
            &self.store,
            proposal,
            self.registry.as_ref(),
            &self.rewards,
            &p.set,
        )
        .await?;
        let agreed = agreed_inputs(proposal, &closed, &signatures);
        match &self.config.rogue {
            Some(rogue @ Rogue::ServeUnlanded { .. }) => {
                let set = p.set.clone();
                let previous = self.previous(epoch).await?;
                let fake = rogue
                    .unlanded(
                        &agreed,
                        &self.rules(&set),
                        &previous,
                        &self.key,
                        &p.deployment,
                    )
                    .await?;
                self.board.propose(Arc::new(fake));
            }
            _ => self.board.propose(Arc::new(agreed)),
        }
        p.adopting = None;
        metrics::counter!("hexproof_epochs_closed_total").increment(1);
        tracing::info!(epoch, %proposer, signers = signatures.len(), caught_up = new, paid = closed.paid, root = %hex::encode(closed.root), "epoch agreed");
        // Settling orgs' charges is every landing's duty; claims only a claiming member's.
        p.claim_due = Some(epoch);
        Ok(())
    }

    /// Settles orgs' data charges and claims for owners after the newest landed epoch; retried
    /// until every settlement and claim went.
    async fn claims(&self, p: &mut Progress) {
        let Some(epoch) = p.claim_due else {
            return;
        };
        let result = async {
            let closed = self
                .store
                .closed_epoch(epoch)
                .await?
                .context("closed epoch vanished")?;
            let on_chain = read::config(&self.chain)
                .await?
                .context("the program is not initialized")?;
            if on_chain.epoch != epoch || on_chain.root != closed.root {
                return anyhow::Ok(true); // a newer epoch landed: its claims supersede
            }
            let settled = crate::chain::settle_all(&self.chain, &self.payer, &closed).await?;
            if !self.claim {
                return Ok(settled.failed == 0);
            }
            let claims = crate::chain::claim_all(&self.chain, &self.payer, &closed).await?;
            if claims.claims > 0 {
                tracing::info!(
                    epoch,
                    claims = claims.claims,
                    minted = claims.minted,
                    "claimed for owners"
                );
            }
            Ok(claims.failed == 0 && settled.failed == 0)
        }
        .await;
        match result {
            Ok(true) => p.claim_due = None,
            Ok(false) => {}
            Err(e) => tracing::warn!(epoch, error = %format!("{e:#}"), "claims; will retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::round_at;

    #[test]
    fn rounds_grow_to_eight_times_the_first() {
        let b = 10;
        let starts: Vec<u64> = (0..200)
            .filter(|&t| round_at(t, b) != round_at(t.wrapping_sub(1), b) || t == 0)
            .collect();
        assert_eq!(starts, vec![0, 10, 30, 70, 150]);
        assert_eq!(round_at(69, b), 2);
        assert_eq!(round_at(70 + 80 * 5, b), 8);
    }
}
