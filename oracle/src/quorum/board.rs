//! What a member shows the other members of its set (`hexproof.v1.Quorum` over gRPC, members
//! only: [`super::auth`]): its proposal or the agreed inputs of each recent epoch, its newest
//! endorsement, and what it holds of an epoch (to that round's proposer only, once the epoch
//! is ready). The [`Peers`] side asks the others the same questions, all at once, each answer
//! bounded in size and time.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use hexproof_proto::{
    PublicKey,
    v1::{self, quorum_client::QuorumClient, quorum_server},
};
use tonic::{
    Request, Response, Status, service::interceptor::InterceptedService, transport::Channel,
};

use super::{QuorumConfig, Rogue, attest, auth};
use crate::store::Store;

/// Epochs whose inputs a member keeps in memory for the others.
const KEPT_EPOCHS: u64 = 64;
/// Largest request a member takes (requests name an epoch and a round).
const MAX_REQUEST: usize = 4 * 1024;
/// Requests one peer connection may have in flight at once.
const CONCURRENT_PER_CONNECTION: usize = 4;

/// This member's proposals and endorsements, shared by its quorum task and its gRPC service.
#[derive(Debug)]
pub struct Board {
    store: Store,
    key: hexproof_proto::Keypair,
    rewards: hexproof_poc::rewards::RewardConfig,
    limits: hexproof_poc::Limits,
    clock: hexproof_proto::clock::Clock,
    config: QuorumConfig,
    /// The set, sorted.
    set: Vec<PublicKey>,
    proposals: Mutex<BTreeMap<u64, Arc<v1::Proposal>>>,
    endorsements: Mutex<BTreeMap<u64, v1::Endorsement>>,
    /// The cut-off of the newest attestation this member gave for each (epoch, round): a
    /// proposal of that round must carry exactly that one.
    attested: Mutex<BTreeMap<(u64, u64), u64>>,
}

impl Board {
    pub fn new(
        store: Store,
        key: hexproof_proto::Keypair,
        rewards: hexproof_poc::rewards::RewardConfig,
        limits: hexproof_poc::Limits,
        clock: hexproof_proto::clock::Clock,
        config: QuorumConfig,
    ) -> Arc<Board> {
        let set = config.set(&key.public());
        Arc::new(Board {
            store,
            key,
            rewards,
            limits,
            clock,
            config,
            set,
            proposals: Mutex::default(),
            endorsements: Mutex::default(),
            attested: Mutex::default(),
        })
    }

    pub fn propose(&self, proposal: Arc<v1::Proposal>) {
        self.propose_as(proposal.epoch, proposal);
    }

    /// Shows `proposal` as this member's of `epoch` (a rogue's may name another).
    pub fn propose_as(&self, epoch: u64, proposal: Arc<v1::Proposal>) {
        let mut all = self.proposals.lock().unwrap_or_else(|e| e.into_inner());
        all.insert(epoch, proposal);
        all.retain(|e, _| e + KEPT_EPOCHS > epoch);
    }

    pub fn proposal(&self, epoch: u64) -> Option<Arc<v1::Proposal>> {
        self.proposals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&epoch)
            .cloned()
    }

    /// The cut-off of the newest attestation this member gave for `epoch` in `round`.
    pub fn attested(&self, epoch: u64, round: u64) -> Option<u64> {
        self.attested
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(epoch, round))
            .copied()
    }

    /// What this member holds of `epoch`, attested for `round`; remembered as given.
    pub async fn holdings(&self, epoch: u64, round: u64) -> crate::store::Result<v1::Holdings> {
        let scope = attest::Scope {
            epoch,
            round,
            cutoff_ns: self.clock.now_ns(),
        };
        let mut held = super::inputs::holdings(
            &self.store,
            &self.rewards,
            &self.limits,
            scope,
            &self.key,
            &self.set,
        )
        .await?;
        match self.config.rogue {
            Some(Rogue::Oversize) => Rogue::pad(&mut held, self.config.max_message() + (1 << 20)),
            Some(Rogue::Trickle) => Rogue::pad(&mut held, 64 << 10),
            _ => {}
        }
        let mut attested = self.attested.lock().unwrap_or_else(|e| e.into_inner());
        attested.insert((epoch, round), scope.cutoff_ns);
        let newest = attested.keys().next_back().map_or(epoch, |(e, _)| *e);
        attested.retain(|(e, _), _| e + KEPT_EPOCHS > newest);
        Ok(held)
    }

    /// Whether `caller` may have this member's holdings of `epoch` for `round`: the epoch is
    /// ready by our clock, the round is ours too (give or take one, for clocks apart) and it is
    /// `caller`'s turn to propose in it.
    fn may_gather(&self, caller: &PublicKey, epoch: u64, round: u64) -> Result<(), Status> {
        let now = self.clock.now_ns();
        let tolerance = self.config.tolerance_ns(self.clock);
        let ready = super::ready_ns(&self.rewards, epoch);
        if now.saturating_add(tolerance) < ready {
            return Err(Status::failed_precondition(format!(
                "epoch {epoch} is not ready here yet"
            )));
        }
        let round_ns = self.config.round_ns(self.clock);
        let (current, _) = super::turn(&self.rewards, &self.set, epoch, now, round_ns);
        if round.abs_diff(current) > 1 {
            return Err(Status::failed_precondition(format!(
                "round {round} of epoch {epoch} is not now (ours is {current})"
            )));
        }
        let proposer = super::proposer(&self.set, epoch, round);
        if proposer != *caller {
            return Err(Status::permission_denied(format!(
                "round {round} of epoch {epoch} is {proposer}'s to propose"
            )));
        }
        Ok(())
    }

    pub fn endorse(&self, endorsement: v1::Endorsement) {
        let mut all = self.endorsements.lock().unwrap_or_else(|e| e.into_inner());
        let epoch = endorsement.epoch;
        all.insert(epoch, endorsement);
        all.retain(|e, _| e + KEPT_EPOCHS > epoch);
    }

    /// The newest endorsement of `epoch`: the one in memory, else (after a restart) the
    /// signature of the stored epoch when this member endorsed it before it landed.
    pub async fn endorsement(&self, epoch: u64) -> Result<Option<v1::Endorsement>, Status> {
        if let Some(e) = self
            .endorsements
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&epoch)
        {
            return Ok(Some(e.clone()));
        }
        let quorum = self.store.epoch_quorum(epoch).await.map_err(unavailable)?;
        let me = self.key.public();
        if !quorum.signatures.iter().any(|(k, _)| *k == me) {
            return Ok(None);
        }
        let closed = self.store.closed_epoch(epoch).await.map_err(unavailable)?;
        Ok(closed.map(|c| endorsement_of(&c)))
    }
}

fn unavailable(e: impl std::fmt::Display) -> Status {
    tracing::warn!(error = %e, "answering a peer");
    Status::unavailable("storage is unavailable; try again")
}

/// A closed epoch's signature as an endorsement.
pub fn endorsement_of(e: &hexproof_poc::rewards::epoch::ClosedEpoch) -> v1::Endorsement {
    endorsement(e, &e.oracle, &e.signature)
}

/// `oracle`'s `signature` of a closed epoch's message as an endorsement.
pub fn endorsement(
    e: &hexproof_poc::rewards::epoch::ClosedEpoch,
    oracle: &PublicKey,
    signature: &[u8; 64],
) -> v1::Endorsement {
    v1::Endorsement {
        epoch: e.epoch,
        root: e.root.to_vec(),
        lifetime_total: e.lifetime_total,
        oracle: oracle.to_bytes().to_vec(),
        signature: signature.to_vec(),
    }
}

/// The gRPC service over a [`Board`].
#[derive(Debug, Clone)]
pub struct QuorumService(pub Arc<Board>);

#[tonic::async_trait]
impl quorum_server::Quorum for QuorumService {
    async fn get_proposal(
        &self,
        request: Request<v1::GetProposalRequest>,
    ) -> Result<Response<v1::Proposal>, Status> {
        let epoch = request.into_inner().epoch;
        match self.0.proposal(epoch) {
            Some(p) => Ok(Response::new((*p).clone())),
            None => Err(Status::not_found(format!(
                "no inputs of epoch {epoch} here"
            ))),
        }
    }

    async fn get_endorsement(
        &self,
        request: Request<v1::GetEndorsementRequest>,
    ) -> Result<Response<v1::Endorsement>, Status> {
        let epoch = request.into_inner().epoch;
        match self.0.endorsement(epoch).await? {
            Some(e) => Ok(Response::new(e)),
            None => Err(Status::not_found(format!("no signature of epoch {epoch}"))),
        }
    }

    async fn get_reports(
        &self,
        request: Request<v1::GetReportsRequest>,
    ) -> Result<Response<v1::Holdings>, Status> {
        let caller = request
            .extensions()
            .get::<auth::Caller>()
            .map(|c| c.0)
            .ok_or_else(|| Status::unauthenticated("members of the oracle set only"))?;
        let v1::GetReportsRequest { epoch, round } = request.into_inner();
        self.0.may_gather(&caller, epoch, round)?;
        let held = self.0.holdings(epoch, round).await.map_err(unavailable)?;
        Ok(Response::new(held))
    }
}

/// The service to add to a tonic server: members only.
pub fn server(
    board: Arc<Board>,
) -> InterceptedService<quorum_server::QuorumServer<QuorumService>, auth::Gate> {
    let max = if board.config.rogue == Some(Rogue::Oversize) {
        usize::MAX
    } else {
        board.config.max_message()
    };
    let gate = auth::Gate::new(board.key.public(), board.set.clone());
    InterceptedService::new(
        quorum_server::QuorumServer::new(QuorumService(board))
            .max_encoding_message_size(max)
            .max_decoding_message_size(MAX_REQUEST),
        gate,
    )
}

/// Serves the Quorum service on `listener` until `shutdown`.
pub async fn serve(
    board: Arc<Board>,
    listener: tokio::net::TcpListener,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let timeout = board.config.peer_timeout();
    let rogue = board.config.rogue.clone();
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut builder = tonic::transport::Server::builder()
        .concurrency_limit_per_connection(CONCURRENT_PER_CONNECTION)
        .timeout(timeout);
    let router = builder.add_service(server(board));
    let result = if rogue == Some(Rogue::Trickle) {
        let incoming = futures_util::StreamExt::map(incoming, |s| s.map(Rogue::trickle));
        router
            .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
            .await
    } else {
        router
            .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
            .await
    };
    if let Err(e) = result {
        tracing::error!(%e, "Quorum service stopped");
    }
}

type Client = QuorumClient<InterceptedService<Channel, auth::Signer>>;

/// The other members of the set, by key, with a lazily connected channel each. Every call is
/// signed by this member ([`auth::Signer`]), its answer at most `max_message` bytes and
/// finished (body included) within the timeout, or it counts as no answer.
#[derive(Debug, Clone)]
pub struct Peers {
    peers: Vec<(PublicKey, Client)>,
    timeout: Duration,
}

impl Peers {
    /// `peers`: (key, `http://host:port` of its Quorum service); calls signed by `key`.
    pub fn new(
        peers: &[(PublicKey, String)],
        key: &hexproof_proto::Keypair,
        config: &QuorumConfig,
        timeout: Duration,
    ) -> anyhow::Result<Peers> {
        let peers = peers
            .iter()
            .map(|(peer, url)| {
                let channel = tonic::transport::Endpoint::from_shared(url.clone())
                    .map_err(|e| anyhow::anyhow!("peer {peer}: bad address {url}: {e}"))?
                    .connect_timeout(timeout.min(Duration::from_secs(3)))
                    .timeout(timeout)
                    .connect_lazy();
                let signer = auth::Signer {
                    key: key.clone(),
                    audience: *peer,
                };
                let client = QuorumClient::with_interceptor(channel, signer)
                    .max_decoding_message_size(config.max_message());
                Ok((*peer, client))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Peers { peers, timeout })
    }

    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.peers.iter().map(|(k, _)| k)
    }

    fn client(&self, key: &PublicKey) -> Option<Client> {
        self.peers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, c)| c.clone())
    }

    /// `call`'s answer from `key`, when it comes (all of it) within the timeout.
    async fn ask<T, F, Fut>(&self, key: &PublicKey, what: &str, call: F) -> Option<T>
    where
        F: FnOnce(Client) -> Fut,
        Fut: std::future::Future<Output = Result<Response<T>, Status>>,
    {
        let client = self.client(key)?;
        match tokio::time::timeout(self.timeout, call(client)).await {
            Ok(Ok(r)) => Some(r.into_inner()),
            Ok(Err(s)) if s.code() == tonic::Code::NotFound => None,
            Ok(Err(s)) => {
                metrics::counter!("hexproof_quorum_peer_errors_total", "code" => format!("{:?}", s.code())).increment(1);
                tracing::debug!(peer = %key, error = %s, "asking a peer for its {what}");
                None
            }
            Err(_) => {
                metrics::counter!("hexproof_quorum_peer_errors_total", "code" => "timeout")
                    .increment(1);
                tracing::debug!(peer = %key, "a peer's {what} did not come in time");
                None
            }
        }
    }

    /// Every peer's answer to `f` at once, in the order of the peers.
    pub async fn all<'a, T, F, Fut>(&'a self, f: F) -> Vec<(PublicKey, Option<T>)>
    where
        F: Fn(&'a Peers, &'a PublicKey) -> Fut,
        Fut: std::future::Future<Output = Option<T>> + 'a,
    {
        let keys: Vec<&PublicKey> = self.keys().collect();
        let answers = futures_util::future::join_all(keys.iter().map(|k| f(self, k))).await;
        keys.into_iter().copied().zip(answers).collect()
    }

    /// `key`'s inputs of `epoch`; `None` when it has none (yet) or does not answer.
    pub async fn proposal(&self, key: &PublicKey, epoch: u64) -> Option<v1::Proposal> {
        self.ask(key, "proposal", |mut c| async move {
            c.get_proposal(v1::GetProposalRequest { epoch }).await
        })
        .await
    }

    /// What `key` holds of `epoch`'s input window, attested for `round`; `None` when it does
    /// not answer.
    pub async fn reports(&self, key: &PublicKey, epoch: u64, round: u64) -> Option<v1::Holdings> {
        self.ask(key, "reports", |mut c| async move {
            c.get_reports(v1::GetReportsRequest { epoch, round }).await
        })
        .await
    }

    /// `key`'s newest endorsement of `epoch`, when it has one and it is `key`'s valid
    /// signature of what it says.
    pub async fn endorsement(
        &self,
        key: &PublicKey,
        epoch: u64,
        deployment: &hexproof_commitment::Deployment,
    ) -> Option<v1::Endorsement> {
        let e = self
            .ask(key, "endorsement", |mut c| async move {
                c.get_endorsement(v1::GetEndorsementRequest { epoch }).await
            })
            .await?;
        (e.epoch == epoch && e.oracle == key.to_bytes() && valid(&e, key, deployment)).then_some(e)
    }
}

/// Whether an endorsement carries `key`'s signature of its epoch message.
pub fn valid(
    e: &v1::Endorsement,
    key: &PublicKey,
    deployment: &hexproof_commitment::Deployment,
) -> bool {
    let (Ok(root), Ok(signature)) = (
        <[u8; 32]>::try_from(e.root.as_slice()),
        <[u8; 64]>::try_from(e.signature.as_slice()),
    ) else {
        return false;
    };
    let message = hexproof_commitment::epoch_message(deployment, e.epoch, &root, e.lifetime_total);
    key.verifying_key().is_ok_and(|k| {
        k.verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&signature))
            .is_ok()
    })
}
