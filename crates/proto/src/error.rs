//! Protocol errors: bytes that are not a valid request, and requests that
//! are not a valid command.

/// A request that cannot be framed. The connection answers with the
/// message and closes, as Redis does: after a framing error the stream
/// position is lost.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Protocol error: {0}")]
pub struct ProtocolError(pub String);

/// A well-framed request that is not a valid command. The connection
/// answers with the error and goes on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand { name: String, args: String },
    #[error("wrong number of arguments for '{0}' command")]
    WrongArity(String),
    #[error("unknown subcommand '{sub}'. Try {command} HELP.")]
    UnknownSubcommand { command: String, sub: String },
    #[error("syntax error")]
    Syntax,
    #[error("{0}")]
    Invalid(String),
}
