//! What a member shows the other members of its set (`hexproof.v1.Quorum` over gRPC): its
//! proposal or the agreed inputs of each recent epoch, and its newest endorsement. The
//! [`Peers`] side asks the others the same questions.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use hexproof_proto::{
    PublicKey,
    v1::{self, quorum_client::QuorumClient, quorum_server},
};
use tonic::{Request, Response, Status, transport::Channel};

use crate::store::Store;

/// Epochs whose inputs a member keeps in memory for the others.
const KEPT_EPOCHS: u64 = 64;
/// Largest answer a member takes: an epoch's inputs.
const MAX_MESSAGE: usize = 1 << 30;

/// This member's proposals and endorsements, shared by its quorum task and its gRPC service.
#[derive(Debug)]
pub struct Board {
    store: Store,
    key: hexproof_proto::Keypair,
    rewards: hexproof_poc::rewards::RewardConfig,
    limits: hexproof_poc::Limits,
    clock: hexproof_proto::clock::Clock,
    proposals: Mutex<BTreeMap<u64, Arc<v1::Proposal>>>,
    endorsements: Mutex<BTreeMap<u64, v1::Endorsement>>,
    /// Epochs this member gave its attestation of (a proposal must then carry it).
    attested: Mutex<std::collections::BTreeSet<u64>>,
}

impl Board {
    pub fn new(
        store: Store,
        key: hexproof_proto::Keypair,
        rewards: hexproof_poc::rewards::RewardConfig,
        limits: hexproof_poc::Limits,
        clock: hexproof_proto::clock::Clock,
    ) -> Arc<Board> {
        Arc::new(Board {
            store,
            key,
            rewards,
            limits,
            clock,
            proposals: Mutex::default(),
            endorsements: Mutex::default(),
            attested: Mutex::default(),
        })
    }

    pub fn propose(&self, proposal: Arc<v1::Proposal>) {
        let mut all = self.proposals.lock().unwrap_or_else(|e| e.into_inner());
        let epoch = proposal.epoch;
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

    /// Whether this member gave a peer its attestation of `epoch`.
    pub fn attested(&self, epoch: u64) -> bool {
        self.attested
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&epoch)
    }

    /// What this member holds of `epoch`, attested; remembered as given.
    pub async fn holdings(&self, epoch: u64) -> crate::store::Result<v1::Holdings> {
        let now = self.clock.now_ns();
        let held = super::inputs::holdings(
            &self.store,
            &self.rewards,
            &self.limits,
            epoch,
            now,
            &self.key,
        )
        .await?;
        let mut attested = self.attested.lock().unwrap_or_else(|e| e.into_inner());
        attested.insert(epoch);
        let newest = *attested.last().unwrap_or(&epoch);
        attested.retain(|e| e + KEPT_EPOCHS > newest);
        Ok(held)
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
        let epoch = request.into_inner().epoch;
        let held = self.0.holdings(epoch).await.map_err(unavailable)?;
        Ok(Response::new(held))
    }
}

/// The service to add to a tonic server.
pub fn server(board: Arc<Board>) -> quorum_server::QuorumServer<QuorumService> {
    quorum_server::QuorumServer::new(QuorumService(board)).max_encoding_message_size(MAX_MESSAGE)
}

/// The other members of the set, by key, with a lazily connected channel each.
#[derive(Debug, Clone)]
pub struct Peers {
    peers: Vec<(PublicKey, QuorumClient<Channel>)>,
}

impl Peers {
    /// `peers`: (key, `http://host:port` of its gRPC API).
    pub fn new(peers: &[(PublicKey, String)]) -> anyhow::Result<Peers> {
        let peers = peers
            .iter()
            .map(|(key, url)| {
                let channel = tonic::transport::Endpoint::from_shared(url.clone())
                    .map_err(|e| anyhow::anyhow!("peer {key}: bad address {url}: {e}"))?
                    .connect_timeout(Duration::from_secs(3))
                    .timeout(Duration::from_secs(30))
                    .connect_lazy();
                let client = QuorumClient::new(channel).max_decoding_message_size(MAX_MESSAGE);
                Ok((*key, client))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Peers { peers })
    }

    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.peers.iter().map(|(k, _)| k)
    }

    fn client(&self, key: &PublicKey) -> Option<QuorumClient<Channel>> {
        self.peers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, c)| c.clone())
    }

    /// `key`'s inputs of `epoch`; `None` when it has none (yet) or does not answer.
    pub async fn proposal(&self, key: &PublicKey, epoch: u64) -> Option<v1::Proposal> {
        let mut client = self.client(key)?;
        match client.get_proposal(v1::GetProposalRequest { epoch }).await {
            Ok(r) => Some(r.into_inner()),
            Err(s) if s.code() == tonic::Code::NotFound => None,
            Err(s) => {
                tracing::debug!(peer = %key, error = %s, "asking a peer for its proposal");
                None
            }
        }
    }

    /// What `key` holds of `epoch`'s input window; `None` when it does not answer.
    pub async fn reports(&self, key: &PublicKey, epoch: u64) -> Option<v1::Holdings> {
        let mut client = self.client(key)?;
        match client.get_reports(v1::GetReportsRequest { epoch }).await {
            Ok(r) => Some(r.into_inner()),
            Err(s) => {
                tracing::debug!(peer = %key, error = %s, "asking a peer for its reports");
                None
            }
        }
    }

    /// `key`'s newest endorsement of `epoch`, when it has one and it is `key`'s valid
    /// signature of what it says.
    pub async fn endorsement(
        &self,
        key: &PublicKey,
        epoch: u64,
        deployment: &hexproof_commitment::Deployment,
    ) -> Option<v1::Endorsement> {
        let mut client = self.client(key)?;
        let e = client
            .get_endorsement(v1::GetEndorsementRequest { epoch })
            .await
            .ok()?
            .into_inner();
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
