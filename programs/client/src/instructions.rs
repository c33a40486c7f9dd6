//! One builder per program instruction, with every account the program expects in place.

use anchor_lang::{
    InstructionData, ToAccountMetas, prelude::Pubkey, solana_program::instruction::Instruction,
};
use hexproof_program::{ID, accounts, instruction};

use crate::pda;

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

/// Creates the configuration and the reward mint; `admin` signs and pays.
pub fn initialize(
    admin: &Pubkey,
    oracles: Vec<Pubkey>,
    threshold: u8,
    initial_emission: u64,
    halving_interval: u64,
) -> Instruction {
    build(
        accounts::Initialize {
            admin: *admin,
            config: pda::config(),
            mint: pda::mint(),
            token_program: anchor_spl::token::ID,
            system_program: anchor_lang::system_program::ID,
        },
        instruction::Initialize {
            oracles,
            threshold,
            initial_emission,
            halving_interval,
        },
    )
}

/// Registers a hotspot; the hotspot key and the owner both sign, the owner pays.
pub fn onboard_hotspot(
    hotspot_key: &Pubkey,
    owner: &Pubkey,
    location: u64,
    gain_ddbi: i32,
    elevation_m: i32,
) -> Instruction {
    build(
        accounts::OnboardHotspot {
            config: pda::config(),
            hotspot_key: *hotspot_key,
            owner: *owner,
            hotspot: pda::hotspot(hotspot_key),
            ledger: pda::ledger(hotspot_key),
            system_program: anchor_lang::system_program::ID,
        },
        instruction::OnboardHotspot {
            location,
            gain_ddbi,
            elevation_m,
        },
    )
}

/// Moves a hotspot or changes its antenna; the owner signs.
pub fn assert_location(
    owner: &Pubkey,
    hotspot_key: &Pubkey,
    location: u64,
    gain_ddbi: i32,
    elevation_m: i32,
) -> Instruction {
    build(
        accounts::AssertLocation {
            config: pda::config(),
            owner: *owner,
            hotspot: pda::hotspot(hotspot_key),
        },
        instruction::AssertLocation {
            location,
            gain_ddbi,
            elevation_m,
        },
    )
}

/// Hands a hotspot to a new owner; the current owner signs.
pub fn transfer_hotspot(owner: &Pubkey, hotspot_key: &Pubkey, new_owner: &Pubkey) -> Instruction {
    build(
        accounts::TransferHotspot {
            config: pda::config(),
            owner: *owner,
            hotspot: pda::hotspot(hotspot_key),
        },
        instruction::TransferHotspot {
            new_owner: *new_owner,
        },
    )
}

/// Closes a hotspot's record (rent back to the owner, who signs); its ledger stays.
pub fn decommission_hotspot(owner: &Pubkey, hotspot_key: &Pubkey) -> Instruction {
    build(
        accounts::DecommissionHotspot {
            owner: *owner,
            hotspot: pda::hotspot(hotspot_key),
        },
        instruction::DecommissionHotspot {},
    )
}

/// One Ed25519 precompile instruction per oracle signature over the epoch message, then
/// `submit_epoch`: what one transaction must carry. `signatures` are (oracle key, signature).
pub fn submit_epoch(
    submitter: &Pubkey,
    epoch: u64,
    root: [u8; 32],
    lifetime_total: u64,
    signatures: &[(Pubkey, [u8; 64])],
) -> Vec<Instruction> {
    let message = hexproof_commitment::epoch_message(&ID.to_bytes(), epoch, &root, lifetime_total);
    let mut ixs: Vec<Instruction> = signatures
        .iter()
        .map(|(oracle, signature)| {
            let ix = solana_ed25519_program::new_ed25519_instruction_with_signature(
                &message,
                signature,
                &oracle.to_bytes(),
            );
            Instruction {
                program_id: ix.program_id,
                accounts: vec![],
                data: ix.data,
            }
        })
        .collect();
    ixs.push(build(
        accounts::SubmitEpoch {
            config: pda::config(),
            instructions: solana_sdk_ids::sysvar::instructions::ID,
            submitter: *submitter,
        },
        instruction::SubmitEpoch {
            epoch,
            root,
            lifetime_total,
        },
    ));
    ixs
}

/// Mints a hotspot's unclaimed reward to its owner's token account (created if needed);
/// `payer` (anyone) signs and pays.
pub fn claim(
    payer: &Pubkey,
    hotspot_key: &Pubkey,
    owner: &Pubkey,
    lifetime_amount: u64,
    proof: Vec<[u8; 32]>,
) -> Instruction {
    build(
        accounts::Claim {
            config: pda::config(),
            hotspot: pda::hotspot(hotspot_key),
            ledger: pda::ledger(hotspot_key),
            owner: *owner,
            mint: pda::mint(),
            owner_tokens: pda::owner_tokens(owner),
            payer: *payer,
            token_program: anchor_spl::token::ID,
            associated_token_program: anchor_spl::associated_token::ID,
            system_program: anchor_lang::system_program::ID,
        },
        instruction::Claim {
            lifetime_amount,
            proof,
        },
    )
}

fn admin(admin: &Pubkey) -> accounts::Admin {
    accounts::Admin {
        config: pda::config(),
        admin: *admin,
    }
}

/// Replaces the oracle set and threshold; the admin signs.
pub fn set_oracles(admin_key: &Pubkey, oracles: Vec<Pubkey>, threshold: u8) -> Instruction {
    build(
        admin(admin_key),
        instruction::SetOracles { oracles, threshold },
    )
}

/// Hands the admin role over; the admin signs.
pub fn transfer_admin(admin_key: &Pubkey, new_admin: &Pubkey) -> Instruction {
    build(
        admin(admin_key),
        instruction::TransferAdmin {
            new_admin: *new_admin,
        },
    )
}

/// Pauses or resumes onboarding, assertions, transfers, submissions and claims.
pub fn set_paused(admin_key: &Pubkey, paused: bool) -> Instruction {
    build(admin(admin_key), instruction::SetPaused { paused })
}
