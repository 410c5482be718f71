//! Start-up, the accept loop and shutdown. The schema file is applied
//! before the port opens, so a client never sees a half-defined catalog.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use aotdb_planner::Catalog;
use aotdb_proto::{encode, Limits, Protocol, Reply};
use aotdb_storage::Database;
use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

use crate::auth::Users;
use crate::clients::Clients;
use crate::config::ServeArgs;
use crate::connection;
use crate::durability::{recovery, DataDir, Durability, LogHandle, PersistenceStats, SnapshotWriter};
use crate::executor::{ExecLimits, Executor, ExecutorHandle, Persistence};
use crate::stats::Stats;
use std::sync::atomic::AtomicBool;

/// State every connection task shares.
pub struct Shared {
    /// Replies to writes wait on it (with --fsync always).
    pub durability: Option<Durability>,
    /// Figures for INFO, the SHUTDOWN SAVE switch and the data directory.
    pub persistence: Option<(Arc<PersistenceStats>, Arc<AtomicBool>, std::path::PathBuf)>,
    pub config: ServeArgs,
    pub limits: Limits,
    pub stats: Stats,
    pub clients: Clients,
    pub executor: ExecutorHandle,
    pub started: Instant,
    pub local_addr: SocketAddr,
    pub users: Users,
    shutdown: watch::Sender<bool>,
}

impl Shared {
    pub fn request_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

pub fn run(args: ServeArgs) -> ExitCode {
    let filter = EnvFilter::try_new(&args.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();

    let mut executor = match Executor::new(
        Catalog::new(),
        Database::new(),
        args.allow_scans,
        std::time::Duration::from_millis(args.function_budget_ms),
    ) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start the function engine: {e}");
            return ExitCode::FAILURE;
        }
    };
    let persistence = if args.in_memory {
        tracing::warn!("running --in-memory: nothing is persisted, all data is lost when the server stops");
        None
    } else {
        match open_persistence(&args, &mut executor) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    if let Some(path) = &args.schema {
        let script = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot read schema file {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        };
        let applied = if persistence.is_some() {
            executor.reconcile_schema(&script).map(|added| {
                if added > 0 {
                    tracing::info!(added, "schema file: new tables and statements added");
                }
            })
        } else {
            executor.define(&script)
        };
        if let Err(e) = applied {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }

    executor.set_limits(ExecLimits { max_memory: args.maxmemory, max_reply_rows: args.max_reply_rows });
    let io_threads = args.io_threads.unwrap_or_else(default_io_threads);
    if io_threads == 0 {
        // One thread for everything, as Redis: no hand-off between threads.
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        let (handle, inline) = executor.inline();
        let result = runtime.block_on(async {
            let background = tokio::spawn(inline.clone().background());
            let result = serve(args, handle, persistence.as_ref()).await;
            background.abort();
            result
        });
        drop(runtime);
        inline.stop();
        return finish(result);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(io_threads).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (handle, executor_thread) = match executor.spawn() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: cannot start the executor thread: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(serve(args, handle, persistence.as_ref()));
    // Dropping the runtime drops every connection and with them the last
    // executor handles, which ends the executor thread.
    drop(runtime);
    let _ = executor_thread.join();
    finish(result)
}

/// Network threads when --io-threads is not given. On a machine with two
/// cores or fewer, one thread runs both the network and the executor
/// (threads handing work to each other cost more than they win there);
/// with more, the executor has a core of its own and the network threads
/// share the rest.
fn default_io_threads() -> usize {
    match std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) {
        n if n <= 2 => 0,
        n => n - 1,
    }
}

fn finish(result: std::io::Result<()>) -> ExitCode {
    match result {
        Ok(()) => {
            tracing::info!("aotdb stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What connections need of persistence.
pub struct PersistenceView {
    pub dir: DataDir,
    pub durability: Durability,
    pub stats: Arc<PersistenceStats>,
    pub save_on_exit: Arc<AtomicBool>,
}

/// Opens the data directory, recovers what it holds into `executor`, and
/// starts the log and snapshot writers.
fn open_persistence(args: &ServeArgs, executor: &mut Executor) -> Result<PersistenceView, String> {
    let dir = DataDir::open(&args.data_dir).map_err(|e| format!("data directory {}: {e}", args.data_dir.display()))?;
    let stats = Arc::new(PersistenceStats::default());
    let recovered = recovery::recover(&dir, executor, args.truncate_damaged_log)?;
    let info = recovered.info.clone();
    let rate = ((info.rows + info.records) * 1000).checked_div(info.millis).unwrap_or(0);
    tracing::info!(
        data_dir = %dir.path.display(),
        snapshot_rows = info.rows,
        log_records = info.records,
        millis = info.millis,
        rows_per_second = rate,
        "recovered"
    );
    stats.set_recovery(info);
    let (log, durability) = LogHandle::start(
        dir.path.clone(),
        recovered.log,
        recovered.log_first_seq,
        recovered.last_seq,
        args.fsync,
        stats.clone(),
    )
    .map_err(|e| format!("cannot start the log writer: {e}"))?;
    let snapshots = SnapshotWriter::start(dir.path.clone(), stats.clone())
        .map_err(|e| format!("cannot start the snapshot writer: {e}"))?;
    let save_on_exit = Arc::new(AtomicBool::new(false));
    executor.attach_persistence(Persistence {
        log,
        snapshots,
        stats: stats.clone(),
        auto_snapshot_bytes: args.snapshot_after_log_bytes,
        save_on_exit: save_on_exit.clone(),
    });
    Ok(PersistenceView { dir, durability, stats, save_on_exit })
}

async fn serve(
    args: ServeArgs,
    executor: ExecutorHandle,
    persistence: Option<&PersistenceView>,
) -> std::io::Result<()> {
    let listener = TcpListener::bind((args.bind, args.port))
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {}:{}: {e}", args.bind, args.port)))?;
    let local_addr = listener.local_addr()?;
    let users = Users::configure(args.requirepass.as_deref(), args.users.as_deref())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            crate::tls::acceptor(cert, key, args.tls_ca.as_deref())
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        ),
        _ => None,
    };
    let protect = args.protected_mode && !users.password_required() && !args.bind.is_loopback();
    if protect {
        tracing::warn!(
            "protected mode: bound to {} with no password, so only loopback clients are served; \
             set --requirepass or --users, or --protected-mode no",
            args.bind
        );
    }
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let limits =
        Limits { max_bulk_len: args.max_bulk_bytes, max_request_len: args.max_request_bytes, ..Limits::default() };
    let shared = Arc::new(Shared {
        durability: persistence.map(|p| p.durability.clone()),
        persistence: persistence.map(|p| (p.stats.clone(), p.save_on_exit.clone(), p.dir.path.clone())),
        config: args,
        limits,
        stats: Stats::new(),
        clients: Clients::new(),
        executor,
        started: Instant::now(),
        local_addr,
        users,
        shutdown: shutdown_tx,
    });
    // Tests and scripts wait for this exact line to learn the port.
    tracing::info!("aotdb {} ready to accept connections on {local_addr}", env!("CARGO_PKG_VERSION"));

    let mut stop = shutdown_rx.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a
                        // little rather than spin.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                shared.stats.connections_received.fetch_add(1, Ordering::Relaxed);
                if protect && !peer.ip().is_loopback() {
                    shared.stats.connections_rejected.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(deny(stream, Reply::error("DENIED", PROTECTED_MODE_MESSAGE)));
                    continue;
                }
                let local = stream.local_addr().unwrap_or(local_addr);
                let Some(id) = shared.clients.register(peer, local, shared.config.max_clients) else {
                    shared.stats.connections_rejected.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(refuse(stream));
                    continue;
                };
                let shared = shared.clone();
                let rx = shutdown_rx.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    match tls {
                        None => connection::serve(stream, peer, id, shared.clone(), rx).await,
                        Some(acceptor) => {
                            match tokio::time::timeout(TLS_HANDSHAKE_TIME, acceptor.accept(stream)).await {
                                Ok(Ok(stream)) => connection::serve(stream, peer, id, shared.clone(), rx).await,
                                Ok(Err(e)) => tracing::debug!(client = id, %peer, error = %e, "TLS handshake failed"),
                                Err(_) => tracing::debug!(client = id, %peer, "TLS handshake timed out"),
                            }
                        }
                    }
                    shared.clients.unregister(id);
                });
            }
            _ = stop.changed() => break,
            _ = shutdown_signal() => {
                tracing::info!("signal received, shutting down");
                shared.request_shutdown();
                break;
            }
        }
    }
    Ok(())
}

/// Longest a client may take to complete the TLS handshake.
const TLS_HANDSHAKE_TIME: std::time::Duration = std::time::Duration::from_secs(10);

async fn refuse(stream: tokio::net::TcpStream) {
    deny(stream, Reply::error("ERR", "max number of clients reached")).await
}

const PROTECTED_MODE_MESSAGE: &str =
    "aotdb is running in protected mode: it is bound to a non-loopback address and no password is set, \
     so only clients on the loopback interface are served. To serve this client: set a password with \
     --requirepass (or users with --users) and restart, or restart with --protected-mode no if the network is \
     trusted, or bind to a loopback address.";

/// Answers a connection that will not be served, then closes it.
async fn deny(mut stream: tokio::net::TcpStream, reply: Reply) {
    let mut out = BytesMut::new();
    encode(&reply, Protocol::Resp2, &mut out);
    let _ = stream.write_all(&out).await;
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            std::future::pending::<()>().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
