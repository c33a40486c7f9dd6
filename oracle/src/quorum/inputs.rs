//! An epoch's inputs: what each member holds ([`holdings`], with its signed attestation of
//! when it received each report), what the proposer makes of everyone's ([`propose`]), and
//! what the others do with a proposal: check it against what they hold ([`check`]), recompute
//! the epoch from it ([`replay`]) and take the reports and entropy they missed ([`catch_up`]).
//!
//! The inputs of epoch `e` are every receipt a member's router signed for a copy bought in the
//! epoch (data rewards and org charges), every decodable report stamped in its input window (the epoch,
//! preceded by one beacon interval so the rules that look back, such as `beacon_too_frequent`,
//! see what they need), each received at the lower median of the members' attested times
//! ([`attest`]), and the set's entropy of that window. Replaying them is a pure function of the inputs, the registry and the
//! settings: every member that replays the same inputs gets the same root, bit for bit.

use std::{
    collections::{BTreeMap, HashSet},
    ops::RangeInclusive,
    sync::Arc,
};

use anyhow::Context;
use hexproof_poc::{EntropyRecord, Limits, rewards::RewardConfig};
use hexproof_proto::{Keypair, PublicKey, topics, v1};

use super::attest;
use crate::{
    audit::{self, Line},
    classify::{self, Incoming, KeyCache},
    registry::Registry,
    store::Store,
};

/// How far before the input window entropy is taken from: a beacon stamped in the window may
/// name entropy published up to its lifetime before it.
const ENTROPY_LOOKBACK_NS: u64 = 3_600 * 1_000_000_000;

/// The reports an epoch's inputs hold: stamped in `[start − beacon interval, end)`.
pub fn window(rewards: &RewardConfig, limits: &Limits, epoch: u64) -> (u64, u64) {
    let (start, end) = rewards.bounds(epoch);
    (
        start.saturating_sub(limits.beacon_interval_secs.saturating_mul(1_000_000_000)),
        end,
    )
}

/// The entropy an epoch's inputs hold.
fn entropy_window(rewards: &RewardConfig, limits: &Limits, epoch: u64) -> (u64, u64) {
    let (from, end) = window(rewards, limits, epoch);
    (
        from.saturating_sub(ENTROPY_LOOKBACK_NS),
        end.saturating_add(limits.entropy_skew_secs.saturating_mul(1_000_000_000)),
    )
}

/// Receipts by id, and the others' ids (hex) with why they were left out.
type SortedReceipts<'a> = (
    BTreeMap<[u8; 32], &'a v1::PacketReceipt>,
    Vec<(String, &'static str)>,
);

/// The receipts among `receipts` that a member's router signed (its batch signature holds) for
/// a copy bought in `epoch`, once each, by receipt id; the others are `Err` with why.
fn member_receipts<'a>(
    receipts: impl IntoIterator<Item = &'a v1::PacketReceipt>,
    rewards: &RewardConfig,
    epoch: u64,
    set: &[PublicKey],
) -> SortedReceipts<'a> {
    let (start, end) = rewards.bounds(epoch);
    let mut verifier = hexproof_proto::receipts::BatchVerifier::default();
    let mut valid = BTreeMap::new();
    let mut invalid = Vec::new();
    for r in receipts {
        let id = hexproof_proto::receipts::receipt_id(r);
        let why = match verifier.verify(r) {
            // What the router could never have bought: a frame longer than LoRa carries, no
            // hotspot key, an OUI or route id outside what the program allows. (A member's
            // router signing such would inflate or break every replay.)
            _ if !copy_shaped(r) => Some("not_a_copy"),
            Err(_) => Some("signature"),
            Ok(router) if !set.contains(&router) => Some("not_a_member"),
            Ok(_) if !(start..end).contains(&r.bought_ns) => Some("outside_the_epoch"),
            Ok(_) if valid.insert(id, r).is_some() => Some("duplicate"),
            Ok(_) => None,
        };
        if let Some(why) = why {
            invalid.push((hex::encode(id), why));
        }
    }
    (valid, invalid)
}

/// Whether a receipt describes a copy a router can buy: a PHYPayload LoRa can carry, a 32-byte
/// hotspot key, an OUI the program allows and a route id in its OUI's space.
fn copy_shaped(r: &v1::PacketReceipt) -> bool {
    r.payload_size as usize <= hexproof_poc::packets::MAX_PHY_PAYLOAD
        && r.hotspot.len() == 32
        && r.oui <= u64::from(u32::MAX)
        && r.route_id >> 32 == r.oui
}

/// A stored report's home topic (its kind's topic under its signer's key).
fn topic_of(r: &crate::store::reports::ReceivedReport) -> Option<String> {
    let kind = match r.kind {
        hexproof_poc::Kind::Beacon => format!("{}/beacons/{}", topics::ROOT, r.hotspot),
        _ => format!("{}/witnesses/{}", topics::ROOT, r.hotspot),
    };
    topics::home_of(&kind, &r.payload)
}

/// A report's id, when it is filed under its home topic ([`topics::home_of`]): a report under
/// another key's topic is a proposer rewriting it (it would be judged `topic_mismatch`).
fn filed_id(r: &v1::ReceivedReport) -> Option<[u8; 32]> {
    if topics::home_of(&r.topic, &r.payload)? != r.topic {
        return None;
    }
    topics::report_id(&r.topic, &r.payload)
}

/// What this member holds of the epoch of `scope`'s window, received by its cut-off, with its
/// signed attestation of when it received each report.
pub async fn holdings(
    store: &Store,
    rewards: &RewardConfig,
    limits: &Limits,
    scope: attest::Scope,
    key: &Keypair,
    set: &[PublicKey],
) -> crate::store::Result<v1::Holdings> {
    let (epoch, cutoff_ns) = (scope.epoch, scope.cutoff_ns);
    let (from, to) = window(rewards, limits, epoch);
    let (e_from, e_to) = entropy_window(rewards, limits, epoch);
    let held: Vec<_> = store
        .received_reports_stamped(from, to)
        .await?
        .into_iter()
        .filter(|r| r.received_ns <= cutoff_ns)
        .filter_map(|r| Some((topic_of(&r)?, r)))
        .collect();
    let receipts = held
        .iter()
        .map(|(_, r)| v1::Receipt {
            id: r.id.to_vec(),
            received_ns: r.received_ns,
        })
        .collect();
    let reports = held
        .into_iter()
        .map(|(topic, r)| v1::ReceivedReport {
            topic,
            received_ns: r.received_ns,
            payload: r.payload,
        })
        .collect();
    let entropy = store
        .entropy_between(e_from, e_to)
        .await?
        .into_iter()
        .filter(|(e, message)| {
            e.timestamp_ns <= cutoff_ns && crate::entropy::member_entropy(message, set).is_ok()
        })
        .map(|(_, message)| message)
        .collect();
    let (start, end) = rewards.bounds(epoch);
    let bought = store
        .receipts_between(start, end.min(cutoff_ns.saturating_add(1)))
        .await?
        .into_iter()
        .map(|s| s.receipt)
        .collect();
    Ok(v1::Holdings {
        reports,
        entropy,
        attestation: Some(attest::attest(key, scope, receipts)),
        receipts: bought,
    })
}

/// Whether a holding's attestation vouches for little beyond the reports it carries. Receipts are
/// signed, so a proposer cannot trim them: a peer padding its attestation with ids it does
/// not send would make every proposal it is gathered into too large to fetch (one member
/// halting the set). Such an attestation is left out, with what only it attests.
fn receipts_backed(h: &v1::Holdings) -> bool {
    let Some(a) = &h.attestation else {
        return true;
    };
    let ids: HashSet<[u8; 32]> = h.reports.iter().filter_map(filed_id).collect();
    let unbacked = a
        .receipts
        .iter()
        .filter(|r| !<[u8; 32]>::try_from(r.id.as_slice()).is_ok_and(|id| ids.contains(&id)))
        .count();
    // A few (a report it filed under a wrong topic, say) cost nothing; padding is many.
    unbacked <= MAX_UNBACKED_RECEIPTS.max(ids.len() / 100)
}

/// Receipts an attestation may carry without a report of its holding behind them.
const MAX_UNBACKED_RECEIPTS: usize = 16;

/// The attestation cut-offs a proposal cut off at `cutoff_ns` may carry: from one gathering
/// (the peers' timeout) and the clock tolerance before it, up to it. What [`check`] refuses
/// outside of, and what [`propose`] takes.
pub fn attestation_window(
    cutoff_ns: u64,
    gather_ns: u64,
    tolerance_ns: u64,
) -> RangeInclusive<u64> {
    cutoff_ns.saturating_sub(gather_ns.saturating_add(tolerance_ns))..=cutoff_ns
}

/// A proposal from the proposer's holdings and its peers': every report any of them holds,
/// received at the lower median of the attested times; entropy signed by a member; every valid
/// attestation, one per member. Root and lifetime total are still empty: they are what
/// [`replay`] gives.
///
/// `window`: the attestation cut-offs the proposal may carry ([`attestation_window`]), the
/// proposal's own cut-off its end. An attestation outside it (another round's, one from the
/// future, or one a peer backdated so that every checker refuses the proposal) is left out
/// with the reports only it attests.
pub fn propose(
    holdings: &[v1::Holdings],
    rewards: &RewardConfig,
    epoch: u64,
    round: u64,
    proposer: &PublicKey,
    window: RangeInclusive<u64>,
    set: &[PublicKey],
) -> v1::Proposal {
    let cutoff_ns = *window.end();
    let attestations = attest::valid(
        holdings
            .iter()
            .filter(|h| receipts_backed(h))
            .filter_map(|h| h.attestation.as_ref())
            .filter(|a| a.round == round && window.contains(&a.cutoff_ns)),
        epoch,
        set,
    );
    let medians = attest::medians(attestations.values().copied());
    let mut reports: BTreeMap<[u8; 32], v1::ReceivedReport> = BTreeMap::new();
    for r in holdings.iter().flat_map(|h| &h.reports) {
        let Some(id) = filed_id(r) else {
            continue; // not a report, or filed under another key's topic
        };
        let Some(&received_ns) = medians.get(&id) else {
            continue; // nobody attests it
        };
        reports.entry(id).or_insert_with(|| v1::ReceivedReport {
            received_ns,
            ..r.clone()
        });
    }
    let mut reports: Vec<_> = reports.into_iter().collect();
    reports.sort_by_key(|(id, r)| (r.received_ns, *id));
    let mut entropy: Vec<Vec<u8>> = Vec::new();
    let mut seen = HashSet::new();
    for m in holdings.iter().flat_map(|h| &h.entropy) {
        // A member's own entropy, one message per id (the first held: ours come first).
        if let Ok((_, e)) = crate::entropy::member_entropy(m, set)
            && seen.insert(e.id)
        {
            entropy.push(m.clone());
        }
    }
    let (receipts, _) = member_receipts(
        holdings.iter().flat_map(|h| &h.receipts),
        rewards,
        epoch,
        set,
    );
    v1::Proposal {
        epoch,
        round,
        proposer: proposer.to_bytes().to_vec(),
        cutoff_ns,
        root: Vec::new(),
        lifetime_total: 0,
        entropy,
        reports: reports.into_iter().map(|(_, r)| r).collect(),
        agreed: false,
        attestations: attestations.into_values().cloned().collect(),
        signatures: Vec::new(),
        receipts: receipts.into_values().cloned().collect(),
    }
}

/// Why a member does not endorse a proposal. Each is a reason code in
/// `hexproof_quorum_refused_total{reason}` and the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the proposal is for epoch {theirs}, we are agreeing on epoch {ours}")]
    WrongEpoch { theirs: u64, ours: u64 },
    #[error("the proposal's cut-off {cutoff_ns} is ahead of our clock {now_ns}")]
    CutoffAhead { cutoff_ns: u64, now_ns: u64 },
    #[error("a report of the proposal does not decode as one ({topic})")]
    NotAReport { topic: String },
    #[error("report {id} is filed under {topic}, not its signer's topic")]
    TopicRewritten { id: String, topic: String },
    #[error("report {id} is in the proposal twice")]
    Duplicate { id: String },
    #[error("an attestation is not a member's valid signature for this epoch")]
    BadAttestation,
    #[error(
        "{oracle}'s attestation is for round {round}, cut off at {cutoff_ns}: not this round's, or stale"
    )]
    StaleAttestation {
        oracle: String,
        round: u64,
        cutoff_ns: u64,
    },
    #[error("the proposal does not carry the newest attestation we gave its proposer this round")]
    OurAttestationLeftOut,
    #[error("report {id} is received at {theirs}, the attestations' median is {median:?}")]
    NotTheMedian {
        id: String,
        theirs: u64,
        median: Option<u64>,
    },
    #[error("{count} reports we received before the cut-off are left out (first {first})")]
    ReportsLeftOut { count: usize, first: String },
    #[error("an entropy message of the proposal is not a member's own ({reason})")]
    BadEntropy { reason: &'static str },
    #[error("{count} entropy messages we hold are left out (first id {first})")]
    EntropyLeftOut { count: usize, first: u64 },
    #[error(
        "packet receipt {id} is not one a member's router signed for this epoch, once ({reason})"
    )]
    BadReceipt { id: String, reason: &'static str },
    #[error("{count} packet receipts our router signed are left out (first {first})")]
    ReceiptsLeftOut { count: usize, first: String },
    #[error("the inputs give root {ours}, the proposal says {theirs}")]
    Root { ours: String, theirs: String },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::WrongEpoch { .. } => "wrong_epoch",
            Refusal::CutoffAhead { .. } => "cutoff_ahead",
            Refusal::NotAReport { .. } => "not_a_report",
            Refusal::TopicRewritten { .. } => "topic_rewritten",
            Refusal::Duplicate { .. } => "duplicate",
            Refusal::BadAttestation => "bad_attestation",
            Refusal::StaleAttestation { .. } => "stale_attestation",
            Refusal::OurAttestationLeftOut => "our_attestation_left_out",
            Refusal::NotTheMedian { .. } => "not_the_median",
            Refusal::ReportsLeftOut { .. } => "reports_left_out",
            Refusal::BadEntropy { .. } => "bad_entropy",
            Refusal::EntropyLeftOut { .. } => "entropy_left_out",
            Refusal::BadReceipt { .. } => "bad_receipt",
            Refusal::ReceiptsLeftOut { .. } => "receipts_left_out",
            Refusal::Root { .. } => "root",
        }
    }
}

/// What a member expects of a proposal it checks.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The epoch being agreed.
    pub epoch: u64,
    /// The set, sorted.
    pub set: &'a [PublicKey],
    pub me: &'a PublicKey,
    /// The cut-off of the newest attestation we gave this proposal's proposer for its round;
    /// `None`: we gave none (then we do not endorse it: the median must count our times).
    pub ours: Option<u64>,
    /// Slack between members' clocks and sessions.
    pub tolerance_ns: u64,
    /// How long a proposer may take to gather the attestations: none may be older than that
    /// (plus the tolerance) at the proposal's cut-off.
    pub gather_ns: u64,
    pub now_ns: u64,
}

/// Checks a proposal: it is for the epoch being agreed; every attestation is a member's, one
/// each, of the proposal's round and fresh at its cut-off, ours (the newest we gave) among
/// them; every report is filed under its signer's topic, once, and received at the median of
/// the attested times; every entropy message is a member's own; nothing we received more than
/// `tolerance_ns` before the cut-off, and no entropy we hold, is left out. Reports only others
/// hold are taken as attested: they are signed by their hotspots.
pub async fn check(
    proposal: &v1::Proposal,
    store: &Store,
    rewards: &RewardConfig,
    limits: &Limits,
    expected: &Expected<'_>,
) -> anyhow::Result<Result<(), Refusal>> {
    let Expected {
        set,
        me,
        tolerance_ns,
        now_ns,
        ..
    } = *expected;
    if proposal.epoch != expected.epoch {
        return Ok(Err(Refusal::WrongEpoch {
            theirs: proposal.epoch,
            ours: expected.epoch,
        }));
    }
    let cutoff = proposal.cutoff_ns;
    if cutoff > now_ns.saturating_add(tolerance_ns) {
        return Ok(Err(Refusal::CutoffAhead {
            cutoff_ns: cutoff,
            now_ns,
        }));
    }
    let attestations = attest::valid(&proposal.attestations, proposal.epoch, set);
    if attestations.len() != proposal.attestations.len() {
        return Ok(Err(Refusal::BadAttestation));
    }
    let taken = attestation_window(cutoff, expected.gather_ns, tolerance_ns);
    if let Some((key, a)) = attestations
        .iter()
        .find(|(_, a)| a.round != proposal.round || !taken.contains(&a.cutoff_ns))
    {
        return Ok(Err(Refusal::StaleAttestation {
            oracle: key.to_string(),
            round: a.round,
            cutoff_ns: a.cutoff_ns,
        }));
    }
    let ours = match (expected.ours, attestations.get(me)) {
        (Some(ours), Some(a)) if a.cutoff_ns == ours => ours,
        _ => return Ok(Err(Refusal::OurAttestationLeftOut)),
    };
    // What we held when we attested must be in (give or take the tolerance, for reports
    // received before the cut-off and stored just after): not what came later.
    let held_by = cutoff.min(ours);
    let medians = attest::medians(attestations.values().copied());
    let mut theirs: HashSet<[u8; 32]> = HashSet::with_capacity(proposal.reports.len());
    for r in &proposal.reports {
        let Some(id) = topics::report_id(&r.topic, &r.payload) else {
            return Ok(Err(Refusal::NotAReport {
                topic: r.topic.clone(),
            }));
        };
        if filed_id(r) != Some(id) {
            return Ok(Err(Refusal::TopicRewritten {
                id: hex::encode(id),
                topic: r.topic.clone(),
            }));
        }
        let median = medians.get(&id).copied();
        if median != Some(r.received_ns) {
            return Ok(Err(Refusal::NotTheMedian {
                id: hex::encode(id),
                theirs: r.received_ns,
                median,
            }));
        }
        if !theirs.insert(id) {
            return Ok(Err(Refusal::Duplicate {
                id: hex::encode(id),
            }));
        }
    }
    let mut entropy_ids = HashSet::with_capacity(proposal.entropy.len());
    for m in &proposal.entropy {
        match crate::entropy::member_entropy(m, set) {
            // One message per id: two would make beacons on it depend on which is stored.
            Ok((_, e)) if !entropy_ids.insert(e.id) => {
                return Ok(Err(Refusal::BadEntropy {
                    reason: "duplicate_id",
                }));
            }
            Ok(_) => {}
            Err(reason) => return Ok(Err(Refusal::BadEntropy { reason })),
        }
    }
    let (from, to) = window(rewards, limits, proposal.epoch);
    let ours = store.received_reports_stamped(from, to).await?;
    let mut left_out = ours
        .iter()
        .filter(|r| r.received_ns.saturating_add(tolerance_ns) <= held_by)
        .filter(|r| !theirs.contains(&r.id));
    if let Some(first) = left_out.next() {
        return Ok(Err(Refusal::ReportsLeftOut {
            count: 1 + left_out.count(),
            first: hex::encode(first.id),
        }));
    }
    let (e_from, e_to) = entropy_window(rewards, limits, proposal.epoch);
    let their_entropy: HashSet<&[u8]> = proposal.entropy.iter().map(Vec::as_slice).collect();
    let missing: Vec<u64> = store
        .entropy_between(e_from, e_to)
        .await?
        .into_iter()
        .filter(|(e, _)| e.timestamp_ns.saturating_add(tolerance_ns) <= held_by)
        .filter(|(_, message)| crate::entropy::member_entropy(message, set).is_ok())
        .filter(|(_, message)| !their_entropy.contains(message.as_slice()))
        .map(|(e, _)| e.id)
        .collect();
    if let Some(&first) = missing.first() {
        return Ok(Err(Refusal::EntropyLeftOut {
            count: missing.len(),
            first,
        }));
    }
    let (receipts, invalid) = member_receipts(&proposal.receipts, rewards, proposal.epoch, set);
    if let Some((id, reason)) = invalid.into_iter().next() {
        return Ok(Err(Refusal::BadReceipt { id, reason }));
    }
    if proposal.receipts.windows(2).any(|w| {
        hexproof_proto::receipts::receipt_id(&w[0]) >= hexproof_proto::receipts::receipt_id(&w[1])
    }) {
        return Ok(Err(Refusal::BadReceipt {
            id: String::new(),
            reason: "order",
        }));
    }
    let (start, end) = rewards.bounds(proposal.epoch);
    let left_out: Vec<String> = store
        .receipts_between(start, end)
        .await?
        .into_iter()
        .filter(|s| s.receipt.bought_ns.saturating_add(tolerance_ns) <= held_by)
        .filter(|s| !receipts.contains_key(&s.id))
        .map(|s| hex::encode(s.id))
        .collect();
    if let Some(first) = left_out.first() {
        return Ok(Err(Refusal::ReceiptsLeftOut {
            count: left_out.len(),
            first: first.clone(),
        }));
    }
    Ok(Ok(()))
}

/// The proposal as recorded lines: entropy first, then reports in the order received.
fn lines(proposal: &v1::Proposal) -> Vec<Line> {
    let entropy = proposal.entropy.iter().map(|m| Line {
        topic: topics::ENTROPY.into(),
        payload: hex::encode(m),
        received_ns: 0,
    });
    let reports = proposal.reports.iter().map(|r| Line {
        topic: r.topic.clone(),
        payload: hex::encode(&r.payload),
        received_ns: r.received_ns,
    });
    entropy.chain(reports).collect()
}

/// What the settings of a replay are: the same on every member of a set.
#[derive(Debug, Clone)]
pub struct Rules<'a> {
    pub registry: Arc<dyn Registry>,
    pub limits: &'a Limits,
    pub rewards: &'a RewardConfig,
    /// The set's members: entropy signed by anyone else is refused.
    pub set: &'a [PublicKey],
}

/// Judges a proposal's inputs from scratch (a throwaway SQLite database, the live oracle's
/// classification and judging code) and closes the epoch on top of `previous` lifetime
/// amounts, signed by `key`.
pub async fn replay(
    proposal: &v1::Proposal,
    rules: &Rules<'_>,
    previous: &hexproof_poc::rewards::epoch::Lifetimes,
    key: &Keypair,
) -> anyhow::Result<crate::epochs::Computed> {
    let dir = tempfile::tempdir()?;
    let scratch = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("replay.db").display()
    ))
    .await?;
    // One registry for the whole replay: a chain registry refreshed meanwhile could judge one
    // hotspot's reports against two commitments, or place it apart from its verdicts.
    let registry: Arc<dyn Registry> =
        Arc::new(crate::registry::StaticRegistry::new(rules.registry.all()));
    audit::judge_into(
        &scratch,
        &lines(proposal),
        registry.clone(),
        rules.limits.clone(),
        rules.set,
    )
    .await
    .context("judging the proposed inputs")?;
    // Only receipts a member's router signed for this epoch count (a follower refused others
    // already; agreed inputs replayed in catching up are taken the same way).
    let (receipts, _) =
        member_receipts(&proposal.receipts, rules.rewards, proposal.epoch, rules.set);
    let copies: Vec<(v1::PacketReceipt, v1::PacketReport)> = receipts
        .into_values()
        .map(|r| (r.clone(), v1::PacketReport::default()))
        .collect();
    scratch
        .save_receipts(&copies)
        .await
        .context("storing the proposed receipts")?;
    Ok(crate::epochs::compute(
        &scratch,
        registry.as_ref(),
        rules.rewards,
        proposal.epoch,
        previous,
        key,
    )
    .await?)
}

/// Stores the reports, entropy and packet receipts of agreed inputs that `store` does not hold
/// yet (reports with the proposer's received times; the live judge gives them verdicts;
/// receipts as delivered: another member's router forwarded them, and what they charged its
/// orgs counts against their credits here too). Returns how many reports were new.
pub async fn catch_up(
    store: &Store,
    proposal: &v1::Proposal,
    registry: &dyn Registry,
    rewards: &RewardConfig,
    set: &[PublicKey],
) -> anyhow::Result<u64> {
    let (receipts, _) = member_receipts(&proposal.receipts, rewards, proposal.epoch, set);
    let agreed: Vec<v1::PacketReceipt> = receipts.into_values().cloned().collect();
    store.save_agreed_receipts(&agreed).await?;
    for message in &proposal.entropy {
        if let Ok((_, e)) = crate::entropy::member_entropy(message, set) {
            let record = EntropyRecord {
                id: e.id,
                data: e.data.clone(),
                timestamp_ns: e.timestamp_ns,
                ttl_secs: e.ttl_secs,
            };
            store.insert_entropy(&record, message).await?;
        }
    }
    let ids: Vec<[u8; 32]> = proposal.reports.iter().filter_map(filed_id).collect();
    let missing: HashSet<[u8; 32]> = store.missing_reports(&ids).await?.into_iter().collect();
    if missing.is_empty() {
        return Ok(0);
    }
    let messages: Vec<Incoming> = proposal
        .reports
        .iter()
        .filter(|r| filed_id(r).is_some_and(|id| missing.contains(&id)))
        .map(|r| Incoming {
            topic: r.topic.clone(),
            payload: r.payload.clone(),
            received_ns: r.received_ns,
        })
        .collect();
    let keys = KeyCache::new(registry.all().iter().map(|h| h.pubkey));
    Ok(store
        .insert_reports(&classify::classify_all(&messages, &keys))
        .await?)
}

#[cfg(test)]
mod tests {
    //! What a member refuses, with the recorded net-25 reports held by members whose sessions
    //! missed some and lagged on others.
    use super::*;

    const T0: u64 = 1_800_000_000_000_000_000;
    const MS: u64 = 1_000_000;

    fn rewards() -> RewardConfig {
        RewardConfig {
            epoch_secs: 3_600,
            genesis_ns: T0 - 10_000 * MS,
            ..RewardConfig::default()
        }
    }

    /// The recording, its entropy re-signed by the set's first member under ids of its own
    /// (the recording numbers entropy 1, 2, …; a set's ids carry the signer's position).
    fn recorded() -> Vec<Line> {
        use hexproof_proto::Signed;
        use prost::Message;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/reports/net-25.jsonl");
        let first = hexproof_fixtures::network("net-25").unwrap().oracles[0]
            .keypair()
            .unwrap();
        audit::read_lines(&path)
            .unwrap()
            .into_iter()
            .map(|mut l| {
                if l.topic == topics::ENTROPY {
                    let mut e =
                        v1::Entropy::decode(hex::decode(&l.payload).unwrap().as_slice()).unwrap();
                    e.id <<= 8;
                    l.payload = hex::encode(e.signed(&first).encode_to_vec());
                }
                l
            })
            .collect()
    }

    /// A member's database holding the recorded lines `keep` says, received `lag` later.
    async fn member(
        dir: &tempfile::TempDir,
        name: &str,
        keep: impl Fn(usize) -> bool,
        lag: u64,
    ) -> Store {
        let store = Store::connect(&format!("sqlite://{}", dir.path().join(name).display()))
            .await
            .unwrap();
        let lines: Vec<Line> = recorded()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .map(|(_, mut l)| {
                l.received_ns += lag;
                l
            })
            .collect();
        audit::judge_into(
            &store,
            &lines,
            Arc::new(crate::registry::StaticRegistry::default()),
            Limits::default(),
            &[],
        )
        .await
        .unwrap();
        store
    }

    struct Set {
        keys: Vec<Keypair>,
        set: Vec<PublicKey>,
        stores: Vec<Store>,
        cutoff: u64,
        _dir: tempfile::TempDir,
    }

    /// Three members (keys sorted as the set is). Member 0 holds everything; member 1 missed every tenth line and received the rest 5 ms
    /// later; member 2's session lagged 20 s behind on everything.
    async fn three() -> Set {
        let dir = tempfile::tempdir().unwrap();
        // The network's oracles: the recording's entropy is signed by the first.
        let keys: Vec<Keypair> = hexproof_fixtures::network("net-25")
            .unwrap()
            .oracles
            .iter()
            .map(|o| o.keypair().unwrap())
            .collect();
        let stores = vec![
            member(&dir, "a.db", |_| true, 0).await,
            member(&dir, "b.db", |i| i % 10 != 3, 5 * MS).await,
            member(&dir, "c.db", |_| true, 20_000 * MS).await,
        ];
        let last = recorded().iter().map(|l| l.received_ns).max().unwrap();
        Set {
            set: keys.iter().map(|k| k.public()).collect(),
            keys,
            stores,
            cutoff: last + 60_000 * MS,
            _dir: dir,
        }
    }

    impl Set {
        /// The attestations a proposal cut off at the common cut-off takes (the checkers'
        /// gathering and tolerance below).
        fn window(&self) -> RangeInclusive<u64> {
            attestation_window(self.cutoff, 10_000 * MS, 1_000 * MS)
        }

        async fn holdings(&self, i: usize) -> v1::Holdings {
            self.holdings_at(i, 0, self.cutoff).await
        }

        async fn holdings_at(&self, i: usize, round: u64, cutoff_ns: u64) -> v1::Holdings {
            let scope = attest::Scope {
                epoch: 1,
                round,
                cutoff_ns,
            };
            holdings(
                &self.stores[i],
                &rewards(),
                &Limits::default(),
                scope,
                &self.keys[i],
                &self.set,
            )
            .await
            .unwrap()
        }

        async fn proposal(&self, from: &[usize]) -> v1::Proposal {
            let mut held = Vec::new();
            for &i in from {
                held.push(self.holdings(i).await);
            }
            propose(
                &held,
                &rewards(),
                1,
                0,
                &self.set[0],
                self.window(),
                &self.set,
            )
        }

        /// `member`'s check of `p`, having given its attestation cut off at `ours`.
        async fn check_with(
            &self,
            p: &v1::Proposal,
            member: usize,
            ours: Option<u64>,
        ) -> Result<(), Refusal> {
            let expected = Expected {
                epoch: 1,
                set: &self.set,
                me: &self.set[member],
                ours,
                tolerance_ns: 1_000 * MS,
                gather_ns: 10_000 * MS,
                now_ns: self.cutoff,
            };
            check(
                p,
                &self.stores[member],
                &rewards(),
                &Limits::default(),
                &expected,
            )
            .await
            .unwrap()
        }

        /// `member`'s check of `p`, having attested at the common cut-off when `attested`.
        async fn check(
            &self,
            p: &v1::Proposal,
            member: usize,
            attested: bool,
        ) -> Result<(), Refusal> {
            self.check_with(p, member, attested.then_some(self.cutoff))
                .await
        }
    }

    #[tokio::test]
    async fn an_honest_proposal_passes_everyone_even_a_member_that_lagged() {
        let s = three().await;
        let p = s.proposal(&[0, 1, 2]).await;
        assert!(p.reports.len() > 600, "{}", p.reports.len());
        for member in 0..3 {
            assert_eq!(s.check(&p, member, true).await, Ok(()), "member {member}");
        }
        // Times are medians: member 2's 20 s lag moved none of them.
        let a: std::collections::HashMap<_, _> = s.stores[0]
            .received_reports_stamped(0, u64::MAX)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.id, r.received_ns))
            .collect();
        for r in &p.reports {
            let id = topics::report_id(&r.topic, &r.payload).unwrap();
            assert!(r.received_ns == a[&id] || r.received_ns == a[&id] + 5 * MS);
        }
    }

    /// Receipts of `copies` (hotspot byte, payload size) bought at `at` on, signed as one batch by
    /// `router`.
    fn receipts(router: &Keypair, copies: &[(u8, u32)], at: u64) -> Vec<v1::PacketReceipt> {
        let mut batch: Vec<v1::PacketReceipt> = copies
            .iter()
            .enumerate()
            .map(|(n, &(h, size))| v1::PacketReceipt {
                hotspot: Keypair::from_secret([h; 32]).public().to_bytes().to_vec(),
                payload_hash: vec![n as u8; 32],
                payload_size: size,
                oui: 1,
                route_id: (1 << 32) | 7,
                report_id: vec![n as u8; 32],
                bought_ns: at + n as u64 * MS,
                ..Default::default()
            })
            .collect();
        hexproof_proto::receipts::sign_batch(&mut batch, router);
        batch
    }

    /// Data receipts are inputs like reports (issue 30): a member's router's receipts enter the
    /// proposal; the member refuses one that leaves them out, and everyone refuses receipts no
    /// member's router signed, changed ones, repeated ones and another epoch's; replaying the
    /// inputs pays the carriers and charges the org, the same on every member.
    #[tokio::test]
    async fn receipts_are_inputs_members_check_and_replay() {
        let s = three().await;
        let (start, _) = rewards().bounds(1);
        let copies: Vec<(u8, u32)> = (0..40)
            .map(|n| (1 + n % 4, 10 + u32::from(n) * 3))
            .collect();
        let bought = receipts(&s.keys[1], &copies, start + 1_000 * MS);
        let stored: Vec<_> = bought
            .iter()
            .map(|r| (r.clone(), v1::PacketReport::default()))
            .collect();
        assert_eq!(s.stores[1].save_receipts(&stored).await.unwrap(), 40);
        let honest = s.proposal(&[0, 1, 2]).await;
        assert_eq!(honest.receipts.len(), 40);
        for member in 0..3 {
            assert_eq!(
                s.check(&honest, member, true).await,
                Ok(()),
                "member {member}"
            );
        }

        // Left out: the router's member notices.
        let mut p = honest.clone();
        p.receipts.pop();
        assert!(matches!(
            s.check(&p, 1, true).await,
            Err(Refusal::ReceiptsLeftOut { count: 1, .. })
        ));
        // Invented by someone outside the set, changed, repeated, or of another epoch: refused
        // by every member.
        let outsider = Keypair::from_secret([77; 32]);
        let (_, end) = rewards().bounds(1);
        for (bad, reason) in [
            (
                receipts(&outsider, &[(1, 200)], start)[0].clone(),
                "not_a_member",
            ),
            (
                v1::PacketReceipt {
                    payload_size: 250,
                    ..honest.receipts[0].clone()
                },
                "signature",
            ),
            (honest.receipts[0].clone(), "duplicate"),
            // Signed by the member's router, but no copy LoRa could carry: 300 bytes (a
            // receipt of u32::MAX bytes would re-mint billions for nothing).
            (
                receipts(&s.keys[1], &[(1, 300)], start)[0].clone(),
                "not_a_copy",
            ),
            (
                {
                    let mut r = honest.receipts[0].clone();
                    r.oui = 2; // another org's charge under org 1's route id
                    hexproof_proto::receipts::sign_batch(std::slice::from_mut(&mut r), &s.keys[1]);
                    r
                },
                "not_a_copy",
            ),
            (
                receipts(&s.keys[1], &[(1, 20)], end)[0].clone(),
                "outside_the_epoch",
            ),
        ] {
            let mut p = honest.clone();
            p.receipts.push(bad);
            assert!(
                matches!(s.check(&p, 0, true).await, Err(Refusal::BadReceipt { reason: r, .. }) if r == reason),
                "{reason}"
            );
        }

        // Replayed: the org is charged what the copies cost, the carriers paid for it; the
        // receipts are part of the root.
        let rules = Rules {
            registry: Arc::new(crate::registry::StaticRegistry::default()),
            limits: &Limits::default(),
            rewards: &rewards(),
            set: &s.set,
        };
        let previous = hexproof_poc::rewards::epoch::Lifetimes::default();
        let e = replay(&honest, &rules, &previous, &s.keys[0])
            .await
            .unwrap()
            .epoch;
        let cost: u64 = copies
            .iter()
            .map(|&(_, size)| hexproof_commitment::packet_dc(size))
            .sum();
        assert_eq!(e.orgs.len(), 1);
        assert_eq!((e.orgs[0].oui, e.orgs[0].dc), (1, cost));
        assert_eq!(e.rows.iter().map(|r| r.dc).sum::<u64>(), cost);
        let again = replay(&honest, &rules, &previous, &s.keys[2])
            .await
            .unwrap()
            .epoch;
        assert_eq!(again.root, e.root);
        let mut fewer = honest.clone();
        fewer.receipts.pop();
        let other = replay(&fewer, &rules, &previous, &s.keys[0])
            .await
            .unwrap()
            .epoch;
        assert_ne!(other.root, e.root);

        // A member catching up stores the agreed receipts as delivered (its forwarder never
        // sends another router's copies), once, and counts their charges against the org.
        let registry = crate::registry::StaticRegistry::default();
        for _ in 0..2 {
            catch_up(&s.stores[0], &honest, &registry, &rewards(), &s.set)
                .await
                .unwrap();
        }
        let held = s.stores[0].receipts_between(0, u64::MAX).await.unwrap();
        assert_eq!(held.len(), 40);
        assert!(
            s.stores[0]
                .undelivered_receipts(100)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.stores[0].charges_by_org().await.unwrap(),
            [(1, cost)].into()
        );
    }

    #[tokio::test]
    async fn a_proposal_leaving_out_reports_or_moving_times_is_refused() {
        let s = three().await;
        let honest = s.proposal(&[0, 1, 2]).await;

        // Left out: a report member 1 received.
        let mut p = honest.clone();
        let held_by_b = s.stores[1]
            .received_reports_stamped(0, u64::MAX)
            .await
            .unwrap();
        let gone = held_by_b[0].id;
        p.reports
            .retain(|r| topics::report_id(&r.topic, &r.payload) != Some(gone));
        assert!(matches!(
            s.check(&p, 1, true).await,
            Err(Refusal::ReportsLeftOut { count: 1, .. })
        ));

        // Moved: a received time that is not the attested median.
        let mut p = honest.clone();
        p.reports[7].received_ns += 30_000 * MS;
        assert!(matches!(
            s.check(&p, 1, true).await,
            Err(Refusal::NotTheMedian { .. })
        ));

        // A member's attestation rewritten: its signature no longer holds.
        let mut p = honest.clone();
        p.attestations[2].receipts[0].received_ns += 1;
        assert_eq!(s.check(&p, 1, true).await, Err(Refusal::BadAttestation));

        // Member 1's attestation left out (so that only the proposer's times count).
        let p = s.proposal(&[0, 2]).await;
        assert_eq!(
            s.check(&p, 1, true).await,
            Err(Refusal::OurAttestationLeftOut)
        );
        // A member that gave none does not endorse either: the median must count its times.
        assert_eq!(
            s.check(&p, 1, false).await,
            Err(Refusal::OurAttestationLeftOut)
        );

        // Entropy left out.
        let mut p = honest.clone();
        p.entropy.clear();
        assert!(matches!(
            s.check(&p, 0, true).await,
            Err(Refusal::EntropyLeftOut { .. })
        ));
    }

    #[tokio::test]
    async fn a_rewritten_topic_another_epoch_or_a_repeated_report_is_refused() {
        let s = three().await;
        let honest = s.proposal(&[0, 1, 2]).await;

        // A witness report filed under another hotspot's topic: every member would reproduce
        // the root (the report judged `topic_mismatch`), so the check must catch it.
        let mut p = honest.clone();
        crate::quorum::Rogue::rewrite_topic(&mut p);
        assert_ne!(p.reports, honest.reports, "a topic was rewritten");
        assert!(matches!(
            s.check(&p, 1, true).await,
            Err(Refusal::TopicRewritten { .. })
        ));
        // An honest proposer given those holdings by a rogue peer files the report at home.
        let mut rogue = s.holdings(2).await;
        let mut rewritten = v1::Proposal {
            reports: rogue.reports.clone(),
            ..Default::default()
        };
        crate::quorum::Rogue::rewrite_topic(&mut rewritten);
        rogue.reports = rewritten.reports;
        let held = [s.holdings(0).await, s.holdings(1).await, rogue];
        let p = propose(&held, &rewards(), 1, 0, &s.set[0], s.window(), &s.set);
        assert_eq!(p.reports, honest.reports);
        assert_eq!(s.check(&p, 1, true).await, Ok(()));

        // The next epoch's inputs under this epoch's number: closing it would skip this one.
        let mut p = honest.clone();
        p.epoch = 2;
        assert_eq!(
            s.check(&p, 1, true).await,
            Err(Refusal::WrongEpoch { theirs: 2, ours: 1 })
        );

        // One report twice.
        let mut p = honest.clone();
        p.reports.push(p.reports[3].clone());
        assert!(matches!(
            s.check(&p, 1, true).await,
            Err(Refusal::Duplicate { .. })
        ));
    }

    /// Review of issue 27: a peer answering with a well-signed attestation it backdated to
    /// the start of time made every honest proposal it was gathered into one every checker
    /// refuses (`stale_attestation`): one dishonest member halted the set. The proposer now
    /// takes only attestations the checkers take.
    #[tokio::test]
    async fn a_backdated_attestation_from_a_peer_is_left_out_not_proposed() {
        let s = three().await;
        let honest = s.proposal(&[0, 1, 2]).await;
        let held = [
            s.holdings(0).await,
            s.holdings(1).await,
            s.holdings_at(2, 0, 1).await,
        ];
        let p = propose(&held, &rewards(), 1, 0, &s.set[0], s.window(), &s.set);
        assert_eq!(p.attestations.len(), 2);
        assert!(
            p.attestations
                .iter()
                .all(|a| a.oracle != s.set[2].to_bytes())
        );
        assert_eq!(s.check(&p, 1, true).await, Ok(()));
        // What only the backdating member held is not in; everything two honest ones hold is.
        assert!(!p.reports.is_empty() && p.reports.len() <= honest.reports.len());
        // Taken as it was (the proposer's cut-off as its window), the set would halt.
        let halting = propose(&held, &rewards(), 1, 0, &s.set[0], 0..=s.cutoff, &s.set);
        assert!(matches!(
            s.check(&halting, 1, true).await,
            Err(Refusal::StaleAttestation { .. })
        ));
    }

    /// Review of issue 27: a peer padding its signed receipts with ids it does not send made
    /// every proposal it was gathered into too large to fetch.
    #[tokio::test]
    async fn an_attestation_padded_with_receipts_it_does_not_back_is_left_out() {
        let s = three().await;
        let mut padded = s.holdings(2).await;
        let mut receipts = padded.attestation.clone().unwrap().receipts;
        receipts.extend((0..1_000u32).map(|i| v1::Receipt {
            id: [&i.to_le_bytes()[..], &[9; 28]].concat(),
            received_ns: 1,
        }));
        let scope = attest::Scope {
            epoch: 1,
            round: 0,
            cutoff_ns: s.cutoff,
        };
        padded.attestation = Some(attest::attest(&s.keys[2], scope, receipts));
        let held = [s.holdings(0).await, s.holdings(1).await, padded];
        let p = propose(&held, &rewards(), 1, 0, &s.set[0], s.window(), &s.set);
        assert_eq!(p.attestations.len(), 2);
        assert!(p.attestations.iter().all(|a| a.receipts.len() < 1_000));
        assert_eq!(s.check(&p, 1, true).await, Ok(()));
        // An honest holding's receipts are exactly its reports.
        assert!(receipts_backed(&s.holdings(0).await));
    }

    #[tokio::test]
    async fn attestations_of_another_round_stale_ones_or_not_our_newest_are_refused() {
        let s = three().await;
        // Attested for round 1, proposed in round 0.
        let held = [
            s.holdings(0).await,
            s.holdings_at(1, 1, s.cutoff).await,
            s.holdings(2).await,
        ];
        let mut p = propose(&held, &rewards(), 1, 0, &s.set[0], s.window(), &s.set);
        // (`propose` leaves it out; a rogue puts it back)
        p.attestations.push(held[1].attestation.clone().unwrap());
        p.attestations
            .retain(|a| a.oracle != s.set[1].to_bytes() || a.round == 1);
        assert!(matches!(
            s.check(&p, 0, true).await,
            Err(Refusal::StaleAttestation { round: 1, .. })
        ));

        // Gathered long before the cut-off (the proposer asked early, then waited).
        // An honest proposer leaves it out; a rogue that puts it back is refused.
        let early = s.cutoff - 60_000 * MS;
        let held = [
            s.holdings(0).await,
            s.holdings_at(1, 0, early).await,
            s.holdings(2).await,
        ];
        let mut p = propose(&held, &rewards(), 1, 0, &s.set[0], s.window(), &s.set);
        assert_eq!(p.attestations.len(), 2);
        p.attestations.push(held[1].attestation.clone().unwrap());
        assert!(matches!(
            s.check(&p, 0, true).await,
            Err(Refusal::StaleAttestation { .. })
        ));
        // Fresh enough, but member 1 gave a newer attestation since: only that one will do.
        let held = [
            s.holdings(0).await,
            s.holdings_at(1, 0, s.cutoff - 2_000 * MS).await,
            s.holdings(2).await,
        ];
        let p = propose(&held, &rewards(), 1, 0, &s.set[0], s.window(), &s.set);
        assert_eq!(
            s.check_with(&p, 1, Some(s.cutoff - 2_000 * MS)).await,
            Ok(())
        );
        assert_eq!(
            s.check_with(&p, 1, Some(s.cutoff)).await,
            Err(Refusal::OurAttestationLeftOut)
        );
    }

    #[tokio::test]
    async fn entropy_under_another_members_id_is_refused() {
        let s = three().await;
        let honest = s.proposal(&[0, 1, 2]).await;
        // Member 1 signs entropy whose id carries member 0's position, near the top of the id
        // space: every later id of member 0 would come after it.
        let id = (u64::MAX >> 9) << 8;
        assert_eq!(id & 0xff, 0);
        let (_, forged) = crate::entropy::make(&s.keys[1], id, s.cutoff - 5_000 * MS, 180);
        let mut p = honest.clone();
        p.entropy.push(prost::Message::encode_to_vec(&forged));
        assert_eq!(
            s.check(&p, 2, true).await,
            Err(Refusal::BadEntropy {
                reason: "foreign_id"
            })
        );
        // Its own position, but an id far ahead of its time.
        let (_, ahead) = crate::entropy::make(&s.keys[1], id | 1, s.cutoff - 5_000 * MS, 180);
        let mut p = honest.clone();
        p.entropy.push(prost::Message::encode_to_vec(&ahead));
        assert_eq!(
            s.check(&p, 2, true).await,
            Err(Refusal::BadEntropy { reason: "id_ahead" })
        );
        // Its own id, twice, with other bytes (beacons on it would depend on which is kept).
        let position = s.set.iter().position(|k| *k == s.keys[1].public()).unwrap() as u64;
        let at = s.cutoff - 5_000 * MS;
        let own = ((at / 1_000_000) << 8) | position;
        let (_, first) = crate::entropy::make(&s.keys[1], own, at, 180);
        let (_, second) = crate::entropy::make(&s.keys[1], own, at, 180);
        assert_ne!(first.data, second.data);
        let mut p = honest.clone();
        p.entropy.push(prost::Message::encode_to_vec(&first));
        p.entropy.push(prost::Message::encode_to_vec(&second));
        assert_eq!(
            s.check(&p, 2, true).await,
            Err(Refusal::BadEntropy {
                reason: "duplicate_id"
            })
        );
    }
}
