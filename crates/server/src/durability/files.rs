//! The data directory: its log and snapshot files, a lock so only one
//! server uses it, and directory fsyncs (so renames and new files survive a
//! machine crash).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use aotdb_storage::persist::log::parse_log_file_name;
use aotdb_storage::persist::snapshot::parse_snapshot_file_name;

pub struct DataDir {
    pub path: PathBuf,
    /// Held for the server's life: a second server on the same directory
    /// fails to start.
    _lock: File,
}

impl DataDir {
    pub fn open(path: &Path) -> io::Result<DataDir> {
        fs::create_dir_all(path)?;
        let lock_path = path.join("LOCK");
        let lock = File::options().create(true).truncate(false).write(true).open(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(io::Error::other(format!("{} is in use by another aotdb server", path.display())))
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
        Ok(DataDir { path: path.to_path_buf(), _lock: lock })
    }

    /// Log files as `(first sequence number, path)`, oldest first.
    pub fn logs(&self) -> io::Result<Vec<(u64, PathBuf)>> {
        self.list(parse_log_file_name)
    }

    /// Snapshot files as `(sequence number, path)`, oldest first.
    pub fn snapshots(&self) -> io::Result<Vec<(u64, PathBuf)>> {
        self.list(parse_snapshot_file_name)
    }

    fn list(&self, parse: fn(&str) -> Option<u64>) -> io::Result<Vec<(u64, PathBuf)>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.path)? {
            let entry = entry?;
            if let Some(seq) = entry.file_name().to_str().and_then(parse) {
                out.push((seq, entry.path()));
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Makes a directory's entries (new files, renames) durable.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}
