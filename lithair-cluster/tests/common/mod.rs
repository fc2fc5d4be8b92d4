//! A tiny application for the storage tests: notes written and cleared.

#![allow(dead_code, reason = "each test file uses a part of this module")]

use lithair_core::Event;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Note {
    Written { text: String },
    Cleared {},
}

impl Event for Note {
    type State = Vec<String>;

    fn event_type(&self) -> &'static str {
        match self {
            Note::Written { .. } => "Written",
            Note::Cleared {} => "Cleared",
        }
    }

    fn apply(&self, state: &mut Vec<String>) {
        match self {
            Note::Written { text } => state.push(text.clone()),
            Note::Cleared {} => state.clear(),
        }
    }
}

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use lithair_cluster::{
    Events, LogStore, NodeId, RaftEvent, StateMachine, TypeConfig, open_storage,
};
use lithair_core::Durability;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, Membership};
use serde_json::value::RawValue;

pub fn log_id(term: u64, node: u64, index: u64) -> LogId<NodeId> {
    LogId::new(CommittedLeaderId::new(term, node), index)
}

/// An application entry: a note written by the leader `node` of `term`.
pub fn note(term: u64, node: u64, index: u64, text: &str) -> Entry<TypeConfig> {
    notes(term, node, index, &[text])
}

/// An application entry holding several notes, stamped `1000 + index`, `+ 1`, ….
pub fn notes(term: u64, node: u64, index: u64, texts: &[&str]) -> Entry<TypeConfig> {
    let events = texts.iter().zip(0..).map(|(text, i)| {
        let data = serde_json::to_string(&serde_json::json!({ "text": text })).unwrap();
        RaftEvent {
            ts: 1_000 + index + i,
            event_type: "Written".into(),
            data: RawValue::from_string(data).unwrap(),
        }
    });
    Entry {
        log_id: log_id(term, node, index),
        payload: EntryPayload::Normal(Events(events.collect())),
    }
}

/// The first entry of a cluster's log: node 1 alone.
pub fn initial_membership() -> Entry<TypeConfig> {
    let nodes = [(
        1,
        lithair_cluster::Node { peer: "127.0.0.1:7001".into(), api: "127.0.0.1:8001".into() },
    )];
    Entry {
        log_id: log_id(0, 0, 0),
        payload: EntryPayload::Membership(Membership::new(
            vec![BTreeSet::from([1])],
            BTreeMap::from(nodes),
        )),
    }
}

pub async fn open(dir: &Path) -> (LogStore, StateMachine<Note>) {
    open_storage::<Note>(dir, Durability::Fsync).await.expect("the storage opens")
}
