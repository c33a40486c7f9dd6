//! Whom the maker pays for, and how much: the keys it made (its entitlement), a daily budget,
//! and rates per key and per client address. Pure bookkeeping over the times it is given; the
//! service asks it before it prepares a message and tells it what it spent.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, VecDeque},
    net::IpAddr,
};

use hexproof_proto::PublicKey;
use serde::{Deserialize, Serialize};

/// `[maker]` limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Lamports the maker spends in a UTC day at most (fees, rent, onboarding fees).
    pub daily_budget_lamports: u64,
    /// Requests a key may make a day (prepares; a retry after an expired blockhash counts).
    pub per_key_per_day: u32,
    /// Requests one client address may make a minute.
    pub per_address_per_minute: u32,
    /// Below this balance the maker alarms (metric and error log) before it runs dry.
    pub low_balance_lamports: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Forty onboardings at the default 0.25 SOL fee and their rent.
            daily_budget_lamports: 12_000_000_000,
            per_key_per_day: 20,
            per_address_per_minute: 30,
            low_balance_lamports: 5_000_000_000,
        }
    }
}

/// Why the policy says no.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("this maker did not make hotspot {0}: ask the maker of your hardware")]
    NotEntitled(PublicKey),
    #[error("hotspot {0} made {1} requests today, the most a key may: try again tomorrow (UTC)")]
    KeyRate(PublicKey, u32),
    #[error("{0} requests from your address in the last minute: wait a minute")]
    AddressRate(u32),
    #[error(
        "the maker's budget for today is spent ({spent} of {budget} lamports; this needs \
         {cost}): its operator has been alarmed; try again tomorrow (UTC)"
    )]
    BudgetSpent { spent: u64, budget: u64, cost: u64 },
}

const DAY: i64 = 86_400;
const MINUTE: i64 = 60;
/// Addresses remembered at most (an attacker with many addresses cannot grow the table past
/// it; the oldest are forgotten first).
const MAX_ADDRESSES: usize = 100_000;

/// The maker's books.
#[derive(Debug, Default)]
pub struct Policy {
    made: BTreeSet<PublicKey>,
    limits: Limits,
    /// Lamports spent by UTC day number.
    spent: BTreeMap<i64, u64>,
    by_key: HashMap<PublicKey, VecDeque<i64>>,
    by_address: HashMap<IpAddr, VecDeque<i64>>,
}

impl Policy {
    pub fn new(made: impl IntoIterator<Item = PublicKey>, limits: Limits) -> Policy {
        Policy {
            made: made.into_iter().collect(),
            limits,
            ..Policy::default()
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn made(&self, key: &PublicKey) -> bool {
        self.made.contains(key)
    }

    /// Admits a request about `key` from `address` at `now` (seconds): the maker made the
    /// key, the address has requests left this minute (counted here), and the key has signed
    /// transactions left today (counted only by [`Policy::count_key`], when one is sent: a
    /// stranger's requests about a key cannot use up its owner's).
    pub fn admit(&mut self, key: &PublicKey, address: IpAddr, now: i64) -> Result<(), Denied> {
        if !self.made(key) {
            return Err(Denied::NotEntitled(*key));
        }
        let address = bucket(address);
        if self.by_address.len() >= MAX_ADDRESSES && !self.by_address.contains_key(&address) {
            self.by_address
                .retain(|_, times| times.back().is_some_and(|t| now - t < MINUTE));
        }
        let per_address = self.limits.per_address_per_minute;
        let times = self.by_address.entry(address).or_default();
        if count_within(times, now, MINUTE) >= per_address as usize {
            return Err(Denied::AddressRate(per_address));
        }
        times.push_back(now);
        let per_key = self.limits.per_key_per_day;
        let key_times = self.by_key.entry(*key).or_default();
        if count_within(key_times, now, DAY) >= per_key as usize {
            return Err(Denied::KeyRate(*key, per_key));
        }
        Ok(())
    }

    /// Counts a transaction sent for `key` (its signatures checked) against its day.
    pub fn count_key(&mut self, key: &PublicKey, now: i64) -> Result<(), Denied> {
        let per_key = self.limits.per_key_per_day;
        let key_times = self.by_key.entry(*key).or_default();
        if count_within(key_times, now, DAY) >= per_key as usize {
            return Err(Denied::KeyRate(*key, per_key));
        }
        key_times.push_back(now);
        Ok(())
    }

    /// Whether `cost` fits today's budget at `now`.
    pub fn affordable(&self, cost: u64, now: i64) -> Result<(), Denied> {
        let spent = self.spent_today(now);
        let budget = self.limits.daily_budget_lamports;
        if spent.saturating_add(cost) > budget {
            return Err(Denied::BudgetSpent {
                spent,
                budget,
                cost,
            });
        }
        Ok(())
    }

    /// Books `cost` against today's budget (when a transaction is sent); the refund, when it
    /// turned out not to be applied, is [`Policy::refund`].
    pub fn spend(&mut self, cost: u64, now: i64) -> Result<(), Denied> {
        self.affordable(cost, now)?;
        let day = now.div_euclid(DAY);
        *self.spent.entry(day).or_default() += cost;
        // Only today's is kept.
        self.spent.retain(|d, _| *d >= day);
        Ok(())
    }

    pub fn refund(&mut self, cost: u64, now: i64) {
        if let Some(s) = self.spent.get_mut(&now.div_euclid(DAY)) {
            *s = s.saturating_sub(cost);
        }
    }

    pub fn spent_today(&self, now: i64) -> u64 {
        self.spent.get(&now.div_euclid(DAY)).copied().unwrap_or(0)
    }
}

/// The rate bucket of an address: IPv6 by its /64 (one host holds a whole /64).
fn bucket(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(
            u128::from(v6) & !((1u128 << 64) - 1),
        )),
        v4 => v4,
    }
}

/// Drops times older than `window` before `now`; returns how many remain.
fn count_within(times: &mut VecDeque<i64>, now: i64, window: i64) -> usize {
    while times.front().is_some_and(|t| now - t >= window) {
        times.pop_front();
    }
    times.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> PublicKey {
        PublicKey::from([i; 32])
    }
    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));

    fn policy() -> Policy {
        Policy::new(
            [key(1), key(2)],
            Limits {
                daily_budget_lamports: 1_000,
                per_key_per_day: 3,
                per_address_per_minute: 4,
                low_balance_lamports: 0,
            },
        )
    }

    #[test]
    fn only_keys_the_maker_made_are_admitted() {
        let mut p = policy();
        assert_eq!(p.admit(&key(9), HOME, 0), Err(Denied::NotEntitled(key(9))));
        assert!(p.admit(&key(1), HOME, 0).is_ok());
    }

    #[test]
    fn a_key_is_limited_per_day_and_an_address_per_minute() {
        let mut p = policy();
        // Requests alone (a stranger asking about the key) use none of the key's day.
        for t in 0..3 {
            p.admit(&key(1), HOME, t).unwrap();
        }
        for t in 0..3 {
            p.count_key(&key(1), t).unwrap();
        }
        assert_eq!(p.count_key(&key(1), 9), Err(Denied::KeyRate(key(1), 3)));
        // The address had three requests this minute; the fourth is refused for the key.
        assert_eq!(p.admit(&key(1), HOME, 10), Err(Denied::KeyRate(key(1), 3)));
        assert_eq!(p.admit(&key(2), HOME, 12), Err(Denied::AddressRate(4)));
        let elsewhere: IpAddr = "10.0.0.2".parse().unwrap();
        p.admit(&key(2), elsewhere, 12).unwrap();
        // A minute later the address may ask again; the first key waits a day.
        p.admit(&key(2), HOME, 72).unwrap();
        assert!(p.admit(&key(1), HOME, 73).is_err());
        p.admit(&key(1), HOME, DAY + 1).unwrap();
        // One host's IPv6 addresses share a bucket.
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        for t in 0..4 {
            p.admit(&key(2), if t % 2 == 0 { a } else { b }, 200 + t)
                .unwrap();
        }
        assert_eq!(p.admit(&key(2), b, 205), Err(Denied::AddressRate(4)));
    }

    #[test]
    fn the_budget_is_per_utc_day_and_refunds_what_was_not_applied() {
        let mut p = policy();
        p.spend(600, 10).unwrap();
        assert_eq!(
            p.spend(500, 20),
            Err(Denied::BudgetSpent {
                spent: 600,
                budget: 1_000,
                cost: 500
            })
        );
        p.refund(600, 30);
        p.spend(900, 40).unwrap();
        assert!(p.affordable(200, DAY - 1).is_err());
        // A new day, a new budget.
        p.spend(1_000, DAY).unwrap();
        assert_eq!(p.spent_today(DAY + 5), 1_000);
    }

    #[test]
    fn many_addresses_cannot_grow_the_books_without_bound() {
        let mut p = policy();
        for i in 0..(MAX_ADDRESSES as u32 + 10) {
            let address = IpAddr::V6(std::net::Ipv6Addr::from(u128::from(i)));
            // Each minute a new batch: the old ones are forgotten.
            let _ = p.admit(&key(1), address, i64::from(i / 1_000) * MINUTE);
        }
        assert!(p.by_address.len() <= MAX_ADDRESSES);
    }
}
