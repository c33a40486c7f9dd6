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
    let oracle_key = network.oracles[0].keypair().unwrap();
    let payer = solana_keypair(&oracle_key);
    // The oracle's key deployed the program (its upgrade authority) and initializes it.
    let chain = Chain::embedded(&payer.pubkey()).await;
    chain.fund(&payer.pubkey(), 10_000_000_000).await.unwrap();
    let args = chain::init_args(
        &[oracle_key.public()],
        1,
        &rewards(),
        &ClockConfig::default(),
        &limits(),
    );
    chain::initialize(&chain, &payer, args).await.unwrap();
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
    // The registry read back from the chain is the fixture's (regions from locations).
    let fixture = StaticRegistry::from_file(&network.registry(T0)).unwrap();
    for (on_chain, file) in registry.all().iter().zip(fixture.all()) {
        assert_eq!(on_chain.pubkey, file.pubkey);
        assert_eq!(on_chain.owner, file.owner);
        assert_eq!(on_chain.location, file.location);
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
