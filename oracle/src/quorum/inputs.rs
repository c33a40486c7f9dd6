//! An epoch's inputs: what each member holds ([`holdings`], with its signed attestation of
//! when it received each report), what the proposer makes of everyone's ([`propose`]), and
//! what the others do with a proposal: check it against what they hold ([`check`]), recompute
//! the epoch from it ([`replay`]) and take the reports and entropy they missed ([`catch_up`]).
//!
//! The inputs of epoch `e` are every decodable report stamped in its input window (the epoch,
//! preceded by one beacon interval so the rules that look back, such as `beacon_too_frequent`,
//! see what they need), each received at the lower median of the members' attested times
//! ([`attest`]), and the set's entropy of that window. Replaying them is a pure function of the inputs, the registry and the
//! settings: every member that replays the same inputs gets the same root, bit for bit.

use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
};

use anyhow::Context;
use hexproof_poc::{EntropyRecord, Limits, rewards::RewardConfig};
use hexproof_proto::{Keypair, PublicKey, Signed, topics, v1};
use prost::Message;

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

fn topic_of(r: &crate::store::reports::ReceivedReport) -> String {
    match r.kind {
        hexproof_poc::Kind::Beacon => format!("{}/beacons/{}", topics::ROOT, r.hotspot),
        _ => format!("{}/witnesses/{}", topics::ROOT, r.hotspot),
    }
}

/// What this member holds of epoch `epoch`'s window, received by `cutoff_ns`, with its signed
/// attestation of when it received each report.
pub async fn holdings(
    store: &Store,
    rewards: &RewardConfig,
    limits: &Limits,
    epoch: u64,
    cutoff_ns: u64,
    key: &Keypair,
) -> crate::store::Result<v1::Holdings> {
    let (from, to) = window(rewards, limits, epoch);
    let (e_from, e_to) = entropy_window(rewards, limits, epoch);
    let held: Vec<_> = store
        .received_reports_stamped(from, to)
        .await?
        .into_iter()
        .filter(|r| r.received_ns <= cutoff_ns)
        .collect();
    let receipts = held
        .iter()
        .map(|r| v1::Receipt {
            id: r.id.to_vec(),
            received_ns: r.received_ns,
        })
        .collect();
    let reports = held
        .into_iter()
        .map(|r| v1::ReceivedReport {
            topic: topic_of(&r),
            received_ns: r.received_ns,
            payload: r.payload,
        })
        .collect();
    let entropy = store
        .entropy_between(e_from, e_to)
        .await?
        .into_iter()
        .filter(|(e, _)| e.timestamp_ns <= cutoff_ns)
        .map(|(_, message)| message)
        .collect();
    Ok(v1::Holdings {
        reports,
        entropy,
        attestation: Some(attest::attest(key, epoch, receipts)),
    })
}

/// A proposal from the proposer's holdings and its peers': every report any of them holds,
/// received at the lower median of the attested times; entropy signed by a member; every valid
/// attestation, one per member. Root and lifetime total are still empty: they are what
/// [`replay`] gives.
pub fn propose(
    holdings: &[v1::Holdings],
    epoch: u64,
    round: u64,
    proposer: &PublicKey,
    cutoff_ns: u64,
    set: &[PublicKey],
) -> v1::Proposal {
    let attestations = attest::valid(
        holdings.iter().filter_map(|h| h.attestation.as_ref()),
        epoch,
        set,
    );
    let medians = attest::medians(attestations.values().copied());
    let mut reports: BTreeMap<[u8; 32], v1::ReceivedReport> = BTreeMap::new();
    for r in holdings.iter().flat_map(|h| &h.reports) {
        let Some(id) = topics::report_id(&r.topic, &r.payload) else {
            continue;
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
        let member = v1::Entropy::decode(m.as_slice())
            .ok()
            .and_then(|e| e.verify().ok())
            .is_some_and(|k| set.contains(&k));
        if member && seen.insert(m.clone()) {
            entropy.push(m.clone());
        }
    }
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
    }
}

/// Why a member does not endorse a proposal. Each is a reason code in
/// `hexproof_quorum_refused_total{reason}` and the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the proposal's cut-off {cutoff_ns} is ahead of our clock {now_ns}")]
    CutoffAhead { cutoff_ns: u64, now_ns: u64 },
    #[error("a report of the proposal does not decode as one ({topic})")]
    NotAReport { topic: String },
    #[error("an attestation is not a member's valid signature for this epoch")]
    BadAttestation,
    #[error("we attested our receipts of this epoch, and the proposal leaves our attestation out")]
    OurAttestationLeftOut,
    #[error("report {id} is received at {theirs}, the attestations' median is {median:?}")]
    NotTheMedian {
        id: String,
        theirs: u64,
        median: Option<u64>,
    },
    #[error("{count} reports we received before the cut-off are left out (first {first})")]
    ReportsLeftOut { count: usize, first: String },
    #[error("{count} entropy messages we hold are left out (first id {first})")]
    EntropyLeftOut { count: usize, first: u64 },
    #[error("the inputs give root {ours}, the proposal says {theirs}")]
    Root { ours: String, theirs: String },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::CutoffAhead { .. } => "cutoff_ahead",
            Refusal::NotAReport { .. } => "not_a_report",
            Refusal::BadAttestation => "bad_attestation",
            Refusal::OurAttestationLeftOut => "our_attestation_left_out",
            Refusal::NotTheMedian { .. } => "not_the_median",
            Refusal::ReportsLeftOut { .. } => "reports_left_out",
            Refusal::EntropyLeftOut { .. } => "entropy_left_out",
            Refusal::Root { .. } => "root",
        }
    }
}

/// Checks a proposal: every attestation is a member's, one each, ours among them when we gave
/// one (`we_attested`); every report is received at the median of the attested times; nothing
/// we received more than `tolerance_ns` before the cut-off, and no entropy we hold, is left
/// out. Reports only others hold are taken as attested: they are signed by their hotspots.
#[allow(clippy::too_many_arguments)]
pub async fn check(
    proposal: &v1::Proposal,
    store: &Store,
    rewards: &RewardConfig,
    limits: &Limits,
    set: &[PublicKey],
    me: &PublicKey,
    we_attested: bool,
    tolerance_ns: u64,
    now_ns: u64,
) -> anyhow::Result<Result<(), Refusal>> {
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
    if we_attested && !attestations.contains_key(me) {
        return Ok(Err(Refusal::OurAttestationLeftOut));
    }
    let medians = attest::medians(attestations.values().copied());
    let mut theirs: HashSet<[u8; 32]> = HashSet::with_capacity(proposal.reports.len());
    for r in &proposal.reports {
        let Some(id) = topics::report_id(&r.topic, &r.payload) else {
            return Ok(Err(Refusal::NotAReport {
                topic: r.topic.clone(),
            }));
        };
        let median = medians.get(&id).copied();
        if median != Some(r.received_ns) {
            return Ok(Err(Refusal::NotTheMedian {
                id: hex::encode(id),
                theirs: r.received_ns,
                median,
            }));
        }
        theirs.insert(id);
    }
    let (from, to) = window(rewards, limits, proposal.epoch);
    let ours = store.received_reports_stamped(from, to).await?;
    let mut left_out = ours
        .iter()
        .filter(|r| r.received_ns.saturating_add(tolerance_ns) <= cutoff)
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
        .filter(|(e, _)| e.timestamp_ns.saturating_add(tolerance_ns) <= cutoff)
        .filter(|(_, message)| !their_entropy.contains(message.as_slice()))
        .map(|(e, _)| e.id)
        .collect();
    if let Some(&first) = missing.first() {
        return Ok(Err(Refusal::EntropyLeftOut {
            count: missing.len(),
            first,
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
    previous: &BTreeMap<PublicKey, u64>,
    key: &Keypair,
) -> anyhow::Result<crate::epochs::Computed> {
    let dir = tempfile::tempdir()?;
    let scratch = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("replay.db").display()
    ))
    .await?;
    audit::judge_into(
        &scratch,
        &lines(proposal),
        rules.registry.clone(),
        rules.limits.clone(),
        rules.set,
    )
    .await
    .context("judging the proposed inputs")?;
    Ok(crate::epochs::compute(
        &scratch,
        rules.registry.as_ref(),
        rules.rewards,
        proposal.epoch,
        previous,
        key,
    )
    .await?)
}

/// Stores the reports and entropy of agreed inputs that `store` does not hold yet (with the
/// proposer's received times); the live judge gives them verdicts. Returns how many reports
/// were new.
pub async fn catch_up(
    store: &Store,
    proposal: &v1::Proposal,
    registry: &dyn Registry,
    set: &[PublicKey],
) -> anyhow::Result<u64> {
    for message in &proposal.entropy {
        let Ok(e) = v1::Entropy::decode(message.as_slice()) else {
            continue;
        };
        if e.verify().is_ok_and(|signer| set.contains(&signer)) {
            let record = EntropyRecord {
                id: e.id,
                data: e.data.clone(),
                timestamp_ns: e.timestamp_ns,
                ttl_secs: e.ttl_secs,
            };
            store.insert_entropy(&record, message).await?;
        }
    }
    let ids: Vec<[u8; 32]> = proposal
        .reports
        .iter()
        .filter_map(|r| topics::report_id(&r.topic, &r.payload))
        .collect();
    let missing: HashSet<[u8; 32]> = store.missing_reports(&ids).await?.into_iter().collect();
    if missing.is_empty() {
        return Ok(0);
    }
    let messages: Vec<Incoming> = proposal
        .reports
        .iter()
        .filter(|r| topics::report_id(&r.topic, &r.payload).is_some_and(|id| missing.contains(&id)))
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

    fn recorded() -> Vec<Line> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/reports/net-25.jsonl");
        audit::read_lines(&path).unwrap()
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
        async fn holdings(&self, i: usize) -> v1::Holdings {
            holdings(
                &self.stores[i],
                &rewards(),
                &Limits::default(),
                1,
                self.cutoff,
                &self.keys[i],
            )
            .await
            .unwrap()
        }

        async fn proposal(&self, from: &[usize]) -> v1::Proposal {
            let mut held = Vec::new();
            for &i in from {
                held.push(self.holdings(i).await);
            }
            propose(&held, 1, 0, &self.set[0], self.cutoff, &self.set)
        }

        async fn check(
            &self,
            p: &v1::Proposal,
            member: usize,
            attested: bool,
        ) -> Result<(), Refusal> {
            check(
                p,
                &self.stores[member],
                &rewards(),
                &Limits::default(),
                &self.set,
                &self.set[member],
                attested,
                1_000 * MS,
                self.cutoff,
            )
            .await
            .unwrap()
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
        // A member that gave none has nothing to miss there.
        assert_eq!(s.check(&p, 1, false).await, Ok(()));

        // Entropy left out.
        let mut p = honest.clone();
        p.entropy.clear();
        assert!(matches!(
            s.check(&p, 0, true).await,
            Err(Refusal::EntropyLeftOut { .. })
        ));
    }
}
