//! One builder per program instruction, with every account the program expects in place.

use anchor_lang::{
    InstructionData, ToAccountMetas, prelude::Pubkey, solana_program::instruction::Instruction,
};
use hexproof_commitment::Deployment;
use hexproof_program::{ID, accounts, instruction};
pub use hexproof_program::{
    instructions::InitializeArgs,
    state::{AntennaBounds, MintWindow},
};

use crate::pda;

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

/// Creates the configuration and the reward mint; `admin` (the program's upgrade authority)
/// signs and pays.
pub fn initialize(admin: &Pubkey, args: InitializeArgs) -> Instruction {
    build(
        accounts::Initialize {
            admin: *admin,
            config: pda::config(),
            mint: pda::mint(),
            program_data: pda::program_data(),
            token_program: anchor_spl::token::ID,
            system_program: anchor_lang::system_program::ID,
        },
        instruction::Initialize { args },
    )
}

/// Registers a hotspot (and the owner's token account, when missing); the hotspot key and the
/// owner both sign, the owner pays.
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
            mint: pda::mint(),
            owner_tokens: pda::owner_tokens(owner),
            token_program: anchor_spl::token::ID,
            associated_token_program: anchor_spl::associated_token::ID,
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

/// The Ed25519 precompile instruction that carries every `(oracle key, signature)` over one
/// shared `message`: the message once, then each key and signature, with offsets that all
/// point into this instruction's own data (the only form the program reads).
pub fn ed25519_signatures(message: &[u8], signatures: &[(Pubkey, [u8; 64])]) -> Instruction {
    /// Count and padding, then one 14-byte offsets record per signature.
    const HEADER: usize = 2;
    const OFFSETS: usize = 14;
    let n = signatures.len();
    let message_at = HEADER + OFFSETS * n;
    let this_instruction = u16::MAX;
    let mut data = Vec::with_capacity(message_at + message.len() + 96 * n);
    data.extend_from_slice(&[n as u8, 0]);
    for i in 0..n {
        let key_at = message_at + message.len() + 96 * i;
        let signature_at = key_at + 32;
        for field in [
            signature_at as u16,
            this_instruction,
            key_at as u16,
            this_instruction,
            message_at as u16,
            message.len() as u16,
            this_instruction,
        ] {
            data.extend_from_slice(&field.to_le_bytes());
        }
    }
    data.extend_from_slice(message);
    for (key, signature) in signatures {
        data.extend_from_slice(key.as_ref());
        data.extend_from_slice(signature);
    }
    Instruction {
        program_id: solana_sdk_ids::ed25519_program::ID,
        accounts: vec![],
        data,
    }
}

/// The Ed25519 instruction carrying every oracle signature over the epoch message, then
/// `submit_epoch`: what one transaction must carry. `signatures` are (oracle key, signature).
pub fn submit_epoch(
    submitter: &Pubkey,
    deployment: &Deployment,
    epoch: u64,
    root: [u8; 32],
    lifetime_total: u64,
    signatures: &[(Pubkey, [u8; 64])],
) -> Vec<Instruction> {
    let message = hexproof_commitment::epoch_message(deployment, epoch, &root, lifetime_total);
    let mut ixs = Vec::with_capacity(2);
    if !signatures.is_empty() {
        ixs.push(ed25519_signatures(&message, signatures));
    }
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

/// Mints a hotspot's unclaimed reward to its owner's token account (which must exist); the
/// transaction's fee payer may be anyone.
pub fn claim(
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
            token_program: anchor_spl::token::ID,
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

/// Proposes a new oracle set and threshold (effective after the delay); the admin signs.
pub fn propose_oracles(admin_key: &Pubkey, oracles: Vec<Pubkey>, threshold: u8) -> Instruction {
    build(
        admin(admin_key),
        instruction::ProposeOracles { oracles, threshold },
    )
}

/// Applies a proposed oracle set once due; anyone may send it.
pub fn apply_oracles() -> Instruction {
    build(
        accounts::Apply {
            config: pda::config(),
        },
        instruction::ApplyOracles {},
    )
}

/// Proposes a new admin (who accepts after the delay); the admin signs.
pub fn propose_admin(admin_key: &Pubkey, new_admin: &Pubkey) -> Instruction {
    build(
        admin(admin_key),
        instruction::ProposeAdmin {
            new_admin: *new_admin,
        },
    )
}

/// The proposed admin takes over once due; it signs.
pub fn accept_admin(new_admin: &Pubkey) -> Instruction {
    build(
        accounts::AcceptAdmin {
            config: pda::config(),
            new_admin: *new_admin,
        },
        instruction::AcceptAdmin {},
    )
}

/// Withdraws pending admin and oracle-set changes; the admin signs.
pub fn cancel_changes(admin_key: &Pubkey) -> Instruction {
    build(admin(admin_key), instruction::CancelChanges {})
}

/// Pauses or resumes onboarding, assertions, transfers, submissions and claims.
pub fn set_paused(admin_key: &Pubkey, paused: bool) -> Instruction {
    build(admin(admin_key), instruction::SetPaused { paused })
}

/// Creates `owner`'s token account of the reward mint (idempotent), paid by `payer`: what an
/// owner whose claims are waiting does (claims never create accounts).
pub fn create_owner_tokens(payer: &Pubkey, owner: &Pubkey) -> Instruction {
    anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
        payer,
        owner,
        &pda::mint(),
        &anchor_spl::token::ID,
    )
}
