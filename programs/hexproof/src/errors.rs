//! Why an instruction fails.

use anchor_lang::prelude::*;

#[error_code]
pub enum HexproofError {
    #[msg("the program is paused")]
    Paused,
    #[msg("an oracle set holds 1 to 7 distinct keys and a threshold from 1 to their number")]
    BadOracleSet,
    #[msg("not an H3 resolution-12 cell")]
    BadLocation,
    #[msg("epochs must strictly increase")]
    StaleEpoch,
    #[msg("lifetime total is above what the emission schedule allows up to this epoch")]
    OverEmissionCap,
    #[msg("lifetime total may not decrease")]
    LifetimeDecreased,
    #[msg("fewer distinct configured oracles signed this epoch than the threshold")]
    NotEnoughOracleSignatures,
    #[msg("the Merkle proof does not lead to the newest root")]
    BadProof,
    #[msg("nothing to claim: the lifetime amount is not above what was claimed")]
    NothingToClaim,
    #[msg("proof is longer than 32 hashes")]
    ProofTooLong,
    #[msg("arithmetic overflow")]
    Overflow,
}
