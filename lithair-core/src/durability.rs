//! When a commit is acknowledged: the three durability modes (see `docs/durability.md`).

use std::{fmt, str::FromStr};

/// How durable an event is when [`crate::StateEngine::commit`] resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// After `fdatasync` of the batch holding the event: survives a process crash and power loss.
    #[default]
    Fsync,
    /// After the batch is written to the operating system: survives a process crash, not a
    /// power loss.
    Flush,
    /// As soon as the event is decided and applied; the writer hands its group to the
    /// operating system right after acknowledging it. A crash may lose the groups acknowledged
    /// in the moment before their write.
    Async,
}

impl Durability {
    pub const ALL: [Durability; 3] = [Durability::Fsync, Durability::Flush, Durability::Async];

    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Fsync => "fsync",
            Durability::Flush => "flush",
            Durability::Async => "async",
        }
    }
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Durability {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Durability::ALL.into_iter().find(|mode| mode.as_str().eq_ignore_ascii_case(s)).ok_or_else(
            || format!("unknown durability mode {s:?} (expected fsync, flush or async)"),
        )
    }
}
