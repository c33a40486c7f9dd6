//! Who may call a member's Quorum service: the other members of its set, nobody else.
//!
//! Every request carries the caller's member key, its wall-clock time and its signature of
//! both bound to the member it asks (gRPC metadata [`MEMBER`], [`TIME`], [`SIGNATURE`]); the
//! answering member checks the key is a member's, the time within [`MAX_SKEW`] of its own
//! clock and the signature, and hands the caller's key to the service ([`Caller`]). Anyone
//! else gets `UNAUTHENTICATED` before any data is read. A signature names the member asked, so
//! a request to one member cannot be replayed to another; it is valid for [`MAX_SKEW`] either
//! side of its time, and once: the gate remembers every (member, time) it let in until that
//! time is out of the window ([`Seen`]; a member's signer never uses a time twice), so a
//! request seen on the wire and sent again is refused. What a signature does not cover is
//! the method and body (a tonic interceptor sees neither): whoever can stop a member's request
//! on its way and send another in its place gets one answer as that member. Run the Quorum
//! service on a network only the set reaches, or behind TLS.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use hexproof_proto::{Keypair, PublicKey};
use tonic::{Request, Status, metadata::MetadataValue, service::Interceptor};

pub const MEMBER: &str = "x-hexproof-member";
pub const TIME: &str = "x-hexproof-time";
pub const SIGNATURE: &str = "x-hexproof-signature";
/// How far a request's time may be from the answering member's wall clock.
pub const MAX_SKEW: Duration = Duration::from_secs(60);
/// Requests of one member remembered at once (within 2 × [`MAX_SKEW`]); past it the member's
/// next request is refused until older ones leave the window: a member asks a few times a
/// second.
pub const MAX_REMEMBERED_PER_MEMBER: usize = 100_000;

const DOMAIN: &[u8] = b"hexproof.v1.quorum-request\0";

fn message(audience: &PublicKey, time_ns: u64) -> Vec<u8> {
    [DOMAIN, &audience.to_bytes(), &time_ns.to_le_bytes()].concat()
}

fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A time for the next request of this process: the wall clock, one past the last time used
/// when that is at most a millisecond ahead of it (two requests in the same nanosecond), so
/// no request of ours is refused as a replay of another. A clock stepped back further is
/// followed as it is: times from before the step are out of the answering member's window.
fn fresh_ns() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = wall_ns();
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = if last >= now && last - now <= 1_000_000 {
            last + 1
        } else {
            now
        };
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// The (member, time) pairs a gate let in whose time is still inside the window.
#[derive(Debug, Default)]
pub struct Seen {
    by_member: HashMap<PublicKey, BTreeSet<u64>>,
    /// The latest wall clock a check was made at: times are forgotten only once they are out
    /// of its window, so a clock stepped back does not let a forgotten time in again.
    latest_ns: u64,
}

impl Seen {
    /// Records `time_ns` of `member` at wall-clock `now_ns`: false when it was let in before
    /// (a replay) or the member has [`MAX_REMEMBERED_PER_MEMBER`] requests in the window.
    fn first_use(
        &mut self,
        member: PublicKey,
        time_ns: u64,
        now_ns: u64,
    ) -> Result<(), &'static str> {
        self.latest_ns = self.latest_ns.max(now_ns);
        let times = self.by_member.entry(member).or_default();
        let oldest_valid = self
            .latest_ns
            .saturating_sub(2 * MAX_SKEW.as_nanos() as u64);
        while times.first().is_some_and(|t| *t < oldest_valid) {
            times.pop_first();
        }
        if times.contains(&time_ns) {
            return Err("this request was already answered (a replay)");
        }
        if times.len() >= MAX_REMEMBERED_PER_MEMBER {
            return Err("too many requests from this member in the window");
        }
        times.insert(time_ns);
        Ok(())
    }
}

/// The member a request came from, for the service (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller(pub PublicKey);

/// Signs every request to `audience` with `key` (a client interceptor).
#[derive(Debug, Clone)]
pub struct Signer {
    pub key: Keypair,
    pub audience: PublicKey,
}

impl Signer {
    /// The three metadata values of a request made at `time_ns`.
    pub fn headers(&self, time_ns: u64) -> [(&'static str, String); 3] {
        let signature = self.key.sign(&message(&self.audience, time_ns));
        [
            (MEMBER, self.key.public().to_string()),
            (TIME, time_ns.to_string()),
            (SIGNATURE, bs58::encode(signature).into_string()),
        ]
    }
}

impl Interceptor for Signer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        for (name, value) in self.headers(fresh_ns()) {
            let value = MetadataValue::try_from(value.as_str())
                .map_err(|_| Status::internal("unrepresentable request header"))?;
            request.metadata_mut().insert(name, value);
        }
        Ok(request)
    }
}

/// Lets only the set's other members in, each request once (a server interceptor).
#[derive(Debug, Clone)]
pub struct Gate {
    pub me: PublicKey,
    pub members: Arc<Vec<PublicKey>>,
    /// Shared by every connection's copy of the gate.
    pub seen: Arc<Mutex<Seen>>,
}

impl Gate {
    pub fn new(me: PublicKey, members: Vec<PublicKey>) -> Gate {
        Gate {
            me,
            members: Arc::new(members),
            seen: Arc::default(),
        }
    }
}

impl Gate {
    /// The member a request's metadata proves, at wall-clock `now_ns`.
    pub fn caller(&self, request: &Request<()>, now_ns: u64) -> Result<PublicKey, Status> {
        let header = |name: &str| {
            request
                .metadata()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    Status::unauthenticated(format!(
                        "members of the oracle set only: {name} is missing"
                    ))
                })
        };
        let refused = |why: &str| Status::unauthenticated(format!("not a member's request: {why}"));
        let key: PublicKey = header(MEMBER)?
            .parse()
            .map_err(|_| refused("bad member key"))?;
        if key == self.me || !self.members.contains(&key) {
            return Err(refused("not a member of this set"));
        }
        let time_ns: u64 = header(TIME)?.parse().map_err(|_| refused("bad time"))?;
        if time_ns.abs_diff(now_ns) > MAX_SKEW.as_nanos() as u64 {
            return Err(refused("the request's time is too far from ours"));
        }
        // 64 bytes are at most 88 base58 digits; longer is refused before decoding (whose
        // cost is the square of the length, paid before the signature is checked).
        let signature = Some(header(SIGNATURE)?)
            .filter(|s| s.len() <= 88)
            .ok_or_else(|| refused("bad signature"))?;
        let signature = bs58::decode(signature)
            .into_vec()
            .ok()
            .and_then(|s| <[u8; 64]>::try_from(s).ok())
            .ok_or_else(|| refused("bad signature"))?;
        key.verifying_key()
            .map_err(|_| refused("bad member key"))?
            .verify_strict(
                &message(&self.me, time_ns),
                &ed25519_dalek::Signature::from_bytes(&signature),
            )
            .map_err(|_| refused("the signature does not hold"))?;
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first_use(key, time_ns, now_ns)
            .map_err(refused)?;
        Ok(key)
    }
}

impl Interceptor for Gate {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        match self.caller(&request, wall_ns()) {
            Ok(key) => {
                request.extensions_mut().insert(Caller(key));
                Ok(request)
            }
            Err(status) => {
                metrics::counter!("hexproof_quorum_unauthenticated_total").increment(1);
                Err(status)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&'static str, String)]) -> Request<()> {
        let mut r = Request::new(());
        for (name, value) in headers {
            r.metadata_mut()
                .insert(*name, MetadataValue::try_from(value.as_str()).unwrap());
        }
        r
    }

    #[test]
    fn only_a_members_fresh_request_to_us_passes() {
        let me = Keypair::from_secret([1; 32]);
        let member = Keypair::from_secret([2; 32]);
        let other_member = Keypair::from_secret([3; 32]);
        let stranger = Keypair::from_secret([9; 32]);
        let gate = Gate::new(
            me.public(),
            vec![me.public(), member.public(), other_member.public()],
        );
        let now = 1_800_000_000_000_000_000u64;
        let signer = |key: &Keypair, audience: PublicKey| Signer {
            key: key.clone(),
            audience,
        };
        let ok = signer(&member, me.public()).headers(now);
        assert_eq!(gate.caller(&request(&ok), now).ok(), Some(member.public()));
        // The same request again, as whoever saw it on the wire would send it: refused.
        let replay = gate.caller(&request(&ok), now + 1_000).unwrap_err();
        assert!(replay.message().contains("replay"), "{replay:?}");
        // The member's next request (a new time) passes.
        let next = signer(&member, me.public()).headers(now + 1);
        assert!(gate.caller(&request(&next), now + 1).is_ok());
        let code = |h: &[(&'static str, String)], at: u64| {
            gate.caller(&request(h), at).unwrap_err().code()
        };
        // No headers, a stranger, ourselves, a request meant for another member, a stale one,
        // a tampered time.
        assert_eq!(code(&[], now), tonic::Code::Unauthenticated);
        assert_eq!(
            code(&signer(&stranger, me.public()).headers(now), now),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            code(&signer(&me, me.public()).headers(now), now),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            code(&signer(&member, other_member.public()).headers(now), now),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            code(&ok, now + 61_000_000_000),
            tonic::Code::Unauthenticated
        );
        let mut moved = ok.clone();
        moved[1].1 = (now + 1).to_string();
        assert_eq!(code(&moved, now), tonic::Code::Unauthenticated);
        // A signature header of 16 KiB (base58 decoding costs the square of its length, paid
        // before anything is verified): refused undecoded.
        let mut long = ok.clone();
        long[2].1 = "z".repeat(16 << 10);
        let refused = gate.caller(&request(&long), now).unwrap_err();
        assert!(refused.message().contains("bad signature"), "{refused:?}");
    }
}
