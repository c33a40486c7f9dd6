//! The epoch's links: per (beaconer, witness) what the witness reported of the beaconer's
//! beacons, and the groups of hotspots the links connect.

use std::collections::{BTreeMap, BTreeSet};

use hexproof_proto::PublicKey;

use super::{FastMap, Heard, MAX_LOSS_DDB, Place, Reception, log_milli, metres};
use crate::HotspotInfo;

/// What one witness reported of one beaconer's beacons.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Link {
    /// Σ loss the two sides' statements imply, dB x 10, over `n` receptions.
    pub loss: i64,
    pub n: i64,
    /// Of them, judged valid, and their Σ loss.
    pub valid: i64,
    pub valid_loss: i64,
    /// Log distance between the asserted cells ([`super::log_milli`]).
    pub x: i64,
}

impl Link {
    /// Mean loss, dB x 10.
    pub fn mean(&self) -> i64 {
        self.loss / self.n.max(1)
    }
}

/// Every link of the epoch, keyed (beaconer, witness): receptions the rules did not reject for
/// their geometry, between hotspots with asserted places; and what every reception says of
/// who listens and who was heard.
#[derive(Debug, Default)]
pub struct Links {
    pub by_pair: BTreeMap<(PublicKey, PublicKey), Link>,
    /// Every (beaconer, witness) that reported any reception, whatever its verdict, sorted.
    pub reported: Vec<(PublicKey, PublicKey)>,
    /// Per witness, its valid receptions; per beaconer, whether one was valid.
    pub heard_valid: BTreeMap<PublicKey, u64>,
    pub witnessed: BTreeSet<PublicKey>,
    /// Each key's number and each pair's link by the two numbers: [`Links::get`] is called
    /// for the other direction of every link (millions in a large network), where comparing
    /// 64-byte keys down a tree cost seconds.
    number: FastMap<PublicKey, u32>,
    by_number: FastMap<u64, Link>,
}

impl Links {
    /// From the receptions in canonical order (by beacon): one pass, each beaconer looked up
    /// once per beacon, pairs summed in a hash map by the hotspots' numbers and sorted once
    /// (millions of receptions in a large network). Receptions involving a key not in
    /// `hotspots` say nothing (such reports are not stored).
    pub fn new(receptions: &[&Reception], hotspots: &[HotspotInfo]) -> Links {
        // Numbered in key order, so that pairs sorted by number are sorted by key.
        // (A key listed twice: the last entry counts, as everywhere in detection.)
        let mut sorted: Vec<&HotspotInfo> = hotspots.iter().collect();
        sorted.sort_by_key(|h| h.pubkey);
        let by_key: Vec<&HotspotInfo> = sorted
            .chunk_by(|a, b| a.pubkey == b.pubkey)
            .filter_map(|run| run.last().copied())
            .collect();
        let number: FastMap<PublicKey, u32> = by_key
            .iter()
            .enumerate()
            .map(|(i, h)| (h.pubkey, i as u32))
            .collect();
        let info: Vec<(&HotspotInfo, Option<Place>)> = by_key
            .iter()
            .map(|h| (*h, h.location.map(Place::of)))
            .collect();
        // Every reported pair (receptions of any verdict: `n` counts those judged for more
        // than their geometry, between located hotspots).
        let mut pairs: FastMap<u64, Link> = FastMap::default();
        let mut heard_valid = vec![0u64; info.len()];
        let mut witnessed = vec![false; info.len()];
        for run in receptions.chunk_by(|a, b| a.beacon == b.beacon) {
            let Some(&bi) = number.get(&run[0].beaconer) else {
                continue;
            };
            let (bh, bp) = info[bi as usize];
            for r in run {
                let Some(&wi) = number.get(&r.witness) else {
                    continue;
                };
                if r.beaconer != bh.pubkey {
                    continue; // one beacon id under two keys: not a beacon anyone sent
                }
                let (wh, wp) = info[wi as usize];
                let e = pairs
                    .entry((u64::from(bi) << 32) | u64::from(wi))
                    .or_insert_with(|| Link {
                        x: match (bp, wp) {
                            (Some(bp), Some(wp)) => log_milli(metres(&bp, &wp)),
                            _ => 0,
                        },
                        ..Link::default()
                    });
                if r.heard == Heard::Valid {
                    heard_valid[wi as usize] += 1;
                    witnessed[bi as usize] = true;
                }
                if r.heard == Heard::Other || bp.is_none() || wp.is_none() {
                    continue;
                }
                // Signed by hotspots, so bounded to what any radio link can be (0–400 dB):
                // sums and squares of losses then stay far inside i64 whatever a report claims.
                let loss = (i64::from(r.tx_power_ddbm)
                    + i64::from(bh.gain_ddbi)
                    + i64::from(wh.gain_ddbi)
                    - i64::from(r.rssi_ddbm))
                .clamp(0, MAX_LOSS_DDB);
                e.loss += loss;
                e.n += 1;
                if r.heard == Heard::Valid {
                    e.valid += 1;
                    e.valid_loss += loss;
                }
            }
        }
        let key = |i: u64| info[i as usize].0.pubkey;
        let by_number: FastMap<u64, Link> = pairs
            .iter()
            .filter(|(_, l)| l.n > 0)
            .map(|(p, l)| (*p, *l))
            .collect();
        let mut all: Vec<(u64, Link)> = pairs.into_iter().collect();
        all.sort_unstable_by_key(|(pair, _)| *pair);
        let reported: Vec<(PublicKey, PublicKey)> = all
            .iter()
            .map(|(pair, _)| (key(pair >> 32), key(pair & 0xFFFF_FFFF)))
            .collect();
        debug_assert!(reported.is_sorted());
        Links {
            by_pair: all
                .into_iter()
                .filter(|(_, l)| l.n > 0)
                .map(|(pair, link)| ((key(pair >> 32), key(pair & 0xFFFF_FFFF)), link))
                .collect(),
            reported,
            heard_valid: (0..info.len())
                .filter(|i| heard_valid[*i] > 0)
                .map(|i| (info[i].0.pubkey, heard_valid[i]))
                .collect(),
            witnessed: (0..info.len())
                .filter(|i| witnessed[*i])
                .map(|i| info[i].0.pubkey)
                .collect(),
            number,
            by_number,
        }
    }

    /// The link `witness` reported of `beaconer`'s beacons (what [`Links::by_pair`] holds).
    pub fn get(&self, beaconer: &PublicKey, witness: &PublicKey) -> Option<&Link> {
        let (b, w) = (self.number.get(beaconer)?, self.number.get(witness)?);
        self.by_number.get(&((u64::from(*b) << 32) | u64::from(*w)))
    }

    /// Whether `witness` reported any reception of `beaconer`'s beacons.
    pub fn reported(&self, beaconer: &PublicKey, witness: &PublicKey) -> bool {
        self.reported.binary_search(&(*beaconer, *witness)).is_ok()
    }

    /// Every (beaconer, witness) of [`Links::reported`] with this beaconer, sorted by witness.
    pub fn reported_by(&self, beaconer: &PublicKey) -> &[(PublicKey, PublicKey)] {
        let start = self.reported.partition_point(|(b, _)| b < beaconer);
        let end = start + self.reported[start..].partition_point(|(b, _)| b == beaconer);
        &self.reported[start..end]
    }

    /// Hotspots that reported a valid reception.
    pub fn listening(&self) -> impl Iterator<Item = &PublicKey> {
        self.heard_valid.keys()
    }
}

/// The connected groups of hotspots, by valid receptions either way.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    /// Each hotspot that took part in a reception: its group's number, the largest group
    /// (most hotspots; the first key breaks ties) numbered 0.
    pub of: BTreeMap<PublicKey, usize>,
    /// Hotspots per group, by number.
    pub sizes: Vec<usize>,
}

impl Groups {
    /// Hotspots in `k`'s group (1 for a key in none).
    pub fn size_of(&self, k: &PublicKey) -> usize {
        self.of.get(k).map_or(1, |g| self.sizes[*g])
    }
}

/// The groups: a ring without radio is a group of its own, whatever it asserts: no radio
/// outside it hears it or is heard by it.
pub fn groups(links: &Links) -> Groups {
    let mut index: BTreeMap<PublicKey, usize> = BTreeMap::new();
    for (b, w) in links.by_pair.keys() {
        let n = index.len();
        index.entry(*b).or_insert(n);
        let n = index.len();
        index.entry(*w).or_insert(n);
    }
    let mut parent: Vec<usize> = (0..index.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for ((b, w), link) in &links.by_pair {
        if link.valid == 0 {
            continue;
        }
        let (a, b) = (index[b], index[w]);
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let roots: Vec<usize> = (0..parent.len()).map(|i| root(&mut parent, i)).collect();
    let mut size: BTreeMap<usize, usize> = BTreeMap::new();
    for r in &roots {
        *size.entry(*r).or_default() += 1;
    }
    // Number groups by size, largest first (ties: smallest root, i.e. first key in order).
    let mut order: Vec<(usize, usize)> = size.into_iter().map(|(r, n)| (n, r)).collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let number: BTreeMap<usize, usize> = order
        .iter()
        .enumerate()
        .map(|(i, (_, r))| (*r, i))
        .collect();
    Groups {
        of: index
            .into_iter()
            .map(|(k, i)| (k, number[&roots[i]]))
            .collect(),
        sizes: order.iter().map(|(n, _)| *n).collect(),
    }
}
