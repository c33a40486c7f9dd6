//! HIP-149's band for data deployers' pay (Helium, 2026): a dollar floor at half the payer's
//! rate and a cap at three times it, the floor's top-up minted only from recently burned
//! tokens. Here to compare hexproof's peg against the published mechanism with the HIP's own
//! inputs (`tests/published.rs`) and the README.
//!
//! Under hexproof's peg a carrier is paid, per credit, exactly the tokens its buyer burned,
//! so what a carrier earns in dollars is what devices pay: the band's floor and cap are about
//! a fixed token pool shared pro rata, which hexproof's data pool does not have.

/// The band, for one payer rate (dollars per unit of data, e.g. per GB).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataBand {
    pub payer_usd_per_unit: f64,
    /// Floor as a share of the payer rate (HIP-149: 0.5).
    pub floor_share: f64,
    /// Cap as a multiple of the payer rate (HIP-149: 3.0).
    pub cap_multiple: f64,
    /// Share of a top-up that reaches the deployers after the usual split (HIP-149: ≈0.625).
    pub alpha: f64,
}

impl DataBand {
    /// HIP-149's band at a payer rate.
    pub fn hip149(payer_usd_per_unit: f64, alpha: f64) -> DataBand {
        DataBand {
            payer_usd_per_unit,
            floor_share: 0.5,
            cap_multiple: 3.0,
            alpha,
        }
    }

    pub fn floor_usd(&self) -> f64 {
        self.floor_share * self.payer_usd_per_unit
    }

    pub fn cap_usd(&self) -> f64 {
        self.cap_multiple * self.payer_usd_per_unit
    }

    /// Token prices at which a baseline of `baseline_tokens` a day shared over `units` a day
    /// pays exactly the floor, and exactly the cap: below the first the floor binds, above
    /// the second the cap does.
    pub fn thresholds(&self, baseline_tokens: f64, units: f64) -> (f64, f64) {
        (
            self.floor_usd() * units / baseline_tokens,
            self.cap_usd() * units / baseline_tokens,
        )
    }

    /// Tokens minted on top of normal emissions to reach the floor at `price`, at most
    /// `burn_bound` (the recently burned tokens not already re-minted).
    pub fn top_up(&self, price: f64, baseline_tokens: f64, units: f64, burn_bound: f64) -> f64 {
        let target = self.floor_usd() * units / price;
        ((target - baseline_tokens) / self.alpha)
            .max(0.0)
            .min(burn_bound.max(0.0))
    }

    /// Dollars per unit the deployers get: the baseline plus its top-up's share, no more than
    /// the cap (the excess goes to stakers).
    pub fn delivered_usd_per_unit(
        &self,
        price: f64,
        baseline_tokens: f64,
        units: f64,
        burn_bound: f64,
    ) -> f64 {
        let tokens =
            baseline_tokens + self.alpha * self.top_up(price, baseline_tokens, units, burn_bound);
        (tokens * price / units).min(self.cap_usd())
    }
}
