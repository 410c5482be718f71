//! Differential test: a seeded random mix of writes and reads runs on aotdb
//! and on SQLite (the reference), and every reply must match: the same rows,
//! the same counts, and an error exactly where SQLite errs.

use redis::Value;
use rusqlite::types::Value as SqlValue;

use crate::harness::Server;

const TABLES: &str = "
CREATE TABLE accounts (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT,
    credit_limit BIGINT NOT NULL,
    frozen BOOLEAN NOT NULL DEFAULT FALSE,
    score DOUBLE PRECISION,
    email TEXT UNIQUE
);
CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, note TEXT, PRIMARY KEY (a, b));
";

/// (name, SQL, parameter kinds). Kinds drive argument generation.
const STATEMENTS: &[(&str, &str, &[Kind])] = &[
    ("add_account", "INSERT INTO accounts (id, name, region, credit_limit, email) VALUES ($1, $2, $3, $4, $5)", &[Kind::Id, Kind::Name, Kind::Region, Kind::Amount, Kind::Email]),
    ("add_two", "INSERT INTO accounts (id, name, credit_limit) VALUES ($1, $2, $3), ($4, $2, $3 + 1)", &[Kind::Id, Kind::Name, Kind::Amount, Kind::Id]),
    ("account_by_id", "SELECT id, name, region, credit_limit, frozen, score, email FROM accounts WHERE id = $1", &[Kind::Id]),
    ("account_by_email", "SELECT id, name || '@' || COALESCE(region, 'none'), credit_limit * 2 - 1, CASE WHEN credit_limit > 500 THEN 'high' WHEN credit_limit > 100 THEN 'mid' ELSE 'low' END, credit_limit / 3, credit_limit % 7 FROM accounts WHERE email = $1", &[Kind::Email]),
    ("solvent", "SELECT id, score FROM accounts WHERE id = $1 AND credit_limit >= $2 AND NOT frozen", &[Kind::Id, Kind::Amount]),
    ("in_region", "SELECT id FROM accounts WHERE id = $1 AND (region IN ('eu', 'us') OR region IS NULL) AND credit_limit BETWEEN 10 AND 900", &[Kind::Id]),
    ("bump", "UPDATE accounts SET credit_limit = credit_limit + $2, score = COALESCE(score, 0) + 0.5 WHERE id = $1", &[Kind::Id, Kind::Amount]),
    ("freeze", "UPDATE accounts SET frozen = TRUE WHERE id = $1 AND credit_limit < $2", &[Kind::Id, Kind::Amount]),
    ("set_email", "UPDATE accounts SET email = $2 WHERE id = $1 RETURNING id, email, frozen", &[Kind::Id, Kind::Email]),
    ("move_account", "UPDATE accounts SET id = id + 1 WHERE id = $1", &[Kind::Id]),
    ("forget", "DELETE FROM accounts WHERE id = $1", &[Kind::Id]),
    ("forget_returning", "DELETE FROM accounts WHERE email = $1 RETURNING id, name, credit_limit - 1", &[Kind::Email]),
    ("pair_put", "INSERT INTO pairs (a, b, note) VALUES ($1, $2, $3)", &[Kind::Small, Kind::Small, Kind::Name]),
    ("pair_get", "SELECT note, a + b, a / b, a * b - 3 FROM pairs WHERE a = $1 AND b = $2", &[Kind::Small, Kind::Small]),
    ("pair_move", "UPDATE pairs SET a = a + 1 WHERE b = $2 AND a = $1", &[Kind::Small, Kind::Small]),
    ("pair_del", "DELETE FROM pairs WHERE a = $1 AND b = $2 RETURNING note", &[Kind::Small, Kind::Small]),
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    Id,
    Name,
    Region,
    Amount,
    Email,
    Small,
}

/// A typed argument: text for aotdb, a typed value for SQLite.
#[derive(Clone, Debug)]
enum Arg {
    Int(i64),
    Text(String),
    Null,
}

impl Arg {
    fn wire(&self) -> String {
        match self {
            Arg::Int(i) => i.to_string(),
            Arg::Text(s) => s.clone(),
            Arg::Null => "\\N".into(),
        }
    }

    fn sql(&self) -> SqlValue {
        match self {
            Arg::Int(i) => SqlValue::Integer(*i),
            Arg::Text(s) => SqlValue::Text(s.clone()),
            Arg::Null => SqlValue::Null,
        }
    }
}

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn arg(kind: Kind, rng: &mut Rng) -> Arg {
    let nullable = rng.below(12) == 0;
    match kind {
        Kind::Id => Arg::Int(rng.below(40) as i64),
        Kind::Name => Arg::Text(["ann", "bo", "cy", "dee", "émile"][rng.below(5) as usize].into()),
        Kind::Region if nullable => Arg::Null,
        Kind::Region => Arg::Text(["eu", "us", "apac"][rng.below(3) as usize].into()),
        Kind::Amount => Arg::Int(rng.below(1000) as i64 - 50),
        Kind::Email if nullable => Arg::Null,
        Kind::Email => Arg::Text(format!("u{}@x", rng.below(25))),
        Kind::Small => Arg::Int(rng.below(6) as i64 + 1),
    }
}

/// A value as both sides can agree on it.
#[derive(Debug, Clone)]
enum Norm {
    Null,
    Int(i64),
    Real(f64),
    Text(Vec<u8>),
}

impl PartialEq for Norm {
    fn eq(&self, other: &Norm) -> bool {
        match (self, other) {
            (Norm::Null, Norm::Null) => true,
            (Norm::Int(a), Norm::Int(b)) => a == b,
            (Norm::Real(a), Norm::Real(b)) => a == b,
            (Norm::Text(a), Norm::Text(b)) => a == b,
            // RESP2 carries doubles as text.
            (Norm::Text(t), Norm::Real(x)) | (Norm::Real(x), Norm::Text(t)) => {
                std::str::from_utf8(t).ok().and_then(|s| s.parse::<f64>().ok()) == Some(*x)
            }
            _ => false,
        }
    }
}

fn norm_redis(v: &Value) -> Norm {
    match v {
        Value::Nil => Norm::Null,
        Value::Int(i) => Norm::Int(*i),
        Value::Boolean(b) => Norm::Int(*b as i64),
        Value::Double(x) => Norm::Real(*x),
        Value::BulkString(b) => Norm::Text(b.clone()),
        other => panic!("unexpected value {other:?}"),
    }
}

fn norm_sql(v: SqlValue) -> Norm {
    match v {
        SqlValue::Null => Norm::Null,
        SqlValue::Integer(i) => Norm::Int(i),
        SqlValue::Real(x) => Norm::Real(x),
        SqlValue::Text(s) => Norm::Text(s.into_bytes()),
        SqlValue::Blob(b) => Norm::Text(b),
    }
}

#[derive(Debug, PartialEq)]
enum Reply {
    Rows(Vec<Vec<Norm>>),
    Count(i64),
    Error,
}

fn aotdb_reply(v: redis::RedisResult<Value>) -> Reply {
    match v {
        Err(_) => Reply::Error,
        Ok(Value::Int(n)) => Reply::Count(n),
        Ok(Value::Array(rows)) => Reply::Rows(
            rows.iter()
                .map(|r| match r {
                    Value::Array(vals) => vals.iter().map(norm_redis).collect(),
                    other => panic!("row is not an array: {other:?}"),
                })
                .collect(),
        ),
        Ok(other) => panic!("unexpected reply {other:?}"),
    }
}

fn sqlite_reply(db: &rusqlite::Connection, sql: &str, args: &[Arg]) -> Reply {
    let mut stmt = db.prepare_cached(sql).expect("SQLite prepares the same SQL");
    for (i, a) in args.iter().enumerate() {
        if let Ok(Some(index)) = stmt.parameter_index(&format!("${}", i + 1)) {
            stmt.raw_bind_parameter(index, a.sql()).expect("bind");
        }
    }
    let columns = stmt.column_count();
    if columns == 0 {
        return match stmt.raw_execute() {
            Ok(n) => Reply::Count(n as i64),
            Err(_) => Reply::Error,
        };
    }
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                out.push((0..columns).map(|i| norm_sql(row.get::<_, SqlValue>(i).expect("value"))).collect())
            }
            Ok(None) => break,
            Err(_) => return Reply::Error,
        }
    }
    Reply::Rows(out)
}

fn run_differential(seed: u64, ops: usize, resp3: bool) {
    let mut schema = TABLES.to_string();
    for (name, sql, _) in STATEMENTS {
        schema.push_str(&format!("PREPARE {name} AS {sql};\n"));
    }
    let server = Server::start(&schema);
    let mut con = server.client(resp3);
    let db = rusqlite::Connection::open_in_memory().expect("sqlite");
    db.execute_batch(TABLES).expect("SQLite creates the same tables");

    let mut rng = Rng(seed | 1);
    for step in 0..ops {
        let (name, sql, kinds) = STATEMENTS[rng.below(STATEMENTS.len() as u64) as usize];
        let args: Vec<Arg> = kinds.iter().map(|k| arg(*k, &mut rng)).collect();
        let mut cmd = redis::cmd("EXECUTE");
        cmd.arg(name);
        for a in &args {
            cmd.arg(a.wire());
        }
        let ours = aotdb_reply(cmd.query::<Value>(&mut con));
        let theirs = sqlite_reply(&db, sql, &args);
        assert_eq!(ours, theirs, "seed {seed} step {step}: {name} {args:?}");
    }
    // Every row that could exist reads back the same.
    for id in 0..45 {
        let args = [Arg::Int(id)];
        let ours = aotdb_reply(redis::cmd("EXECUTE").arg("account_by_id").arg(id).query(&mut con));
        assert_eq!(ours, sqlite_reply(&db, STATEMENTS[2].1, &args), "final account {id}");
    }
    for a in 1..9 {
        for b in 1..9 {
            let args = [Arg::Int(a), Arg::Int(b)];
            let ours = aotdb_reply(redis::cmd("EXECUTE").arg("pair_get").arg(a).arg(b).query(&mut con));
            assert_eq!(ours, sqlite_reply(&db, STATEMENTS[13].1, &args), "final pair {a},{b}");
        }
    }
}

fn seed_and_ops() -> (u64, usize) {
    let seed = std::env::var("AOTDB_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed);
    let ops = std::env::var("AOTDB_TEST_OPS").ok().and_then(|s| s.parse().ok()).unwrap_or(4000);
    (seed, ops)
}

#[test]
fn random_workload_matches_sqlite_over_resp2() {
    let (seed, ops) = seed_and_ops();
    run_differential(seed, ops, false);
}

#[test]
fn random_workload_matches_sqlite_over_resp3() {
    let (seed, ops) = seed_and_ops();
    run_differential(seed.wrapping_add(1), ops, true);
}
