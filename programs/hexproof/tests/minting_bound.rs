//! A property of the whole program, in the real bank: whatever sequence of submissions, claims,
//! transfers, time and admin changes happens, and whatever the signing quorum signs (every
//! submission here is signed by oracles that sign anything: roots paying huge amounts, totals
//! below their leaves, epochs far ahead), the tokens that exist never exceed
//! - the newest lifetime total the oracles signed,
//! - what the emission schedule lets the epochs ended on the cluster clock emit,
//! - the windowed mint limit: whatever is minted within any `d < W` seconds is at most
//!   `limit × W / (W − d)` (the linear decay never forgets faster than that).
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

#[derive(Debug, Clone)]
enum Op {
    /// Time passes, seconds.
    Wait(i64),
    /// The signers in `signers` (bit i: oracle i; bit 3: the admin's own key) sign an epoch
    /// `ahead` of the last one ended on the clock (negative: in the past), paying each hotspot
    /// `amounts`, under a lifetime total `total`.
    Submit {
        ahead: i64,
        amounts: [u64; HOTSPOTS],
        total: u64,
        signers: u8,
    },
    /// The hotspot claims its leaf of the `tree`-th newest tree signed so far (only among
    /// the accepted ones unless `any`).
    Claim {
        hotspot: usize,
        tree: usize,
        any: bool,
    },
    /// The hotspot's owner hands it to owner `to` (some have no token account).
    Transfer { hotspot: usize, to: usize },
    /// The admin proposes itself as the only oracle.
    ProposeAdminOracle,
    /// Anyone applies a due oracle-set change.
    Apply,
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

fn op() -> impl Strategy<Value = Op> {
    let submit = (
        prop_oneof![3 => -2i64..=0, 1 => 1i64..=2],
        proptest::array::uniform3(amount()),
        prop_oneof![2 => Just(None), 1 => amount().prop_map(Some)],
        signers(),
    )
        .prop_map(|(ahead, amounts, total, signers)| Op::Submit {
            ahead,
            amounts,
            // Mostly the honest sum of the leaves; sometimes any total (below or above them).
            total: total.unwrap_or_else(|| amounts.iter().fold(0u64, |a, b| a.saturating_add(*b))),
            signers,
        });
    prop_oneof![
        4 => (0..3 * EPOCH_SECS).prop_map(Op::Wait),
        4 => submit,
        6 => (0..HOTSPOTS, prop_oneof![3 => Just(0usize), 1 => 1usize..3], proptest::bool::weighted(0.25))
            .prop_map(|(hotspot, tree, any)| Op::Claim { hotspot, tree, any }),
        1 => (0..HOTSPOTS, 0usize..HOTSPOTS + 2).prop_map(|(hotspot, to)| Op::Transfer { hotspot, to }),
        1 => Just(Op::ProposeAdminOracle),
        1 => Just(Op::Apply),
    ]
}

struct World {
    net: Net,
    hotspots: Vec<Keypair>,
    /// Owners 0..HOTSPOTS have token accounts; the two after them do not.
    owners: Vec<Keypair>,
    owner_of: Vec<usize>,
    /// Every tree signed so far, newest last: (leaf amounts, accepted by the program).
    trees: Vec<([u64; HOTSPOTS], bool)>,
    /// (time, amount) of every mint.
    mints: Vec<(i64, u64)>,
}

async fn world() -> World {
    let mut net = start(2).await;
    let hotspots: Vec<Keypair> = (0..HOTSPOTS).map(|_| Keypair::new()).collect();
    let owners: Vec<Keypair> = (0..HOTSPOTS + 2).map(|_| Keypair::new()).collect();
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
        trees: Vec::new(),
        mints: Vec::new(),
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

/// Applies an operation; for a claim the program refused, its error code.
async fn apply(w: &mut World, op: &Op) -> Option<u32> {
    let clock = EpochClock {
        genesis_ts: GENESIS,
        epoch_secs: EPOCH_SECS,
    };
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
            let ended = clock.completed(now(&w.net.ctx).await) as i64;
            let epoch = (ended + ahead).max(1) as u64;
            let root = tree_of(&w.hotspots, amounts).root();
            let msg = message(epoch, &root, *total);
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
            let payer = w.net.ctx.payer.pubkey();
            let ixs =
                instructions::submit_epoch(&payer, &deployment(), epoch, root, *total, &signed);
            let accepted = send(&mut w.net.ctx, &ixs, &[]).await.is_ok();
            w.trees.push((*amounts, accepted));
        }
        Op::Claim { hotspot, tree, any } => {
            let (amounts, _) = w
                .trees
                .iter()
                .rev()
                .filter(|(_, accepted)| *any || *accepted)
                .nth(*tree)?;
            let amounts = *amounts;
            let proof = tree_of(&w.hotspots, &amounts).proof(*hotspot).unwrap();
            let owner = w.owners[w.owner_of[*hotspot]].pubkey();
            let h = w.hotspots[*hotspot].pubkey();
            let before = supply(w).await;
            let ix = instructions::claim(&h, &owner, amounts[*hotspot], proof);
            match send(&mut w.net.ctx, &[ix], &[]).await {
                Ok(()) => {
                    let minted = supply(w).await - before;
                    w.mints.push((now(&w.net.ctx).await, minted));
                }
                refused => return code(refused),
            }
        }
        Op::Transfer { hotspot, to } => {
            let from = w.owners[w.owner_of[*hotspot]].insecure_clone();
            let ix = instructions::transfer_hotspot(
                &from.pubkey(),
                &w.hotspots[*hotspot].pubkey(),
                &w.owners[*to].pubkey(),
            );
            if send(&mut w.net.ctx, &[ix], &[&from]).await.is_ok() {
                w.owner_of[*hotspot] = *to;
            }
        }
        Op::ProposeAdminOracle => {
            let admin = w.net.admin.insecure_clone();
            let ix = instructions::propose_oracles(&admin.pubkey(), vec![admin.pubkey()], 1);
            send(&mut w.net.ctx, &[ix], &[&admin]).await.unwrap();
        }
        Op::Apply => {
            let _ = send(&mut w.net.ctx, &[instructions::apply_oracles()], &[]).await;
        }
    }
    None
}

/// The three bounds, checked after every operation.
async fn check(w: &mut World) -> Result<(), TestCaseError> {
    let c = config(&mut w.net.ctx).await;
    let t = now(&w.net.ctx).await;
    let minted = supply(w).await;
    prop_assert_eq!(minted, c.minted, "the program's count is the mint's supply");
    prop_assert!(
        minted <= c.lifetime_total,
        "{} > signed {}",
        minted,
        c.lifetime_total
    );
    let by_clock = EmissionSchedule {
        initial_per_epoch: EMISSION,
        halving_interval: HALVING,
    }
    .cumulative(
        EpochClock {
            genesis_ts: GENESIS,
            epoch_secs: EPOCH_SECS,
        }
        .completed(t),
    );
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
}

#[test]
fn minted_never_exceeds_what_was_signed_scheduled_or_the_window() {
    let seen = Seen::default();
    // A fixed seed: the same sequences on every run and machine (CI cannot flake on luck).
    let mut runner = TestRunner::new_with_rng(
        ProptestConfig {
            cases: 20,
            ..ProptestConfig::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = proptest::collection::vec(op(), 1..32);
    let result = runner.run(&strategy, |ops| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut w = world().await;
            for op in &ops {
                if let Some(code) = apply(&mut w, op).await {
                    let counter = match code {
                        c if named(E::OverMintCap) == Some(c) => &seen.over_cap,
                        c if named(E::MintWindowExceeded) == Some(c) => &seen.window,
                        _ => continue,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                check(&mut w).await?;
            }
            seen.mints
                .fetch_add(w.mints.len() as u64, Ordering::Relaxed);
            Ok::<(), TestCaseError>(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
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
