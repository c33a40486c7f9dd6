use anchor_lang::{
    prelude::*,
    system_program::{Transfer, transfer},
};
use anchor_spl::{
    associated_token::AssociatedToken,
    token_interface::{Mint, TokenAccount, TokenInterface},
};

use crate::{
    errors::HexproofError,
    state::{
        CONFIG_SEED, Config, HOTSPOT_SEED, Hotspot, LEDGER_SEED, Ledger, MINT_SEED, TREASURY_SEED,
    },
};

/// Registers a hotspot: signed by the hotspot's own key (it owns the radio) and by its owner
/// (who will receive the rewards), paid for by `payer`: the owner itself, or a maker that
/// onboards the hardware it made so that its owner needs no SOL. The payer pays the
/// configuration's onboarding fee into the treasury, every time a key is onboarded (a key
/// without a radio costs what an honest one does), and the rent. The owner's token account of
/// the reward mint is created here if it does not exist, at the payer's expense: claims pay
/// into it and never create accounts (a relayer never pays rent).
#[derive(Accounts)]
pub struct OnboardHotspot<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = mint, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    pub hotspot_key: Signer<'info>,
    pub owner: Signer<'info>,
    /// Pays the fee and the rent: the owner, or a maker paying for its owner.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The owner the key's ledger names, when re-onboarding under someone else: its rewards
    /// (and any backlog it has not claimed yet) pass to the new owner only with its signature.
    pub previous_owner: Option<Signer<'info>>,
    #[account(
        init,
        payer = payer,
        space = 8 + Hotspot::INIT_SPACE,
        seeds = [HOTSPOT_SEED, hotspot_key.key().as_ref()],
        bump,
    )]
    pub hotspot: Account<'info, Hotspot>,
    /// Created with the first onboarding, kept through decommissioning and re-onboarding.
    #[account(
        init_if_needed,
        payer = payer,
        space = 8 + Ledger::INIT_SPACE,
        seeds = [LEDGER_SEED, hotspot_key.key().as_ref()],
        bump,
    )]
    pub ledger: Account<'info, Ledger>,
    #[account(seeds = [MINT_SEED], bump = config.mint_bump)]
    pub mint: InterfaceAccount<'info, Mint>,
    #[account(
        init_if_needed,
        payer = payer,
        associated_token::mint = mint,
        associated_token::authority = owner,
        associated_token::token_program = token_program,
    )]
    pub owner_tokens: InterfaceAccount<'info, TokenAccount>,
    /// Where the onboarding fee goes (created by the first fee).
    #[account(mut, seeds = [TREASURY_SEED], bump)]
    pub treasury: SystemAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
    pub associated_token_program: Program<'info, AssociatedToken>,
    pub system_program: Program<'info, System>,
}

/// The twelve H3 base cells that are pentagons (they have no digit-1 "K" axis).
const PENTAGON_BASE_CELLS: [u64; 12] = [4, 14, 24, 38, 49, 58, 63, 72, 83, 97, 107, 117];

/// The resolution of the cell the chain holds (`hexproof_proto::location::PUBLIC_RESOLUTION`).
pub const PUBLIC_RESOLUTION: u32 = 8;

/// An H3 index of a real cell of resolution `RES`: reserved bits clear, mode 1 (cell),
/// resolution `RES`, a base cell of the 122, `RES` digits 0–6 and the other `15 − RES` digits 7
/// (unused), and no deleted K-axis subsequence under a pentagon base cell (what
/// `h3o::CellIndex::try_from` accepts at that resolution; the unit test compares them at 8 and
/// 12).
pub fn is_cell_at<const RES: u32>(index: u64) -> bool {
    let mode = (index >> 59) & 0xF;
    let reserved = (index >> 56) & 0x7;
    let resolution = (index >> 52) & 0xF;
    let base_cell = (index >> 45) & 0x7F;
    if index >> 63 != 0
        || mode != 1
        || reserved != 0
        || resolution != u64::from(RES)
        || base_cell >= 122
    {
        return false;
    }
    let digit = |r: u32| (index >> ((15 - r) * 3)) & 0x7;
    if (1..=RES).any(|r| digit(r) == 7) || (RES + 1..=15).any(|r| digit(r) != 7) {
        return false;
    }
    if PENTAGON_BASE_CELLS.contains(&base_cell) {
        // The first non-zero digit of a pentagon's descendants is never 1.
        if let Some(first) = (1..=RES).map(digit).find(|d| *d != 0) {
            return first != 1;
        }
    }
    true
}

/// Checks a location and antenna against the configuration: the location is a resolution-8
/// cell and a commitment to the exact cell (never the exact cell itself).
pub fn check_site(
    config: &Config,
    (location, commitment): (u64, [u8; 32]),
    gain_ddbi: i32,
    elevation_m: i32,
) -> Result<()> {
    require!(
        is_cell_at::<PUBLIC_RESOLUTION>(location) && commitment != [0; 32],
        HexproofError::BadLocation
    );
    require!(
        config.antenna.gain_ok(gain_ddbi),
        HexproofError::GainOutOfRange
    );
    require!(
        config.antenna.elevation_ok(elevation_m),
        HexproofError::ElevationOutOfRange
    );
    Ok(())
}

pub fn handler(
    ctx: Context<OnboardHotspot>,
    location: u64,
    location_commitment: [u8; 32],
    gain_ddbi: i32,
    elevation_m: i32,
) -> Result<()> {
    check_site(
        &ctx.accounts.config,
        (location, location_commitment),
        gain_ddbi,
        elevation_m,
    )?;
    let fee = ctx.accounts.config.onboarding_fee;
    if fee > 0 {
        transfer(
            CpiContext::new(
                ctx.accounts.system_program.key(),
                Transfer {
                    from: ctx.accounts.payer.to_account_info(),
                    to: ctx.accounts.treasury.to_account_info(),
                },
            ),
            fee,
        )?;
    }
    let clock = Clock::get()?;
    let hotspot = &mut ctx.accounts.hotspot;
    hotspot.hotspot = ctx.accounts.hotspot_key.key();
    hotspot.owner = ctx.accounts.owner.key();
    hotspot.assert_location(
        (location, location_commitment),
        gain_ddbi,
        elevation_m,
        clock.slot,
        clock.unix_timestamp,
    );
    hotspot.pending_owner = Pubkey::default();
    hotspot.pending_owner_until = 0;
    hotspot.bump = ctx.bumps.hotspot;
    emit!(hotspot.changed());
    let owner = ctx.accounts.owner.key();
    let ledger = &mut ctx.accounts.ledger;
    if ledger.hotspot == Pubkey::default() {
        ledger.hotspot = ctx.accounts.hotspot_key.key();
        ledger.bump = ctx.bumps.ledger;
    } else if ledger.owner != owner {
        // Re-onboarding under another owner: the backlog the ledger's owner earned (and may
        // not have claimed yet) is that owner's to hand over.
        let consented = ctx
            .accounts
            .previous_owner
            .as_ref()
            .is_some_and(|p| p.key() == ledger.owner);
        require!(consented, HexproofError::PreviousOwnerMustSign);
    }
    ledger.owner = owner;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_cell_at;

    /// Agrees with h3o at resolutions 8 (what the chain holds) and 12 on real cells, on every
    /// corruption of one, and on random bits.
    #[test]
    fn cells_are_what_h3o_accepts() {
        check::<8>();
        check::<12>();
    }

    fn check<const RES: u32>() {
        use h3o::{CellIndex, LatLng, Resolution};
        let res = Resolution::try_from(RES as u8).unwrap();
        let accepts = |i: u64| CellIndex::try_from(i).is_ok_and(|c| c.resolution() == res);
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut cells = Vec::new();
        for i in 0..2_000 {
            let lat = (next() % 18_000) as f64 / 100.0 - 90.0;
            let lng = (next() % 36_000) as f64 / 100.0 - 180.0;
            cells.push(u64::from(LatLng::new(lat, lng).unwrap().to_cell(res)));
            // Every pentagon's neighbourhood too.
            if i < 12 {
                let p = CellIndex::base_cells()
                    .filter(|c| c.is_pentagon())
                    .nth(i)
                    .unwrap();
                cells.extend(p.children(res).take(50).map(u64::from));
            }
        }
        for &c in &cells {
            assert!(is_cell_at::<RES>(c), "{c:x}");
            for bit in 0..64 {
                let x = c ^ (1 << bit);
                assert_eq!(is_cell_at::<RES>(x), accepts(x), "{x:x}");
            }
        }
        let unused = (1u64 << (3 * (15 - RES))) - 1;
        for _ in 0..200_000 {
            // Mode 1, resolution RES, unused digits 7: base cells and digits at random.
            let x =
                (next() & ((1 << 52) - 1) & !unused) | (1 << 59) | (u64::from(RES) << 52) | unused;
            assert_eq!(is_cell_at::<RES>(x), accepts(x), "{x:x}");
        }
        assert!(!is_cell_at::<RES>(0));
        assert!(!is_cell_at::<RES>(u64::MAX));
    }
}
