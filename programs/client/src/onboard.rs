//! Registering many hotspots at once (test networks, demos): each signed by its own key and
//! its owner's, skipping those already registered.

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::{Chain, ChainError, instructions, read};

/// One hotspot to register.
#[derive(Debug)]
pub struct Onboarding<'a> {
    pub hotspot: &'a Keypair,
    pub owner: &'a Keypair,
    /// Resolution-8 cell and the commitment to the exact one.
    pub location: instructions::Location,
    pub gain_ddbi: i32,
    pub elevation_m: i32,
}

/// Registers every hotspot that is not registered yet (owners pay; each distinct owner is
/// funded first, when `fund_lamports` is non-zero, with it plus the onboarding fee of each of
/// its keys). Returns how many were added.
pub async fn onboard_all(
    chain: &Chain,
    hotspots: &[Onboarding<'_>],
    fund_lamports: u64,
) -> Result<usize, ChainError> {
    if fund_lamports > 0 {
        let fee = read::config(chain).await?.map_or(0, |c| c.onboarding_fee);
        let mut keys: BTreeMap<Pubkey, u64> = BTreeMap::new();
        for h in hotspots {
            *keys.entry(h.owner.pubkey()).or_default() += 1;
        }
        for (owner, n) in keys {
            let need = fund_lamports.saturating_add(fee.saturating_mul(n));
            chain.fund(&owner, need).await?;
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
