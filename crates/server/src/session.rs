//! Per-connection state: protocol version, client name, and the queue of
//! a MULTI block.

use std::sync::Arc;

use aotdb_proto::Protocol;

use crate::auth::User;
use crate::executor::QueuedExecute;

#[derive(Debug)]
pub struct Session {
    pub id: u64,
    pub protocol: Protocol,
    pub name: Option<String>,
    /// `Some` between MULTI and EXEC/DISCARD.
    pub multi: Option<Vec<QueuedExecute>>,
    /// A command inside MULTI was refused: EXEC will discard the block.
    pub multi_failed: bool,
    /// The authenticated user; `None` until AUTH when a password is needed.
    pub user: Option<Arc<User>>,
}

impl Session {
    /// A connection's state before it logs in (`local::log_in` sets the
    /// user).
    pub fn new(id: u64) -> Session {
        Session { id, protocol: Protocol::Resp2, name: None, multi: None, multi_failed: false, user: None }
    }

    /// RESET: back to a fresh connection's state (the id stays).
    pub fn reset(&mut self) {
        *self = Session::new(self.id);
    }
}
