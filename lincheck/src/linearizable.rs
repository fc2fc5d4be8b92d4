//! Is the history linearizable? Each article is a register that may be absent; ids are unique
//! and handed out in real-time order; nothing appears that no client wrote.
//!
//! The search is Lowe's just-in-time linearization ("Testing for linearizability", 2017) with the
//! memoization Porcupine uses: the history becomes a list of call and return events in time
//! order; an operation is linearized by lifting its call and return out of the list, and meeting
//! a return whose call could not be lifted means backtracking. A set of linearized operations
//! together with the state it leads to is tried once: a second path to the same pair cannot
//! fare better. An unknown operation returns at +∞, so it may be linearized anywhere after its
//! call, and since it may also never have happened, the search succeeds as soon as every
//! completed operation is placed.
//!
//! The search is exponential in the worst case, so it has a time limit; past it the verdict is
//! `Inconclusive`, never a pass. A violation is shrunk to a smaller set of operations that still
//! has no linearization (see [`shrink`]), which is what a report prints.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::history::History;
use crate::register::{self, FIRST_VALUE, Input, KeyOp, Resolved, State};
use crate::verdict::{Verdict, ViolationKind};

/// Checks `history`'s article operations for linearizability, giving up as `Inconclusive`
/// after `time_limit`. Comment lists are the list checker's; here an acknowledged comment
/// operation only says whether its article existed.
pub fn check_linearizable(history: &History, time_limit: Duration) -> Verdict {
    let deadline = Instant::now() + time_limit;
    let mut resolved = match Resolved::new(history) {
        Ok(r) => r,
        Err(v) => return v,
    };
    let keys = match register::split(history, &mut resolved) {
        Ok(k) => k,
        Err(v) => return v,
    };
    if let Some(v) = check_id_order(history, &resolved) {
        return v;
    }
    for (article, ops) in &keys {
        match search(ops, deadline) {
            Search::Linearizable => {}
            Search::Timeout => {
                return Verdict::Inconclusive(format!(
                    "article {article}: no answer within {time_limit:?} for its {} operations",
                    ops.len()
                ));
            }
            Search::NotLinearizable => {
                let (witness, t) =
                    shrink(ops, Instant::now() + time_limit.min(Duration::from_secs(10)));
                return Verdict::violation(
                    ViolationKind::NotLinearizable,
                    format!(
                        "article {article}: no order of these operations explains what the \
                         clients saw (already broken at time {t})"
                    ),
                    // The writer of each value read, even if the proof needs no more than its
                    // absence, so the report shows where the value came from.
                    witness
                        .iter()
                        .flat_map(|o| match o.input {
                            Input::Read(Some(v)) if v >= FIRST_VALUE => {
                                vec![o.entry, (v - FIRST_VALUE) as usize]
                            }
                            _ => vec![o.entry],
                        })
                        .collect(),
                );
            }
        }
    }
    Verdict::Pass
}

/// Ids come from a counter the log orders, so a create that began after another was
/// acknowledged must get a larger id.
fn check_id_order(history: &History, resolved: &Resolved) -> Option<Verdict> {
    let e = history.entries();
    let mut by_end: Vec<(usize, u64)> =
        resolved.create_key.iter().map(|(&i, &id)| (i, id)).collect();
    let mut by_invoke = by_end.clone();
    by_end.retain(|&(i, _)| e[i].end() != u64::MAX);
    by_end.sort_by_key(|&(i, _)| (e[i].end(), i));
    by_invoke.sort_by_key(|&(i, _)| (e[i].invoke, i));
    let mut j = 0;
    let mut best: Option<(u64, usize)> = None;
    for &(b, id) in &by_invoke {
        while j < by_end.len() && e[by_end[j].0].end() < e[b].invoke {
            let (a, aid) = by_end[j];
            if best.is_none_or(|(m, _)| aid > m) {
                best = Some((aid, a));
            }
            j += 1;
        }
        if let Some((m, a)) = best
            && m >= id
        {
            return Some(Verdict::violation(
                ViolationKind::IdOrder,
                format!(
                    "#{a} got id {m} and was acknowledged before #{b} began, which got id {id}"
                ),
                vec![a, b],
            ));
        }
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    Linearizable,
    NotLinearizable,
    Timeout,
}

const NIL: usize = usize::MAX;

/// The event list: node 0 is the head; nodes `1..=2n` are the calls and returns in time order.
struct Events {
    next: Vec<usize>,
    prev: Vec<usize>,
    op: Vec<usize>,
    /// For a call, its return's node; `NIL` for a return.
    ret_of: Vec<usize>,
}

impl Events {
    fn new(ops: &[KeyOp]) -> Self {
        // At equal times a call sorts before a return: the two operations count as concurrent,
        // the lenient reading when the clock cannot tell them apart.
        let mut ev: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * ops.len());
        for (i, o) in ops.iter().enumerate() {
            ev.push((o.call, false, i));
            ev.push((o.ret, true, i));
        }
        ev.sort_unstable();
        let m = ev.len();
        let mut op = vec![NIL; m + 1];
        let mut ret_of = vec![NIL; m + 1];
        let mut call_node = vec![NIL; ops.len()];
        for (k, &(_, is_ret, i)) in ev.iter().enumerate() {
            op[k + 1] = i;
            if is_ret {
                ret_of[call_node[i]] = k + 1;
            } else {
                call_node[i] = k + 1;
            }
        }
        let next = (0..=m).map(|k| if k == m { NIL } else { k + 1 }).collect();
        let prev = (0..=m).map(|k| if k == 0 { NIL } else { k - 1 }).collect();
        Events { next, prev, op, ret_of }
    }

    fn unlink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p] = x;
        if n != NIL {
            self.prev[n] = x;
        }
    }

    /// Takes a call and its return out of the list; `unlift` puts them back (in reverse order,
    /// so the removed nodes' own links restore the list exactly).
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.ret_of[call]);
    }

    fn unlift(&mut self, call: usize) {
        self.relink(self.ret_of[call]);
        self.relink(call);
    }
}

/// Searches for a linearization of one article's operations (sorted or not).
fn search(ops: &[KeyOp], deadline: Instant) -> Search {
    let mut ev = Events::new(ops);
    let words = ops.len().div_ceil(64);
    let mut linearized = vec![0u64; words];
    let mut seen: HashSet<(Box<[u64]>, State)> = HashSet::new();
    let mut stack: Vec<(usize, State)> = Vec::new();
    let mut state = register::NEVER;
    let mut node = ev.next[0];
    let mut steps: u64 = 0;
    while ev.next[0] != NIL {
        steps += 1;
        if steps.is_multiple_of(1024) && Instant::now() > deadline {
            return Search::Timeout;
        }
        let i = ev.op[node];
        if ev.ret_of[node] != NIL {
            // A call: try to linearize its operation now.
            if let Some(after) = register::step(state, ops[i].input) {
                linearized[i / 64] |= 1 << (i % 64);
                if seen.insert((linearized.clone().into_boxed_slice(), after)) {
                    stack.push((node, state));
                    state = after;
                    ev.lift(node);
                    node = ev.next[0];
                    continue;
                }
                linearized[i / 64] &= !(1 << (i % 64));
            }
            node = ev.next[node];
        } else if ops[i].is_open() {
            // Only open operations remain unplaced, and they may never have happened.
            return Search::Linearizable;
        } else {
            // A completed operation must be placed by now: undo the last choice.
            let Some((call, before)) = stack.pop() else {
                return Search::NotLinearizable;
            };
            let j = ev.op[call];
            linearized[j / 64] &= !(1 << (j % 64));
            state = before;
            ev.unlift(call);
            node = ev.next[call];
        }
    }
    Search::Linearizable
}

/// The operations that still have no linearization when the history is cut at time `t`: those
/// invoked by `t`, with the answers of those still running at `t` forgotten.
fn cut_at(ops: &[KeyOp], t: u64) -> Vec<KeyOp> {
    ops.iter()
        .filter(|o| o.call <= t)
        .filter_map(|o| {
            if o.ret <= t {
                Some(*o)
            } else {
                o.input.forget_answer().map(|input| KeyOp { input, ret: u64::MAX, ..*o })
            }
        })
        .collect()
}

/// A smaller set of operations that is still not linearizable, and so proves the violation on
/// its own.
///
/// Two reductions keep that proof sound, because each can only turn a linearizable history into
/// another linearizable one: cutting the history at a time `t` (a linearization of the whole
/// restricts to one of the cut, operations still running at `t` becoming open), and dropping an
/// operation that changed nothing (a read, a 404). So first the earliest cut that fails is
/// found by bisection over the invocation and completion times, then such observations are
/// dropped one at a time while it still fails. Past `deadline` the shrinking stops with what it
/// has, which still proves the violation. Returns the operations and the cut's time.
pub(crate) fn shrink(ops: &[KeyOp], deadline: Instant) -> (Vec<KeyOp>, u64) {
    let fails = |ops: &[KeyOp]| search(ops, deadline) == Search::NotLinearizable;
    let mut times: Vec<u64> =
        ops.iter().flat_map(|o| [o.call, o.ret]).filter(|&t| t != u64::MAX).collect();
    times.sort_unstable();
    times.dedup();
    // The whole history fails; find the first cut that does.
    let (mut lo, mut hi) = (0, times.len() - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fails(&cut_at(ops, times[mid])) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let t = times[hi];
    let mut witness: Vec<KeyOp> = ops.iter().filter(|o| o.call <= t).copied().collect();
    let mut cut = cut_at(ops, t);
    if !fails(&cut) {
        // Only when the deadline cut a search short: keep everything.
        return (ops.to_vec(), u64::MAX);
    }
    let mut k = cut.len();
    while k > 0 && Instant::now() < deadline {
        k -= 1;
        if !cut[k].input.is_observation() {
            continue;
        }
        let mut without = cut.clone();
        without.remove(k);
        if fails(&without) {
            let entry = cut[k].entry;
            cut = without;
            witness.retain(|o| o.entry != entry);
        }
    }
    // Reads whose answer the cut forgot say nothing; show only what the proof uses.
    witness.retain(|o| cut.iter().any(|c| c.entry == o.entry));
    (witness, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(entry: usize, call: u64, ret: u64, input: Input) -> KeyOp {
        KeyOp { entry, call, ret, input }
    }

    #[test]
    fn stale_read_is_found_and_shrunk_to_its_proof() {
        let a = FIRST_VALUE;
        let b = FIRST_VALUE + 1;
        let far = Instant::now() + Duration::from_secs(5);
        let mut ops = vec![
            op(0, 0, 10, Input::Create(a)),
            op(1, 20, 30, Input::Update(b, Some(true))),
            op(2, 40, 50, Input::Read(Some(b))),
            op(3, 60, 70, Input::Read(Some(a))),
            op(4, 80, 90, Input::Read(Some(a))),
        ];
        assert_eq!(search(&ops, far), Search::NotLinearizable);
        let witness: Vec<usize> = shrink(&ops, far).0.iter().map(|o| o.entry).collect();
        assert_eq!(witness, vec![0, 1, 3]);
        // Make the first update concurrent with the late read: now linearizable.
        ops[1].ret = 95;
        ops[2] = op(2, 40, 50, Input::Read(Some(a)));
        assert_eq!(search(&ops, far), Search::Linearizable);
    }

    #[test]
    fn open_operations_may_be_left_out_or_placed_late() {
        let a = FIRST_VALUE;
        let b = FIRST_VALUE + 1;
        let far = Instant::now() + Duration::from_secs(5);
        let ops = vec![
            op(0, 0, 10, Input::Create(a)),
            op(1, 20, u64::MAX, Input::Update(b, None)),
            op(2, 30, 40, Input::Read(Some(a))),
            op(3, 50, 60, Input::Read(Some(b))),
        ];
        assert_eq!(search(&ops, far), Search::Linearizable);
        assert_eq!(search(&ops[..3], far), Search::Linearizable);
    }
}
