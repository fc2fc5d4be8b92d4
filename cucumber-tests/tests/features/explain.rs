//! Step failures that say why.
//!
//! cucumber prints a failed step's error with `{}`, which for an `anyhow` error shows only the
//! outermost context ("GET after POST") and hides the cause ("connection reset"). `explain`
//! adds context by folding the whole chain into one message instead.

use std::fmt::Display;

pub trait Explain<T> {
    fn explain(self, what: impl Display) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> Explain<T> for Result<T, E> {
    fn explain(self, what: impl Display) -> anyhow::Result<T> {
        self.map_err(|err| anyhow::anyhow!("{what}: {:#}", err.into()))
    }
}
