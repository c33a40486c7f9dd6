//! The maker's API: how an owner's agent has the company that made its hotspot pay for the
//! hotspot's transactions (onboarding, location assertions, transfers, claims), so that the
//! owner needs no SOL (account abstraction, as Helium's maker onboarding server does).
//!
//! Two JSON calls over HTTP. `POST /v1/prepare` with an [`Action`]: the maker checks that it
//! made the key, its budget and rates, and answers a [`Prepared`] Solana message in which it is
//! the fee payer. The agent reads that message with [`check_message`] (so a maker can never
//! make the hotspot key or the owner sign anything but what the owner asked for), signs it,
//! and `POST /v1/submit`s a [`Submit`]; the maker adds its signature, sends it and answers
//! [`Submitted`]. Refusals are a [`Refusal`] with a [`RefusalCode`] the agent acts on: an
//! expired blockhash is prepared and signed again; the rest are told to the owner in words.
//!
//! Everything here is pure: serde types and the reading of a legacy Solana message.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::PublicKey;

/// The hexproof program's address (the client's tests keep it equal to the program's).
pub const PROGRAM_ID: &str = "G8PxyAiUJVwPBpvsqXwffosq7XJv7UU4PTmg5NMoPN9v";
/// Solana's compute budget program (priority fees).
pub const COMPUTE_BUDGET_ID: &str = "ComputeBudget111111111111111111111111111111";
/// SPL's associated token account program.
pub const ASSOCIATED_TOKEN_ID: &str = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL";
/// SPL Token (the reward mint's program).
pub const TOKEN_PROGRAM_ID: &str = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
/// The most a transaction may take on a cluster (one packet).
pub const PACKET_DATA_SIZE: usize = 1_232;

/// What the owner asks the maker to pay for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Register the hotspot under `owner` at a location; the hotspot key and the owner sign.
    Onboard {
        hotspot: PublicKey,
        owner: PublicKey,
        site: Site,
    },
    /// Move the hotspot or change its antenna; the owner signs.
    Assert {
        hotspot: PublicKey,
        owner: PublicKey,
        site: Site,
    },
    /// Offer the hotspot to `new_owner`; the owner signs.
    Transfer {
        hotspot: PublicKey,
        owner: PublicKey,
        new_owner: PublicKey,
    },
    /// Take a hotspot offered to `new_owner`, who signs.
    Accept {
        hotspot: PublicKey,
        new_owner: PublicKey,
    },
    /// Mint what the hotspot earned to its owner: the lifetime amount and Merkle proof of the
    /// newest root (from the explorer). Nobody but the maker signs.
    Claim {
        hotspot: PublicKey,
        lifetime: u64,
        /// Sibling hashes, hex.
        proof: Vec<String>,
    },
}

impl Action {
    /// The hotspot the action is about (what the maker's entitlement is checked against).
    pub fn hotspot(&self) -> &PublicKey {
        match self {
            Action::Onboard { hotspot, .. }
            | Action::Assert { hotspot, .. }
            | Action::Transfer { hotspot, .. }
            | Action::Accept { hotspot, .. }
            | Action::Claim { hotspot, .. } => hotspot,
        }
    }

    /// The name of the program instruction it is.
    pub fn instruction(&self) -> &'static str {
        match self {
            Action::Onboard { .. } => "onboard_hotspot",
            Action::Assert { .. } => "assert_location",
            Action::Transfer { .. } => "transfer_hotspot",
            Action::Accept { .. } => "accept_hotspot",
            Action::Claim { .. } => "claim",
        }
    }

    /// The keys besides the maker's that must sign, in the order the message lists them.
    pub fn signers(&self) -> Vec<PublicKey> {
        match self {
            Action::Onboard { hotspot, owner, .. } => vec![*hotspot, *owner],
            Action::Assert { owner, .. } | Action::Transfer { owner, .. } => vec![*owner],
            Action::Accept { new_owner, .. } => vec![*new_owner],
            Action::Claim { .. } => vec![],
        }
    }

    /// The instruction's data as the program reads it (Anchor: the discriminator, then the
    /// arguments in Borsh).
    pub fn instruction_data(&self) -> Result<Vec<u8>, MessageError> {
        let mut data = anchor_discriminator(self.instruction()).to_vec();
        match self {
            Action::Onboard { site, .. } | Action::Assert { site, .. } => {
                data.extend_from_slice(&site.location.to_le_bytes());
                data.extend_from_slice(&site.commitment);
                data.extend_from_slice(&site.gain_ddbi.to_le_bytes());
                data.extend_from_slice(&site.elevation_m.to_le_bytes());
            }
            Action::Transfer { new_owner, .. } => data.extend_from_slice(new_owner.as_bytes()),
            Action::Accept { .. } => {}
            Action::Claim {
                lifetime, proof, ..
            } => {
                data.extend_from_slice(&lifetime.to_le_bytes());
                data.extend_from_slice(&(proof.len() as u32).to_le_bytes());
                for sibling in proof {
                    data.extend_from_slice(&decode_hash(sibling)?);
                }
            }
        }
        Ok(data)
    }
}

/// Where a hotspot stands, as the chain keeps it (the maker never learns the exact cell), and
/// its antenna.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// H3 resolution-8 cell, hex (as h3 tools print it: a JSON number would lose bits).
    #[serde(with = "cell_hex")]
    pub location: u64,
    /// The commitment to the exact resolution-12 cell ([`crate::location`]), hex.
    #[serde(with = "hash_hex")]
    pub commitment: [u8; 32],
    pub gain_ddbi: i32,
    pub elevation_m: i32,
}

mod cell_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(cell: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{cell:x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        let bad = || serde::de::Error::custom(format!("not an H3 cell in hex: {s:?}"));
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        u64::from_str_radix(&s, 16).map_err(|_| bad())
    }
}

mod hash_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hash: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(64);
        for b in hash {
            out.push_str(&format!("{b:02x}"));
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        super::decode_hash(&s).map_err(serde::de::Error::custom)
    }
}

/// A 32-byte hash from hex.
pub fn decode_hash(s: &str) -> Result<[u8; 32], MessageError> {
    let bad = || MessageError::BadHash(s.chars().take(80).collect());
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// The maker's answer to a prepare: a message to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepared {
    /// The Solana message (legacy format), hex.
    pub message: String,
    /// The maker's key, which pays the fee (and any rent and onboarding fee).
    pub fee_payer: PublicKey,
    /// Who else must sign.
    pub signers: Vec<PublicKey>,
    /// Lamports the maker expects to spend on it.
    pub cost_lamports: u64,
}

/// One signature of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureOf {
    pub pubkey: PublicKey,
    /// Base58, as Solana shows signatures.
    pub signature: String,
}

/// The signed message sent back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submit {
    pub message: String,
    pub signatures: Vec<SignatureOf>,
}

/// What the maker did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    /// The transaction's signature (its id on the cluster), base58.
    pub signature: String,
    /// Lamports the maker's account holds after it.
    pub maker_balance: u64,
}

/// Why the maker said no.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: RefusalCode,
    /// In words, for the owner.
    pub error: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// The request could not be read.
    BadRequest,
    /// The maker did not make this key.
    NotEntitled,
    /// Too many requests for this key or from this address: wait.
    RateLimited,
    /// The maker's daily budget is spent: its operator has been alarmed.
    BudgetSpent,
    /// The maker's account cannot pay: its operator has been alarmed.
    OutOfFunds,
    /// The message was not prepared here, or has expired: prepare again.
    Expired,
    /// A signature is missing or wrong.
    BadSignature,
    /// The program refused it (the words say why); sending it again would not help.
    Refused,
    /// What was asked is so on chain already (asked twice, or its reply was lost).
    Done,
    /// The cluster could not be reached: try again later.
    Unavailable,
}

/// Why a message is not what the owner asked for.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageError {
    #[error("the message is not hex")]
    NotHex,
    #[error("the message ends early or has bytes after its end")]
    Truncated,
    #[error("the message is a versioned one; only legacy messages are signed")]
    Versioned,
    #[error("the message names an account past its key list")]
    BadIndex,
    #[error("{0:?} is not a 32-byte hash in hex")]
    BadHash(String),
    #[error("the fee payer is {0}, one of the keys asked to sign: the maker must pay")]
    OwnerPays(String),
    #[error("the message calls program {0}, which this action does not need")]
    ForeignProgram(String),
    #[error("the message does not hold exactly one {0} instruction with the asked arguments")]
    NotTheAction(&'static str),
    #[error("the message's {0} instruction names other accounts than this hotspot and owner")]
    WrongAccounts(&'static str),
    #[error("the message's token account creation is paid by someone else than the maker")]
    RentNotPaidByMaker,
    #[error("{0} is not among the message's signers")]
    NotASigner(String),
    #[error("the message, signed, would take {0} bytes: more than a transaction may")]
    TooLarge(usize),
    #[error("the message's priority fee instructions are not the two Solana defines, once each")]
    BadComputeBudget,
}

/// A legacy Solana message, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub required_signatures: u8,
    pub keys: Vec<[u8; 32]>,
    pub blockhash: [u8; 32],
    pub instructions: Vec<Instruction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub program: [u8; 32],
    pub accounts: Vec<[u8; 32]>,
    pub data: Vec<u8>,
}

/// Reads a legacy message (header, keys, blockhash, compiled instructions).
pub fn parse_message(bytes: &[u8]) -> Result<Message, MessageError> {
    let mut r = Reader { bytes, at: 0 };
    let required_signatures = r.byte()?;
    if required_signatures & 0x80 != 0 {
        return Err(MessageError::Versioned);
    }
    let _readonly_signed = r.byte()?;
    let _readonly_unsigned = r.byte()?;
    let n = r.compact()?;
    let mut keys = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        keys.push(r.array()?);
    }
    let blockhash = r.array()?;
    let key = |i: u8| {
        keys.get(usize::from(i))
            .copied()
            .ok_or(MessageError::BadIndex)
    };
    let n = r.compact()?;
    let mut instructions = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let program = key(r.byte()?)?;
        let n = r.compact()?;
        let accounts = r
            .take(n)?
            .iter()
            .map(|&i| key(i))
            .collect::<Result<_, _>>()?;
        let n = r.compact()?;
        let data = r.take(n)?.to_vec();
        instructions.push(Instruction {
            program,
            accounts,
            data,
        });
    }
    if r.at != bytes.len() || usize::from(required_signatures) > keys.len() {
        return Err(MessageError::Truncated);
    }
    Ok(Message {
        required_signatures,
        keys,
        blockhash,
        instructions,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], MessageError> {
        let end = self.at.checked_add(n).ok_or(MessageError::Truncated)?;
        let out = self
            .bytes
            .get(self.at..end)
            .ok_or(MessageError::Truncated)?;
        self.at = end;
        Ok(out)
    }
    fn byte(&mut self) -> Result<u8, MessageError> {
        Ok(self.take(1)?[0])
    }
    fn array(&mut self) -> Result<[u8; 32], MessageError> {
        let mut out = [0; 32];
        out.copy_from_slice(self.take(32)?);
        Ok(out)
    }
    /// Solana's compact-u16: 7 bits a byte, at most three bytes.
    fn compact(&mut self) -> Result<usize, MessageError> {
        let mut value = 0usize;
        for i in 0..3 {
            let b = self.byte()?;
            // A zero continuation byte is a longer encoding of a shorter value: not Solana's.
            if i > 0 && b == 0 {
                return Err(MessageError::Truncated);
            }
            value |= usize::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(MessageError::Truncated)
    }
}

/// Hex to bytes.
pub fn decode_hex(s: &str) -> Result<Vec<u8>, MessageError> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(MessageError::NotHex);
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| MessageError::NotHex))
        .collect()
}

/// Bytes to hex.
pub fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Anchor's instruction discriminator: the first 8 bytes of SHA-256 of `global:<name>`.
pub fn anchor_discriminator(name: &str) -> [u8; 8] {
    let hash = Sha256::digest(format!("global:{name}").as_bytes());
    let mut out = [0; 8];
    out.copy_from_slice(&hash[..8]);
    out
}

fn key_bytes(s: &str) -> [u8; 32] {
    let key: PublicKey = s.parse().expect("a constant address");
    key.to_bytes()
}

/// A program-derived address: the first bump from 255 down whose hash is off the curve.
pub fn find_program_address(seeds: &[&[u8]], program: &[u8; 32]) -> Option<[u8; 32]> {
    (0..=255u8).rev().find_map(|bump| {
        let mut hash = Sha256::new();
        for seed in seeds {
            hash.update(seed);
        }
        hash.update([bump]);
        hash.update(program);
        hash.update(b"ProgramDerivedAddress");
        let candidate: [u8; 32] = hash.finalize().into();
        // On the curve: a valid ed25519 point (someone could hold its key); not a PDA.
        let on_curve = curve25519_on_curve(&candidate);
        (!on_curve).then_some(candidate)
    })
}

fn curve25519_on_curve(bytes: &[u8; 32]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(bytes).is_ok()
}

/// Checks that `message` (hex) does what `action` says and nothing else, before the agent
/// signs it with `signers`: the fee payer is none of them; the only programs called are
/// hexproof (exactly one instruction: the action's, with its arguments and this hotspot's
/// accounts), the compute budget (priority fee) and the creation of a token account paid by
/// the fee payer; each of `signers` is a signer of the message. Returns the message's bytes.
pub fn check_message(
    message: &str,
    action: &Action,
    signers: &[PublicKey],
) -> Result<Vec<u8>, MessageError> {
    let bytes = decode_hex(message)?;
    let m = parse_message(&bytes)?;
    // Signed, it must fit a packet: a message that could not be sent is not signed (and no
    // signing bytes of another protocol, which would claim scores of signers, pass).
    let size = 1 + 64 * usize::from(m.required_signatures) + bytes.len();
    if size > PACKET_DATA_SIZE {
        return Err(MessageError::TooLarge(size));
    }
    let payer = *m.keys.first().ok_or(MessageError::Truncated)?;
    if let Some(s) = signers.iter().find(|s| s.to_bytes() == payer) {
        return Err(MessageError::OwnerPays(s.to_string()));
    }
    let signing = &m.keys[..usize::from(m.required_signatures)];
    for s in signers {
        if !signing.contains(&s.to_bytes()) {
            return Err(MessageError::NotASigner(s.to_string()));
        }
    }
    let program = key_bytes(PROGRAM_ID);
    let compute = key_bytes(COMPUTE_BUDGET_ID);
    let ata = key_bytes(ASSOCIATED_TOKEN_ID);
    let name = action.instruction();
    let data = action.instruction_data()?;
    let mut found = 0;
    let mut budget_tags = Vec::new();
    let mut ata_created = false;
    for ix in &m.instructions {
        if ix.program == compute {
            // SetComputeUnitLimit (2, u32) or SetComputeUnitPrice (3, u64), each at most once:
            // the payer's cost only, and no room for bytes of the maker's choosing.
            let ok = match ix.data.first() {
                Some(2) => ix.data.len() == 5,
                Some(3) => ix.data.len() == 9,
                _ => false,
            };
            if !ok || !ix.accounts.is_empty() || budget_tags.contains(&ix.data[0]) {
                return Err(MessageError::BadComputeBudget);
            }
            budget_tags.push(ix.data[0]);
        } else if ix.program == ata {
            // Only taking a hotspot creates a token account: the new owner's, CreateIdempotent
            // (1), funded by the fee payer, once, before the program's instruction.
            let Action::Accept { new_owner, .. } = action else {
                return Err(MessageError::ForeignProgram(ASSOCIATED_TOKEN_ID.into()));
            };
            if ix.data != [1] || ata_created || found > 0 {
                return Err(MessageError::ForeignProgram(ASSOCIATED_TOKEN_ID.into()));
            }
            let expected = token_account_of(new_owner, &program);
            if ix.accounts.first() != Some(&payer)
                || ix.accounts.get(1).copied() != expected
                || ix.accounts.get(2) != Some(&new_owner.to_bytes())
            {
                return Err(MessageError::RentNotPaidByMaker);
            }
            ata_created = true;
        } else if ix.program == program {
            if ix.data != data {
                return Err(MessageError::NotTheAction(name));
            }
            found += 1;
            if !accounts_match(action, &ix.accounts, &program, &payer) {
                return Err(MessageError::WrongAccounts(name));
            }
        } else {
            return Err(MessageError::ForeignProgram(
                PublicKey::from(ix.program).to_string(),
            ));
        }
    }
    if found != 1 {
        return Err(MessageError::NotTheAction(name));
    }
    // Taking a hotspot creates the new owner's token account at its expense unless the maker
    // created it first.
    if matches!(action, Action::Accept { .. }) && !ata_created {
        return Err(MessageError::RentNotPaidByMaker);
    }
    Ok(bytes)
}

/// The reward-mint token account of `wallet` (the associated token account of the program's
/// mint PDA under SPL Token).
fn token_account_of(wallet: &PublicKey, program: &[u8; 32]) -> Option<[u8; 32]> {
    let mint = find_program_address(&[b"mint"], program)?;
    find_program_address(
        &[wallet.as_bytes(), &key_bytes(TOKEN_PROGRAM_ID), &mint],
        &key_bytes(ASSOCIATED_TOKEN_ID),
    )
}

/// The accounts the program's instruction reads the hotspot and its signers from (the order
/// of its `#[derive(Accounts)]`).
fn accounts_match(
    action: &Action,
    accounts: &[[u8; 32]],
    program: &[u8; 32],
    fee_payer: &[u8; 32],
) -> bool {
    let hotspot_pda =
        |key: &PublicKey| find_program_address(&[b"hotspot", key.as_bytes()], program);
    let at = |i: usize| accounts.get(i).copied();
    match action {
        Action::Onboard { hotspot, owner, .. } => {
            at(1) == Some(hotspot.to_bytes())
                && at(2) == Some(owner.to_bytes())
                // The fee and the rent are the maker's, not the owner's.
                && at(3) == Some(*fee_payer)
                // A previous owner's slot holds the program id (none): nobody else's backlog.
                && at(4) == Some(*program)
        }
        Action::Assert { hotspot, owner, .. } | Action::Transfer { hotspot, owner, .. } => {
            at(1) == Some(owner.to_bytes()) && at(2) == hotspot_pda(hotspot)
        }
        Action::Accept { hotspot, new_owner } => {
            at(1) == Some(new_owner.to_bytes()) && at(2) == hotspot_pda(hotspot)
        }
        Action::Claim { .. } => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discriminators_are_anchors() {
        // sha256("global:initialize")[..8], as Anchor's IDLs list it.
        assert_eq!(
            anchor_discriminator("initialize"),
            [175, 175, 109, 31, 13, 152, 155, 237]
        );
    }

    #[test]
    fn actions_round_trip_as_json_with_cells_in_hex() {
        let a = Action::Onboard {
            hotspot: PublicKey::from([1; 32]),
            owner: PublicKey::from([2; 32]),
            site: Site {
                location: 0x0882_a107_2bff_ffff,
                commitment: [0xab; 32],
                gain_ddbi: 30,
                elevation_m: 5,
            },
        };
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains("\"action\":\"onboard\""), "{json}");
        assert!(json.contains("\"location\":\"882a1072bffffff\""), "{json}");
        assert!(
            json.contains(&format!("\"commitment\":\"{}\"", "ab".repeat(32))),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), a);
        assert!(serde_json::from_str::<Action>(r#"{"action":"burn"}"#).is_err());
    }

    #[test]
    fn hostile_messages_are_errors_not_panics() {
        for bytes in [
            &[][..],
            &[1],
            &[1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF],
            &[0x80, 0, 0],
            &[1, 0, 0, 1],
        ] {
            assert!(parse_message(bytes).is_err(), "{bytes:?}");
        }
        assert_eq!(decode_hex("abc"), Err(MessageError::NotHex));
        assert_eq!(decode_hex("zz"), Err(MessageError::NotHex));
        assert!(decode_hash("00").is_err());
    }
}
