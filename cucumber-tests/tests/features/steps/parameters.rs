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
