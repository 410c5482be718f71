//! Persistence figures for INFO, shared by the executor, the log writer
//! and the snapshot writer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct PersistenceStats {
    pub log_bytes_since_snapshot: AtomicU64,
    pub fsyncs: AtomicU64,
    pub last_fsync_micros: AtomicU64,
    pub rotations: AtomicU64,
    /// Longest time the executor spent on one snapshot copy step (its
    /// longest stall) in the current or last snapshot.
    pub snapshot_max_step_micros: AtomicU64,
    pub snapshot: Mutex<SnapshotInfo>,
    pub recovery: Mutex<RecoveryInfo>,
}

#[derive(Debug, Default, Clone)]
pub struct SnapshotInfo {
    pub in_progress: bool,
    pub last_unix: u64,
    pub last_duration_ms: u64,
    pub last_rows: u64,
    pub last_ok: bool,
    pub last_error: Option<String>,
    pub count: u64,
}

#[derive(Debug, Default, Clone)]
pub struct RecoveryInfo {
    pub snapshot_seq: Option<u64>,
    pub rows: u64,
    pub records: u64,
    /// Aggregate views built once after the log replay instead of
    /// followed through it (`Executor::defer_views`).
    pub views_built_after_log: u64,
    pub millis: u64,
}

impl PersistenceStats {
    pub fn note_appended(&self, bytes: u64) {
        self.log_bytes_since_snapshot.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn note_fsync(&self, took: Duration) {
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.last_fsync_micros.store(took.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn note_rotated(&self) {
        self.rotations.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> SnapshotInfo {
        self.snapshot.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn update_snapshot(&self, f: impl FnOnce(&mut SnapshotInfo)) {
        f(&mut self.snapshot.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn recovery(&self) -> RecoveryInfo {
        self.recovery.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_recovery(&self, info: RecoveryInfo) {
        *self.recovery.lock().unwrap_or_else(|p| p.into_inner()) = info;
    }
}
