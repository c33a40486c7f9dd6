//! A member that cheats, for tests and the demo to show what the set does with it. It is set
//! only in code (`QuorumConfig::rogue` is never read from a file).

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use hexproof_poc::rewards::epoch::ClosedEpoch;
use hexproof_proto::{Keypair, PublicKey, topics, v1};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{board, inputs};

/// How a rogue member cheats.
#[derive(Debug, Clone)]
pub enum Rogue {
    /// Signs epochs that pay its friend (the first hotspot of every epoch) a tenth of the
    /// epoch's emission on top of its honest amount, and tries to land them alone.
    Inflate,
    /// In its turns to propose, one steer after another: the next epoch's inputs under this
    /// epoch's number (skipping it), a report filed under another hotspot's topic (so that it
    /// is judged `topic_mismatch`), the peers' attestations gathered at the epoch's end,
    /// before it was ready (stale).
    Steer,
    /// Answers `GetReports` with more than the largest message a member takes.
    Oversize,
    /// Sends its answers (64 KiB or more) a few bytes at a time once their first 4 KiB are out.
    Trickle,
    /// Shows, for every epoch it stored, agreed inputs of another root with valid signatures
    /// of itself and `accomplice` (an honest member's key: as if that member had endorsed the
    /// root in a round that never landed).
    ServeUnlanded { accomplice: Box<Keypair> },
}

impl PartialEq for Rogue {
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// The steers, in the order a [`Rogue::Steer`] tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steer {
    SkipEpoch,
    RewriteTopic,
    StaleAttestations,
}

/// What a rogue remembers between its turns.
#[derive(Debug, Default)]
pub struct State {
    turns: u64,
    /// Peers' holdings of an epoch, asked for at its end.
    pub early: Option<(u64, Vec<v1::Holdings>)>,
}

impl State {
    /// The steer of the next turn.
    pub fn next(&self) -> Steer {
        match self.turns % 3 {
            0 => Steer::SkipEpoch,
            1 => Steer::RewriteTopic,
            _ => Steer::StaleAttestations,
        }
    }

    /// Takes a turn: the steer it plays.
    pub fn take(&mut self) -> Steer {
        let steer = self.next();
        self.turns += 1;
        steer
    }
}

impl Rogue {
    /// Turns an honest epoch into the one this rogue signs.
    pub fn cheat(&self, epoch: &mut ClosedEpoch, key: &Keypair) {
        if let Rogue::Inflate = self {
            let extra = (epoch.emission / 10).max(1);
            let Some(friend) = epoch.rows.first_mut() else {
                return;
            };
            friend.beacon += extra;
            friend.lifetime += extra;
            epoch.paid += extra;
            epoch.dust = epoch.dust.saturating_sub(extra);
            epoch.lifetime_total += extra;
            epoch.root = epoch.tree().root();
            epoch.signature = key.sign(&epoch.message());
        }
    }

    /// Files the first witness report of `proposal` under another hotspot's witness topic.
    pub fn rewrite_topic(proposal: &mut v1::Proposal) {
        let key_of = |t: &str| match topics::Topic::parse(t) {
            Some(topics::Topic::Beacon(k) | topics::Topic::Witness(k)) => Some(k),
            _ => None,
        };
        let keys: Vec<PublicKey> = proposal
            .reports
            .iter()
            .filter_map(|r| key_of(&r.topic))
            .collect();
        for r in &mut proposal.reports {
            let Some(topics::Topic::Witness(own)) = topics::Topic::parse(&r.topic) else {
                continue;
            };
            if let Some(other) = keys.iter().find(|k| **k != own) {
                r.topic = topics::witnesses(other);
                return;
            }
        }
    }

    /// Pads holdings with a junk report of `bytes`.
    pub fn pad(held: &mut v1::Holdings, bytes: usize) {
        held.reports.push(v1::ReceivedReport {
            topic: topics::witnesses(&PublicKey::from([7; 32])),
            payload: vec![0; bytes],
            received_ns: 0,
        });
    }

    /// A connection whose writes go out a few bytes at a time after the first 4 KiB.
    pub fn trickle(stream: tokio::net::TcpStream) -> Trickled {
        Trickled {
            stream,
            written: 0,
            pause: None,
        }
    }

    /// Agreed inputs of another root than `agreed`'s (half its reports), signed by `key` and
    /// the accomplice, replayed on `previous`.
    pub async fn unlanded(
        &self,
        agreed: &v1::Proposal,
        rules: &inputs::Rules<'_>,
        previous: &hexproof_poc::rewards::epoch::Lifetimes,
        key: &Keypair,
        deployment: &hexproof_commitment::Deployment,
    ) -> anyhow::Result<v1::Proposal> {
        let Rogue::ServeUnlanded { accomplice } = self else {
            return Ok(agreed.clone());
        };
        let mut fake = agreed.clone();
        fake.reports.truncate(fake.reports.len() / 2);
        let mut closed = inputs::replay(&fake, rules, previous, key).await?.epoch;
        if closed.root.as_slice() == agreed.root {
            fake.reports.clear();
            closed = inputs::replay(&fake, rules, previous, key).await?.epoch;
        }
        fake.root = closed.root.to_vec();
        fake.lifetime_total = closed.lifetime_total;
        let message = hexproof_commitment::epoch_message(
            deployment,
            closed.epoch,
            &closed.root,
            closed.lifetime_total,
        );
        fake.signatures = [key, &**accomplice]
            .into_iter()
            .map(|k| board::endorsement(&closed, &k.public(), &k.sign(&message)))
            .collect();
        Ok(fake)
    }
}

/// A TCP connection that trickles what it sends ([`Rogue::trickle`]).
#[derive(Debug)]
pub struct Trickled {
    stream: tokio::net::TcpStream,
    written: usize,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl tonic::transport::server::Connected for Trickled {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Trickled {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Trickled {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        const FAST: usize = 4096;
        if self.written >= FAST {
            let pause = self
                .pause
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(200))));
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        let n = if self.written >= FAST {
            buf.len().min(16)
        } else {
            buf.len().min(FAST - self.written)
        };
        let result = Pin::new(&mut self.stream).poll_write(cx, &buf[..n]);
        if let Poll::Ready(Ok(n)) = &result {
            self.written += n;
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inflated_epoch_is_signed_and_pays_more() {
        use hexproof_poc::rewards::epoch::RewardRow;
        let key = Keypair::from_secret([7; 32]);
        let friend = Keypair::from_secret([8; 32]).public();
        let mut e = ClosedEpoch {
            epoch: 3,
            start_ns: 0,
            end_ns: 1,
            emission: 1_000,
            paid: 900,
            data_pool: 0,
            data_paid: 0,
            remint: 0,
            dust: 100,
            lifetime_total: 900,
            root: [0; 32],
            program_id: key.public(),
            deployment: Default::default(),
            oracle: key.public(),
            signature: [0; 64],
            rows: vec![RewardRow {
                hotspot: friend,
                beacon: 900,
                witness: 0,
                data: 0,
                dc: 0,
                lifetime: 900,
            }],
            orgs: Vec::new(),
        };
        let honest_root = e.tree().root();
        Rogue::Inflate.cheat(&mut e, &key);
        assert_eq!(e.rows[0].lifetime, 1_000);
        assert_eq!(e.lifetime_total, 1_000);
        assert_ne!(e.root, honest_root);
        assert_eq!(e.root, e.tree().root());
        let k = key.public().verifying_key().unwrap();
        k.verify_strict(
            &e.message(),
            &ed25519_dalek::Signature::from_bytes(&e.signature),
        )
        .unwrap();
    }
}
