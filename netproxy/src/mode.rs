//! What a link does with the bytes of each direction.

use std::time::Duration;

/// One direction of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Bytes from the connecting node (i) to the node behind the proxy (j).
    Request,
    /// Bytes from the node behind the proxy (j) back to the connecting node (i).
    Response,
}

impl Direction {
    /// Both directions, request first.
    pub const BOTH: [Direction; 2] = [Direction::Request, Direction::Response];

    pub(crate) fn index(self) -> usize {
        match self {
            Direction::Request => 0,
            Direction::Response => 1,
        }
    }
}

/// The fault applied to one direction of a link (see the crate docs for the exact semantics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Forward bytes as they come.
    #[default]
    Pass,
    /// Reset open connections and every new one, like a host answering RST.
    Drop,
    /// Read and discard; never forward, never close.
    Blackhole,
    /// Forward each chunk this long after it was read, keeping the order.
    Delay(Duration),
}

/// The modes of both directions of one link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Modes {
    pub request: Mode,
    pub response: Mode,
}

impl Modes {
    pub fn get(&self, direction: Direction) -> Mode {
        match direction {
            Direction::Request => self.request,
            Direction::Response => self.response,
        }
    }

    pub fn set(&mut self, direction: Direction, mode: Mode) {
        match direction {
            Direction::Request => self.request = mode,
            Direction::Response => self.response = mode,
        }
    }

    /// Whether connections on this link must be reset (either direction is `Drop`).
    pub fn drops(&self) -> bool {
        self.request == Mode::Drop || self.response == Mode::Drop
    }
}
