//! In-process benchmarks of the decision workload at full size: every read
//! and write statement and a whole decision on aotdb's planner and storage
//! (no network), and the same SQL on SQLite (in memory, prepared
//! statements, the indexes a careful DBA would add) in the same run.
//!
//! `cargo bench --bench decisions` (reads ../shared's CSVs when present;
//! otherwise generates the same distribution). `AOTDB_BENCH_SCALE=0.1`
//! runs on a tenth of the data.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aotdb_planner::{apply_script, Catalog, Statement, Value};
use aotdb_storage::{Database, Outcome, UndoLog};
use aotdb_workload::{decide, Dataset, Reads, Rng, Zipf, T0};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rusqlite::types::Value as SqlValue;

// The server's allocator, so the in-process figures match what it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SCHEMA: &str = include_str!("../examples/decisions.sql");

/// The same indexes the PostgreSQL kit adds, in SQLite's dialect.
const SQLITE_INDEXES: &str = "
CREATE INDEX payments_acct_status_time ON payments (account_id, status, created_at, amount, merchant_id);
CREATE INDEX payments_acct_merchant ON payments (account_id, merchant_id);
CREATE INDEX decisions_acct_time ON decisions (account_id, created_at, id);
CREATE INDEX decisions_decline_time ON decisions (created_at, account_id) WHERE outcome = 'decline';
";

/// aotdb's executor core, driven the way the server drives it.
struct Aotdb {
    catalog: Catalog,
    db: Database,
    undo: UndoLog,
}

impl Aotdb {
    fn new() -> Aotdb {
        let (catalog, changes) = apply_script(&Catalog::new(), SCHEMA).expect("schema");
        let mut db = Database::new();
        db.apply_changes(&changes).expect("structures");
        Aotdb { catalog, db, undo: UndoLog::new() }
    }

    fn statement(&self, name: &str) -> Arc<Statement> {
        self.catalog.statement(name).cloned().expect("statement")
    }

    fn run(&mut self, stmt: &Statement, args: &[&str]) -> Outcome {
        let params = stmt.bind_args(args).expect("arguments");
        let out = if stmt.is_read_only() {
            self.db.query(stmt, &params)
        } else {
            self.db.execute(stmt, &params, &mut self.undo)
        };
        self.undo.clear();
        out.expect("statement runs")
    }
}

/// Every statement's SQL, from the schema file, for SQLite.
fn statement_sql() -> Vec<(String, String)> {
    let (catalog, _) = apply_script(&Catalog::new(), SCHEMA).unwrap();
    let mut out = Vec::new();
    for s in catalog.statements() {
        out.push((s.name.clone(), s.sql.clone()));
    }
    out
}

fn sqlite(dataset: &Dataset) -> (rusqlite::Connection, Duration) {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    let tables: String = SCHEMA.split("-- Reads").next().unwrap().to_string();
    db.execute_batch(&tables).unwrap();
    let start = Instant::now();
    let tx = db.unchecked_transaction().unwrap();
    {
        let mut a = tx.prepare("INSERT INTO accounts VALUES (?1, ?2, ?3, ?4, ?5)").unwrap();
        for r in &dataset.accounts {
            a.execute(rusqlite::params![r.id, r.name, r.region, r.credit_limit, r.frozen]).unwrap();
        }
        let mut m = tx.prepare("INSERT INTO merchants VALUES (?1, ?2, ?3, ?4)").unwrap();
        for r in &dataset.merchants {
            m.execute(rusqlite::params![r.id, r.name, r.category, r.risk_score]).unwrap();
        }
        let mut p = tx.prepare("INSERT INTO payments VALUES (?1, ?2, ?3, ?4, ?5, ?6)").unwrap();
        for r in &dataset.payments {
            p.execute(rusqlite::params![r.id, r.account_id, r.merchant_id, r.amount, r.created_at, r.status]).unwrap();
        }
        let mut d = tx.prepare("INSERT INTO decisions VALUES (?1, ?2, ?3, ?4, ?5, ?6)").unwrap();
        for r in &dataset.decisions {
            d.execute(rusqlite::params![r.id, r.payment_id, r.account_id, r.outcome, r.reason, r.created_at]).unwrap();
        }
    }
    tx.commit().unwrap();
    db.execute_batch(SQLITE_INDEXES).unwrap();
    db.execute_batch("ANALYZE").unwrap();
    (db, start.elapsed())
}

fn aotdb(dataset: &Dataset) -> (Aotdb, Duration) {
    let mut a = Aotdb::new();
    let start = Instant::now();
    let (acc, mer, pay, dec) = (
        a.statement("add_account"),
        a.statement("add_merchant"),
        a.statement("record_payment"),
        a.statement("record_decision"),
    );
    for r in &dataset.accounts {
        let (id, limit) = (r.id.to_string(), r.credit_limit.to_string());
        a.run(&acc, &[&id, &r.name, &r.region, &limit]);
        if r.frozen {
            let f = a.statement("freeze_account");
            a.run(&f, &[&id]);
        }
    }
    for r in &dataset.merchants {
        let (id, risk) = (r.id.to_string(), r.risk_score.to_string());
        a.run(&mer, &[&id, &r.name, &r.category, &risk]);
    }
    for r in &dataset.payments {
        let f = [
            r.id.to_string(),
            r.account_id.to_string(),
            r.merchant_id.to_string(),
            r.amount.to_string(),
            r.created_at.to_string(),
        ];
        a.run(&pay, &[&f[0], &f[1], &f[2], &f[3], &f[4], &r.status]);
    }
    for r in &dataset.decisions {
        let f = [r.id.to_string(), r.payment_id.to_string(), r.account_id.to_string(), r.created_at.to_string()];
        let reason = r.reason.clone().unwrap_or_else(|| "\\N".into());
        a.run(&dec, &[&f[0], &f[1], &f[2], &r.outcome, &reason, &f[3]]);
    }
    (a, start.elapsed())
}

fn sqlite_query(db: &rusqlite::Connection, sql: &str, args: &[SqlValue]) -> usize {
    let mut stmt = db.prepare_cached(sql).unwrap();
    for (i, a) in args.iter().enumerate() {
        if let Ok(Some(index)) = stmt.parameter_index(&format!("${}", i + 1)) {
            stmt.raw_bind_parameter(index, a.clone()).unwrap();
        }
    }
    if stmt.column_count() == 0 {
        return stmt.raw_execute().unwrap();
    }
    let mut rows = stmt.raw_query();
    let mut n = 0;
    while let Ok(Some(row)) = rows.next() {
        let _ = row.get::<_, SqlValue>(0);
        n += 1;
    }
    n
}

fn bench(c: &mut Criterion) {
    let scale: f64 = std::env::var("AOTDB_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dataset = Dataset::load_or_generate(&root, scale);
    eprintln!("dataset: {} ({} rows)", dataset.source, dataset.rows());
    let (mut ours, ours_load) = aotdb(&dataset);
    let (lite, lite_load) = sqlite(&dataset);
    let rows = dataset.rows() as f64;
    eprintln!(
        "bulk load (rows through statements, every structure maintained): aotdb {:.0} rows/s, SQLite {:.0} rows/s (one transaction, indexes built after)",
        rows / ours_load.as_secs_f64(),
        rows / lite_load.as_secs_f64()
    );
    let sql: std::collections::HashMap<String, String> = statement_sql().into_iter().collect();

    let accounts = dataset.accounts.len() as u64;
    let merchants = dataset.merchants.len() as u64;
    let account_pick = Zipf::new(accounts, 1.1);
    let merchant_pick = Zipf::new(merchants, 1.1);
    let mut rng = Rng::new(7);
    let picks: Vec<(i64, i64)> =
        (0..4096).map(|_| (account_pick.sample(&mut rng) as i64, merchant_pick.sample(&mut rng) as i64)).collect();

    type ArgsOf = Box<dyn Fn(i64, i64) -> Vec<String>>;
    let reads: Vec<(&str, ArgsOf)> = vec![
        ("account_by_id", Box::new(|a, _| vec![a.to_string()])),
        ("merchant_risk", Box::new(|_, m| vec![m.to_string()])),
        ("spend_since", Box::new(move |a, _| vec![a.to_string(), (T0 - 86_400).to_string()])),
        ("spend_by_category", Box::new(|a, _| vec![a.to_string()])),
        ("top_merchants", Box::new(|a, _| vec![a.to_string()])),
        ("recent_decisions", Box::new(|a, _| vec![a.to_string()])),
        ("declines_in_region", Box::new(move |a, _| vec![format!("region-{}", a % 8), (T0 - 86_400).to_string()])),
    ];
    for (name, args) in &reads {
        let mut group = c.benchmark_group(*name);
        let stmt = ours.statement(name);
        let mut i = 0usize;
        group.bench_function("aotdb", |b| {
            b.iter(|| {
                let (a, m) = picks[i % picks.len()];
                i += 1;
                let args = args(a, m);
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                ours.run(&stmt, &refs)
            })
        });
        let mut i = 0usize;
        let text = &sql[*name];
        group.bench_function("sqlite", |b| {
            b.iter(|| {
                let (a, m) = picks[i % picks.len()];
                i += 1;
                let args: Vec<SqlValue> = args(a, m)
                    .into_iter()
                    .map(|s| s.parse::<i64>().map(SqlValue::Integer).unwrap_or(SqlValue::Text(s)))
                    .collect();
                sqlite_query(&lite, text, &args)
            })
        });
        group.finish();
    }

    // Writes: each iteration records a new payment (with all maintenance).
    let mut next_id = 10_000_000_000i64;
    {
        let mut group = c.benchmark_group("record_payment");
        let stmt = ours.statement("record_payment");
        let mut i = 0usize;
        group.bench_function("aotdb", |b| {
            b.iter(|| {
                let (a, m) = picks[i % picks.len()];
                i += 1;
                next_id += 1;
                let f = [
                    next_id.to_string(),
                    a.to_string(),
                    m.to_string(),
                    ((i % 2000) + 1).to_string(),
                    (T0 + i as i64).to_string(),
                ];
                ours.run(&stmt, &[&f[0], &f[1], &f[2], &f[3], &f[4], "approved"])
            })
        });
        let text = &sql["record_payment"];
        group.bench_function("sqlite", |b| {
            b.iter(|| {
                let (a, m) = picks[i % picks.len()];
                i += 1;
                next_id += 1;
                let args = [
                    SqlValue::Integer(next_id),
                    SqlValue::Integer(a),
                    SqlValue::Integer(m),
                    SqlValue::Integer((i % 2000) as i64 + 1),
                    SqlValue::Integer(T0 + i as i64),
                    SqlValue::Text("approved".into()),
                ];
                sqlite_query(&lite, text, &args)
            })
        });
        group.finish();
    }
    {
        let mut group = c.benchmark_group("set_payment_status");
        let stmt = ours.statement("set_payment_status");
        let mut i = 0usize;
        group.bench_function("aotdb", |b| {
            b.iter(|| {
                i += 1;
                let id = (i % 100_000 + 1).to_string();
                ours.run(&stmt, &[&id, if i.is_multiple_of(2) { "approved" } else { "declined" }])
            })
        });
        let text = &sql["set_payment_status"];
        group.bench_function("sqlite", |b| {
            b.iter(|| {
                i += 1;
                let args = [
                    SqlValue::Integer((i % 100_000 + 1) as i64),
                    SqlValue::Text(if i.is_multiple_of(2) { "approved" } else { "declined" }.into()),
                ];
                sqlite_query(&lite, text, &args)
            })
        });
        group.finish();
    }

    // A whole decision: six reads, the rule, two to four writes.
    {
        let mut group = c.benchmark_group("decision");
        let names = [
            "account_by_id",
            "merchant_risk",
            "spend_since",
            "spend_by_category",
            "top_merchants",
            "recent_decisions",
            "record_payment",
            "record_decision",
            "freeze_account",
            "set_credit_limit",
        ];
        let st: Vec<Arc<Statement>> = names.iter().map(|n| ours.statement(n)).collect();
        let mut i = 0usize;
        let mut t = T0 + 1_000_000;
        group.bench_function("aotdb", |b| {
            b.iter_batched(
                || {
                    i += 1;
                    (picks[i % picks.len()], i)
                },
                |((a, m), i)| {
                    t += 1;
                    next_id += 1;
                    let (as_, ms) = (a.to_string(), m.to_string());
                    let amount = 1 + (i % 2000) as i64;
                    let rows = |o: Outcome| match o {
                        Outcome::Rows(r) => r,
                        Outcome::Count(_) => Vec::new(),
                    };
                    let acc = rows(ours.run(&st[0], &[&as_]));
                    let mer = rows(ours.run(&st[1], &[&ms]));
                    let day = rows(ours.run(&st[2], &[&as_, &(t - 86_400).to_string()]));
                    let cats = rows(ours.run(&st[3], &[&as_]));
                    let top = rows(ours.run(&st[4], &[&as_]));
                    let recent = rows(ours.run(&st[5], &[&as_]));
                    let int = |v: &Value| if let Value::Int(i) = v { *i } else { 0 };
                    let r = Reads {
                        frozen: acc.first().is_some_and(|r| r[4] == Value::Bool(true)),
                        credit_limit: acc.first().map(|r| int(&r[3])).unwrap_or(0),
                        spent_today: day.first().map(|r| int(&r[1])).unwrap_or(0),
                        risk_score: mer.first().map(|r| int(&r[1])).unwrap_or(0),
                        merchant_is_top: top.iter().any(|r| int(&r[0]) == m),
                        recent_declines: recent.iter().filter(|r| r[1] == Value::text("decline")).count(),
                        approved_count: cats.iter().map(|r| int(&r[1])).sum(),
                    };
                    let out = decide(&r, amount);
                    let (id, ts) = (next_id.to_string(), t.to_string());
                    let status = if out.outcome == "approve" { "approved" } else { "declined" };
                    ours.run(&st[6], &[&id, &as_, &ms, &amount.to_string(), &ts, status]);
                    ours.run(&st[7], &[&id, &id, &as_, out.outcome, out.reason.unwrap_or("\\N"), &ts]);
                    if out.freeze {
                        ours.run(&st[8], &[&as_]);
                    }
                    if let Some(limit) = out.new_credit_limit {
                        ours.run(&st[9], &[&as_, &limit.to_string()]);
                    }
                },
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
