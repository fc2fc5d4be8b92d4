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
