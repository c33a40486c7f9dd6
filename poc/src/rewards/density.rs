//! Hex density scaling in the spirit of HIP-17: where more hotspots crowd an area than the
//! resolution table allows, each of them earns proportionally less.
//!
//! Hotspots are counted at resolution 11 (the parent of their asserted resolution-12 cell).
//! Going up the table's resolutions, a hex's *unclipped* count is the sum of its children's
//! clipped counts; its limit is `min(max, target × max(occupied − neighbours + 1, 1))`, where
//! `occupied` is how many hexes of its 1-ring (itself included) hold at least `target`
//! (unclipped); its *clipped* count is `min(limit, unclipped)`. A hotspot's scale is the product
//! of clipped/unclipped over its ancestors, in millionths, floored at every step. Every value is
//! computed from unclipped counts at the same resolution, so the result does not depend on the
//! order hexes are visited.

use std::collections::HashMap;

use h3o::{CellIndex, Resolution};
use serde::{Deserialize, Serialize};

/// A scale of 1 (no reduction), in millionths.
pub const SCALE_ONE: u64 = 1_000_000;

/// One row of the resolution table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolutionTarget {
    pub resolution: u8,
    /// Occupied 1-ring hexes tolerated before the limit grows.
    pub neighbors: u64,
    /// Hotspots a hex may hold per occupied neighbour beyond `neighbors`.
    pub target: u64,
    /// Hotspots a hex may hold at most.
    pub max: u64,
}

/// The default table: HIP-17's, as amended by HIP-104 (Helium iot-verifier's
/// `HIP104_RES_CONFIG`).
pub fn default_table() -> Vec<ResolutionTarget> {
    [
        (10, 2, 1, 1),
        (9, 2, 1, 1),
        (8, 2, 1, 1),
        (7, 4, 5, 10),
        (6, 4, 25, 50),
        (5, 4, 100, 200),
        (4, 2, 500, 1000),
    ]
    .into_iter()
    .map(|(resolution, neighbors, target, max)| ResolutionTarget {
        resolution,
        neighbors,
        target,
        max,
    })
    .collect()
}

/// The count resolution: hotspots are counted in the resolution-11 parent of their cell.
pub const COUNT_RESOLUTION: Resolution = Resolution::Eleven;

/// Scales (millionths) for each asserted cell, computed over all `cells` (one entry per
/// hotspot; several hotspots may share a cell).
pub fn scales(cells: &[CellIndex], table: &[ResolutionTarget]) -> HashMap<CellIndex, u64> {
    let mut table: Vec<ResolutionTarget> = table
        .iter()
        .copied()
        .filter(|t| (1..COUNT_RESOLUTION as u8).contains(&t.resolution))
        .collect();
    table.sort_by_key(|t| std::cmp::Reverse(t.resolution));

    let mut clipped: HashMap<CellIndex, u64> = HashMap::new();
    for cell in cells {
        if let Some(p) = cell.parent(COUNT_RESOLUTION) {
            *clipped.entry(p).or_default() += 1;
        }
    }
    // (unclipped, clipped) per hex at every table resolution.
    let mut counts: HashMap<CellIndex, (u64, u64)> = HashMap::new();
    let mut below: HashMap<CellIndex, u64> = clipped;
    for row in &table {
        let Ok(res) = Resolution::try_from(row.resolution) else {
            continue;
        };
        let mut unclipped: HashMap<CellIndex, u64> = HashMap::new();
        for (child, count) in &below {
            if let Some(p) = child.parent(res) {
                *unclipped.entry(p).or_default() += count;
            }
        }
        let mut clipped_here = HashMap::with_capacity(unclipped.len());
        for (hex, &count) in &unclipped {
            let occupied = hex
                .grid_disk::<Vec<_>>(1)
                .iter()
                .filter(|h| unclipped.get(h).is_some_and(|&c| c >= row.target))
                .count() as u64;
            let limit = row.max.min(
                row.target
                    .saturating_mul(occupied.saturating_sub(row.neighbors) + 1),
            );
            let c = count.min(limit);
            clipped_here.insert(*hex, c);
            counts.insert(*hex, (count, c));
        }
        below = clipped_here;
    }

    let mut out = HashMap::new();
    for cell in cells {
        if out.contains_key(cell) {
            continue;
        }
        let mut scale = SCALE_ONE;
        for row in &table {
            let Ok(res) = Resolution::try_from(row.resolution) else {
                continue;
            };
            if let Some((unclipped, clipped)) = cell.parent(res).and_then(|p| counts.get(&p))
                && *unclipped > 0
            {
                scale = scale * clipped / unclipped;
            }
        }
        out.insert(*cell, scale);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use h3o::LatLng;

    fn cell(lat: f64, lon: f64) -> CellIndex {
        LatLng::new(lat, lon).unwrap().to_cell(Resolution::Twelve)
    }

    #[test]
    fn a_lone_hotspot_keeps_its_full_scale() {
        let s = scales(&[cell(52.5, 13.4)], &default_table());
        assert_eq!(s[&cell(52.5, 13.4)], SCALE_ONE);
    }

    #[test]
    fn hotspots_crowding_one_resolution_10_hex_share_its_limit_of_one() {
        // Four hotspots in distinct resolution-12 cells of one resolution-10 hex.
        let hex10 = cell(52.5, 13.4).parent(Resolution::Ten).unwrap();
        let cells: Vec<CellIndex> = hex10.children(Resolution::Twelve).take(4).collect();
        let s = scales(&cells, &default_table());
        for c in &cells {
            assert_eq!(s[c], SCALE_ONE / 4);
        }
    }

    #[test]
    fn the_order_of_hotspots_does_not_matter() {
        let mut cells: Vec<CellIndex> = (0..60)
            .map(|i| cell(52.5 + f64::from(i % 7) * 0.003, 13.4 + f64::from(i) * 0.001))
            .collect();
        let a = scales(&cells, &default_table());
        cells.reverse();
        assert_eq!(a, scales(&cells, &default_table()));
        assert!(a.values().all(|&s| s <= SCALE_ONE));
    }
}
