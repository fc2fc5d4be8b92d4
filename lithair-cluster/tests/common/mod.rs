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
