//! The owner's journey in the one-command run: one hotspot of the network is not onboarded by
//! its owner but by the hotspot agent's `onboard` through a maker (the company that made it),
//! whose wallet pays the fee and the rent: its owner holds no SOL, ever. After the run the
//! agent's `claim` goes through the maker with the explorer's proof (the oracle's chain duty
//! may have claimed first: then it is "done"), and the summary says what the owner holds.
//!
//! Data enters as the network file (which hotspot, its key and its owner's) and leaves as
//! HTTP requests to the maker the demo serves, and a [`NewcomerSummary`].

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use hexproof_client::{Chain, Keypair as SolanaKeypair, read};
use hexproof_fixtures::{Behaviour, Hotspot, Network};
use hexproof_proto::{
    PublicKey,
    maker::{Action, Site},
};
use hotspot_agent::{http::Service, owner};
use oracle::{
    chain::pubkey,
    maker::{Maker, MakerConfig},
};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// What the newcomer's owner went through.
#[derive(Debug, Clone, Serialize)]
pub struct NewcomerSummary {
    pub hotspot: PublicKey,
    pub owner: PublicKey,
    /// How `hotspot-agent onboard` ended.
    pub onboarding: String,
    /// How `hotspot-agent claim` ended (after the run).
    pub claim: String,
    /// The owner's SOL at the end (lamports): none.
    pub owner_lamports: u64,
    /// The owner's reward tokens at the end (base units).
    pub owner_tokens: u64,
    /// What the maker spent (lamports) and the alarms it raised.
    pub maker_spent: u64,
    pub maker_alarms: usize,
}

/// The network's newcomer: the first honest hotspot whose owner owns no other (so that no
/// other onboarding funds its owner).
pub fn pick(network: &Network) -> Option<&Hotspot> {
    network.hotspots.iter().find(|h| {
        h.behaviour == Behaviour::Honest
            && network
                .hotspots
                .iter()
                .filter(|o| o.owner == h.owner)
                .count()
                == 1
    })
}

/// The maker the demo runs, serving on its address until the demo stops.
#[derive(Debug)]
pub struct RunningMaker {
    pub maker: Arc<Maker>,
    pub api: Service,
    pub addr: SocketAddr,
}

/// Starts a maker on `listen` that made `newcomer`, its wallet funded with 10 SOL, and
/// onboards the newcomer through it the way its owner would (`hotspot-agent onboard`).
pub async fn onboard(
    chain: &Arc<Chain>,
    network: &Network,
    newcomer: &Hotspot,
    listen: SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<(RunningMaker, String)> {
    let wallet = SolanaKeypair::new();
    chain
        .fund(&hexproof_client::Signer::pubkey(&wallet), 10_000_000_000)
        .await?;
    let config = MakerConfig {
        metrics_listen: None,
        ..MakerConfig::default()
    };
    let maker = Arc::new(Maker::new(
        chain.clone(),
        wallet,
        vec![newcomer.key.pubkey],
        config,
    ));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("the maker listening on {listen}"))?;
    let addr = listener.local_addr()?;
    tokio::spawn(oracle::maker::service::serve(
        maker.clone(),
        listener,
        shutdown,
    ));
    let api = Service::new("the maker", &format!("http://{addr}"))?;
    let hotspot = newcomer.key.keypair()?;
    let owner = network
        .owners
        .iter()
        .find(|o| o.pubkey == newcomer.owner)
        .context("the newcomer's owner is not in the network file")?
        .keypair()?;
    // The maker and the chain get the resolution-8 cell and a commitment; the swarm's agent
    // reveals the exact cell to the oracles.
    let placed = hexproof_proto::location::placement(
        &hotspot,
        newcomer.asserted_location.parse::<h3o::CellIndex>()?,
    )
    .context("the newcomer's location is not a resolution-12 cell")?;
    let site = Site {
        location: u64::from(placed.public_cell),
        commitment: placed.commitment,
        gain_ddbi: newcomer.gain_ddbi,
        elevation_m: newcomer.elevation_m,
    };
    let action = Action::Onboard {
        hotspot: hotspot.public(),
        owner: owner.public(),
        site,
    };
    let outcome = owner::act(&api, &action, &[&hotspot, &owner]).await?;
    tracing::info!(hotspot = %newcomer.name, %outcome, "newcomer onboarded through its maker");
    Ok((RunningMaker { maker, api, addr }, outcome.to_string()))
}

/// Claims through the maker with the explorer at `explorer` (none: not asked) and says what
/// the owner holds.
pub async fn finish(
    chain: &Chain,
    maker: &RunningMaker,
    newcomer: &Hotspot,
    onboarding: String,
    explorer: Option<SocketAddr>,
) -> anyhow::Result<NewcomerSummary> {
    let claim = match explorer.filter(|a| a.port() != 0) {
        Some(addr) => {
            let explorer = Service::new("the explorer", &format!("http://{addr}"))?;
            match owner::claim(&maker.api, &explorer, &newcomer.key.pubkey).await {
                Ok((_, outcome)) => outcome.to_string(),
                Err(e) => format!("refused: {e}"),
            }
        }
        None => "not asked (the explorer's port is not known)".into(),
    };
    let status = maker.maker.status().await?;
    Ok(NewcomerSummary {
        hotspot: newcomer.key.pubkey,
        owner: newcomer.owner,
        onboarding,
        claim,
        owner_lamports: chain.balance(&pubkey(&newcomer.owner)).await?,
        owner_tokens: read::token_balance(chain, &pubkey(&newcomer.owner)).await?,
        maker_spent: status.spent_today,
        maker_alarms: status.alarms.len(),
    })
}
