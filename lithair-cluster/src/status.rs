//! What a node says about the cluster: `GET /cluster/status` and `/health`'s `cluster` section on
//! the API listener, `GET /cluster` on the peer listener. All of it comes from openraft's
//! metrics, as this node sees them (a partitioned node's view can be stale: only a linearizable
//! read or a write asks the majority).

use std::collections::BTreeMap;

use openraft::{RaftMetrics, ServerState};
use serde::Serialize;

use crate::{Node, NodeId};

#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    pub node_id: NodeId,
    /// `leader`, `follower`, `candidate`, `learner` or `shutdown`.
    pub role: &'static str,
    pub term: u64,
    /// The leader this node knows of, and where clients reach it.
    pub leader: Option<LeaderInfo>,
    /// Index of the last entry in this node's log.
    pub last_log: Option<u64>,
    /// Index of the last entry applied to this node's state.
    pub applied: Option<u64>,
    /// Every member, voter or learner, by id.
    pub members: BTreeMap<NodeId, Member>,
    /// On the leader: how long since a quorum last acknowledged it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub millis_since_quorum_ack: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaderInfo {
    pub id: NodeId,
    pub api: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub peer: String,
    pub api: String,
    pub voter: bool,
}

impl ClusterStatus {
    pub fn of(metrics: &RaftMetrics<NodeId, Node>) -> Self {
        let membership = metrics.membership_config.membership();
        let members = membership
            .nodes()
            .map(|(id, node)| {
                let member = Member {
                    peer: node.peer.clone(),
                    api: node.api.clone(),
                    voter: membership.voter_ids().any(|voter| voter == *id),
                };
                (*id, member)
            })
            .collect();
        let leader = metrics.current_leader.map(|id| LeaderInfo {
            id,
            api: membership.get_node(&id).map(|node| node.api.clone()).unwrap_or_default(),
        });
        ClusterStatus {
            node_id: metrics.id,
            role: role(metrics.state),
            term: metrics.current_term,
            leader,
            last_log: metrics.last_log_index,
            applied: metrics.last_applied.map(|log_id| log_id.index),
            members,
            millis_since_quorum_ack: metrics.millis_since_quorum_ack,
        }
    }
}

pub fn role(state: ServerState) -> &'static str {
    match state {
        ServerState::Leader => "leader",
        ServerState::Follower => "follower",
        ServerState::Candidate => "candidate",
        ServerState::Learner => "learner",
        ServerState::Shutdown => "shutdown",
    }
}
