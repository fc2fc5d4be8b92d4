//! Did a node lose an acknowledged write? Judged on the state each node holds at the end.
//!
//! Once the faults are healed and the cluster is quiet, every node's state must be explained by
//! the history: for each article, the value a node holds must be the effect of a write that
//! could have been the last one (a create, update or delete that was acknowledged or unknown,
//! and that no acknowledged write began after it was acknowledged). An article no acknowledged
//! write touched may also be absent. Anything else means an acknowledged write was lost, or a
//! value came from nowhere.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::history::{ArticleId, History, NodeId, Op, Outcome, Ret};
use crate::register::Resolved;
use crate::verdict::{Verdict, ViolationKind};

/// What one node holds at the end of a scenario: each article's title, and each article's
/// comments in order. An article missing from `articles` is absent on that node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalState {
    pub node: NodeId,
    #[serde(default)]
    pub articles: BTreeMap<ArticleId, String>,
    #[serde(default)]
    pub comments: BTreeMap<ArticleId, Vec<String>>,
}

/// Checks that every node's final articles keep every acknowledged write not overwritten.
pub fn check_no_lost_writes(history: &History, finals: &[FinalState]) -> Verdict {
    let mut resolved = match Resolved::new(history) {
        Ok(r) => r,
        Err(v) => return v,
    };
    // Name each final value's writer first: that also tells unknown creates their id.
    let mut held: Vec<BTreeMap<ArticleId, usize>> = Vec::new();
    for f in finals {
        let mut m = BTreeMap::new();
        for (&k, title) in &f.articles {
            let observer = format!("node {}'s final state", f.node);
            match resolved.writer_of(history, k, title, &[], &observer) {
                Ok(w) => m.insert(k, w),
                Err(v) => return v,
            };
        }
        held.push(m);
    }
    let e = history.entries();
    // Each article's writes that may have taken effect.
    let mut writes: BTreeMap<ArticleId, Vec<usize>> = BTreeMap::new();
    for (i, x) in e.iter().enumerate() {
        let applied = x.outcome == Outcome::Unknown || x.is_ok_with(&Ret::Done);
        let article = match &x.op {
            Op::Create { .. } => resolved.create_key.get(&i).copied(),
            Op::Update { article, .. } | Op::Delete { article } if applied => Some(*article),
            _ => None,
        };
        if let Some(k) = article {
            writes.entry(k).or_default().push(i);
        }
    }
    let keys: BTreeSet<ArticleId> = writes
        .keys()
        .copied()
        .chain(finals.iter().flat_map(|f| f.articles.keys().copied()))
        .collect();
    for k in keys {
        let ws = writes.get(&k).map(Vec::as_slice).unwrap_or_default();
        let acked: Vec<usize> =
            ws.iter().copied().filter(|&w| e[w].outcome == Outcome::Ok).collect();
        let superseded = |w: usize| match e[w].op {
            // An id is new: every acknowledged update or delete of it came after its create.
            Op::Create { .. } => acked.iter().any(|&a| !matches!(e[a].op, Op::Create { .. })),
            // An unknown write may land after everything else.
            _ if e[w].outcome == Outcome::Unknown => false,
            _ => acked.iter().any(|&a| e[w].end() < e[a].invoke),
        };
        let last: Vec<usize> = ws.iter().copied().filter(|&w| !superseded(w)).collect();
        for (f, held) in finals.iter().zip(&held) {
            let holds = held.get(&k).copied();
            let explained = match holds {
                Some(w) => last.contains(&w),
                None => {
                    acked.is_empty() || last.iter().any(|&w| matches!(e[w].op, Op::Delete { .. }))
                }
            };
            if !explained {
                let mut ops: Vec<usize> =
                    last.iter().copied().filter(|&w| e[w].outcome == Outcome::Ok).collect();
                let shown = match holds {
                    Some(w) => {
                        ops.push(w);
                        format!("#{w}'s value")
                    }
                    None => "nothing".to_string(),
                };
                return Verdict::violation(
                    ViolationKind::LostWrite,
                    format!(
                        "node {} holds {shown} for article {k}, but the last acknowledged \
                         writes to it were {:?}",
                        f.node,
                        last.iter().filter(|&&w| e[w].outcome == Outcome::Ok).collect::<Vec<_>>()
                    ),
                    ops,
                );
            }
        }
    }
    Verdict::Pass
}
