//! The packet path's routing table on chain (issue 29): orgs and routes, and who may change
//! what. Only the admin creates orgs and gives them DevAddr ranges (whoever claims a range gets
//! those devices' packets); only an org's owner adds, changes or removes its routes, inside its
//! ranges; nobody else: not a stranger, not another org's owner, not the admin.
#![allow(deprecated)] // solana-program-test: "Agave Unstable"

mod common;

use anchor_lang::{AccountDeserialize, prelude::Pubkey};
use common::*;
use hexproof_client::{
    instructions::{self, DevAddrRange, EuiPair, RouteArgs},
    pda,
};
use hexproof_program::state::{MAX_LNS_LEN, MAX_ROUTE_EUIS, MAX_ROUTE_RANGES, Org, Route};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Anchor's `has_one` constraint failed.
const HAS_ONE: Option<u32> = Some(2001);

const OUI: u64 = 1;
/// Route 7 of org 1, and route 8 of org 2 (a route id's high 32 bits are its org's OUI).
const R7: u64 = (1 << 32) | 7;
const R8: u64 = (2 << 32) | 8;
const RANGE: DevAddrRange = DevAddrRange {
    start: 0x4800_0000,
    end: 0x48ff_ffff,
};

async fn read<T: AccountDeserialize>(net: &mut Net, address: Pubkey) -> Option<T> {
    let account = net.ctx.banks_client.get_account(address).await.unwrap()?;
    Some(T::try_deserialize(&mut account.data.as_slice()).unwrap())
}

fn args(max_copies: u8, dev_addrs: Vec<DevAddrRange>) -> RouteArgs {
    RouteArgs {
        max_copies,
        dev_addrs,
        euis: vec![EuiPair {
            join_eui: 0x70b3_d57e_d000_0001,
            dev_eui: 0,
        }],
        lns: "udp://lns.example.org:1700".into(),
        active: true,
    }
}

/// A funded key.
async fn funded(net: &mut Net) -> Keypair {
    let k = Keypair::new();
    fund(&mut net.ctx, &k.pubkey()).await;
    k
}

#[tokio::test]
async fn only_the_admin_creates_orgs_and_only_an_orgs_owner_changes_its_routes() {
    let mut net = start(2).await;
    let admin = net.admin.insecure_clone();
    let owner = funded(&mut net).await;
    let stranger = funded(&mut net).await;
    let payer = Keypair::new().pubkey();

    // A stranger cannot create an org (nor give itself a DevAddr range).
    let ix = instructions::create_org(
        &stranger.pubkey(),
        OUI,
        &stranger.pubkey(),
        &payer,
        vec![RANGE],
    );
    assert_eq!(code(send(&mut net.ctx, &[ix], &[&stranger]).await), HAS_ONE);
    // The admin can; the same OUI cannot be created twice.
    let ix = instructions::create_org(&admin.pubkey(), OUI, &owner.pubkey(), &payer, vec![RANGE]);
    send(&mut net.ctx, &[ix], &[&admin]).await.unwrap();
    let ix = instructions::create_org(
        &admin.pubkey(),
        OUI,
        &stranger.pubkey(),
        &payer,
        vec![RANGE],
    );
    assert!(send(&mut net.ctx, &[ix], &[&admin]).await.is_err());
    let org: Org = read(&mut net, pda::org(OUI)).await.unwrap();
    assert_eq!(
        (org.oui, org.owner, org.payer, org.enabled),
        (OUI, owner.pubkey(), payer, true)
    );
    // An org owned by nobody usable is refused.
    let ix = instructions::create_org(&admin.pubkey(), 9, &Pubkey::default(), &payer, vec![]);
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&admin]).await),
        named(E::BadOrgKey)
    );

    // A second org, owned by the stranger, with a range of its own.
    let other = DevAddrRange {
        start: 0x4900_0000,
        end: 0x49ff_ffff,
    };
    let ix = instructions::create_org(&admin.pubkey(), 2, &stranger.pubkey(), &payer, vec![other]);
    send(&mut net.ctx, &[ix], &[&admin]).await.unwrap();

    // A stranger cannot add a route to someone else's org.
    let ix = instructions::create_route(&stranger.pubkey(), OUI, R7, args(2, vec![RANGE]));
    assert_eq!(code(send(&mut net.ctx, &[ix], &[&stranger]).await), HAS_ONE);
    // Its own org cannot claim the first org's devices.
    let ix = instructions::create_route(&stranger.pubkey(), 2, R8, args(2, vec![RANGE]));
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&stranger]).await),
        named(E::RangeOutsideOrg)
    );
    let straddling = DevAddrRange {
        start: 0x48ff_0000,
        end: 0x4900_ffff,
    };
    let ix = instructions::create_route(&stranger.pubkey(), 2, R8, args(2, vec![straddling]));
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&stranger]).await),
        named(E::RangeOutsideOrg)
    );
    // Out of bounds: no copies, too many, a backwards range, an address too long or empty.
    let backwards = DevAddrRange {
        start: 0x4800_0010,
        end: 0x4800_0001,
    };
    let mut long = args(2, vec![RANGE]);
    long.lns = "u".repeat(MAX_LNS_LEN + 1);
    let mut empty = args(2, vec![RANGE]);
    empty.lns.clear();
    for bad in [
        args(0, vec![RANGE]),
        args(17, vec![RANGE]),
        args(2, vec![backwards]),
        long,
        empty,
    ] {
        let ix = instructions::create_route(&owner.pubkey(), OUI, R7, bad);
        assert_eq!(
            code(send(&mut net.ctx, &[ix], &[&owner]).await),
            named(E::BadRoute)
        );
    }

    // The owner adds a route at every bound, and it fits one transaction (send checks).
    let full = RouteArgs {
        max_copies: 16,
        dev_addrs: (0..MAX_ROUTE_RANGES as u32)
            .map(|i| DevAddrRange {
                start: 0x4800_0000 + i * 0x100,
                end: 0x4800_00ff + i * 0x100,
            })
            .collect(),
        euis: (0..MAX_ROUTE_EUIS as u64)
            .map(|i| EuiPair {
                join_eui: i,
                dev_eui: i,
            })
            .collect(),
        lns: "u".repeat(MAX_LNS_LEN),
        active: true,
    };
    let ix = instructions::create_route(&owner.pubkey(), OUI, R7, full.clone());
    send(&mut net.ctx, &[ix], &[&owner]).await.unwrap();
    let route: Route = read(&mut net, pda::route(R7)).await.unwrap();
    assert_eq!((route.id, route.oui, route.max_copies), (R7, OUI, 16));
    assert_eq!(route.dev_addrs, full.dev_addrs);
    assert_eq!(route.euis, full.euis);
    // Another org cannot take an id in this org's space (it would receive the copies still
    // waiting for that id): not one in use, not a free one (and, below, not one removed).
    let ix = instructions::create_route(&stranger.pubkey(), 2, R7, args(1, vec![other]));
    assert!(send(&mut net.ctx, &[ix], &[&stranger]).await.is_err());
    let ix = instructions::create_route(&stranger.pubkey(), 2, R7 + 1, args(1, vec![other]));
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&stranger]).await),
        named(E::RouteOfAnotherOrg)
    );
    // An OUI past 32 bits is refused (route ids carry it).
    let ix = instructions::create_org(&admin.pubkey(), 1 << 32, &owner.pubkey(), &payer, vec![]);
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&admin]).await),
        named(E::BadRoute)
    );

    // Nobody but its org's owner changes or removes it: not a stranger, not another org's
    // owner through its own org, not the admin.
    let change = args(3, vec![RANGE]);
    for (who, oui) in [(&stranger, OUI), (&admin, OUI)] {
        let ix = instructions::update_route(&who.pubkey(), oui, R7, change.clone());
        assert_eq!(code(send(&mut net.ctx, &[ix], &[who]).await), HAS_ONE);
        let ix = instructions::remove_route(&who.pubkey(), oui, R7);
        assert_eq!(code(send(&mut net.ctx, &[ix], &[who]).await), HAS_ONE);
    }
    let ix = instructions::update_route(&stranger.pubkey(), 2, R7, args(3, vec![other]));
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&stranger]).await),
        named(E::RouteOfAnotherOrg)
    );
    let ix = instructions::remove_route(&stranger.pubkey(), 2, R7);
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&stranger]).await),
        named(E::RouteOfAnotherOrg)
    );
    let route: Route = read(&mut net, pda::route(R7)).await.unwrap();
    assert_eq!(route.max_copies, 16, "unchanged");

    // The owner changes it (a change outside the org's ranges is refused) and pauses it.
    let ix = instructions::update_route(&owner.pubkey(), OUI, R7, args(3, vec![other]));
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&owner]).await),
        named(E::RangeOutsideOrg)
    );
    let mut paused = change.clone();
    paused.active = false;
    let ix = instructions::update_route(&owner.pubkey(), OUI, R7, paused);
    send(&mut net.ctx, &[ix], &[&owner]).await.unwrap();
    let route: Route = read(&mut net, pda::route(R7)).await.unwrap();
    assert_eq!((route.max_copies, route.active), (3, false));
    assert_eq!(route.dev_addrs, vec![RANGE]);

    // The owner hands the org over: from then on only the new owner changes its routes.
    let new_owner = funded(&mut net).await;
    let ix = instructions::update_org(&stranger.pubkey(), OUI, &stranger.pubkey(), &payer);
    assert_eq!(code(send(&mut net.ctx, &[ix], &[&stranger]).await), HAS_ONE);
    let ix = instructions::update_org(&owner.pubkey(), OUI, &Pubkey::default(), &payer);
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&owner]).await),
        named(E::BadOrgKey)
    );
    let ix = instructions::update_org(&owner.pubkey(), OUI, &new_owner.pubkey(), &payer);
    send(&mut net.ctx, &[ix], &[&owner]).await.unwrap();
    let ix = instructions::update_route(&owner.pubkey(), OUI, R7, change.clone());
    assert_eq!(code(send(&mut net.ctx, &[ix], &[&owner]).await), HAS_ONE);
    let ix = instructions::update_route(&new_owner.pubkey(), OUI, R7, change.clone());
    send(&mut net.ctx, &[ix], &[&new_owner]).await.unwrap();

    // Only the admin disables an org or changes its ranges.
    let ix = instructions::set_org(&new_owner.pubkey(), OUI, true, vec![RANGE, other]);
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&new_owner]).await),
        HAS_ONE
    );
    let ix = instructions::set_org(&admin.pubkey(), OUI, false, vec![RANGE]);
    send(&mut net.ctx, &[ix], &[&admin]).await.unwrap();
    let org: Org = read(&mut net, pda::org(OUI)).await.unwrap();
    assert!(!org.enabled);

    // Removing gives the rent back to the owner and frees the id.
    let before = net
        .ctx
        .banks_client
        .get_balance(new_owner.pubkey())
        .await
        .unwrap();
    let ix = instructions::remove_route(&new_owner.pubkey(), OUI, R7);
    send(&mut net.ctx, &[ix], &[&new_owner]).await.unwrap();
    assert!(read::<Route>(&mut net, pda::route(R7)).await.is_none());
    // Its id stays its org's: the other org still cannot take it.
    let ix = instructions::create_route(&stranger.pubkey(), 2, R7, args(1, vec![other]));
    assert_eq!(
        code(send(&mut net.ctx, &[ix], &[&stranger]).await),
        named(E::RouteOfAnotherOrg)
    );
    let after = net
        .ctx
        .banks_client
        .get_balance(new_owner.pubkey())
        .await
        .unwrap();
    assert!(after > before, "the route's rent came back");
}
