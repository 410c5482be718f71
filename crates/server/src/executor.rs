//! The executor: one thread that owns the catalog and all data. Connection
//! tasks send it batches of typed requests over a channel; it drains every
//! batch waiting, runs each request to completion in arrival order (so
//! every statement and transaction is serializable by construction), logs
//! every committed write, and answers each batch on its own reply channel.
//! Between batches it copies tables for a snapshot in progress, a chunk at
//! a time.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use aotdb_planner::{self as planner, real_for_output, Catalog, DataType, Explain, Statement, Value};
use aotdb_storage::persist::log::LogRecord;
use aotdb_storage::persist::snapshot::{SnapshotEncoder, SnapshotImage};
use aotdb_storage::{Database, Outcome as RowsOrCount, StructureStats, TableStats, UndoLog};
use bytes::Bytes;
use tokio::sync::oneshot;

use aotdb_proto::{FunctionCommand, Reply};

use crate::durability::{LogHandle, PersistenceStats, SnapshotWriter};
use crate::error::ExecError;
use crate::procedures::FunctionEngine;

/// Work for the executor.
#[derive(Debug)]
pub enum Request {
    Execute {
        name: Bytes,
        args: Vec<Bytes>,
        /// The user may only run statements that read.
        read_only: bool,
    },
    /// A MULTI/EXEC block: all of it or none of it.
    Transaction(Vec<QueuedExecute>),
    Prepare {
        name: Bytes,
        sql: Bytes,
    },
    Deallocate {
        name: Bytes,
    },
    Define {
        script: Bytes,
    },
    Explain {
        name: Bytes,
    },
    Info,
    DbSize,
    /// SAVE: a snapshot, written before the reply.
    Save,
    /// BGSAVE: a snapshot written while the executor goes on.
    BgSave,
    FCall {
        function: Bytes,
        keys: Vec<Bytes>,
        args: Vec<Bytes>,
        read_only: bool,
    },
    Function(FunctionCommand),
    /// Tests only: runs a statement, then panics, as a bug would.
    #[cfg(test)]
    PanicAfter {
        name: Bytes,
        args: Vec<Bytes>,
    },
}

/// One EXECUTE queued inside MULTI.
#[derive(Debug, Clone)]
pub struct QueuedExecute {
    pub name: Bytes,
    pub args: Vec<Bytes>,
    /// The user may only run statements that read.
    pub read_only: bool,
}

#[derive(Debug)]
pub enum Response {
    Statement(RowsOrCount),
    Transaction(Vec<RowsOrCount>),
    Ok,
    Status(&'static str),
    Explain(Explain),
    Info(ExecutorInfo),
    DbSize(usize),
    Reply(Reply),
}

/// What the executor contributes to INFO.
#[derive(Debug, Clone)]
pub struct ExecutorInfo {
    pub tables: Vec<TableStats>,
    pub structures: Vec<StructureStats>,
    pub statements: usize,
    pub executed: u64,
    pub rolled_back: u64,
    pub last_seq: Option<u64>,
}

pub type Outcome = Result<Response, ExecError>;

/// The answer to a batch.
pub struct BatchReply {
    pub outcomes: Vec<Outcome>,
    /// Which requests were logged as writes.
    pub logged: Vec<bool>,
    /// With `--fsync always`: the replies go out once the log is durable
    /// up to here.
    pub wait_for: Option<u64>,
}

pub struct Batch {
    requests: Vec<Request>,
    reply: oneshot::Sender<BatchReply>,
}

/// A connection's way to the executor. Cloning is cheap.
#[derive(Clone)]
pub enum ExecutorHandle {
    /// The executor has a thread of its own; batches travel over a channel.
    Thread(mpsc::Sender<Batch>),
    /// The executor runs on the (single) network thread, called in place,
    /// as Redis does: no hand-off between threads at all.
    Inline(Arc<InlineExecutor>),
}

/// An executor shared by the tasks of a single-threaded runtime. The lock
/// is never contended (one thread); it is there to satisfy the type system.
pub struct InlineExecutor {
    executor: Mutex<Executor>,
    /// Wakes the background task (snapshot steps).
    background: tokio::sync::Notify,
}

impl ExecutorHandle {
    /// Runs `requests` in order and returns one outcome per request.
    pub async fn run(&self, requests: Vec<Request>) -> BatchReply {
        match self {
            ExecutorHandle::Thread(tx) => {
                let n = requests.len();
                let gone = || BatchReply {
                    outcomes: (0..n).map(|_| Err(ExecError::ShuttingDown)).collect(),
                    logged: vec![false; n],
                    wait_for: None,
                };
                let (reply, rx) = oneshot::channel();
                if tx.send(Batch { requests, reply }).is_err() {
                    return gone();
                }
                rx.await.unwrap_or_else(|_| gone())
            }
            ExecutorHandle::Inline(inline) => {
                let mut executor = inline.lock();
                let reply = executor.run_batch(requests);
                if executor.has_background_work() {
                    inline.background.notify_one();
                }
                reply
            }
        }
    }
}

impl InlineExecutor {
    fn lock(&self) -> std::sync::MutexGuard<'_, Executor> {
        // A request that panicked was already undone (handle_guarded).
        self.executor.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Snapshot steps between requests: one step, then let connections
    /// run, until the snapshot is done; otherwise wait to be woken (or for
    /// the periodic check of the log's growth).
    pub async fn background(self: Arc<Self>) {
        loop {
            let busy = {
                let mut executor = self.lock();
                // Runs after the connections that were ready: what they all
                // logged goes to the writer in one hand-off.
                executor.flush_log();
                executor.snapshot_work();
                executor.db.snapshot_copy_active()
            };
            if busy {
                tokio::task::yield_now().await;
            } else {
                tokio::select! {
                    _ = self.background.notified() => {}
                    _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
                }
            }
        }
    }

    /// After the last connection: what the executor thread does when its
    /// channel closes.
    pub fn stop(&self) {
        let mut executor = self.lock();
        executor.stop();
        // The process exits next: freeing millions of rows one by one would
        // only delay it.
        std::mem::forget(std::mem::replace(&mut *executor, Executor::empty()));
    }
}

/// The command log and snapshot writer, when the server has a data
/// directory.
pub struct Persistence {
    pub log: LogHandle,
    pub snapshots: SnapshotWriter,
    pub stats: Arc<PersistenceStats>,
    /// Start a snapshot when this many log bytes were written since the
    /// last one (0: never).
    pub auto_snapshot_bytes: u64,
    /// Take a snapshot when the executor stops (SHUTDOWN SAVE).
    pub save_on_exit: Arc<AtomicBool>,
}

/// The state the executor thread owns.
pub struct Executor {
    catalog: Catalog,
    db: Database,
    undo: UndoLog,
    executed: u64,
    rolled_back: u64,
    persistence: Option<Persistence>,
    /// The record the request being handled wrote to the log.
    logged: Option<u64>,
    /// Procedures; taken out while one runs (it calls back into `self`).
    functions: Option<FunctionEngine>,
    limits: ExecLimits,
}

/// Limits the executor enforces on requests (0: none).
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecLimits {
    /// Writes are refused with OOM while the server's allocations exceed
    /// this many bytes.
    pub max_memory: usize,
    /// A statement returning more rows than this fails instead.
    pub max_reply_rows: usize,
}

/// Most batches taken per wake-up before replies go out, so one busy
/// connection cannot delay everyone's replies for long.
const MAX_BATCHES_PER_WAKE: usize = 256;

/// A snapshot copies rows in small chunks until this much time has gone,
/// then serves requests again: the longest the executor stalls for it.
const SNAPSHOT_STEP_TIME: std::time::Duration = std::time::Duration::from_millis(2);
const SNAPSHOT_CHUNK_ROWS: usize = 256;

/// Rows per chunk a SAVE hands the snapshot writer as it goes: encoding
/// the whole snapshot into one buffer first held it (and the buffer's
/// doublings) in memory at once, and the allocator kept those pages.
const SAVE_CHUNK_ROWS: usize = 4096;

impl Executor {
    pub fn new(
        mut catalog: Catalog,
        db: Database,
        allow_scans: bool,
        function_budget: std::time::Duration,
    ) -> Result<Executor, ExecError> {
        catalog.set_allow_scans(allow_scans);
        Ok(Executor {
            catalog,
            db,
            undo: UndoLog::new(),
            executed: 0,
            rolled_back: 0,
            persistence: None,
            logged: None,
            functions: Some(FunctionEngine::new(function_budget)?),
            limits: ExecLimits::default(),
        })
    }

    /// Set after recovery: replaying the log must not be refused.
    pub fn set_limits(&mut self, limits: ExecLimits) {
        self.limits = limits;
    }

    /// From now on every committed write is logged.
    pub fn attach_persistence(&mut self, p: Persistence) {
        self.persistence = Some(p);
    }

    /// Starts the executor thread. It ends when every handle is dropped.
    pub fn spawn(self) -> std::io::Result<(ExecutorHandle, thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel::<Batch>();
        let join = thread::Builder::new().name("aotdb-executor".into()).spawn(move || self.run(rx))?;
        Ok((ExecutorHandle::Thread(tx), join))
    }

    /// The executor for a single-threaded runtime: called in place by the
    /// connection tasks.
    pub fn inline(self) -> (ExecutorHandle, Arc<InlineExecutor>) {
        let inline = Arc::new(InlineExecutor { executor: Mutex::new(self), background: tokio::sync::Notify::new() });
        (ExecutorHandle::Inline(inline.clone()), inline)
    }

    /// A placeholder left behind when the real executor is leaked at exit.
    fn empty() -> Executor {
        Executor {
            catalog: Catalog::new(),
            db: Database::new(),
            undo: UndoLog::new(),
            executed: 0,
            rolled_back: 0,
            persistence: None,
            logged: None,
            functions: None,
            limits: ExecLimits::default(),
        }
    }

    /// Whether a snapshot is being copied or should start.
    fn has_background_work(&self) -> bool {
        let Some(p) = &self.persistence else { return false };
        p.log.has_pending()
            || self.db.snapshot_copy_active()
            || (p.auto_snapshot_bytes > 0
                && p.stats.log_bytes_since_snapshot.load(Ordering::Relaxed) >= p.auto_snapshot_bytes)
    }

    fn run(mut self, rx: mpsc::Receiver<Batch>) {
        let mut pending = Vec::with_capacity(MAX_BATCHES_PER_WAKE);
        loop {
            let first = if self.db.snapshot_copy_active() {
                match rx.try_recv() {
                    Ok(b) => Some(b),
                    Err(mpsc::TryRecvError::Empty) => None,
                    Err(mpsc::TryRecvError::Disconnected) => break,
                }
            } else {
                match receive_soon(&rx) {
                    Ok(b) => Some(b),
                    Err(_) => break,
                }
            };
            if let Some(first) = first {
                pending.push(first);
                while pending.len() < MAX_BATCHES_PER_WAKE {
                    match rx.try_recv() {
                        Ok(b) => pending.push(b),
                        Err(_) => break,
                    }
                }
                for batch in pending.drain(..) {
                    let reply = self.run_batch(batch.requests);
                    // The connection may have gone away; its replies are moot.
                    let _ = batch.reply.send(reply);
                }
                // One hand-off to the log writer for everything this wake-up
                // wrote (replies waiting on durability wait for it).
                self.flush_log();
            }
            self.snapshot_work();
        }
        self.stop();
        tracing::debug!("executor stopped");
        // The process exits next: freeing millions of rows one by one would
        // only delay it (and a restart waiting for the data directory).
        std::mem::forget(self);
    }

    fn run_batch(&mut self, requests: Vec<Request>) -> BatchReply {
        let mut outcomes = Vec::with_capacity(requests.len());
        let mut logged = Vec::with_capacity(requests.len());
        let mut wait_for = None;
        for r in requests {
            self.logged = None;
            outcomes.push(self.handle_guarded(r));
            logged.push(self.logged.is_some());
            if let Some(seq) = self.logged {
                wait_for = Some(seq);
            }
        }
        let always =
            self.persistence.as_ref().is_some_and(|p| p.log.policy() == crate::durability::FsyncPolicy::Always);
        BatchReply { outcomes, logged, wait_for: wait_for.filter(|_| always) }
    }

    /// Runs one request; a panic (a bug) becomes an error for that request
    /// alone, after undoing whatever the request had changed.
    fn handle_guarded(&mut self, request: Request) -> Outcome {
        match catch_unwind(AssertUnwindSafe(|| self.handle(request))) {
            Ok(outcome) => outcome,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                tracing::error!(panic = %what, "bug: a request panicked in the executor; its changes were rolled back");
                self.abort();
                Err(ExecError::Internal(format!("request failed on an internal error: {what}")))
            }
        }
    }

    pub fn handle(&mut self, request: Request) -> Outcome {
        match request {
            Request::Execute { name, args, read_only } => {
                let stmt = self.statement(&name)?;
                if !stmt.is_read_only() {
                    refuse_write_to_reader(&stmt, read_only)?;
                    self.check_writable()?;
                }
                match self.execute_one(&stmt, &args) {
                    Ok(o) => {
                        if !self.undo.is_empty() {
                            self.log_execute(&stmt.name, &args);
                        }
                        self.undo.clear();
                        Ok(Response::Statement(o))
                    }
                    Err(e) => {
                        self.abort();
                        Err(e)
                    }
                }
            }
            Request::Transaction(items) => self.transaction(items),
            Request::Prepare { name, sql } => {
                self.check_writable()?;
                let name = utf8(&name, "statement name")?;
                let sql = utf8(&sql, "SQL")?;
                let (next, changes) = planner::prepare(&self.catalog, name, sql)?;
                self.db.apply_changes(&changes)?;
                self.catalog = next;
                self.log(LogRecord::Prepare { name: name.to_string(), sql: sql.to_string() });
                Ok(Response::Ok)
            }
            Request::Deallocate { name } => {
                self.check_writable()?;
                let name = utf8(&name, "statement name")?;
                let resolved = self.statement(name.as_bytes())?.name.clone();
                let (next, changes) = planner::deallocate(&self.catalog, &resolved)?;
                self.db.apply_changes(&changes)?;
                self.catalog = next;
                self.log(LogRecord::Deallocate(resolved));
                Ok(Response::Ok)
            }
            Request::Define { script } => {
                self.check_writable()?;
                let script = utf8(&script, "script")?;
                self.define(script)?;
                Ok(Response::Ok)
            }
            Request::Explain { name } => {
                let stmt = self.statement(&name)?;
                Ok(Response::Explain(planner::explain(&self.catalog, &stmt)))
            }
            Request::Info => Ok(Response::Info(ExecutorInfo {
                tables: self.db.stats(),
                structures: self.db.structure_stats(),
                statements: self.catalog.statements().count(),
                executed: self.executed,
                rolled_back: self.rolled_back,
                last_seq: self.persistence.as_ref().map(|p| p.log.last_seq()),
            })),
            Request::DbSize => Ok(Response::DbSize(self.db.total_rows())),
            Request::Save => {
                self.save()?;
                Ok(Response::Ok)
            }
            Request::BgSave => {
                self.begin_snapshot()?;
                Ok(Response::Status("Background saving started"))
            }
            Request::FCall { function, keys, args, read_only } => self.fcall(&function, &keys, &args, read_only),
            Request::Function(f) => self.function_command(f),
            #[cfg(test)]
            Request::PanicAfter { name, args } => {
                let stmt = self.statement(&name)?;
                self.execute_one(&stmt, &args)?;
                panic!("a bug, after a write");
            }
        }
    }

    fn engine(&mut self) -> Result<&mut FunctionEngine, ExecError> {
        self.functions.as_mut().ok_or_else(|| ExecError::Internal("the function engine is busy".into()))
    }

    fn function_command(&mut self, f: FunctionCommand) -> Outcome {
        match f {
            FunctionCommand::Load { code, replace } => {
                self.check_writable()?;
                let code = utf8(&code, "function code")?.to_string();
                let name = self.engine()?.load(&code, replace)?;
                self.log(LogRecord::FunctionLoad { code, replace });
                Ok(Response::Reply(Reply::Bulk(Bytes::from(name))))
            }
            FunctionCommand::Delete(name) => {
                self.check_writable()?;
                let name = utf8(&name, "library name")?.to_string();
                self.engine()?.delete(&name)?;
                self.log(LogRecord::FunctionDelete(name));
                Ok(Response::Ok)
            }
            FunctionCommand::Flush => {
                self.check_writable()?;
                self.engine()?.flush();
                self.log(LogRecord::FunctionFlush);
                Ok(Response::Ok)
            }
            FunctionCommand::List { pattern, with_code } => {
                let pattern = pattern.map(|p| String::from_utf8_lossy(&p).into_owned());
                let libraries = self.engine()?.list();
                let s = |v: &str| Reply::bulk_str(v);
                let list = libraries
                    .into_iter()
                    .filter(|l| {
                        pattern.as_ref().is_none_or(|p| crate::local::glob_match(p.as_bytes(), l.name.as_bytes()))
                    })
                    .map(|l| {
                        let functions = l
                            .functions
                            .iter()
                            .map(|(name, description, flags)| {
                                Reply::Map(vec![
                                    (s("name"), s(name)),
                                    (s("description"), description.as_deref().map(s).unwrap_or(Reply::Null)),
                                    (s("flags"), Reply::Array(flags.iter().map(|f| s(f)).collect())),
                                ])
                            })
                            .collect();
                        let mut fields = vec![
                            (s("library_name"), s(&l.name)),
                            (s("engine"), s("LUA")),
                            (s("functions"), Reply::Array(functions)),
                        ];
                        if with_code {
                            fields.push((s("library_code"), s(&l.code)));
                        }
                        Reply::Map(fields)
                    })
                    .collect();
                Ok(Response::Reply(Reply::Array(list)))
            }
            FunctionCommand::Help => Ok(Response::Ok),
        }
    }

    /// FCALL: the function runs statements through `execute_in_function`;
    /// any error it does not catch, or running past its budget, rolls back
    /// everything it wrote. Its writes are logged, not its code.
    /// Not inlined, so profilers can count one FCALL from its entry
    /// (`callgrind --toggle-collect`).
    #[inline(never)]
    fn fcall(&mut self, function: &[u8], keys: &[Bytes], args: &[Bytes], read_only: bool) -> Outcome {
        let name = utf8(function, "function name")?.to_string();
        let mut engine =
            self.functions.take().ok_or_else(|| ExecError::Internal("the function engine is busy".into()))?;
        let mut writes: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
        let result = engine.call(&name, keys, args, read_only, &mut |statement, argv, writes_allowed| {
            self.execute_in_function(statement, argv, writes_allowed, &mut writes)
        });
        self.functions = Some(engine);
        match result {
            Ok(reply) => {
                if !self.undo.is_empty() {
                    self.log_transaction(writes.iter().map(|(name, args)| (name.as_str(), args.as_slice())));
                }
                self.undo.clear();
                Ok(Response::Reply(reply))
            }
            Err(e) => {
                self.abort();
                Err(e)
            }
        }
    }

    /// One statement inside a function. A failed statement is undone by
    /// itself, so a function that catches the error goes on from a clean
    /// state. Not inlined, so profilers can tell the statements from the
    /// Lua around them.
    #[inline(never)]
    fn execute_in_function(
        &mut self,
        statement: &str,
        argv: Vec<Vec<u8>>,
        writes_allowed: bool,
        writes: &mut Vec<(String, Vec<Vec<u8>>)>,
    ) -> Result<RowsOrCount, ExecError> {
        let stmt = self.statement(statement.as_bytes())?;
        if !stmt.is_read_only() {
            if !writes_allowed {
                return Err(ExecError::Function {
                    code: "ERR",
                    message: format!("statement \"{}\" writes, and the function is flagged no-writes", stmt.name),
                });
            }
            self.check_writable()?;
        }
        let mark = self.undo.len();
        match self.execute_one(&stmt, &argv) {
            Ok(outcome) => {
                if self.undo.len() > mark {
                    writes.push((stmt.name.clone(), argv));
                }
                Ok(outcome)
            }
            Err(e) => {
                if let Err(bug) = self.db.rollback_to(&mut self.undo, mark) {
                    tracing::error!(error = %bug, "bug: statement rollback failed");
                }
                Err(e)
            }
        }
    }

    /// Applies a schema script (the schema file at start, or DEFINE).
    pub fn define(&mut self, script: &str) -> Result<(), ExecError> {
        let (next, changes) = planner::apply_script(&self.catalog, script)?;
        self.db.apply_changes(&changes)?;
        self.catalog = next;
        self.log(LogRecord::Define(script.to_string()));
        Ok(())
    }

    /// Applies the schema file to recovered data: definitions identical
    /// to the recovered ones are fine, new tables and statements are
    /// added, a conflicting definition is an error naming it.
    pub fn reconcile_schema(&mut self, script: &str) -> Result<usize, ExecError> {
        let mut fresh = Catalog::new();
        fresh.set_allow_scans(self.catalog.allow_scans());
        let (wanted, _) = planner::apply_script(&fresh, script)?;
        let mut additions = String::new();
        let mut added = 0;
        for t in wanted.tables() {
            match self.catalog.table_by_name(&t.name) {
                Some(existing) if existing.columns == t.columns && existing.uniques == t.uniques => {}
                Some(_) => {
                    return Err(ExecError::Plan(planner::Error::Schema(format!(
                        "table \"{}\" in the schema file differs from the one in the data directory; \
                         change it with DEFINE (DROP TABLE and CREATE TABLE) instead",
                        t.name
                    ))))
                }
                None => {
                    additions.push_str(&t.sql);
                    additions.push_str(";\n");
                    added += 1;
                }
            }
        }
        for s in wanted.statements() {
            match self.catalog.statement(&s.name) {
                Some(existing) if existing.sql == s.sql && existing.params == s.params => {}
                Some(_) => {
                    return Err(ExecError::Plan(planner::Error::Schema(format!(
                        "statement \"{}\" in the schema file differs from the one in the data directory; \
                         DEALLOCATE it and PREPARE the new version, or rename it",
                        s.name
                    ))))
                }
                None => {
                    additions.push_str(&s.prepare_sql());
                    additions.push_str(";\n");
                    added += 1;
                }
            }
        }
        if added > 0 {
            self.define(&additions)?;
        }
        Ok(added)
    }

    /// Loads a snapshot into an empty executor: catalog, rows, then every
    /// structure rebuilt from the rows.
    pub fn load_snapshot(&mut self, mut image: SnapshotImage) -> Result<(), ExecError> {
        let (next, changes) = planner::apply_script(&self.catalog, &image.catalog_script)?;
        self.db.apply_changes(&changes)?;
        self.catalog = next;
        let started = std::time::Instant::now();
        for t in std::mem::take(&mut image.tables) {
            let def = self.catalog.table_by_name(&t.name).cloned().ok_or_else(|| {
                ExecError::Internal(format!("snapshot has rows for table \"{}\", which its catalog lacks", t.name))
            })?;
            self.db.load_table_image(def.id, t.slots, t.free, t.rows)?;
        }
        let tables_loaded = started.elapsed();
        self.db.rebuild_structures()?;
        tracing::info!(
            tables_ms = tables_loaded.as_millis() as u64,
            structures_ms = (started.elapsed() - tables_loaded).as_millis() as u64,
            aggregate_views_deferred = self.db.defers_aggregates(),
            "snapshot rows placed and its indexes and views rebuilt"
        );
        if !image.extra.is_empty() {
            let mut d = aotdb_storage::persist::codec::Decoder::new(&image.extra);
            let n = d.u32().map_err(ExecError::Internal)?;
            for _ in 0..n {
                let code = d.string().map_err(ExecError::Internal)?;
                self.engine()?.load(&code, true)?;
            }
        }
        Ok(())
    }

    /// Stops following aggregate views until `build_deferred_views`:
    /// recovery calls it before a snapshot and a log to replay (see
    /// `Database::defer_aggregates`).
    pub fn defer_views(&mut self) {
        self.db.defer_aggregates();
    }

    /// Builds the views `defer_views` set aside from the rows as they are
    /// now, and follows them again; returns how many it built.
    pub fn build_deferred_views(&mut self) -> Result<usize, ExecError> {
        let started = std::time::Instant::now();
        let built = self.db.build_deferred()?;
        if built > 0 {
            tracing::info!(
                views = built,
                millis = started.elapsed().as_millis() as u64,
                "aggregate views built after the log replay"
            );
        }
        Ok(built)
    }

    /// Re-applies a logged write during recovery (its arguments are moved,
    /// not copied, into the request).
    pub fn replay(&mut self, record: LogRecord) -> Result<(), ExecError> {
        let bytes = |v: Vec<Vec<u8>>| v.into_iter().map(Bytes::from).collect::<Vec<_>>();
        let request = match record {
            LogRecord::Execute { name, args } => {
                Request::Execute { name: Bytes::from(name), args: bytes(args), read_only: false }
            }
            // A MULTI block's reads are left out: they change nothing, and
            // the aggregate views they read may wait for the end of the
            // replay (`defer_views`). Logs written before MULTI blocks were
            // logged without their reads still hold them.
            LogRecord::Transaction(items) => Request::Transaction(
                items
                    .into_iter()
                    .filter(|(n, _)| self.statement(n.as_bytes()).map_or(true, |s| !s.is_read_only()))
                    .map(|(n, a)| QueuedExecute { name: Bytes::from(n), args: bytes(a), read_only: false })
                    .collect(),
            ),
            LogRecord::Define(script) => Request::Define { script: Bytes::from(script) },
            LogRecord::Prepare { name, sql } => Request::Prepare { name: Bytes::from(name), sql: Bytes::from(sql) },
            LogRecord::Deallocate(name) => Request::Deallocate { name: Bytes::from(name) },
            LogRecord::FunctionLoad { code, replace } => {
                Request::Function(FunctionCommand::Load { code: Bytes::from(code), replace })
            }
            LogRecord::FunctionDelete(name) => Request::Function(FunctionCommand::Delete(Bytes::from(name))),
            LogRecord::FunctionFlush => Request::Function(FunctionCommand::Flush),
        };
        self.handle(request).map(|_| ())
    }

    fn statement(&self, name: &[u8]) -> Result<Arc<Statement>, ExecError> {
        let text = std::str::from_utf8(name)
            .map_err(|_| ExecError::NoStatement(format!("no statement named \"{}\"", String::from_utf8_lossy(name))))?;
        if let Some(s) = self.catalog.statement(text) {
            return Ok(s.clone());
        }
        // Unquoted names fold to lower case in SQL, so EXECUTE does too.
        self.catalog
            .statement(&text.to_lowercase())
            .cloned()
            .ok_or_else(|| ExecError::NoStatement(format!("no statement named \"{text}\"")))
    }

    fn execute_one<A: AsRef<[u8]>>(&mut self, stmt: &Statement, args: &[A]) -> Result<RowsOrCount, ExecError> {
        let params = stmt.bind_args(args)?;
        self.executed += 1;
        let outcome = if stmt.is_read_only() {
            self.db.query(stmt, &params)?
        } else {
            self.db.execute(stmt, &params, &mut self.undo)?
        };
        let max_rows = self.limits.max_reply_rows;
        if let aotdb_storage::Outcome::Rows(rows) = &outcome {
            if max_rows > 0 && rows.len() > max_rows {
                return Err(ExecError::TooManyRows(format!(
                    "statement \"{}\" returned {} rows, more than --max-reply-rows {max_rows}; \
                     add a LIMIT or narrow the statement",
                    stmt.name,
                    rows.len()
                )));
            }
        }
        Ok(present_reals(stmt, outcome))
    }

    fn transaction(&mut self, items: Vec<QueuedExecute>) -> Outcome {
        let mut results = Vec::with_capacity(items.len());
        let mut statements = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let step = self.statement(&item.name).and_then(|stmt| {
                if !stmt.is_read_only() {
                    refuse_write_to_reader(&stmt, item.read_only)?;
                    self.check_writable()?;
                }
                let outcome = self.execute_one(&stmt, &item.args);
                statements.push(stmt);
                outcome
            });
            match step {
                Ok(o) => results.push(o),
                Err(cause) => {
                    self.abort();
                    return Err(ExecError::Transaction {
                        position: i + 1,
                        name: String::from_utf8_lossy(&item.name).into_owned(),
                        cause: Box::new(cause),
                    });
                }
            }
        }
        if !self.undo.is_empty() {
            // The block's writes, under the names the statements resolved
            // to: its reads change nothing on replay.
            self.log_transaction(
                statements
                    .iter()
                    .zip(&items)
                    .filter(|(s, _)| !s.is_read_only())
                    .map(|(s, item)| (s.name.as_str(), item.args.as_slice())),
            );
        }
        self.undo.clear();
        Ok(Response::Transaction(results))
    }

    /// Rolls back everything since the last commit.
    fn abort(&mut self) {
        if self.undo.is_empty() {
            return;
        }
        self.rolled_back += 1;
        if let Err(e) = self.db.rollback(&mut self.undo) {
            // The structures disagree with the undo log: a bug that must be
            // visible, but the server keeps serving.
            tracing::error!(error = %e, "bug: rollback failed");
        }
    }

    fn log(&mut self, record: LogRecord) {
        if let Some(p) = self.persistence.as_mut() {
            self.logged = Some(p.log.append(&record));
        }
    }

    /// Logs one statement's write from the request's own arguments
    /// (nothing is copied when there is no log: in memory, or replaying).
    fn log_execute(&mut self, name: &str, args: &[Bytes]) {
        if let Some(p) = self.persistence.as_mut() {
            self.logged = Some(p.log.append_execute(name, args));
        }
    }

    /// Logs a MULTI block's or a function's writes, `(statement,
    /// arguments)` in order.
    fn log_transaction<'a, A: AsRef<[u8]> + 'a>(&mut self, items: impl Iterator<Item = (&'a str, &'a [A])> + Clone) {
        if let Some(p) = self.persistence.as_mut() {
            self.logged = Some(p.log.append_transaction(items));
        }
    }

    /// Hands the records logged since the last call to the log writer.
    fn flush_log(&mut self) {
        if let Some(p) = self.persistence.as_mut() {
            p.log.flush();
        }
    }

    /// Writes are refused once the log cannot be written: they could not
    /// be made durable.
    fn check_writable(&self) -> Result<(), ExecError> {
        if let Some(why) = self.persistence.as_ref().and_then(|p| p.log.failure()) {
            return Err(ExecError::ReadOnly(format!("writes are refused until the server restarts: {why}")));
        }
        let max = self.limits.max_memory;
        if max > 0 {
            let used = crate::alloc::bytes_in_use();
            if used > max {
                return Err(ExecError::OutOfMemory(format!("{used} bytes used, maxmemory {max}")));
            }
        }
        Ok(())
    }

    fn begin_snapshot(&mut self) -> Result<(), ExecError> {
        let Some(p) = self.persistence.as_mut() else {
            return Err(ExecError::NotPersistent);
        };
        if self.db.snapshot_copy_active() {
            return Err(ExecError::Busy("Background save already in progress".into()));
        }
        let seq = p.log.rotate();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        p.snapshots.begin(seq);
        let libraries = self.functions.as_ref().map(|f| f.library_codes()).unwrap_or_default();
        let mut extra = aotdb_storage::persist::codec::Encoder::new();
        extra.u32(libraries.len() as u32);
        for code in &libraries {
            extra.bytes(code.as_bytes());
        }
        p.snapshots.bytes(SnapshotEncoder::header(seq, now, &self.catalog.to_script(), &extra.buf));
        p.stats.log_bytes_since_snapshot.store(0, Ordering::Relaxed);
        p.stats.snapshot_max_step_micros.store(0, Ordering::Relaxed);
        p.stats.update_snapshot(|s| s.in_progress = true);
        self.db.begin_snapshot_copy();
        tracing::info!(seq, "snapshot started");
        Ok(())
    }

    /// One chunk of a snapshot in progress; starts one when the log has
    /// grown enough.
    fn snapshot_work(&mut self) {
        let Some(p) = &self.persistence else { return };
        if !self.db.snapshot_copy_active() {
            let grown = p.stats.log_bytes_since_snapshot.load(Ordering::Relaxed);
            if p.auto_snapshot_bytes > 0 && grown >= p.auto_snapshot_bytes {
                if let Err(e) = self.begin_snapshot() {
                    tracing::warn!("automatic snapshot not started: {e}");
                }
            }
            return;
        }
        let started = std::time::Instant::now();
        let mut bytes = self.db.take_snapshot_pending();
        let mut done = None;
        while done.is_none() && started.elapsed() < SNAPSHOT_STEP_TIME {
            let (chunk, finished) = self.db.snapshot_copy_step(SNAPSHOT_CHUNK_ROWS);
            bytes.extend(chunk);
            done = finished;
        }
        let pending = Vec::new();
        let took = started.elapsed().as_micros() as u64;
        if let Some(p) = &self.persistence {
            p.stats.snapshot_max_step_micros.fetch_max(took, Ordering::Relaxed);
            p.snapshots.bytes(pending);
            p.snapshots.bytes(bytes);
            if let Some(rows) = done {
                let _ = p.snapshots.finish(rows, false);
            }
        }
    }

    /// SAVE: a whole snapshot, durable before the reply.
    fn save(&mut self) -> Result<(), ExecError> {
        if self.db.snapshot_copy_active() {
            return Err(ExecError::Busy("Background save already in progress".into()));
        }
        self.begin_snapshot()?;
        loop {
            let pending = self.db.take_snapshot_pending();
            let (bytes, done) = self.db.snapshot_copy_step(SAVE_CHUNK_ROWS);
            let Some(p) = &self.persistence else { return Err(ExecError::NotPersistent) };
            p.snapshots.bytes(pending);
            p.snapshots.bytes(bytes);
            if let Some(rows) = done {
                return p.snapshots.finish(rows, true).map_err(ExecError::Internal);
            }
        }
    }

    /// After the last connection: finish or drop a snapshot in progress,
    /// take one if SHUTDOWN SAVE asked for it, and flush the log.
    fn stop(&mut self) {
        let Some(p) = &self.persistence else { return };
        let save = p.save_on_exit.load(Ordering::Relaxed);
        if self.db.snapshot_copy_active() {
            if save {
                while self.db.snapshot_copy_active() {
                    self.snapshot_work();
                }
            } else {
                self.db.abort_snapshot_copy();
                p.snapshots.abort();
            }
        }
        if save {
            match self.save() {
                Ok(()) => tracing::info!("snapshot taken at shutdown"),
                Err(e) => tracing::error!("snapshot at shutdown failed: {e}"),
            }
        }
        if let Some(p) = self.persistence.as_mut() {
            p.log.shutdown();
        }
    }
}

/// Waits for the next batch, spinning briefly before sleeping: under load
/// the next batch is usually microseconds away, and a sleep and wake-up
/// cost more than that.
fn receive_soon(rx: &mpsc::Receiver<Batch>) -> Result<Batch, mpsc::RecvError> {
    for _ in 0..SPIN_TRIES {
        match rx.try_recv() {
            Ok(b) => return Ok(b),
            Err(mpsc::TryRecvError::Disconnected) => return Err(mpsc::RecvError),
            Err(mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
        }
    }
    rx.recv()
}

/// About ten microseconds of polling.
const SPIN_TRIES: usize = 1_000;

/// REAL columns are computed in `f32` but held as `f64`; show them as
/// PostgreSQL shows a real.
fn present_reals(stmt: &Statement, outcome: RowsOrCount) -> RowsOrCount {
    let reals: Vec<usize> =
        stmt.columns.iter().enumerate().filter(|(_, c)| c.ty == DataType::Real).map(|(i, _)| i).collect();
    match outcome {
        RowsOrCount::Rows(mut rows) if !reals.is_empty() => {
            for row in rows.iter_mut() {
                for &i in &reals {
                    if let Some(v) = row.get_mut(i) {
                        *v = real_for_output(std::mem::replace(v, Value::Null));
                    }
                }
            }
            RowsOrCount::Rows(rows)
        }
        other => other,
    }
}

fn utf8<'a>(b: &'a [u8], what: &str) -> Result<&'a str, ExecError> {
    std::str::from_utf8(b).map_err(|_| ExecError::Plan(planner::Error::Syntax(format!("{what} is not valid UTF-8"))))
}

/// A user that may only read asked for a statement that writes.
fn refuse_write_to_reader(stmt: &Statement, read_only: bool) -> Result<(), ExecError> {
    if read_only {
        return Err(ExecError::NoPermission(format!(
            "this user may only run statements that read, and \"{}\" writes",
            stmt.name
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(items: &[&str]) -> Vec<Bytes> {
        items.iter().map(|s| Bytes::from(s.to_string())).collect()
    }

    fn rows_of(outcome: Outcome) -> usize {
        match outcome {
            Ok(Response::Statement(aotdb_storage::Outcome::Rows(rows))) => rows.len(),
            other => panic!("not rows: {other:?}"),
        }
    }

    #[test]
    fn a_request_that_panics_fails_alone_and_its_writes_are_undone() {
        let mut ex = Executor::new(Catalog::new(), Database::new(), false, std::time::Duration::from_millis(100))
            .expect("executor");
        ex.define(
            "CREATE TABLE t (id BIGINT PRIMARY KEY);
             PREPARE put AS INSERT INTO t (id) VALUES ($1);
             PREPARE get AS SELECT id FROM t WHERE id = $1;",
        )
        .expect("schema");
        let outcome = ex.handle_guarded(Request::PanicAfter { name: Bytes::from("put"), args: bytes(&["1"]) });
        assert!(matches!(outcome, Err(ExecError::Internal(ref m)) if m.contains("a bug")), "{outcome:?}");
        let get = |ex: &mut Executor, id: &str| {
            ex.handle_guarded(Request::Execute { name: Bytes::from("get"), args: bytes(&[id]), read_only: false })
        };
        assert_eq!(rows_of(get(&mut ex, "1")), 0, "the panicking request's insert was undone");
        // The executor goes on serving.
        let put =
            ex.handle_guarded(Request::Execute { name: Bytes::from("put"), args: bytes(&["1"]), read_only: false });
        assert!(put.is_ok(), "{put:?}");
        assert_eq!(rows_of(get(&mut ex, "1")), 1);
    }
}
