//! Did a node on the minority side of a partition acknowledge a write?
//!
//! A node cut off from a quorum cannot commit: whatever it answers `ok` to a write while the
//! partition lasts was acknowledged without being replicated, and may be truncated on heal. An
//! operation counts only if it ran entirely inside the window, so one that was acknowledged
//! just before the cut, or after the heal, is not blamed on the partition.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::history::{History, NodeId, Outcome, Ret};
use crate::verdict::{Verdict, ViolationKind};

/// A partition, on the history's clock (ns since its origin): from `start` to `end`, the nodes
/// in `minority` could not reach a majority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionWindow {
    pub start: u64,
    pub end: u64,
    pub minority: BTreeSet<NodeId>,
}

/// Checks that no write served by a minority node inside a partition window completed `ok`.
pub fn check_no_minority_ack(history: &History, windows: &[PartitionWindow]) -> Verdict {
    let mut bad = Vec::new();
    for (i, e) in history.entries().iter().enumerate() {
        let (Some(node), Some(complete), Outcome::Ok) = (e.node, e.complete, e.outcome) else {
            continue;
        };
        // A 404 (an update or delete of an article that is not there) changed nothing: it is a
        // read of the article's absence, which the linearizability check judges, not a write
        // the minority acknowledged.
        if !e.op.is_write() || e.ret == Some(Ret::Absent) {
            continue;
        }
        let inside = |w: &PartitionWindow| {
            w.minority.contains(&node) && w.start <= e.invoke && complete <= w.end
        };
        if let Some(w) = windows.iter().find(|w| inside(w)) {
            bad.push((i, node, w.start, w.end));
        }
    }
    match bad.first() {
        None => Verdict::Pass,
        Some(&(i, node, start, end)) => Verdict::violation(
            ViolationKind::MinorityAck,
            format!(
                "{} write(s) acknowledged by minority nodes; first #{i} by node {node} inside the \
                 partition [{start} .. {end}]",
                bad.len()
            ),
            bad.iter().map(|b| b.0).collect(),
        ),
    }
}
