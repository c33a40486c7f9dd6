//! The program in a real Solana runtime (see `common`): the instructions' happy paths and the
//! Sealevel attack categories. The attacks of the program-promises issues are in `attacks.rs`
//! (with every transaction's size) and `promises.rs`, the minting bound in `minting_bound.rs`.
#![allow(deprecated)]

mod common;

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use common::*;
use hexproof_client::{instructions, pda};
use hexproof_poc::rewards;
use hexproof_program::state::LEDGER_SEED;
use hexproof_proto::PublicKey;
use solana_keypair::Keypair;
use solana_signer::Signer;

const STALE_EPOCH: Option<u32> = Some(6003);
const OVER_EMISSION_CAP: Option<u32> = Some(6004);
const NOT_ENOUGH_ORACLE_SIGNATURES: Option<u32> = Some(6006);
const BAD_PROOF: Option<u32> = Some(6007);
const NOTHING_TO_CLAIM: Option<u32> = Some(6008);
const PAUSED: Option<u32> = Some(6000);

#[tokio::test]
async fn onboard_submit_claim_then_claim_only_the_difference() {
    let mut net = start(2).await;
    let (h1, o1) = (Keypair::new(), Keypair::new());
    let (h2, o2) = (Keypair::new(), Keypair::new());
    onboard(&mut net, &h1, &o1).await.unwrap();
    onboard(&mut net, &h2, &o2).await.unwrap();

    // Epoch 1: h1 beaconed 3 times, h2 once.
    let (lifetime, _) = oracle_epoch(
        &BTreeMap::new(),
        &[(h1.pubkey(), 3), (h2.pubkey(), 1)],
        EMISSION,
    );
    let (tree, keys) = rewards::tree(&lifetime);
    let total: u64 = lifetime.values().sum();
    submit(&mut net, 1, tree.root(), total, &[0, 2])
        .await
        .unwrap();

    let k1 = PublicKey::from(h1.pubkey().to_bytes());
    let ix = claim_leaf(&h1.pubkey(), &o1.pubkey(), &lifetime, &tree, &keys);
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net.ctx, &o1.pubkey()).await, lifetime[&k1]);
    assert_eq!(lifetime[&k1], 750_000);

    // Epoch 2: only h1 beacons; its lifetime grows, the claim mints the difference.
    let (lifetime2, _) = oracle_epoch(&lifetime, &[(h1.pubkey(), 1)], EMISSION);
    let (tree2, keys2) = rewards::tree(&lifetime2);
    submit(&mut net, 2, tree2.root(), lifetime2.values().sum(), &[1, 2])
        .await
        .unwrap();
    let ix = claim_leaf(&h1.pubkey(), &o1.pubkey(), &lifetime2, &tree2, &keys2);
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net.ctx, &o1.pubkey()).await, lifetime2[&k1]);
    assert_eq!(lifetime2[&k1], 1_750_000);

    // h2 never claimed in epoch 1 and loses nothing: its epoch-2 leaf still holds its amount.
    let ix = claim_leaf(&h2.pubkey(), &o2.pubkey(), &lifetime2, &tree2, &keys2);
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net.ctx, &o2.pubkey()).await, 250_000);
    let _ = &net.admin;
}

#[tokio::test]
async fn too_few_duplicated_or_wrong_signatures_are_refused() {
    let mut net = start(2).await;
    let root = [7u8; 32];
    // M-1 signatures.
    assert_eq!(
        code(submit(&mut net, 1, root, 10, &[0]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );
    // The same oracle twice does not count twice.
    assert_eq!(
        code(submit(&mut net, 1, root, 10, &[1, 1]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );
    // Signatures over another epoch.
    let ixs = vec![
        signatures(&[&net.oracles[0], &net.oracles[1]], &message(9, &root, 10)),
        submit_ix(1, root, 10),
    ];
    assert_eq!(
        code(send(&mut net.ctx, &ixs, &[]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );
    // A key that is not an oracle.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[99; 32]);
    let ixs = vec![
        signatures(&[&net.oracles[0], &stranger], &message(1, &root, 10)),
        submit_ix(1, root, 10),
    ];
    assert_eq!(
        code(send(&mut net.ctx, &ixs, &[]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );
    // Signatures in two Ed25519 instructions count together (and each only once).
    let ixs = vec![
        signatures(&[&net.oracles[0]], &message(1, &root, 10)),
        signatures(&[&net.oracles[0]], &message(1, &root, 10)),
        submit_ix(1, root, 10),
    ];
    assert_eq!(
        code(send(&mut net.ctx, &ixs, &[]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );
    // A forged signature: the Ed25519 precompile itself fails the transaction.
    let mut forged = signatures(&[&net.oracles[0], &net.oracles[1]], &message(1, &root, 10));
    let last = forged.data.len() - 1;
    forged.data[last] ^= 1;
    let forged = send(&mut net.ctx, &[forged, submit_ix(1, root, 10)], &[]).await;
    // It fails in instruction 0, the precompile, before our program runs.
    assert!(
        format!("{forged:?}").contains("InstructionError(0, "),
        "{forged:?}"
    );
    // Over the emission cap.
    assert_eq!(
        code(submit(&mut net, 1, root, EMISSION + 1, &[0, 1]).await),
        OVER_EMISSION_CAP
    );
    // Finally a good one, then the same epoch again is stale.
    submit(&mut net, 1, root, 10, &[0, 1]).await.unwrap();
    assert_eq!(
        code(submit(&mut net, 1, [8; 32], 20, &[0, 1]).await),
        STALE_EPOCH
    );
}

#[tokio::test]
async fn claims_need_a_proof_go_once_and_stop_while_paused() {
    let mut net = start(2).await;
    let (h, o) = (Keypair::new(), Keypair::new());
    onboard(&mut net, &h, &o).await.unwrap();
    let (lifetime, _) = oracle_epoch(&BTreeMap::new(), &[(h.pubkey(), 1)], EMISSION);
    let (tree, _) = rewards::tree(&lifetime);
    submit(&mut net, 1, tree.root(), lifetime.values().sum(), &[0, 1])
        .await
        .unwrap();
    let amount = lifetime[&PublicKey::from(h.pubkey().to_bytes())];
    let proof = tree.proof(0).unwrap();

    // A tampered amount does not prove.
    let ix = claim_ix(&h.pubkey(), &o.pubkey(), amount + 1, proof.clone());
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), BAD_PROOF);
    // Tokens only go to the registered owner: naming another owner account fails.
    let thief = Keypair::new();
    fund(&mut net.ctx, &thief.pubkey()).await;
    let ix = instructions::create_owner_tokens(&thief.pubkey(), &thief.pubkey());
    send(&mut net.ctx, &[ix], &[&thief]).await.unwrap();
    let ix = claim_ix(&h.pubkey(), &thief.pubkey(), amount, proof.clone());
    // Anchor's has_one constraint: ConstraintHasOne (2001).
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), Some(2001));

    // Paused: no claims.
    let pause = |paused| instructions::set_paused(&net.admin.pubkey(), paused);
    let (on, off) = (pause(true), pause(false));
    let admin = net.admin.insecure_clone();
    send(&mut net.ctx, &[on], &[&admin]).await.unwrap();
    let ix = claim_ix(&h.pubkey(), &o.pubkey(), amount, proof.clone());
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), PAUSED);
    send(&mut net.ctx, &[off], &[&admin]).await.unwrap();
    // (The same claim again needs a new blockhash, or the bank answers from its cache.)
    net.ctx.get_new_latest_blockhash().await.unwrap();

    // Claimed once; the same claim again has nothing left.
    let ix = claim_ix(&h.pubkey(), &o.pubkey(), amount, proof.clone());
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net.ctx, &o.pubkey()).await, amount);
    net.ctx.get_new_latest_blockhash().await.unwrap();
    let ix = claim_ix(&h.pubkey(), &o.pubkey(), amount, proof);
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), NOTHING_TO_CLAIM);
    assert_eq!(balance(&mut net.ctx, &o.pubkey()).await, amount);
}

#[tokio::test]
async fn a_fake_instructions_sysvar_is_refused() {
    let mut net = start(1).await;
    let payer = net.ctx.payer.pubkey();
    let mut ix = submit_ix(1, [1; 32], 10);
    // Point the instructions account at an ordinary account.
    ix.accounts[1].pubkey = payer;
    let result = send(&mut net.ctx, &[ix], &[]).await;
    // Anchor's address constraint: ConstraintAddress (2012).
    assert_eq!(code(result), Some(2012));
}

#[tokio::test]
async fn sealevel_pitfalls_are_closed() {
    let mut net = start(2).await;
    let (h, o) = (Keypair::new(), Keypair::new());
    fund(&mut net.ctx, &o.pubkey()).await;

    // Missing signer: onboarding without the hotspot key's signature.
    let mut ix = onboard_ix(&h.pubkey(), &o.pubkey());
    ix.accounts[1].is_signer = false;
    // AccountNotSigner (3010).
    assert_eq!(code(send(&mut net.ctx, &[ix], &[&o]).await), Some(3010));
    onboard(&mut net, &h, &o).await.unwrap();

    // Re-initialization: the config exists already.
    let again = instructions::initialize(
        &net.admin.pubkey(),
        init_args(vec![Pubkey::new_unique()], 1),
    );
    let admin = net.admin.insecure_clone();
    assert!(send(&mut net.ctx, &[again], &[&admin]).await.is_err());

    // Type cosplay: a Hotspot account passed where the Config belongs.
    let hotspot_pda = pda::hotspot(&h.pubkey());
    let mut ix = submit_ix(1, [1; 32], 10);
    ix.accounts[0].pubkey = hotspot_pda;
    // AccountDiscriminatorMismatch (3002).
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), Some(3002));

    // Arbitrary CPI: a claim naming another "token program".
    let (lifetime, _) = oracle_epoch(&BTreeMap::new(), &[(h.pubkey(), 1)], EMISSION);
    let (tree, _) = rewards::tree(&lifetime);
    submit(&mut net, 1, tree.root(), lifetime.values().sum(), &[0, 1])
        .await
        .unwrap();
    let amount = lifetime[&PublicKey::from(h.pubkey().to_bytes())];
    let mut ix = claim_ix(&h.pubkey(), &o.pubkey(), amount, tree.proof(0).unwrap());
    let token_program = ix
        .accounts
        .iter()
        .position(|m| m.pubkey == anchor_spl::token::ID)
        .unwrap();
    ix.accounts[token_program].pubkey = anchor_lang::system_program::ID;
    // InvalidProgramId (3008).
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), Some(3008));

    // Wrong account owner: a byte-for-byte copy of the claim ledger, owned by another
    // program, at the ledger's place in a claim: AccountOwnedByWrongProgram (3007).
    let real = net
        .ctx
        .banks_client
        .get_account(pda::ledger(&h.pubkey()))
        .await
        .unwrap()
        .unwrap();
    let forged = Pubkey::new_unique();
    let mut copy = solana_account::AccountSharedData::new(
        real.lamports,
        real.data.len(),
        &anchor_spl::token::ID,
    );
    solana_account::WritableAccount::data_as_mut_slice(&mut copy).copy_from_slice(&real.data);
    net.ctx.set_account(&forged, &copy);
    let mut ix = claim_ix(&h.pubkey(), &o.pubkey(), amount, tree.proof(0).unwrap());
    ix.accounts[1].pubkey = forged;
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), Some(3007));

    // Non-canonical PDA: a ledger at another bump of the same seeds is refused.
    let (_, canonical) =
        Pubkey::find_program_address(&[LEDGER_SEED, h.pubkey().as_ref()], &hexproof_program::ID);
    if let Some(other) = (0..canonical).rev().find_map(|b| {
        Pubkey::create_program_address(
            &[LEDGER_SEED, h.pubkey().as_ref(), &[b]],
            &hexproof_program::ID,
        )
        .ok()
    }) {
        let mut ix = claim_ix(&h.pubkey(), &o.pubkey(), amount, tree.proof(0).unwrap());
        ix.accounts[1].pubkey = other;
        // The account does not exist: AccountNotInitialized (3012).
        assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), Some(3012));
    }
    // The real claim still works.
    let ix = claim_ix(&h.pubkey(), &o.pubkey(), amount, tree.proof(0).unwrap());
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net.ctx, &o.pubkey()).await, amount);
}

#[tokio::test]
async fn owners_move_and_transfer_admins_rotate_oracles() {
    let mut net = start(2).await;
    let (h, o, new_owner) = (Keypair::new(), Keypair::new(), Keypair::new());
    onboard(&mut net, &h, &o).await.unwrap();
    let hotspot = pda::hotspot(&h.pubkey());
    let read = |data: Vec<u8>| -> hexproof_program::state::Hotspot {
        anchor_lang::AccountDeserialize::try_deserialize(&mut data.as_slice()).unwrap()
    };

    // Only the owner asserts a new location; the slot is recorded.
    let moved = placed(u64::from(
        h3o::LatLng::new(52.6, 13.5)
            .unwrap()
            .to_cell(h3o::Resolution::Twelve),
    ));
    let assert_ix = |owner: Pubkey, location| {
        instructions::assert_location(&owner, &h.pubkey(), location, 58, 12)
    };
    let stranger = Keypair::new();
    assert_eq!(
        code(
            send(
                &mut net.ctx,
                &[assert_ix(stranger.pubkey(), moved)],
                &[&stranger]
            )
            .await
        ),
        Some(2001)
    );
    // Not a resolution-8 cell: BadLocation (6002).
    let shifted = instructions::Location {
        cell: moved.cell >> 1,
        ..moved
    };
    assert_eq!(
        code(send(&mut net.ctx, &[assert_ix(o.pubkey(), shifted)], &[&o]).await),
        Some(6002)
    );
    net.ctx.warp_to_slot(500).unwrap();
    set_time(&net.ctx, NOW + 60).await;
    send(&mut net.ctx, &[assert_ix(o.pubkey(), moved)], &[&o])
        .await
        .unwrap();
    let state = read(
        net.ctx
            .banks_client
            .get_account(hotspot)
            .await
            .unwrap()
            .unwrap()
            .data,
    );
    assert_eq!(
        (
            state.location,
            state.location_commitment,
            state.gain_ddbi,
            state.elevation_m
        ),
        (moved.cell, moved.commitment, 58, 12)
    );
    // The placement before the move is kept: reports stamped before it still open it.
    assert_eq!(
        (state.previous_location, state.previous_location_commitment),
        (site().cell, site().commitment)
    );
    assert!(state.asserted_at_slot >= 500);
    assert_eq!(state.asserted_at_ts, NOW + 60);

    // Transfer: offered, then accepted by the new owner, who receives future claims.
    let transfer = instructions::transfer_hotspot(&o.pubkey(), &h.pubkey(), &new_owner.pubkey());
    send(&mut net.ctx, &[transfer], &[&o]).await.unwrap();
    fund(&mut net.ctx, &new_owner.pubkey()).await;
    let accept = instructions::accept_hotspot(&new_owner.pubkey(), &h.pubkey());
    send(&mut net.ctx, &[accept], &[&new_owner]).await.unwrap();
    let state = read(
        net.ctx
            .banks_client
            .get_account(hotspot)
            .await
            .unwrap()
            .unwrap()
            .data,
    );
    assert_eq!(state.owner, new_owner.pubkey());

    // Rotating the oracle set: only the admin proposes; the change waits for its delay, then
    // anyone applies it with the current set's approval and the old oracles no longer count.
    let fresh: Vec<ed25519_dalek::SigningKey> = (10..12u8)
        .map(|i| ed25519_dalek::SigningKey::from_bytes(&[i; 32]))
        .collect();
    let rotate = |admin: Pubkey| {
        instructions::propose_oracles(&admin, fresh.iter().map(pubkey_of).collect(), 2)
    };
    assert_eq!(
        code(send(&mut net.ctx, &[rotate(stranger.pubkey())], &[&stranger]).await),
        Some(2001)
    );
    let admin = net.admin.insecure_clone();
    set_time(&net.ctx, NOW).await;
    send(&mut net.ctx, &[rotate(admin.pubkey())], &[&admin])
        .await
        .unwrap();
    let approve = approve_pending(&mut net, &[0, 1]).await;
    assert_eq!(
        code(send(&mut net.ctx, &approve, &[]).await),
        named(E::ChangeNotDue)
    );
    // Meanwhile the old set still signs.
    submit(&mut net, 1, [3; 32], 10, &[0, 1]).await.unwrap();
    set_time(&net.ctx, NOW + CHANGE_DELAY).await;
    send(&mut net.ctx, &approve, &[]).await.unwrap();
    assert_eq!(
        code(submit(&mut net, 2, [4; 32], 20, &[0, 1]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );
    net.oracles = fresh;
    submit(&mut net, 2, [4; 32], 20, &[0, 1]).await.unwrap();

    // A bad oracle set is refused: a threshold above the set.
    let bad = instructions::propose_oracles(&admin.pubkey(), vec![Pubkey::new_unique()], 2);
    assert_eq!(
        code(send(&mut net.ctx, &[bad], &[&admin]).await),
        Some(6001)
    );

    // Handing over the admin role: proposed, accepted by the successor after the delay; then
    // the old admin loses the power.
    let next = Keypair::new();
    let hand_over = instructions::propose_admin(&admin.pubkey(), &next.pubkey());
    send(&mut net.ctx, &[hand_over], &[&admin]).await.unwrap();
    let accept = instructions::accept_admin(&next.pubkey());
    assert_eq!(
        code(send(&mut net.ctx, std::slice::from_ref(&accept), &[&next]).await),
        named(E::ChangeNotDue)
    );
    set_time(&net.ctx, NOW + 2 * CHANGE_DELAY).await;
    send(&mut net.ctx, &[accept], &[&next]).await.unwrap();
    let pause = |by: Pubkey| instructions::set_paused(&by, true);
    assert_eq!(
        code(send(&mut net.ctx, &[pause(admin.pubkey())], &[&admin]).await),
        Some(2001)
    );
    send(&mut net.ctx, &[pause(next.pubkey())], &[&next])
        .await
        .unwrap();
}

/// Epochs exactly as the oracle closes and signs them (`oracle::rewards::epoch::build`) are
/// accepted, and their proofs claim; a signature bound to another program id is not.
#[tokio::test]
async fn epochs_signed_by_the_oracle_crate_are_accepted() {
    let mut net = start(2).await;
    let (h, o) = (Keypair::new(), Keypair::new());
    onboard(&mut net, &h, &o).await.unwrap();
    let oracle_keys: Vec<hexproof_proto::Keypair> = (1..=3u8)
        .map(|i| hexproof_proto::Keypair::from_secret([i; 32]))
        .collect();
    let activity = rewards::Activity {
        beacons: [(PublicKey::from(h.pubkey().to_bytes()), 2)].into(),
        ..rewards::Activity::default()
    };
    let config = rewards::RewardConfig {
        program_id: PublicKey::from(hexproof_program::ID.to_bytes()),
        deployment: rewards::DeploymentId(DEPLOYMENT),
        initial_emission: EMISSION,
        halving_interval: HALVING,
        ..rewards::RewardConfig::default()
    };
    let by = |key: &hexproof_proto::Keypair, config: &rewards::RewardConfig| {
        hexproof_poc::rewards::epoch::build(
            1,
            config,
            &activity,
            &Default::default(),
            &Default::default(),
            key,
        )
    };
    let (a, b) = (by(&oracle_keys[0], &config), by(&oracle_keys[2], &config));
    assert_eq!((a.root, a.lifetime_total), (b.root, b.lifetime_total));
    // Both oracles' signatures, as closed by the oracle crate, in one Ed25519 instruction.
    let precompile = |e: &[&hexproof_poc::rewards::epoch::ClosedEpoch]| {
        let signed: Vec<(Pubkey, [u8; 64])> = e
            .iter()
            .map(|e| (Pubkey::new_from_array(e.oracle.to_bytes()), e.signature))
            .collect();
        instructions::ed25519_signatures(&e[0].message(), &signed)
    };

    // Bound to another program id: the message differs, the signatures do not count.
    let elsewhere = rewards::RewardConfig {
        program_id: PublicKey::from([9; 32]),
        ..config.clone()
    };
    let (x, y) = (
        by(&oracle_keys[0], &elsewhere),
        by(&oracle_keys[2], &elsewhere),
    );
    let ixs = vec![
        precompile(&[&x, &y]),
        submit_ix(1, x.root, x.lifetime_total),
    ];
    assert_eq!(
        code(send(&mut net.ctx, &ixs, &[]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );

    // Over another root than the one signed.
    let ixs = vec![
        precompile(&[&a, &b]),
        submit_ix(1, [0xAB; 32], a.lifetime_total),
    ];
    assert_eq!(
        code(send(&mut net.ctx, &ixs, &[]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );

    let ixs = vec![
        precompile(&[&a, &b]),
        submit_ix(1, a.root, a.lifetime_total),
    ];
    send(&mut net.ctx, &ixs, &[]).await.unwrap();
    let row = a
        .rows
        .iter()
        .position(|r| r.hotspot.as_bytes() == &h.pubkey().to_bytes())
        .unwrap();
    let ix = claim_ix(
        &h.pubkey(),
        &o.pubkey(),
        a.rows[row].lifetime,
        a.tree().proof(row).unwrap(),
    );
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(
        balance(&mut net.ctx, &o.pubkey()).await,
        a.rows[row].lifetime
    );
    assert_eq!(a.rows[row].lifetime, a.paid);
}

/// Two hotspots, both paid in epoch 1: (net, [(hotspot, owner, lifetime, proof)]).
async fn two_paid_hotspots() -> (Net, Vec<(Keypair, Keypair, u64, Vec<[u8; 32]>)>) {
    let mut net = start(2).await;
    let pairs: Vec<(Keypair, Keypair)> = (0..2).map(|_| (Keypair::new(), Keypair::new())).collect();
    for (h, o) in &pairs {
        onboard(&mut net, h, o).await.unwrap();
    }
    let (lifetime, _) = oracle_epoch(
        &BTreeMap::new(),
        &[(pairs[0].0.pubkey(), 2), (pairs[1].0.pubkey(), 1)],
        EMISSION,
    );
    let (tree, keys) = rewards::tree(&lifetime);
    submit(&mut net, 1, tree.root(), lifetime.values().sum(), &[0, 1])
        .await
        .unwrap();
    let paid = pairs
        .into_iter()
        .map(|(h, o)| {
            let key = PublicKey::from(h.pubkey().to_bytes());
            let i = keys.iter().position(|k| *k == key).unwrap();
            (h, o, lifetime[&key], tree.proof(i).unwrap())
        })
        .collect();
    (net, paid)
}

/// Account data mismatch and PDA sharing: every per-hotspot account is a PDA of that
/// hotspot's key, so one hotspot's accounts never stand in for another's.
#[tokio::test]
async fn one_hotspots_accounts_never_serve_another() {
    let (mut net, paid) = two_paid_hotspots().await;
    let (a, b) = (&paid[0], &paid[1]);

    // Claim A's leaf naming B's owner as the recipient: ConstraintHasOne (2001).
    let ix = claim_ix(&a.0.pubkey(), &b.1.pubkey(), a.2, a.3.clone());
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), Some(2001));

    // Claim A's leaf against B's claim ledger (shared-PDA attempt): B's ledger names B's
    // owner, not A's: ConstraintHasOne (2001).
    let mut ix = claim_ix(&a.0.pubkey(), &a.1.pubkey(), a.2, a.3.clone());
    ix.accounts[1].pubkey = pda::ledger(&b.0.pubkey());
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), Some(2001));

    // B's ledger with A's leaf: the leaf is bound to A's key, so the proof fails.
    let ix = claim_ix(&b.0.pubkey(), &b.1.pubkey(), a.2, a.3.clone());
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), BAD_PROOF);

    // A's owner moving B: ConstraintHasOne (2001).
    let ix = instructions::assert_location(&a.1.pubkey(), &b.0.pubkey(), site(), 30, 5);
    let owner_a = a.1.insecure_clone();
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&owner_a]).await),
        Some(2001)
    );

    // The honest claims go through, each to its own owner.
    for (h, o, amount, proof) in &paid {
        let ix = claim_ix(&h.pubkey(), &o.pubkey(), *amount, proof.clone());
        send(&mut net.ctx, &[ix], &[]).await.unwrap();
        assert_eq!(balance(&mut net.ctx, &o.pubkey()).await, *amount);
    }
}

/// Duplicate mutable accounts: the same account in two writable slots of one instruction is
/// refused (the config passed as the claim ledger), so no write can shadow another.
#[tokio::test]
async fn the_same_account_in_two_writable_slots_is_refused() {
    let (mut net, paid) = two_paid_hotspots().await;
    let (h, o, amount, proof) = &paid[0];
    let mut ix = claim_ix(&h.pubkey(), &o.pubkey(), *amount, proof.clone());
    assert!(ix.accounts[0].is_writable && ix.accounts[1].is_writable);
    ix.accounts[1].pubkey = ix.accounts[0].pubkey;
    // AccountDiscriminatorMismatch (3002): a Config is not a Ledger.
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), Some(3002));
    // The mint in the owner's token account slot: refused before any CPI.
    let mut ix = claim_ix(&h.pubkey(), &o.pubkey(), *amount, proof.clone());
    ix.accounts[4].pubkey = ix.accounts[3].pubkey;
    assert!(send(&mut net.ctx, &[ix], &[]).await.is_err());
    assert_eq!(balance(&mut net.ctx, &o.pubkey()).await, 0);
}

/// Closing and revival: a decommissioned hotspot's record cannot be revived within the
/// transaction that closed it, and re-onboarding it does not reset what it was paid.
#[tokio::test]
async fn decommissioned_hotspots_are_not_revived_or_paid_twice() {
    let (mut net, paid) = two_paid_hotspots().await;
    let (h, o, amount, proof) = &paid[0];
    let owner = o.insecure_clone();
    let record = pda::hotspot(&h.pubkey());
    let rent = net
        .ctx
        .banks_client
        .get_account(record)
        .await
        .unwrap()
        .unwrap()
        .lamports;

    // Only the owner decommissions: ConstraintHasOne (2001).
    let stranger = Keypair::new();
    fund(&mut net.ctx, &stranger.pubkey()).await;
    let ix = instructions::decommission_hotspot(&stranger.pubkey(), &h.pubkey());
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&stranger]).await),
        Some(2001)
    );

    // Close, refund the rent to the closed address, then use it as a hotspot record: the
    // refunded address belongs to the system program now (AccountOwnedByWrongProgram, 3007);
    // the whole transaction fails.
    let revive = vec![
        instructions::decommission_hotspot(&o.pubkey(), &h.pubkey()),
        anchor_lang::solana_program::system_instruction::transfer(&o.pubkey(), &record, rent),
        instructions::assert_location(&o.pubkey(), &h.pubkey(), site(), 30, 5),
    ];
    assert_eq!(
        code(send(&mut net.ctx, &revive, &[&owner]).await),
        Some(3007)
    );

    // Claim, then decommission for real: the rent returns to the owner.
    let ix = claim_ix(&h.pubkey(), &o.pubkey(), *amount, proof.clone());
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    let before = net.ctx.banks_client.get_balance(o.pubkey()).await.unwrap();
    let ix = instructions::decommission_hotspot(&o.pubkey(), &h.pubkey());
    send(&mut net.ctx, &[ix], &[&owner]).await.unwrap();
    let after = net.ctx.banks_client.get_balance(o.pubkey()).await.unwrap();
    assert_eq!(after, before + rent);
    assert!(
        net.ctx
            .banks_client
            .get_account(record)
            .await
            .unwrap()
            .is_none()
    );
    net.ctx.get_new_latest_blockhash().await.unwrap();
    let ix = claim_ix(&h.pubkey(), &o.pubkey(), *amount, proof.clone());
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), NOTHING_TO_CLAIM);

    // Onboarded again: the ledger remembers the claim, the same leaf pays nothing.
    onboard(&mut net, h, o).await.unwrap();
    net.ctx.get_new_latest_blockhash().await.unwrap();
    let ix = claim_ix(&h.pubkey(), &o.pubkey(), *amount, proof.clone());
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), NOTHING_TO_CLAIM);
    assert_eq!(balance(&mut net.ctx, &o.pubkey()).await, *amount);
}
