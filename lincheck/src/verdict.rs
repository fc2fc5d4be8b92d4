//! What a checker concludes, and the operations that prove it.
//!
//! A violation names the operations that prove it, so a report can print that part of the
//! history ([`History::excerpt`]) rather than ten thousand lines. When a checker cannot decide
//! (search over its time limit, a history it cannot interpret) the verdict is `Inconclusive`,
//! which the harness fails: a check that gives up must never read as a pass.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::history::History;

/// Which property a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// No order of the article's operations explains what the clients saw.
    NotLinearizable,
    /// Two creates were given the same id.
    DuplicateId,
    /// A create that began after another was acknowledged got a smaller id.
    IdOrder,
    /// A value appeared that no client wrote (or only a failed write, or a write to another
    /// article).
    Phantom,
    /// A node's final state lost an acknowledged write.
    LostWrite,
    /// A node on the minority side of a partition acknowledged a write.
    MinorityAck,
    /// A comment list lacks an acknowledged append it must show.
    ListLost,
    /// A comment appears twice in a list.
    ListDuplicate,
    /// Acknowledged appends appear out of their real-time order.
    ListReordered,
    /// Two observations of one list are not prefixes of each other, or a later one is shorter.
    ListNotPrefix,
}

/// A broken property, in words, with the operations (`#n`, positions in the history) proving it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub kind: ViolationKind,
    pub message: String,
    pub ops: Vec<usize>,
}

/// The outcome of one checker over one history. It serialises (`"pass"`, `{"violation":…}`,
/// `{"inconclusive":…}`) for reports that keep verdicts next to `history.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Violation(Violation),
    /// The checker could not decide; never to be read as a pass.
    Inconclusive(String),
}

impl Verdict {
    pub(crate) fn violation(
        kind: ViolationKind,
        message: impl Into<String>,
        ops: Vec<usize>,
    ) -> Self {
        let mut ops = ops;
        ops.sort_unstable();
        ops.dedup();
        Verdict::Violation(Violation { kind, message: message.into(), ops })
    }

    pub fn is_pass(&self) -> bool {
        matches!(self, Verdict::Pass)
    }

    /// The violation's kind, if any.
    pub fn kind(&self) -> Option<ViolationKind> {
        match self {
            Verdict::Violation(v) => Some(v.kind),
            _ => None,
        }
    }

    /// The verdict in words followed by the operations that prove it, for a failure message.
    pub fn report(&self, history: &History) -> String {
        match self {
            Verdict::Violation(v) => format!("{self}\n{}", history.excerpt(&v.ops)),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass => write!(f, "pass"),
            Verdict::Violation(v) => {
                write!(f, "{:?}: {} ({} operations)", v.kind, v.message, v.ops.len())
            }
            Verdict::Inconclusive(why) => write!(f, "inconclusive: {why}"),
        }
    }
}
