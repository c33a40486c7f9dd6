//! The program's state as the client sees it.

use anchor_lang::prelude::Pubkey;
use hexproof_program::state::{Config, Hotspot, Ledger, Org, Route};

use crate::{Chain, ChainError, pda};

/// The configuration, if the program was initialized.
pub async fn config(chain: &Chain) -> Result<Option<Config>, ChainError> {
    chain.program_account(&pda::config()).await
}

/// A hotspot's record, if it is registered.
pub async fn hotspot(chain: &Chain, hotspot_key: &Pubkey) -> Result<Option<Hotspot>, ChainError> {
    chain.program_account(&pda::hotspot(hotspot_key)).await
}

/// A hotspot key's claim ledger (who claims pay, what was paid), if it was ever onboarded.
pub async fn ledger(chain: &Chain, hotspot_key: &Pubkey) -> Result<Option<Ledger>, ChainError> {
    chain.program_account(&pda::ledger(hotspot_key)).await
}

/// What a hotspot has been paid so far (0 if it never claimed or is unknown).
pub async fn claimed(chain: &Chain, hotspot_key: &Pubkey) -> Result<u64, ChainError> {
    Ok(ledger(chain, hotspot_key).await?.map_or(0, |l| l.claimed))
}

/// Every registered hotspot, sorted by record address.
pub async fn hotspots(chain: &Chain) -> Result<Vec<Hotspot>, ChainError> {
    Ok(chain
        .program_accounts::<Hotspot>()
        .await?
        .into_iter()
        .map(|(_, h)| h)
        .collect())
}

/// An owner's balance of the reward token (0 without a token account).
pub async fn token_balance(chain: &Chain, owner: &Pubkey) -> Result<u64, ChainError> {
    Ok(match chain.account(&pda::owner_tokens(owner)).await? {
        // SPL token account layout: mint (32), owner (32), amount (u64 LE).
        Some(account) if account.data.len() >= 72 => {
            let mut amount = [0u8; 8];
            amount.copy_from_slice(&account.data[64..72]);
            u64::from_le_bytes(amount)
        }
        _ => 0,
    })
}

/// Every org of the packet path, sorted by record address.
pub async fn orgs(chain: &Chain) -> Result<Vec<Org>, ChainError> {
    Ok(chain
        .program_accounts::<Org>()
        .await?
        .into_iter()
        .map(|(_, o)| o)
        .collect())
}

/// Org `oui`'s record (its data credits included), if it exists.
pub async fn org(chain: &Chain, oui: u64) -> Result<Option<Org>, ChainError> {
    chain.program_account(&pda::org(oui)).await
}

/// Every route of the packet path, sorted by record address.
pub async fn routes(chain: &Chain) -> Result<Vec<Route>, ChainError> {
    Ok(chain
        .program_accounts::<Route>()
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}
