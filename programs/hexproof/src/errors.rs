//! Why an instruction fails.

use anchor_lang::prelude::*;

#[error_code]
pub enum HexproofError {
    #[msg("the program is paused")]
    Paused,
    #[msg("an oracle set holds 1 to 7 distinct keys and a threshold from 1 to their number")]
    BadOracleSet,
    #[msg("a location is an H3 resolution-8 cell and a commitment to the exact cell")]
    BadLocation,
    #[msg("epochs must strictly increase")]
    StaleEpoch,
    #[msg("lifetime total is above what the emission schedule allows up to this epoch")]
    OverEmissionCap,
    /// Retired: a lower total than the previous epoch's is accepted (an inflated total must not
    /// freeze later honest epochs). Kept so that the codes after it do not move.
    #[msg("lifetime total may not decrease (no longer returned)")]
    LifetimeDecreased,
    #[msg("fewer distinct configured oracles signed this epoch than the threshold")]
    NotEnoughOracleSignatures,
    #[msg("the Merkle proof does not lead to the newest root")]
    BadProof,
    #[msg("nothing to claim: the lifetime amount is not above what was claimed")]
    NothingToClaim,
    #[msg("proof is longer than the longest a claim can carry")]
    ProofTooLong,
    #[msg("arithmetic overflow")]
    Overflow,
    #[msg("the epoch has not ended yet by the cluster clock")]
    EpochNotOver,
    #[msg("minting this would exceed the signed lifetime total or the schedule by the clock")]
    OverMintCap,
    #[msg("minting this would exceed the windowed mint limit")]
    MintWindowExceeded,
    #[msg("only the program's upgrade authority may initialize it")]
    NotUpgradeAuthority,
    #[msg("the change is not due yet, or none is pending")]
    ChangeNotDue,
    #[msg("not a usable admin key")]
    BadAdmin,
    #[msg("antenna gain outside the configured bounds")]
    GainOutOfRange,
    #[msg("antenna elevation outside the configured bounds")]
    ElevationOutOfRange,
    #[msg("a configuration value is out of its allowed range")]
    BadConfig,
    #[msg("the pending change lapsed: it was not applied within a week of becoming due")]
    ChangeExpired,
    #[msg("not a usable new owner, or no transfer to this owner is pending")]
    BadTransfer,
    #[msg("the hotspot's rewards belong to another owner: that owner must sign the re-onboarding")]
    PreviousOwnerMustSign,
    #[msg(
        "a route or org value is out of bounds (copies 1-16, at most 8 ranges and 8 EUI pairs, a network server address of 1-128 bytes, ranges that end after they start)"
    )]
    BadRoute,
    #[msg("a route's DevAddr range lies outside every range the admin gave its org")]
    RangeOutsideOrg,
    #[msg("not a usable org owner or payer")]
    BadOrgKey,
    #[msg(
        "the route (or its id's space: the id's high 32 bits are the OUI) belongs to another org"
    )]
    RouteOfAnotherOrg,
    #[msg("the amount buys no data credits at the deployment's price")]
    NoCredits,
    #[msg("the org's charges in the newest root are already settled")]
    NothingToSettle,
}

impl HexproofError {
    /// Every error in code order (its code is 6000 + its place): what a client shows a
    /// refusal's words from.
    pub const ALL: [HexproofError; 29] = [
        HexproofError::Paused,
        HexproofError::BadOracleSet,
        HexproofError::BadLocation,
        HexproofError::StaleEpoch,
        HexproofError::OverEmissionCap,
        HexproofError::LifetimeDecreased,
        HexproofError::NotEnoughOracleSignatures,
        HexproofError::BadProof,
        HexproofError::NothingToClaim,
        HexproofError::ProofTooLong,
        HexproofError::Overflow,
        HexproofError::EpochNotOver,
        HexproofError::OverMintCap,
        HexproofError::MintWindowExceeded,
        HexproofError::NotUpgradeAuthority,
        HexproofError::ChangeNotDue,
        HexproofError::BadAdmin,
        HexproofError::GainOutOfRange,
        HexproofError::ElevationOutOfRange,
        HexproofError::BadConfig,
        HexproofError::ChangeExpired,
        HexproofError::BadTransfer,
        HexproofError::PreviousOwnerMustSign,
        HexproofError::BadRoute,
        HexproofError::RangeOutsideOrg,
        HexproofError::BadOrgKey,
        HexproofError::RouteOfAnotherOrg,
        HexproofError::NoCredits,
        HexproofError::NothingToSettle,
    ];
}

#[cfg(test)]
mod tests {
    use super::HexproofError;

    #[test]
    fn all_lists_every_error_in_code_order() {
        for (i, e) in HexproofError::ALL.iter().enumerate() {
            assert_eq!(*e as usize, i, "{e}");
        }
    }
}
