//! The server's error type, and the one place where every error becomes a
//! RESP error reply with its code.

use aotdb_planner::Error as PlanError;
use aotdb_proto::{CommandError, Reply};
use aotdb_storage::Error as StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0}")]
    NoStatement(String),
    /// A statement inside MULTI/EXEC failed; the whole block was undone.
    #[error("command {position} of the transaction (EXECUTE {name}) failed, nothing was applied: {cause}")]
    Transaction { position: usize, name: String, cause: Box<ExecError> },
    #[error("{0}")]
    Internal(String),
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The command log cannot be written.
    #[error("{0}")]
    ReadOnly(String),
    /// The write was applied but could not be made durable.
    #[error("the write was applied in memory but could not be made durable: {0}")]
    NotDurable(String),
    #[error("persistence is off (the server runs with --in-memory): there is nothing to save")]
    NotPersistent,
    #[error("{0}")]
    Busy(String),
    /// The user's role does not allow this.
    #[error("{0}")]
    NoPermission(String),
    /// The server uses more memory than --maxmemory allows.
    #[error("command not allowed when used memory > 'maxmemory' ({0}); reads are still served")]
    OutOfMemory(String),
    /// A statement's result is larger than --max-reply-rows.
    #[error("{0}")]
    TooManyRows(String),
    /// An error from a procedure, with the code it carries.
    #[error("{message}")]
    Function { code: &'static str, message: String },
}

impl ExecError {
    /// The error code a client sees first.
    pub fn code(&self) -> &'static str {
        match self {
            ExecError::Plan(e) => plan_code(e),
            ExecError::Storage(StorageError::Constraint(_)) => "CONSTRAINT",
            ExecError::Storage(StorageError::Plan(e)) => plan_code(e),
            ExecError::Storage(StorageError::Internal(_)) | ExecError::Internal(_) => "INTERNAL",
            ExecError::NoStatement(_) => "NOSTATEMENT",
            ExecError::Transaction { cause, .. } => cause.code(),
            ExecError::ShuttingDown => "SHUTDOWN",
            ExecError::ReadOnly(_) => "READONLY",
            ExecError::NotDurable(_) => "IOERR",
            ExecError::NotPersistent | ExecError::Busy(_) => "ERR",
            ExecError::NoPermission(_) => "NOPERM",
            ExecError::OutOfMemory(_) => "OOM",
            ExecError::TooManyRows(_) => "TOOMANYROWS",
            ExecError::Function { code, .. } => code,
        }
    }
}

fn plan_code(e: &PlanError) -> &'static str {
    match e {
        PlanError::Syntax(_) => "SYNTAX",
        PlanError::Unsupported(_) => "UNSUPPORTED",
        PlanError::ScanRequired(_) => "SCAN",
        PlanError::Schema(_) => "SCHEMA",
        PlanError::Type(_) => "TYPE",
        PlanError::Arguments(_) => "ERR",
        PlanError::Data(_) => "DATA",
        PlanError::NoStatement(_) => "NOSTATEMENT",
        PlanError::Internal(_) => "INTERNAL",
    }
}

pub fn exec_error_reply(e: &ExecError) -> Reply {
    if matches!(e, ExecError::Internal(_) | ExecError::Storage(StorageError::Internal(_))) {
        tracing::error!(error = %e, "internal error answered to a client");
    }
    Reply::error(e.code(), e)
}

pub fn command_error_reply(e: &CommandError) -> Reply {
    Reply::error("ERR", e)
}
