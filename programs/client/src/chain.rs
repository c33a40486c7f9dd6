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
    #[error("transaction of {0} bytes exceeds Solana's {PACKET_DATA_SIZE}-byte packet")]
    TooLarge(usize),
    /// Applied and failed on chain (found when it was sent again: the cluster had it).
    #[error("the transaction failed on chain: {0}")]
    Failed(String),
    /// A fault injected into an embedded runtime ([`Chain::inject_faults`]).
    #[cfg(feature = "embedded")]
    #[error("simulated network fault: {0:?}")]
    Injected(SendFault),
}

/// What a flaky network does to a transaction, for fault-injection tests on the embedded
/// runtime ([`Chain::inject_faults`]). The sender sees an error either way; only the chain
/// knows whether the transaction was applied.
#[cfg(feature = "embedded")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFault {
    /// Never reaches the cluster (RPC unreachable, dropped before a leader took it).
    Dropped,
    /// Applied by the cluster; the confirmation never comes back.
    ReplyLost,
    /// Refused for its blockhash, as a cluster refuses one older than ~150 slots ("Blockhash
    /// not found"): only signing again, over a new blockhash, gets it in.
    BlockhashExpired,
}

/// The most a serialized transaction may take on a cluster (one UDP packet: 1,280-byte IPv6
/// MTU less headers). The embedded bank does not enforce it; [`Chain::send`] does, everywhere.
pub const PACKET_DATA_SIZE: usize = 1_232;

/// A transaction's size on the wire: its signatures (a compact-u16 count, 64 bytes each), then
/// its message.
pub fn wire_size(tx: &Transaction) -> usize {
    let n = tx.signatures.len();
    let count_len = if n < 0x80 {
        1
    } else if n < 0x4000 {
        2
    } else {
        3
    };
    count_len + 64 * n + tx.message_data().len()
}

/// Refuses a transaction no cluster would take.
pub fn check_size(tx: &Transaction) -> Result<(), ChainError> {
    let size = wire_size(tx);
    if size > PACKET_DATA_SIZE {
        return Err(ChainError::TooLarge(size));
    }
    Ok(())
}

/// Whether an error says the cluster has this transaction already.
fn already_processed(shown: &str) -> bool {
    shown.contains("AlreadyProcessed")
}

impl ChainError {
    /// Whether the cluster refused the transaction for its blockhash ("Blockhash not
    /// found"): only signing it again over a new one gets the instructions in.
    pub fn blockhash_expired(&self) -> bool {
        let shown = format!("{self:?}");
        [
            "BlockhashNotFound",
            "Blockhash not found",
            "BlockhashExpired",
        ]
        .iter()
        .any(|s| shown.contains(s))
    }

    /// Whether the cluster refused or failed the transaction itself (a program error, an
    /// account or fee problem): sending it again would not help.
    pub fn refused(&self) -> bool {
        if self.blockhash_expired() {
            return false;
        }
        let shown = format!("{self:?}");
        self.program_error().is_some()
            || matches!(self, ChainError::Failed(_) | ChainError::TooLarge(_))
            || ["TransactionError", "InstructionError", "InsufficientFunds"]
                .iter()
                .any(|s| shown.contains(s))
    }

    /// Whether the cluster may not have seen the transaction, or its answer was lost ("unable
    /// to confirm", a dropped connection, a node behind): neither refused nor expired, so the
    /// same signed transaction may be sent again (the cluster applies it at most once).
    pub fn unreachable(&self) -> bool {
        !self.refused() && !self.blockhash_expired()
    }

    /// The program's error code (Anchor: 6000 + variant index; 2000-series constraint
    /// codes; 3000-series account codes) when the transaction failed with a custom error.
    pub fn program_error(&self) -> Option<u32> {
        let shown = format!("{self:?}");
        let start = shown.find("Custom(")? + "Custom(".len();
        shown[start..].split(')').next()?.parse().ok()
    }

    /// Whether the transaction failed with this error of the program.
    pub fn is(&self, e: hexproof_program::errors::HexproofError) -> bool {
        self.program_error() == Some(6000 + e as u32)
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
    /// Compute-unit price every transaction offers (micro-lamports per CU; 0: none).
    priority_fee: u64,
}

enum Backend {
    Rpc(Box<RpcClient>),
    #[cfg(feature = "embedded")]
    Embedded {
        ctx: Box<Mutex<ProgramTestContext>>,
        /// Every account our instructions have named: what `program_accounts` scans (the
        /// embedded runtime has no account index; everything in it came through `send`).
        seen: std::sync::Mutex<BTreeSet<Pubkey>>,
        /// Faults the next sends meet, in order ([`Chain::inject_faults`]).
        faults: std::sync::Mutex<std::collections::VecDeque<SendFault>>,
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
pub fn program_test(upgrade_authority: &Pubkey) -> ProgramTest {
    let mut test = ProgramTest::new("hexproof_program", ID, processor!(entry));
    test.prefer_bpf(false);
    test.add_account(
        crate::pda::program_data(),
        Account {
            lamports: 1_000_000_000,
            data: program_data(upgrade_authority),
            owner: anchor_lang::solana_program::bpf_loader_upgradeable::ID,
            executable: false,
            rent_epoch: 0,
        },
    );
    test
}

/// The upgradeable loader's `ProgramData` state naming `authority` (bincode: the variant index
/// 3 as u32, the deployment slot, then `Some(authority)`), with no program bytes after it: the
/// natively loaded program has none, and the program only reads the authority.
#[cfg(feature = "embedded")]
fn program_data(authority: &Pubkey) -> Vec<u8> {
    let mut data = Vec::with_capacity(45);
    data.extend_from_slice(&3u32.to_le_bytes());
    data.extend_from_slice(&0u64.to_le_bytes());
    data.push(1);
    data.extend_from_slice(authority.as_ref());
    data
}

/// The fault the next send meets: an error now when it never reaches the cluster, or one to
/// report after the transaction is applied.
#[cfg(feature = "embedded")]
fn next_fault(
    faults: &std::sync::Mutex<std::collections::VecDeque<SendFault>>,
) -> Result<Option<SendFault>, ChainError> {
    let fault = faults.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
    match fault {
        Some(f @ (SendFault::Dropped | SendFault::BlockhashExpired)) => {
            Err(ChainError::Injected(f))
        }
        other => Ok(other),
    }
}

/// Records the program's accounts a transaction names (what `program_accounts` scans).
#[cfg(feature = "embedded")]
fn remember<'a>(
    seen: &std::sync::Mutex<BTreeSet<Pubkey>>,
    accounts: impl Iterator<Item = &'a Pubkey>,
) {
    seen.lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(accounts.copied());
}

/// Moves the bank's clock to the wall clock (a live cluster's time advances; the test bank's
/// does not on its own), never backwards.
#[cfg(feature = "embedded")]
async fn follow_wall_clock(ctx: &ProgramTestContext) -> Result<(), ChainError> {
    use anchor_lang::prelude::Clock;
    let mut clock: Clock = ctx.banks_client.get_sysvar().await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if now > clock.unix_timestamp {
        clock.unix_timestamp = now;
        ctx.set_sysvar(&clock);
    }
    Ok(())
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
            priority_fee: 0,
        }
    }

    /// Every transaction sent from now on offers this compute-unit price (micro-lamports per
    /// CU) in a `SetComputeUnitPrice` instruction before its own: a priority fee, what a busy
    /// cluster needs to include it. Every transaction the client builds fits the packet with it.
    pub fn with_priority_fee(mut self, micro_lamports_per_cu: u64) -> Chain {
        self.priority_fee = micro_lamports_per_cu;
        self
    }

    /// A fresh embedded runtime with the program loaded (and SPL Token, Associated Token),
    /// `upgrade_authority` as the program's upgrade authority (the one key that may initialize
    /// it). Its clock follows the wall clock, as a live cluster's does.
    #[cfg(feature = "embedded")]
    pub async fn embedded(upgrade_authority: &Pubkey) -> Chain {
        let ctx = program_test(upgrade_authority).start_with_context().await;
        Chain {
            backend: Backend::Embedded {
                ctx: Box::new(Mutex::new(ctx)),
                seen: Default::default(),
                faults: Default::default(),
            },
            priority_fee: 0,
        }
    }

    /// Moves an embedded runtime's clock forward to `unix_timestamp` (tests replaying recorded
    /// time); from then on it follows the wall clock once that is later. No-op over RPC.
    #[cfg(feature = "embedded")]
    pub async fn warp_clock(&self, unix_timestamp: i64) -> Result<(), ChainError> {
        if let Backend::Embedded { ctx, .. } = &self.backend {
            let ctx = ctx.lock().await;
            let mut clock: anchor_lang::prelude::Clock = ctx.banks_client.get_sysvar().await?;
            if unix_timestamp > clock.unix_timestamp {
                clock.unix_timestamp = unix_timestamp;
                ctx.set_sysvar(&clock);
            }
        }
        Ok(())
    }

    /// Makes the next sends of an embedded runtime meet `faults`, one each, in order (the
    /// sends after them go through). No-op over RPC.
    #[cfg(feature = "embedded")]
    pub fn inject_faults(&self, faults: &[SendFault]) {
        if let Backend::Embedded { faults: queue, .. } = &self.backend {
            queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(faults.iter().copied());
        }
    }

    pub fn is_embedded(&self) -> bool {
        #[cfg(feature = "embedded")]
        return matches!(self.backend, Backend::Embedded { .. });
        #[cfg(not(feature = "embedded"))]
        false
    }

    /// An unsigned transaction of `ixs` (after the priority fee, when set) paid by `payer`
    /// over a recent blockhash, for signers elsewhere: signed, it goes to [`Chain::submit`].
    pub async fn unsigned(
        &self,
        ixs: &[Instruction],
        payer: &Pubkey,
    ) -> Result<Transaction, ChainError> {
        let mut all = Vec::with_capacity(ixs.len() + 1);
        if self.priority_fee > 0 {
            all.push(crate::instructions::priority_fee(self.priority_fee));
        }
        all.extend(ixs.iter().cloned());
        let mut tx = Transaction::new_with_payer(&all, Some(payer));
        tx.message.recent_blockhash = match &self.backend {
            Backend::Rpc(rpc) => rpc.get_latest_blockhash().await?,
            #[cfg(feature = "embedded")]
            Backend::Embedded { ctx, .. } => {
                ctx.lock().await.banks_client.get_latest_blockhash().await?
            }
        };
        check_size(&tx)?;
        Ok(tx)
    }

    /// Sends a transaction signed elsewhere (every signature in place), after checking the
    /// packet limit; waits for confirmation. A transaction the cluster already applied
    /// (sent again after a lost reply) counts as sent.
    pub async fn submit(&self, tx: &Transaction) -> Result<Signature, ChainError> {
        check_size(tx)?;
        let signature = tx.signatures.first().copied().unwrap_or_default();
        match &self.backend {
            Backend::Rpc(rpc) => match rpc.send_and_confirm_transaction(tx).await {
                Ok(s) => Ok(s),
                Err(e) if already_processed(&format!("{e:?}")) => {
                    // The cluster has it: how did it end?
                    match rpc.get_signature_status(&signature).await? {
                        Some(Err(failed)) => Err(ChainError::Failed(format!("{failed:?}"))),
                        _ => Ok(signature),
                    }
                }
                Err(e) => Err(e.into()),
            },
            #[cfg(feature = "embedded")]
            Backend::Embedded { ctx, seen, faults } => {
                let fault = next_fault(faults)?;
                let keys = &tx.message.account_keys;
                remember(
                    seen,
                    tx.message
                        .instructions
                        .iter()
                        .filter(|ix| keys.get(usize::from(ix.program_id_index)) == Some(&ID))
                        .flat_map(|ix| {
                            ix.accounts.iter().filter_map(|&i| keys.get(usize::from(i)))
                        }),
                );
                let ctx = ctx.lock().await;
                follow_wall_clock(&ctx).await?;
                match ctx.banks_client.process_transaction(tx.clone()).await {
                    Ok(()) => {}
                    Err(e) if already_processed(&format!("{e:?}")) => {
                        // The bank has it: how did it end?
                        let status = ctx.banks_client.get_transaction_status(signature).await?;
                        if let Some(failed) = status.and_then(|s| s.err) {
                            return Err(ChainError::Failed(format!("{failed:?}")));
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
                if let Some(fault) = fault {
                    return Err(ChainError::Injected(fault));
                }
                Ok(signature)
            }
        }
    }

    /// Signs with `payer` (fee payer) and `signers`, checks the packet limit, sends, waits for
    /// confirmation.
    pub async fn send(
        &self,
        ixs: &[Instruction],
        payer: &Keypair,
        signers: &[&Keypair],
    ) -> Result<Signature, ChainError> {
        let mut all: Vec<&Keypair> = vec![payer];
        all.extend(signers.iter().filter(|s| s.pubkey() != payer.pubkey()));
        let with_fee: Vec<Instruction>;
        let ixs = if self.priority_fee > 0 {
            with_fee = std::iter::once(crate::instructions::priority_fee(self.priority_fee))
                .chain(ixs.iter().cloned())
                .collect();
            &with_fee[..]
        } else {
            ixs
        };
        match &self.backend {
            Backend::Rpc(rpc) => {
                let blockhash = rpc.get_latest_blockhash().await?;
                let tx =
                    Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, blockhash);
                check_size(&tx)?;
                Ok(rpc.send_and_confirm_transaction(&tx).await?)
            }
            #[cfg(feature = "embedded")]
            Backend::Embedded { ctx, seen, faults } => {
                let fault = next_fault(faults)?;
                remember(
                    seen,
                    ixs.iter()
                        .filter(|ix| ix.program_id == ID)
                        .flat_map(|ix| ix.accounts.iter().map(|a| &a.pubkey)),
                );
                let ctx = ctx.lock().await;
                follow_wall_clock(&ctx).await?;
                let blockhash = ctx.banks_client.get_latest_blockhash().await?;
                let tx =
                    Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, blockhash);
                check_size(&tx)?;
                let signature = tx.signatures[0];
                ctx.banks_client.process_transaction(tx).await?;
                if let Some(fault) = fault {
                    return Err(ChainError::Injected(fault));
                }
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
            Backend::Embedded { ctx, seen, .. } => {
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
