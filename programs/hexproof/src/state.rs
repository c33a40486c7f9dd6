//! Accounts the program owns.

use anchor_lang::prelude::*;
use hexproof_commitment::{Deployment, EmissionSchedule, EpochClock};

/// Most oracles a configuration holds: with one Ed25519 instruction carrying every signature
/// over the shared 48-byte message, a submission carrying seven signatures and a priority fee
/// stays inside Solana's 1,232-byte packet (`tests/attacks.rs` checks every client transaction).
pub const MAX_ORACLES: usize = 7;

/// Bounds on the delay of admin changes (oracle set, admin hand-over): at least a day, so that
/// a change is visible on chain long enough for anyone to react; at most 90 days.
pub const MIN_CHANGE_DELAY_SECS: i64 = 86_400;
pub const MAX_CHANGE_DELAY_SECS: i64 = 90 * 86_400;
/// A pending change not applied within this long after it became due lapses: an old
/// proposal cannot be sprung on the network months later.
pub const PENDING_CHANGE_TTL_SECS: i64 = 7 * 86_400;
/// The cluster clock range a genesis may lie in (1970 to about 5138): `now − genesis` and
/// `genesis + n × epoch` stay far from overflowing.
pub const MAX_GENESIS_TS: i64 = 100_000_000_000;
/// Longest epoch and mint window: a year.
pub const MAX_PERIOD_SECS: i64 = 366 * 86_400;

/// A windowed mint limit (a circuit breaker): what was minted decays linearly to nothing over
/// `window_secs`; a mint that would lift the decayed total above `limit` is refused. It holds
/// whoever signs: even with every key stolen, whatever is minted within `d < W` seconds is at
/// most `limit × W / (W − d)`, so up to about `2 × limit` within one window and `limit` per
/// window in the long run. Claims mint what the window has room for and record it, so an owner
/// who waits is paid later, never locked out.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct MintWindow {
    pub window_secs: i64,
    pub limit: u64,
    /// The decayed total at `updated_ts`.
    pub value: u64,
    pub updated_ts: i64,
}

impl MintWindow {
    /// The rule itself, shared with the tokenomics simulator.
    fn rule(&self) -> hexproof_commitment::MintWindow {
        hexproof_commitment::MintWindow {
            window_secs: self.window_secs,
            limit: self.limit,
            value: self.value,
            updated_ts: self.updated_ts,
        }
    }

    /// The decayed total at `now`.
    pub fn decayed(&self, now: i64) -> u64 {
        self.rule().decayed(now)
    }

    /// What may be minted at `now` without exceeding the limit.
    pub fn room(&self, now: i64) -> u64 {
        self.rule().room(now)
    }

    /// Records `amount` minted at `now`; `None` (nothing recorded) when it would exceed the
    /// limit.
    pub fn admit(&mut self, amount: u64, now: i64) -> Option<()> {
        let mut rule = self.rule();
        rule.admit(amount, now)?;
        self.value = rule.value;
        self.updated_ts = rule.updated_ts;
        Some(())
    }
}

/// Allowed antenna declarations: what the oracle adds to its signal ceilings must be physical.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct AntennaBounds {
    /// Antenna gain, dBi × 10.
    pub min_gain_ddbi: i32,
    pub max_gain_ddbi: i32,
    /// Antenna height above ground, metres.
    pub min_elevation_m: i32,
    pub max_elevation_m: i32,
}

impl AntennaBounds {
    pub fn gain_ok(&self, gain_ddbi: i32) -> bool {
        (self.min_gain_ddbi..=self.max_gain_ddbi).contains(&gain_ddbi)
    }

    pub fn elevation_ok(&self, elevation_m: i32) -> bool {
        (self.min_elevation_m..=self.max_elevation_m).contains(&elevation_m)
    }
}

/// The program's configuration (PDA `["config"]`); also the mint authority of the reward token.
#[account]
#[derive(InitSpace, Debug)]
pub struct Config {
    pub admin: Pubkey,
    /// An admin hand-over in progress: the proposed admin (default: none), who may accept it
    /// from `pending_admin_at` on.
    pub pending_admin: Pubkey,
    pub pending_admin_at: i64,
    #[max_len(MAX_ORACLES)]
    pub oracles: Vec<Pubkey>,
    /// Distinct oracle signatures an epoch needs.
    pub threshold: u8,
    /// An oracle-set change in progress (empty: none), applicable from `pending_oracles_at` on.
    #[max_len(MAX_ORACLES)]
    pub pending_oracles: Vec<Pubkey>,
    pub pending_threshold: u8,
    pub pending_oracles_at: i64,
    /// How long every admin change waits before it takes effect, seconds.
    pub change_delay_secs: i64,
    /// The reward mint (PDA `["mint"]`).
    pub mint: Pubkey,
    /// This deployment's value in every signed epoch message (chosen at `initialize`).
    pub deployment: [u8; 32],
    /// Emission schedule: epoch 1 may emit `initial_emission`, halved every `halving_interval`
    /// epochs.
    pub initial_emission: u64,
    pub halving_interval: u64,
    /// Epochs on the cluster clock: epoch n ends at `genesis_ts + n × epoch_secs`.
    pub genesis_ts: i64,
    pub epoch_secs: i64,
    /// The newest accepted epoch, its Merkle root and lifetime total.
    pub epoch: u64,
    pub root: [u8; 32],
    pub lifetime_total: u64,
    /// Everything claimed so far.
    pub minted: u64,
    /// What ledgers were paid beyond their leaf in the newest root each was proven against:
    /// the overpayment of a root since superseded (a bad quorum's), recorded by
    /// `sync_ledger` and released by a later claim. The cap counts it on top of the newest
    /// total, so honest owners are not short of what a superseded root overpaid others.
    pub excess: u64,
    pub breaker: MintWindow,
    pub antenna: AntennaBounds,
    /// Lamports every onboarding pays into the treasury (PDA `["treasury"]`): what a key
    /// costs beyond its accounts' rent, so that keys without radios (rings, farms) are not
    /// nearly free. Set at `initialize`.
    pub onboarding_fee: u64,
    /// Data credits one whole token (10^6 base units) buys: the price `buy_credits` burns
    /// tokens at, and the oracles pay the data pool back at (set at `initialize`, like the
    /// emission schedule: one price both ways is what keeps wash traffic from paying).
    pub dc_per_token: u64,
    /// Tokens burned for data credits, in all (`buy_credits`): the oracles may mint them again
    /// (net emissions) on top of the schedule, so the supply (minted − burned) never exceeds
    /// the schedule.
    pub burned: u64,
    pub paused: bool,
    pub bump: u8,
    pub mint_bump: u8,
}

impl Config {
    pub fn schedule(&self) -> EmissionSchedule {
        EmissionSchedule {
            initial_per_epoch: self.initial_emission,
            halving_interval: self.halving_interval,
        }
    }

    pub fn epoch_clock(&self) -> EpochClock {
        EpochClock {
            genesis_ts: self.genesis_ts,
            epoch_secs: self.epoch_secs,
        }
    }

    pub fn deployment(&self) -> Deployment {
        Deployment {
            program_id: crate::ID.to_bytes(),
            id: self.deployment,
        }
    }

    /// The most that may have been minted at `now`: the newest signed lifetime total, and what
    /// the schedule lets the epochs that have ended by the cluster clock emit plus the tokens
    /// burned for data credits (re-minted: net emissions). A signed total
    /// may be lower than the one before (an inflated total followed by an honest one): the cap
    /// then follows the newest, and the program keeps accepting epochs.
    pub fn mint_cap(&self, now: i64) -> u64 {
        hexproof_commitment::mint_cap(
            &self.schedule(),
            self.epoch_clock().completed(now),
            self.burned,
            self.lifetime_total,
            self.excess,
        )
    }

    /// Records that `ledger`'s hotspot has lifetime `leaf` in the newest root: what it was paid
    /// beyond that is its excess (counted in [`Config::excess`]); a leaf at or above what it
    /// was paid releases it.
    pub fn record_leaf(&mut self, ledger: &mut Ledger, leaf: u64) {
        let excess = ledger.claimed.saturating_sub(leaf);
        self.excess = self
            .excess
            .saturating_sub(ledger.excess)
            .saturating_add(excess);
        ledger.excess = excess;
    }
}

/// A registered hotspot (PDA `["hotspot", hotspot key]`).
#[account]
#[derive(InitSpace, Debug)]
pub struct Hotspot {
    /// The hotspot's own ed25519 key (what signs its reports).
    pub hotspot: Pubkey,
    pub owner: Pubkey,
    /// The asserted location's H3 resolution-8 cell (about 0.7 km², what every public surface
    /// shows). The exact resolution-12 cell is never on chain: the hotspot's reports reveal it to
    /// the oracles, who check it against `location_commitment`.
    pub location: u64,
    /// sha256(domain || hotspot key || exact cell || salt), `hexproof_proto::location`.
    pub location_commitment: [u8; 32],
    /// The location before the newest assertion (zeros at the first): reports stamped before
    /// `asserted_at_ts` reveal this one, so moving does not void what was heard before.
    pub previous_location: u64,
    pub previous_location_commitment: [u8; 32],
    /// Antenna gain, dBi x 10; elevation, metres.
    pub gain_ddbi: i32,
    pub elevation_m: i32,
    /// Slot and cluster time of the newest location assertion.
    pub asserted_at_slot: u64,
    pub asserted_at_ts: i64,
    /// A transfer in progress: the proposed new owner (default: none), who may accept it
    /// until `pending_owner_until` (a week after the offer).
    pub pending_owner: Pubkey,
    pub pending_owner_until: i64,
    pub bump: u8,
}

/// What a hotspot key has been paid (PDA `["ledger", hotspot key]`). Kept apart from the
/// [`Hotspot`] record and never closed, so decommissioning and re-onboarding a hotspot cannot
/// reset it and claim the same lifetime reward twice.
#[account]
#[derive(InitSpace, Debug)]
pub struct Ledger {
    pub hotspot: Pubkey,
    /// Who claims pay: the hotspot's owner, kept after decommissioning so that the owner who
    /// earned a backlog still collects it, and changed only with that owner's signature (an
    /// accepted transfer, or re-onboarding that the owner co-signs).
    pub owner: Pubkey,
    /// Lifetime reward already minted for this hotspot.
    pub claimed: u64,
    /// How far `claimed` exceeds the hotspot's leaf in the newest root it was proven against
    /// (part of [`Config::excess`]).
    pub excess: u64,
    pub bump: u8,
}

impl Hotspot {
    /// Moves the hotspot (or changes its antenna) as of `slot` and cluster time `ts`.
    pub fn assert_location(
        &mut self,
        (location, location_commitment): (u64, [u8; 32]),
        gain_ddbi: i32,
        elevation_m: i32,
        slot: u64,
        ts: i64,
    ) {
        self.previous_location = self.location;
        self.previous_location_commitment = self.location_commitment;
        self.location = location;
        self.location_commitment = location_commitment;
        self.gain_ddbi = gain_ddbi;
        self.elevation_m = elevation_m;
        self.asserted_at_slot = slot;
        self.asserted_at_ts = ts;
    }

    /// The event describing the hotspot as it now is.
    pub fn changed(&self) -> crate::events::HotspotChanged {
        crate::events::HotspotChanged {
            hotspot: self.hotspot,
            owner: self.owner,
            location: self.location,
            location_commitment: self.location_commitment,
            gain_ddbi: self.gain_ddbi,
            elevation_m: self.elevation_m,
            asserted_at_slot: self.asserted_at_slot,
            asserted_at_ts: self.asserted_at_ts,
        }
    }
}

/// A DevAddr range, both ends included.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct DevAddrRange {
    pub start: u32,
    pub end: u32,
}

impl DevAddrRange {
    pub fn is_valid(&self) -> bool {
        self.start <= self.end
    }

    /// Whether `self` lies wholly inside `outer`.
    pub fn within(&self, outer: &DevAddrRange) -> bool {
        outer.start <= self.start && self.end <= outer.end
    }
}

/// A (JoinEUI, DevEUI) pair whose join requests a route takes; DevEUI 0 takes every device of
/// the JoinEUI.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct EuiPair {
    pub join_eui: u64,
    pub dev_eui: u64,
}

/// DevAddr ranges the admin may give one organisation.
pub const MAX_ORG_RANGES: usize = 4;
/// Bounds on a route: DevAddr ranges, EUI pairs, copies bought per packet, the length of its
/// network server's address. A route at every bound still fits one transaction (1,232 bytes;
/// `tests/routes.rs` checks).
pub const MAX_ROUTE_RANGES: usize = 8;
pub const MAX_ROUTE_EUIS: usize = 8;
pub const MAX_ROUTE_COPIES: u8 = 16;
pub const MAX_LNS_LEN: usize = 128;

/// An organisation that buys its devices' packets (PDA `["org", oui as 8 bytes LE]`): created
/// by the admin, who gives it its DevAddr ranges (what the LoRa Alliance's NetID assignment
/// gives an operator); run by its owner, who sets its routes and its payer.
#[account]
#[derive(InitSpace, Debug)]
pub struct Org {
    pub oui: u64,
    pub owner: Pubkey,
    /// Who pays for the packets its routes buy.
    pub payer: Pubkey,
    /// The DevAddr ranges its routes may claim (no route may take another org's devices).
    #[max_len(MAX_ORG_RANGES)]
    pub dev_addrs: Vec<DevAddrRange>,
    /// A disabled org's routes buy nothing (set by the admin).
    pub enabled: bool,
    /// Data credits left: bought with burned tokens (`buy_credits`, by anyone), used up by
    /// the charges the oracles commit to (`settle_credits`). Not transferable.
    pub dc_balance: u64,
    /// Credits bought in all, and the tokens burned for them.
    pub dc_bought: u64,
    pub tokens_burned: u64,
    /// The org's lifetime charges (its leaf in the reward tree) settled so far.
    pub dc_settled: u64,
    /// Charges settled beyond the balance (0 while the router charges only what it can: a
    /// router that overspent shows here).
    pub dc_unpaid: u64,
    pub bump: u8,
}

/// One route of an organisation (PDA `["route", id as 8 bytes LE]`): which devices' packets it
/// buys, how many copies of each, and where the router delivers them. Created, changed and
/// removed by its org's owner only. Its id's high 32 bits are its org's OUI ([`route_id_of`]):
/// every org numbers its routes in its own space, so no org can take an id another org used
/// (and receive copies still waiting for that id).
#[account]
#[derive(InitSpace, Debug)]
pub struct Route {
    pub id: u64,
    pub oui: u64,
    pub max_copies: u8,
    #[max_len(MAX_ROUTE_RANGES)]
    pub dev_addrs: Vec<DevAddrRange>,
    #[max_len(MAX_ROUTE_EUIS)]
    pub euis: Vec<EuiPair>,
    /// The network server's address in the router's protocol (`udp://host:port`).
    #[max_len(MAX_LNS_LEN)]
    pub lns: String,
    /// An inactive route buys nothing (its owner paused it).
    pub active: bool,
    pub bump: u8,
}

impl Org {
    /// The event describing the org as it now is.
    pub fn changed(&self) -> crate::events::OrgChanged {
        crate::events::OrgChanged {
            oui: self.oui,
            owner: self.owner,
            payer: self.payer,
            dev_addrs: self.dev_addrs.clone(),
            enabled: self.enabled,
        }
    }
}

impl Route {
    /// The event describing the route as it now is.
    pub fn changed(&self) -> crate::events::RouteChanged {
        crate::events::RouteChanged {
            id: self.id,
            oui: self.oui,
            max_copies: self.max_copies,
            dev_addrs: self.dev_addrs.clone(),
            euis: self.euis.clone(),
            lns: self.lns.clone(),
            active: self.active,
        }
    }
}

/// The largest OUI: route ids carry it in their high 32 bits.
pub const MAX_OUI: u64 = u32::MAX as u64;

/// Route `n` of org `oui`.
pub fn route_id_of(oui: u64, n: u32) -> u64 {
    (oui << 32) | u64::from(n)
}

/// Whether route id `id` lies in org `oui`'s space.
pub fn route_id_in_org(id: u64, oui: u64) -> bool {
    id >> 32 == oui
}

/// What an org's owner sets on a route.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct RouteArgs {
    pub max_copies: u8,
    pub dev_addrs: Vec<DevAddrRange>,
    pub euis: Vec<EuiPair>,
    pub lns: String,
    pub active: bool,
}

impl RouteArgs {
    /// Within the bounds, and every DevAddr range inside one of `org`'s.
    pub fn check(&self, org: &Org) -> std::result::Result<(), crate::errors::HexproofError> {
        use crate::errors::HexproofError;
        let bounded = (1..=MAX_ROUTE_COPIES).contains(&self.max_copies)
            && self.dev_addrs.len() <= MAX_ROUTE_RANGES
            && self.euis.len() <= MAX_ROUTE_EUIS
            && !self.lns.is_empty()
            && self.lns.len() <= MAX_LNS_LEN
            && self.dev_addrs.iter().all(DevAddrRange::is_valid);
        if !bounded {
            return Err(HexproofError::BadRoute);
        }
        if !self
            .dev_addrs
            .iter()
            .all(|r| org.dev_addrs.iter().any(|o| r.within(o)))
        {
            return Err(HexproofError::RangeOutsideOrg);
        }
        Ok(())
    }

    pub fn apply(self, route: &mut Route) {
        route.max_copies = self.max_copies;
        route.dev_addrs = self.dev_addrs;
        route.euis = self.euis;
        route.lns = self.lns;
        route.active = self.active;
    }
}

/// An org's DevAddr ranges as the admin gives them: at most [`MAX_ORG_RANGES`], each valid.
pub fn check_org_ranges(
    ranges: &[DevAddrRange],
) -> std::result::Result<(), crate::errors::HexproofError> {
    if ranges.len() > MAX_ORG_RANGES || !ranges.iter().all(DevAddrRange::is_valid) {
        return Err(crate::errors::HexproofError::BadRoute);
    }
    Ok(())
}

pub const CONFIG_SEED: &[u8] = b"config";
pub const MINT_SEED: &[u8] = b"mint";
pub const HOTSPOT_SEED: &[u8] = b"hotspot";
/// The treasury: a system account no instruction spends from (onboarding fees are burned
/// unless a later program version gives them a use).
pub const TREASURY_SEED: &[u8] = b"treasury";
/// Bounds on the onboarding fee: none, or from 0.001 SOL (above a system account's rent, so the
/// first fee can create the treasury) to 1,000 SOL.
pub const MIN_ONBOARDING_FEE: u64 = 1_000_000;
pub const MAX_ONBOARDING_FEE: u64 = 1_000_000_000_000;
pub const LEDGER_SEED: &[u8] = b"ledger";
pub const ORG_SEED: &[u8] = b"org";
pub const ROUTE_SEED: &[u8] = b"route";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mint_window_decays_and_refuses_what_exceeds_it() {
        let mut w = MintWindow {
            window_secs: 100,
            limit: 1_000,
            value: 0,
            updated_ts: 0,
        };
        assert_eq!(w.admit(1_000, 0), Some(()));
        assert_eq!(w.admit(1, 0), None, "full");
        // Half the window later, half has decayed.
        assert_eq!(w.decayed(50), 500);
        assert_eq!(w.admit(500, 50), Some(()));
        assert_eq!(w.admit(1, 50), None);
        assert_eq!(w.decayed(150), 0);
        assert_eq!(w.admit(u64::MAX, 200), None, "no overflow");
        assert_eq!(w.room(200), 1_000);
        assert_eq!(w.admit(400, 200), Some(()));
        assert_eq!(w.room(200), 600);
        assert_eq!(w.room(250), 800);
    }
}
