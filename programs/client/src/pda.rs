//! The program's addresses: every account it owns is a PDA of fixed seeds.

use anchor_lang::prelude::Pubkey;
use hexproof_program::{
    ID,
    state::{
        CONFIG_SEED, HOTSPOT_SEED, LEDGER_SEED, MINT_SEED, ORG_SEED, ROUTE_SEED, TREASURY_SEED,
    },
};

/// The configuration (also the mint authority).
pub fn config() -> Pubkey {
    Pubkey::find_program_address(&[CONFIG_SEED], &ID).0
}

/// The reward mint.
pub fn mint() -> Pubkey {
    Pubkey::find_program_address(&[MINT_SEED], &ID).0
}

/// The treasury onboarding fees are paid into.
pub fn treasury() -> Pubkey {
    Pubkey::find_program_address(&[TREASURY_SEED], &ID).0
}

/// A hotspot's registry record.
pub fn hotspot(hotspot_key: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[HOTSPOT_SEED, hotspot_key.as_ref()], &ID).0
}

/// A hotspot's claim ledger.
pub fn ledger(hotspot_key: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[LEDGER_SEED, hotspot_key.as_ref()], &ID).0
}

/// The program's data account under the upgradeable loader (it names the upgrade authority).
pub fn program_data() -> Pubkey {
    Pubkey::find_program_address(
        &[ID.as_ref()],
        &anchor_lang::solana_program::bpf_loader_upgradeable::ID,
    )
    .0
}

/// An owner's associated token account of the reward mint.
pub fn owner_tokens(owner: &Pubkey) -> Pubkey {
    anchor_spl::associated_token::get_associated_token_address(owner, &mint())
}

/// An organisation of the packet path.
pub fn org(oui: u64) -> Pubkey {
    Pubkey::find_program_address(&[ORG_SEED, &oui.to_le_bytes()], &ID).0
}

/// A route of the packet path.
pub fn route(id: u64) -> Pubkey {
    Pubkey::find_program_address(&[ROUTE_SEED, &id.to_le_bytes()], &ID).0
}
