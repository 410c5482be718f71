//! The snapshot writer: takes a snapshot's bytes from the executor as the
//! copy proceeds, writes them to a temporary file, then fsyncs, renames it
//! into place and fsyncs the directory. Afterwards it drops what the new
//! snapshot makes unnecessary: snapshots older than the previous one, and
//! log files every record of which is in the previous snapshot.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use aotdb_storage::persist::log::parse_log_file_name;
use aotdb_storage::persist::snapshot::{parse_snapshot_file_name, snapshot_file_name};

use super::files::sync_dir;
use super::stats::PersistenceStats;

enum Message {
    Begin { seq: u64 },
    Bytes(Vec<u8>),
    Finish { rows: u64, done: Option<mpsc::Sender<Result<(), String>>> },
    Abort,
}

pub struct SnapshotWriter {
    tx: mpsc::Sender<Message>,
    thread: Option<thread::JoinHandle<()>>,
}

impl SnapshotWriter {
    pub fn start(dir: PathBuf, stats: Arc<PersistenceStats>) -> std::io::Result<SnapshotWriter> {
        let (tx, rx) = mpsc::channel();
        let thread = thread::Builder::new().name("aotdb-snapshot".into()).spawn(move || run(dir, stats, rx))?;
        Ok(SnapshotWriter { tx, thread: Some(thread) })
    }

    pub fn begin(&self, seq: u64) {
        let _ = self.tx.send(Message::Begin { seq });
    }

    pub fn bytes(&self, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            let _ = self.tx.send(Message::Bytes(bytes));
        }
    }

    /// Finishes the file; with `wait`, blocks until it is durable.
    pub fn finish(&self, rows: u64, wait: bool) -> Result<(), String> {
        if !wait {
            let _ = self.tx.send(Message::Finish { rows, done: None });
            return Ok(());
        }
        let (done_tx, done_rx) = mpsc::channel();
        self.tx
            .send(Message::Finish { rows, done: Some(done_tx) })
            .map_err(|_| "the snapshot writer stopped".to_string())?;
        done_rx.recv().unwrap_or_else(|_| Err("the snapshot writer stopped".into()))
    }

    pub fn abort(&self) {
        let _ = self.tx.send(Message::Abort);
    }
}

impl Drop for SnapshotWriter {
    fn drop(&mut self) {
        let (tx, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct InProgress {
    seq: u64,
    tmp: PathBuf,
    file: Option<File>,
    started: Instant,
    error: Option<String>,
}

fn run(dir: PathBuf, stats: Arc<PersistenceStats>, rx: mpsc::Receiver<Message>) {
    let mut current: Option<InProgress> = None;
    while let Ok(message) = rx.recv() {
        match message {
            Message::Begin { seq } => {
                let tmp = dir.join(format!("{}.tmp", snapshot_file_name(seq)));
                let (file, error) = match File::create(&tmp) {
                    Ok(f) => (Some(f), None),
                    Err(e) => (None, Some(format!("cannot create {}: {e}", tmp.display()))),
                };
                current = Some(InProgress { seq, tmp, file, started: Instant::now(), error });
            }
            Message::Bytes(bytes) => {
                if let Some(c) = current.as_mut() {
                    if let (Some(f), None) = (c.file.as_mut(), &c.error) {
                        if let Err(e) = f.write_all(&bytes) {
                            c.error = Some(format!("cannot write {}: {e}", c.tmp.display()));
                        }
                    }
                }
            }
            Message::Finish { rows, done } => {
                let Some(c) = current.take() else { continue };
                let result = finish(&dir, c, rows, &stats);
                if let Err(e) = &result {
                    tracing::error!("snapshot failed: {e}");
                }
                if let Some(done) = done {
                    let _ = done.send(result);
                }
            }
            Message::Abort => {
                if let Some(c) = current.take() {
                    let _ = fs::remove_file(&c.tmp);
                }
                stats.update_snapshot(|s| s.in_progress = false);
            }
        }
    }
}

fn finish(dir: &Path, c: InProgress, rows: u64, stats: &PersistenceStats) -> Result<(), String> {
    let result = (|| {
        if let Some(e) = c.error {
            return Err(e);
        }
        let file = c.file.ok_or("no snapshot file")?;
        file.sync_all().map_err(|e| format!("cannot fsync {}: {e}", c.tmp.display()))?;
        drop(file);
        let path = dir.join(snapshot_file_name(c.seq));
        fs::rename(&c.tmp, &path).map_err(|e| format!("cannot rename {}: {e}", c.tmp.display()))?;
        sync_dir(dir).map_err(|e| format!("cannot fsync {}: {e}", dir.display()))?;
        Ok(())
    })();
    let took = c.started.elapsed();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    stats.update_snapshot(|s| {
        s.in_progress = false;
        s.last_unix = now;
        s.last_duration_ms = took.as_millis() as u64;
        s.last_rows = rows;
        s.last_ok = result.is_ok();
        s.last_error = result.as_ref().err().cloned();
        if result.is_ok() {
            s.count += 1;
        }
    });
    if result.is_err() {
        let _ = fs::remove_file(&c.tmp);
        return result;
    }
    tracing::info!(seq = c.seq, rows, millis = took.as_millis() as u64, "snapshot written");
    if let Err(e) = drop_obsolete(dir) {
        tracing::warn!("could not remove old snapshot or log files: {e}");
    }
    Ok(())
}

/// Keeps the newest two snapshots and the log from the older of them on.
fn drop_obsolete(dir: &Path) -> std::io::Result<()> {
    let mut snapshots = Vec::new();
    let mut logs = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(seq) = parse_snapshot_file_name(name) {
            snapshots.push((seq, entry.path()));
        } else if let Some(first) = parse_log_file_name(name) {
            logs.push((first, entry.path()));
        }
    }
    snapshots.sort();
    logs.sort();
    if snapshots.len() > 2 {
        for (_, path) in &snapshots[..snapshots.len() - 2] {
            fs::remove_file(path)?;
        }
    }
    let keep_from = if snapshots.len() >= 2 {
        snapshots[snapshots.len() - 2].0
    } else {
        snapshots.last().map(|s| s.0).unwrap_or(0)
    };
    // A log file holds the records up to the next file's first one.
    for pair in logs.windows(2) {
        let (_, path) = &pair[0];
        let next_first = pair[1].0;
        if next_first <= keep_from + 1 {
            fs::remove_file(path)?;
        }
    }
    sync_dir(dir)
}
