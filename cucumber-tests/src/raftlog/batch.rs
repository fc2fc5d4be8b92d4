//! Version 2's `raft.Batch` record: one Raft entry carrying several of Lithair's events, as
//! docs/raftlog.md specifies it. The reader checks the rules of its `data` (condition 3); the
//! checks and the replay see its events one by one, through [`RaftLog::events`].

use serde_json::Value;

use super::read::{RAFT_BATCH, RAFT_PREFIX, RaftLog, Record};

/// Condition 3 for a `raft.Batch` whose record says `ts`: `data` is a list of two or more
/// `{"ts":…,"type":…,"data":…}` objects, no `type` reserved, their `ts` strictly increasing and
/// the last equal to the record's.
pub(super) fn check(ts: u64, data: Option<&Value>) -> Result<(), String> {
    let events = data.and_then(Value::as_array).ok_or("a raft.Batch whose data is not a list")?;
    if events.len() < 2 {
        return Err(format!("a raft.Batch of {} event(s); it holds two or more", events.len()));
    }
    let mut previous: Option<u64> = None;
    for (i, event) in events.iter().enumerate() {
        let object = event.as_object().ok_or(format!("raft.Batch event {i} is not an object"))?;
        let event_ts = object
            .get("ts")
            .and_then(Value::as_u64)
            .ok_or(format!("raft.Batch event {i} has no non-negative integer \"ts\""))?;
        let event_type = object
            .get("type")
            .and_then(Value::as_str)
            .ok_or(format!("raft.Batch event {i} has no string \"type\""))?;
        if event_type.starts_with(RAFT_PREFIX) {
            return Err(format!("raft.Batch event {i} has the reserved type {event_type:?}"));
        }
        if !object.contains_key("data") {
            return Err(format!("raft.Batch event {i} has no \"data\""));
        }
        if previous.is_some_and(|previous| previous >= event_ts) {
            return Err(format!("raft.Batch event {i}'s ts {event_ts} does not increase"));
        }
        previous = Some(event_ts);
    }
    if previous != Some(ts) {
        return Err(format!("a raft.Batch's ts {ts} is not its last event's {previous:?}"));
    }
    Ok(())
}

impl Record {
    /// What the record holds, one [`Record`] each: the events of a `raft.Batch` (with the
    /// batch's place in the file, its `seq`, leader and checksum, and each event's own `ts`,
    /// `type` and `data`), or the record itself.
    pub fn events(&self) -> Vec<Record> {
        if self.event_type != RAFT_BATCH || self.leader.is_none() {
            return vec![self.clone()];
        }
        let events = self.data.as_array().map(Vec::as_slice).unwrap_or_default();
        events
            .iter()
            .map(|event| Record {
                ts: event["ts"].as_u64().unwrap_or_default(),
                event_type: event["type"].as_str().unwrap_or_default().to_string(),
                data: event["data"].clone(),
                ..self.clone()
            })
            .collect()
    }
}

impl RaftLog {
    /// The valid prefix, in log order, each `raft.Batch` replaced by its events: one
    /// [`Record`] per event of Lithair's, and Raft's own entries as they are.
    pub fn events(&self) -> Vec<Record> {
        self.records().iter().flat_map(Record::events).collect()
    }
}
