//! Data credits on chain (issue 30): tokens burned for an org's credits at the deployment's
//! price, and the org's charges, committed by the oracles in the same root as rewards, settled
//! against them: once, never below zero, never by a leaf the oracles did not sign, never with a
//! hotspot's leaf passed off as an org's (or the other way round).
#![allow(deprecated)] // solana-program-test: "Agave Unstable"

mod common;

use std::collections::BTreeMap;

use anchor_lang::AccountDeserialize;
use common::*;
use hexproof_client::{
    instructions::{self, DevAddrRange},
    pda,
};
use hexproof_poc::rewards;
use hexproof_program::state::Org;
use hexproof_proto::PublicKey;
use solana_keypair::Keypair;
use solana_signer::Signer;

const OUI: u64 = 1;
const RANGE: DevAddrRange = DevAddrRange {
    start: 0x4800_0000,
    end: 0x48ff_ffff,
};
/// `init_args`' price: 100,000 credits a whole token (10^6 base units), 10 base units a credit.
const DC_PER_TOKEN: u64 = 100_000;
/// The SPL token program's "insufficient funds" and Anchor's `ConstraintTokenOwner`.
const INSUFFICIENT_FUNDS: Option<u32> = Some(1);
const TOKEN_OWNER: Option<u32> = Some(2015);

async fn org(net: &mut Net) -> Org {
    let account = net
        .ctx
        .banks_client
        .get_account(pda::org(OUI))
        .await
        .unwrap()
        .unwrap();
    Org::try_deserialize(&mut account.data.as_slice()).unwrap()
}

/// Submits epoch `epoch` over the hotspots' lifetime amounts and the orgs' lifetime charges;
/// returns its tree and the hotspots in leaf order.
async fn land(
    net: &mut Net,
    epoch: u64,
    lifetime: &BTreeMap<PublicKey, u64>,
    charges: &BTreeMap<u64, u64>,
) -> (hexproof_commitment::MerkleTree, Vec<PublicKey>) {
    let (tree, keys) = rewards::tree_with_orgs(lifetime, charges);
    submit(net, epoch, tree.root(), lifetime.values().sum(), &[0, 1])
        .await
        .unwrap();
    (tree, keys)
}

fn settle(
    tree: &hexproof_commitment::MerkleTree,
    keys: &[PublicKey],
    charges: &BTreeMap<u64, u64>,
) -> anchor_lang::solana_program::instruction::Instruction {
    let i = charges.keys().position(|&o| o == OUI).unwrap();
    instructions::settle_credits(OUI, charges[&OUI], tree.proof(keys.len() + i).unwrap())
}

#[tokio::test]
async fn credits_are_bought_by_burning_and_charges_settle_once_against_the_signed_root() {
    let mut net = start(2).await;
    let admin = net.admin.insecure_clone();
    let (h, owner) = hotspot(&mut net).await;
    let ix = instructions::create_org(
        &admin.pubkey(),
        OUI,
        &owner.pubkey(),
        &owner.pubkey(),
        vec![RANGE],
    );
    send(&mut net.ctx, &[ix], &[&admin]).await.unwrap();
    let k = PublicKey::from(h.pubkey().to_bytes());

    // Epoch 1 pays the hotspot 750,000; its owner claims them.
    let lifetime: BTreeMap<PublicKey, u64> = [(k, 750_000)].into();
    let (tree, keys) = land(&mut net, 1, &lifetime, &BTreeMap::new()).await;
    let ix = claim_leaf(&h.pubkey(), &owner.pubkey(), &lifetime, &tree, &keys);
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net.ctx, &owner.pubkey()).await, 750_000);

    // Burning 500,000 base units buys 50,000 credits; the tokens are gone from supply.
    let ix = instructions::buy_credits(&owner.pubkey(), OUI, 500_000);
    send(&mut net.ctx, &[ix], &[&owner]).await.unwrap();
    assert_eq!(balance(&mut net.ctx, &owner.pubkey()).await, 250_000);
    let o = org(&mut net).await;
    assert_eq!(
        (o.dc_balance, o.dc_bought, o.tokens_burned),
        (500_000 * DC_PER_TOKEN / 1_000_000, 50_000, 500_000)
    );
    // An amount that buys no credit burns nothing; nobody burns more than they hold, or
    // from someone else's account.
    let ix = instructions::buy_credits(&owner.pubkey(), OUI, 9);
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&owner]).await),
        named(E::NoCredits)
    );
    let ix = instructions::buy_credits(&owner.pubkey(), OUI, 250_001);
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&owner]).await),
        INSUFFICIENT_FUNDS
    );
    let thief = Keypair::new();
    fund(&mut net.ctx, &thief.pubkey()).await;
    let mut ix = instructions::buy_credits(&thief.pubkey(), OUI, 1_000);
    ix.accounts[4].pubkey = pda::owner_tokens(&owner.pubkey());
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&thief]).await),
        TOKEN_OWNER
    );
    assert_eq!(balance(&mut net.ctx, &owner.pubkey()).await, 250_000);

    // Epoch 2 charges the org 30,000 credits: settled once, by anyone.
    let charges: BTreeMap<u64, u64> = [(OUI, 30_000), (7, 5)].into();
    let (tree, keys) = land(&mut net, 2, &lifetime, &charges).await;
    // A charge the oracles did not sign is refused.
    let i = keys.len();
    let forged = instructions::settle_credits(OUI, 20_000, tree.proof(i).unwrap());
    assert_eq!(
        code(send(&mut net.ctx, &[forged], &[]).await),
        named(E::BadProof)
    );
    send(&mut net.ctx, &[settle(&tree, &keys, &charges)], &[])
        .await
        .unwrap();
    let o = org(&mut net).await;
    assert_eq!(
        (o.dc_balance, o.dc_settled, o.dc_unpaid),
        (20_000, 30_000, 0)
    );
    // Settling the same leaf again takes nothing.
    assert_eq!(
        code(send(&mut net.ctx, &[settle(&tree, &keys, &charges)], &[]).await),
        named(E::NothingToSettle)
    );
    // A hotspot's leaf is not an org's, nor an org's a hotspot's.
    let as_org = instructions::settle_credits(OUI, 750_000, tree.proof(0).unwrap());
    assert_eq!(
        code(send(&mut net.ctx, &[as_org], &[]).await),
        named(E::BadProof)
    );
    let as_hotspot = claim_ix(&h.pubkey(), &owner.pubkey(), 30_000, tree.proof(i).unwrap());
    assert_eq!(
        code(send(&mut net.ctx, &[as_hotspot], &[]).await),
        named(E::BadProof)
    );

    // Epoch 3 charges 50,000 more than the 20,000 left (a router that overspent): the balance
    // stops at zero and the shortfall shows.
    let charges3: BTreeMap<u64, u64> = [(OUI, 80_000)].into();
    let (tree3, keys3) = land(&mut net, 3, &lifetime, &charges3).await;
    // The superseded root's leaf no longer proves anything.
    assert_eq!(
        code(send(&mut net.ctx, &[settle(&tree, &keys, &charges)], &[]).await),
        named(E::BadProof)
    );
    send(&mut net.ctx, &[settle(&tree3, &keys3, &charges3)], &[])
        .await
        .unwrap();
    let o = org(&mut net).await;
    assert_eq!(
        (o.dc_balance, o.dc_settled, o.dc_unpaid),
        (0, 80_000, 30_000)
    );

    // A top-up refills it.
    let ix = instructions::buy_credits(&owner.pubkey(), OUI, 100_000);
    send(&mut net.ctx, &[ix], &[&owner]).await.unwrap();
    assert_eq!(org(&mut net).await.dc_balance, 10_000);

    // Net emissions: what was burned may be minted again, and no more. A total of the
    // schedule plus every token burned is taken; one base unit more is not.
    let burned = config(&mut net.ctx).await.burned;
    assert_eq!(burned, 600_000);
    let cap = 4 * EMISSION + burned;
    let over: BTreeMap<PublicKey, u64> = [(k, cap + 1)].into();
    let (tree, _) = rewards::tree_with_orgs(&over, &charges3);
    assert_eq!(
        code(submit(&mut net, 4, tree.root(), cap + 1, &[0, 1]).await),
        named(E::OverEmissionCap)
    );
    let at_cap: BTreeMap<PublicKey, u64> = [(k, cap)].into();
    land(&mut net, 4, &at_cap, &charges3).await;
    assert_eq!(config(&mut net.ctx).await.lifetime_total, cap);
}
