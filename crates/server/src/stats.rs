//! Server-wide counters for INFO: connections and commands, updated with
//! relaxed atomics from every connection task.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every command name INFO's commandstats section counts.
const COMMAND_NAMES: &[&str] = &[
    "acl",
    "auth",
    "bgsave",
    "client",
    "command",
    "config",
    "dbsize",
    "deallocate",
    "define",
    "discard",
    "echo",
    "exec",
    "execute",
    "explain",
    "hello",
    "info",
    "multi",
    "ping",
    "prepare",
    "quit",
    "reset",
    "save",
    "select",
    "shutdown",
    "unwatch",
    "watch",
];

#[derive(Debug, Default)]
pub struct CommandCounter {
    pub calls: AtomicU64,
    pub failed: AtomicU64,
}

#[derive(Debug)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub connections_rejected: AtomicU64,
    pub commands_processed: AtomicU64,
    pub protocol_errors: AtomicU64,
    /// Connections closed for a limit: idle timeout, output buffer, a
    /// client that stopped reading.
    pub limit_disconnects: AtomicU64,
    /// AUTH and HELLO AUTH attempts that failed.
    pub auth_failures: AtomicU64,
    commands: BTreeMap<&'static str, CommandCounter>,
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            connections_received: AtomicU64::new(0),
            connections_rejected: AtomicU64::new(0),
            commands_processed: AtomicU64::new(0),
            protocol_errors: AtomicU64::new(0),
            limit_disconnects: AtomicU64::new(0),
            auth_failures: AtomicU64::new(0),
            commands: COMMAND_NAMES.iter().map(|&n| (n, CommandCounter::default())).collect(),
        }
    }

    /// Counts one call of `command`; `failed` if its reply was an error.
    pub fn record(&self, command: &str, failed: bool) {
        self.commands_processed.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = self.commands.get(command) {
            c.calls.fetch_add(1, Ordering::Relaxed);
            if failed {
                c.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// (name, calls, failed) for every command called at least once.
    pub fn command_counts(&self) -> Vec<(&'static str, u64, u64)> {
        self.commands
            .iter()
            .map(|(n, c)| (*n, c.calls.load(Ordering::Relaxed), c.failed.load(Ordering::Relaxed)))
            .filter(|(_, calls, _)| *calls > 0)
            .collect()
    }
}
