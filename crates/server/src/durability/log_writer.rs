//! The log writer: the executor appends encoded records to a shared buffer
//! (no I/O on the executor thread); this thread writes whatever has
//! accumulated and, with `--fsync always`, fsyncs it before publishing the
//! new durable sequence number, so one fsync covers every write that
//! arrived meanwhile (group commit). Replies to writes wait for the durable
//! number to pass theirs.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use aotdb_storage::persist::log::{
    encode_execute, encode_record, encode_transaction, log_file_name, log_header, LogRecord,
};
use tokio::sync::watch;

use super::files::sync_dir;
use super::stats::PersistenceStats;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FsyncPolicy {
    /// A write is acknowledged after the fsync that covers it.
    Always,
    /// Writes are acknowledged at once; the log is fsynced every second.
    Everysec,
    /// Writes are acknowledged at once; the OS decides when to flush.
    No,
}

impl FsyncPolicy {
    pub fn name(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::Everysec => "everysec",
            FsyncPolicy::No => "no",
        }
    }
}

#[derive(Default)]
struct State {
    /// Encoded records not yet handed to the file.
    buffer: Vec<u8>,
    /// Highest sequence number appended.
    appended: u64,
    /// Records that belong in the current file before a rotation, with the
    /// last sequence number in them.
    before_rotation: Option<(Vec<u8>, u64)>,
    stop: bool,
    /// The first write or fsync error; after it nothing is durable.
    failed: Option<String>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The executor's side: appending records. Records collect in a local
/// buffer and go to the writer thread with `flush`, once per batch of
/// requests: one wake-up of the writer per batch, not per write.
pub struct LogHandle {
    shared: Arc<Shared>,
    /// Records appended since the last flush.
    pending: Vec<u8>,
    /// Highest sequence number appended (flushed or not).
    last_seq: u64,
    policy: FsyncPolicy,
    thread: Option<thread::JoinHandle<()>>,
    stats: Arc<PersistenceStats>,
}

/// What connection tasks wait on.
#[derive(Clone)]
pub struct Durability {
    durable: watch::Receiver<DurableState>,
}

#[derive(Debug, Clone, Default)]
pub struct DurableState {
    pub seq: u64,
    pub failed: Option<String>,
}

impl Durability {
    /// The highest sequence number known durable.
    pub fn durable_seq(&self) -> u64 {
        self.durable.borrow().seq
    }

    /// Waits until every record up to `seq` is durable (per the policy).
    pub async fn wait(&self, seq: u64) -> Result<(), String> {
        let mut rx = self.durable.clone();
        let state = rx.wait_for(|s| s.seq >= seq || s.failed.is_some()).await;
        match state {
            Ok(s) if s.seq >= seq => Ok(()),
            Ok(s) => Err(s.failed.clone().unwrap_or_default()),
            Err(_) => Err("the log writer stopped".into()),
        }
    }
}

impl LogHandle {
    /// Starts the writer on `file` (already positioned at its end), whose
    /// last record is `last_seq`.
    pub fn start(
        dir: PathBuf,
        file: File,
        file_first_seq: u64,
        last_seq: u64,
        policy: FsyncPolicy,
        stats: Arc<PersistenceStats>,
    ) -> std::io::Result<(LogHandle, Durability)> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State { appended: last_seq, ..State::default() }),
            wake: Condvar::new(),
        });
        let (tx, rx) = watch::channel(DurableState { seq: last_seq, failed: None });
        let writer = Writer {
            dir,
            file,
            file_first_seq,
            policy,
            shared: shared.clone(),
            durable: tx,
            stats: stats.clone(),
            last_sync: Instant::now(),
        };
        let thread = thread::Builder::new().name("aotdb-log".into()).spawn(move || writer.run())?;
        Ok((
            LogHandle { shared, pending: Vec::new(), last_seq, policy, thread: Some(thread), stats },
            Durability { durable: rx },
        ))
    }

    pub fn policy(&self) -> FsyncPolicy {
        self.policy
    }

    /// Appends a record; returns its sequence number. It reaches the
    /// writer with the next `flush`.
    pub fn append(&mut self, record: &LogRecord) -> u64 {
        self.last_seq += 1;
        encode_record(self.last_seq, record, &mut self.pending);
        self.last_seq
    }

    /// Appends one statement's write (what `append` of a
    /// `LogRecord::Execute` does, from borrowed arguments).
    pub fn append_execute<A: AsRef<[u8]>>(&mut self, name: &str, args: &[A]) -> u64 {
        self.last_seq += 1;
        encode_execute(self.last_seq, name, args, &mut self.pending);
        self.last_seq
    }

    /// Appends a MULTI block's or a function's writes (what `append` of a
    /// `LogRecord::Transaction` does, from borrowed statements).
    pub fn append_transaction<'a, A: AsRef<[u8]> + 'a>(
        &mut self,
        items: impl Iterator<Item = (&'a str, &'a [A])> + Clone,
    ) -> u64 {
        self.last_seq += 1;
        encode_transaction(self.last_seq, items, &mut self.pending);
        self.last_seq
    }

    /// Hands the records appended so far to the writer thread.
    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let added = self.pending.len() as u64;
        let mut s = self.shared.lock();
        if s.buffer.is_empty() {
            std::mem::swap(&mut s.buffer, &mut self.pending);
        } else {
            s.buffer.extend_from_slice(&self.pending);
            self.pending.clear();
        }
        s.appended = self.last_seq;
        drop(s);
        self.stats.note_appended(added);
        self.shared.wake.notify_one();
    }

    /// Whether records wait for `flush`.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The highest sequence number appended.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Why the log cannot be written, if it cannot.
    pub fn failure(&self) -> Option<String> {
        self.shared.lock().failed.clone()
    }

    /// Starts a new log file after the records appended so far; returns
    /// the last sequence number in the old files (the point a snapshot
    /// started now is consistent with).
    pub fn rotate(&mut self) -> u64 {
        self.flush();
        let mut s = self.shared.lock();
        let seq = s.appended;
        let pending = std::mem::take(&mut s.buffer);
        match s.before_rotation.as_mut() {
            // A rotation not yet done: its records and these stay in the
            // old file; the new file starts after these.
            Some((bytes, last)) => {
                bytes.extend(pending);
                *last = seq;
            }
            None => s.before_rotation = Some((pending, seq)),
        }
        drop(s);
        self.shared.wake.notify_one();
        seq
    }

    /// Writes and fsyncs everything appended, then stops the writer.
    pub fn shutdown(&mut self) {
        self.flush();
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LogHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Writer {
    dir: PathBuf,
    file: File,
    /// Sequence number of the current file's first record.
    file_first_seq: u64,
    policy: FsyncPolicy,
    shared: Arc<Shared>,
    durable: watch::Sender<DurableState>,
    stats: Arc<PersistenceStats>,
    last_sync: Instant,
}

impl Writer {
    fn run(mut self) {
        loop {
            let (bytes, appended, rotation, stop) = {
                let mut s = self.shared.lock();
                while s.buffer.is_empty() && s.before_rotation.is_none() && !s.stop {
                    let wait = match self.policy {
                        FsyncPolicy::Everysec => Duration::from_millis(200),
                        _ => Duration::from_secs(3600),
                    };
                    let (guard, _) = self.shared.wake.wait_timeout(s, wait).unwrap_or_else(|p| p.into_inner());
                    s = guard;
                    if self.policy == FsyncPolicy::Everysec && self.last_sync.elapsed() >= Duration::from_secs(1) {
                        break;
                    }
                }
                (std::mem::take(&mut s.buffer), s.appended, s.before_rotation.take(), s.stop)
            };
            let result = self.write(bytes, appended, rotation, stop);
            if let Err(e) = result {
                let message = format!("cannot write the command log: {e}");
                tracing::error!("{message}; writes are refused until the server restarts");
                self.shared.lock().failed = Some(message.clone());
                self.durable.send_modify(|d| d.failed = Some(message));
                return;
            }
            if stop {
                return;
            }
        }
    }

    fn write(
        &mut self,
        bytes: Vec<u8>,
        appended: u64,
        rotation: Option<(Vec<u8>, u64)>,
        stop: bool,
    ) -> std::io::Result<()> {
        // A rotation with no record since the current file began keeps the
        // current file: it already starts where the new one would.
        if let Some((old, last)) = rotation.filter(|(old, last)| !old.is_empty() || last + 1 != self.file_first_seq) {
            self.file.write_all(&old)?;
            self.sync()?;
            self.file_first_seq = last + 1;
            let path = self.dir.join(log_file_name(last + 1));
            let mut file = File::options().create(true).append(true).open(&path)?;
            file.write_all(&log_header())?;
            file.sync_all()?;
            sync_dir(&self.dir)?;
            self.file = file;
            self.stats.note_rotated();
        }
        if !bytes.is_empty() {
            self.file.write_all(&bytes)?;
        }
        let sync_now = match self.policy {
            FsyncPolicy::Always => true,
            FsyncPolicy::Everysec => self.last_sync.elapsed() >= Duration::from_secs(1) || stop,
            FsyncPolicy::No => stop,
        };
        if sync_now {
            self.sync()?;
        }
        self.durable.send_modify(|d| d.seq = d.seq.max(appended));
        Ok(())
    }

    fn sync(&mut self) -> std::io::Result<()> {
        let start = Instant::now();
        self.file.sync_data()?;
        self.last_sync = Instant::now();
        self.stats.note_fsync(start.elapsed());
        Ok(())
    }
}
