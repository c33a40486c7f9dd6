//! Whose an entropy id is. Entropy ids are unique across an oracle set: the publication time in
//! milliseconds shifted left by 8 bits, the publishing member's position in the sorted set in
//! the low byte. Agents and oracles both refuse entropy whose id is not its signer's, so no
//! member can publish under another's ids (beacons on them would be judged on entropy the
//! others refuse) or push ids so far ahead that every later real one looks older.

use crate::{PublicKey, v1::Entropy};

/// How far an id's time part may run ahead of the message's timestamp, ms (ids run ahead of
/// the clock only when two would collide, by a millisecond each).
pub const MAX_ID_AHEAD_MS: u64 = 86_400_000;

/// Why an entropy id is not its signer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ForeignId {
    #[error("the id's low byte names another member's position in the set")]
    AnotherMembers,
    #[error("the id's time part is more than a day ahead of the timestamp")]
    Ahead,
}

impl ForeignId {
    /// A metric label.
    pub fn reason(self) -> &'static str {
        match self {
            ForeignId::AnotherMembers => "foreign_id",
            ForeignId::Ahead => "id_ahead",
        }
    }
}

/// Whether `e`'s id belongs to `signer`, the member at its position in the sorted `set`.
pub fn check_id(e: &Entropy, signer: &PublicKey, set: &[PublicKey]) -> Result<(), ForeignId> {
    if set.get(usize::from(e.id as u8)) != Some(signer) {
        return Err(ForeignId::AnotherMembers);
    }
    if (e.id >> 8) > (e.timestamp_ns / 1_000_000).saturating_add(MAX_ID_AHEAD_MS) {
        return Err(ForeignId::Ahead);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_signers_position_and_roughly_its_time() {
        let mut set: Vec<PublicKey> = (1..=3u8).map(|i| PublicKey::from([i; 32])).collect();
        set.sort();
        let now_ns = 1_800_000_000_000_000_000u64;
        let e = |id: u64| Entropy {
            id,
            timestamp_ns: now_ns,
            ..Default::default()
        };
        let ms = now_ns / 1_000_000;
        assert_eq!(check_id(&e(ms << 8 | 1), &set[1], &set), Ok(()));
        assert_eq!(
            check_id(&e(ms << 8 | 1), &set[0], &set),
            Err(ForeignId::AnotherMembers)
        );
        assert_eq!(
            check_id(&e(ms << 8 | 3), &set[0], &set),
            Err(ForeignId::AnotherMembers)
        );
        assert_eq!(
            check_id(&e((i64::MAX as u64 >> 8) << 8 | 1), &set[1], &set),
            Err(ForeignId::Ahead)
        );
        assert_eq!(
            check_id(&e((ms + MAX_ID_AHEAD_MS) << 8 | 2), &set[2], &set),
            Ok(())
        );
    }
}
