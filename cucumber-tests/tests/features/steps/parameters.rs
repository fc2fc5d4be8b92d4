//! Parameter types that make step phrases read like the product.

use std::str::FromStr;

use cucumber::Parameter;
use cucumber_tests::cluster::workload::Kind;

/// `fsync`, `flush` or `async`, as in "with async durability".
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(name = "durability", regex = "fsync|flush|async")]
pub struct Durability(pub String);

impl FromStr for Durability {
    type Err = std::convert::Infallible;

    fn from_str(mode: &str) -> Result<Self, Self::Err> {
        Ok(Durability(mode.to_string()))
    }
}

/// How a record in the middle of the log is put out of place, as in "a record in the middle of
/// the events.raftlog file is swapped with the next one".
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(
    name = "reshaping",
    regex = "removed|duplicated|swapped with the next one|given an earlier timestamp"
)]
pub struct Reshaping(pub String);

impl FromStr for Reshaping {
    type Err = std::convert::Infallible;

    fn from_str(shape: &str) -> Result<Self, Self::Err> {
        Ok(Reshaping(shape.to_string()))
    }
}

/// What the clients of a race do: "read and write" articles (registers) or "append comments
/// to" them (append-only lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Parameter)]
#[param(name = "workload", regex = "read and write|append comments to")]
pub struct Workload(pub Kind);

impl FromStr for Workload {
    type Err = anyhow::Error;

    fn from_str(workload: &str) -> Result<Self, Self::Err> {
        match workload {
            "read and write" => Ok(Workload(Kind::Register)),
            "append comments to" => Ok(Workload(Kind::ListAppend)),
            other => anyhow::bail!("no workload is called {other:?}"),
        }
    }
}

/// What strikes while clients race on a cluster, and how many times, as in "the leader is
/// killed twice", "a random node is killed 3 times", "the network is bridged" (once when no
/// count is said), "the spare node joins".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Parameter)]
#[param(
    name = "fault",
    regex = "(?:the leader is killed|the leader is cut off|the leader loses power|a random node is killed|a minority loses power|the network is bridged)(?: once| twice| \\d+ times)?|the spare node joins"
)]
pub struct FaultSchedule {
    pub nemesis: Nemesis,
    pub times: usize,
}

/// One kind of fault a race inflicts; each is undone before the next strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nemesis {
    /// SIGKILL the leader, restart it from its data directory.
    KillLeader,
    /// Cut every link between the leader and the others, both ways; heal.
    CutOffLeader,
    /// The leader loses power: what its disk had not synced is lost, a torn last page too.
    PowerCutLeader,
    /// SIGKILL a node chosen by the seed among all the nodes, leader or not; restart it.
    KillRandom,
    /// A minority chosen by the seed (2 of 5, 1 of 3) loses power at once; restart them.
    PowerCutMinority,
    /// Jepsen's bridge: two groups that reach each other only through one node; heal.
    Bridge,
    /// The spare node joins the cluster (not a fault, but a change the clients must not see).
    JoinSpare,
}

impl FromStr for FaultSchedule {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (what, times) = if let Some(what) = text.strip_suffix(" once") {
            (what, 1)
        } else if let Some(what) = text.strip_suffix(" twice") {
            (what, 2)
        } else if let Some((what, count)) =
            text.strip_suffix(" times").and_then(|t| t.rsplit_once(' '))
        {
            (what, count.parse()?)
        } else {
            (text, 1)
        };
        let nemesis = match what {
            "the leader is killed" => Nemesis::KillLeader,
            "the leader is cut off" => Nemesis::CutOffLeader,
            "the leader loses power" => Nemesis::PowerCutLeader,
            "a random node is killed" => Nemesis::KillRandom,
            "a minority loses power" => Nemesis::PowerCutMinority,
            "the network is bridged" => Nemesis::Bridge,
            "the spare node joins" => Nemesis::JoinSpare,
            other => anyhow::bail!("no fault is called {other:?}"),
        };
        Ok(FaultSchedule { nemesis, times })
    }
}
