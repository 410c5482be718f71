//! The executor: one thread that owns the catalog and all data. Connection
//! tasks send it batches of typed requests over a channel; it drains every
//! batch waiting, runs each request to completion in arrival order (so
//! every statement and transaction is serializable by construction), and
//! answers each batch on its own reply channel.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use aotdb_planner::{self as planner, real_for_output, Catalog, DataType, Explain, Statement, Value};
use aotdb_storage::{Database, Outcome as RowsOrCount, TableStats, UndoLog};
use bytes::Bytes;
use tokio::sync::oneshot;

use crate::error::ExecError;

/// Work for the executor.
#[derive(Debug)]
pub enum Request {
    Execute {
        name: Bytes,
        args: Vec<Bytes>,
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
}

/// One EXECUTE queued inside MULTI.
#[derive(Debug, Clone)]
pub struct QueuedExecute {
    pub name: Bytes,
    pub args: Vec<Bytes>,
}

#[derive(Debug)]
pub enum Response {
    Statement(RowsOrCount),
    Transaction(Vec<RowsOrCount>),
    Ok,
    Explain(Explain),
    Info(ExecutorInfo),
    DbSize(usize),
}

/// What the executor contributes to INFO.
#[derive(Debug, Clone)]
pub struct ExecutorInfo {
    pub tables: Vec<TableStats>,
    pub statements: usize,
    pub executed: u64,
    pub rolled_back: u64,
}

pub type Outcome = Result<Response, ExecError>;

struct Batch {
    requests: Vec<Request>,
    reply: oneshot::Sender<Vec<Outcome>>,
}

/// A connection's way to the executor. Cloning is cheap.
#[derive(Clone)]
pub struct ExecutorHandle {
    tx: mpsc::Sender<Batch>,
}

impl ExecutorHandle {
    /// Runs `requests` in order and returns one outcome per request.
    pub async fn run(&self, requests: Vec<Request>) -> Vec<Outcome> {
        let n = requests.len();
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Batch { requests, reply }).is_err() {
            return (0..n).map(|_| Err(ExecError::ShuttingDown)).collect();
        }
        rx.await.unwrap_or_else(|_| (0..n).map(|_| Err(ExecError::ShuttingDown)).collect())
    }
}

/// The state the executor thread owns.
pub struct Executor {
    catalog: Catalog,
    db: Database,
    undo: UndoLog,
    executed: u64,
    rolled_back: u64,
}

/// Most batches taken per wake-up before replies go out, so one busy
/// connection cannot delay everyone's replies for long.
const MAX_BATCHES_PER_WAKE: usize = 256;

impl Executor {
    pub fn new(mut catalog: Catalog, db: Database, allow_scans: bool) -> Executor {
        catalog.set_allow_scans(allow_scans);
        Executor { catalog, db, undo: UndoLog::new(), executed: 0, rolled_back: 0 }
    }

    /// Starts the executor thread. It ends when every handle is dropped.
    pub fn spawn(self) -> std::io::Result<(ExecutorHandle, thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel::<Batch>();
        let join = thread::Builder::new().name("aotdb-executor".into()).spawn(move || self.run(rx))?;
        Ok((ExecutorHandle { tx }, join))
    }

    fn run(mut self, rx: mpsc::Receiver<Batch>) {
        let mut pending = Vec::with_capacity(MAX_BATCHES_PER_WAKE);
        while let Ok(first) = rx.recv() {
            pending.push(first);
            while pending.len() < MAX_BATCHES_PER_WAKE {
                match rx.try_recv() {
                    Ok(b) => pending.push(b),
                    Err(_) => break,
                }
            }
            for batch in pending.drain(..) {
                let outcomes: Vec<Outcome> = batch.requests.into_iter().map(|r| self.handle_guarded(r)).collect();
                // The connection may have gone away; its replies are moot.
                let _ = batch.reply.send(outcomes);
            }
        }
        tracing::debug!("executor stopped");
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
            Request::Execute { name, args } => {
                let stmt = self.statement(&name)?;
                let result = self.execute_one(&stmt, &args);
                match result {
                    Ok(o) => {
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
                let name = utf8(&name, "statement name")?;
                let sql = utf8(&sql, "SQL")?;
                let (next, changes) = planner::prepare(&self.catalog, name, sql)?;
                self.db.apply_changes(&changes)?;
                self.catalog = next;
                Ok(Response::Ok)
            }
            Request::Deallocate { name } => {
                let name = utf8(&name, "statement name")?;
                let resolved = self.statement(name.as_bytes())?.name.clone();
                let (next, changes) = planner::deallocate(&self.catalog, &resolved)?;
                self.db.apply_changes(&changes)?;
                self.catalog = next;
                Ok(Response::Ok)
            }
            Request::Define { script } => {
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
                statements: self.catalog.statements().count(),
                executed: self.executed,
                rolled_back: self.rolled_back,
            })),
            Request::DbSize => Ok(Response::DbSize(self.db.total_rows())),
        }
    }

    /// Applies a schema script (the schema file at start, or DEFINE).
    pub fn define(&mut self, script: &str) -> Result<(), ExecError> {
        let (next, changes) = planner::apply_script(&self.catalog, script)?;
        self.db.apply_changes(&changes)?;
        self.catalog = next;
        Ok(())
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

    fn execute_one(&mut self, stmt: &Statement, args: &[Bytes]) -> Result<RowsOrCount, ExecError> {
        let params = stmt.bind_args(args)?;
        self.executed += 1;
        let outcome = if stmt.is_read_only() {
            self.db.query(stmt, &params)?
        } else {
            self.db.execute(stmt, &params, &mut self.undo)?
        };
        Ok(present_reals(stmt, outcome))
    }

    fn transaction(&mut self, items: Vec<QueuedExecute>) -> Outcome {
        let mut results = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let step = self.statement(&item.name).and_then(|stmt| self.execute_one(&stmt, &item.args));
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
}

/// REAL columns are computed in `f32` but held as `f64`; show them as
/// PostgreSQL shows a real.
fn present_reals(stmt: &Statement, outcome: RowsOrCount) -> RowsOrCount {
    let reals: Vec<usize> =
        stmt.columns.iter().enumerate().filter(|(_, c)| c.ty == DataType::Real).map(|(i, _)| i).collect();
    match outcome {
        RowsOrCount::Rows(mut rows) if !reals.is_empty() => {
            for row in &mut rows {
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
