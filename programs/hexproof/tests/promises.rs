//! The program's promises, round 2 (issue 26): one test per item, each run in the real bank.
//! Every one of them failed on the program at 7e50c15: a claim larger than the window's free
//! room was refused for good (an owner who waited three epochs was locked out), one inflated
//! total froze every later honest epoch, a deployment of zeros was accepted, the admin alone
//! installed its own oracle set after the delay, decommissioning handed the backlog to whoever
//! re-onboarded the key, seven signatures and a priority fee overflowed the packet, `initialize`
//! took a zero window and extreme clocks, pending changes never lapsed, transfers took any key
//! without acceptance, and any index with resolution bits 12 passed as a cell. (A root that
//! overpaid one hotspot, followed by an honest one, left the last claimers short for good, before
//! and after the first fix; `sync_ledger` closes that.)
#![allow(deprecated)] // solana-program-test: "Agave Unstable"

mod common;

use anchor_lang::prelude::Pubkey;
use common::*;
use hexproof_client::{
    chain::{PACKET_DATA_SIZE, wire_size},
    instructions,
};
use hexproof_commitment::{EmissionSchedule, MerkleTree, leaf};
use solana_keypair::Keypair;
use solana_signer::Signer;

async fn record(net: &mut Net, h: &Keypair) -> hexproof_program::state::Hotspot {
    let key = hexproof_client::pda::hotspot(&h.pubkey());
    let data = net
        .ctx
        .banks_client
        .get_account(key)
        .await
        .unwrap()
        .unwrap()
        .data;
    anchor_lang::AccountDeserialize::try_deserialize(&mut data.as_slice()).unwrap()
}

fn schedule() -> EmissionSchedule {
    EmissionSchedule {
        initial_per_epoch: EMISSION,
        halving_interval: HALVING,
    }
}

/// Claims `amount` (with `proof`) until the owner holds it, a window apart; returns how many
/// claims it took.
async fn claim_in_full(
    net: &mut Net,
    h: &Keypair,
    owner: &Pubkey,
    amount: u64,
    proof: Vec<[u8; 32]>,
) -> usize {
    let (mut claims, mut attempts) = (0, 0);
    while balance(&mut net.ctx, owner).await < amount {
        net.ctx.get_new_latest_blockhash().await.unwrap();
        let ix = claim_ix(&h.pubkey(), owner, amount, proof.clone());
        if send(&mut net.ctx, &[ix], &[]).await.is_ok() {
            claims += 1;
        }
        let t = now(&net.ctx).await + EPOCH_SECS;
        set_time(&net.ctx, t).await;
        attempts += 1;
        assert!(attempts < 100, "never paid in full");
    }
    claims
}

/// Item 1: an owner who waits until its reward exceeds the window's limit, or finds the window
/// filled by others' claims, or waits out a pause, is paid in instalments, never locked out.
#[tokio::test]
async fn item1_an_owner_who_waits_is_paid_in_instalments() {
    let mut net = start(2).await;
    let (h, owner) = hotspot(&mut net).await;
    let (filler, filler_owner) = hotspot(&mut net).await;
    // Five epochs' worth, unclaimed: more than the window's limit of two.
    let owed = 5 * EMISSION;
    assert!(owed > WINDOW_LIMIT);
    let tree = MerkleTree::new(vec![
        leaf(&h.pubkey().to_bytes(), owed),
        leaf(&filler.pubkey().to_bytes(), WINDOW_LIMIT),
    ]);
    submit(&mut net, 10, tree.root(), owed + WINDOW_LIMIT, &[0, 1])
        .await
        .unwrap();

    // Someone fills the window with the other hotspot's claim first.
    let fill = claim_ix(
        &filler.pubkey(),
        &filler_owner.pubkey(),
        WINDOW_LIMIT,
        tree.proof(1).unwrap(),
    );
    send(&mut net.ctx, &[fill], &[]).await.unwrap();
    let ix = claim_ix(&h.pubkey(), &owner.pubkey(), owed, tree.proof(0).unwrap());
    let r = send(&mut net.ctx, std::slice::from_ref(&ix), &[]).await;
    assert_eq!(code(r), named(E::MintWindowExceeded));

    // Half a window later, half the room is back: that much is paid and recorded.
    set_time(&net.ctx, NOW + EPOCH_SECS / 2).await;
    send(&mut net.ctx, std::slice::from_ref(&ix), &[])
        .await
        .unwrap();
    assert_eq!(balance(&mut net.ctx, &owner.pubkey()).await, EMISSION);

    // A pause stops claims; after it the rest is still owed and paid, window by window.
    let admin = net.admin.insecure_clone();
    let pause = |p| instructions::set_paused(&admin.pubkey(), p);
    send(&mut net.ctx, &[pause(true)], &[&admin]).await.unwrap();
    set_time(&net.ctx, NOW + 10 * EPOCH_SECS).await;
    net.ctx.get_new_latest_blockhash().await.unwrap();
    let r = send(&mut net.ctx, std::slice::from_ref(&ix), &[]).await;
    assert_eq!(code(r), named(E::Paused));
    send(&mut net.ctx, &[pause(false)], &[&admin])
        .await
        .unwrap();
    let claims = claim_in_full(&mut net, &h, &owner.pubkey(), owed, tree.proof(0).unwrap()).await;
    assert_eq!(claims, 2, "4 × E owed, 2 × E a window");
    assert_eq!(balance(&mut net.ctx, &owner.pubkey()).await, owed);
    assert_eq!(config(&mut net.ctx).await.minted, owed + WINDOW_LIMIT);
}

/// Item 2: an accepted epoch whose total equals the schedule (a buggy quorum) no longer makes
/// every later honest epoch fail: the honest, lower total lands and is paid.
#[tokio::test]
async fn item2_an_inflated_total_does_not_freeze_later_honest_epochs() {
    let mut net = start(2).await;
    let (h, owner) = hotspot(&mut net).await;
    let (root, _) = one_leaf(&h.pubkey(), 1_000);
    submit(&mut net, 1, root, schedule().cumulative(1), &[0, 1])
        .await
        .unwrap();
    let (root, proof) = one_leaf(&h.pubkey(), 1_500);
    submit(&mut net, 2, root, 1_500, &[0, 1]).await.unwrap();
    let c = config(&mut net.ctx).await;
    assert_eq!((c.epoch, c.lifetime_total), (2, 1_500));
    claim_in_full(&mut net, &h, &owner.pubkey(), 1_500, proof).await;
    // The cap follows the newest total: a leaf above it is paid up to it, nothing beyond.
    let (root, proof) = one_leaf(&h.pubkey(), 5_000);
    submit(&mut net, 3, root, 2_000, &[0, 1]).await.unwrap();
    let ix = claim_ix(&h.pubkey(), &owner.pubkey(), 5_000, proof);
    send(&mut net.ctx, std::slice::from_ref(&ix), &[])
        .await
        .unwrap();
    net.ctx.get_new_latest_blockhash().await.unwrap();
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[]).await),
        named(E::OverMintCap)
    );
    assert_eq!(config(&mut net.ctx).await.minted, 2_000);
    assert_eq!(balance(&mut net.ctx, &owner.pubkey()).await, 2_000);
}

/// Items 1 and 2: a root that overpays one hotspot, superseded by an honest one, must not leave
/// the honest owners who claim last short. The overpayment is recorded (`sync_ledger`, which
/// the oracle sends) and the cap counts it on top of the honest total.
#[tokio::test]
async fn item2_an_overpaying_root_leaves_honest_owners_their_due() {
    let mut net = start(2).await;
    let (x, x_owner) = hotspot(&mut net).await;
    let (h, owner) = hotspot(&mut net).await;
    let tree = |x_amount: u64, h_amount: u64| {
        MerkleTree::new(vec![
            leaf(&x.pubkey().to_bytes(), x_amount),
            leaf(&h.pubkey().to_bytes(), h_amount),
        ])
    };
    // A bad root pays x 1,000 (it earned 100); x claims it at once, h waits.
    let bad = tree(1_000, 500);
    submit(&mut net, 1, bad.root(), 1_500, &[0, 1])
        .await
        .unwrap();
    let ix = claim_ix(&x.pubkey(), &x_owner.pubkey(), 1_000, bad.proof(0).unwrap());
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    // The honest root: x 100, h 600, total 700, of which 1,000 were minted already.
    let honest = tree(100, 600);
    submit(&mut net, 2, honest.root(), 700, &[0, 1])
        .await
        .unwrap();
    let claim = claim_ix(&h.pubkey(), &owner.pubkey(), 600, honest.proof(1).unwrap());
    let r = send(&mut net.ctx, std::slice::from_ref(&claim), &[]).await;
    assert_eq!(code(r), named(E::OverMintCap), "h would be short for good");
    // Anyone records x's overpayment; h is then paid in full, and x nothing more.
    let ix = instructions::sync_ledger(&x.pubkey(), 100, honest.proof(0).unwrap());
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(config(&mut net.ctx).await.excess, 900);
    net.ctx.get_new_latest_blockhash().await.unwrap();
    send(&mut net.ctx, &[claim], &[]).await.unwrap();
    assert_eq!(balance(&mut net.ctx, &owner.pubkey()).await, 600);
    let ix = claim_ix(
        &x.pubkey(),
        &x_owner.pubkey(),
        100,
        honest.proof(0).unwrap(),
    );
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[]).await),
        named(E::NothingToClaim)
    );
    // Once x's honest leaf passes what it was paid, the excess is released.
    let later = tree(1_200, 700);
    submit(&mut net, 3, later.root(), 1_900, &[0, 1])
        .await
        .unwrap();
    let ix = claim_ix(
        &x.pubkey(),
        &x_owner.pubkey(),
        1_200,
        later.proof(0).unwrap(),
    );
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    let c = config(&mut net.ctx).await;
    assert_eq!((c.excess, c.minted), (0, 1_800));
    assert_eq!(balance(&mut net.ctx, &x_owner.pubkey()).await, 1_200);
}

/// Item 3: a deployment value of zeros (what a copied example config carries) is refused, so
/// two clusters never share one by default.
#[tokio::test]
async fn item3_a_deployment_of_zeros_is_refused() {
    let authority = Keypair::new();
    let mut ctx = deployed(&authority.pubkey()).await;
    fund(&mut ctx, &authority.pubkey()).await;
    let mut args = init_args(vec![Pubkey::new_unique()], 1);
    args.deployment = [0; 32];
    let ix = instructions::initialize(&authority.pubkey(), args.clone());
    let r = send(&mut ctx, &[ix], &[&authority]).await;
    assert_eq!(code(r), named(E::BadConfig));
    args.deployment = [1; 32];
    let ix = instructions::initialize(&authority.pubkey(), args);
    send(&mut ctx, &[ix], &[&authority]).await.unwrap();
}

/// Item 4: the admin key alone cannot install an oracle set, after any delay: the current set
/// must approve that very proposal with a quorum. A minority, the admin's own key, approvals of
/// another proposal (or of the same set proposed earlier) count for nothing.
#[tokio::test]
async fn item4_the_admin_alone_cannot_change_the_oracle_set() {
    let mut net = start(2).await;
    let admin = net.admin.insecure_clone();
    let propose = |set: Vec<Pubkey>| instructions::propose_oracles(&admin.pubkey(), set, 1);
    send(&mut net.ctx, &[propose(vec![admin.pubkey()])], &[&admin])
        .await
        .unwrap();
    // Approvals over this proposal, gathered early; and one over an earlier proposal of the
    // same set (another effective time).
    let early = approve_pending(&mut net, &[0, 1]).await;
    let minority = approve_pending(&mut net, &[2]).await;
    set_time(&net.ctx, NOW + CHANGE_DELAY).await;
    let message = instructions::oracle_set_approval(&config(&mut net.ctx).await);
    let by_admin = admin.sign_message(&message).as_ref().try_into().unwrap();
    for attempt in [
        instructions::apply_oracles(&[], &[]),
        minority,
        instructions::apply_oracles(&message, &[(admin.pubkey(), by_admin)]),
    ] {
        let r = send(&mut net.ctx, &attempt, &[]).await;
        assert_eq!(code(r), named(E::NotEnoughOracleSignatures));
    }
    // Proposed again (a second later): the earlier approvals do not carry over.
    send(&mut net.ctx, &[propose(vec![admin.pubkey()])], &[&admin])
        .await
        .unwrap();
    set_time(&net.ctx, NOW + 2 * CHANGE_DELAY).await;
    net.ctx.get_new_latest_blockhash().await.unwrap();
    let r = send(&mut net.ctx, &early, &[]).await;
    assert_eq!(code(r), named(E::NotEnoughOracleSignatures));
    assert_eq!(config(&mut net.ctx).await.oracles.len(), 3);

    // With a quorum of the current set, the admin's proposal applies.
    let approved = approve_pending(&mut net, &[1, 2]).await;
    send(&mut net.ctx, &approved, &[]).await.unwrap();
    let c = config(&mut net.ctx).await;
    assert_eq!((c.oracles, c.threshold), (vec![admin.pubkey()], 1));
}

/// Item 5: the owner who earned a backlog collects it after decommissioning; nobody else can
/// re-onboard the key and take it, unless that owner signs the hand-over.
#[tokio::test]
async fn item5_decommissioning_leaves_the_backlog_with_its_owner() {
    let mut net = start(2).await;
    let (h, earner) = hotspot(&mut net).await;
    let (root, _) = one_leaf(&h.pubkey(), 700);
    submit(&mut net, 1, root, 700, &[0, 1]).await.unwrap();
    let ix = instructions::decommission_hotspot(&earner.pubkey(), &h.pubkey());
    send(&mut net.ctx, &[ix], &[&earner]).await.unwrap();

    // The key holder re-onboards it under another owner: refused without the earner.
    let taker = Keypair::new();
    fund(&mut net.ctx, &taker.pubkey()).await;
    let ix = onboard_ix(&h.pubkey(), &taker.pubkey());
    let r = send(&mut net.ctx, &[ix], &[&h, &taker]).await;
    assert_eq!(code(r), named(E::PreviousOwnerMustSign));

    // A root signed after the decommissioning still pays the earner (its last epoch's work).
    let (root2, proof2) = one_leaf(&h.pubkey(), 900);
    submit(&mut net, 2, root2, 900, &[0, 1]).await.unwrap();
    let ix = claim_ix(&h.pubkey(), &taker.pubkey(), 900, proof2.clone());
    assert!(send(&mut net.ctx, &[ix], &[]).await.is_err());
    assert_eq!(balance(&mut net.ctx, &taker.pubkey()).await, 0);
    let ix = claim_ix(&h.pubkey(), &earner.pubkey(), 900, proof2);
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net.ctx, &earner.pubkey()).await, 900);

    // With the earner's signature the key moves on; what it earns next is the taker's.
    let ix = instructions::reonboard_hotspot(
        &h.pubkey(),
        &taker.pubkey(),
        Some(&earner.pubkey()),
        site(),
        30,
        5,
    );
    send(&mut net.ctx, &[ix], &[&h, &taker, &earner])
        .await
        .unwrap();
    let (root3, proof3) = one_leaf(&h.pubkey(), 1_000);
    submit(&mut net, 3, root3, 1_000, &[0, 1]).await.unwrap();
    let ix = claim_ix(&h.pubkey(), &taker.pubkey(), 1_000, proof3);
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net.ctx, &taker.pubkey()).await, 100);
    assert_eq!(balance(&mut net.ctx, &earner.pubkey()).await, 900);
}

/// Item 6: a submission with all seven signatures, a priority fee and a relayer as fee payer
/// fits the packet and lands in the bank.
#[tokio::test]
async fn item6_seven_signatures_a_priority_fee_and_a_relayer_fit_a_packet() {
    let keys: Vec<_> = (1..=7u8)
        .map(|i| ed25519_dalek::SigningKey::from_bytes(&[i; 32]))
        .collect();
    let mut net = start_with(keys, 7).await;
    let (h, _) = hotspot(&mut net).await;
    let (root, _) = one_leaf(&h.pubkey(), 10);
    let msg = message(1, &root, 10);
    let all: Vec<&ed25519_dalek::SigningKey> = net.oracles.iter().collect();
    let ixs = vec![
        instructions::priority_fee(1_000_000),
        signatures(&all, &msg),
        submit_ix(1, root, 10),
    ];
    let relayer = Keypair::new();
    fund(&mut net.ctx, &relayer.pubkey()).await;
    let tx = solana_transaction::Transaction::new_signed_with_payer(
        &ixs,
        Some(&relayer.pubkey()),
        &[&relayer],
        net.ctx.get_new_latest_blockhash().await.unwrap(),
    );
    let size = wire_size(&tx);
    assert!(size <= PACKET_DATA_SIZE, "{size} bytes");
    send_by(&mut net.ctx, &relayer, &ixs, &[]).await.unwrap();
    assert_eq!(config(&mut net.ctx).await.epoch, 1);
}

/// Item 7: parameters that would brick claims, overflow the clock or stall changes forever
/// are refused at `initialize`.
#[tokio::test]
async fn item7_degenerate_initialize_parameters_are_refused() {
    let authority = Keypair::new();
    let mut ctx = deployed(&authority.pubkey()).await;
    fund(&mut ctx, &authority.pubkey()).await;
    let good = init_args(vec![Pubkey::new_unique()], 1);
    type Change = Box<dyn Fn(&mut instructions::InitializeArgs)>;
    let cases: Vec<(&str, Change)> = vec![
        ("window limit 0", Box::new(|a| a.mint_window_limit = 0)),
        (
            "a window slower than the emission",
            Box::new(|a| a.mint_window_limit = a.initial_emission / 2),
        ),
        ("genesis at i64::MIN", Box::new(|a| a.genesis_ts = i64::MIN)),
        ("genesis at i64::MAX", Box::new(|a| a.genesis_ts = i64::MAX)),
        (
            "a change delay of 10⁹ years",
            Box::new(|a| a.change_delay_secs = i64::MAX / 2),
        ),
        ("epochs of i64::MAX", Box::new(|a| a.epoch_secs = i64::MAX)),
        ("a zero window", Box::new(|a| a.mint_window_secs = 0)),
        ("no emission", Box::new(|a| a.initial_emission = 0)),
        (
            "a fee below a system account's rent (the treasury could never be created)",
            Box::new(|a| a.onboarding_fee = 1),
        ),
        (
            "a fee of 10,000 SOL",
            Box::new(|a| a.onboarding_fee = 10_000_000_000_000),
        ),
    ];
    for (what, change) in &cases {
        let mut args = good.clone();
        change(&mut args);
        let ix = instructions::initialize(&authority.pubkey(), args);
        let r = send(&mut ctx, &[ix], &[&authority]).await;
        assert_eq!(code(r), named(E::BadConfig), "{what}");
    }
    let ix = instructions::initialize(&authority.pubkey(), good);
    send(&mut ctx, &[ix], &[&authority]).await.unwrap();
}

/// Item 8: pending changes lapse a week after they become due; transfers go only to a real
/// key that accepts; only real resolution-12 cells are locations.
#[tokio::test]
async fn item8_changes_lapse_transfers_need_acceptance_cells_are_real() {
    let mut net = start(2).await;
    let admin = net.admin.insecure_clone();

    // A pending admin hand-over and oracle set, both left for more than a week past due.
    let successor = Keypair::new();
    fund(&mut net.ctx, &successor.pubkey()).await;
    let ixs = [
        instructions::propose_admin(&admin.pubkey(), &successor.pubkey()),
        instructions::propose_oracles(&admin.pubkey(), vec![Pubkey::new_unique()], 1),
    ];
    send(&mut net.ctx, &ixs, &[&admin]).await.unwrap();
    let approved = approve_pending(&mut net, &[0, 1]).await;
    set_time(&net.ctx, NOW + CHANGE_DELAY + 8 * 86_400).await;
    let r = send(
        &mut net.ctx,
        &[instructions::accept_admin(&successor.pubkey())],
        &[&successor],
    )
    .await;
    assert_eq!(code(r), named(E::ChangeExpired));
    assert_eq!(
        code(send(&mut net.ctx, &approved, &[]).await),
        named(E::ChangeExpired)
    );

    // Transfers: never to the default key; nothing changes until the new owner accepts; only
    // the offered key may accept.
    let (h, owner) = hotspot(&mut net).await;
    let offer = |to: &Pubkey| instructions::transfer_hotspot(&owner.pubkey(), &h.pubkey(), to);
    let r = send(&mut net.ctx, &[offer(&Pubkey::default())], &[&owner]).await;
    assert_eq!(code(r), named(E::BadTransfer));
    let (buyer, stranger) = (Keypair::new(), Keypair::new());
    fund(&mut net.ctx, &buyer.pubkey()).await;
    fund(&mut net.ctx, &stranger.pubkey()).await;
    send(&mut net.ctx, &[offer(&buyer.pubkey())], &[&owner])
        .await
        .unwrap();
    assert_eq!(record(&mut net, &h).await.owner, owner.pubkey());
    let r = send(
        &mut net.ctx,
        &[instructions::accept_hotspot(
            &stranger.pubkey(),
            &h.pubkey(),
        )],
        &[&stranger],
    )
    .await;
    assert_eq!(code(r), named(E::BadTransfer));
    send(
        &mut net.ctx,
        &[instructions::accept_hotspot(&buyer.pubkey(), &h.pubkey())],
        &[&buyer],
    )
    .await
    .unwrap();
    let r = record(&mut net, &h).await;
    assert_eq!(
        (r.owner, r.pending_owner),
        (buyer.pubkey(), Pubkey::default())
    );
    // An offer not taken within a week lapses.
    let later = Keypair::new();
    fund(&mut net.ctx, &later.pubkey()).await;
    let ix = instructions::transfer_hotspot(&buyer.pubkey(), &h.pubkey(), &later.pubkey());
    send(&mut net.ctx, &[ix], &[&buyer]).await.unwrap();
    let t = now(&net.ctx).await + 8 * 86_400;
    set_time(&net.ctx, t).await;
    let r = send(
        &mut net.ctx,
        &[instructions::accept_hotspot(&later.pubkey(), &h.pubkey())],
        &[&later],
    )
    .await;
    assert_eq!(code(r), named(E::ChangeExpired));
    assert_eq!(record(&mut net, &h).await.owner, buyer.pubkey());

    // An index with mode 1 and resolution 8 whose digits are not a cell's; the exact
    // resolution-12 cell itself (the chain never holds it); no commitment.
    let real = site();
    let bogus = [
        real.cell | (0x7 << 21),         // digit 8 unused (7)
        real.cell | (127 << 45),         // base cell 127
        (real.cell & !0x1F_FFFF) | 0x3F, // digits 9–15 used
        res12(),                         // the exact cell
    ];
    for cell in bogus {
        let at = instructions::Location { cell, ..real };
        let ix = instructions::assert_location(&buyer.pubkey(), &h.pubkey(), at, 30, 5);
        let r = send(&mut net.ctx, &[ix], &[&buyer]).await;
        assert_eq!(code(r), named(E::BadLocation), "{cell:x}");
    }
    let bare = instructions::Location {
        commitment: [0; 32],
        ..real
    };
    let ix = instructions::assert_location(&buyer.pubkey(), &h.pubkey(), bare, 30, 5);
    let r = send(&mut net.ctx, &[ix], &[&buyer]).await;
    assert_eq!(code(r), named(E::BadLocation), "no commitment");
    let fresh = Keypair::new();
    let ix = instructions::onboard_hotspot(&fresh.pubkey(), &buyer.pubkey(), bare, 30, 5);
    let r = send(&mut net.ctx, &[ix], &[&buyer, &fresh]).await;
    assert_eq!(code(r), named(E::BadLocation), "no commitment");
    let exact = instructions::Location {
        cell: res12(),
        ..real
    };
    let ix = instructions::onboard_hotspot(&fresh.pubkey(), &buyer.pubkey(), exact, 30, 5);
    let r = send(&mut net.ctx, &[ix], &[&buyer, &fresh]).await;
    assert_eq!(code(r), named(E::BadLocation), "the exact cell");
}

/// An owner without SOL: a maker pays for onboarding (fee and rent, the owner's token
/// account included), is the fee payer of its location assertion, and a relayer pays for the
/// claim; the owner signs, never pays, and is paid its reward. The owner's signature is still
/// needed: a maker cannot name an owner who did not sign.
#[tokio::test]
async fn an_owner_without_sol_is_onboarded_by_a_maker_and_paid() {
    let mut net = start(2).await;
    let (h, owner, maker) = (Keypair::new(), Keypair::new(), Keypair::new());
    fund(&mut net.ctx, &maker.pubkey()).await;
    let lamports = |ctx: &mut solana_program_test::ProgramTestContext, k: Pubkey| {
        let banks = ctx.banks_client.clone();
        async move { banks.get_balance(k).await.unwrap() }
    };
    let treasury_before = lamports(&mut net.ctx, hexproof_client::pda::treasury()).await;
    let maker_before = lamports(&mut net.ctx, maker.pubkey()).await;

    // Without the owner's signature: refused (the transaction cannot even be signed).
    let ix = instructions::onboard_hotspot_paid_by(
        &h.pubkey(),
        &owner.pubkey(),
        &maker.pubkey(),
        site(),
        30,
        5,
    );
    let mut unsigned = ix.clone();
    for a in &mut unsigned.accounts {
        if a.pubkey == owner.pubkey() {
            a.is_signer = false;
        }
    }
    let r = send_by(&mut net.ctx, &maker, &[unsigned], &[&h]).await;
    assert!(r.is_err(), "an owner who did not sign");

    send_by(&mut net.ctx, &maker, &[ix], &[&h, &owner])
        .await
        .unwrap();
    assert_eq!(lamports(&mut net.ctx, owner.pubkey()).await, 0);
    let fee = config(&mut net.ctx).await.onboarding_fee;
    assert!(fee > 0);
    assert_eq!(
        lamports(&mut net.ctx, hexproof_client::pda::treasury()).await,
        treasury_before + fee
    );
    assert!(lamports(&mut net.ctx, maker.pubkey()).await < maker_before - fee);
    assert!(
        net.ctx
            .banks_client
            .get_account(hexproof_client::pda::owner_tokens(&owner.pubkey()))
            .await
            .unwrap()
            .is_some(),
        "the owner's token account, at the maker's expense"
    );

    // The owner asserts a new location; the maker pays the fee.
    let moved = placed(u64::from(
        h3o::LatLng::new(52.53, 13.41)
            .unwrap()
            .to_cell(h3o::Resolution::Twelve),
    ));
    let assert_ix = instructions::assert_location(&owner.pubkey(), &h.pubkey(), moved, 30, 5);
    send_by(&mut net.ctx, &maker, &[assert_ix], &[&owner])
        .await
        .unwrap();
    assert_eq!(record(&mut net, &h).await.location, moved.cell);

    // It earns; a relayer claims into the owner's account.
    let tree = MerkleTree::new(vec![leaf(&h.pubkey().to_bytes(), EMISSION)]);
    submit(&mut net, 10, tree.root(), EMISSION, &[0, 1])
        .await
        .unwrap();
    let claim = claim_ix(
        &h.pubkey(),
        &owner.pubkey(),
        EMISSION,
        tree.proof(0).unwrap(),
    );
    send(&mut net.ctx, &[claim], &[]).await.unwrap();
    assert_eq!(balance(&mut net.ctx, &owner.pubkey()).await, EMISSION);
    assert_eq!(lamports(&mut net.ctx, owner.pubkey()).await, 0);
}
