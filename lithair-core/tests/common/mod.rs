//! A small application for the engine's tests: a ledger of numbered entries.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::path::Path;

use lithair_core::{Durability, EngineConfig, Event, StateEngine};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum LedgerEvent {
    Added { id: u64, text: String },
    Removed { id: u64 },
}

/// Entries in the order their events were applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub applied: Vec<u64>,
    pub live: std::collections::BTreeMap<u64, String>,
    pub next_id: u64,
}

impl Event for LedgerEvent {
    type State = Ledger;

    fn event_type(&self) -> &'static str {
        match self {
            LedgerEvent::Added { .. } => "Added",
            LedgerEvent::Removed { .. } => "Removed",
        }
    }

    fn apply(&self, ledger: &mut Ledger) {
        match self {
            LedgerEvent::Added { id, text } => {
                ledger.applied.push(*id);
                ledger.live.insert(*id, text.clone());
                ledger.next_id = ledger.next_id.max(id + 1);
            }
            LedgerEvent::Removed { id } => {
                ledger.applied.push(*id);
                ledger.live.remove(id);
            }
        }
    }
}

pub type LedgerEngine = StateEngine<LedgerEvent>;

pub fn open(dir: &Path, durability: Durability) -> LedgerEngine {
    StateEngine::open(EngineConfig::new(dir).durability(durability)).expect("open engine")
}

pub fn added(id: u64) -> LedgerEvent {
    LedgerEvent::Added { id, text: format!("entry number {id}") }
}

pub fn log_path(dir: &Path) -> std::path::PathBuf {
    dir.join(lithair_core::LOG_FILE_NAME)
}

/// Byte offsets at which each line of the log starts, and the file's length.
pub fn line_starts(log: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(log.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1));
    starts.pop();
    starts
}

/// Commit `count` entries with ids `0..count`, one after the other.
pub async fn add_entries(engine: &LedgerEngine, count: u64) {
    for id in 0..count {
        engine.commit(added(id)).await.expect("commit");
    }
}
