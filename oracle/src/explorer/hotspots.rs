//! The registered hotspots as the explorer finds them: sorted by key, with their base58 keys, a
//! key lookup, and for every resolution up to the assertion's (12) the hotspots in each occupied
//! cell, so a hex of any size is found without scanning the registry, and the occupied cells of
//! each resolution in order, so the map's cells come in pages. Rebuilt when the registry
//! changes.

use std::collections::HashMap;

use h3o::{CellIndex, Resolution};
use hexproof_poc::HotspotInfo;

/// Whether a hotspot asserted at `location` lies in `cell` (any resolution).
pub fn in_cell(location: Option<CellIndex>, cell: CellIndex) -> bool {
    location.is_some_and(|l| {
        l.resolution() >= cell.resolution() && l.parent(cell.resolution()) == Some(cell)
    })
}

#[derive(Debug, Default)]
pub(super) struct Hotspots {
    pub(super) list: Vec<HotspotInfo>,
    pub(super) keys: Vec<String>,
    by_key: HashMap<String, usize>,
    by_cell: HashMap<CellIndex, Vec<usize>>,
    /// Occupied cells by resolution (0..=15), each list in cell order.
    cells: Vec<Vec<CellIndex>>,
}

impl Hotspots {
    pub(super) fn from_list(list: Vec<HotspotInfo>) -> Hotspots {
        let keys: Vec<String> = list.iter().map(|h| h.pubkey.to_string()).collect();
        let by_key = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect();
        let mut by_cell: HashMap<CellIndex, Vec<usize>> = HashMap::new();
        for (i, h) in list.iter().enumerate() {
            let Some(location) = h.location else { continue };
            for res in Resolution::range(Resolution::Zero, location.resolution()) {
                if let Some(parent) = location.parent(res) {
                    by_cell.entry(parent).or_default().push(i);
                }
            }
        }
        let mut cells = vec![Vec::new(); 16];
        for cell in by_cell.keys() {
            cells[usize::from(u8::from(cell.resolution()))].push(*cell);
        }
        for list in &mut cells {
            list.sort_unstable();
        }
        Hotspots {
            list,
            keys,
            by_key,
            by_cell,
            cells,
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&HotspotInfo> {
        self.by_key.get(key).map(|&i| &self.list[i])
    }

    /// Positions of the hotspots asserted inside `cell`, in key order.
    pub(super) fn in_cell(&self, cell: CellIndex) -> &[usize] {
        self.by_cell.get(&cell).map_or(&[], Vec::as_slice)
    }

    /// The occupied cells at `res`, in cell order.
    pub(super) fn cells(&self, res: Resolution) -> &[CellIndex] {
        self.cells
            .get(usize::from(u8::from(res)))
            .map_or(&[], Vec::as_slice)
    }
}
