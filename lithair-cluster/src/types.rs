//! The types openraft is configured with.
//!
//! The log store never needs to know the application's event type: an entry's payload is
//! [`Events`], each a [`RaftEvent`]: the event already encoded as Lithair's log writes it
//! (`"type"` and `"data"`), plus the timestamp its leader gave it. Only the state machine decodes it into the
//! application's `E: Event`. So storage, network and snapshots are written once, and their tests
//! need no application.

use std::{fmt, io::Cursor};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A node's id in the cluster, as given by `--node-id`.
pub type NodeId = u64;

/// Where a node is reached: its peer listener (Raft RPCs and admin) and its client API.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Node {
    /// `host:port` of the peer listener.
    pub peer: String,
    /// `host:port` of the HTTP API clients use; a follower redirects writes there.
    pub api: String,
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer {} api {}", self.peer, self.api)
    }
}

/// One application event in the replicated log: what a v2 record carries besides its Raft log
/// id (docs/raftlog.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RaftEvent {
    /// Microseconds since the Unix epoch, stamped once by the leader that proposed the event, so
    /// that the record is byte-identical on every node.
    pub ts: u64,
    /// The event's name, e.g. `"ArticleCreated"` (the record's `type`).
    #[serde(rename = "type")]
    pub event_type: String,
    /// The event's payload as JSON, exactly as it is written in the record's `data`.
    pub data: Box<RawValue>,
}

/// Two events are equal when their JSON texts are: `RawValue` itself has no equality.
impl PartialEq for RaftEvent {
    fn eq(&self, other: &Self) -> bool {
        self.ts == other.ts
            && self.event_type == other.event_type
            && self.data.get() == other.data.get()
    }
}

impl Eq for RaftEvent {}

/// What an application entry carries: the events its leader decided together, in their order;
/// never none.
///
/// Several events share one Raft entry because openraft 0.9's leader syncs its log once per
/// entry, one entry after the other (docs/cluster.md, "Write throughput"): the events of one
/// entry share that `fdatasync`. As one record (docs/raftlog.md, `raft.Batch`) they are also
/// one unit on disk: committed, cut off or torn together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Events(pub Vec<RaftEvent>);

impl Events {
    /// The greatest `ts` of the events (0 for none).
    pub fn max_ts(&self) -> u64 {
        self.0.iter().map(|event| event.ts).max().unwrap_or(0)
    }
}

impl From<RaftEvent> for Events {
    fn from(event: RaftEvent) -> Self {
        Events(vec![event])
    }
}

/// What applying an entry answers the proposer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// One per event of the entry, in order (none for Raft's own entries): `false` when the
    /// event's precondition no longer held at apply time (a decision made on a state that a
    /// leader change made stale), so that the event is committed but changed nothing.
    pub changed: Vec<bool>,
}

openraft::declare_raft_types!(
    /// Lithair's openraft configuration: u64 node ids, [`Node`] addresses, [`Events`]
    /// payloads, snapshots as bytes in memory, tokio.
    pub TypeConfig:
        D = Events,
        R = Applied,
        NodeId = NodeId,
        Node = Node,
);
