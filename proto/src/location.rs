//! Location privacy: the chain holds a hotspot's resolution-8 cell (public) and a salted
//! commitment to its exact resolution-12 cell; the hotspot's signed reports reveal the cell and
//! salt to the oracles, who check them against the commitment.
//!
//! The salt is `sha256(SALT_DOMAIN || signature)`, the hotspot key's (deterministic ed25519)
//! signature over `SALT_DOMAIN || cell`: only the key can make it, the agent re-derives it
//! from its key and configured cell at every start (nothing more to keep secret), and without
//! it nobody can test the 2,401 resolution-12 cells of a public resolution-8 cell against the
//! commitment. The commitment binds the hotspot key too, so one hotspot's reveal cannot stand
//! for another's.
//!
//! Pure functions; data enters as a key and a cell or as a received [`v1::LocationReveal`].

use h3o::{CellIndex, Resolution};
use sha2::{Digest, Sha256};

use crate::{
    keys::{Keypair, PublicKey},
    v1,
};

/// The resolution the chain and every public surface hold at most.
pub const PUBLIC_RESOLUTION: Resolution = Resolution::Eight;
/// The resolution hotspots assert and the oracles judge on.
pub const EXACT_RESOLUTION: Resolution = Resolution::Twelve;

const SALT_DOMAIN: &[u8] = b"hexproof.v1.location-salt\0";
const COMMITMENT_DOMAIN: &[u8] = b"hexproof.v1.location-commitment\0";

/// What the chain holds of a hotspot's location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Placement {
    /// The exact cell's resolution-8 parent.
    pub public_cell: CellIndex,
    /// sha256(domain || hotspot key || exact cell || salt).
    pub commitment: [u8; 32],
}

/// Why a reveal does not open a hotspot's commitment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevealError {
    #[error("the report reveals no location")]
    Missing,
    #[error("the revealed location {0:#x} is not a resolution-12 cell")]
    NotExact(u64),
    #[error("the salt is {0} bytes, not 32")]
    BadSalt(usize),
    #[error("the revealed cell is not inside the hotspot's public cell")]
    OutsidePublicCell,
    #[error("the revealed cell and salt do not match the hotspot's on-chain commitment")]
    Mismatch,
}

/// The salt only `key` can derive for `cell`.
pub fn salt(key: &Keypair, cell: CellIndex) -> [u8; 32] {
    let mut message = SALT_DOMAIN.to_vec();
    message.extend_from_slice(&u64::from(cell).to_le_bytes());
    let signature = key.sign(&message);
    Sha256::new()
        .chain_update(SALT_DOMAIN)
        .chain_update(signature)
        .finalize()
        .into()
}

/// The commitment to `cell` under `salt` for `hotspot`.
pub fn commitment(hotspot: &PublicKey, cell: CellIndex, salt: &[u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update(COMMITMENT_DOMAIN)
        .chain_update(hotspot.as_bytes())
        .chain_update(u64::from(cell).to_le_bytes())
        .chain_update(salt)
        .finalize()
        .into()
}

/// Where an exact cell is as the chain holds it, for `key`'s hotspot. `None` when `cell` is
/// not a resolution-12 cell.
pub fn placement(key: &Keypair, cell: CellIndex) -> Option<Placement> {
    if cell.resolution() != EXACT_RESOLUTION {
        return None;
    }
    Some(Placement {
        public_cell: cell.parent(PUBLIC_RESOLUTION)?,
        commitment: commitment(&key.public(), cell, &salt(key, cell)),
    })
}

/// The reveal `key`'s reports carry for `cell`.
pub fn reveal(key: &Keypair, cell: CellIndex) -> v1::LocationReveal {
    v1::LocationReveal {
        cell: u64::from(cell),
        salt: salt(key, cell).to_vec(),
    }
}

/// The exact cell `reveal` opens `placement` to, for `hotspot`.
pub fn check(
    hotspot: &PublicKey,
    reveal: Option<&v1::LocationReveal>,
    placement: &Placement,
) -> Result<CellIndex, RevealError> {
    let reveal = reveal.ok_or(RevealError::Missing)?;
    let cell = CellIndex::try_from(reveal.cell)
        .ok()
        .filter(|c| c.resolution() == EXACT_RESOLUTION)
        .ok_or(RevealError::NotExact(reveal.cell))?;
    let salt: [u8; 32] = reveal
        .salt
        .as_slice()
        .try_into()
        .map_err(|_| RevealError::BadSalt(reveal.salt.len()))?;
    if cell.parent(PUBLIC_RESOLUTION) != Some(placement.public_cell) {
        return Err(RevealError::OutsidePublicCell);
    }
    if commitment(hotspot, cell, &salt) != placement.commitment {
        return Err(RevealError::Mismatch);
    }
    Ok(cell)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell() -> CellIndex {
        h3o::LatLng::new(52.52, 13.405)
            .unwrap()
            .to_cell(EXACT_RESOLUTION)
    }

    #[test]
    fn the_keys_reveal_opens_its_commitment_and_nothing_else_does() {
        let key = Keypair::generate();
        let other = Keypair::generate();
        let at = cell();
        let placed = placement(&key, at).unwrap();
        assert_eq!(placed.public_cell.resolution(), PUBLIC_RESOLUTION);
        assert_eq!(at.parent(PUBLIC_RESOLUTION), Some(placed.public_cell));
        let good = reveal(&key, at);
        assert_eq!(check(&key.public(), Some(&good), &placed), Ok(at));
        // Deterministic: the agent re-derives the same salt at every start.
        assert_eq!(placement(&key, at), Some(placed));

        assert_eq!(
            check(&key.public(), None, &placed),
            Err(RevealError::Missing)
        );
        // Another hotspot's reveal of the same cell, or this reveal claimed by another key.
        let theirs = reveal(&other, at);
        assert_eq!(
            check(&key.public(), Some(&theirs), &placed),
            Err(RevealError::Mismatch)
        );
        assert_eq!(
            check(&other.public(), Some(&good), &placed),
            Err(RevealError::Mismatch)
        );
        // A neighbouring exact cell inside the same public cell, with the right salt for it
        // from another key, or with this key's salt: both refused.
        let neighbour = at
            .grid_disk::<Vec<_>>(1)
            .into_iter()
            .find(|c| *c != at && c.parent(PUBLIC_RESOLUTION) == Some(placed.public_cell))
            .unwrap();
        let moved = v1::LocationReveal {
            cell: u64::from(neighbour),
            salt: good.salt.clone(),
        };
        assert_eq!(
            check(&key.public(), Some(&moved), &placed),
            Err(RevealError::Mismatch)
        );
        // A cell far away, the public cell itself, junk and short salts.
        let far = h3o::LatLng::new(40.0, -3.7)
            .unwrap()
            .to_cell(EXACT_RESOLUTION);
        let far = reveal(&key, far);
        assert_eq!(
            check(&key.public(), Some(&far), &placed),
            Err(RevealError::OutsidePublicCell)
        );
        let coarse = v1::LocationReveal {
            cell: u64::from(placed.public_cell),
            salt: good.salt.clone(),
        };
        assert!(matches!(
            check(&key.public(), Some(&coarse), &placed),
            Err(RevealError::NotExact(_))
        ));
        for bits in [0, u64::MAX, u64::from(at) | (1 << 56)] {
            let junk = v1::LocationReveal {
                cell: bits,
                salt: good.salt.clone(),
            };
            assert!(matches!(
                check(&key.public(), Some(&junk), &placed),
                Err(RevealError::NotExact(_))
            ));
        }
        let short = v1::LocationReveal {
            cell: good.cell,
            salt: good.salt[..31].to_vec(),
        };
        assert_eq!(
            check(&key.public(), Some(&short), &placed),
            Err(RevealError::BadSalt(31))
        );
        assert_eq!(placement(&key, placed.public_cell), None);
    }
}
