//! Registering many hotspots at once (test networks, demos): each signed by its own key and
//! its owner's, skipping those already registered.

use anchor_lang::prelude::Pubkey;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::{Chain, ChainError, instructions, read};

/// One hotspot to register.
#[derive(Debug)]
pub struct Onboarding<'a> {
    pub hotspot: &'a Keypair,
    pub owner: &'a Keypair,
    /// H3 resolution-12 cell.
    pub location: u64,
    pub gain_ddbi: i32,
    pub elevation_m: i32,
}

/// Registers every hotspot that is not registered yet (owners pay; each distinct owner is
/// funded with `fund_lamports` first when non-zero). Returns how many were added.
pub async fn onboard_all(
    chain: &Chain,
    hotspots: &[Onboarding<'_>],
    fund_lamports: u64,
) -> Result<usize, ChainError> {
    if fund_lamports > 0 {
        let mut owners: Vec<Pubkey> = hotspots.iter().map(|h| h.owner.pubkey()).collect();
        owners.sort();
        owners.dedup();
        for owner in owners {
            chain.fund(&owner, fund_lamports).await?;
        }
    }
    let mut added = 0;
    for h in hotspots {
        let key = h.hotspot.pubkey();
        if read::hotspot(chain, &key).await?.is_some() {
            continue;
        }
        let ix = instructions::onboard_hotspot(
            &key,
            &h.owner.pubkey(),
            h.location,
            h.gain_ddbi,
            h.elevation_m,
        );
        chain.send(&[ix], h.owner, &[h.hotspot]).await?;
        added += 1;
    }
    Ok(added)
}
