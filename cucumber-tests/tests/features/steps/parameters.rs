//! Parameter types that make step phrases read like the product.

use std::str::FromStr;

use cucumber::Parameter;

/// `fsync`, `flush` or `async`, as in "with async durability".
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(name = "durability", regex = "fsync|flush|async")]
pub struct Durability(pub String);

impl FromStr for Durability {
    type Err = std::convert::Infallible;

    fn from_str(mode: &str) -> Result<Self, Self::Err> {
        Ok(Durability(mode.to_string()))
    }
}

/// How a record in the middle of the log is put out of place, as in "a record in the middle of
/// the events.raftlog file is swapped with the next one".
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(
    name = "reshaping",
    regex = "removed|duplicated|swapped with the next one|given an earlier timestamp"
)]
pub struct Reshaping(pub String);

impl FromStr for Reshaping {
    type Err = std::convert::Infallible;

    fn from_str(shape: &str) -> Result<Self, Self::Err> {
        Ok(Reshaping(shape.to_string()))
    }
}

/// How many times, in words or digits: "once", "twice", "3 times".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Parameter)]
#[param(name = "times", regex = "once|twice|\\d+ times")]
pub struct Times(pub usize);

impl FromStr for Times {
    type Err = std::num::ParseIntError;

    fn from_str(times: &str) -> Result<Self, Self::Err> {
        Ok(Times(match times {
            "once" => 1,
            "twice" => 2,
            n => n.trim_end_matches(" times").parse()?,
        }))
    }
}
