//! The demo's chain bootstrap: the program initialized with the network's first oracle as admin
//! and its oracle set (one signer, or M of N), and every hotspot of the fixture network
//! onboarded by its owner.

use anyhow::Context;
use h3o::CellIndex;
use hexproof_client::{
    Chain, Keypair,
    instructions::Location,
    onboard::{Onboarding, onboard_all},
    read,
};
use hexproof_fixtures::Network;
use oracle::{
    chain::{self, solana_keypair},
    config::Config,
};

/// Onboards every hotspot of a fixture network that is not registered yet (owners pay; each
/// owner is funded with `fund_lamports` first when non-zero). Returns how many were added.
pub async fn onboard_network(
    chain: &Chain,
    network: &Network,
    fund_lamports: u64,
) -> anyhow::Result<usize> {
    let keys: Vec<(Keypair, Keypair, Location, i32, i32)> = network
        .hotspots
        .iter()
        .map(|h| {
            let owner = network
                .owners
                .iter()
                .find(|o| o.pubkey == h.owner)
                .with_context(|| format!("owner of {} is not in the network file", h.name))?;
            let location: CellIndex = h.asserted_location.parse()?;
            let key = h.key.keypair()?;
            let location = Location::of(&key, location)
                .with_context(|| format!("{}: not a resolution-12 cell", h.name))?;
            Ok((
                solana_keypair(&key),
                solana_keypair(&owner.keypair()?),
                location,
                h.gain_ddbi,
                h.elevation_m,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let hotspots: Vec<Onboarding<'_>> = keys
        .iter()
        .map(
            |(hotspot, owner, location, gain_ddbi, elevation_m)| Onboarding {
                hotspot,
                owner,
                location: *location,
                gain_ddbi: *gain_ddbi,
                elevation_m: *elevation_m,
            },
        )
        .collect();
    Ok(onboard_all(chain, &hotspots, fund_lamports).await?)
}

/// Initializes the program (the network's first oracle, the program's upgrade authority in the
/// embedded runtime, is admin; its first `oracles` oracles sign, `threshold` of them per
/// epoch) unless it is, and onboards the network's hotspots that are not registered yet, but
/// `except` (which its maker onboards: [`crate::newcomer`]).
pub async fn prepare(
    chain: &Chain,
    network: &Network,
    config: &Config,
    (oracles, threshold): (usize, u8),
    except: Option<&hexproof_proto::PublicKey>,
) -> anyhow::Result<()> {
    let oracle = network.oracles[0].keypair()?;
    let payer = solana_keypair(&oracle);
    let set: Vec<_> = network
        .oracles
        .iter()
        .take(oracles.max(1))
        .map(|o| o.pubkey)
        .collect();
    if chain.is_embedded() {
        for key in &set {
            chain.fund(&chain::pubkey(key), 1_000_000_000_000).await?;
        }
    }
    if read::config(chain).await?.is_none() {
        let args = chain::init_args(
            &set,
            threshold,
            &config.rewards,
            &config.clock,
            &config.validation,
        );
        chain::initialize(chain, &payer, args).await?;
    }
    let fund = if chain.is_embedded() {
        1_000_000_000
    } else {
        0
    };
    let mut network = network.clone();
    network.hotspots.retain(|h| Some(&h.key.pubkey) != except);
    let added = onboard_network(chain, &network, fund).await?;
    tracing::info!(added, "hotspots onboarded on chain");
    Ok(())
}

/// Puts `routes`' orgs (created by the admin, the first oracle's key, which owns them too)
/// and routes on chain, unless there already.
pub async fn put_routes(
    chain: &Chain,
    network: &Network,
    routes: &oracle::router::RoutesFile,
) -> anyhow::Result<()> {
    let admin = solana_keypair(&network.oracles[0].keypair()?);
    let owner = network.oracles[0].pubkey;
    for org in &routes.orgs {
        if chain
            .account(&hexproof_client::pda::org(org.oui))
            .await?
            .is_none()
        {
            let dev_addrs: Vec<(u32, u32)> = routes
                .routes
                .iter()
                .filter(|r| r.oui == org.oui)
                .flat_map(|r| r.dev_addrs.iter().copied())
                .collect();
            chain::create_org(chain, &admin, org.oui, &owner, &owner, &dev_addrs).await?;
        }
    }
    for route in &routes.routes {
        chain::set_route(chain, &admin, route).await?;
    }
    Ok(())
}
