//! Client histories of a replicated store and the checkers that judge them.
//!
//! The cluster scenarios of the BDD harness record every client operation ([`Recorder`]) and
//! then ask, of the [`History`] they got, the questions a Jepsen test asks:
//! - [`check_linearizable`]: does some order of the operations, each taking effect between its
//!   invocation and its completion, explain every answer? (articles as registers; ids unique,
//!   in real-time order; no phantom values);
//! - [`check_no_lost_writes`]: does each node's final state keep every acknowledged write that
//!   nothing later overwrote?
//! - [`check_no_minority_ack`]: did a node cut off on the minority side of a partition
//!   acknowledge a write?
//! - [`check_list_append`]: do the comment lists (append-only, Elle's list-append idea) lose,
//!   duplicate or reorder acknowledged appends, or go backwards?
//!
//! Each checker is a pure function returning a [`Verdict`] whose violations name the operations
//! that prove them; [`Verdict::report`] prints that part of the history. Nothing here talks to
//! a cluster, so every checker is tested on histories written by hand (`tests/corpus/`).
//!
//! ```
//! use std::time::Duration;
//! use lincheck::{Op, Recorder, Ret, Verdict, check_linearizable};
//!
//! let rec = Recorder::new(); // clone it into each client task
//! let create = rec.invoke(1, Op::Create { title: "t1".into() });
//! create.ok(Some(2), Ret::Created(1)); // served by node 2, which assigned id 1
//! let read = rec.invoke(2, Op::Read { article: 1 });
//! read.ok(Some(3), Ret::Value("t0".into())); // a title nobody wrote
//!
//! let history = rec.history();
//! let verdict = check_linearizable(&history, Duration::from_secs(60));
//! assert!(matches!(verdict, Verdict::Violation(_)));
//! println!("{}", verdict.report(&history)); // the verdict and the operations proving it
//! ```

#![forbid(unsafe_code)]

mod history;
mod linearizable;
mod list_append;
mod lost;
mod minority;
mod register;
mod verdict;

pub use history::{
    ArticleId, ClientId, Entry, History, HistoryError, NodeId, Op, Outcome, Pending, Recorder, Ret,
};
pub use linearizable::check_linearizable;
pub use list_append::check_list_append;
pub use lost::{FinalState, check_no_lost_writes};
pub use minority::{PartitionWindow, check_no_minority_ack};
pub use verdict::{Verdict, Violation, ViolationKind};
