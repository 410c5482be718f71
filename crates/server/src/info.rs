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

fn log_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_str().is_some_and(|n| n.ends_with(".aol")))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
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
            let c = &shared.config;
            write!(out, "maxclients:{}\r\n", c.max_clients)?;
            write!(out, "timeout:{}\r\n", c.timeout)?;
            write!(out, "client_output_buffer_limit:{}\r\n", c.client_output_buffer_limit)?;
            write!(out, "client_write_timeout:{}\r\n", c.client_write_timeout)?;
            write!(out, "proto_max_bulk_len:{}\r\n", c.max_bulk_bytes)?;
            write!(out, "client_query_buffer_limit:{}\r\n", c.max_request_bytes)?;
            write!(out, "max_reply_rows:{}\r\n", c.max_reply_rows)?;
            write!(out, "auth:{}\r\n", if shared.users.password_required() { "required" } else { "none" })?;
            write!(out, "users:{}\r\n", shared.users.len())?;
            write!(out, "protected_mode:{}\r\n", if c.protected_mode { "yes" } else { "no" })?;
            write!(out, "tls:{}\r\n", if c.tls_cert.is_some() { "yes" } else { "no" })?;
            write!(out, "tls_client_certificates:{}\r\n", if c.tls_ca.is_some() { "required" } else { "no" })?;
        }
        "memory" => {
            write!(out, "# Memory\r\n")?;
            let used = alloc::bytes_in_use();
            write!(out, "used_memory:{used}\r\n")?;
            write!(out, "used_memory_human:{}\r\n", human(used))?;
            write!(out, "maxmemory:{}\r\n", shared.config.maxmemory)?;
            write!(out, "maxmemory_human:{}\r\n", human(shared.config.maxmemory))?;
            if let Some(rss) = alloc::resident_bytes() {
                write!(out, "used_memory_rss:{rss}\r\n")?;
                write!(out, "used_memory_rss_human:{}\r\n", human(rss))?;
            }
            // Estimates from a sample of each table and structure; the
            // remainder (connections, buffers, the catalog, allocator slack)
            // is used_memory minus both.
            let rows: usize = executor.tables.iter().map(|t| t.approximate_bytes).sum();
            let derived: usize = executor.structures.iter().map(|s| s.approximate_bytes).sum();
            write!(out, "used_memory_tables_estimate:{rows}\r\n")?;
            write!(out, "used_memory_structures_estimate:{derived}\r\n")?;
            for t in &executor.tables {
                write!(out, "memory_table_{}:rows={},bytes_estimate={}\r\n", t.name, t.rows, t.approximate_bytes)?;
            }
            for s in &executor.structures {
                write!(
                    out,
                    "memory_structure_{}:kind={},entries={},bytes_estimate={}\r\n",
                    s.id,
                    s.kind.replace(' ', "_"),
                    s.entries,
                    s.approximate_bytes
                )?;
            }
        }
        "persistence" => {
            write!(out, "# Persistence\r\n")?;
            write!(out, "loading:0\r\n")?;
            let Some((stats, _, dir)) = &shared.persistence else {
                write!(out, "persistence:none\r\n")?;
                return Ok(());
            };
            write!(out, "persistence:log+snapshots\r\n")?;
            write!(out, "data_dir:{}\r\n", dir.display())?;
            write!(out, "fsync:{}\r\n", shared.config.fsync.name())?;
            let last = executor.last_seq.unwrap_or(0);
            let durable = shared.durability.as_ref().map(|d| d.durable_seq()).unwrap_or(0);
            write!(out, "log_last_seq:{last}\r\n")?;
            write!(out, "log_durable_seq:{durable}\r\n")?;
            write!(out, "pending_fsync:{}\r\n", last.saturating_sub(durable))?;
            write!(out, "log_bytes:{}\r\n", log_bytes(dir))?;
            write!(out, "log_bytes_since_snapshot:{}\r\n", stats.log_bytes_since_snapshot.load(Ordering::Relaxed))?;
            write!(out, "fsyncs:{}\r\n", stats.fsyncs.load(Ordering::Relaxed))?;
            write!(out, "last_fsync_usec:{}\r\n", stats.last_fsync_micros.load(Ordering::Relaxed))?;
            let snap = stats.snapshot();
            write!(out, "snapshot_in_progress:{}\r\n", snap.in_progress as u8)?;
            write!(out, "snapshots_taken:{}\r\n", snap.count)?;
            write!(out, "last_snapshot_time:{}\r\n", snap.last_unix)?;
            write!(out, "last_snapshot_duration_ms:{}\r\n", snap.last_duration_ms)?;
            write!(out, "last_snapshot_rows:{}\r\n", snap.last_rows)?;
            write!(out, "snapshot_longest_stall_usec:{}\r\n", stats.snapshot_max_step_micros.load(Ordering::Relaxed))?;
            let status = match (&snap.last_error, snap.count) {
                (Some(e), _) => format!("err ({e})"),
                (None, 0) => "none".into(),
                (None, _) => "ok".into(),
            };
            write!(out, "last_snapshot_status:{status}\r\n")?;
            let rec = stats.recovery();
            write!(
                out,
                "recovery_snapshot_seq:{}\r\n",
                rec.snapshot_seq.map(|s| s.to_string()).unwrap_or_else(|| "none".into())
            )?;
            write!(out, "recovery_snapshot_rows:{}\r\n", rec.rows)?;
            write!(out, "recovery_log_records:{}\r\n", rec.records)?;
            write!(out, "recovery_views_built_after_log:{}\r\n", rec.views_built_after_log)?;
            write!(out, "recovery_ms:{}\r\n", rec.millis)?;
        }
        "stats" => {
            write!(out, "# Stats\r\n")?;
            let s = &shared.stats;
            write!(out, "total_connections_received:{}\r\n", s.connections_received.load(Ordering::Relaxed))?;
            write!(out, "rejected_connections:{}\r\n", s.connections_rejected.load(Ordering::Relaxed))?;
            write!(out, "limit_disconnects:{}\r\n", s.limit_disconnects.load(Ordering::Relaxed))?;
            write!(out, "auth_failures:{}\r\n", s.auth_failures.load(Ordering::Relaxed))?;
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
            for s in &executor.structures {
                write!(out, "structure_{}:kind={},entries={}\r\n", s.id, s.kind.replace(' ', "_"), s.entries)?;
            }
        }
        _ => {}
    }
    Ok(())
}
