//! INFO: the server's state as `field:value` lines in `# Section`s, in the
//! format Redis tools parse.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::alloc;
use crate::executor::ExecutorInfo;
use crate::server::Shared;

const SECTIONS: &[&str] = &["server", "clients", "memory", "persistence", "stats", "commandstats", "tables"];

/// Which sections a request asks for (none, `default`, `all` or
/// `everything` mean all of them).
pub fn wanted_sections(args: &[bytes::Bytes]) -> Vec<&'static str> {
    let asked: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
    if asked.is_empty() || asked.iter().any(|a| a == "all" || a == "everything" || a == "default") {
        return SECTIONS.to_vec();
    }
    SECTIONS.iter().copied().filter(|s| asked.iter().any(|a| a == s)).collect()
}

fn human(bytes: usize) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else {
        format!("{bytes}B")
    }
}

pub fn render(shared: &Shared, executor: &ExecutorInfo, sections: &[&str]) -> String {
    let mut out = String::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        // Writing to a String cannot fail.
        let _ = render_section(&mut out, section, shared, executor);
    }
    out
}

fn render_section(out: &mut String, section: &str, shared: &Shared, executor: &ExecutorInfo) -> std::fmt::Result {
    match section {
        "server" => {
            write!(out, "# Server\r\n")?;
            // Client libraries read redis_version to pick protocol
            // features; aotdb speaks the RESP2/RESP3 of Redis 7.
            write!(out, "redis_version:7.2.0\r\n")?;
            write!(out, "aotdb_version:{}\r\n", env!("CARGO_PKG_VERSION"))?;
            write!(out, "redis_mode:standalone\r\n")?;
            write!(out, "os:{} {}\r\n", std::env::consts::OS, std::env::consts::ARCH)?;
            write!(out, "process_id:{}\r\n", std::process::id())?;
            write!(out, "tcp_port:{}\r\n", shared.local_addr.port())?;
            let uptime = shared.started.elapsed().as_secs();
            write!(out, "uptime_in_seconds:{uptime}\r\n")?;
            write!(out, "uptime_in_days:{}\r\n", uptime / 86400)?;
            write!(
                out,
                "executable:{}\r\n",
                std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default()
            )?;
            let schema = shared.config.schema.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            write!(out, "schema_file:{schema}\r\n")?;
        }
        "clients" => {
            write!(out, "# Clients\r\n")?;
            write!(out, "connected_clients:{}\r\n", shared.clients.count())?;
            write!(out, "maxclients:{}\r\n", shared.config.max_clients)?;
        }
        "memory" => {
            write!(out, "# Memory\r\n")?;
            let used = alloc::bytes_in_use();
            write!(out, "used_memory:{used}\r\n")?;
            write!(out, "used_memory_human:{}\r\n", human(used))?;
            if let Some(rss) = alloc::resident_bytes() {
                write!(out, "used_memory_rss:{rss}\r\n")?;
                write!(out, "used_memory_rss_human:{}\r\n", human(rss))?;
            }
            let rows: usize = executor.tables.iter().map(|t| t.approximate_bytes).sum();
            write!(out, "used_memory_tables_estimate:{rows}\r\n")?;
        }
        "persistence" => {
            write!(out, "# Persistence\r\n")?;
            write!(out, "persistence:none\r\n")?;
            write!(out, "loading:0\r\n")?;
        }
        "stats" => {
            write!(out, "# Stats\r\n")?;
            let s = &shared.stats;
            write!(out, "total_connections_received:{}\r\n", s.connections_received.load(Ordering::Relaxed))?;
            write!(out, "rejected_connections:{}\r\n", s.connections_rejected.load(Ordering::Relaxed))?;
            write!(out, "total_commands_processed:{}\r\n", s.commands_processed.load(Ordering::Relaxed))?;
            write!(out, "total_protocol_errors:{}\r\n", s.protocol_errors.load(Ordering::Relaxed))?;
            write!(out, "statements_registered:{}\r\n", executor.statements)?;
            write!(out, "statements_executed:{}\r\n", executor.executed)?;
            write!(out, "rollbacks:{}\r\n", executor.rolled_back)?;
        }
        "commandstats" => {
            write!(out, "# Commandstats\r\n")?;
            for (name, calls, failed) in shared.stats.command_counts() {
                write!(out, "cmdstat_{name}:calls={calls},failed_calls={failed}\r\n")?;
            }
        }
        "tables" => {
            write!(out, "# Tables\r\n")?;
            for t in &executor.tables {
                write!(out, "table_{}:rows={},bytes_estimate={}\r\n", t.name, t.rows, t.approximate_bytes)?;
            }
        }
        _ => {}
    }
    Ok(())
}
