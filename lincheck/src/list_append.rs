//! Comment lists as append-only lists, in the spirit of Elle's list-append workload.
//!
//! A list that is only ever appended to carries its own history: every observation of it (a
//! client's read, a node's final state) must be a prefix of the one true list. So, for each
//! article's comments, with comments unique in a history:
//! - no comment appears twice in a list, and none appears that no append wrote, nor one a failed
//!   append wrote, nor one written to another article;
//! - an observation begun after an append was acknowledged shows it, and a node's final list
//!   shows every acknowledged append (unless the article was deleted);
//! - two acknowledged appends that did not overlap in time appear in that order;
//! - any two observations are prefixes of each other, and a later one (in real time) is no
//!   shorter: a final list counts as later than every read.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::history::{ArticleId, History, NodeId, Op, Outcome, Ret};
use crate::lost::FinalState;
use crate::verdict::{Verdict, ViolationKind};

/// One look at a comment list.
struct Obs<'a> {
    /// The read that saw it; `None` for a node's final state.
    entry: Option<usize>,
    node: Option<NodeId>,
    article: ArticleId,
    list: &'a [String],
    invoke: u64,
    end: u64,
}

impl Obs<'_> {
    fn name(&self) -> String {
        match (self.entry, self.node) {
            (Some(i), _) => format!("read #{i}"),
            (None, Some(n)) => format!("node {n}'s final list"),
            (None, None) => "a list".into(),
        }
    }

    fn with(&self, mut ops: Vec<usize>) -> Vec<usize> {
        ops.extend(self.entry);
        ops
    }
}

/// Checks the comment lists that reads returned and that each node holds at the end.
pub fn check_list_append(history: &History, finals: &[FinalState]) -> Verdict {
    let e = history.entries();
    let mut appends: HashMap<&str, usize> = HashMap::new();
    // Each article's acknowledged appends, by completion time.
    let mut acked: BTreeMap<ArticleId, Vec<usize>> = BTreeMap::new();
    let mut deleted: HashSet<ArticleId> = HashSet::new();
    for (i, x) in e.iter().enumerate() {
        match &x.op {
            Op::Append { article, comment } => {
                if let Some(prev) = appends.insert(comment, i) {
                    return Verdict::Inconclusive(format!(
                        "#{prev} and #{i} both append {comment:?}: comments must be unique"
                    ));
                }
                if x.is_ok_with(&Ret::Done) {
                    acked.entry(*article).or_default().push(i);
                }
            }
            Op::Delete { article } if x.outcome == Outcome::Unknown || x.is_ok_with(&Ret::Done) => {
                deleted.insert(*article);
            }
            _ => {}
        }
    }
    for v in acked.values_mut() {
        v.sort_by_key(|&i| (e[i].end(), i));
    }

    let mut obs = Vec::new();
    for (i, x) in e.iter().enumerate() {
        if let (Op::ReadComments { article }, Some(Ret::Comments(list))) = (&x.op, &x.ret)
            && x.outcome == Outcome::Ok
        {
            obs.push(Obs {
                entry: Some(i),
                node: x.node,
                article: *article,
                list,
                invoke: x.invoke,
                end: x.end(),
            });
        }
    }
    const EMPTY: &[String] = &[];
    for f in finals {
        let articles: HashSet<ArticleId> = f.comments.keys().chain(acked.keys()).copied().collect();
        for k in articles {
            let list = match f.comments.get(&k) {
                Some(l) => l.as_slice(),
                None if deleted.contains(&k) => continue,
                None => EMPTY,
            };
            obs.push(Obs {
                entry: None,
                node: Some(f.node),
                article: k,
                list,
                invoke: u64::MAX,
                end: u64::MAX,
            });
        }
    }

    for o in &obs {
        if let Some(v) = check_one(history, &appends, &acked, o) {
            return v;
        }
    }
    check_prefixes(&obs)
}

/// The checks one observation can fail on its own.
fn check_one(
    history: &History,
    appends: &HashMap<&str, usize>,
    acked: &BTreeMap<ArticleId, Vec<usize>>,
    o: &Obs,
) -> Option<Verdict> {
    let e = history.entries();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut writers = Vec::with_capacity(o.list.len());
    for (pos, c) in o.list.iter().enumerate() {
        let phantom = |why: String, ops| {
            Some(Verdict::violation(
                ViolationKind::Phantom,
                format!("{} of article {}: {why}", o.name(), o.article),
                o.with(ops),
            ))
        };
        let Some(&w) = appends.get(c.as_str()) else {
            return phantom(format!("{c:?} was appended by no client"), vec![]);
        };
        if e[w].outcome == Outcome::Fail {
            return phantom(format!("{c:?} comes from failed #{w}"), vec![w]);
        }
        if e[w].op.article() != Some(o.article) {
            return phantom(format!("{c:?} was appended to another article by #{w}"), vec![w]);
        }
        if let Some(first) = seen.insert(c, pos) {
            return Some(Verdict::violation(
                ViolationKind::ListDuplicate,
                format!(
                    "{} of article {} holds {c:?} (#{w}) at {first} and {pos}",
                    o.name(),
                    o.article
                ),
                o.with(vec![w]),
            ));
        }
        writers.push(w);
    }
    // Reordering: an acknowledged append placed after one that began only once it was done.
    let mut latest: Option<usize> = None;
    for &y in &writers {
        if let Some(x) = latest
            && e[y].outcome == Outcome::Ok
            && e[y].end() < e[x].invoke
        {
            return Some(Verdict::violation(
                ViolationKind::ListReordered,
                format!(
                    "{} of article {} puts #{x} before #{y}, though #{y} was acknowledged before \
                     #{x} began",
                    o.name(),
                    o.article
                ),
                o.with(vec![x, y]),
            ));
        }
        if latest.is_none_or(|x| e[y].invoke > e[x].invoke) {
            latest = Some(y);
        }
    }
    // Visibility: what was acknowledged before the observation began, or before an append it
    // shows began, must be in it.
    let horizon = latest.map_or(o.invoke, |x| o.invoke.max(e[x].invoke));
    let present: HashSet<usize> = writers.iter().copied().collect();
    for &a in acked.get(&o.article).map(Vec::as_slice).unwrap_or_default() {
        if e[a].end() >= horizon {
            break;
        }
        if !present.contains(&a) {
            let mut ops = vec![a];
            let why = if e[a].end() < o.invoke {
                "acknowledged before it began".to_string()
            } else {
                let x = latest.unwrap_or(a);
                ops.push(x);
                format!("acknowledged before #{x}, which it shows, began")
            };
            return Some(Verdict::violation(
                ViolationKind::ListLost,
                format!("{} of article {} lacks #{a}, {why}", o.name(), o.article),
                o.with(ops),
            ));
        }
    }
    None
}

/// Observations of one list must be prefixes of one another, and never shrink in real time.
fn check_prefixes(obs: &[Obs]) -> Verdict {
    let mut by_article: BTreeMap<ArticleId, Vec<&Obs>> = BTreeMap::new();
    for o in obs {
        by_article.entry(o.article).or_default().push(o);
    }
    for (k, mut os) in by_article {
        os.sort_by_key(|o| o.list.len());
        for w in os.windows(2) {
            let (short, long) = (w[0], w[1]);
            if !long.list.starts_with(short.list) {
                return Verdict::violation(
                    ViolationKind::ListNotPrefix,
                    format!(
                        "article {k}: {} {:?} and {} {:?} are not prefixes of one another",
                        short.name(),
                        short.list,
                        long.name(),
                        long.list
                    ),
                    short.entry.into_iter().chain(long.entry).collect(),
                );
            }
        }
        // Sweep in real time: the longest list seen by an observation already over.
        let mut by_end: Vec<&Obs> = os.clone();
        by_end.sort_by_key(|o| o.end);
        let mut by_invoke = os;
        by_invoke.sort_by_key(|o| o.invoke);
        let mut j = 0;
        let mut longest: Option<&Obs> = None;
        for later in by_invoke {
            while j < by_end.len() && by_end[j].end < later.invoke {
                if longest.is_none_or(|l| by_end[j].list.len() > l.list.len()) {
                    longest = Some(by_end[j]);
                }
                j += 1;
            }
            if let Some(earlier) = longest
                && earlier.list.len() > later.list.len()
            {
                return Verdict::violation(
                    ViolationKind::ListNotPrefix,
                    format!(
                        "article {k}: {} shows {} comments after {} showed {}",
                        later.name(),
                        later.list.len(),
                        earlier.name(),
                        earlier.list.len()
                    ),
                    earlier.entry.into_iter().chain(later.entry).collect(),
                );
            }
        }
    }
    Verdict::Pass
}
