//! The decision workload (see `examples/decisions.sql`): its dataset, read
//! from the shared CSV files when they are present or generated with the
//! same distributions, Zipf key picks, and the rule of one decision.

mod dataset;
mod decision;
mod zipf;

pub use dataset::{Account, Dataset, Decision, Merchant, Payment, T0};
pub use decision::{decide, Outcome, Reads};
pub use zipf::{Rng, Zipf};
