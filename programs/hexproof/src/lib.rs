//! The hexproof Solana program (Anchor): the hotspot registry, oracle-signed epoch commitments,
//! reward claims, and the routing table of the packet path (orgs and their routes).
//!
//! Data enters as instructions: hotspots are onboarded and moved by their owners; the admin
//! creates orgs (an OUI and the DevAddr ranges it holds), whose owners set their routes; anyone
//! burns tokens for an org's data credits, and its charges, committed in the same root as
//! rewards, are settled against them; oracles'
//! ed25519 signatures over an epoch's Merkle root arrive in an Ed25519 precompile instruction in
//! the `submit_epoch` transaction; owners (or relayers) claim with a Merkle proof. Tokens leave
//! by minting from the program's mint to the registered owner's token account. The signed
//! message, the tree, the emission schedule and the epoch clock come from
//! `hexproof-commitment`, the definition the oracle uses too.
//!
//! What minting can never exceed, whoever holds which key: the newest lifetime total a quorum
//! signed, the schedule of the epochs that have ended on the cluster clock, and the windowed
//! mint limit. What an owner earned is always collectable: claims mint what those bounds leave
//! room for and pay the rest later. Admin changes wait a configured delay and lapse a week
//! after; a new oracle set also needs a quorum of the current one; only the upgrade authority
//! initializes.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod ed25519;
pub mod errors;
pub mod events;
pub mod instructions;
pub mod state;

use instructions::*;

declare_id!("G8PxyAiUJVwPBpvsqXwffosq7XJv7UU4PTmg5NMoPN9v");

#[program]
pub mod hexproof {
    use super::*;

    pub fn initialize(ctx: Context<Initialize>, args: InitializeArgs) -> Result<()> {
        instructions::initialize::handler(ctx, args)
    }

    pub fn onboard_hotspot(
        ctx: Context<OnboardHotspot>,
        location: u64,
        location_commitment: [u8; 32],
        gain_ddbi: i32,
        elevation_m: i32,
    ) -> Result<()> {
        instructions::onboard_hotspot::handler(
            ctx,
            location,
            location_commitment,
            gain_ddbi,
            elevation_m,
        )
    }

    pub fn assert_location(
        ctx: Context<AssertLocation>,
        location: u64,
        location_commitment: [u8; 32],
        gain_ddbi: i32,
        elevation_m: i32,
    ) -> Result<()> {
        instructions::assert_location::handler(
            ctx,
            location,
            location_commitment,
            gain_ddbi,
            elevation_m,
        )
    }

    pub fn transfer_hotspot(ctx: Context<TransferHotspot>, new_owner: Pubkey) -> Result<()> {
        instructions::transfer_hotspot::handler(ctx, new_owner)
    }

    pub fn accept_hotspot(ctx: Context<AcceptHotspot>) -> Result<()> {
        instructions::accept_hotspot::handler(ctx)
    }

    pub fn decommission_hotspot(ctx: Context<DecommissionHotspot>) -> Result<()> {
        instructions::decommission_hotspot::handler(ctx)
    }

    pub fn submit_epoch(
        ctx: Context<SubmitEpoch>,
        epoch: u64,
        root: [u8; 32],
        lifetime_total: u64,
    ) -> Result<()> {
        instructions::submit_epoch::handler(ctx, epoch, root, lifetime_total)
    }

    pub fn claim(ctx: Context<Claim>, lifetime_amount: u64, proof: Vec<[u8; 32]>) -> Result<()> {
        instructions::claim::handler(ctx, lifetime_amount, proof)
    }

    pub fn sync_ledger(
        ctx: Context<SyncLedger>,
        lifetime_amount: u64,
        proof: Vec<[u8; 32]>,
    ) -> Result<()> {
        instructions::sync_ledger::handler(ctx, lifetime_amount, proof)
    }

    pub fn propose_oracles(ctx: Context<Admin>, oracles: Vec<Pubkey>, threshold: u8) -> Result<()> {
        instructions::propose_oracles::handler(ctx, oracles, threshold)
    }

    pub fn apply_oracles(ctx: Context<ApplyOracles>) -> Result<()> {
        instructions::apply_oracles::handler(ctx)
    }

    pub fn propose_admin(ctx: Context<Admin>, new_admin: Pubkey) -> Result<()> {
        instructions::propose_admin::handler(ctx, new_admin)
    }

    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        instructions::accept_admin::handler(ctx)
    }

    pub fn cancel_changes(ctx: Context<Admin>) -> Result<()> {
        instructions::cancel_changes::handler(ctx)
    }

    pub fn set_paused(ctx: Context<Admin>, paused: bool) -> Result<()> {
        instructions::set_paused::handler(ctx, paused)
    }

    pub fn create_org(
        ctx: Context<CreateOrg>,
        oui: u64,
        owner: Pubkey,
        payer: Pubkey,
        dev_addrs: Vec<state::DevAddrRange>,
    ) -> Result<()> {
        instructions::create_org::handler(ctx, oui, owner, payer, dev_addrs)
    }

    pub fn set_org(
        ctx: Context<SetOrg>,
        enabled: bool,
        dev_addrs: Vec<state::DevAddrRange>,
    ) -> Result<()> {
        instructions::set_org::handler(ctx, enabled, dev_addrs)
    }

    pub fn update_org(ctx: Context<UpdateOrg>, new_owner: Pubkey, new_payer: Pubkey) -> Result<()> {
        instructions::update_org::handler(ctx, new_owner, new_payer)
    }

    pub fn create_route(ctx: Context<CreateRoute>, id: u64, args: state::RouteArgs) -> Result<()> {
        instructions::create_route::handler(ctx, id, args)
    }

    pub fn update_route(ctx: Context<UpdateRoute>, args: state::RouteArgs) -> Result<()> {
        instructions::update_route::handler(ctx, args)
    }

    pub fn remove_route(ctx: Context<RemoveRoute>) -> Result<()> {
        instructions::remove_route::handler(ctx)
    }

    pub fn buy_credits(ctx: Context<BuyCredits>, amount: u64) -> Result<()> {
        instructions::buy_credits::handler(ctx, amount)
    }

    pub fn settle_credits(
        ctx: Context<SettleCredits>,
        lifetime_dc: u64,
        proof: Vec<[u8; 32]>,
    ) -> Result<()> {
        instructions::settle_credits::handler(ctx, lifetime_dc, proof)
    }
}
