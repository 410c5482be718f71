//! Storage: tables, their indexes, and running compiled statements against
//! them, with an undo log so that a failed statement or batch changes
//! nothing. Knows nothing of RESP or sockets.

mod database;
mod error;
mod exec;
mod row;
mod table;
mod undo;
mod unique_index;

pub use database::{Database, TableStats};
pub use error::{Error, Result};
pub use exec::Outcome;
pub use row::{Row, RowId};
pub use table::Table;
pub use undo::UndoLog;
