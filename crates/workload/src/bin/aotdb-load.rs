//! Load generator for the decision workload against a running aotdb:
//!
//! - `load`: loads the dataset (shared CSVs or generated) through EXECUTE,
//!   pipelined, and reports rows per second;
//! - `writes`: N clients insert payments one at a time; throughput and
//!   latency percentiles;
//! - `decisions`: N clients run whole decisions (the six reads pipelined in
//!   one round trip, the rule, the writes in one MULTI); decisions per
//!   second and latency percentiles;
//! - `probe`: one client runs a point read in a loop and reports the
//!   longest wait (for measuring stalls, e.g. during BGSAVE).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use aotdb_workload::{decide, Dataset, Reads, Rng, Zipf, T0};
use clap::{Parser, Subcommand};
use redis::Value;

#[derive(Parser)]
#[command(name = "aotdb-load", about = "Load generator for the decision workload")]
struct Cli {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 6379)]
    port: u16,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load the dataset through EXECUTE.
    Load {
        /// Fraction of the full dataset (generated when below 1).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Repository root (to find ../shared/workloads/decisions/data).
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// Load only these tables (comma-separated), e.g. `accounts`.
        #[arg(long, value_delimiter = ',')]
        tables: Vec<String>,
    },
    /// Insert payments, one per request, from many clients.
    Writes {
        #[arg(long, default_value_t = 50)]
        clients: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Accounts and merchants to pick from (must exist).
        #[arg(long, default_value_t = 100_000)]
        accounts: u64,
        #[arg(long, default_value_t = 5_000)]
        merchants: u64,
    },
    /// Run whole decisions from many clients.
    Decisions {
        /// `pipeline`: reads in one round trip, writes in one MULTI;
        /// `function`: one FCALL of examples/decision.lua per decision.
        #[arg(long, default_value = "pipeline")]
        mode: String,
        #[arg(long, default_value_t = 50)]
        clients: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 100_000)]
        accounts: u64,
        #[arg(long, default_value_t = 5_000)]
        merchants: u64,
    },
    /// Point reads in a loop; reports the longest wait.
    Probe {
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

fn connect(url: &str) -> redis::Connection {
    redis::Client::open(url).and_then(|c| c.get_connection()).unwrap_or_else(|e| {
        eprintln!("cannot connect to {url}: {e}");
        std::process::exit(1)
    })
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn report(what: &str, count: u64, elapsed: Duration, mut latencies: Vec<u64>) {
    latencies.sort_unstable();
    println!(
        "{what}/s={:.0} p50_ms={:.3} p99_ms={:.3} p999_ms={:.3} max_ms={:.3} count={count}",
        count as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 0.999),
        latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
    );
}

fn main() {
    let cli = Cli::parse();
    let url = format!("redis://{}:{}/", cli.host, cli.port);
    match cli.command {
        Command::Load { scale, root, tables } => load(&url, scale, &root, &tables),
        Command::Writes { clients, seconds, accounts, merchants } => {
            writes(&url, clients, seconds, accounts, merchants)
        }
        Command::Decisions { mode, clients, seconds, accounts, merchants } => match mode.as_str() {
            "pipeline" => decisions(&url, clients, seconds, accounts, merchants),
            "function" => decisions_by_function(&url, clients, seconds, accounts, merchants),
            other => {
                eprintln!("unknown --mode {other}: use pipeline or function");
                std::process::exit(2)
            }
        },
        Command::Probe { seconds } => probe(&url, seconds),
    }
}

fn load(url: &str, scale: f64, root: &std::path::Path, tables: &[String]) {
    let mut dataset = Dataset::load_or_generate(root, scale);
    let wanted = |t: &str| tables.is_empty() || tables.iter().any(|x| x == t);
    if !wanted("accounts") {
        dataset.accounts.clear();
    }
    if !wanted("merchants") {
        dataset.merchants.clear();
    }
    if !wanted("payments") {
        dataset.payments.clear();
    }
    if !wanted("decisions") {
        dataset.decisions.clear();
    }
    eprintln!("dataset: {} ({} rows)", dataset.source, dataset.rows());
    let mut con = connect(url);
    let start = Instant::now();
    let mut pipe = redis::pipe();
    let mut queued = 0;
    let flush = |pipe: &mut redis::Pipeline, queued: &mut usize, con: &mut redis::Connection| {
        if *queued == 0 {
            return;
        }
        let replies: Vec<Value> = pipe.query(con).unwrap_or_else(|e| panic!("load failed: {e}"));
        if let Some(bad) = replies.iter().find(|v| matches!(v, Value::ServerError(_))) {
            panic!("load failed: {bad:?}");
        }
        pipe.clear();
        *queued = 0;
    };
    for a in &dataset.accounts {
        pipe.cmd("EXECUTE").arg("add_account").arg(a.id).arg(&a.name).arg(&a.region).arg(a.credit_limit);
        if a.frozen {
            pipe.cmd("EXECUTE").arg("freeze_account").arg(a.id);
        }
        queued += 1;
        if queued >= 2000 {
            flush(&mut pipe, &mut queued, &mut con);
        }
    }
    for m in &dataset.merchants {
        pipe.cmd("EXECUTE").arg("add_merchant").arg(m.id).arg(&m.name).arg(&m.category).arg(m.risk_score);
        queued += 1;
        if queued >= 2000 {
            flush(&mut pipe, &mut queued, &mut con);
        }
    }
    for p in &dataset.payments {
        pipe.cmd("EXECUTE")
            .arg("record_payment")
            .arg(p.id)
            .arg(p.account_id)
            .arg(p.merchant_id)
            .arg(p.amount)
            .arg(p.created_at)
            .arg(&p.status);
        queued += 1;
        if queued >= 2000 {
            flush(&mut pipe, &mut queued, &mut con);
        }
    }
    for d in &dataset.decisions {
        let reason = d.reason.clone().unwrap_or_else(|| "\\N".into());
        pipe.cmd("EXECUTE")
            .arg("record_decision")
            .arg(d.id)
            .arg(d.payment_id)
            .arg(d.account_id)
            .arg(&d.outcome)
            .arg(reason)
            .arg(d.created_at);
        queued += 1;
        if queued >= 2000 {
            flush(&mut pipe, &mut queued, &mut con);
        }
    }
    flush(&mut pipe, &mut queued, &mut con);
    let took = start.elapsed();
    println!(
        "loaded rows={} seconds={:.2} rows/s={:.0} csv_bytes={}",
        dataset.rows(),
        took.as_secs_f64(),
        dataset.rows() as f64 / took.as_secs_f64(),
        dataset.csv_bytes()
    );
}

/// Fresh ids: far above the dataset's, distinct per client and run.
fn id_base(client: usize) -> i64 {
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
        as i64
        % 100_000;
    10_000_000_000 + run * 10_000_000_000 + client as i64 * 100_000_000
}

fn run_clients(
    url: &str,
    clients: usize,
    seconds: u64,
    body: impl Fn(usize, &mut redis::Connection, &mut Rng, i64) + Send + Sync + 'static,
) -> (u64, Duration, Vec<u64>) {
    let body = Arc::new(body);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicI64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (url, body, stop, count) = (url.to_string(), body.clone(), stop.clone(), count.clone());
            thread::spawn(move || {
                let mut con = connect(&url);
                let mut rng = Rng::new(c as u64 + 1);
                let mut latencies = Vec::new();
                let mut n = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    body(c, &mut con, &mut rng, n);
                    latencies.push(t.elapsed().as_micros() as u64);
                    n += 1;
                }
                count.fetch_add(n, Ordering::Relaxed);
                latencies
            })
        })
        .collect();
    thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().unwrap_or_default());
    }
    (count.load(Ordering::Relaxed) as u64, start.elapsed(), all)
}

fn writes(url: &str, clients: usize, seconds: u64, accounts: u64, merchants: u64) {
    let (n, took, lat) = run_clients(url, clients, seconds, move |c, con, rng, i| {
        let id = id_base(c) + i;
        let a = rng.below(accounts) + 1;
        let m = rng.below(merchants) + 1;
        let r: redis::RedisResult<Value> = redis::cmd("EXECUTE")
            .arg("record_payment")
            .arg(id)
            .arg(a)
            .arg(m)
            .arg(1 + rng.below(2000))
            .arg(T0 + i)
            .arg("approved")
            .query(con);
        if let Err(e) = r {
            panic!("write failed: {e}");
        }
    });
    report("writes", n, took, lat);
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::BulkString(b) => std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()).unwrap_or(0),
        _ => 0,
    }
}

fn rows(v: &Value) -> Vec<Vec<Value>> {
    match v {
        Value::Array(rows) => {
            rows.iter().map(|r| if let Value::Array(x) = r { x.clone() } else { vec![r.clone()] }).collect()
        }
        _ => Vec::new(),
    }
}

fn decisions(url: &str, clients: usize, seconds: u64, accounts: u64, merchants: u64) {
    let account_pick = Arc::new(Zipf::new(accounts, 1.1));
    let merchant_pick = Arc::new(Zipf::new(merchants, 1.1));
    let (n, took, lat) = run_clients(url, clients, seconds, move |c, con, rng, i| {
        let a = account_pick.sample(rng) as i64;
        let m = merchant_pick.sample(rng) as i64;
        let u = rng.unit();
        let amount = 1 + (2000.0 * u * u) as i64;
        let t = T0 + 1_000_000 + i;
        let mut reads = redis::pipe();
        reads
            .cmd("EXECUTE")
            .arg("account_by_id")
            .arg(a)
            .cmd("EXECUTE")
            .arg("merchant_risk")
            .arg(m)
            .cmd("EXECUTE")
            .arg("spend_since")
            .arg(a)
            .arg(t - 86_400)
            .cmd("EXECUTE")
            .arg("spend_by_category")
            .arg(a)
            .cmd("EXECUTE")
            .arg("top_merchants")
            .arg(a)
            .cmd("EXECUTE")
            .arg("recent_decisions")
            .arg(a);
        let got: Vec<Value> = reads.query(con).unwrap_or_else(|e| panic!("reads failed: {e}"));
        let acc = rows(&got[0]);
        let r = Reads {
            frozen: acc.first().is_some_and(|r| matches!(r.get(4), Some(Value::Int(1)) | Some(Value::Boolean(true)))),
            credit_limit: acc.first().map(|r| int(&r[3])).unwrap_or(0),
            spent_today: rows(&got[2]).first().map(|r| int(&r[1])).unwrap_or(0),
            risk_score: rows(&got[1]).first().map(|r| int(&r[1])).unwrap_or(0),
            merchant_is_top: rows(&got[4]).iter().any(|r| int(&r[0]) == m),
            recent_declines: rows(&got[5])
                .iter()
                .filter(|r| matches!(&r[1], Value::BulkString(b) if b == b"decline"))
                .count(),
            approved_count: rows(&got[3]).iter().map(|r| int(&r[1])).sum(),
        };
        let out = decide(&r, amount);
        let id = id_base(c) + i;
        let mut writes = redis::pipe();
        writes.atomic();
        writes
            .cmd("EXECUTE")
            .arg("record_payment")
            .arg(id)
            .arg(a)
            .arg(m)
            .arg(amount)
            .arg(t)
            .arg(if out.outcome == "approve" { "approved" } else { "declined" });
        writes
            .cmd("EXECUTE")
            .arg("record_decision")
            .arg(id)
            .arg(id)
            .arg(a)
            .arg(out.outcome)
            .arg(out.reason.unwrap_or("\\N"))
            .arg(t);
        if out.freeze {
            writes.cmd("EXECUTE").arg("freeze_account").arg(a);
        }
        if let Some(limit) = out.new_credit_limit {
            writes.cmd("EXECUTE").arg("set_credit_limit").arg(a).arg(limit);
        }
        let _: Value = writes.query(con).unwrap_or_else(|e| panic!("writes failed: {e}"));
    });
    report("decisions", n, took, lat);
}

/// Whole decisions as one FCALL each (examples/decision.lua, loaded by
/// this command).
fn decisions_by_function(url: &str, clients: usize, seconds: u64, accounts: u64, merchants: u64) {
    let code = include_str!("../../../../examples/decision.lua");
    let mut con = connect(url);
    let _: Value = redis::cmd("FUNCTION").arg("LOAD").arg("REPLACE").arg(code).query(&mut con).unwrap_or_else(|e| {
        eprintln!("cannot load examples/decision.lua: {e}");
        std::process::exit(1)
    });
    let account_pick = Arc::new(Zipf::new(accounts, 1.1));
    let merchant_pick = Arc::new(Zipf::new(merchants, 1.1));
    let (n, took, lat) = run_clients(url, clients, seconds, move |c, con, rng, i| {
        let a = account_pick.sample(rng);
        let m = merchant_pick.sample(rng);
        let u = rng.unit();
        let amount = 1 + (2000.0 * u * u) as i64;
        let id = id_base(c) + i;
        let r: redis::RedisResult<Value> = redis::cmd("FCALL")
            .arg("decide")
            .arg(0)
            .arg(id)
            .arg(a)
            .arg(m)
            .arg(amount)
            .arg(T0 + 1_000_000 + i)
            .query(con);
        if let Err(e) = r {
            panic!("decision failed: {e}");
        }
    });
    report("decisions", n, took, lat);
}

fn probe(url: &str, seconds: u64) {
    let mut con = connect(url);
    let start = Instant::now();
    let mut lat = Vec::new();
    while start.elapsed() < Duration::from_secs(seconds) {
        let t = Instant::now();
        let _: Value = redis::cmd("EXECUTE").arg("account_by_id").arg(1).query(&mut con).unwrap_or(Value::Nil);
        lat.push(t.elapsed().as_micros() as u64);
    }
    let n = lat.len() as u64;
    report("probes", n, start.elapsed(), lat);
}
