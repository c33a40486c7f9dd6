//! Properties of the whole program, in the real bank, over random sequences of submissions,
//! claims, transfers, decommissioning, pauses, long waits and admin grabs.
//!
//! **Safety** (`minted_never_exceeds_what_was_signed_scheduled_or_the_window`): whatever the
//! signing quorum signs (roots paying huge amounts, totals below or above their leaves,
//! inflated totals followed by honest ones, epochs far ahead), the tokens that exist are the
//! program's count, and never exceed
//! - the lifetime total in force when each was minted,
//! - what the emission schedule lets the epochs ended on the cluster clock emit,
//! - the windowed mint limit: whatever is minted within any `d < W` seconds is at most
//!   `limit × W / (W − d)` (the linear decay never forgets faster than that);
//!
//! and the admin alone never changes the oracle set.
//!
//! **Liveness** (`every_honest_owner_is_paid_exactly_what_it_earned`): with a quorum that is
//! honest but for totals sometimes inflated up to the schedule and roots that sometimes overpay
//! one hotspot (superseded by the next honest root, the overpayment recorded by
//! `sync_ledger`), owners who wait many epochs, a window others fill, transfers, pauses,
//! decommissioning and re-onboarding under another owner (refused without the previous owner's
//! signature, then signed) and admin grabs, every hotspot is eventually paid exactly its honest
//! lifetime amount (the overpaid one: what it was overpaid), each claim to the owner of
//! record, and nothing more exists.
#![allow(deprecated)] // solana-program-test: "Agave Unstable"

mod common;

use anchor_lang::prelude::Pubkey;
use common::*;
use hexproof_client::{instructions, pda};
use hexproof_commitment::{EmissionSchedule, EpochClock, MerkleTree, leaf};
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::{
    prelude::*,
    test_runner::{RngAlgorithm, TestRng, TestRunner},
};
use solana_keypair::Keypair;
use solana_signer::Signer;

const HOTSPOTS: usize = 3;
const OWNERS: usize = HOTSPOTS + 2;

const SCHEDULE: EmissionSchedule = EmissionSchedule {
    initial_per_epoch: EMISSION,
    halving_interval: HALVING,
};
const CLOCK: EpochClock = EpochClock {
    genesis_ts: GENESIS,
    epoch_secs: EPOCH_SECS,
};

#[derive(Debug, Clone)]
enum Op {
    /// Time passes, seconds (up to ten epochs: owners who wait).
    Wait(i64),
    /// The signers in `signers` (bit i: oracle i; bit 3: the admin's own key) sign an epoch
    /// `ahead` of the last one ended on the clock (negative: in the past), paying each hotspot
    /// `amounts`, under a lifetime total `total`. In the liveness property the quorum is honest:
    /// `amounts` are what each hotspot earned per epoch since the last honest submission (at
    /// most ten epochs back) and `total` (when `Some`) inflates the honest sum by that much,
    /// up to the schedule, or (signed by all three) overpays hotspot 0's leaf by it.
    Submit {
        ahead: i64,
        amounts: [u64; HOTSPOTS],
        total: Option<u64>,
        signers: u8,
    },
    /// Anyone claims the hotspot's leaf of the `tree`-th newest tree signed so far (only among
    /// the accepted ones unless `any`).
    Claim {
        hotspot: usize,
        tree: usize,
        any: bool,
    },
    /// The hotspot's owner offers it to owner `to`, who accepts.
    Transfer { hotspot: usize, to: usize },
    /// The owner decommissions the hotspot; if it was already, the key is onboarded again by
    /// owner `to`: without the previous owner's signature first (refused when `to` is another
    /// owner), then with it.
    Decommission { hotspot: usize, to: usize },
    /// The admin pauses or resumes.
    Pause(bool),
    /// The admin proposes itself as the only oracle and, later, applies it without the
    /// current set's approval.
    AdminGrab,
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 0..=EMISSION,
        2 => WINDOW_LIMIT..=10 * EMISSION,
        1 => Just(u64::MAX / 2),
    ]
}

/// Signer sets: mostly a quorum of oracles, sometimes anything (with the admin's key).
fn signers() -> impl Strategy<Value = u8> {
    prop_oneof![3 => Just(0b011), 1 => Just(0b111), 2 => 0u8..16]
}

fn op(honest: bool) -> impl Strategy<Value = Op> {
    let earned = if honest {
        // An epoch's earnings: at most a third of its emission each.
        proptest::array::uniform3(0..=EMISSION / 3).boxed()
    } else {
        proptest::array::uniform3(amount()).boxed()
    };
    let quorum = if honest {
        prop_oneof![Just(0b011u8), Just(0b101), Just(0b110), Just(0b111)].boxed()
    } else {
        signers().boxed()
    };
    // The liveness property decommissions and re-onboards (under other owners) more often.
    let decommissions = if honest { 2 } else { 1 };
    let submit = (
        prop_oneof![3 => -2i64..=0, 1 => 1i64..=2],
        earned,
        prop_oneof![2 => Just(None), 1 => amount().prop_map(Some)],
        quorum,
    )
        .prop_map(|(ahead, amounts, total, signers)| Op::Submit {
            ahead,
            amounts,
            total,
            signers,
        });
    prop_oneof![
        4 => prop_oneof![4 => 0..3 * EPOCH_SECS, 1 => 3 * EPOCH_SECS..10 * EPOCH_SECS].prop_map(Op::Wait),
        4 => submit,
        6 => (0..HOTSPOTS, prop_oneof![3 => Just(0usize), 1 => 1usize..3], proptest::bool::weighted(0.25))
            .prop_map(|(hotspot, tree, any)| Op::Claim { hotspot, tree, any }),
        1 => (0..HOTSPOTS, 0usize..OWNERS).prop_map(|(hotspot, to)| Op::Transfer { hotspot, to }),
        decommissions => (0..HOTSPOTS, 0usize..OWNERS).prop_map(|(hotspot, to)| Op::Decommission { hotspot, to }),
        1 => proptest::bool::ANY.prop_map(Op::Pause),
        1 => Just(Op::AdminGrab),
    ]
}

struct World {
    net: Net,
    hotspots: Vec<Keypair>,
    owners: Vec<Keypair>,
    owner_of: Vec<usize>,
    registered: Vec<bool>,
    /// Every tree signed so far, newest last: (leaf amounts, accepted by the program).
    trees: Vec<([u64; HOTSPOTS], bool)>,
    /// (time, amount) of every mint.
    mints: Vec<(i64, u64)>,
    /// The honest lifetime amounts (the liveness property's oracle).
    honest: [u64; HOTSPOTS],
    /// The newest epoch an honest submission covered.
    honest_epoch: u64,
    /// What each owner was paid, by the test's own count of every claim.
    paid: Vec<u64>,
    /// Claims that paid part of what their leaf owed (the rest left for later).
    instalments: u64,
}

async fn world() -> World {
    let mut net = start(2).await;
    let hotspots: Vec<Keypair> = (0..HOTSPOTS).map(|_| Keypair::new()).collect();
    let owners: Vec<Keypair> = (0..OWNERS).map(|_| Keypair::new()).collect();
    for (h, o) in hotspots.iter().zip(&owners) {
        onboard(&mut net, h, o).await.unwrap();
    }
    for o in &owners[HOTSPOTS..] {
        fund(&mut net.ctx, &o.pubkey()).await;
    }
    World {
        net,
        hotspots,
        owners,
        owner_of: (0..HOTSPOTS).collect(),
        registered: vec![true; HOTSPOTS],
        trees: Vec::new(),
        mints: Vec::new(),
        honest: [0; HOTSPOTS],
        honest_epoch: 0,
        paid: vec![0; OWNERS],
        instalments: 0,
    }
}

fn tree_of(hotspots: &[Keypair], amounts: &[u64; HOTSPOTS]) -> MerkleTree {
    MerkleTree::new(
        hotspots
            .iter()
            .zip(amounts)
            .map(|(h, a)| leaf(&h.pubkey().to_bytes(), *a))
            .collect(),
    )
}

/// Tokens in existence (the mint's supply: SPL layout, authority option 36 bytes, then u64).
async fn supply(w: &mut World) -> u64 {
    let data = w
        .net
        .ctx
        .banks_client
        .get_account(pda::mint())
        .await
        .unwrap()
        .unwrap()
        .data;
    u64::from_le_bytes(data[36..44].try_into().unwrap())
}

async fn claimed(w: &mut World, hotspot: usize) -> u64 {
    let data = w
        .net
        .ctx
        .banks_client
        .get_account(pda::ledger(&w.hotspots[hotspot].pubkey()))
        .await
        .unwrap()
        .unwrap()
        .data;
    let ledger: hexproof_program::state::Ledger =
        anchor_lang::AccountDeserialize::try_deserialize(&mut data.as_slice()).unwrap();
    ledger.claimed
}

/// Signs and sends an epoch; whether the program accepted it.
async fn sign_and_submit(
    w: &mut World,
    epoch: u64,
    amounts: &[u64; HOTSPOTS],
    total: u64,
    signers: u8,
) -> bool {
    let root = tree_of(&w.hotspots, amounts).root();
    let msg = message(epoch, &root, total);
    let mut signed: Vec<(Pubkey, [u8; 64])> = Vec::new();
    for (i, k) in w.net.oracles.iter().enumerate() {
        if signers & (1 << i) != 0 {
            use ed25519_dalek::Signer as _;
            signed.push((pubkey_of(k), k.sign(&msg).to_bytes()));
        }
    }
    if signers & 8 != 0 {
        let s = w.net.admin.sign_message(&msg);
        signed.push((w.net.admin.pubkey(), s.as_ref().try_into().unwrap()));
    }
    let ixs = instructions::submit_epoch(&deployment(), epoch, root, total, &signed);
    let accepted = send(&mut w.net.ctx, &ixs, &[]).await.is_ok();
    w.trees.push((*amounts, accepted));
    accepted
}

/// Claims `hotspot`'s leaf of `amounts` for its owner of record; the program's error code when
/// refused. Checks that what was minted went to that owner and stayed within the total in
/// force.
async fn claim(
    w: &mut World,
    hotspot: usize,
    amounts: &[u64; HOTSPOTS],
) -> Result<u64, Option<u32>> {
    let proof = tree_of(&w.hotspots, amounts).proof(hotspot).unwrap();
    let owner_index = w.owner_of[hotspot];
    let owner = w.owners[owner_index].pubkey();
    let h = w.hotspots[hotspot].pubkey();
    let before = supply(w).await;
    let held = balance(&mut w.net.ctx, &owner).await;
    let owed = amounts[hotspot].saturating_sub(claimed(w, hotspot).await);
    let ix = instructions::claim(&h, &owner, amounts[hotspot], proof);
    w.net.ctx.get_new_latest_blockhash().await.unwrap();
    match send(&mut w.net.ctx, &[ix], &[]).await {
        Ok(()) => {
            let minted = supply(w).await - before;
            assert_eq!(
                balance(&mut w.net.ctx, &owner).await - held,
                minted,
                "the claim paid the owner of record"
            );
            let c = config(&mut w.net.ctx).await;
            assert!(
                c.minted <= c.lifetime_total + c.excess,
                "minted {} above the total in force {} (and recorded overpayments {})",
                c.minted,
                c.lifetime_total,
                c.excess
            );
            w.mints.push((now(&w.net.ctx).await, minted));
            w.paid[owner_index] += minted;
            w.instalments += u64::from(minted < owed);
            Ok(minted)
        }
        refused => Err(code(refused)),
    }
}

/// Applies an operation; for a claim the program refused, its error code.
async fn apply(w: &mut World, op: &Op, honest: bool) -> Option<u32> {
    match op {
        Op::Wait(secs) => {
            let t = now(&w.net.ctx).await + secs;
            set_time(&w.net.ctx, t).await;
        }
        Op::Submit {
            ahead,
            amounts,
            total,
            signers,
        } => {
            let ended = CLOCK.completed(now(&w.net.ctx).await) as i64;
            if honest {
                // The honest quorum signs the newest ended epoch, once, over what was earned by
                // the hotspots registered now; sometimes with an inflated total.
                let epoch = ended as u64;
                if epoch <= w.honest_epoch {
                    return None;
                }
                // `amounts` per epoch, for every epoch since the last honest one.
                let epochs = epoch - w.honest_epoch.max(ended as u64 - 10);
                let mut lifetime = w.honest;
                for h in 0..HOTSPOTS {
                    if w.registered[h] {
                        lifetime[h] += amounts[h] * epochs;
                    }
                }
                let sum: u64 = lifetime.iter().sum();
                // Signed by all three with an extra: a buggy root that overpays hotspot 0 by it
                // (the next honest root pays it its true amount again).
                let overpay = *signers == 0b111 && total.is_some();
                let mut leaves = lifetime;
                let total = match total {
                    Some(extra) if overpay => {
                        leaves[0] = leaves[0].saturating_add(*extra % (3 * EMISSION));
                        leaves.iter().sum()
                    }
                    Some(extra) => sum.saturating_add(*extra).min(SCHEDULE.cumulative(epoch)),
                    None => sum,
                };
                if sign_and_submit(w, epoch, &leaves, total.max(sum), *signers).await {
                    w.honest = lifetime;
                    w.honest_epoch = epoch;
                }
            } else {
                let epoch = (ended + ahead).max(1) as u64;
                let sum = amounts.iter().fold(0u64, |a, b| a.saturating_add(*b));
                // Mostly the honest sum of the leaves; sometimes any total.
                sign_and_submit(w, epoch, amounts, total.unwrap_or(sum), *signers).await;
            }
        }
        Op::Claim { hotspot, tree, any } => {
            let (amounts, _) = w
                .trees
                .iter()
                .rev()
                .filter(|(_, accepted)| *any || *accepted)
                .nth(*tree)?;
            let amounts = *amounts;
            return claim(w, *hotspot, &amounts).await.err().flatten();
        }
        Op::Transfer { hotspot, to } => {
            if !w.registered[*hotspot] {
                return None;
            }
            let from = w.owners[w.owner_of[*hotspot]].insecure_clone();
            let new_owner = w.owners[*to].insecure_clone();
            let h = w.hotspots[*hotspot].pubkey();
            let offer = instructions::transfer_hotspot(&from.pubkey(), &h, &new_owner.pubkey());
            let accept = instructions::accept_hotspot(&new_owner.pubkey(), &h);
            if send(&mut w.net.ctx, &[offer, accept], &[&from, &new_owner])
                .await
                .is_ok()
            {
                w.owner_of[*hotspot] = *to;
            }
        }
        Op::Decommission { hotspot, to } => {
            let owner = w.owners[w.owner_of[*hotspot]].insecure_clone();
            let h = w.hotspots[*hotspot].insecure_clone();
            if w.registered[*hotspot] {
                let ix = instructions::decommission_hotspot(&owner.pubkey(), &h.pubkey());
                if send(&mut w.net.ctx, &[ix], &[&owner]).await.is_ok() {
                    w.registered[*hotspot] = false;
                }
                return None;
            }
            if config(&mut w.net.ctx).await.paused {
                return None; // onboarding waits for the pause to end
            }
            let taker = w.owners[*to].insecure_clone();
            let ix = onboard_ix(&h.pubkey(), &taker.pubkey());
            let alone = send(&mut w.net.ctx, &[ix], &[&taker, &h]).await;
            if *to != w.owner_of[*hotspot] {
                assert_eq!(code(alone), named(E::PreviousOwnerMustSign));
                let ix = instructions::reonboard_hotspot(
                    &h.pubkey(),
                    &taker.pubkey(),
                    Some(&owner.pubkey()),
                    site(),
                    30,
                    5,
                );
                send(&mut w.net.ctx, &[ix], &[&taker, &h, &owner])
                    .await
                    .unwrap();
            } else {
                alone.unwrap();
            }
            w.owner_of[*hotspot] = *to;
            w.registered[*hotspot] = true;
        }
        Op::Pause(paused) => {
            let admin = w.net.admin.insecure_clone();
            let ix = instructions::set_paused(&admin.pubkey(), *paused);
            send(&mut w.net.ctx, &[ix], &[&admin]).await.unwrap();
        }
        Op::AdminGrab => {
            let admin = w.net.admin.insecure_clone();
            let c = config(&mut w.net.ctx).await;
            if c.pending_oracles.is_empty() {
                let ix = instructions::propose_oracles(&admin.pubkey(), vec![admin.pubkey()], 1);
                send(&mut w.net.ctx, &[ix], &[&admin]).await.unwrap();
            } else {
                // The admin "approves" as the proposed set itself: not a current member.
                let message = instructions::oracle_set_approval(&c);
                let s = admin.sign_message(&message);
                let approval = (admin.pubkey(), s.as_ref().try_into().unwrap());
                let ixs = instructions::apply_oracles(&message, &[approval]);
                assert!(send(&mut w.net.ctx, &ixs, &[]).await.is_err());
                let ixs = instructions::apply_oracles(&message, &[]);
                assert!(send(&mut w.net.ctx, &ixs, &[]).await.is_err());
            }
            let oracles: Vec<Pubkey> = w.net.oracles.iter().map(pubkey_of).collect();
            assert_eq!(config(&mut w.net.ctx).await.oracles, oracles);
        }
    }
    None
}

/// The safety bounds, checked after every operation.
async fn check(w: &mut World) -> Result<(), TestCaseError> {
    let c = config(&mut w.net.ctx).await;
    let t = now(&w.net.ctx).await;
    let minted = supply(w).await;
    prop_assert_eq!(minted, c.minted, "the program's count is the mint's supply");
    let by_clock = SCHEDULE.cumulative(CLOCK.completed(t));
    prop_assert!(minted <= by_clock, "{} > schedule {}", minted, by_clock);
    let window = c.breaker.window_secs;
    for (i, &(start, _)) in w.mints.iter().enumerate() {
        let mut sum: u128 = 0;
        for &(at, amount) in &w.mints[i..] {
            let d = at - start;
            if d >= window {
                break;
            }
            sum += u128::from(amount);
            prop_assert!(
                sum * (window - d) as u128 <= u128::from(c.breaker.limit) * window as u128,
                "{} minted within {} s",
                sum,
                d
            );
        }
    }
    Ok(())
}

/// How often the bounds were hit across all cases: a property that never mints or never
/// refuses would prove nothing.
#[derive(Default)]
struct Seen {
    mints: AtomicU64,
    over_cap: AtomicU64,
    window: AtomicU64,
    partial: AtomicU64,
}

fn run(honest: bool, cases: u32, ops: usize, body: impl AsyncCase) -> Seen {
    let seen = Seen::default();
    // A fixed seed: the same sequences on every run and machine (CI cannot flake on luck).
    let mut runner = TestRunner::new_with_rng(
        ProptestConfig {
            cases,
            ..ProptestConfig::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = proptest::collection::vec(op(honest), 1..ops);
    let result = runner.run(&strategy, |ops| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut w = world().await;
            for op in &ops {
                if let Some(code) = apply(&mut w, op, honest).await {
                    let counter = match code {
                        c if named(E::OverMintCap) == Some(c) => &seen.over_cap,
                        c if named(E::MintWindowExceeded) == Some(c) => &seen.window,
                        _ => continue,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                check(&mut w).await?;
            }
            body.finish(&mut w).await?;
            seen.partial.fetch_add(w.instalments, Ordering::Relaxed);
            seen.mints
                .fetch_add(w.mints.len() as u64, Ordering::Relaxed);
            Ok::<(), TestCaseError>(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    seen
}

/// What a case does after its operations.
trait AsyncCase {
    async fn finish(&self, w: &mut World) -> Result<(), TestCaseError>;
}

struct Nothing;
impl AsyncCase for Nothing {
    async fn finish(&self, _: &mut World) -> Result<(), TestCaseError> {
        Ok(())
    }
}

/// Liveness: resume, land one more honest epoch, then claim round after round (each after a
/// full window) until nothing is owed; every hotspot must end with exactly its honest amount.
struct PayEveryone;
impl AsyncCase for PayEveryone {
    async fn finish(&self, w: &mut World) -> Result<(), TestCaseError> {
        apply(w, &Op::Pause(false), true).await;
        let t = now(&w.net.ctx).await + EPOCH_SECS;
        set_time(&w.net.ctx, t).await;
        let last = Op::Submit {
            ahead: 0,
            amounts: [0; HOTSPOTS],
            total: None,
            signers: 0b011,
        };
        apply(w, &last, true).await;
        let honest = w.honest;
        let (newest, accepted) = *w.trees.last().unwrap();
        prop_assert!(accepted && newest == honest, "the last honest epoch landed");
        // What an overpaying root paid beyond the honest leaves is recorded (as the oracle
        // does), so that it comes out of no honest owner's due.
        let mut expected = honest;
        for h in 0..HOTSPOTS {
            let paid = claimed(w, h).await;
            if paid > honest[h] {
                expected[h] = paid;
                let proof = tree_of(&w.hotspots, &honest).proof(h).unwrap();
                let ix = instructions::sync_ledger(&w.hotspots[h].pubkey(), honest[h], proof);
                send(&mut w.net.ctx, &[ix], &[]).await.unwrap();
            }
        }
        // Each round pays at least the window's limit, or everything owed.
        let owed: u64 = expected.iter().sum::<u64>() - config(&mut w.net.ctx).await.minted;
        let rounds = owed / WINDOW_LIMIT + 2;
        for _ in 0..rounds {
            for h in 0..HOTSPOTS {
                if claimed(w, h).await < honest[h] {
                    let _ = claim(w, h, &honest).await;
                }
            }
            let t = now(&w.net.ctx).await + EPOCH_SECS;
            set_time(&w.net.ctx, t).await;
        }
        for (h, &amount) in expected.iter().enumerate() {
            prop_assert_eq!(claimed(w, h).await, amount, "hotspot {} paid in full", h);
        }
        let total: u64 = expected.iter().sum();
        prop_assert_eq!(supply(w).await, total, "nothing more exists");
        for (i, o) in w.owners.iter().enumerate() {
            prop_assert_eq!(balance(&mut w.net.ctx, &o.pubkey()).await, w.paid[i]);
        }
        check(w).await
    }
}

#[test]
fn minted_never_exceeds_what_was_signed_scheduled_or_the_window() {
    let seen = run(false, 20, 32, Nothing);
    let (mints, over_cap, window) = (
        seen.mints.load(Ordering::Relaxed),
        seen.over_cap.load(Ordering::Relaxed),
        seen.window.load(Ordering::Relaxed),
    );
    eprintln!("claims paid {mints}, refused over the cap {over_cap}, by the window {window}");
    assert!(
        mints > 0 && over_cap > 0 && window > 0,
        "the bounds were exercised"
    );
}

#[test]
fn every_honest_owner_is_paid_exactly_what_it_earned() {
    let seen = run(true, 12, 32, PayEveryone);
    let (mints, partial) = (
        seen.mints.load(Ordering::Relaxed),
        seen.partial.load(Ordering::Relaxed),
    );
    eprintln!("claims paid {mints}, of which instalments {partial}");
    assert!(
        mints > 0 && partial > 0,
        "owners were paid, some in instalments"
    );
}
