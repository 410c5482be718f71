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
use aotdb_storage::{Database, Outcome, Rows, UndoLog};
use aotdb_workload::{decide, Dataset, Reads, Rng, Zipf, T0};
use criterion::{criterion_group, criterion_main, Criterion};
use rusqlite::types::Value as SqlValue;

// The server's allocator, so the in-process figures match what it does.
#[path = "../crates/server/src/alloc.rs"]
#[allow(dead_code)]
mod alloc;
#[global_allocator]
static ALLOCATOR: alloc::CountingAllocator = alloc::CountingAllocator;

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

    fn run<A: AsRef<[u8]>>(&mut self, stmt: &Statement, args: &[A]) -> Outcome {
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

/// A read's arguments for an (account, merchant) pick.
type ArgsOf = Box<dyn Fn(i64, i64) -> Vec<String>>;

/// The arguments the reads are run with, per statement.
fn read_args() -> Vec<(&'static str, ArgsOf)> {
    vec![
        ("account_by_id", Box::new(|a, _| vec![a.to_string()])),
        ("merchant_risk", Box::new(|_, m| vec![m.to_string()])),
        ("spend_since", Box::new(move |a, _| vec![a.to_string(), (T0 - 86_400).to_string()])),
        ("spend_by_category", Box::new(|a, _| vec![a.to_string()])),
        ("top_merchants", Box::new(|a, _| vec![a.to_string()])),
        ("recent_decisions", Box::new(|a, _| vec![a.to_string()])),
        ("declines_in_region", Box::new(move |a, _| vec![format!("region-{}", a % 8), (T0 - 86_400).to_string()])),
    ]
}

/// Zipf-picked (account, merchant) pairs the statements are run with.
fn picks(dataset: &Dataset) -> Vec<(i64, i64)> {
    let account_pick = Zipf::new(dataset.accounts.len() as u64, 1.1);
    let merchant_pick = Zipf::new(dataset.merchants.len() as u64, 1.1);
    let mut rng = Rng::new(7);
    (0..4096).map(|_| (account_pick.sample(&mut rng) as i64, merchant_pick.sample(&mut rng) as i64)).collect()
}

/// Instruction counting (`benches/instructions.sh`): runs each statement
/// named in `AOTDB_COUNT` (or `decision`) `AOTDB_COUNT_ITERS` times inside
/// `counted`, the only code callgrind measures, so a statement's count
/// does not move with the host's load.
fn count_instructions(names: &str) {
    let scale: f64 = std::env::var("AOTDB_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(0.05);
    let iters: usize = std::env::var("AOTDB_COUNT_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dataset = Dataset::load_or_generate(&root, scale);
    let (mut ours, _) = aotdb(&dataset);
    let picks = picks(&dataset);
    let reads = read_args();
    for name in names.split(',') {
        let mut calls: Vec<Vec<String>> = Vec::with_capacity(iters);
        if let Some((_, args)) = reads.iter().find(|(n, _)| *n == name) {
            calls.extend((0..iters).map(|i| args(picks[i % picks.len()].0, picks[i % picks.len()].1)));
        } else if name != "decision" {
            let mut next = write_args(name, &picks);
            calls.extend((0..iters).map(|_| next()));
        }
        counted(&mut ours, name, &calls, iters, &picks);
        println!("counted {name} x{iters}");
    }
}

#[inline(never)]
fn counted(ours: &mut Aotdb, name: &str, calls: &[Vec<String>], iters: usize, picks: &[(i64, i64)]) {
    if name == "decision" {
        let statements: std::collections::HashMap<String, Arc<Statement>> =
            statement_sql().into_iter().map(|(n, _)| (n.clone(), ours.statement(&n))).collect();
        for i in 0..iters {
            run_decision(i, picks, &mut |name, args| match ours.run(&statements[name], args) {
                Outcome::Rows(rows) => rows,
                Outcome::Count(_) => Rows::new(0),
            });
        }
        return;
    }
    let stmt = ours.statement(name);
    for args in calls {
        std::hint::black_box(ours.run(&stmt, args));
    }
}

fn bench(c: &mut Criterion) {
    if let Ok(names) = std::env::var("AOTDB_COUNT") {
        count_instructions(&names);
        return;
    }
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

    let picks = picks(&dataset);
    let reads = read_args();
    // Arguments are made before timing starts, so each side's figure is
    // its engine's work: binding, lookup, and every column of every row.
    for (name, args) in &reads {
        let mut group = c.benchmark_group(*name);
        let stmt = ours.statement(name);
        let texts: Vec<Vec<String>> = picks.iter().map(|&(a, m)| args(a, m)).collect();
        let mut i = 0usize;
        group.bench_function("aotdb", |b| {
            b.iter(|| {
                i += 1;
                ours.run(&stmt, &texts[i % texts.len()])
            })
        });
        let text = &sql[*name];
        let values: Vec<Vec<SqlValue>> = texts.iter().cloned().map(sqlite_args).collect();
        let indexes = sqlite_parameter_indexes(&lite, text, stmt.params.len());
        let mut i = 0usize;
        group.bench_function("sqlite", |b| {
            b.iter(|| {
                i += 1;
                sqlite_read(&lite, text, &indexes, &values[i % values.len()])
            })
        });
        group.finish();
    }

    // Writes, each with all its maintenance; both engines get the same
    // argument sequence (fresh ids for inserts, existing rows for updates
    // and deletes).
    let writes = [
        "record_payment",
        "record_decision",
        "set_payment_status",
        "set_credit_limit",
        "freeze_account",
        "add_account",
        "add_merchant",
        "recategorize_merchant",
        "forget_payment",
    ];
    for name in writes {
        let mut group = c.benchmark_group(name);
        let stmt = ours.statement(name);
        let mut next = write_args(name, &picks);
        group.bench_function("aotdb", |b| {
            b.iter(|| {
                let args = next();
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                ours.run(&stmt, &refs)
            })
        });
        let text = &sql[name];
        let mut next = write_args(name, &picks);
        group.bench_function("sqlite", |b| b.iter(|| sqlite_query(&lite, text, &sqlite_args(next()))));
        group.finish();
    }

    // A whole decision: six reads, the rule, two to four writes.
    {
        let mut group = c.benchmark_group("decision");
        let statements: std::collections::HashMap<String, Arc<Statement>> =
            sql.keys().map(|n| (n.clone(), ours.statement(n))).collect();
        let mut i = 0usize;
        group.bench_function("aotdb", |b| {
            b.iter(|| {
                i += 1;
                run_decision(i, &picks, &mut |name, args| {
                    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                    match ours.run(&statements[name], &refs) {
                        Outcome::Rows(rows) => rows,
                        Outcome::Count(_) => Rows::new(0),
                    }
                })
            })
        });
        let mut i = 0usize;
        group.bench_function("sqlite", |b| {
            b.iter(|| {
                i += 1;
                // One transaction per decision, as the PostgreSQL kit does.
                let tx = lite.unchecked_transaction().unwrap();
                run_decision(i, &picks, &mut |name, args| sqlite_rows(&lite, &sql[name], &sqlite_args(args.to_vec())));
                tx.commit().unwrap();
            })
        });
        group.finish();
    }
}

/// Where each of `$1 .. $n` binds in SQLite's numbering of `sql`'s
/// parameters.
fn sqlite_parameter_indexes(db: &rusqlite::Connection, sql: &str, n: usize) -> Vec<Option<usize>> {
    let stmt = db.prepare_cached(sql).unwrap();
    (1..=n).map(|i| stmt.parameter_index(&format!("${i}")).unwrap()).collect()
}

/// A read on SQLite, every column of every row fetched; the row count.
fn sqlite_read(db: &rusqlite::Connection, sql: &str, indexes: &[Option<usize>], args: &[SqlValue]) -> usize {
    let mut stmt = db.prepare_cached(sql).unwrap();
    for (index, a) in indexes.iter().zip(args) {
        if let Some(index) = index {
            stmt.raw_bind_parameter(*index, a).unwrap();
        }
    }
    let columns = stmt.column_count();
    let mut rows = stmt.raw_query();
    let mut n = 0;
    while let Ok(Some(row)) = rows.next() {
        for c in 0..columns {
            std::hint::black_box(row.get_ref(c).unwrap());
        }
        n += 1;
    }
    n
}

/// Text arguments as SQLite values (integers where they parse; `\N` is
/// NULL, as in the protocol).
fn sqlite_args(args: Vec<String>) -> Vec<SqlValue> {
    args.into_iter()
        .map(|s| match s.parse::<i64>() {
            Ok(i) => SqlValue::Integer(i),
            Err(_) if s == "\\N" => SqlValue::Null,
            Err(_) => SqlValue::Text(s),
        })
        .collect()
}

/// A statement's rows on SQLite, as aotdb values (booleans come back as
/// integers).
fn sqlite_rows(db: &rusqlite::Connection, sql: &str, args: &[SqlValue]) -> Rows {
    let mut stmt = db.prepare_cached(sql).unwrap();
    for (i, a) in args.iter().enumerate() {
        if let Ok(Some(index)) = stmt.parameter_index(&format!("${}", i + 1)) {
            stmt.raw_bind_parameter(index, a.clone()).unwrap();
        }
    }
    if stmt.column_count() == 0 {
        stmt.raw_execute().unwrap();
        return Rows::new(0);
    }
    let width = stmt.column_count();
    let mut rows = stmt.raw_query();
    let mut out = Rows::new(width);
    while let Ok(Some(row)) = rows.next() {
        out.building().extend((0..width).map(|c| match row.get::<_, SqlValue>(c).unwrap() {
            SqlValue::Integer(i) => Value::Int(i),
            SqlValue::Real(f) => Value::Float(f),
            SqlValue::Text(t) => Value::text(&t),
            SqlValue::Blob(b) => Value::Bytes(std::sync::Arc::new(b.into())),
            SqlValue::Null => Value::Null,
        }));
        out.end_row();
    }
    out
}

/// Arguments for the `i`-th run of a write statement.
fn write_args(name: &str, picks: &[(i64, i64)]) -> Box<dyn FnMut() -> Vec<String>> {
    let picks = picks.to_vec();
    let mut i = 0usize;
    let name = name.to_string();
    Box::new(move || {
        i += 1;
        let (a, m) = picks[i % picks.len()];
        let fresh = (10_000_000_000 + i).to_string();
        let t = (T0 + i as i64).to_string();
        let v: Vec<String> = match name.as_str() {
            "record_payment" => {
                vec![fresh, a.to_string(), m.to_string(), ((i % 2000) + 1).to_string(), t, "approved".into()]
            }
            "record_decision" => vec![fresh.clone(), fresh, a.to_string(), "decline".into(), "limit".into(), t],
            "set_payment_status" => {
                vec![(i % 100_000 + 1).to_string(), if i.is_multiple_of(2) { "approved" } else { "declined" }.into()]
            }
            "set_credit_limit" => vec![a.to_string(), (10_000 + i % 50_000).to_string()],
            "freeze_account" => vec![a.to_string()],
            "add_account" => vec![fresh, format!("account-{i}"), format!("region-{}", i % 8), "30000".into()],
            "add_merchant" => vec![fresh, format!("merchant-{i}"), format!("cat-{:02}", i % 20), "50".into()],
            "recategorize_merchant" => vec![m.to_string(), format!("cat-{:02}", i % 20)],
            "forget_payment" => vec![(i + 1).to_string()],
            other => panic!("no arguments for {other}"),
        };
        v
    })
}

/// Runs one named statement with text arguments on one engine, returning rows.
type StatementRunner<'a> = dyn FnMut(&str, &[String]) -> Rows + 'a;

/// One decision on one engine: the six reads, the rule, the writes.
fn run_decision(i: usize, picks: &[(i64, i64)], run: &mut StatementRunner<'_>) {
    let (a, m) = picks[i % picks.len()];
    let t = T0 + 2_000_000 + i as i64;
    let id = 20_000_000_000 + i as i64;
    let amount = 1 + (i % 2000) as i64;
    let (a_s, m_s) = (a.to_string(), m.to_string());
    let acc = run("account_by_id", std::slice::from_ref(&a_s));
    let mer = run("merchant_risk", std::slice::from_ref(&m_s));
    let day = run("spend_since", &[a_s.clone(), (t - 86_400).to_string()]);
    let cats = run("spend_by_category", std::slice::from_ref(&a_s));
    let top = run("top_merchants", std::slice::from_ref(&a_s));
    let recent = run("recent_decisions", std::slice::from_ref(&a_s));
    let int = |v: &Value| match v {
        Value::Int(i) => *i,
        Value::Bool(b) => *b as i64,
        _ => 0,
    };
    let r = Reads {
        frozen: acc.first().is_some_and(|r| int(&r[4]) != 0),
        credit_limit: acc.first().map(|r| int(&r[3])).unwrap_or(0),
        spent_today: day.first().map(|r| int(&r[1])).unwrap_or(0),
        risk_score: mer.first().map(|r| int(&r[1])).unwrap_or(0),
        merchant_is_top: top.iter().any(|r| int(&r[0]) == m),
        recent_declines: recent.iter().filter(|r| r[1] == Value::text("decline")).count(),
        approved_count: cats.iter().map(|r| int(&r[1])).sum(),
    };
    let out = decide(&r, amount);
    let (id, ts) = (id.to_string(), t.to_string());
    let status = if out.outcome == "approve" { "approved" } else { "declined" };
    run("record_payment", &[id.clone(), a_s.clone(), m_s.clone(), amount.to_string(), ts.clone(), status.into()]);
    let reason = out.reason.unwrap_or("\\N").to_string();
    run("record_decision", &[id.clone(), id, a_s.clone(), out.outcome.into(), reason, ts]);
    if out.freeze {
        run("freeze_account", std::slice::from_ref(&a_s));
    }
    if let Some(limit) = out.new_credit_limit {
        run("set_credit_limit", &[a_s, limit.to_string()]);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
