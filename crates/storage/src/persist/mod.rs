//! Persistence formats: the command log and snapshots, and the codec they
//! share. Files and threads are the server's business; this is the bytes.

pub mod codec;
pub mod log;
pub mod snapshot;
