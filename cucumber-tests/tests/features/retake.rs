//! Timing checks on a shared machine: measure again before failing.
//!
//! A CI machine is shared. A snapshot that paused writes 0.6 ms in every quiet run paused them
//! 88 ms once, while a power-loss scenario with 64 writers ran beside it; nothing was wrong with
//! the server. A check that fails on such noise gets ignored, and widening its limit would let
//! real regressions through. So a timing Then that misses its limit takes the measurement again,
//! the same way, up to [`ATTEMPTS`] in all, and passes when one measurement is within the limit.
//! A server that is really slow misses every time: each timing Then was seen red against a
//! stall in the path it measures (docs/steps.md, "Timing checks").
//!
//! Every measurement is printed, so the run's log shows what the machine did.

use std::{
    fmt::{self, Display},
    time::Duration,
};

use anyhow::bail;

/// Measurements a timing check takes at most: the first one and two retakes.
pub const ATTEMPTS: usize = 3;

/// `first` is the measurement already taken. While it is not `within` the limit and attempts
/// remain, `retake` measures again the same way, given `world` (the scenario's, or the part of
/// it the measurement needs). Returns the first measurement within the limit; fails naming
/// every measurement, described as `what`.
pub async fn until_within<W, T: Display>(
    world: &mut W,
    what: &str,
    first: T,
    mut retake: impl AsyncFnMut(&mut W) -> anyhow::Result<T>,
    within: impl Fn(&T) -> bool,
) -> anyhow::Result<T> {
    let mut measured = first;
    let mut seen = Vec::new();
    loop {
        if within(&measured) {
            return Ok(measured);
        }
        seen.push(measured.to_string());
        if seen.len() == ATTEMPTS {
            bail!("{what}: {} measurements, none within the limit: {}", ATTEMPTS, seen.join("; "));
        }
        println!(
            "    {what}: {measured}, beyond the limit; measuring again ({} of {ATTEMPTS})",
            seen.len() + 1
        );
        measured = retake(world).await?;
    }
}

/// A measured duration, as a failure names it.
pub struct Took(pub Duration);

impl Display for Took {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
