//! Client of the hexproof Solana program.
//!
//! What goes in: keys, amounts, epochs and proofs from the oracle or a CLI. What comes out:
//! Solana instructions ([`instructions`]), addresses ([`pda`]), decoded program accounts
//! ([`read`]), and transactions sent through a [`Chain`] — either any JSON-RPC endpoint (a
//! local validator, devnet) or, with the `embedded` feature, an embedded Solana runtime
//! (solana-program-test's bank with the real SPL Token and Associated Token programs, our
//! program loaded natively) for demos and tests on machines without a validator.

pub mod chain;
pub mod instructions;
pub mod onboard;
pub mod pda;
pub mod read;
pub mod rent;

pub use anchor_lang::{prelude::Pubkey, solana_program::instruction::Instruction};
#[cfg(feature = "embedded")]
pub use chain::SendFault;
pub use chain::{Chain, ChainError};
pub use hexproof_program::{
    ID as PROGRAM_ID,
    errors::HexproofError,
    state::{
        Config, DevAddrRange, EuiPair, Hotspot, Ledger, Org, Route, RouteArgs, route_id_in_org,
        route_id_of,
    },
};
pub use solana_keypair::Keypair;
pub use solana_signer::Signer;
pub use solana_transaction::Transaction;
