//! The owner's commands (`onboard`, `assert`, `transfer`, `accept`, `claim`): each asks the
//! hotspot's maker to pay for one program instruction, so that the owner needs no SOL.
//!
//! Data enters from the owner (keys from Solana CLI key files, a site, a new owner) and from two
//! services over HTTP: the maker (`hexproof_proto::maker`'s API) and, for claims, the explorer
//! (the lifetime amount and proof of the newest epoch). Before any key signs, the message the
//! maker returned is read ([`hexproof_proto::maker::check_message`]): it must do what the owner
//! asked and nothing else, with the maker paying. Data leaves as signatures sent back to the
//! maker, and an [`Outcome`] in words. An expired blockhash or an unreachable cluster is
//! prepared and signed again (a transaction is applied whole or not at all, so nothing is
//! half-done); a request already applied is reported as done.

use std::time::Duration;

use hexproof_proto::{
    Keypair, PublicKey,
    maker::{
        Action, MessageError, Prepared, Refusal, RefusalCode, SignatureOf, Site, Submit, Submitted,
        check_message,
    },
};
use serde::Deserialize;

use crate::http::{HttpError, Service, clean};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the maker refused ({code:?}): {error}")]
    Maker { code: RefusalCode, error: String },
    #[error("the maker's message was not signed: {0}")]
    Message(#[from] MessageError),
    #[error("the maker asks {0} to sign, which this command does not sign with")]
    UnexpectedSigner(PublicKey),
    #[error("{0}")]
    BadSite(String),
    #[error("the maker could not send it after {0} attempts: {1}")]
    GaveUp(u32, String),
}

/// How it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent and confirmed.
    Sent {
        signature: String,
        /// What the maker paid, lamports.
        cost: u64,
    },
    /// It was so already (asked twice, or an earlier reply was lost).
    AlreadyDone(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Sent { signature, cost } => write!(
                f,
                "done: transaction {signature} (the maker paid {:.6} SOL)",
                *cost as f64 / 1e9
            ),
            Outcome::AlreadyDone(why) => write!(f, "nothing to do: {why}"),
        }
    }
}

/// Times one request is prepared and signed again after an expired blockhash or an
/// unreachable cluster.
const ATTEMPTS: u32 = 4;

/// A site from the owner's words: `LAT,LNG` in degrees or an H3 cell in hex (any resolution
/// down to 12: the cell is taken at resolution 12, its centre child for coarser cells),
/// antenna gain in dBi (one decimal) and elevation above ground in metres. The site names the
/// resolution-8 cell and `hotspot`'s commitment to the exact cell, which is returned beside
/// it: the agent's `location` setting, which its reports reveal to the oracles only.
pub fn site(
    hotspot: &Keypair,
    location: &str,
    gain_dbi: f64,
    elevation_m: i32,
) -> Result<(Site, h3o::CellIndex), OwnerError> {
    use h3o::{CellIndex, LatLng, Resolution};
    let bad = |m: String| OwnerError::BadSite(m);
    let cell = if let Some((lat, lng)) = location.split_once(',') {
        let lat: f64 = lat
            .trim()
            .parse()
            .map_err(|_| bad(format!("latitude {lat:?}")))?;
        let lng: f64 = lng
            .trim()
            .parse()
            .map_err(|_| bad(format!("longitude {lng:?}")))?;
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lng) {
            return Err(bad(format!(
                "{location:?} is not on Earth (LAT,LNG in degrees)"
            )));
        }
        LatLng::new(lat, lng)
            .map_err(|e| bad(format!("{location:?}: {e}")))?
            .to_cell(Resolution::Twelve)
    } else {
        let cell = u64::from_str_radix(location.trim(), 16)
            .ok()
            .and_then(|i| CellIndex::try_from(i).ok())
            .ok_or_else(|| bad(format!("{location:?} is neither LAT,LNG nor an H3 cell")))?;
        if cell.resolution() > Resolution::Twelve {
            return Err(bad(format!("{location:?} is finer than resolution 12")));
        }
        cell.center_child(Resolution::Twelve)
            .ok_or_else(|| bad(format!("{location:?} has no resolution-12 cell")))?
    };
    if !gain_dbi.is_finite() || gain_dbi.abs() > 100.0 {
        return Err(bad(format!("antenna gain {gain_dbi} dBi")));
    }
    let placed = hexproof_proto::location::placement(hotspot, cell)
        .ok_or_else(|| bad(format!("{location:?} has no resolution-12 cell")))?;
    Ok((
        Site {
            location: u64::from(placed.public_cell),
            commitment: placed.commitment,
            gain_ddbi: (gain_dbi * 10.0).round() as i32,
            elevation_m,
        },
        cell,
    ))
}

/// The maker's refusal in a `Refused` answer.
fn refusal(e: &HttpError) -> Option<Refusal> {
    match e {
        HttpError::Refused { body, .. } => serde_json::from_slice::<Refusal>(body).ok(),
        _ => None,
    }
}

/// Has the maker at `maker` pay for `action`, signing with `keys` (the keys the action needs
/// besides the maker's).
pub async fn act(
    maker: &Service,
    action: &Action,
    keys: &[&Keypair],
) -> Result<Outcome, OwnerError> {
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt - 1))).await;
        }
        let prepared: Prepared = match maker.post("/v1/prepare", action).await {
            Ok(p) => p,
            Err(e) => match refusal(&e) {
                Some(r) if r.code == RefusalCode::Done => {
                    return Ok(Outcome::AlreadyDone(clean(&r.error)));
                }
                Some(r) if r.code == RefusalCode::Unavailable => {
                    last = clean(&r.error);
                    continue;
                }
                Some(r) => {
                    return Err(OwnerError::Maker {
                        code: r.code,
                        error: clean(&r.error),
                    });
                }
                None => return Err(e.into()),
            },
        };
        let signers: Vec<PublicKey> = keys.iter().map(|k| k.public()).collect();
        if let Some(k) = prepared.signers.iter().find(|k| !signers.contains(k)) {
            return Err(OwnerError::UnexpectedSigner(*k));
        }
        let bytes = check_message(&prepared.message, action, &signers)?;
        let submit = Submit {
            message: prepared.message.clone(),
            signatures: keys
                .iter()
                .map(|k| SignatureOf {
                    pubkey: k.public(),
                    signature: bs58::encode(k.sign(&bytes)).into_string(),
                })
                .collect(),
        };
        match maker.post::<_, Submitted>("/v1/submit", &submit).await {
            Ok(s) => {
                return Ok(Outcome::Sent {
                    signature: s.signature,
                    cost: prepared.cost_lamports,
                });
            }
            Err(e) => match refusal(&e) {
                Some(r) if matches!(r.code, RefusalCode::Expired | RefusalCode::Unavailable) => {
                    last = clean(&r.error);
                }
                Some(r) if r.code == RefusalCode::Done => {
                    return Ok(Outcome::AlreadyDone(clean(&r.error)));
                }
                Some(r) => {
                    return Err(OwnerError::Maker {
                        code: r.code,
                        error: clean(&r.error),
                    });
                }
                // No answer: whether it was applied is unknown; preparing again finds out
                // (the maker answers "done" for what the chain holds already).
                None if matches!(e, HttpError::Timeout { .. } | HttpError::Http { .. }) => {
                    last = e.to_string();
                }
                None => return Err(e.into()),
            },
        }
    }
    Err(OwnerError::GaveUp(ATTEMPTS, last))
}

/// A claim's facts, from the explorer.
#[derive(Debug, Clone, Deserialize)]
pub struct RewardProof {
    pub epoch: u64,
    pub lifetime: u64,
    pub proof: Vec<String>,
}

/// What the explorer at `explorer` holds for a claim of `hotspot`'s lifetime reward.
pub async fn reward_proof(
    explorer: &Service,
    hotspot: &PublicKey,
) -> Result<RewardProof, OwnerError> {
    let key = crate::status::encode(&hotspot.to_string());
    Ok(explorer.get(&format!("/api/hotspots/{key}/proof")).await?)
}

/// Claims `hotspot`'s lifetime reward to its owner's token account, through the maker, with
/// the newest proof the explorer holds. Returns the proof claimed with and the outcome.
pub async fn claim(
    maker: &Service,
    explorer: &Service,
    hotspot: &PublicKey,
) -> Result<(RewardProof, Outcome), OwnerError> {
    let proof = reward_proof(explorer, hotspot).await?;
    let action = Action::Claim {
        hotspot: *hotspot,
        lifetime: proof.lifetime,
        proof: proof.proof.clone(),
    };
    let outcome = act(maker, &action, &[]).await?;
    Ok((proof, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_is_read_from_coordinates_or_a_cell() {
        let key = Keypair::generate();
        let site = |l: &str, g: f64, e: i32| site(&key, l, g, e);
        let (a, cell) = site("52.52, 13.405", 3.0, 12).unwrap();
        assert_eq!((a.gain_ddbi, a.elevation_m), (30, 12));
        assert_eq!(cell.resolution(), h3o::Resolution::Twelve);
        // What goes to the maker and the chain: the resolution-8 cell and a commitment.
        let public = h3o::CellIndex::try_from(a.location).unwrap();
        assert_eq!(cell.parent(h3o::Resolution::Eight), Some(public));
        let reveal = hexproof_proto::location::reveal(&key, cell);
        let placed = hexproof_proto::location::Placement {
            public_cell: public,
            commitment: a.commitment,
        };
        assert_eq!(
            hexproof_proto::location::check(&key.public(), Some(&reveal), &placed),
            Ok(cell)
        );
        // The same cell in hex, and its res-8 parent (taken at its centre child).
        assert_eq!(site(&format!("{cell:x}"), 3.0, 12).unwrap(), (a, cell));
        let coarse = site(&format!("{public:x}"), 3.0, 12).unwrap();
        assert_eq!(coarse.0.location, a.location);
        assert_eq!(coarse.1.parent(h3o::Resolution::Eight), Some(public));
        for bad in ["", "91,0", "x,1", "zz", "8c2a1072b59ffff1"] {
            assert!(site(bad, 3.0, 0).is_err(), "{bad}");
        }
        assert!(site("1,1", f64::NAN, 0).is_err());
    }
}
