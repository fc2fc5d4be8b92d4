//! Partitions of a whole cluster's links: each node is an echo server that tags its answers
//! with its own number, so a test also sees that link (i, j) really leads to node j.

mod common;

use std::time::Duration;

use common::{Echo, PROMPT};
use netproxy::{Mesh, Mode, PartitionError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

async fn cluster(nodes: u8) -> (Vec<Echo>, Mesh) {
    let mut echoes = Vec::new();
    for node in 0..nodes {
        echoes.push(Echo::start(Some(node)).await);
    }
    let peers: Vec<_> = echoes.iter().map(|e| e.addr).collect();
    let mesh = Mesh::start(&peers).await.unwrap();
    (echoes, mesh)
}

/// How long a probe waits for an answer before it calls the link cut. Probes run at once, so
/// a matrix costs one of these; long enough that a loaded machine is not taken for a cut.
const PROBE: Duration = Duration::from_secs(1);

/// Which node answers a ping sent through the link at `addr`, or `None` if none does in time.
async fn answer(addr: std::net::SocketAddr) -> Option<u8> {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream.write_all(b"ping").await.ok()?;
        let mut reply = [0; 5];
        stream.read_exact(&mut reply).await.ok()?;
        (&reply[1..] == b"ping").then_some(reply[0])
    };
    tokio::time::timeout(PROBE, attempt).await.ok().flatten()
}

/// The reachability matrix, every link probed at once.
async fn reachable(mesh: &Mesh) -> Vec<Vec<bool>> {
    let n = mesh.nodes();
    let mut probes = JoinSet::new();
    for from in 0..n {
        for to in (0..n).filter(|&to| to != from) {
            let addr = mesh.addr(from, to);
            probes.spawn(async move { (from, to, answer(addr).await) });
        }
    }
    let mut matrix = vec![vec![true; n]; n];
    while let Some(probe) = probes.join_next().await {
        let (from, to, answer) = probe.unwrap();
        if let Some(node) = answer {
            assert_eq!(node as usize, to, "link {from}→{to} reached node {node}");
        }
        matrix[from][to] = answer.is_some();
    }
    matrix
}

/// The matrix a partition should give: `i` reaches `j` iff `same_side(i, j)`.
fn expected(n: usize, same_side: impl Fn(usize, usize) -> bool) -> Vec<Vec<bool>> {
    (0..n).map(|i| (0..n).map(|j| i == j || same_side(i, j)).collect()).collect()
}

#[tokio::test]
async fn every_link_leads_to_its_node() {
    let (_echoes, mesh) = cluster(3).await;
    assert_eq!(reachable(&mesh).await, expected(3, |_, _| true));
}

#[tokio::test]
async fn isolate_cuts_one_node_off_both_ways_then_heal_joins_it_back() {
    let (_echoes, mesh) = cluster(3).await;
    mesh.isolate(1).unwrap();
    assert_eq!(reachable(&mesh).await, expected(3, |i, j| i != 1 && j != 1));
    mesh.heal();
    assert_eq!(reachable(&mesh).await, expected(3, |_, _| true));
}

#[tokio::test]
async fn split_separates_a_majority_from_a_minority() {
    let (_echoes, mut mesh) = cluster(5).await;
    mesh.set_cut_mode(Mode::Drop);
    mesh.split(&[0, 1], &[2, 3, 4]).unwrap();
    assert_eq!(reachable(&mesh).await, expected(5, |i, j| (i < 2) == (j < 2)));
    // A new partition replaces the last one rather than adding to it.
    mesh.isolate(4).unwrap();
    assert_eq!(reachable(&mesh).await, expected(5, |i, j| (i == 4) == (j == 4)));
}

#[tokio::test]
async fn bridge_lets_both_halves_see_the_bridge_node_only() {
    let (_echoes, mut mesh) = cluster(5).await;
    mesh.set_cut_mode(Mode::Drop);
    mesh.bridge(&[0, 1], 2, &[3, 4]).unwrap();
    let half = |n: usize| match n {
        0 | 1 => Some(0),
        3 | 4 => Some(1),
        _ => None,
    };
    let same_side = |i, j| match (half(i), half(j)) {
        (Some(a), Some(b)) => a == b,
        _ => true, // the bridge node reaches and is reached by everyone
    };
    assert_eq!(reachable(&mesh).await, expected(5, same_side));
    assert!(mesh.is_cut(0, 3) && mesh.is_cut(4, 1) && !mesh.is_cut(0, 2) && !mesh.is_cut(2, 4));
}

#[tokio::test]
async fn a_partition_must_place_every_node_once() {
    let (_echoes, mesh) = cluster(3).await;
    assert_eq!(mesh.split(&[0], &[1]), Err(PartitionError::Missing(2)));
    assert_eq!(mesh.split(&[0, 1], &[1, 2]), Err(PartitionError::Repeated(1)));
    assert_eq!(mesh.isolate(3), Err(PartitionError::NoSuchNode { node: 3, nodes: 3 }));
    assert_eq!(mesh.bridge(&[0], 0, &[1, 2]), Err(PartitionError::Repeated(0)));
    // A refused partition changes nothing.
    assert!(
        tokio::time::timeout(PROMPT, reachable(&mesh)).await.unwrap().iter().flatten().all(|&r| r)
    );
}
