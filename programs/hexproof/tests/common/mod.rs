//! The program in a real Solana runtime: solana-program-test's bank with the real SPL Token and
//! Associated Token programs, ours loaded as a native program (the SBF toolchain cannot be
//! installed here), its upgrade authority recorded where the upgradeable loader keeps it, and
//! the bank's clock set by the test. Epochs and proofs come from `hexproof-poc`.
#![allow(dead_code, deprecated)]

use std::collections::BTreeMap;

use anchor_lang::{
    prelude::{Clock, Pubkey},
    solana_program::instruction::Instruction,
};
use hexproof_client::{
    chain::{PACKET_DATA_SIZE, wire_size},
    instructions::{self, AntennaBounds, InitializeArgs},
    pda,
};
use hexproof_commitment::{Deployment, epoch_message};
use hexproof_poc::rewards::{self, Activity, EpochRewards};
use hexproof_proto::PublicKey;
use solana_keypair::Keypair;
use solana_program_test::{BanksClientError, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::Transaction;

pub const EMISSION: u64 = 1_000_000;
pub const HALVING: u64 = 100;
pub const EPOCH_SECS: i64 = 3_600;
/// The bank's clock when a test starts: epochs 1 to 24 have ended.
pub const NOW: i64 = 1_800_000_000;
pub const GENESIS: i64 = NOW - 24 * EPOCH_SECS;
pub const DEPLOYMENT: [u8; 32] = [0xD5; 32];
pub const CHANGE_DELAY: i64 = 86_400;
pub const WINDOW_LIMIT: u64 = 2 * EMISSION;
/// What each onboarding pays into the treasury in these tests (0.01 SOL).
pub const ONBOARDING_FEE: u64 = 10_000_000;

pub struct Net {
    pub ctx: ProgramTestContext,
    pub oracles: Vec<ed25519_dalek::SigningKey>,
    pub admin: Keypair,
}

pub fn deployment() -> Deployment {
    Deployment {
        program_id: hexproof_program::ID.to_bytes(),
        id: DEPLOYMENT,
    }
}

/// Deployment parameters with the test's defaults.
pub fn init_args(oracles: Vec<Pubkey>, threshold: u8) -> InitializeArgs {
    InitializeArgs {
        oracles,
        threshold,
        initial_emission: EMISSION,
        halving_interval: HALVING,
        genesis_ts: GENESIS,
        epoch_secs: EPOCH_SECS,
        deployment: DEPLOYMENT,
        change_delay_secs: CHANGE_DELAY,
        mint_window_secs: EPOCH_SECS,
        mint_window_limit: WINDOW_LIMIT,
        antenna: AntennaBounds {
            min_gain_ddbi: 0,
            max_gain_ddbi: 150,
            min_elevation_m: 0,
            max_elevation_m: 1_000,
        },
        onboarding_fee: ONBOARDING_FEE,
        dc_per_token: 100_000,
    }
}

pub fn oracle_keys() -> Vec<ed25519_dalek::SigningKey> {
    (1..=3u8)
        .map(|i| ed25519_dalek::SigningKey::from_bytes(&[i; 32]))
        .collect()
}

pub fn pubkey_of(k: &ed25519_dalek::SigningKey) -> Pubkey {
    Pubkey::new_from_array(k.verifying_key().to_bytes())
}

/// A freshly deployed program, `authority` its upgrade authority, not initialized, the clock
/// at [`NOW`].
pub async fn deployed(authority: &Pubkey) -> ProgramTestContext {
    let ctx = hexproof_client::chain::program_test(authority)
        .start_with_context()
        .await;
    set_time(&ctx, NOW).await;
    ctx
}

/// Sets the bank's clock.
pub async fn set_time(ctx: &ProgramTestContext, unix_timestamp: i64) {
    let mut clock: Clock = ctx.banks_client.get_sysvar().await.unwrap();
    clock.unix_timestamp = unix_timestamp;
    ctx.set_sysvar(&clock);
}

pub async fn now(ctx: &ProgramTestContext) -> i64 {
    ctx.banks_client
        .get_sysvar::<Clock>()
        .await
        .unwrap()
        .unix_timestamp
}

/// Deployed and initialized by its upgrade authority with three oracles and `threshold`.
pub async fn start(threshold: u8) -> Net {
    start_with(oracle_keys(), threshold).await
}

/// Deployed and initialized by its upgrade authority with these oracles and `threshold`.
pub async fn start_with(oracles: Vec<ed25519_dalek::SigningKey>, threshold: u8) -> Net {
    let admin = Keypair::new();
    let mut ctx = deployed(&admin.pubkey()).await;
    fund(&mut ctx, &admin.pubkey()).await;
    let ix = instructions::initialize(
        &admin.pubkey(),
        init_args(oracles.iter().map(pubkey_of).collect(), threshold),
    );
    send(&mut ctx, &[ix], &[&admin]).await.unwrap();
    Net {
        ctx,
        oracles,
        admin,
    }
}

/// Sends with the context's payer paying the fee.
pub async fn send(
    ctx: &mut ProgramTestContext,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> Result<(), BanksClientError> {
    let payer = ctx.payer.insecure_clone();
    send_by(ctx, &payer, ixs, signers).await
}

/// Sends with `payer` paying the fee. Every transaction a test sends must fit a cluster's
/// packet, which the bank itself does not check.
pub async fn send_by(
    ctx: &mut ProgramTestContext,
    payer: &Keypair,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> Result<(), BanksClientError> {
    let blockhash = ctx.get_new_latest_blockhash().await.unwrap();
    let mut all: Vec<&Keypair> = vec![payer];
    all.extend(signers.iter().filter(|s| s.pubkey() != payer.pubkey()));
    let tx = Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, blockhash);
    let size = wire_size(&tx);
    assert!(
        size <= PACKET_DATA_SIZE,
        "a {size}-byte transaction: no cluster would take it"
    );
    ctx.banks_client.process_transaction(tx).await
}

/// The program's error code a failed transaction carries (Anchor: 6000 + the variant's index).
pub fn code(result: Result<(), BanksClientError>) -> Option<u32> {
    let shown = format!("{:?}", result.err()?.unwrap());
    let start = shown.find("Custom(")? + "Custom(".len();
    shown[start..].split(')').next()?.parse().ok()
}

/// The code of one of our named errors.
pub fn named(e: hexproof_program::errors::HexproofError) -> Option<u32> {
    Some(6000 + e as u32)
}

#[allow(unused_imports)]
pub use hexproof_program::errors::HexproofError as E;

pub async fn fund(ctx: &mut ProgramTestContext, to: &Pubkey) {
    let ix = anchor_lang::solana_program::system_instruction::transfer(
        &ctx.payer.pubkey(),
        to,
        1_000_000_000,
    );
    send(ctx, &[ix], &[]).await.unwrap();
}

pub fn res12() -> u64 {
    u64::from(
        h3o::LatLng::new(52.52, 13.405)
            .unwrap()
            .to_cell(h3o::Resolution::Twelve),
    )
}

/// Where the chain holds a hotspot at the resolution-12 `cell`: its resolution-8 parent and a
/// commitment to the exact cell (the program holds it; only oracles open it).
pub fn placed(cell: u64) -> instructions::Location {
    let exact = h3o::CellIndex::try_from(cell).unwrap();
    instructions::Location {
        cell: u64::from(exact.parent(h3o::Resolution::Eight).unwrap()),
        commitment: hexproof_proto::location::commitment(
            &PublicKey::from([1; 32]),
            exact,
            &[2; 32],
        ),
    }
}

/// [`res12`] as the chain holds it.
pub fn site() -> instructions::Location {
    placed(res12())
}

pub async fn onboard(
    net: &mut Net,
    hotspot: &Keypair,
    owner: &Keypair,
) -> Result<(), BanksClientError> {
    fund(&mut net.ctx, &owner.pubkey()).await;
    let ix = onboard_ix(&hotspot.pubkey(), &owner.pubkey());
    send(&mut net.ctx, &[ix], &[hotspot, owner]).await
}

/// A hotspot with its owner, onboarded (the owner's token account created with it).
pub async fn hotspot(net: &mut Net) -> (Keypair, Keypair) {
    let (hotspot, owner) = (Keypair::new(), Keypair::new());
    onboard(net, &hotspot, &owner).await.unwrap();
    (hotspot, owner)
}

/// The one-leaf tree paying `hotspot` a lifetime `amount`: its root and the leaf's proof.
pub fn one_leaf(hotspot: &Pubkey, amount: u64) -> ([u8; 32], Vec<[u8; 32]>) {
    let tree = hexproof_commitment::MerkleTree::new(vec![hexproof_commitment::leaf(
        &hotspot.to_bytes(),
        amount,
    )]);
    (tree.root(), tree.proof(0).unwrap())
}

pub fn onboard_ix(hotspot: &Pubkey, owner: &Pubkey) -> Instruction {
    instructions::onboard_hotspot(hotspot, owner, site(), 30, 5)
}

/// The one Ed25519 precompile instruction carrying the given oracles' signatures over
/// `message`.
pub fn signatures(oracles: &[&ed25519_dalek::SigningKey], message: &[u8]) -> Instruction {
    use ed25519_dalek::Signer as _;
    let signed: Vec<(Pubkey, [u8; 64])> = oracles
        .iter()
        .map(|k| (pubkey_of(k), k.sign(message).to_bytes()))
        .collect();
    instructions::ed25519_signatures(message, &signed)
}

/// `submit_epoch` alone (its signatures come from [`signatures`]).
pub fn submit_ix(epoch: u64, root: [u8; 32], total: u64) -> Instruction {
    instructions::submit_epoch(&deployment(), epoch, root, total, &[])
        .pop()
        .expect("submit_epoch")
}

pub fn message(epoch: u64, root: &[u8; 32], total: u64) -> Vec<u8> {
    epoch_message(&deployment(), epoch, root, total).to_vec()
}

pub async fn submit(
    net: &mut Net,
    epoch: u64,
    root: [u8; 32],
    total: u64,
    by: &[usize],
) -> Result<(), BanksClientError> {
    let message = message(epoch, &root, total);
    let keys: Vec<&ed25519_dalek::SigningKey> = by.iter().map(|&i| &net.oracles[i]).collect();
    let ixs = vec![signatures(&keys, &message), submit_ix(epoch, root, total)];
    send(&mut net.ctx, &ixs, &[]).await
}

/// `apply_oracles` with the approvals of the current oracles `by` over the pending set.
pub async fn approve_pending(net: &mut Net, by: &[usize]) -> Vec<Instruction> {
    use ed25519_dalek::Signer as _;
    let c = config(&mut net.ctx).await;
    let message = instructions::oracle_set_approval(&c);
    let approvals: Vec<(Pubkey, [u8; 64])> = by
        .iter()
        .map(|&i| {
            let k = &net.oracles[i];
            (pubkey_of(k), k.sign(&message).to_bytes())
        })
        .collect();
    instructions::apply_oracles(&message, &approvals)
}

pub fn claim_ix(
    hotspot: &Pubkey,
    owner: &Pubkey,
    amount: u64,
    proof: Vec<[u8; 32]>,
) -> Instruction {
    instructions::claim(hotspot, owner, amount, proof)
}

/// The claim of `hotspot`'s leaf in the tree over `lifetime` (leaves in `keys` order).
pub fn claim_leaf(
    hotspot: &Pubkey,
    owner: &Pubkey,
    lifetime: &BTreeMap<PublicKey, u64>,
    tree: &hexproof_commitment::MerkleTree,
    keys: &[PublicKey],
) -> Instruction {
    let key = PublicKey::from(hotspot.to_bytes());
    let i = keys.iter().position(|k| *k == key).expect("a leaf");
    claim_ix(
        hotspot,
        owner,
        lifetime[&key],
        tree.proof(i).expect("a proof"),
    )
}

/// Tokens in an owner's token account (0 when it does not exist).
pub async fn balance(ctx: &mut ProgramTestContext, owner: &Pubkey) -> u64 {
    // SPL token account layout: mint (32), owner (32), amount (u64 LE).
    ctx.banks_client
        .get_account(pda::owner_tokens(owner))
        .await
        .unwrap()
        .map_or(0, |a| {
            u64::from_le_bytes(a.data[64..72].try_into().unwrap())
        })
}

/// The program's configuration.
pub async fn config(ctx: &mut ProgramTestContext) -> hexproof_program::state::Config {
    let data = ctx
        .banks_client
        .get_account(pda::config())
        .await
        .unwrap()
        .unwrap()
        .data;
    anchor_lang::AccountDeserialize::try_deserialize(&mut data.as_slice()).unwrap()
}

/// An epoch's leaves as the oracle computes them.
pub fn oracle_epoch(
    previous: &BTreeMap<PublicKey, u64>,
    beacons: &[(Pubkey, u64)],
    emission: u64,
) -> (BTreeMap<PublicKey, u64>, EpochRewards) {
    let activity = Activity {
        beacons: beacons
            .iter()
            .map(|(k, n)| (PublicKey::from(k.to_bytes()), *n))
            .collect(),
        ..Activity::default()
    };
    let r = rewards::compute(emission, &activity, 10_000);
    (rewards::accumulate(previous, &r), r)
}
