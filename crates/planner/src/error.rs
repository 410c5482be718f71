//! The planner's error type. User mistakes (bad SQL, unknown names, wrong
//! types, bad arguments, bad data) are kept apart from internal faults,
//! which indicate a bug in aotdb.

/// Everything that can go wrong when registering or running a statement.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The SQL text does not parse.
    #[error("{0}")]
    Syntax(String),
    /// Valid SQL that aotdb does not handle (yet).
    #[error("{0}")]
    Unsupported(String),
    /// The statement could only be answered by scanning a table.
    #[error("{0}")]
    ScanRequired(String),
    /// Unknown or duplicate tables, columns and statements; objects in use.
    #[error("{0}")]
    Schema(String),
    /// Type mismatches in SQL, or argument text that is not valid input
    /// for its parameter's type.
    #[error("{0}")]
    Type(String),
    /// Wrong number of arguments for a statement.
    #[error("{0}")]
    Arguments(String),
    /// A data exception while evaluating: overflow, division by zero, a
    /// value too long for its column.
    #[error("{0}")]
    Data(String),
    /// No statement is registered under the name.
    #[error("{0}")]
    NoStatement(String),
    /// A bug: the planner produced something the executor cannot run.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Prefixes the message with where it happened (a statement name, a
    /// script line), keeping the kind.
    pub fn context(self, prefix: impl std::fmt::Display) -> Error {
        let wrap = |m: String| format!("{prefix}: {m}");
        match self {
            Error::Syntax(m) => Error::Syntax(wrap(m)),
            Error::Unsupported(m) => Error::Unsupported(wrap(m)),
            Error::ScanRequired(m) => Error::ScanRequired(wrap(m)),
            Error::Schema(m) => Error::Schema(wrap(m)),
            Error::Type(m) => Error::Type(wrap(m)),
            Error::Arguments(m) => Error::Arguments(wrap(m)),
            Error::Data(m) => Error::Data(wrap(m)),
            Error::NoStatement(m) => Error::NoStatement(wrap(m)),
            Error::Internal(m) => Error::Internal(wrap(m)),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
