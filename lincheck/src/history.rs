//! What clients did: operations with their invoke and completion times and outcomes.
//!
//! A checker can only judge what was recorded, so the record keeps the three outcomes a client
//! can honestly know: `ok` (acknowledged), `fail` (definitely not applied: the server refused it
//! before proposing) and `unknown` (timeout, `outcome_unknown`, connection lost). An unknown
//! operation has no completion time: it may take effect at any moment after its invocation, or
//! never, and the checkers treat it exactly so.
//!
//! Times are nanoseconds since one `Instant` shared by every client of a scenario, so they are
//! comparable across tasks and immune to wall-clock jumps (the harness jumps clocks on purpose).
//!
//! The on-disk form is JSON lines (`history.jsonl`), one operation per line, in invocation order;
//! an operation is named by its position (0-based) in that order, `#n`, which is line `n + 1`.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A client (logical process). A client whose operation ended `unknown` should continue under a
/// new id, as Jepsen does, so each client's operations never overlap.
pub type ClientId = u64;
/// An article id, assigned by the server on create.
pub type ArticleId = u64;
/// A cluster node, as the harness numbers them.
pub type NodeId = u64;

/// The operation a client invoked. Titles and comments written are unique in a history: that is
/// how a read names the write it saw, and how an unknown create is matched to its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// `POST /api/articles`; the server assigns the id (returned as [`Ret::Created`]).
    Create { title: String },
    /// `GET /api/articles/{id}`.
    Read { article: ArticleId },
    /// `PUT /api/articles/{id}`.
    Update { article: ArticleId, title: String },
    /// `DELETE /api/articles/{id}`.
    Delete { article: ArticleId },
    /// `POST /api/articles/{id}/comments`.
    Append { article: ArticleId, comment: String },
    /// Read an article's comment list.
    ReadComments { article: ArticleId },
}

impl Op {
    /// The article this operation targets (`None` for a create: the server picks it).
    pub fn article(&self) -> Option<ArticleId> {
        match self {
            Op::Create { .. } => None,
            Op::Read { article }
            | Op::Update { article, .. }
            | Op::Delete { article }
            | Op::Append { article, .. }
            | Op::ReadComments { article } => Some(*article),
        }
    }

    /// Whether the operation changes state when it succeeds.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Op::Create { .. } | Op::Update { .. } | Op::Delete { .. } | Op::Append { .. }
        )
    }
}

/// What a client knows about whether its operation took effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Acknowledged; `ret` says what the server answered.
    Ok,
    /// Definitely not applied (refused before it was proposed).
    Fail,
    /// May or may not have been applied, now or later.
    Unknown,
}

/// What an acknowledged operation returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ret {
    /// A create's assigned id.
    Created(ArticleId),
    /// A read found the article with this title.
    Value(String),
    /// 404: the article did not exist (read, update, delete, append, read_comments).
    Absent,
    /// An update, delete or append was applied (200/204/201).
    Done,
    /// A comment read returned this list.
    Comments(Vec<String>),
}

/// One recorded operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub client: ClientId,
    /// The node that served it (after redirects), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeId>,
    #[serde(flatten)]
    pub op: Op,
    /// Invocation, in ns since the history's origin.
    pub invoke: u64,
    /// Completion, in ns since the origin; `None` while open (always for `unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete: Option<u64>,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<Ret>,
}

impl Entry {
    /// The completion time, with an open (unknown) operation ending at +∞.
    pub fn end(&self) -> u64 {
        match (self.outcome, self.complete) {
            (Outcome::Unknown, _) | (_, None) => u64::MAX,
            (_, Some(t)) => t,
        }
    }

    /// Whether this entry is an acknowledged operation that returned `ret`.
    pub fn is_ok_with(&self, ret: &Ret) -> bool {
        self.outcome == Outcome::Ok && self.ret.as_ref() == Some(ret)
    }

    /// Checks that the fields agree with each other (an `ok` has a completion and a return of
    /// the right kind, an `unknown` has neither).
    fn validate(&self) -> Result<(), String> {
        match self.outcome {
            Outcome::Unknown if self.complete.is_some() || self.ret.is_some() => {
                return Err("an unknown operation has no completion time nor return".into());
            }
            Outcome::Fail if self.ret.is_some() => {
                return Err("a failed operation has no return".into());
            }
            Outcome::Ok | Outcome::Fail if self.complete.is_none() => {
                return Err("a completed operation needs `complete`".into());
            }
            _ => {}
        }
        if let Some(c) = self.complete
            && c < self.invoke
        {
            return Err(format!("completes at {c} before its invocation at {}", self.invoke));
        }
        let fits = match (&self.op, &self.ret) {
            (_, None) => self.outcome != Outcome::Ok,
            (Op::Create { .. }, Some(Ret::Created(_))) => true,
            (Op::Read { .. }, Some(Ret::Value(_) | Ret::Absent)) => true,
            (
                Op::Update { .. } | Op::Delete { .. } | Op::Append { .. },
                Some(Ret::Done | Ret::Absent),
            ) => true,
            (Op::ReadComments { .. }, Some(Ret::Comments(_) | Ret::Absent)) => true,
            _ => false,
        };
        if fits { Ok(()) } else { Err(format!("return {:?} does not fit {:?}", self.ret, self.op)) }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client {} ", self.client)?;
        match &self.op {
            Op::Create { title } => write!(f, "create({title:?})")?,
            Op::Read { article } => write!(f, "read({article})")?,
            Op::Update { article, title } => write!(f, "update({article}, {title:?})")?,
            Op::Delete { article } => write!(f, "delete({article})")?,
            Op::Append { article, comment } => write!(f, "append({article}, {comment:?})")?,
            Op::ReadComments { article } => write!(f, "read_comments({article})")?,
        }
        match (self.outcome, &self.ret) {
            (Outcome::Ok, Some(Ret::Created(id))) => write!(f, " ok -> id {id}")?,
            (Outcome::Ok, Some(Ret::Value(t))) => write!(f, " ok -> {t:?}")?,
            (Outcome::Ok, Some(Ret::Absent)) => write!(f, " ok -> 404")?,
            (Outcome::Ok, Some(Ret::Comments(c))) => write!(f, " ok -> {c:?}")?,
            (Outcome::Ok, _) => write!(f, " ok")?,
            (Outcome::Fail, _) => write!(f, " FAIL")?,
            (Outcome::Unknown, _) => write!(f, " UNKNOWN")?,
        }
        match self.complete {
            Some(c) => write!(f, " [{} .. {}]", self.invoke, c)?,
            None => write!(f, " [{} .. open]", self.invoke)?,
        }
        if let Some(n) = self.node {
            write!(f, " on node {n}")?;
        }
        Ok(())
    }
}

/// A malformed history file or entry.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("line {line}: {source}")]
    Json { line: usize, source: serde_json::Error },
    #[error("line {line}: {reason}")]
    Invalid { line: usize, reason: String },
    #[error("history file: {0}")]
    Io(#[from] std::io::Error),
}

/// A whole recorded history, in invocation order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    entries: Vec<Entry>,
}

impl History {
    /// Builds a history from entries, checking each is well-formed.
    pub fn new(entries: Vec<Entry>) -> Result<Self, HistoryError> {
        for (i, e) in entries.iter().enumerate() {
            e.validate().map_err(|reason| HistoryError::Invalid { line: i + 1, reason })?;
        }
        Ok(History { entries })
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Parses JSON lines; blank lines are skipped.
    pub fn from_jsonl(text: &str) -> Result<Self, HistoryError> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let e: Entry = serde_json::from_str(line)
                .map_err(|source| HistoryError::Json { line: n + 1, source })?;
            e.validate().map_err(|reason| HistoryError::Invalid { line: n + 1, reason })?;
            entries.push(e);
        }
        Ok(History { entries })
    }

    /// One JSON object per line, in invocation order.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            // An `Entry` holds only strings and integers: serialising it cannot fail.
            out.push_str(&serde_json::to_string(e).expect("entry serialises"));
            out.push('\n');
        }
        out
    }

    pub fn read_jsonl(path: &Path) -> Result<Self, HistoryError> {
        Self::from_jsonl(&std::fs::read_to_string(path)?)
    }

    pub fn write_jsonl(&self, path: &Path) -> Result<(), HistoryError> {
        Ok(std::fs::write(path, self.to_jsonl())?)
    }

    /// The given operations, one per line, as `#n client ... [invoke .. complete]`, in invocation
    /// order: the part of the history a report shows for a violation.
    pub fn excerpt(&self, ops: &[usize]) -> String {
        let mut ops = ops.to_vec();
        ops.sort_unstable();
        ops.dedup();
        let mut out = String::new();
        for i in ops {
            if let Some(e) = self.entries.get(i) {
                out.push_str(&format!("  #{i} {e}\n"));
            }
        }
        out
    }
}

/// Records operations from many tasks at once. Cloning shares the record.
///
/// [`Recorder::invoke`] stores the operation at once as `unknown`, so an operation whose task is
/// cancelled or panics (its [`Pending`] dropped) stays what it is: unknown.
#[derive(Debug, Clone)]
pub struct Recorder {
    origin: Instant,
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Self {
        Self::with_origin(Instant::now())
    }

    /// A recorder timing against an origin shared with other parts of the harness (e.g. the
    /// fault schedule, so partition windows and operations share one clock).
    pub fn with_origin(origin: Instant) -> Self {
        Recorder { origin, entries: Arc::default() }
    }

    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// Nanoseconds since the origin, on the monotonic clock.
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records the invocation of `op` by `client`; complete it through the returned handle.
    pub fn invoke(&self, client: ClientId, op: Op) -> Pending {
        let invoke = self.now_ns();
        let mut entries = self.lock();
        entries.push(Entry {
            client,
            node: None,
            op,
            invoke,
            complete: None,
            outcome: Outcome::Unknown,
            ret: None,
        });
        Pending { recorder: self.clone(), index: entries.len() - 1 }
    }

    /// A copy of everything recorded so far (open operations as unknown).
    pub fn history(&self) -> History {
        History { entries: self.lock().clone() }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        // A panic while holding the lock cannot leave a half-written entry (each critical
        // section is a single push or field assignment), so a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn complete(&self, index: usize, node: Option<NodeId>, outcome: Outcome, ret: Option<Ret>) {
        let complete = (outcome != Outcome::Unknown).then(|| self.now_ns());
        let mut entries = self.lock();
        let e = &mut entries[index];
        e.node = node;
        e.outcome = outcome;
        e.complete = complete;
        e.ret = ret;
    }
}

/// An invoked operation waiting for its outcome. Dropping it leaves the operation unknown.
#[derive(Debug)]
#[must_use = "an operation never completed stays unknown"]
pub struct Pending {
    recorder: Recorder,
    index: usize,
}

impl Pending {
    /// The operation's position in the history (`#n`).
    pub fn index(&self) -> usize {
        self.index
    }

    /// Acknowledged by `node` with `ret`.
    pub fn ok(self, node: Option<NodeId>, ret: Ret) {
        self.recorder.complete(self.index, node, Outcome::Ok, Some(ret));
    }

    /// Definitely not applied.
    pub fn fail(self, node: Option<NodeId>) {
        self.recorder.complete(self.index, node, Outcome::Fail, None);
    }

    /// May or may not have been applied; stays open.
    pub fn unknown(self, node: Option<NodeId>) {
        self.recorder.complete(self.index, node, Outcome::Unknown, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_round_trips_through_jsonl() {
        let rec = Recorder::new();
        let a = rec.invoke(1, Op::Create { title: "t1".into() });
        let b = rec.invoke(2, Op::Read { article: 1 });
        let c = rec.invoke(3, Op::Update { article: 1, title: "t2".into() });
        let d = rec.invoke(4, Op::Delete { article: 1 });
        a.ok(Some(1), Ret::Created(1));
        b.ok(Some(2), Ret::Value("t1".into()));
        c.unknown(Some(1));
        d.fail(None);
        let h = rec.history();
        assert_eq!(h.len(), 4);
        assert_eq!(h.entries()[2].outcome, Outcome::Unknown);
        assert_eq!(h.entries()[2].complete, None);
        assert!(h.entries()[0].complete.unwrap() >= h.entries()[0].invoke);
        let text = h.to_jsonl();
        assert_eq!(text.lines().count(), 4);
        assert_eq!(History::from_jsonl(&text).unwrap(), h);
    }

    #[test]
    fn dropped_pending_stays_unknown() {
        let rec = Recorder::new();
        drop(rec.invoke(1, Op::Read { article: 3 }));
        let h = rec.history();
        assert_eq!(h.entries()[0].outcome, Outcome::Unknown);
        assert_eq!(h.entries()[0].end(), u64::MAX);
    }

    #[test]
    fn recorder_is_shared_across_threads() {
        let rec = Recorder::new();
        std::thread::scope(|s| {
            for client in 0..8 {
                let rec = rec.clone();
                s.spawn(move || {
                    for _ in 0..100 {
                        rec.invoke(client, Op::Read { article: 1 }).ok(None, Ret::Absent);
                    }
                });
            }
        });
        let h = rec.history();
        assert_eq!(h.len(), 800);
        assert!(h.entries().iter().all(|e| e.outcome == Outcome::Ok));
    }

    #[test]
    fn malformed_lines_are_refused_with_their_line() {
        let ok = r#"{"client":1,"op":"read","article":1,"invoke":5,"complete":9,"outcome":"ok","ret":"absent"}"#;
        let bad_ret = r#"{"client":1,"op":"read","article":1,"invoke":5,"complete":9,"outcome":"ok","ret":{"created":2}}"#;
        let open_ok =
            r#"{"client":1,"op":"read","article":1,"invoke":5,"outcome":"ok","ret":"absent"}"#;
        let backwards =
            r#"{"client":1,"op":"delete","article":1,"invoke":5,"complete":4,"outcome":"fail"}"#;
        assert!(History::from_jsonl(ok).is_ok());
        for bad in [bad_ret, open_ok, backwards, "{not json"] {
            let err = History::from_jsonl(&format!("{ok}\n{bad}\n")).unwrap_err();
            assert!(err.to_string().starts_with("line 2:"), "{err}");
        }
    }
}
