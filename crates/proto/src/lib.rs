//! The wire: RESP request framing (with `redis-protocol`), commands parsed
//! into a typed enum, and replies encoded for RESP2 or RESP3.

mod command;
mod error;
mod framing;
mod inline;
mod reply;
mod writer;

pub use command::{AclCommand, ClientCommand, Command, CommandCommand, FunctionCommand};
pub use error::{CommandError, ProtocolError};
pub use framing::{next_request, Limits};
pub use reply::{encode, format_double, Protocol, Reply};
pub use writer::RespWriter;
