//! Reading the Ed25519 signature-verification instructions of the current transaction.
//!
//! The runtime's Ed25519 precompile verifies every signature listed in such an instruction
//! before the transaction runs; this module only reads what was verified. It insists that each
//! signature, key and message lies in the Ed25519 instruction's own data (instruction index
//! `u16::MAX`): offsets pointing into another instruction are the classic way to make a program
//! believe something was signed that was not.

use anchor_lang::prelude::{AccountInfo, Pubkey, Result};
use solana_instructions_sysvar::{load_current_index_checked, load_instruction_at_checked};

/// Instructions of one transaction the program looks through, at most.
pub const MAX_INSTRUCTIONS: usize = 32;

/// The distinct keys of `allowed` whose signature over exactly `message` the Ed25519 precompile
/// verified in the current transaction (read through the instructions sysvar, which the caller
/// checked by address).
pub fn signers_of(sysvar: &AccountInfo, message: &[u8], allowed: &[Pubkey]) -> Result<Vec<Pubkey>> {
    let current = load_current_index_checked(sysvar)? as usize;
    let mut signed: Vec<Pubkey> = Vec::new();
    for index in 0..MAX_INSTRUCTIONS {
        if index == current {
            continue;
        }
        let Ok(ix) = load_instruction_at_checked(index, sysvar) else {
            break;
        };
        if ix.program_id != solana_sdk_ids::ed25519_program::ID {
            continue;
        }
        let Some(signatures) = verified_signatures(&ix.data) else {
            continue;
        };
        for s in signatures {
            let key = Pubkey::new_from_array(*s.pubkey);
            if s.message == message && allowed.contains(&key) && !signed.contains(&key) {
                signed.push(key);
            }
        }
    }
    Ok(signed)
}

/// One signature the precompile checked: the public key and the signed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified<'a> {
    pub pubkey: &'a [u8; 32],
    pub message: &'a [u8],
}

const OFFSETS_START: usize = 2;
const OFFSETS_LEN: usize = 14;
/// Signatures one instruction may list that we read (a bound for the loop).
pub const MAX_SIGNATURES_PER_INSTRUCTION: usize = 8;

fn u16_at(data: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes([*data.get(at)?, *data.get(at + 1)?]) as usize)
}

/// The signatures of one Ed25519 instruction's data, or `None` if any of them refers outside
/// the instruction or is malformed.
pub fn verified_signatures(data: &[u8]) -> Option<Vec<Verified<'_>>> {
    let count = *data.first()? as usize;
    if count == 0 || count > MAX_SIGNATURES_PER_INSTRUCTION {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let o = OFFSETS_START + i * OFFSETS_LEN;
        let signature_offset = u16_at(data, o)?;
        let signature_ix = u16_at(data, o + 2)?;
        let pubkey_offset = u16_at(data, o + 4)?;
        let pubkey_ix = u16_at(data, o + 6)?;
        let message_offset = u16_at(data, o + 8)?;
        let message_len = u16_at(data, o + 10)?;
        let message_ix = u16_at(data, o + 12)?;
        let this = u16::MAX as usize;
        if signature_ix != this || pubkey_ix != this || message_ix != this {
            return None;
        }
        data.get(signature_offset..signature_offset.checked_add(64)?)?;
        let pubkey: &[u8; 32] = data
            .get(pubkey_offset..pubkey_offset.checked_add(32)?)?
            .try_into()
            .ok()?;
        let message = data.get(message_offset..message_offset.checked_add(message_len)?)?;
        out.push(Verified { pubkey, message });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instruction(pubkey: [u8; 32], message: &[u8], indices: [u16; 3]) -> Vec<u8> {
        let mut d = vec![1u8, 0];
        let pk = 16u16;
        let sig = pk + 32;
        let msg = sig + 64;
        for v in [
            sig,
            indices[0],
            pk,
            indices[1],
            msg,
            message.len() as u16,
            indices[2],
        ] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(&pubkey);
        d.extend_from_slice(&[7; 64]);
        d.extend_from_slice(message);
        d
    }

    #[test]
    fn reads_self_contained_signatures() {
        let d = instruction([3; 32], b"hello", [u16::MAX; 3]);
        let v = verified_signatures(&d).unwrap();
        assert_eq!(
            v,
            vec![Verified {
                pubkey: &[3; 32],
                message: b"hello"
            }]
        );
    }

    #[test]
    fn refuses_offsets_into_other_instructions_and_garbage() {
        for indices in [
            [0, u16::MAX, u16::MAX],
            [u16::MAX, 1, u16::MAX],
            [u16::MAX, u16::MAX, 2],
        ] {
            assert!(verified_signatures(&instruction([3; 32], b"hello", indices)).is_none());
        }
        assert!(verified_signatures(&[]).is_none());
        assert!(verified_signatures(&[0, 0]).is_none());
        let mut short = instruction([3; 32], b"hello", [u16::MAX; 3]);
        short.truncate(40);
        assert!(verified_signatures(&short).is_none());
    }
}
