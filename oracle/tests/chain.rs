//! The oracle against the program in a real Solana runtime (the embedded bank with the SPL
//! Token programs): a fixture network onboarded on chain is the registry the recorded reports
//! are judged with; the closed epoch gives the golden root; it is submitted with the oracle's
//! signature and claimed for every owner, whose balances then equal their lifetime rewards.

mod common;

use std::sync::Arc;

use common::{
    golden::{SEC, T0, limits, rewards},
    owner_balances_mismatch,
};

use hexproof_client::{Chain, Signer, pda, read};
use hexproof_demo::chain::onboard_network;
use hexproof_fixtures::fixtures_dir;
use oracle::{
    audit,
    chain::{self, solana_keypair},
    config::ClockConfig,
    epochs,
    registry::{Registry, StaticRegistry, chain::ChainRegistry},
    store::Store,
};

/// The net-25 oracle's key deployed and initialized the program, the fixture network is
/// onboarded, and the recorded reports are judged with the registry read back from the chain
/// into a fresh database.
struct OnChain {
    network: hexproof_fixtures::Network,
    oracle_key: hexproof_proto::Keypair,
    payer: hexproof_client::Keypair,
    chain: Chain,
    registry: Arc<ChainRegistry>,
    store: Store,
    _dir: tempfile::TempDir,
}

async fn on_chain() -> OnChain {
    let network = hexproof_fixtures::network("net-25").unwrap();
    // The oracle's key deployed the program (its upgrade authority) and initializes it.
    let (chain, oracle_key) = common::golden::deployed().await;
    let payer = solana_keypair(&oracle_key);
    let added = onboard_network(&chain, &network, 1_000_000_000)
        .await
        .unwrap();
    assert_eq!(added, network.hotspots.len());
    // Onboarding again adds nothing.
    assert_eq!(onboard_network(&chain, &network, 0).await.unwrap(), 0);
    let registry =
        Arc::new(ChainRegistry::new(None, hexproof_proto::clock::Clock::system()).unwrap());
    assert_eq!(registry.refresh(&chain).await.unwrap(), 25);

    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("c.db").display()))
        .await
        .unwrap();
    let lines = audit::read_lines(&fixtures_dir().join("reports/net-25.jsonl")).unwrap();
    let as_registry: Arc<dyn Registry> = registry.clone();
    audit::judge_into(&store, &lines, as_registry, limits(), &[])
        .await
        .unwrap();
    OnChain {
        network,
        oracle_key,
        payer,
        chain,
        registry,
        store,
        _dir: dir,
    }
}

impl OnChain {
    /// Closes epoch 1 of the recording and moves the cluster's clock to its end (the
    /// recording's time), so the program takes it.
    async fn close_epoch(&self) -> hexproof_poc::rewards::epoch::ClosedEpoch {
        let closed = epochs::close_ready(
            &self.store,
            self.registry.as_ref(),
            &rewards(),
            &self.oracle_key,
            T0 + 3_600 * SEC,
        )
        .await
        .unwrap();
        self.chain
            .warp_clock(((T0 + 3_600 * SEC) / SEC) as i64)
            .await
            .unwrap();
        closed[0].clone()
    }
}

/// Asserts that every owner holds exactly the lifetime rewards of their hotspots in `e`;
/// returns what they hold together.
async fn assert_owners_hold_lifetimes(
    chain: &Chain,
    network: &hexproof_fixtures::Network,
    e: &hexproof_poc::rewards::epoch::ClosedEpoch,
) -> u64 {
    assert_eq!(owner_balances_mismatch(chain, network, e).await, None);
    e.rows.iter().map(|r| r.lifetime).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_registry_epoch_submission_and_claims() {
    let setup = on_chain().await;
    // Judged with the chain registry, the recorded reports give the golden epoch.
    let e = &setup.close_epoch().await;
    let OnChain {
        network,
        payer,
        chain,
        registry,
        ..
    } = &setup;
    // The registry read back from the chain is the fixture's (regions from locations), but
    // for the exact cells: the chain holds their resolution-8 parents and commitments, which
    // the recorded reports open (the golden root below is the one judged on exact cells).
    let fixture = StaticRegistry::from_file(&network.registry(T0)).unwrap();
    for (on_chain, file) in registry.all().iter().zip(fixture.all()) {
        assert_eq!(on_chain.pubkey, file.pubkey);
        assert_eq!(on_chain.owner, file.owner);
        assert_eq!(on_chain.location, None);
        let placed = on_chain.placement.unwrap().current;
        assert_eq!(on_chain.placement.unwrap().previous, None);
        assert_eq!(
            Some(placed.public_cell),
            file.location.unwrap().parent(h3o::Resolution::Eight)
        );
        assert_eq!(
            (on_chain.gain_ddbi, on_chain.elevation_m),
            (file.gain_ddbi, file.elevation_m)
        );
        assert_eq!(on_chain.region.name, file.region.name, "{}", file.pubkey);
    }

    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures_dir().join("golden/net-25-epoch-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(hex::encode(e.root), golden["merkle_root"].as_str().unwrap());

    // Submitted on chain once the epoch is over on the cluster's clock: the program holds the
    // oracle's root.
    chain::submit_epoch(chain, payer, e, &[]).await.unwrap();
    let config = read::config(chain).await.unwrap().unwrap();
    assert_eq!((config.epoch, config.root), (1, e.root));
    assert_eq!(config.lifetime_total, e.lifetime_total);

    // Claimed for everyone: each owner holds the lifetime rewards of their hotspots.
    let done = chain::claim_all(chain, payer, e).await.unwrap();
    assert_eq!(done.claims, e.rows.len() as u64);
    assert_eq!((done.minted, done.failed), (e.paid, 0));
    assert_owners_hold_lifetimes(chain, network, e).await;
    assert!(chain.account(&pda::mint()).await.unwrap().is_some());
    // Nothing left to claim.
    let again = chain::claim_all(chain, payer, e).await.unwrap();
    assert_eq!(again.claims, 0);
}

/// The chain duty against a flaky network: a submission that never reaches the cluster is
/// sent again; one applied whose confirmation was lost is not sent again (and the program
/// would refuse it); claims applied without confirmation are not paid twice. At the end every
/// owner holds exactly their lifetime rewards and the supply is the epoch's total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_chain_gets_each_epoch_once_and_pays_each_claim_once() {
    use hexproof_client::SendFault::{Dropped, ReplyLost};
    let setup = on_chain().await;
    let e = setup.close_epoch().await;
    let OnChain {
        network,
        payer,
        chain,
        store,
        ..
    } = setup;
    let chain = Arc::new(chain);
    let duty = epochs::ChainDuty {
        chain: chain.clone(),
        payer: payer.insecure_clone(),
        submit: true,
        claim: true,
    };

    // The submission is dropped: nothing on chain, the duty reports failure.
    chain.inject_faults(&[Dropped]);
    assert!(duty.sync(&store).await.is_err());
    assert_eq!(read::config(&chain).await.unwrap().unwrap().epoch, 0);

    // Sent again, applied, but the reply is lost; then three claims go the same way.
    chain.inject_faults(&[ReplyLost]);
    assert!(duty.sync(&store).await.is_err());
    let config = read::config(&chain).await.unwrap().unwrap();
    assert_eq!((config.epoch, config.root), (1, e.root));
    chain.inject_faults(&[ReplyLost, Dropped, ReplyLost]);
    assert!(
        duty.sync(&store).await.is_err(),
        "failed claims are retried"
    );
    // The retry claims what is left and nothing twice.
    duty.sync(&store).await.unwrap();
    duty.sync(&store).await.unwrap();

    // The program refuses the same epoch a second time.
    let again = chain::submit_epoch(&chain, &payer, &e, &[]).await;
    assert!(again.is_err(), "an epoch is applied once");
    let config = read::config(&chain).await.unwrap().unwrap();
    assert_eq!((config.epoch, config.root), (1, e.root));

    assert_eq!(
        assert_owners_hold_lifetimes(&chain, &network, &e).await,
        e.paid
    );
    assert_eq!(read::config(&chain).await.unwrap().unwrap().minted, e.paid);
}

/// A root that overpaid one hotspot (a rogue quorum's), claimed by it at once, then the honest
/// root of the next epoch: the oracle's claim round records the overpayment (`sync_ledger`)
/// before it claims for the others, so every honest owner is still paid in full (without it
/// the last claimers would be short by the overpayment for good).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overpaying_root_leaves_every_honest_owner_paid() {
    let setup = on_chain().await;
    let honest = setup.close_epoch().await;
    let OnChain {
        payer,
        chain,
        oracle_key,
        ..
    } = &setup;
    let mut bad = honest.clone();
    oracle::quorum::Rogue::Inflate.cheat(&mut bad, oracle_key);
    let extra = bad.lifetime_total - honest.lifetime_total;
    chain::submit_epoch(chain, payer, &bad, &[]).await.unwrap();
    // The friend claims its inflated leaf at once; nobody else claims yet.
    let friend = &bad.rows[0];
    let key = chain::pubkey(&friend.hotspot);
    let owner = read::ledger(chain, &key).await.unwrap().unwrap().owner;
    let proof = bad.tree().proof(0).unwrap();
    let ix = hexproof_client::instructions::claim(&key, &owner, friend.lifetime, proof);
    chain.send(&[ix], payer, &[]).await.unwrap();

    // Epoch 2: the honest amounts again, signed and landed once the epoch is over.
    let mut next = honest.clone();
    next.epoch = 2;
    next.signature = oracle_key.sign(&next.message());
    chain
        .warp_clock(((T0 + 2 * 3_600 * SEC) / SEC) as i64)
        .await
        .unwrap();
    chain::submit_epoch(chain, payer, &next, &[]).await.unwrap();
    let done = chain::claim_all(chain, payer, &next).await.unwrap();
    assert_eq!(done.failed, 0, "{done:?}");
    assert_eq!(read::config(chain).await.unwrap().unwrap().excess, extra);
    for row in &next.rows {
        let paid = read::claimed(chain, &chain::pubkey(&row.hotspot))
            .await
            .unwrap();
        let expected = row.lifetime
            + if row.hotspot == friend.hotspot {
                extra
            } else {
                0
            };
        assert_eq!(paid, expected, "{}", row.hotspot);
    }
    assert_eq!(
        read::config(chain).await.unwrap().unwrap().minted,
        honest.paid + extra
    );
}

/// The packet path's routing table is the chain's (issue 29): the admin creates an org, its
/// owner puts a route on chain, and the router buys for it once the org has data credits
/// (issue 30: none before, bought with tokens a hotspot earned, seen at the next read); the owner pausing the route and the
/// admin disabling the org reach a running router within a refresh; a stranger cannot put a
/// route into the org.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_set_on_chain_by_their_owners_are_what_the_router_buys_for() {
    use hexproof_poc::packets::{Drop, Route, RouterLimits};
    use hexproof_proto::{Signed, topics, v1::PacketReport};
    use oracle::router::{PacketRouter, Refusal, chain_table};
    use prost::Message;

    let network = hexproof_fixtures::network("net-25").unwrap();
    let admin_key = network.oracles[0].keypair().unwrap();
    let admin = solana_keypair(&admin_key);
    let chain = Arc::new(Chain::embedded(&admin.pubkey()).await);
    chain.fund(&admin.pubkey(), 10_000_000_000).await.unwrap();
    let args = chain::init_args(
        &[admin_key.public()],
        1,
        &rewards(),
        &ClockConfig::default(),
        &limits(),
    );
    chain::initialize(&chain, &admin, args).await.unwrap();
    let owner_key = hexproof_proto::Keypair::from_secret([41; 32]);
    let owner = solana_keypair(&owner_key);
    let stranger = solana_keypair(&hexproof_proto::Keypair::from_secret([42; 32]));
    for k in [&owner, &stranger] {
        chain.fund(&k.pubkey(), 1_000_000_000).await.unwrap();
    }
    let base = 0x4800_0000;
    chain::create_org(
        &chain,
        &admin,
        1,
        &owner_key.public(),
        &owner_key.public(),
        &[(base, base + 0xffff)],
    )
    .await
    .unwrap();
    let mut route = Route {
        id: hexproof_client::route_id_of(1, 7),
        oui: 1,
        max_copies: 2,
        dev_addrs: vec![(base, base + 0xff)],
        euis: vec![],
        session_keys: vec![],
        lns: "udp://127.0.0.1:1700".into(),
        active: true,
    };
    // Only the org's owner puts routes into it.
    assert!(chain::set_route(&chain, &stranger, &route).await.is_err());
    chain::set_route(&chain, &owner, &route).await.unwrap();

    let table = chain_table::read(&chain, &Default::default())
        .await
        .unwrap();
    assert_eq!(table.routes(), std::slice::from_ref(&route));
    let registry = Arc::new(StaticRegistry::from_file(&network.registry(0)).unwrap());
    let mut router = PacketRouter::new(
        table.clone(),
        RouterLimits::default(),
        admin_key.clone(),
        registry,
        hexproof_proto::clock::Clock::system(),
    );
    let hotspot = network.hotspots[0].key.keypair().unwrap();
    let device = hexproof_fixtures::devices::Device::derive("chain-routes", base, 3);
    let offer = |router: &mut PacketRouter, fcnt: u32| {
        let report = PacketReport {
            payload: device.uplink(fcnt, 1, b"hello", false),
            timestamp_ns: 1,
            frequency_hz: 868_100_000,
            data_rate: 4,
            rssi_ddbm: -900,
            snr_ddb: 50,
            ..Default::default()
        }
        .signed(&hotspot);
        router.handle(&topics::packets(&hotspot.public()), &report.encode_to_vec())
    };
    // The org has no data credits yet: nothing is bought for it.
    assert_eq!(
        offer(&mut router, 1).unwrap_err(),
        Refusal::Dropped(Drop::NoCredit)
    );
    // Credits are bought with tokens a hotspot earned: epoch 1 pays hotspot 0, whose owner
    // burns 20 base units for the org's 2 credits (one 18-byte frame each).
    onboard_network(&chain, &network, 1_000_000_000)
        .await
        .unwrap();
    let config = rewards();
    let activity = hexproof_poc::rewards::Activity {
        beacons: [(network.hotspots[0].key.pubkey, 1)].into(),
        ..Default::default()
    };
    let e = hexproof_poc::rewards::epoch::build(
        1,
        &config,
        &activity,
        &Default::default(),
        &Default::default(),
        &admin_key,
    );
    chain
        .warp_clock((config.bounds(1).1 / SEC) as i64)
        .await
        .unwrap();
    chain::submit_epoch(&chain, &admin, &e, &[]).await.unwrap();
    chain::claim_all(&chain, &admin, &e).await.unwrap();
    let buyer = owner_of(&network, 0);
    assert_eq!(chain::buy_credits(&chain, &buyer, 1, 20).await.unwrap(), 2);
    router.set_table(
        chain_table::read(&chain, &Default::default())
            .await
            .unwrap(),
    );
    let bought = offer(&mut router, 2).unwrap();
    assert_eq!(bought.len(), 1);
    assert_eq!(bought[0].0.route_id, route.id);

    // Changes on chain reach a running router's table within a refresh.
    let (tx, mut tables) = tokio::sync::watch::channel(router.table().clone());
    let stop = tokio_util::sync::CancellationToken::new();
    let fresh = tokio::spawn(chain_table::keep_fresh(
        chain.clone(),
        Default::default(),
        tx,
        std::time::Duration::from_millis(100),
        None,
        stop.clone(),
    ));
    route.active = false;
    chain::set_route(&chain, &owner, &route).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), tables.changed())
        .await
        .unwrap()
        .unwrap();
    router.set_table(tables.borrow_and_update().clone());
    assert_eq!(
        offer(&mut router, 3).unwrap_err(),
        Refusal::Dropped(Drop::OrgDisabled),
        "a paused route buys nothing"
    );
    route.active = true;
    chain::set_route(&chain, &owner, &route).await.unwrap();
    let ix = hexproof_client::instructions::set_org(
        &admin.pubkey(),
        1,
        false,
        vec![hexproof_client::DevAddrRange {
            start: base,
            end: base + 0xffff,
        }],
    );
    chain.send(&[ix], &admin, &[]).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            tables.changed().await.unwrap();
            let t = tables.borrow_and_update().clone();
            if !t.org(1).unwrap().enabled {
                break t;
            }
        }
    })
    .await
    .map(|t| router.set_table(t))
    .unwrap();
    assert_eq!(
        offer(&mut router, 4).unwrap_err(),
        Refusal::Dropped(Drop::OrgDisabled),
        "a disabled org's routes buy nothing"
    );
    stop.cancel();
    fresh.await.unwrap();
}

/// The solana keypair of the owner of `network`'s hotspot `i`.
fn owner_of(network: &hexproof_fixtures::Network, i: usize) -> hexproof_client::Keypair {
    let owner = network
        .owners
        .iter()
        .find(|o| o.pubkey == network.hotspots[i].owner)
        .unwrap();
    solana_keypair(&owner.keypair().unwrap())
}

/// Receipts of copies bought for org 1 in `[from_ns, …)`, one a second: `(hotspot index,
/// payload size)` each, as the router stores them (the store takes them as they are).
fn receipts(
    network: &hexproof_fixtures::Network,
    copies: &[(usize, u32)],
    from_ns: u64,
) -> Vec<(
    hexproof_proto::v1::PacketReceipt,
    hexproof_proto::v1::PacketReport,
)> {
    copies
        .iter()
        .enumerate()
        .map(|(n, &(i, size))| {
            let mut hash = [0u8; 32];
            hash[..8].copy_from_slice(&(n as u64).to_le_bytes());
            let receipt = hexproof_proto::v1::PacketReceipt {
                router: vec![9; 32],
                hotspot: network.hotspots[i].key.pubkey.to_bytes().to_vec(),
                payload_hash: hash.to_vec(),
                payload_size: size,
                oui: 1,
                route_id: hexproof_client::route_id_of(1, 1),
                report_id: hash.to_vec(),
                bought_ns: from_ns + n as u64 * SEC,
                ..Default::default()
            };
            (receipt, Default::default())
        })
        .collect()
}

/// Data credits end to end (issue 30): an owner burns what its hotspot earned for an org's
/// credits; the copies bought in epoch 2 (each receipt once: stored twice, or a copy sent
/// again, counts once) pay their hotspots at the peg from the data pool and charge the org;
/// `rewards replay` gives the same epoch bit for bit; on a flaky chain the epoch lands once,
/// the org's charges are taken from its credits once, and every hotspot is paid what it earned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charges_settle_once_on_a_flaky_chain_and_carriers_are_paid_at_the_peg() {
    use hexproof_client::SendFault::{Dropped, ReplyLost};
    use hexproof_poc::rewards::epoch::OrgRow;
    let setup = on_chain().await;
    let e1 = setup.close_epoch().await;
    let OnChain {
        network,
        payer,
        chain,
        store,
        registry,
        oracle_key,
        ..
    } = setup;
    let chain = Arc::new(chain);
    let duty = epochs::ChainDuty {
        chain: chain.clone(),
        payer: payer.insecure_clone(),
        submit: true,
        claim: true,
    };
    duty.sync(&store).await.unwrap();

    // Org 1 (the admin creates it); the owner of hotspot 0 burns 1 token for its credits.
    let buyer = owner_of(&network, 0);
    let base = 0x4800_0000;
    let owner = hexproof_proto::PublicKey::from(buyer.pubkey().to_bytes());
    chain::create_org(&chain, &payer, 1, &owner, &owner, &[(base, base + 0xffff)])
        .await
        .unwrap();
    let held = read::token_balance(&chain, &buyer.pubkey()).await.unwrap();
    assert!(held >= 1_000_000, "{held}");
    let balance = chain::buy_credits(&chain, &buyer, 1, 1_000_000)
        .await
        .unwrap();
    assert_eq!(balance, 100_000, "1 token buys 100,000 credits");
    assert_eq!(
        read::token_balance(&chain, &buyer.pubkey()).await.unwrap(),
        held - 1_000_000
    );

    // Epoch 2: copies carried by hotspots 0, 1 and 2, 1 to 4 credits each.
    let config = rewards();
    let (start2, end2) = config.bounds(2);
    let copies: Vec<(usize, u32)> = (0..90).map(|n| (n % 3, 10 + (n as u32 * 7) % 80)).collect();
    let bought = receipts(&network, &copies, start2);
    assert_eq!(store.save_receipts(&bought).await.unwrap(), 90);
    assert_eq!(store.save_receipts(&bought).await.unwrap(), 0);
    let mut again = bought[..5].to_vec();
    for (r, _) in &mut again {
        r.bought_ns += 1; // the same copy bought again (another receipt id): refused
    }
    assert_eq!(store.save_receipts(&again).await.unwrap(), 0);
    let mut carried = std::collections::BTreeMap::new();
    for &(i, size) in &copies {
        *carried
            .entry(network.hotspots[i].key.pubkey)
            .or_insert(0u64) += hexproof_commitment::packet_dc(size);
    }
    let charged: u64 = carried.values().sum();

    let closed = epochs::close_ready(&store, registry.as_ref(), &config, &oracle_key, end2)
        .await
        .unwrap();
    let e2 = closed[0].clone();
    assert_eq!(
        e2.orgs,
        [OrgRow {
            oui: 1,
            dc: charged,
            lifetime_dc: charged
        }]
    );
    for r in &e2.rows {
        let dc = carried.get(&r.hotspot).copied().unwrap_or(0);
        assert_eq!((r.dc, r.data), (dc, dc * 10), "10 base units a credit");
    }
    assert_eq!(e2.data_paid, charged * 10);
    // The tokens the org burned for what it spent are minted again (net emissions): with no
    // coverage earned in epoch 2, the coverage pools (emission and re-mint, less data paid)
    // are dust.
    assert_eq!(e2.remint, charged * 10);
    assert_eq!(e2.paid + e2.dust, e2.emission + e2.remint);
    assert!(e2.data_paid <= e2.data_pool);
    // Replayed from the stored verdicts and receipts: the same epoch, bit for bit.
    let replayed = epochs::recompute(&store, registry.as_ref(), &config, 2, &oracle_key)
        .await
        .unwrap()
        .epoch;
    assert_eq!(replayed, e2);
    assert_eq!(store.closed_epoch(2).await.unwrap().unwrap(), e2);

    // On chain, through faults: the submission dropped, then applied with its reply lost,
    // then the settlement applied with its reply lost; the retries send nothing twice.
    chain.warp_clock((end2 / SEC) as i64).await.unwrap();
    chain.inject_faults(&[Dropped]);
    assert!(duty.sync(&store).await.is_err());
    assert_eq!(read::config(&chain).await.unwrap().unwrap().epoch, 1);
    chain.inject_faults(&[ReplyLost]);
    assert!(duty.sync(&store).await.is_err());
    chain.inject_faults(&[ReplyLost]);
    assert!(duty.sync(&store).await.is_err(), "the settlement's reply");
    duty.sync(&store).await.unwrap();
    duty.sync(&store).await.unwrap();
    let org = read::org(&chain, 1).await.unwrap().unwrap();
    assert_eq!(
        (org.dc_balance, org.dc_settled, org.dc_unpaid),
        (100_000 - charged, charged, 0)
    );
    // Settling the same leaf by hand is refused; the balance never went below zero.
    let again = hexproof_client::instructions::settle_credits(
        1,
        charged,
        e2.tree().proof(e2.org_leaf_index(1).unwrap()).unwrap(),
    );
    let refused = chain.send(&[again], &payer, &[]).await.unwrap_err();
    assert!(
        refused.is(hexproof_client::HexproofError::NothingToSettle),
        "{refused}"
    );
    // Every hotspot was paid exactly its lifetime amount (coverage of epoch 1, data of 2).
    for r in &e2.rows {
        let paid = read::claimed(&chain, &chain::pubkey(&r.hotspot))
            .await
            .unwrap();
        assert_eq!(paid, r.lifetime, "{}", r.hotspot);
    }
    assert_eq!(
        read::config(&chain).await.unwrap().unwrap().minted,
        e1.paid + e2.paid
    );
}

/// Location privacy end to end: no hotspot record on chain holds a cell finer than resolution
/// 8; reports that do not reveal the exact cell behind a record's commitment earn nothing and
/// say why (`beacon_location_unrevealed`); and a member judging the epoch from scratch (a
/// fresh database, the registry read anew: what a restarted or replaying member has) closes
/// the same root as the golden one, judged on exact cells.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_holds_commitments_and_reports_reveal_the_cells() {
    use hexproof_proto::{
        Signed,
        v1::{BeaconReport, WitnessReport},
    };
    use prost::Message;
    let setup = on_chain().await;
    let OnChain { network, chain, .. } = &setup;
    for h in read::hotspots(chain).await.unwrap() {
        let cell = h3o::CellIndex::try_from(h.location).unwrap();
        assert_eq!(cell.resolution(), h3o::Resolution::Eight);
        assert_ne!(h.location_commitment, [0; 32]);
    }

    // Another member, restarted: a fresh database and registry.
    let oracle_key = &setup.oracle_key;
    let judge_anew = |lines: Vec<audit::Line>| async move {
        let registry =
            Arc::new(ChainRegistry::new(None, hexproof_proto::clock::Clock::system()).unwrap());
        registry.refresh(chain).await.unwrap();
        let (closed, store, dir) =
            common::golden::judge_and_close(&lines, registry, oracle_key).await;
        let summary = store.verdict_summary().await.unwrap();
        (closed, summary, dir)
    };
    let lines = audit::read_lines(&fixtures_dir().join("reports/net-25.jsonl")).unwrap();
    let (closed, _, _dir) = judge_anew(lines.clone()).await;
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures_dir().join("golden/net-25-epoch-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        hex::encode(closed[0].root),
        golden["merkle_root"].as_str().unwrap()
    );

    // The same reports without their reveals (agents whose owners never set `location`).
    let key_of = |signer: &[u8]| {
        network
            .hotspots
            .iter()
            .find(|h| h.key.pubkey.as_bytes().as_slice() == signer)
            .map(|h| h.key.keypair().unwrap())
    };
    let hidden: Vec<audit::Line> = lines
        .iter()
        .map(|l| {
            let bytes = hex::decode(&l.payload).unwrap();
            let payload = if let Ok(mut b) = BeaconReport::decode(bytes.as_slice())
                && l.topic.contains("/beacons/")
                && let Some(key) = key_of(&b.hotspot)
            {
                b.location = None;
                b.signed(&key).encode_to_vec()
            } else if let Ok(mut w) = WitnessReport::decode(bytes.as_slice())
                && l.topic.contains("/witnesses/")
                && let Some(key) = key_of(&w.witness)
            {
                w.location = None;
                w.signed(&key).encode_to_vec()
            } else {
                bytes
            };
            audit::Line {
                payload: hex::encode(payload),
                ..l.clone()
            }
        })
        .collect();
    let (closed, summary, _dir) = judge_anew(hidden).await;
    assert!(
        !closed.is_empty() && closed.iter().all(|e| e.paid == 0),
        "nothing is paid without reveals"
    );
    let beacons: u64 = summary
        .iter()
        .filter(|(kind, ..)| *kind == hexproof_poc::Kind::Beacon)
        .map(|(.., n)| n)
        .sum();
    let unrevealed: u64 = summary
        .iter()
        .filter(|(_, _, reason, _)| reason.as_deref() == Some("beacon_location_unrevealed"))
        .map(|(.., n)| n)
        .sum();
    assert_eq!((beacons, unrevealed), (25, 25), "{summary:?}");
}
