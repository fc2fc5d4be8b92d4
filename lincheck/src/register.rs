//! An article seen as a register that may be absent, and the split of a history by article.
//!
//! Linearizability is compositional: a history is linearizable if and only if each object's
//! sub-history is. So each article is searched alone, which keeps the search small (Herlihy and
//! Wing, 1990). The split needs to know which article each operation touched; a create's article
//! is the id it was given, and an unknown create's article is found through its title, which a
//! read (or a node's final state) shows: titles are unique, so a title names one write.
//!
//! A state is a `u32`: [`NEVER`] (not created yet), [`GONE`] (deleted), [`HIDDEN`] (created by an
//! unknown create nobody saw, title unknown) or the writer's position + [`FIRST_VALUE`]. An id is
//! never reused, so a create needs `NEVER` and a deleted article cannot come back.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::history::{ArticleId, Entry, History, Op, Outcome, Ret};
use crate::verdict::{Verdict, ViolationKind};

pub(crate) type State = u32;
pub(crate) const NEVER: State = 0;
pub(crate) const GONE: State = 1;
pub(crate) const HIDDEN: State = 2;
pub(crate) const FIRST_VALUE: State = 3;

fn present(s: State) -> bool {
    s >= HIDDEN
}

/// An operation on one article as the model sees it. `found` is `None` when the outcome is
/// unknown: the model then applies the operation if it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    Create(State),
    /// `None`: the read answered 404.
    Read(Option<State>),
    /// A comment operation's answer says only whether the article existed.
    Exists(bool),
    Update(State, Option<bool>),
    Delete(Option<bool>),
}

impl Input {
    /// Whether the operation leaves the state as it found it (so dropping it from a history can
    /// only make the history easier to explain).
    pub(crate) fn is_observation(self) -> bool {
        matches!(
            self,
            Input::Read(_)
                | Input::Exists(_)
                | Input::Update(_, Some(false))
                | Input::Delete(Some(false))
        )
    }

    /// The same operation with its answer forgotten, as if it were still open.
    pub(crate) fn forget_answer(self) -> Option<Input> {
        match self {
            Input::Read(_) | Input::Exists(_) => None,
            Input::Update(v, _) => Some(Input::Update(v, None)),
            Input::Delete(_) => Some(Input::Delete(None)),
            c @ Input::Create(_) => Some(c),
        }
    }
}

/// The register's transition: the state after `input`, or `None` if `input` (with its answer)
/// cannot happen in `state`.
pub(crate) fn step(state: State, input: Input) -> Option<State> {
    match input {
        Input::Create(v) => (state == NEVER).then_some(v),
        Input::Read(None) => (!present(state)).then_some(state),
        Input::Exists(e) => (present(state) == e).then_some(state),
        Input::Read(Some(v)) => (state == v).then_some(state),
        Input::Update(v, Some(true)) => present(state).then_some(v),
        Input::Update(_, Some(false)) | Input::Delete(Some(false)) => {
            (!present(state)).then_some(state)
        }
        Input::Update(v, None) => Some(if present(state) { v } else { state }),
        Input::Delete(Some(true)) => present(state).then_some(GONE),
        Input::Delete(None) => Some(if present(state) { GONE } else { state }),
    }
}

/// One operation of an article's sub-history. `ret` is `u64::MAX` for an unknown operation,
/// which may also be left out altogether.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyOp {
    pub entry: usize,
    pub call: u64,
    pub ret: u64,
    pub input: Input,
}

impl KeyOp {
    pub(crate) fn is_open(&self) -> bool {
        self.ret == u64::MAX
    }
}

/// Which write produced each title, and which article each create made.
pub(crate) struct Resolved {
    writers: HashMap<String, usize>,
    pub create_key: HashMap<usize, ArticleId>,
    /// Writes whose value someone saw.
    seen: HashSet<usize>,
}

impl Resolved {
    /// Indexes the history's writes. Fails (inconclusive) if two writes share a title: a read
    /// could then not say which one it saw.
    pub(crate) fn new(history: &History) -> Result<Self, Verdict> {
        let mut writers = HashMap::new();
        let mut create_key = HashMap::new();
        let mut by_id: HashMap<ArticleId, usize> = HashMap::new();
        for (i, e) in history.entries().iter().enumerate() {
            let (Op::Create { title } | Op::Update { title, .. }) = &e.op else {
                continue;
            };
            if let Some(prev) = writers.insert(title.clone(), i) {
                return Err(Verdict::Inconclusive(format!(
                    "#{prev} and #{i} both write {title:?}: titles must be unique"
                )));
            }
            if let Some(Ret::Created(id)) = e.ret {
                if let Some(prev) = by_id.insert(id, i) {
                    return Err(Verdict::violation(
                        ViolationKind::DuplicateId,
                        format!("#{prev} and #{i} were both acknowledged with id {id}"),
                        vec![prev, i],
                    ));
                }
                create_key.insert(i, id);
            }
        }
        Ok(Resolved { writers, create_key, seen: HashSet::new() })
    }

    /// The write that produced `title`, seen in article `article` by the operations `seen_by`
    /// (none for a node's final state). A title no write produced, or produced by a failed write
    /// or by a write to another article, is a phantom. An unknown create seen this way is
    /// assigned to `article`.
    pub(crate) fn writer_of(
        &mut self,
        history: &History,
        article: ArticleId,
        title: &str,
        seen_by: &[usize],
        observer: &str,
    ) -> Result<usize, Verdict> {
        let phantom = |why: String, mut ops: Vec<usize>| {
            ops.extend_from_slice(seen_by);
            Err(Verdict::violation(ViolationKind::Phantom, format!("{observer}: {why}"), ops))
        };
        let Some(&w) = self.writers.get(title) else {
            return phantom(
                format!("article {article} shows {title:?}, which no client wrote"),
                vec![],
            );
        };
        let e: &Entry = &history.entries()[w];
        if e.outcome == Outcome::Fail {
            return phantom(
                format!("article {article} shows {title:?}, written by failed #{w}"),
                vec![w],
            );
        }
        let target = match e.op {
            Op::Create { .. } => match self.create_key.get(&w) {
                Some(&k) => k,
                None => {
                    // An unknown create: the first sighting tells which id it was given.
                    self.create_key.insert(w, article);
                    article
                }
            },
            _ => e.op.article().unwrap_or(article),
        };
        if target != article {
            let kind = if matches!(e.op, Op::Create { .. }) && e.outcome == Outcome::Unknown {
                ViolationKind::DuplicateId
            } else {
                ViolationKind::Phantom
            };
            let mut ops = vec![w];
            ops.extend_from_slice(seen_by);
            return Err(Verdict::violation(
                kind,
                format!(
                    "{observer}: article {article} shows {title:?}, which #{w} wrote to article {target}"
                ),
                ops,
            ));
        }
        self.seen.insert(w);
        Ok(w)
    }

    /// The model state for `title`'s writer.
    pub(crate) fn state_of(writer: usize) -> State {
        State::try_from(writer).map_or(State::MAX, |w| w.saturating_add(FIRST_VALUE))
    }
}

/// Splits the article operations (comments aside) by article, resolving every title read.
/// Failed operations never took effect and unknown reads say nothing: both are left out.
pub(crate) fn split(
    history: &History,
    resolved: &mut Resolved,
) -> Result<BTreeMap<ArticleId, Vec<KeyOp>>, Verdict> {
    // Resolve reads first, so unknown creates learn their article.
    let mut reads = Vec::new();
    for (i, e) in history.entries().iter().enumerate() {
        if let (Op::Read { article }, Outcome::Ok, Some(ret)) = (&e.op, e.outcome, &e.ret) {
            let seen = match ret {
                Ret::Value(t) => Some(Resolved::state_of(resolved.writer_of(
                    history,
                    *article,
                    t,
                    &[i],
                    "a read",
                )?)),
                _ => None,
            };
            reads.push((i, *article, Input::Read(seen)));
        }
    }
    let mut keys: BTreeMap<ArticleId, Vec<KeyOp>> = BTreeMap::new();
    let key_op = |i: usize, input| KeyOp {
        entry: i,
        call: history.entries()[i].invoke,
        ret: history.entries()[i].end(),
        input,
    };
    for (i, article, input) in reads {
        keys.entry(article).or_default().push(key_op(i, input));
    }
    let mut unseen_creates = Vec::new();
    for (i, e) in history.entries().iter().enumerate() {
        if e.outcome == Outcome::Fail {
            continue;
        }
        let found = match (e.outcome, &e.ret) {
            (Outcome::Ok, Some(r)) => Some(*r == Ret::Done),
            _ => None,
        };
        let (article, input) = match &e.op {
            Op::Create { .. } => match resolved.create_key.get(&i) {
                Some(&k) => (k, Input::Create(Resolved::state_of(i))),
                None => {
                    unseen_creates.push(i);
                    continue;
                }
            },
            // An update in doubt whose title nobody read can only get in the way: between it
            // and the next write no read could succeed. Leaving it out loses no explanation
            // and spares the search a subset of such updates per state.
            Op::Update { .. } if e.outcome == Outcome::Unknown && !resolved.seen.contains(&i) => {
                continue;
            }
            Op::Update { article, .. } => (*article, Input::Update(Resolved::state_of(i), found)),
            Op::Delete { article } => (*article, Input::Delete(found)),
            // Comments are the list checker's, but an acknowledged comment operation also
            // says whether its article existed then.
            Op::Append { article, .. } | Op::ReadComments { article }
                if e.outcome == Outcome::Ok =>
            {
                (*article, Input::Exists(e.ret != Some(Ret::Absent)))
            }
            _ => continue,
        };
        keys.entry(article).or_default().push(key_op(i, input));
    }
    // An article with no known create may have been made by an unknown create nobody saw: give
    // it one create of an unseen title, open from the earliest such invocation. That can only
    // make it easier to explain, never harder, so it cannot cause a false violation.
    if let Some(&first) = unseen_creates.iter().min_by_key(|&&i| history.entries()[i].invoke) {
        for ops in keys.values_mut() {
            if !ops.iter().any(|o| matches!(o.input, Input::Create(_))) {
                ops.push(KeyOp {
                    entry: first,
                    call: history.entries()[first].invoke,
                    ret: u64::MAX,
                    input: Input::Create(HIDDEN),
                });
            }
        }
    }
    for ops in keys.values_mut() {
        ops.sort_by_key(|o| (o.call, o.entry));
        // An article is deleted once for good, so of its deletes in doubt only the earliest
        // matters: it can stand in for any other, at the same point.
        let mut first_doubtful_delete = true;
        ops.retain(|o| {
            if o.input != Input::Delete(None) {
                return true;
            }
            std::mem::replace(&mut first_doubtful_delete, false)
        });
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_transitions() {
        let v = FIRST_VALUE + 7;
        assert_eq!(step(NEVER, Input::Create(v)), Some(v));
        assert_eq!(step(GONE, Input::Create(v)), None, "ids are never reused");
        assert_eq!(step(NEVER, Input::Read(None)), Some(NEVER));
        assert_eq!(step(v, Input::Read(None)), None);
        assert_eq!(step(HIDDEN, Input::Read(Some(v))), None);
        assert_eq!(step(v, Input::Update(v + 1, Some(true))), Some(v + 1));
        assert_eq!(step(GONE, Input::Update(v + 1, Some(true))), None);
        assert_eq!(step(GONE, Input::Update(v + 1, None)), Some(GONE));
        assert_eq!(step(v, Input::Delete(Some(true))), Some(GONE));
        assert_eq!(step(v, Input::Delete(Some(false))), None);
        assert_eq!(step(HIDDEN, Input::Delete(None)), Some(GONE));
        assert_eq!(step(HIDDEN, Input::Exists(true)), Some(HIDDEN));
        assert_eq!(step(GONE, Input::Exists(true)), None);
        assert_eq!(step(NEVER, Input::Exists(false)), Some(NEVER));
    }
}
