//! What the maker sends for each [`Action`]: the program's instructions with the maker as fee
//! payer (and payer of rent and the onboarding fee), what they will cost it, and the checks
//! against the chain's state that spare it a transaction the program would refuse (or one
//! already applied: asked twice, the answer is "done").

use hexproof_client::{Chain, Config, Hotspot, Instruction, Pubkey, instructions, pda, read, rent};
use hexproof_proto::maker::{Action, Site, decode_hash};

use super::MakerError;

/// Lamports a signature costs (Solana's base fee).
const SIGNATURE_FEE: u64 = 5_000;
/// Compute units a transaction is charged priority for (the default limit per instruction).
const UNITS_PER_INSTRUCTION: u64 = 200_000;

/// Instructions to send and what they cost the maker.
#[derive(Debug)]
pub struct Plan {
    pub instructions: Vec<Instruction>,
    pub cost: u64,
}

fn key(k: &hexproof_proto::PublicKey) -> Pubkey {
    Pubkey::new_from_array(k.to_bytes())
}

async fn exists(chain: &Chain, address: &Pubkey) -> Result<bool, MakerError> {
    Ok(chain.account(address).await?.is_some())
}

/// Checks `action` against the chain and builds what the maker sends for it, paid by `maker`.
pub async fn plan(
    chain: &Chain,
    maker: &Pubkey,
    priority_fee: u64,
    action: &Action,
) -> Result<Plan, MakerError> {
    let config = read::config(chain)
        .await?
        .ok_or_else(|| MakerError::Refused("the program is not initialized".into()))?;
    if config.paused {
        return Err(MakerError::Refused(
            "the program is paused by its admin: try again later".into(),
        ));
    }
    let hotspot_key = key(action.hotspot());
    let record = read::hotspot(chain, &hotspot_key).await?;
    let signatures = 1 + action.signers().len() as u64;
    let mut cost = SIGNATURE_FEE * signatures;
    let mut ixs = Vec::new();
    match action {
        Action::Onboard { owner, site, .. } => {
            if let Some(h) = &record {
                return Err(done_or_taken(h, owner));
            }
            check_site(&config, site)?;
            let owner = key(owner);
            // A key's first onboarding only: decommissioning returns the record's rent to the
            // owner, so paying again would let one buyer cycle the maker's budget away.
            if read::ledger(chain, &hotspot_key).await?.is_some() {
                return Err(MakerError::Refused(
                    "this key was onboarded before: its maker pays for the first onboarding \
                     only; its owner onboards it again (`oracle chain onboard`)"
                        .into(),
                ));
            }
            cost += config.onboarding_fee + rent::hotspot() + rent::ledger();
            if !exists(chain, &pda::owner_tokens(&owner)).await? {
                cost += rent::token_account();
            }
            ixs.push(instructions::onboard_hotspot_paid_by(
                &hotspot_key,
                &owner,
                maker,
                location(site),
                site.gain_ddbi,
                site.elevation_m,
            ));
        }
        Action::Assert { owner, site, .. } => {
            let h = owned_by(record, owner)?;
            if (
                h.location,
                h.location_commitment,
                h.gain_ddbi,
                h.elevation_m,
            ) == (
                site.location,
                site.commitment,
                site.gain_ddbi,
                site.elevation_m,
            ) {
                return Err(MakerError::Done(
                    "the hotspot is asserted there with this antenna already".into(),
                ));
            }
            check_site(&config, site)?;
            ixs.push(instructions::assert_location(
                &key(owner),
                &hotspot_key,
                location(site),
                site.gain_ddbi,
                site.elevation_m,
            ));
        }
        Action::Transfer {
            owner, new_owner, ..
        } => {
            let h = owned_by(record, owner)?;
            // An offer lapses a week after it was made; one still open is done already.
            if h.pending_owner == key(new_owner) && h.pending_owner_until > super::now_secs() {
                return Err(MakerError::Done(format!(
                    "the hotspot is offered to {new_owner} already: it takes it with `accept`"
                )));
            }
            ixs.push(instructions::transfer_hotspot(
                &key(owner),
                &hotspot_key,
                &key(new_owner),
            ));
        }
        Action::Accept { new_owner, .. } => {
            let h = record.ok_or_else(not_registered)?;
            let new_owner = key(new_owner);
            if h.owner == new_owner {
                return Err(MakerError::Done("the hotspot is yours already".into()));
            }
            if h.pending_owner != new_owner {
                return Err(MakerError::Refused(
                    "the hotspot is not offered to this key: its owner offers it with `transfer`"
                        .into(),
                ));
            }
            if !exists(chain, &pda::owner_tokens(&new_owner)).await? {
                cost += rent::token_account();
            }
            // The new owner's token account first, at the maker's expense: the program would
            // otherwise create it at the new owner's.
            ixs.push(instructions::create_owner_tokens(maker, &new_owner));
            ixs.push(instructions::accept_hotspot(&new_owner, &hotspot_key));
        }
        Action::Claim {
            lifetime, proof, ..
        } => {
            let ledger = read::ledger(chain, &hotspot_key)
                .await?
                .ok_or_else(not_registered)?;
            let proof = proof
                .iter()
                .map(|s| decode_hash(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| MakerError::BadRequest(e.to_string()))?;
            if proof.len() > hexproof_commitment::MAX_PROOF_LEN {
                return Err(MakerError::BadRequest("the proof is too long".into()));
            }
            let leaf = hexproof_commitment::leaf(&hotspot_key.to_bytes(), *lifetime);
            if !hexproof_commitment::verify_proof(&config.root, &leaf, &proof) {
                return Err(MakerError::Refused(format!(
                    "this proof is not of the chain's newest root (epoch {}): the explorer may \
                     not have reached that epoch, or the chain not yet; ask again after the \
                     next epoch is submitted",
                    config.epoch
                )));
            }
            if *lifetime <= ledger.claimed {
                return Err(MakerError::Done(format!(
                    "nothing to claim: {} base units are paid to {} already",
                    ledger.claimed, ledger.owner
                )));
            }
            if !exists(chain, &pda::owner_tokens(&ledger.owner)).await? {
                cost += rent::token_account();
                ixs.push(instructions::create_owner_tokens(maker, &ledger.owner));
            }
            ixs.push(instructions::claim(
                &hotspot_key,
                &ledger.owner,
                *lifetime,
                proof,
            ));
        }
    }
    let units = UNITS_PER_INSTRUCTION * (ixs.len() as u64 + u64::from(priority_fee > 0));
    cost += (priority_fee * units).div_ceil(1_000_000);
    Ok(Plan {
        instructions: ixs,
        cost,
    })
}

fn not_registered() -> MakerError {
    MakerError::Refused("the hotspot is not registered: onboard it first".into())
}

fn done_or_taken(h: &Hotspot, owner: &hexproof_proto::PublicKey) -> MakerError {
    if h.owner == key(owner) {
        MakerError::Done(format!("the hotspot is registered to {owner} already"))
    } else {
        MakerError::Refused(format!(
            "the hotspot is registered to another owner ({}): only a transfer moves it",
            h.owner
        ))
    }
}

fn owned_by(
    record: Option<Hotspot>,
    owner: &hexproof_proto::PublicKey,
) -> Result<Hotspot, MakerError> {
    let h = record.ok_or_else(not_registered)?;
    if h.owner != key(owner) {
        return Err(MakerError::Refused(format!(
            "the hotspot belongs to {}, not to {owner}",
            h.owner
        )));
    }
    Ok(h)
}

fn location(site: &Site) -> instructions::Location {
    instructions::Location {
        cell: site.location,
        commitment: site.commitment,
    }
}

/// What the program checks of a site, before the maker pays for a refusal.
fn check_site(config: &Config, site: &Site) -> Result<(), MakerError> {
    let cell = h3o::CellIndex::try_from(site.location)
        .ok()
        .filter(|c| c.resolution() == hexproof_proto::location::PUBLIC_RESOLUTION);
    if cell.is_none() {
        return Err(MakerError::BadRequest(format!(
            "{:x} is not an H3 resolution-8 cell (the chain keeps no finer cell: the exact one \
             goes in as a commitment)",
            site.location
        )));
    }
    if site.commitment == [0; 32] {
        return Err(MakerError::BadRequest(
            "no commitment to the exact cell".into(),
        ));
    }
    let a = &config.antenna;
    if !a.gain_ok(site.gain_ddbi) {
        return Err(MakerError::BadRequest(format!(
            "antenna gain {} dBi is outside {}–{} dBi",
            f64::from(site.gain_ddbi) / 10.0,
            f64::from(a.min_gain_ddbi) / 10.0,
            f64::from(a.max_gain_ddbi) / 10.0
        )));
    }
    if !a.elevation_ok(site.elevation_m) {
        return Err(MakerError::BadRequest(format!(
            "elevation {} m is outside {}–{} m",
            site.elevation_m, a.min_elevation_m, a.max_elevation_m
        )));
    }
    Ok(())
}
