//! Command line and environment: every flag can also be given as an
//! `AOTDB_*` environment variable.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser};

use crate::durability::FsyncPolicy;

#[derive(Debug, Parser)]
#[command(
    name = "aotdb",
    version,
    about = "aotdb: an ahead-of-time SQL database that speaks the Redis protocol",
    long_about = "aotdb: an ahead-of-time SQL database that speaks the Redis protocol.\n\n\
        Declare tables and every statement the application runs in a PostgreSQL-dialect \
        schema file, start the server on it, and run the statements by name with \
        `EXECUTE name arg ...` from redis-cli or any Redis client.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Subcommand>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum Subcommand {
    /// Run the server (the default when no subcommand is given).
    Serve(Box<ServeArgs>),
    /// The capacity planner: print every statement's plan and cost class
    /// and the memory its structures need at the given table sizes,
    /// without starting a server.
    Explain(ExplainArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// Schema file to plan.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Table size to plan memory for, as table=N; repeat for each table.
    #[arg(long = "rows", value_name = "TABLE=N")]
    pub rows: Vec<String>,

    /// Plan statements that need scans instead of refusing them.
    #[arg(long)]
    pub allow_scans: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on. Use 0.0.0.0 to accept connections from other
    /// machines.
    #[arg(long, env = "AOTDB_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// TCP port to listen on (0 picks a free port and logs it).
    #[arg(long, env = "AOTDB_PORT", default_value_t = 6379)]
    pub port: u16,

    /// Schema file: CREATE TABLE and PREPARE statements in PostgreSQL's
    /// dialect, applied at start. Without one the server starts empty and
    /// tables and statements can be added with DEFINE and PREPARE.
    #[arg(long, env = "AOTDB_SCHEMA", value_name = "FILE")]
    pub schema: Option<PathBuf>,

    /// Directory for the command log and snapshots. On start the server
    /// recovers what it holds; only one server may use it at a time.
    #[arg(long, env = "AOTDB_DATA_DIR", value_name = "DIR", default_value = "aotdb-data")]
    pub data_dir: PathBuf,

    /// Keep everything in memory only: no command log, no snapshots, all
    /// data lost when the server stops.
    #[arg(long, env = "AOTDB_IN_MEMORY")]
    pub in_memory: bool,

    /// When a write is durable before its reply: `always` (reply after the
    /// fsync that covers it; one fsync covers every write that arrived
    /// meanwhile), `everysec` (reply at once, fsync every second: a machine
    /// crash can lose about the last second of writes), `no` (the OS
    /// decides when to flush).
    #[arg(long, env = "AOTDB_FSYNC", value_enum, default_value = "always")]
    pub fsync: FsyncPolicy,

    /// Take a snapshot (and drop the log before it) when this many bytes
    /// were logged since the last one; 0 turns automatic snapshots off.
    #[arg(long, env = "AOTDB_SNAPSHOT_AFTER_LOG_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub snapshot_after_log_bytes: u64,

    /// If the command log is damaged before its end, cut it at the damage
    /// and start (the writes after it are lost) instead of refusing to
    /// start.
    #[arg(long, env = "AOTDB_TRUNCATE_DAMAGED_LOG")]
    pub truncate_damaged_log: bool,

    /// Register statements that can only be answered by scanning a table
    /// (EXPLAIN shows them as O(n)) instead of refusing them.
    #[arg(long, env = "AOTDB_ALLOW_SCANS")]
    pub allow_scans: bool,

    /// Longest a function (FCALL) may run before it is stopped and rolled
    /// back, in milliseconds.
    #[arg(long, env = "AOTDB_FUNCTION_BUDGET_MS", default_value_t = 500)]
    pub function_budget_ms: u64,

    /// Threads for network I/O; 0 runs the network and the executor on one
    /// thread, as Redis does. Default: 0 on machines with up to two cores,
    /// else the number of cores minus one (the executor has its own).
    #[arg(long, env = "AOTDB_IO_THREADS")]
    pub io_threads: Option<usize>,

    /// Log filter: error, warn, info, debug, trace, or a tracing
    /// directive such as `aotdb=debug`.
    #[arg(long, env = "AOTDB_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Most simultaneous client connections; more are refused with
    /// `-ERR max number of clients reached`.
    #[arg(long, env = "AOTDB_MAX_CLIENTS", default_value_t = 10_000)]
    pub max_clients: usize,

    /// Largest bulk string argument a client may send, in bytes.
    #[arg(long, env = "AOTDB_MAX_BULK_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub max_bulk_bytes: usize,

    /// Largest request a client may send, in bytes.
    #[arg(long, env = "AOTDB_MAX_REQUEST_BYTES", default_value_t = 1024 * 1024 * 1024)]
    pub max_request_bytes: usize,

    /// Password of the `default` user (an admin): clients must AUTH with
    /// it (or HELLO 3 AUTH default <password>) before anything else.
    #[arg(long, env = "AOTDB_REQUIREPASS", value_name = "PASSWORD", hide_env_values = true)]
    pub requirepass: Option<String>,

    /// File of users and their roles, one per line:
    /// `name password admin|readwrite|readonly|statements [name ...]`.
    #[arg(long, env = "AOTDB_USERS", value_name = "FILE")]
    pub users: Option<PathBuf>,

    /// Protected mode, as Redis: when bound to a non-loopback address
    /// with no password set, refuse clients that are not on loopback
    /// (with an explanation) instead of serving the whole network.
    #[arg(long, env = "AOTDB_PROTECTED_MODE", value_name = "yes|no", default_value = "yes", value_parser = parse_yes_no)]
    pub protected_mode: bool,

    /// Refuse writes (with `-OOM`) while the server's memory exceeds this
    /// many bytes; reads go on. 0: no limit.
    #[arg(long, env = "AOTDB_MAXMEMORY", value_name = "BYTES", default_value_t = 0)]
    pub maxmemory: usize,

    /// Most rows one statement may return; a larger result is an error
    /// (`-TOOMANYROWS`). 0: no limit.
    #[arg(long, env = "AOTDB_MAX_REPLY_ROWS", default_value_t = 1_000_000)]
    pub max_reply_rows: usize,

    /// Close a connection that sent nothing for this many seconds. 0: never.
    #[arg(long, env = "AOTDB_TIMEOUT", value_name = "SECONDS", default_value_t = 0)]
    pub timeout: u64,

    /// Close a connection whose pending replies exceed this many bytes (a
    /// client that pipelines requests without reading their replies).
    #[arg(long, env = "AOTDB_CLIENT_OUTPUT_BUFFER_LIMIT", value_name = "BYTES", default_value_t = 256 * 1024 * 1024)]
    pub client_output_buffer_limit: usize,

    /// Close a connection that has not taken its replies for this many
    /// seconds (a client that stopped reading).
    #[arg(long, env = "AOTDB_CLIENT_WRITE_TIMEOUT", value_name = "SECONDS", default_value_t = 60)]
    pub client_write_timeout: u64,

    /// Serve TLS only, with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "AOTDB_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "AOTDB_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Require clients to present a certificate signed by this CA (PEM).
    #[arg(long, env = "AOTDB_TLS_CA", value_name = "FILE", requires = "tls_cert")]
    pub tls_ca: Option<PathBuf>,
}

fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" => Ok(true),
        "no" | "false" | "off" => Ok(false),
        _ => Err(format!("expected yes or no, got {s:?}")),
    }
}
