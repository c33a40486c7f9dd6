//! The orgs' payers in the one-command run: each burns reward tokens its owner earned for its
//! org's data credits, as an org's payer does on a real network (there is no other way to get
//! credits). An honest payer tops its org up when it runs low; a wash trader burns everything
//! it holds, at once, to be paid for carrying its own traffic.
//!
//! Data enters as the chain's state (the payer's token balance, the org's credits); it leaves
//! as `buy_credits` transactions. Runs until `shutdown`.

use std::{sync::Arc, time::Duration};

use hexproof_client::{Chain, Keypair, Signer, read};
use tokio_util::sync::CancellationToken;

/// How a payer keeps its org in credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Below this many credits, burn enough tokens (as far as it holds them) to double it.
    TopUp(u64),
    /// Burn every token it holds (a wash trader, at the largest scale its earnings allow).
    All,
}

/// One org's payer: its wallets, the first holding enough tokens pays.
#[derive(Debug)]
pub struct Payer {
    pub oui: u64,
    pub buyers: Vec<Keypair>,
    pub keep: Keep,
}

/// Tokens to burn now for `keep`, holding `tokens` with the org at `balance` credits.
pub fn to_burn(keep: Keep, tokens: u64, balance: u64, dc_per_token: u64) -> u64 {
    match keep {
        Keep::All => tokens,
        Keep::TopUp(low) if balance < low => {
            let price = hexproof_commitment::DcPrice { dc_per_token };
            // Enough for 2 × low credits, rounded up to what buys them.
            let want = (2 * low - balance).saturating_mul(hexproof_commitment::TOKEN_BASE_UNITS);
            let tokens_needed = want.div_ceil(dc_per_token.max(1));
            debug_assert!(price.credits_for(tokens_needed) >= 2 * low - balance);
            tokens_needed.min(tokens)
        }
        Keep::TopUp(_) => 0,
    }
}

/// Runs every payer twice a second until `shutdown`. A failed purchase is retried on the next
/// pass (the chain's state is read again first).
pub async fn run(chain: Arc<Chain>, payers: Vec<Payer>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        let Ok(Some(config)) = read::config(&chain).await else {
            continue;
        };
        let price = hexproof_commitment::DcPrice {
            dc_per_token: config.dc_per_token,
        };
        for p in &payers {
            let Ok(Some(org)) = read::org(&chain, p.oui).await else {
                continue;
            };
            for buyer in &p.buyers {
                let Ok(tokens) = read::token_balance(&chain, &buyer.pubkey()).await else {
                    continue;
                };
                let amount = to_burn(p.keep, tokens, org.dc_balance, config.dc_per_token);
                if amount == 0 || price.credits_for(amount) == 0 {
                    continue;
                }
                match oracle::chain::buy_credits(&chain, buyer, p.oui, amount).await {
                    Ok(balance) => {
                        tracing::info!(
                            oui = p.oui,
                            burned = amount,
                            balance,
                            "payer bought credits"
                        );
                        break;
                    }
                    Err(e) => tracing::warn!(oui = p.oui, error = %format!("{e:#}"), "payer"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_top_up_buys_what_doubles_the_low_mark_and_a_wash_trader_burns_everything() {
        // 100,000 credits a token: 10 base units a credit.
        assert_eq!(to_burn(Keep::TopUp(1_000), 1_000_000, 999, 100_000), 10_010);
        assert_eq!(to_burn(Keep::TopUp(1_000), 5, 0, 100_000), 5);
        assert_eq!(to_burn(Keep::TopUp(1_000), 1_000_000, 1_000, 100_000), 0);
        assert_eq!(to_burn(Keep::All, 123, 1 << 40, 100_000), 123);
    }
}
