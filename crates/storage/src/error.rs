//! Storage errors: constraint violations, errors raised while evaluating
//! a statement's expressions, and internal faults.

/// What can go wrong while executing a statement against the data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A PRIMARY KEY, UNIQUE or NOT NULL constraint would be violated.
    #[error("{0}")]
    Constraint(String),
    /// Evaluating an expression or reading an argument failed (overflow,
    /// division by zero, a value too long for its column, ...).
    #[error(transparent)]
    Plan(#[from] aotdb_planner::Error),
    /// A bug: structures disagree with each other or with the plan.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
