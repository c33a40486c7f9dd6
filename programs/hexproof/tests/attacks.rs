//! The program's promises, attacked (issue 17): one test per attack, each run in the real bank.
//! Every attack here succeeded on the program at commit a775f46 (claims beyond the signed
//! total, epochs not tied to time, `initialize` by whoever calls first, the admin alone
//! minting in one transaction, any antenna, five signatures over the packet, the relayer paying
//! rent, signatures replayed across deployments); each now fails with a named error.
#![allow(deprecated)] // solana-program-test: "Agave Unstable"

mod common;

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use common::*;
use hexproof_client::{instructions, pda};
use hexproof_commitment::{Deployment, epoch_message};
use hexproof_proto::PublicKey;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Lamports an account holds.
async fn lamports(net: &mut Net, key: &Pubkey) -> u64 {
    net.ctx.banks_client.get_balance(*key).await.unwrap()
}

/// 1. A quorum signs a small lifetime total over a root that pays one hotspot far more: the
/// claim is held to what was signed (it mints the total, and nothing more ever).
#[tokio::test]
async fn claims_never_exceed_the_signed_lifetime_total() {
    let mut net = start(2).await;
    let (h, owner) = hotspot(&mut net).await;
    let (root, proof) = one_leaf(&h.pubkey(), 1_000_000_000_000_000);
    submit(&mut net, 1, root, 10, &[0, 1]).await.unwrap();

    let ix = claim_ix(&h.pubkey(), &owner.pubkey(), 1_000_000_000_000_000, proof);
    send(&mut net.ctx, std::slice::from_ref(&ix), &[])
        .await
        .unwrap();
    assert_eq!(balance(&mut net.ctx, &owner.pubkey()).await, 10);
    net.ctx.get_new_latest_blockhash().await.unwrap();
    let r = send(&mut net.ctx, &[ix], &[]).await;
    assert_eq!(code(r), named(E::OverMintCap));
    assert_eq!(balance(&mut net.ctx, &owner.pubkey()).await, 10);
    assert_eq!(config(&mut net.ctx).await.minted, 10);

    // A later honest root pays what was signed and not yet minted.
    let (root, proof) = one_leaf(&h.pubkey(), 25);
    submit(&mut net, 2, root, 25, &[0, 1]).await.unwrap();
    let ix = claim_ix(&h.pubkey(), &owner.pubkey(), 25, proof);
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net.ctx, &owner.pubkey()).await, 25);
    assert_eq!(config(&mut net.ctx).await.minted, 25);
}

/// 2. A signed epoch far in the future would lift the emission cap to the whole supply and
/// freeze the program: an epoch is accepted only once it has ended on the cluster clock.
#[tokio::test]
async fn epochs_are_accepted_only_once_they_have_ended() {
    let mut net = start(2).await;
    let (h, _) = hotspot(&mut net).await;
    let (root, _) = one_leaf(&h.pubkey(), 10);
    let r = submit(&mut net, u64::MAX, root, u64::MAX / 2, &[0, 1]).await;
    assert_eq!(code(r), named(E::EpochNotOver));
    // Epoch 25 ends an epoch after NOW.
    let r = submit(&mut net, 25, root, 10, &[0, 1]).await;
    assert_eq!(code(r), named(E::EpochNotOver));
    assert_eq!(config(&mut net.ctx).await.epoch, 0, "nothing accepted");

    set_time(&net.ctx, GENESIS + 25 * EPOCH_SECS).await;
    submit(&mut net, 25, root, 10, &[0, 1]).await.unwrap();
    // Not frozen: the next epoch lands once it is over.
    set_time(&net.ctx, GENESIS + 26 * EPOCH_SECS).await;
    submit(&mut net, 26, root, 10, &[0, 1]).await.unwrap();
    assert_eq!(config(&mut net.ctx).await.epoch, 26);
}

/// 3. Whoever calls `initialize` first would choose the admin, the oracles and the mint: only
/// the program's upgrade authority may.
#[tokio::test]
async fn only_the_upgrade_authority_initializes() {
    let authority = Keypair::new();
    let stranger = Keypair::new();
    let mut ctx = deployed(&authority.pubkey()).await;
    fund(&mut ctx, &stranger.pubkey()).await;
    fund(&mut ctx, &authority.pubkey()).await;
    let args = init_args(vec![stranger.pubkey()], 1);

    let ix = instructions::initialize(&stranger.pubkey(), args.clone());
    let r = send(&mut ctx, &[ix], &[&stranger]).await;
    assert_eq!(code(r), named(E::NotUpgradeAuthority));
    assert!(
        ctx.banks_client
            .get_account(pda::config())
            .await
            .unwrap()
            .is_none()
    );

    let ix = instructions::initialize(&authority.pubkey(), args);
    send(&mut ctx, &[ix], &[&authority]).await.unwrap();
    assert_eq!(config(&mut ctx).await.admin, authority.pubkey());
}

/// 4. The admin key alone installs itself as the only oracle and mints: changes wait out a
/// delay on chain, and an oracle set needs the current set's approval (see `promises.rs`).
#[tokio::test]
async fn the_admin_key_alone_cannot_mint() {
    let mut net = start(2).await;
    let admin = net.admin.insecure_clone();
    // The admin owns a hotspot of its own.
    let h = Keypair::new();
    onboard(&mut net, &h, &admin).await.unwrap();

    let epoch = 24;
    let total = hexproof_commitment::EmissionSchedule {
        initial_per_epoch: EMISSION,
        halving_interval: HALVING,
    }
    .cumulative(epoch);
    let (root, proof) = one_leaf(&h.pubkey(), total);
    let msg = message(epoch, &root, total);
    let signed = admin.sign_message(&msg);
    let signature: [u8; 64] = signed.as_ref().try_into().unwrap();
    let mut grab = vec![instructions::propose_oracles(
        &admin.pubkey(),
        vec![admin.pubkey()],
        1,
    )];
    grab.extend(instructions::apply_oracles(&[], &[]));
    grab.push(instructions::ed25519_signatures(
        &msg,
        &[(admin.pubkey(), signature)],
    ));
    grab.push(submit_ix(epoch, root, total));
    grab.push(claim_ix(&h.pubkey(), &admin.pubkey(), total, proof.clone()));
    let r = send(&mut net.ctx, &grab, &[&admin]).await;
    assert_eq!(code(r), named(E::ChangeNotDue));
    assert_eq!(balance(&mut net.ctx, &admin.pubkey()).await, 0);

    // Proposed in the open: everyone sees the change and when it takes effect.
    send(&mut net.ctx, &grab[..1], &[&admin]).await.unwrap();
    let c = config(&mut net.ctx).await;
    assert_eq!(c.pending_oracles, vec![admin.pubkey()]);
    assert_eq!(c.pending_oracles_at, NOW + CHANGE_DELAY);
    let r = send(&mut net.ctx, &grab[1..2], &[]).await;
    assert_eq!(code(r), named(E::ChangeNotDue));

    // A day later the admin's set still does not apply: the current oracles never approved it.
    set_time(&net.ctx, NOW + CHANGE_DELAY).await;
    let r = send(&mut net.ctx, &grab[1..4], &[]).await;
    assert_eq!(code(r), named(E::NotEnoughOracleSignatures));
    let r = send(&mut net.ctx, &grab[2..], &[]).await;
    assert_eq!(code(r), named(E::NotEnoughOracleSignatures));
    assert_eq!(balance(&mut net.ctx, &admin.pubkey()).await, 0);
    assert_eq!(config(&mut net.ctx).await.oracles.len(), 3);

    // An admin hand-over needs the successor's signature, after the delay, and never to the
    // default key.
    let r = send(
        &mut net.ctx,
        &[instructions::propose_admin(
            &admin.pubkey(),
            &Pubkey::default(),
        )],
        &[&admin],
    )
    .await;
    assert_eq!(code(r), named(E::BadAdmin));
    let successor = Keypair::new();
    fund(&mut net.ctx, &successor.pubkey()).await;
    let ix = instructions::propose_admin(&admin.pubkey(), &successor.pubkey());
    send(&mut net.ctx, &[ix], &[&admin]).await.unwrap();
    let r = send(
        &mut net.ctx,
        &[instructions::accept_admin(&successor.pubkey())],
        &[&successor],
    )
    .await;
    assert_eq!(code(r), named(E::ChangeNotDue));
    assert_eq!(config(&mut net.ctx).await.admin, admin.pubkey());
}

/// 5. A declared 50 dBi antenna lifts the oracle's signal ceilings out of reach: gain and
/// elevation stay within the configured bounds.
#[tokio::test]
async fn antenna_declarations_stay_within_bounds() {
    let mut net = start(2).await;
    let (h, owner) = (Keypair::new(), Keypair::new());
    fund(&mut net.ctx, &owner.pubkey()).await;
    for (gain, elevation, error) in [
        (500, 5, E::GainOutOfRange),
        (-10, 5, E::GainOutOfRange),
        (30, 5_000, E::ElevationOutOfRange),
        (30, -1, E::ElevationOutOfRange),
    ] {
        let ix =
            instructions::onboard_hotspot(&h.pubkey(), &owner.pubkey(), site(), gain, elevation);
        let r = send(&mut net.ctx, &[ix], &[&h, &owner]).await;
        assert_eq!(code(r), named(error), "gain {gain}, elevation {elevation}");
    }
    onboard(&mut net, &h, &owner).await.unwrap();
    let ix = instructions::assert_location(&owner.pubkey(), &h.pubkey(), site(), 500, 5);
    let r = send(&mut net.ctx, &[ix], &[&owner]).await;
    assert_eq!(code(r), named(E::GainOutOfRange));
    let ix = instructions::assert_location(&owner.pubkey(), &h.pubkey(), site(), 150, 1_000);
    send(&mut net.ctx, &[ix], &[&owner]).await.unwrap();
}

/// 6. With one Ed25519 instruction per signature, five signatures made a 1,384-byte
/// transaction no cluster takes: one instruction carries them all, and seven fit.
#[tokio::test]
async fn every_threshold_up_to_seven_fits_a_packet() {
    let keys: Vec<_> = (1..=7u8)
        .map(|i| ed25519_dalek::SigningKey::from_bytes(&[i; 32]))
        .collect();
    let mut net = start_with(keys, 5).await;
    let (h, _) = hotspot(&mut net).await;
    let (root, _) = one_leaf(&h.pubkey(), 10);
    // `send` asserts the packet limit before the bank sees the transaction.
    let r = submit(&mut net, 1, root, 10, &[0, 1, 2, 3]).await;
    assert_eq!(code(r), named(E::NotEnoughOracleSignatures));
    submit(&mut net, 1, root, 10, &[0, 1, 2, 3, 4])
        .await
        .unwrap();
    submit(&mut net, 2, root, 10, &[0, 1, 2, 3, 4, 5, 6])
        .await
        .unwrap();
}

/// 7. Claims used to create the owner's token account at the relayer's expense: an owner who
/// closes it drained the oracle's key. Claims create nothing; rewards wait until the owner
/// creates the account again.
#[tokio::test]
async fn the_relayer_pays_no_rent() {
    let mut net = start(2).await;
    let (h, owner) = hotspot(&mut net).await;
    let (root, proof) = one_leaf(&h.pubkey(), 1_000);
    submit(&mut net, 1, root, 1_000, &[0, 1]).await.unwrap();
    let relayer = Keypair::new();
    fund(&mut net.ctx, &relayer.pubkey()).await;

    // The owner closes its (empty) token account.
    let close = anchor_spl::token::spl_token::instruction::close_account(
        &anchor_spl::token::ID,
        &pda::owner_tokens(&owner.pubkey()),
        &owner.pubkey(),
        &owner.pubkey(),
        &[],
    )
    .unwrap();
    send(&mut net.ctx, &[close], &[&owner]).await.unwrap();
    let before = lamports(&mut net, &relayer.pubkey()).await;
    let claim = claim_ix(&h.pubkey(), &owner.pubkey(), 1_000, proof);
    let r = send_by(&mut net.ctx, &relayer, std::slice::from_ref(&claim), &[]).await;
    // Anchor's AccountNotInitialized: the token account must already exist.
    assert_eq!(code(r), Some(3012));
    let fee = before - lamports(&mut net, &relayer.pubkey()).await;
    assert!(
        fee <= 5_000,
        "the relayer paid {fee} lamports, more than a fee"
    );

    // The owner creates its account again (at its own expense); the waiting reward is paid.
    let ix = instructions::create_owner_tokens(&owner.pubkey(), &owner.pubkey());
    send(&mut net.ctx, &[ix], &[&owner]).await.unwrap();
    let before = lamports(&mut net, &relayer.pubkey()).await;
    send_by(&mut net.ctx, &relayer, &[claim], &[])
        .await
        .unwrap();
    let fee = before - lamports(&mut net, &relayer.pubkey()).await;
    assert!(
        fee <= 5_000,
        "the relayer paid {fee} lamports, more than a fee"
    );
    assert_eq!(balance(&mut net.ctx, &owner.pubkey()).await, 1_000);
}

/// 7b. A key used to cost only its accounts' rent (≈ 0.003 SOL): a 38-key ring without radios
/// cost 0.11 SOL (issue 28, hole 5). Every onboarding, re-onboarding too, now pays the
/// configured fee into the treasury; an owner who cannot pay it registers nothing, and the fee
/// cannot be sent anywhere but the treasury.
#[tokio::test]
async fn a_key_costs_its_onboarding_fee() {
    let mut net = start(2).await;
    let treasury = pda::treasury();
    assert_eq!(config(&mut net.ctx).await.onboarding_fee, ONBOARDING_FEE);

    // A ring owner registers five keys: each moves exactly the fee into the treasury.
    let ring = Keypair::new();
    fund(&mut net.ctx, &ring.pubkey()).await;
    let mut keys = Vec::new();
    for _ in 0..5 {
        let key = Keypair::new();
        let (t0, o0) = (
            lamports(&mut net, &treasury).await,
            lamports(&mut net, &ring.pubkey()).await,
        );
        let ix = onboard_ix(&key.pubkey(), &ring.pubkey());
        send(&mut net.ctx, &[ix], &[&key, &ring]).await.unwrap();
        assert_eq!(lamports(&mut net, &treasury).await - t0, ONBOARDING_FEE);
        let paid = o0 - lamports(&mut net, &ring.pubkey()).await;
        assert!(paid > ONBOARDING_FEE, "the owner paid {paid}: fee and rent");
        keys.push(key);
    }

    // Decommissioned and onboarded again: the fee again.
    let ix = instructions::decommission_hotspot(&ring.pubkey(), &keys[0].pubkey());
    send(&mut net.ctx, &[ix], &[&ring]).await.unwrap();
    let t0 = lamports(&mut net, &treasury).await;
    let ix = onboard_ix(&keys[0].pubkey(), &ring.pubkey());
    send(&mut net.ctx, &[ix], &[&keys[0], &ring]).await.unwrap();
    assert_eq!(lamports(&mut net, &treasury).await - t0, ONBOARDING_FEE);

    // An owner holding less than the fee registers nothing.
    let poor = Keypair::new();
    let ix = anchor_lang::solana_program::system_instruction::transfer(
        &net.ctx.payer.pubkey(),
        &poor.pubkey(),
        ONBOARDING_FEE - 1,
    );
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    let key = Keypair::new();
    let ix = onboard_ix(&key.pubkey(), &poor.pubkey());
    assert!(send(&mut net.ctx, &[ix], &[&key, &poor]).await.is_err());
    let record = net
        .ctx
        .banks_client
        .get_account(pda::hotspot(&key.pubkey()));
    assert!(record.await.unwrap().is_none());

    // The fee sent to the owner's own account instead of the treasury: refused.
    let mut ix = onboard_ix(&key.pubkey(), &ring.pubkey());
    for meta in &mut ix.accounts {
        if meta.pubkey == treasury {
            meta.pubkey = ring.pubkey();
        }
    }
    let r = send(&mut net.ctx, &[ix], &[&key, &ring]).await;
    // Anchor's ConstraintSeeds.
    assert_eq!(code(r), Some(2006));
}

/// 8. The same oracle keys sign for devnet and mainnet: a message signed for another
/// deployment (or another program) counts for nothing here.
#[tokio::test]
async fn signatures_do_not_replay_across_deployments() {
    let mut net = start(2).await;
    let (h, _) = hotspot(&mut net).await;
    let (root, _) = one_leaf(&h.pubkey(), 10);
    let elsewhere = [
        Deployment {
            program_id: hexproof_program::ID.to_bytes(),
            id: [0xDE; 32],
        },
        Deployment {
            program_id: [7; 32],
            id: DEPLOYMENT,
        },
    ];
    for other in elsewhere {
        let msg = epoch_message(&other, 1, &root, 10);
        let keys: Vec<_> = net.oracles.iter().collect();
        let ixs = vec![signatures(&keys, &msg), submit_ix(1, root, 10)];
        let r = send(&mut net.ctx, &ixs, &[]).await;
        assert_eq!(code(r), named(E::NotEnoughOracleSignatures));
    }
    submit(&mut net, 1, root, 10, &[0, 1]).await.unwrap();
}

/// `transfer_hotspot`: rewards belong to the hotspot. What the seller claimed before the sale
/// stays the seller's; what was earned and not claimed goes to the buyer with the hotspot.
#[tokio::test]
async fn unclaimed_rewards_go_with_the_hotspot() {
    let mut net = start(2).await;
    let (h, seller) = hotspot(&mut net).await;
    let buyer = Keypair::new();
    fund(&mut net.ctx, &buyer.pubkey()).await;
    let ix = instructions::create_owner_tokens(&buyer.pubkey(), &buyer.pubkey());
    send(&mut net.ctx, &[ix], &[&buyer]).await.unwrap();

    // Epoch 1 pays 100: the seller claims it.
    let mut lifetime = BTreeMap::new();
    lifetime.insert(PublicKey::from(h.pubkey().to_bytes()), 100u64);
    let (tree, keys) = hexproof_poc::rewards::tree(&lifetime);
    submit(&mut net, 1, tree.root(), 100, &[0, 1])
        .await
        .unwrap();
    let ix = claim_leaf(&h.pubkey(), &seller.pubkey(), &lifetime, &tree, &keys);
    send(&mut net.ctx, &[ix], &[]).await.unwrap();

    // Epoch 2 adds 250, unclaimed at the sale.
    lifetime.insert(PublicKey::from(h.pubkey().to_bytes()), 350u64);
    let (tree, keys) = hexproof_poc::rewards::tree(&lifetime);
    submit(&mut net, 2, tree.root(), 350, &[0, 1])
        .await
        .unwrap();
    let ix = instructions::transfer_hotspot(&seller.pubkey(), &h.pubkey(), &buyer.pubkey());
    send(&mut net.ctx, &[ix], &[&seller]).await.unwrap();
    let ix = instructions::accept_hotspot(&buyer.pubkey(), &h.pubkey());
    send(&mut net.ctx, &[ix], &[&buyer]).await.unwrap();

    // A claim naming the seller no longer matches the hotspot's owner.
    let ix = claim_leaf(&h.pubkey(), &seller.pubkey(), &lifetime, &tree, &keys);
    assert!(send(&mut net.ctx, &[ix], &[]).await.is_err());
    let ix = claim_leaf(&h.pubkey(), &buyer.pubkey(), &lifetime, &tree, &keys);
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net.ctx, &seller.pubkey()).await, 100);
    assert_eq!(balance(&mut net.ctx, &buyer.pubkey()).await, 250);
}

/// Item 6 for every transaction the client builds: signed, serialized, at most 1,232 bytes,
/// with a compute-unit-price instruction (a priority fee) and a fee payer of its own, for every
/// threshold from 1 to the most oracles a configuration holds, and a claim with the longest
/// proof the program reads. (At 7e50c15, with a 128-byte epoch message, seven signatures and a
/// priority fee made a 1,272-byte submission.)
#[test]
fn every_transaction_the_client_builds_fits_a_packet() {
    use hexproof_client::chain::{PACKET_DATA_SIZE, wire_size};
    use hexproof_program::state::MAX_ORACLES;
    use solana_transaction::Transaction;

    let payer = Keypair::new();
    let admin = Keypair::new();
    let owner = Keypair::new();
    let h = Keypair::new();
    let oracles: Vec<_> = (1..=MAX_ORACLES as u8)
        .map(|i| ed25519_dalek::SigningKey::from_bytes(&[i; 32]))
        .collect();
    let oracle_keys: Vec<Pubkey> = oracles.iter().map(pubkey_of).collect();
    let blockhash = Default::default();
    let size = |ixs: &[anchor_lang::solana_program::instruction::Instruction],
                signers: &[&Keypair]| {
        let mut all = vec![&payer];
        all.extend_from_slice(signers);
        let mut with_fee = vec![instructions::priority_fee(u64::MAX)];
        with_fee.extend_from_slice(ixs);
        let tx =
            Transaction::new_signed_with_payer(&with_fee, Some(&payer.pubkey()), &all, blockhash);
        let size = wire_size(&tx);
        assert_eq!(size, bincode::serialize(&tx).unwrap().len(), "wire size");
        size
    };

    let mut sizes: Vec<(String, usize)> = vec![
        (
            "initialize, 7 oracles".into(),
            size(
                &[instructions::initialize(
                    &admin.pubkey(),
                    init_args(oracle_keys.clone(), MAX_ORACLES as u8),
                )],
                &[&admin],
            ),
        ),
        (
            "onboard_hotspot".into(),
            size(
                &[instructions::onboard_hotspot(
                    &h.pubkey(),
                    &owner.pubkey(),
                    site(),
                    30,
                    5,
                )],
                &[&h, &owner],
            ),
        ),
        (
            "onboard_hotspot paid by a maker".into(),
            size(
                &[instructions::onboard_hotspot_paid_by(
                    &h.pubkey(),
                    &owner.pubkey(),
                    &admin.pubkey(),
                    site(),
                    30,
                    5,
                )],
                &[&h, &owner, &admin],
            ),
        ),
        (
            "assert_location".into(),
            size(
                &[instructions::assert_location(
                    &owner.pubkey(),
                    &h.pubkey(),
                    site(),
                    30,
                    5,
                )],
                &[&owner],
            ),
        ),
        (
            "transfer_hotspot".into(),
            size(
                &[instructions::transfer_hotspot(
                    &owner.pubkey(),
                    &h.pubkey(),
                    &admin.pubkey(),
                )],
                &[&owner],
            ),
        ),
        (
            "accept_hotspot".into(),
            size(
                &[instructions::accept_hotspot(&admin.pubkey(), &h.pubkey())],
                &[&admin],
            ),
        ),
        (
            "reonboard_hotspot (previous owner signs)".into(),
            size(
                &[instructions::reonboard_hotspot(
                    &h.pubkey(),
                    &owner.pubkey(),
                    Some(&admin.pubkey()),
                    site(),
                    30,
                    5,
                )],
                &[&h, &owner, &admin],
            ),
        ),
        (
            "decommission_hotspot".into(),
            size(
                &[instructions::decommission_hotspot(
                    &owner.pubkey(),
                    &h.pubkey(),
                )],
                &[&owner],
            ),
        ),
        (
            "claim, longest proof".into(),
            size(
                &[instructions::claim(
                    &h.pubkey(),
                    &owner.pubkey(),
                    u64::MAX,
                    vec![[7; 32]; hexproof_commitment::MAX_PROOF_LEN],
                )],
                &[],
            ),
        ),
        (
            "sync_ledger, longest proof".into(),
            size(
                &[instructions::sync_ledger(
                    &h.pubkey(),
                    u64::MAX,
                    vec![[7; 32]; hexproof_commitment::MAX_PROOF_LEN],
                )],
                &[],
            ),
        ),
        (
            "settle_credits, longest proof".into(),
            size(
                &[instructions::settle_credits(
                    u64::from(u32::MAX),
                    u64::MAX,
                    vec![[7; 32]; hexproof_commitment::MAX_PROOF_LEN],
                )],
                &[],
            ),
        ),
        (
            "buy_credits".into(),
            size(
                &[instructions::buy_credits(&owner.pubkey(), 1, u64::MAX)],
                &[&owner],
            ),
        ),
        (
            "propose_oracles, 7".into(),
            size(
                &[instructions::propose_oracles(
                    &admin.pubkey(),
                    oracle_keys.clone(),
                    7,
                )],
                &[&admin],
            ),
        ),
        (
            "apply_oracles, 7 approvals".into(),
            size(
                &instructions::apply_oracles(
                    &[0xAA; hexproof_commitment::SIGNED_MESSAGE_LEN],
                    &oracles
                        .iter()
                        .map(|k| (pubkey_of(k), [0xBB; 64]))
                        .collect::<Vec<_>>(),
                ),
                &[],
            ),
        ),
        (
            "propose_admin".into(),
            size(
                &[instructions::propose_admin(
                    &admin.pubkey(),
                    &owner.pubkey(),
                )],
                &[&admin],
            ),
        ),
        (
            "accept_admin".into(),
            size(&[instructions::accept_admin(&owner.pubkey())], &[&owner]),
        ),
        (
            "cancel_changes".into(),
            size(&[instructions::cancel_changes(&admin.pubkey())], &[&admin]),
        ),
        (
            "set_paused".into(),
            size(
                &[instructions::set_paused(&admin.pubkey(), true)],
                &[&admin],
            ),
        ),
        (
            "create_owner_tokens".into(),
            size(
                &[instructions::create_owner_tokens(
                    &owner.pubkey(),
                    &owner.pubkey(),
                )],
                &[&owner],
            ),
        ),
    ];
    for m in 1..=MAX_ORACLES {
        use ed25519_dalek::Signer as _;
        let msg = message(u64::MAX, &[0xFF; 32], u64::MAX);
        let signed: Vec<(Pubkey, [u8; 64])> = oracles[..m]
            .iter()
            .map(|k| (pubkey_of(k), k.sign(&msg).to_bytes()))
            .collect();
        let ixs =
            instructions::submit_epoch(&deployment(), u64::MAX, [0xFF; 32], u64::MAX, &signed);
        sizes.push((format!("submit_epoch, {m} signatures"), size(&ixs, &[])));
    }
    for (what, bytes) in &sizes {
        eprintln!("{what:<32} {bytes:>5} bytes");
    }
    let over: Vec<_> = sizes
        .iter()
        .filter(|(_, b)| *b > PACKET_DATA_SIZE)
        .collect();
    assert!(over.is_empty(), "over {PACKET_DATA_SIZE} bytes: {over:?}");
}
