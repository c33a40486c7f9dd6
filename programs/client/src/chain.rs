//! One way to reach the program: a JSON-RPC endpoint (`Chain::rpc`) or, with the `embedded`
//! feature (demos and tests), an embedded Solana runtime (`Chain::embedded`:
//! solana-program-test's bank with the real SPL Token and Associated Token programs and ours
//! loaded as a native program).

#![cfg_attr(feature = "embedded", allow(deprecated))] // solana-program-test: "Agave Unstable"

#[cfg(feature = "embedded")]
use std::collections::BTreeSet;

use anchor_lang::{
    AccountDeserialize, Discriminator, prelude::Pubkey, solana_program::instruction::Instruction,
};
#[cfg(feature = "embedded")]
use anchor_lang::{prelude::AccountInfo, solana_program::entrypoint::ProgramResult};
use solana_account::Account;
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
#[cfg(feature = "embedded")]
use solana_program_test::{BanksClientError, ProgramTest, ProgramTestContext, processor};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::{
    client_error::Error as RpcError,
    config::{RpcAccountInfoConfig, RpcProgramAccountsConfig},
    filter::{Memcmp, RpcFilterType},
};
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::Transaction;
#[cfg(feature = "embedded")]
use tokio::sync::Mutex;

use hexproof_program::ID;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("RPC: {0}")]
    Rpc(#[from] Box<RpcError>),
    #[cfg(feature = "embedded")]
    #[error("embedded runtime: {0}")]
    Embedded(#[from] Box<BanksClientError>),
    #[error("account {0} does not hold a {1}")]
    Decode(Pubkey, &'static str),
}

impl ChainError {
    /// The program's error code (Anchor: 6000 + variant index; 2000-series constraint
    /// codes; 3000-series account codes) when the transaction failed with a custom error.
    pub fn program_error(&self) -> Option<u32> {
        let shown = format!("{self:?}");
        let start = shown.find("Custom(")? + "Custom(".len();
        shown[start..].split(')').next()?.parse().ok()
    }
}

impl From<RpcError> for ChainError {
    fn from(e: RpcError) -> Self {
        ChainError::Rpc(Box::new(e))
    }
}

#[cfg(feature = "embedded")]
impl From<BanksClientError> for ChainError {
    fn from(e: BanksClientError) -> Self {
        ChainError::Embedded(Box::new(e))
    }
}

/// A Solana cluster holding the hexproof program.
pub struct Chain {
    backend: Backend,
}

enum Backend {
    Rpc(Box<RpcClient>),
    #[cfg(feature = "embedded")]
    Embedded {
        ctx: Box<Mutex<ProgramTestContext>>,
        /// Every account our instructions have named: what `program_accounts` scans (the
        /// embedded runtime has no account index; everything in it came through `send`).
        seen: std::sync::Mutex<BTreeSet<Pubkey>>,
    },
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.backend {
            Backend::Rpc(rpc) => write!(f, "Chain::Rpc({})", rpc.url()),
            #[cfg(feature = "embedded")]
            Backend::Embedded { .. } => write!(f, "Chain::Embedded"),
        }
    }
}

/// Anchor's entry takes one lifetime for the slice and its items; the runtime keeps both
/// alive for the call.
#[cfg(feature = "embedded")]
fn entry(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    #[allow(unsafe_code)]
    // SAFETY: only the lifetime parameters change; the runtime owns the accounts for the call.
    let accounts: &[AccountInfo<'_>] = unsafe { std::mem::transmute(accounts) };
    hexproof_program::entry(program_id, accounts, data)
}

#[cfg(feature = "embedded")]
/// solana-program-test's runtime with the program loaded natively (SPL Token and Associated
/// Token come with it): what [`Chain::embedded`] starts, for callers that drive the bank
/// themselves.
pub fn program_test() -> ProgramTest {
    let mut test = ProgramTest::new("hexproof_program", ID, processor!(entry));
    test.prefer_bpf(false);
    test
}

impl Chain {
    /// A JSON-RPC endpoint, e.g. `http://127.0.0.1:8899` or `https://api.devnet.solana.com`,
    /// where the program is deployed. Waits for confirmation of every transaction.
    pub fn rpc(url: &str) -> Chain {
        Chain {
            backend: Backend::Rpc(Box::new(RpcClient::new_with_commitment(
                url.to_string(),
                CommitmentConfig::confirmed(),
            ))),
        }
    }

    /// A fresh embedded runtime with the program loaded (and SPL Token, Associated Token).
    #[cfg(feature = "embedded")]
    pub async fn embedded() -> Chain {
        let ctx = program_test().start_with_context().await;
        Chain {
            backend: Backend::Embedded {
                ctx: Box::new(Mutex::new(ctx)),
                seen: Default::default(),
            },
        }
    }

    pub fn is_embedded(&self) -> bool {
        #[cfg(feature = "embedded")]
        return matches!(self.backend, Backend::Embedded { .. });
        #[cfg(not(feature = "embedded"))]
        false
    }

    /// Signs with `payer` (fee payer) and `signers`, sends, waits for confirmation.
    pub async fn send(
        &self,
        ixs: &[Instruction],
        payer: &Keypair,
        signers: &[&Keypair],
    ) -> Result<Signature, ChainError> {
        let mut all: Vec<&Keypair> = vec![payer];
        all.extend(signers.iter().filter(|s| s.pubkey() != payer.pubkey()));
        match &self.backend {
            Backend::Rpc(rpc) => {
                let blockhash = rpc.get_latest_blockhash().await?;
                let tx =
                    Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, blockhash);
                Ok(rpc.send_and_confirm_transaction(&tx).await?)
            }
            #[cfg(feature = "embedded")]
            Backend::Embedded { ctx, seen } => {
                {
                    let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                    for ix in ixs.iter().filter(|ix| ix.program_id == ID) {
                        seen.extend(ix.accounts.iter().map(|a| a.pubkey));
                    }
                }
                let ctx = ctx.lock().await;
                let blockhash = ctx.banks_client.get_latest_blockhash().await?;
                let tx =
                    Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, blockhash);
                let signature = tx.signatures[0];
                ctx.banks_client.process_transaction(tx).await?;
                Ok(signature)
            }
        }
    }

    /// An account, if it exists.
    pub async fn account(&self, key: &Pubkey) -> Result<Option<Account>, ChainError> {
        match &self.backend {
            Backend::Rpc(rpc) => Ok(rpc
                .get_account_with_commitment(key, CommitmentConfig::confirmed())
                .await?
                .value),
            #[cfg(feature = "embedded")]
            Backend::Embedded { ctx, .. } => {
                Ok(ctx.lock().await.banks_client.get_account(*key).await?)
            }
        }
    }

    /// Lamports of an account (0 when it does not exist).
    pub async fn balance(&self, key: &Pubkey) -> Result<u64, ChainError> {
        Ok(self.account(key).await?.map_or(0, |a| a.lamports))
    }

    /// An account of the program decoded as `T`, if it exists.
    pub async fn program_account<T: AccountDeserialize>(
        &self,
        key: &Pubkey,
    ) -> Result<Option<T>, ChainError> {
        match self.account(key).await? {
            Some(account) if account.owner == ID => {
                T::try_deserialize(&mut account.data.as_slice())
                    .map(Some)
                    .map_err(|_| ChainError::Decode(*key, std::any::type_name::<T>()))
            }
            _ => Ok(None),
        }
    }

    /// Every account of the program of type `T` (by its discriminator), sorted by address.
    pub async fn program_accounts<T: AccountDeserialize + Discriminator>(
        &self,
    ) -> Result<Vec<(Pubkey, T)>, ChainError> {
        let raw: Vec<(Pubkey, Account)> = match &self.backend {
            Backend::Rpc(rpc) => {
                let config = RpcProgramAccountsConfig {
                    filters: Some(vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
                        0,
                        T::DISCRIMINATOR.to_vec(),
                    ))]),
                    account_config: RpcAccountInfoConfig {
                        encoding: Some(UiAccountEncoding::Base64),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                // The replacement (`get_program_ui_accounts_with_config`) returns UI accounts we
                // would decode back; this one still answers with raw accounts.
                #[allow(deprecated)]
                let accounts = rpc.get_program_accounts_with_config(&ID, config).await?;
                accounts
            }
            #[cfg(feature = "embedded")]
            Backend::Embedded { ctx, seen } => {
                let keys: Vec<Pubkey> = seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .copied()
                    .collect();
                let ctx = ctx.lock().await;
                let mut found = Vec::new();
                for key in keys {
                    if let Some(account) = ctx.banks_client.get_account(key).await? {
                        found.push((key, account));
                    }
                }
                found
            }
        };
        let mut decoded: Vec<(Pubkey, T)> = raw
            .into_iter()
            .filter(|(_, a)| a.owner == ID && a.data.starts_with(T::DISCRIMINATOR))
            .filter_map(|(key, a)| {
                T::try_deserialize(&mut a.data.as_slice())
                    .ok()
                    .map(|t| (key, t))
            })
            .collect();
        decoded.sort_by_key(|(key, _)| *key);
        Ok(decoded)
    }

    /// Gives `to` lamports: from the embedded runtime's funded payer, or an RPC airdrop
    /// (local validators and devnet grant them).
    pub async fn fund(&self, to: &Pubkey, lamports: u64) -> Result<(), ChainError> {
        match &self.backend {
            Backend::Rpc(rpc) => {
                let signature = rpc.request_airdrop(to, lamports).await?;
                loop {
                    if rpc.confirm_transaction(&signature).await? {
                        return Ok(());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
            #[cfg(feature = "embedded")]
            Backend::Embedded { ctx, .. } => {
                let ctx = ctx.lock().await;
                let ix = anchor_lang::solana_program::system_instruction::transfer(
                    &ctx.payer.pubkey(),
                    to,
                    lamports,
                );
                let blockhash = ctx.banks_client.get_latest_blockhash().await?;
                let tx = Transaction::new_signed_with_payer(
                    &[ix],
                    Some(&ctx.payer.pubkey()),
                    &[&ctx.payer],
                    blockhash,
                );
                ctx.banks_client.process_transaction(tx).await?;
                Ok(())
            }
        }
    }

    /// The current slot.
    pub async fn slot(&self) -> Result<u64, ChainError> {
        match &self.backend {
            Backend::Rpc(rpc) => Ok(rpc.get_slot().await?),
            #[cfg(feature = "embedded")]
            Backend::Embedded { ctx, .. } => {
                Ok(ctx.lock().await.banks_client.get_root_slot().await?)
            }
        }
    }
}
