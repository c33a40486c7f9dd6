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
    /// The registry's hotspots as the explorer may know them: each at its resolution-8 cell
    /// at the finest (the chain holds no finer; an operator's registry file may), never the
    /// commitment's reveal. Applying it twice changes nothing.
    pub(super) fn public(list: Vec<HotspotInfo>) -> Vec<HotspotInfo> {
        list.into_iter()
            .map(|h| HotspotInfo {
                location: h.public_location(),
                placement: None,
                ..h
            })
            .collect()
    }

    pub(super) fn from_list(list: Vec<HotspotInfo>) -> Hotspots {
        let list = Self::public(list);
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

#[cfg(test)]
mod tests {
    use hexproof_proto::{Keypair, location, region};

    use super::*;

    /// The explorer knows each hotspot at its resolution-8 cell at the finest: an exact cell
    /// (an operator's registry file) is coarsened, a chain record's commitment is never
    /// opened, and a reveal the judge stored is not part of what it is given.
    #[test]
    fn the_explorer_knows_no_cell_finer_than_resolution_8() {
        let key = Keypair::generate();
        let exact = h3o::LatLng::new(52.52, 13.405)
            .unwrap()
            .to_cell(Resolution::Twelve);
        let file = HotspotInfo {
            pubkey: key.public(),
            owner: key.public(),
            location: Some(exact),
            gain_ddbi: 30,
            elevation_m: 5,
            asserted_at_ns: 0,
            region: &region::EU868,
            placement: None,
        };
        let chain = HotspotInfo {
            location: None,
            placement: location::placement(&key, exact).map(hexproof_poc::Placed::at),
            ..file.clone()
        };
        // A record located by a reveal (what judging makes of it) is still served coarse.
        let revealed = HotspotInfo {
            location: Some(exact),
            ..chain.clone()
        };
        let public = exact.parent(Resolution::Eight);
        for h in [file, chain, revealed] {
            let shown = Hotspots::public(vec![h]);
            assert_eq!(shown[0].location, public);
            assert_eq!(shown[0].placement, None);
            assert_eq!(Hotspots::public(shown.clone()), shown, "idempotent");
            let all = Hotspots::from_list(shown);
            assert!(all.cells(Resolution::Nine).is_empty());
            assert_eq!(all.cells(Resolution::Eight), &[public.unwrap()]);
        }
    }
}
