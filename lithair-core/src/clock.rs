//! Record timestamps: microseconds since the Unix epoch, strictly increasing.
//!
//! The log promises that `ts` grows with every record even when the system clock stalls or is
//! stepped back (NTP, a VM migration): such a record gets the previous timestamp plus one.

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub(crate) struct Clock {
    last_us: u64,
}

impl Clock {
    /// A clock whose next timestamp is greater than `last_us` (the last one in the log).
    pub(crate) fn after(last_us: u64) -> Self {
        Clock { last_us }
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.last_us = now_micros().max(self.last_us + 1);
        self.last_us
    }
}

fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_even_when_the_clock_is_behind() {
        let far_future = now_micros() + 3_600_000_000;
        let mut clock = Clock::after(far_future);
        let first = clock.next();
        let second = clock.next();
        assert_eq!(first, far_future + 1);
        assert_eq!(second, far_future + 2);
    }

    #[test]
    fn follows_the_wall_clock_when_it_is_ahead() {
        let mut clock = Clock::after(0);
        let before = now_micros();
        let ts = clock.next();
        assert!(ts >= before && ts <= now_micros());
    }
}
