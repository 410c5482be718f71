//! Durability: the command log and its writer thread (group commit,
//! fsync policies), snapshots written in the background, and recovery at
//! start. Formats are in `aotdb_storage::persist`.

pub mod files;
pub mod log_writer;
pub mod recovery;
pub mod snapshot_writer;
pub mod stats;

pub use files::DataDir;
pub use log_writer::{Durability, FsyncPolicy, LogHandle};
pub use snapshot_writer::SnapshotWriter;
pub use stats::PersistenceStats;
