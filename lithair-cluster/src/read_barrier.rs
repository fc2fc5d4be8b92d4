//! Linearizable reads, batched: one read-index round serves every read that arrived before it.
//!
//! openraft 0.9's `ensure_linearizable` confirms leadership with a heartbeat round to a quorum,
//! then waits until the state machine has applied the commit index it saw. A round per read would
//! cost a round trip to the followers each; instead, one task runs rounds back to back: a read
//! joins the next round to *start*, never one already under way (that round may have confirmed
//! leadership before the read arrived, which would not be linearizable). After its round a read
//! sees a state including every write acknowledged before the read began.

use std::time::Duration;

use openraft::{
    Raft,
    error::{CheckIsLeaderError, RaftError},
};
use tokio::sync::{mpsc, oneshot};

use crate::{Node, NodeId, TypeConfig, status::LeaderInfo};

/// A round that takes longer than this fails its reads with [`ReadError::NoQuorum`]: the leader
/// cannot reach a majority (longer than an election timeout, by which time a majority elsewhere
/// may have elected another leader).
pub const ROUND_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadError {
    #[error("this node is not the leader")]
    NotLeader(Option<LeaderInfo>),
    #[error("the leader could not confirm its leadership with a majority")]
    NoQuorum,
    #[error("the node is shutting down")]
    Stopped,
}

type Waiter = oneshot::Sender<Result<(), ReadError>>;

/// The handle reads go through; the barrier task stops when every handle is dropped.
#[derive(Clone)]
pub struct ReadBarrier {
    waiters: mpsc::UnboundedSender<Waiter>,
}

impl ReadBarrier {
    pub fn spawn(raft: Raft<TypeConfig>) -> Self {
        let (waiters, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(raft, queue));
        ReadBarrier { waiters }
    }

    /// Wait until a read-index round that started after this call has completed and its index is
    /// applied: the applied state then reflects every write acknowledged before the call.
    pub async fn wait(&self) -> Result<(), ReadError> {
        let (tx, rx) = oneshot::channel();
        self.waiters.send(tx).map_err(|_| ReadError::Stopped)?;
        rx.await.unwrap_or(Err(ReadError::Stopped))
    }
}

async fn run(raft: Raft<TypeConfig>, mut queue: mpsc::UnboundedReceiver<Waiter>) {
    let mut round = Vec::new();
    while let Some(first) = queue.recv().await {
        round.push(first);
        while let Ok(waiter) = queue.try_recv() {
            round.push(waiter);
        }
        let result = match tokio::time::timeout(ROUND_TIMEOUT, raft.ensure_linearizable()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(forward)))) => {
                Err(ReadError::NotLeader(leader_info(forward.leader_id, forward.leader_node)))
            }
            Ok(Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(_)))) | Err(_) => {
                Err(ReadError::NoQuorum)
            }
            Ok(Err(RaftError::Fatal(_))) => Err(ReadError::Stopped),
        };
        for waiter in round.drain(..) {
            let _ = waiter.send(result.clone());
        }
    }
}

fn leader_info(id: Option<NodeId>, node: Option<Node>) -> Option<LeaderInfo> {
    Some(LeaderInfo { id: id?, api: node.map(|node| node.api).unwrap_or_default() })
}
