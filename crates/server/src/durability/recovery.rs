//! Recovery at start: load the newest valid snapshot (falling back to an
//! older one if it is damaged), rebuild every structure from its rows, and
//! replay the log after it. A torn last record is cut off with a warning;
//! damage anywhere else stops the start, unless the operator asked to cut
//! the log there.

use std::fs::{self, File};
use std::io::Write;
use std::time::Instant;

use aotdb_storage::persist::log::{for_each_record, log_file_name, log_header, LogEnd, LOG_HEADER_LEN};
use aotdb_storage::persist::snapshot::read_snapshot;

use super::files::{sync_dir, DataDir};
use super::stats::RecoveryInfo;
use crate::executor::Executor;

pub struct Recovered {
    /// Sequence number of the last record applied.
    pub last_seq: u64,
    /// The log file to append to, positioned at its end.
    pub log: File,
    /// Sequence number its first record has (or will have).
    pub log_first_seq: u64,
    pub info: RecoveryInfo,
}

pub fn recover(dir: &DataDir, executor: &mut Executor, truncate_damaged: bool) -> Result<Recovered, String> {
    let start = Instant::now();
    let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
    let snapshots = dir.snapshots().map_err(|e| io("cannot list the data directory", e))?;
    let logs = dir.logs().map_err(|e| io("cannot list the data directory", e))?;

    // The newest snapshot that reads back whole.
    let mut base_seq = 0u64;
    let mut rows = 0u64;
    let mut loaded = None;
    for (seq, path) in snapshots.iter().rev() {
        let data = fs::read(path).map_err(|e| io(&format!("cannot read {}", path.display()), e))?;
        match read_snapshot(&data) {
            Ok(image) => {
                loaded = Some((*seq, path.clone(), image));
                break;
            }
            Err(e) => tracing::warn!("snapshot {} is damaged ({e}); trying an older one", path.display()),
        }
    }
    // With records to replay, aggregate views are built once after the
    // replay instead of followed through every replayed write (and, from
    // a snapshot, built before it). Without, they are built with the
    // snapshot's other structures, on both cores at once.
    let snapshot_seq = loaded.as_ref().map_or(0, |(seq, ..)| *seq);
    if log_may_hold_records_after(&logs, snapshot_seq) {
        executor.defer_views();
    }
    if let Some((seq, path, image)) = loaded {
        rows = image.rows() as u64;
        executor.load_snapshot(image).map_err(|e| format!("cannot load snapshot {}: {e}", path.display()))?;
        base_seq = seq;
        tracing::info!(snapshot = %path.display(), rows, "snapshot loaded");
    } else if !snapshots.is_empty() && logs.first().is_none_or(|(first, _)| *first > 1) {
        return Err(format!(
            "every snapshot in {} is damaged and the log does not go back to the beginning; restore the data directory from a backup",
            dir.path.display()
        ));
    }

    // Replay the log after the snapshot.
    let mut last_seq = base_seq;
    let mut records = 0u64;
    let mut append_to: Option<(std::path::PathBuf, u64)> = None;
    let mut i = 0;
    while i < logs.len() {
        let (first, path) = &logs[i];
        let next_first = logs.get(i + 1).map(|(f, _)| *f);
        let is_last = next_first.is_none();
        if next_first.is_some_and(|n| n <= base_seq + 1) {
            i += 1;
            continue;
        }
        if *first > last_seq + 1 {
            return Err(format!(
                "the log is missing records {} to {} (next file is {}); restore the data directory from a backup",
                last_seq + 1,
                first - 1,
                path.display()
            ));
        }
        let data = fs::read(path).map_err(|e| io(&format!("cannot read {}", path.display()), e))?;
        let end = for_each_record(&data, |r| {
            if r.seq <= last_seq {
                return Ok(());
            }
            if r.seq != last_seq + 1 {
                return Err(format!("{}: record {} follows record {}", path.display(), r.seq, last_seq));
            }
            executor
                .replay(r.record)
                .map_err(|e| format!("{}: record {} does not replay: {e}", path.display(), r.seq))?;
            last_seq = r.seq;
            records += 1;
            Ok(())
        })?;
        match end {
            LogEnd::Clean => {}
            LogEnd::TornTail { offset, reason } if is_last => {
                tracing::warn!(
                    "{}: the last record is incomplete ({reason}); cutting the log at offset {offset}",
                    path.display()
                );
                truncate(path, offset.max(LOG_HEADER_LEN as u64))?;
            }
            LogEnd::TornTail { offset, reason } | LogEnd::Damaged { offset, reason } => {
                if !truncate_damaged {
                    return Err(format!(
                        "log file {} is damaged at offset {offset}: {reason}. Writes after that point cannot be replayed; \
                         start with --truncate-damaged-log to cut the log there and lose them, or restore from a backup",
                        path.display()
                    ));
                }
                tracing::warn!(
                    "{}: damaged at offset {offset} ({reason}); cutting the log there as asked",
                    path.display()
                );
                truncate(path, offset.max(LOG_HEADER_LEN as u64))?;
                for (_, later) in &logs[i + 1..] {
                    fs::remove_file(later).map_err(|e| io(&format!("cannot remove {}", later.display()), e))?;
                }
                append_to = Some((path.clone(), *first));
                break;
            }
        }
        append_to = Some((path.clone(), *first));
        i += 1;
    }

    let views_built_after_log =
        executor.build_deferred_views().map_err(|e| format!("cannot build the views after the log replay: {e}"))?;

    let log_first_seq = append_to.as_ref().map(|(_, first)| *first).unwrap_or(last_seq + 1);
    let log = match append_to {
        Some((path, _)) => {
            let mut f = File::options()
                .append(true)
                .open(&path)
                .map_err(|e| io(&format!("cannot open {}", path.display()), e))?;
            if f.metadata().map(|m| m.len()).unwrap_or(0) < LOG_HEADER_LEN as u64 {
                f.set_len(0).map_err(|e| io("cannot reset the log", e))?;
                f.write_all(&log_header()).map_err(|e| io("cannot write the log", e))?;
                f.sync_all().map_err(|e| io("cannot fsync the log", e))?;
            }
            f
        }
        None => {
            let path = dir.path.join(log_file_name(last_seq + 1));
            let mut f = File::options()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| io(&format!("cannot create {}", path.display()), e))?;
            f.write_all(&log_header()).map_err(|e| io("cannot write the log", e))?;
            f.sync_all().map_err(|e| io("cannot fsync the log", e))?;
            sync_dir(&dir.path).map_err(|e| io("cannot fsync the data directory", e))?;
            f
        }
    };
    let info = RecoveryInfo {
        snapshot_seq: (base_seq > 0 || !snapshots.is_empty()).then_some(base_seq),
        rows,
        records,
        views_built_after_log: views_built_after_log as u64,
        millis: start.elapsed().as_millis() as u64,
    };
    Ok(Recovered { last_seq, log, log_first_seq, info })
}

/// Whether a log file that may hold records after `seq` holds any record
/// (more than its header). Files end where the next one starts, so a file
/// whose successor starts at or before `seq + 1` holds none after it.
fn log_may_hold_records_after(logs: &[(u64, std::path::PathBuf)], seq: u64) -> bool {
    logs.iter().enumerate().any(|(i, (_, path))| {
        let superseded = logs.get(i + 1).is_some_and(|(next, _)| *next <= seq + 1);
        !superseded && fs::metadata(path).is_ok_and(|m| m.len() > LOG_HEADER_LEN as u64)
    })
}

fn truncate(path: &std::path::Path, len: u64) -> Result<(), String> {
    let f = File::options().write(true).open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    f.set_len(len).map_err(|e| format!("cannot truncate {}: {e}", path.display()))?;
    f.sync_all().map_err(|e| format!("cannot fsync {}: {e}", path.display()))
}
