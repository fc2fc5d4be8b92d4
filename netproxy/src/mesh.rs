//! Every directed link of a cluster, and Jepsen's partitions expressed on them.
//!
//! A partition is a rule saying which links are cut; a cut link gets the mesh's cut mode in
//! both directions (Jepsen drops packets, which is [`Mode::Blackhole`] here, the default), every
//! other link is healed. Each call replaces the previous partition rather than adding to it, so
//! the mesh's state is always exactly the last partition asked for.

use std::collections::BTreeSet;
use std::io;
use std::net::SocketAddr;

use crate::{Mode, Proxy, Stats};

/// A partition that does not name every node exactly once, or names a node that isn't there.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PartitionError {
    #[error("node {node} does not exist (the mesh has {nodes} nodes)")]
    NoSuchNode { node: usize, nodes: usize },
    #[error("node {0} is named twice")]
    Repeated(usize),
    #[error("node {0} is in no group; a partition must place every node")]
    Missing(usize),
}

/// The N×(N−1) links of an N-node cluster, `links[from][to]` forwarding to node `to`.
#[derive(Debug)]
pub struct Mesh {
    links: Vec<Vec<Option<Proxy>>>,
    cut: Mode,
}

impl Mesh {
    /// One proxy per ordered pair of distinct nodes, in front of `peers[to]`.
    pub async fn start(peers: &[SocketAddr]) -> io::Result<Mesh> {
        let mut links = Vec::with_capacity(peers.len());
        for from in 0..peers.len() {
            let mut row = Vec::with_capacity(peers.len());
            for (to, &peer) in peers.iter().enumerate() {
                row.push(if from == to { None } else { Some(Proxy::start(peer).await?) });
            }
            links.push(row);
        }
        Ok(Mesh { links, cut: Mode::Blackhole })
    }

    pub fn nodes(&self) -> usize {
        self.links.len()
    }

    /// The link node `from` uses to reach node `to`. Panics if they are equal or out of range.
    pub fn link(&self, from: usize, to: usize) -> &Proxy {
        self.links[from][to].as_ref().expect("a node has no link to itself")
    }

    /// The address node `from` must be given for node `to`.
    pub fn addr(&self, from: usize, to: usize) -> SocketAddr {
        self.link(from, to).local_addr()
    }

    pub fn stats(&self, from: usize, to: usize) -> Stats {
        self.link(from, to).stats()
    }

    /// The mode later partitions give to cut links (`Blackhole` until changed). Links already
    /// cut keep their mode until the next partition or heal.
    pub fn set_cut_mode(&mut self, mode: Mode) {
        self.cut = mode;
    }

    /// Cuts `node` off from every other node, both ways.
    pub fn isolate(&self, node: usize) -> Result<(), PartitionError> {
        self.check(&[node])?;
        let others: Vec<usize> = (0..self.nodes()).filter(|&n| n != node).collect();
        self.partition(&[&[node], &others])
    }

    /// Two sides that can't reach each other, e.g. a majority and a minority.
    pub fn split(&self, a: &[usize], b: &[usize]) -> Result<(), PartitionError> {
        self.partition(&[a, b])
    }

    /// Any number of groups; nodes talk only within their group. Every node in exactly one.
    pub fn partition(&self, groups: &[&[usize]]) -> Result<(), PartitionError> {
        let all: Vec<usize> = groups.iter().flat_map(|g| g.iter().copied()).collect();
        self.check_cover(&all)?;
        let mut group = vec![0; self.nodes()];
        for (index, members) in groups.iter().enumerate() {
            for &node in *members {
                group[node] = index;
            }
        }
        self.apply(|from, to| group[from] != group[to]);
        Ok(())
    }

    /// Jepsen's bridge: `a` and `b` can't reach each other, and both reach `bridge`.
    pub fn bridge(&self, a: &[usize], bridge: usize, b: &[usize]) -> Result<(), PartitionError> {
        let all: Vec<usize> = a.iter().chain([&bridge]).chain(b).copied().collect();
        self.check_cover(&all)?;
        self.apply(|from, to| {
            (a.contains(&from) && b.contains(&to)) || (b.contains(&from) && a.contains(&to))
        });
        Ok(())
    }

    /// Every link back to `Pass`.
    pub fn heal(&self) {
        self.apply(|_, _| false);
    }

    /// Whether the link `from → to` is cut (either direction not `Pass` or `Delay`).
    pub fn is_cut(&self, from: usize, to: usize) -> bool {
        let modes = self.link(from, to).modes();
        [modes.request, modes.response].iter().any(|m| matches!(m, Mode::Drop | Mode::Blackhole))
    }

    fn apply(&self, cut: impl Fn(usize, usize) -> bool) {
        for (from, row) in self.links.iter().enumerate() {
            for (to, link) in row.iter().enumerate() {
                if let Some(link) = link {
                    link.set_both(if cut(from, to) { self.cut } else { Mode::Pass });
                }
            }
        }
    }

    fn check(&self, nodes: &[usize]) -> Result<(), PartitionError> {
        let mut seen = BTreeSet::new();
        for &node in nodes {
            if node >= self.nodes() {
                return Err(PartitionError::NoSuchNode { node, nodes: self.nodes() });
            }
            if !seen.insert(node) {
                return Err(PartitionError::Repeated(node));
            }
        }
        Ok(())
    }

    fn check_cover(&self, nodes: &[usize]) -> Result<(), PartitionError> {
        self.check(nodes)?;
        match (0..self.nodes()).find(|n| !nodes.contains(n)) {
            Some(missing) => Err(PartitionError::Missing(missing)),
            None => Ok(()),
        }
    }
}
