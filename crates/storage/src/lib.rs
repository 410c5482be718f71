//! Storage: tables, the structures derived for registered statements, and
//! running compiled statements against them. Every write flows through
//! `maintain`, which keeps every structure exact and records an undo log
//! so that a failed statement or batch changes nothing. Knows nothing of
//! RESP or sockets.

mod constraints;
mod database;
mod error;
mod id_map;
mod interner;
mod maintain;
mod memory;
pub mod persist;
mod read;
mod row;
mod row_store;
mod rows;
mod snapshot_copy;
mod structures;
mod table;
mod undo;
mod unique_index;
mod view;
mod write;

pub use database::{Database, StructureStats, TableStats};
pub use error::{Error, Result};
pub use read::Outcome;
pub use row::{Row, RowId};
pub use rows::{Rows, RowsIter};
pub use table::Table;
pub use undo::UndoLog;
