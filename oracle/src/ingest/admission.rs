//! What ingest refuses before it stores anything (pure; the storer owns one): messages on a
//! topic that names no hotspot key, payloads larger than any report, reports of hotspots that
//! are not registered, and a hotspot's reports beyond its rate. Refused messages are
//! acknowledged (the broker would redeliver them forever otherwise), counted by reason
//! (`hexproof_ingest_refused_total{reason}`) and not stored.
//!
//! The rate charges only what a hotspot signed: a report is charged to the registered key whose
//! signature on it verifies (its signer, whichever topic it came on), once classification has
//! checked that signature. Whatever no registered key signed (junk, bad signatures) is charged
//! to one shared bucket of its own, so junk published on a hotspot's topic by someone else never
//! spends that hotspot's rate.
//!
//! Each rate is a token bucket on the oracle's network clock (received times): `burst` reports
//! at once (an agent's outbox after an outage), refilled at `per_minute`. Keys whose bucket is
//! full again are forgotten when the table reaches `max_keys`, so the table stays bounded; keys
//! that still find no room share one bucket.

use std::collections::HashMap;

use hexproof_proto::{PublicKey, topics::Topic};
use serde::{Deserialize, Serialize};

use crate::classify::MAX_REPORT_LEN;

/// Per-hotspot limits (`[ingest.limits]`); what no registered key signed shares one bucket of
/// the same size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Reports a hotspot may send at once.
    pub burst: u32,
    /// Reports per network minute a hotspot may send on average.
    pub per_minute: u32,
    /// Hotspot keys tracked at most.
    pub max_keys: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        // A hotspot beacons every few hours and witnesses what it hears: a few reports a
        // minute in dense areas. An outbox holds up to 10,000 reports after an outage.
        RateLimits {
            burst: 10_000,
            per_minute: 120,
            max_keys: 1_000_000,
        }
    }
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The topic is not a report topic naming a hotspot key.
    UnknownTopic,
    /// Larger than any report.
    Oversized,
    /// The topic's key, or the key that signed the report, is not a registered hotspot.
    Unregistered,
    /// The signer (or, for what nobody registered signed, all such messages together) sent
    /// more than its rate.
    RateLimited,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::UnknownTopic => "unknown_topic",
            Refusal::Oversized => "oversized",
            Refusal::Unregistered => "unregistered",
            Refusal::RateLimited => "rate_limited",
        }
    }
}

/// Whose rate a message spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payer {
    /// The registered hotspot whose signature on the report verifies.
    Signer(PublicKey),
    /// No registered key's signature verifies (junk, a bad signature): the shared bucket.
    Unattributed,
}

/// The hotspot key a message's topic names, when it is a report topic and the payload could be
/// a report. Cheap: runs before any signature is checked.
pub fn topic_key(topic: &str, payload_len: usize) -> Result<PublicKey, Refusal> {
    let key = match Topic::parse(topic) {
        Some(Topic::Beacon(k) | Topic::Witness(k)) => k,
        _ => return Err(Refusal::UnknownTopic),
    };
    if payload_len > MAX_REPORT_LEN {
        return Err(Refusal::Oversized);
    }
    Ok(key)
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens, in thousandths of a report.
    milli: u64,
    at_ns: u64,
}

/// The admission state: one bucket per signer seen recently.
#[derive(Debug)]
pub struct Admission {
    limits: RateLimits,
    buckets: HashMap<PublicKey, Bucket>,
    /// Shared by keys that find the table full.
    overflow: Option<Bucket>,
    /// Shared by everything no registered key signed.
    unattributed: Option<Bucket>,
}

const NS_PER_MIN: u128 = 60_000_000_000;

impl Admission {
    pub fn new(limits: RateLimits) -> Self {
        Admission {
            limits,
            buckets: HashMap::new(),
            overflow: None,
            unattributed: None,
        }
    }

    fn full(&self) -> u64 {
        u64::from(self.limits.burst) * 1000
    }

    /// The bucket's tokens at `now_ns`.
    fn refilled(&self, b: Bucket, now_ns: u64) -> u64 {
        let elapsed = u128::from(now_ns.saturating_sub(b.at_ns));
        let added = elapsed * u128::from(self.limits.per_minute) * 1000 / NS_PER_MIN;
        (u128::from(b.milli) + added).min(u128::from(self.full())) as u64
    }

    /// Spends one token of `payer`'s bucket for a message received at `received_ns`, or
    /// refuses it when the bucket is empty.
    pub fn charge(&mut self, payer: Payer, received_ns: u64) -> Result<(), Refusal> {
        let fresh = Bucket {
            milli: self.full(),
            at_ns: received_ns,
        };
        let key = match payer {
            Payer::Signer(key) => key,
            Payer::Unattributed => {
                let (bucket, result) = self.spend(self.unattributed.unwrap_or(fresh), received_ns);
                self.unattributed = Some(bucket);
                return result;
            }
        };
        if !self.buckets.contains_key(&key) && self.buckets.len() >= self.limits.max_keys {
            self.forget_idle(received_ns);
        }
        let tracked = self.buckets.contains_key(&key) || self.buckets.len() < self.limits.max_keys;
        let bucket = if tracked {
            self.buckets.get(&key).copied()
        } else {
            self.overflow
        }
        .unwrap_or(fresh);
        let (updated, result) = self.spend(bucket, received_ns);
        if tracked {
            self.buckets.insert(key, updated);
        } else {
            self.overflow = Some(updated);
        }
        result
    }

    /// `bucket` after spending a token at `received_ns`, if it holds one.
    fn spend(&self, bucket: Bucket, received_ns: u64) -> (Bucket, Result<(), Refusal>) {
        let tokens = self.refilled(bucket, received_ns);
        let (tokens, result) = if tokens >= 1000 {
            (tokens - 1000, Ok(()))
        } else {
            (tokens, Err(Refusal::RateLimited))
        };
        let updated = Bucket {
            milli: tokens,
            at_ns: received_ns.max(bucket.at_ns),
        };
        (updated, result)
    }

    /// Drops the buckets that are full again at `now_ns` (their keys start afresh anyway).
    fn forget_idle(&mut self, now_ns: u64) {
        let full = self.full();
        let keep: HashMap<PublicKey, Bucket> = self
            .buckets
            .iter()
            .filter(|(_, b)| self.refilled(**b, now_ns) < full)
            .map(|(k, b)| (*k, *b))
            .collect();
        self.buckets = keep;
    }

    /// Keys tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use hexproof_proto::{Keypair, topics};

    use super::*;

    const MIN: u64 = 60_000_000_000;

    fn limits(burst: u32, per_minute: u32, max_keys: usize) -> RateLimits {
        RateLimits {
            burst,
            per_minute,
            max_keys,
        }
    }

    #[test]
    fn topics_without_a_key_and_oversized_payloads_are_refused() {
        let k = Keypair::from_secret([1; 32]).public();
        assert_eq!(topic_key(&topics::beacons(&k), 300), Ok(k));
        assert_eq!(topic_key(&topics::witnesses(&k), MAX_REPORT_LEN), Ok(k));
        assert_eq!(
            topic_key(&topics::witnesses(&k), MAX_REPORT_LEN + 1),
            Err(Refusal::Oversized)
        );
        for topic in [
            "hexproof/v1/beacons/not-a-key",
            "hexproof/v1/witnesses/",
            "hexproof/v1/entropy",
            "a/b",
        ] {
            assert_eq!(topic_key(topic, 10), Err(Refusal::UnknownTopic), "{topic}");
        }
    }

    #[test]
    fn a_hotspot_gets_its_burst_then_its_rate_and_others_are_unaffected() {
        let mut a = Admission::new(limits(10, 60, 100));
        let k = Payer::Signer(Keypair::from_secret([1; 32]).public());
        let other = Payer::Signer(Keypair::from_secret([2; 32]).public());
        for _ in 0..10 {
            assert_eq!(a.charge(k, 0), Ok(()));
        }
        assert_eq!(a.charge(k, 0), Err(Refusal::RateLimited));
        assert_eq!(a.charge(other, 0), Ok(()));
        // 60 a minute: one a second.
        assert_eq!(a.charge(k, 999_000_000), Err(Refusal::RateLimited));
        assert_eq!(a.charge(k, 1_000_000_000), Ok(()));
        assert_eq!(a.charge(k, 1_000_000_000), Err(Refusal::RateLimited));
        // Ten minutes later the burst is back, no more.
        let later = 10 * MIN;
        for _ in 0..10 {
            assert_eq!(a.charge(k, later), Ok(()));
        }
        assert_eq!(a.charge(k, later), Err(Refusal::RateLimited));
    }

    /// Junk (what no registered key signed) spends one shared bucket, never a hotspot's.
    #[test]
    fn junk_spends_its_own_bucket_not_a_hotspots() {
        let mut a = Admission::new(limits(10, 60, 100));
        let victim = Payer::Signer(Keypair::from_secret([1; 32]).public());
        for i in 0..1_000 {
            let expected = if i < 10 {
                Ok(())
            } else {
                Err(Refusal::RateLimited)
            };
            assert_eq!(a.charge(Payer::Unattributed, 0), expected);
        }
        for _ in 0..10 {
            assert_eq!(a.charge(victim, 0), Ok(()));
        }
        assert_eq!(a.tracked(), 1);
    }

    #[test]
    fn many_signers_cannot_grow_the_table_or_escape_the_rate() {
        let mut a = Admission::new(limits(2, 60, 50));
        let mut admitted = 0;
        for i in 0..1_000u32 {
            let mut secret = [0u8; 32];
            secret[..4].copy_from_slice(&i.to_le_bytes());
            let k = Payer::Signer(Keypair::from_secret(secret).public());
            // Each key spends one of its two tokens, so none is idle.
            admitted += usize::from(a.charge(k, u64::from(i)).is_ok());
            assert!(a.tracked() <= 50);
        }
        // 50 tracked keys, then one shared bucket of 2.
        assert_eq!(admitted, 52);
    }
}
