//! One builder per program instruction, with every account the program expects in place.

use anchor_lang::{
    InstructionData, ToAccountMetas, prelude::Pubkey, solana_program::instruction::Instruction,
};
use hexproof_commitment::Deployment;
use hexproof_program::{ID, accounts, instruction};
pub use hexproof_program::{
    instructions::InitializeArgs,
    state::{AntennaBounds, DevAddrRange, EuiPair, MintWindow, RouteArgs},
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

/// Where a hotspot is, as the chain holds it: a resolution-8 cell and a commitment to the exact
/// cell (`hexproof_proto::location::placement` makes both from the hotspot key and the cell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    pub cell: u64,
    pub commitment: [u8; 32],
}

impl From<hexproof_proto::location::Placement> for Location {
    fn from(p: hexproof_proto::location::Placement) -> Self {
        Location {
            cell: u64::from(p.public_cell),
            commitment: p.commitment,
        }
    }
}

impl Location {
    /// Where `hotspot`'s key places the exact resolution-12 `cell` on chain; `None` for a cell
    /// of another resolution.
    pub fn of(hotspot: &hexproof_proto::Keypair, cell: h3o::CellIndex) -> Option<Self> {
        hexproof_proto::location::placement(hotspot, cell).map(Self::from)
    }
}

/// Registers a hotspot (and the owner's token account, when missing); the hotspot key and the
/// owner both sign, the owner pays.
pub fn onboard_hotspot(
    hotspot_key: &Pubkey,
    owner: &Pubkey,
    location: Location,
    gain_ddbi: i32,
    elevation_m: i32,
) -> Instruction {
    reonboard_hotspot(hotspot_key, owner, None, location, gain_ddbi, elevation_m)
}

/// [`onboard_hotspot`] paid for by `payer` (a maker onboarding hardware it made): the fee and
/// the rent of the hotspot's accounts and of the owner's token account are the payer's, so
/// the owner (who still signs) needs no SOL.
pub fn onboard_hotspot_paid_by(
    hotspot_key: &Pubkey,
    owner: &Pubkey,
    payer: &Pubkey,
    location: Location,
    gain_ddbi: i32,
    elevation_m: i32,
) -> Instruction {
    onboarding(
        hotspot_key,
        owner,
        payer,
        None,
        (location, gain_ddbi, elevation_m),
    )
}

/// [`onboard_hotspot`] of a decommissioned key under a new owner: `previous_owner` (the owner
/// its ledger names) signs too, handing over what it has not claimed.
pub fn reonboard_hotspot(
    hotspot_key: &Pubkey,
    owner: &Pubkey,
    previous_owner: Option<&Pubkey>,
    location: Location,
    gain_ddbi: i32,
    elevation_m: i32,
) -> Instruction {
    onboarding(
        hotspot_key,
        owner,
        owner,
        previous_owner,
        (location, gain_ddbi, elevation_m),
    )
}

fn onboarding(
    hotspot_key: &Pubkey,
    owner: &Pubkey,
    payer: &Pubkey,
    previous_owner: Option<&Pubkey>,
    (location, gain_ddbi, elevation_m): (Location, i32, i32),
) -> Instruction {
    build(
        accounts::OnboardHotspot {
            config: pda::config(),
            hotspot_key: *hotspot_key,
            owner: *owner,
            payer: *payer,
            previous_owner: previous_owner.copied(),
            hotspot: pda::hotspot(hotspot_key),
            ledger: pda::ledger(hotspot_key),
            mint: pda::mint(),
            owner_tokens: pda::owner_tokens(owner),
            treasury: pda::treasury(),
            token_program: anchor_spl::token::ID,
            associated_token_program: anchor_spl::associated_token::ID,
            system_program: anchor_lang::system_program::ID,
        },
        instruction::OnboardHotspot {
            location: location.cell,
            location_commitment: location.commitment,
            gain_ddbi,
            elevation_m,
        },
    )
}

/// Moves a hotspot or changes its antenna; the owner signs.
pub fn assert_location(
    owner: &Pubkey,
    hotspot_key: &Pubkey,
    location: Location,
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
            location: location.cell,
            location_commitment: location.commitment,
            gain_ddbi,
            elevation_m,
        },
    )
}

/// Offers a hotspot to a new owner (who accepts with [`accept_hotspot`]); the current owner
/// signs.
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

/// Takes a hotspot offered to `new_owner`, who signs and pays for its token account if missing.
pub fn accept_hotspot(new_owner: &Pubkey, hotspot_key: &Pubkey) -> Instruction {
    build(
        accounts::AcceptHotspot {
            config: pda::config(),
            new_owner: *new_owner,
            hotspot: pda::hotspot(hotspot_key),
            ledger: pda::ledger(hotspot_key),
            mint: pda::mint(),
            new_owner_tokens: pda::owner_tokens(new_owner),
            token_program: anchor_spl::token::ID,
            associated_token_program: anchor_spl::associated_token::ID,
            system_program: anchor_lang::system_program::ID,
        },
        instruction::AcceptHotspot {},
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
/// `submit_epoch`: what one transaction must carry. `signatures` are (oracle key, signature);
/// any fee payer may send it.
pub fn submit_epoch(
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
        },
        instruction::SubmitEpoch {
            epoch,
            root,
            lifetime_total,
        },
    ));
    ixs
}

/// Mints a hotspot's unclaimed reward (as much as the program's bounds allow now) to the
/// owner its ledger names, into that owner's token account (which must exist); the
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

/// Records that a hotspot's leaf in the newest root is below what it was paid (a superseded
/// root overpaid it), so that the cap does not leave honest owners short; anyone may send it.
pub fn sync_ledger(
    hotspot_key: &Pubkey,
    lifetime_amount: u64,
    proof: Vec<[u8; 32]>,
) -> Instruction {
    build(
        accounts::SyncLedger {
            config: pda::config(),
            ledger: pda::ledger(hotspot_key),
        },
        instruction::SyncLedger {
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

/// What the current set's members sign to approve the pending oracle set of `config`.
pub fn oracle_set_approval(config: &hexproof_program::state::Config) -> Vec<u8> {
    let keys: Vec<[u8; 32]> = config
        .pending_oracles
        .iter()
        .map(|k| k.to_bytes())
        .collect();
    hexproof_commitment::oracle_set_message(
        &config.deployment(),
        &keys,
        config.pending_threshold,
        config.pending_oracles_at,
    )
    .to_vec()
}

/// Applies a proposed oracle set once due, with the current set's `approvals` (oracle key,
/// signature over [`oracle_set_approval`]'s `message`) in an Ed25519 instruction before it;
/// anyone may send it.
pub fn apply_oracles(message: &[u8], approvals: &[(Pubkey, [u8; 64])]) -> Vec<Instruction> {
    let mut ixs = Vec::with_capacity(2);
    if !approvals.is_empty() {
        ixs.push(ed25519_signatures(message, approvals));
    }
    ixs.push(build(
        accounts::ApplyOracles {
            config: pda::config(),
            instructions: solana_sdk_ids::sysvar::instructions::ID,
        },
        instruction::ApplyOracles {},
    ));
    ixs
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

/// The compute-unit price a transaction offers (a priority fee, micro-lamports per compute
/// unit): what a busy cluster needs to include it. Every transaction the client builds has room
/// for it ([`crate::chain::Chain::send`] adds it when set).
pub fn priority_fee(micro_lamports_per_cu: u64) -> Instruction {
    solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_price(
        micro_lamports_per_cu,
    )
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

/// The admin creates an org (and pays its rent): its OUI, owner, payer and DevAddr ranges.
pub fn create_org(
    admin_key: &Pubkey,
    oui: u64,
    owner: &Pubkey,
    payer: &Pubkey,
    dev_addrs: Vec<DevAddrRange>,
) -> Instruction {
    build(
        accounts::CreateOrg {
            config: pda::config(),
            admin: *admin_key,
            org: pda::org(oui),
            system_program: anchor_lang::system_program::ID,
        },
        instruction::CreateOrg {
            oui,
            owner: *owner,
            payer: *payer,
            dev_addrs,
        },
    )
}

/// The admin enables or disables an org and sets its DevAddr ranges.
pub fn set_org(
    admin_key: &Pubkey,
    oui: u64,
    enabled: bool,
    dev_addrs: Vec<DevAddrRange>,
) -> Instruction {
    build(
        accounts::SetOrg {
            config: pda::config(),
            admin: *admin_key,
            org: pda::org(oui),
        },
        instruction::SetOrg { enabled, dev_addrs },
    )
}

/// An org's owner names its owner and payer.
pub fn update_org(owner: &Pubkey, oui: u64, new_owner: &Pubkey, new_payer: &Pubkey) -> Instruction {
    build(
        accounts::UpdateOrg {
            config: pda::config(),
            owner: *owner,
            org: pda::org(oui),
        },
        instruction::UpdateOrg {
            new_owner: *new_owner,
            new_payer: *new_payer,
        },
    )
}

/// An org's owner adds route `id` (and pays its rent).
pub fn create_route(owner: &Pubkey, oui: u64, id: u64, args: RouteArgs) -> Instruction {
    build(
        accounts::CreateRoute {
            config: pda::config(),
            owner: *owner,
            org: pda::org(oui),
            route: pda::route(id),
            system_program: anchor_lang::system_program::ID,
        },
        instruction::CreateRoute { id, args },
    )
}

/// An org's owner changes route `id`.
pub fn update_route(owner: &Pubkey, oui: u64, id: u64, args: RouteArgs) -> Instruction {
    build(
        accounts::UpdateRoute {
            config: pda::config(),
            owner: *owner,
            org: pda::org(oui),
            route: pda::route(id),
        },
        instruction::UpdateRoute { args },
    )
}

/// An org's owner removes route `id` (its rent comes back).
pub fn remove_route(owner: &Pubkey, oui: u64, id: u64) -> Instruction {
    build(
        accounts::RemoveRoute {
            owner: *owner,
            org: pda::org(oui),
            route: pda::route(id),
        },
        instruction::RemoveRoute {},
    )
}

/// Burns `amount` base units from `buyer`'s token account (its associated account of the
/// reward mint) for org `oui`'s data credits; `buyer` signs.
pub fn buy_credits(buyer: &Pubkey, oui: u64, amount: u64) -> Instruction {
    build(
        accounts::BuyCredits {
            config: pda::config(),
            org: pda::org(oui),
            buyer: *buyer,
            mint: pda::mint(),
            buyer_tokens: pda::owner_tokens(buyer),
            token_program: anchor_spl::token::ID,
        },
        instruction::BuyCredits { amount },
    )
}

/// Settles org `oui`'s charges against its credits with its leaf in the newest root; anyone
/// may send it.
pub fn settle_credits(oui: u64, lifetime_dc: u64, proof: Vec<[u8; 32]>) -> Instruction {
    build(
        accounts::SettleCredits {
            config: pda::config(),
            org: pda::org(oui),
        },
        instruction::SettleCredits { lifetime_dc, proof },
    )
}
