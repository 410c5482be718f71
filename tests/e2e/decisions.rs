//! The decision workload's schema over the wire: a seeded random mix of its
//! write statements, and after every few writes every read statement with
//! random arguments, each compared with SQLite running the same SQL.

use redis::Value;
use rusqlite::types::Value as SqlValue;

use crate::harness::Server;

const SCHEMA: &str = include_str!("../../examples/decisions.sql");

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Skewed towards small values, like the workload's Zipf picks.
    fn pick(&mut self, n: u64) -> i64 {
        let (a, b) = (self.next() % n, self.next() % n);
        a.min(b) as i64 + 1
    }
}

#[derive(Clone, Debug)]
enum Arg {
    Int(i64),
    Text(&'static str),
    Null,
}

fn statements() -> Vec<(String, String)> {
    let (catalog, _) = aotdb_planner::apply_script(&aotdb_planner::Catalog::new(), SCHEMA).unwrap();
    catalog.statements().map(|s| (s.name.clone(), s.sql.clone())).collect()
}

fn ours(con: &mut redis::Connection, name: &str, args: &[Arg]) -> Result<Vec<Vec<String>>, ()> {
    let mut cmd = redis::cmd("EXECUTE");
    cmd.arg(name);
    for a in args {
        match a {
            Arg::Int(i) => cmd.arg(*i),
            Arg::Text(s) => cmd.arg(*s),
            Arg::Null => cmd.arg("\\N"),
        };
    }
    let text = |v: &Value| match v {
        Value::Nil => "NULL".to_string(),
        Value::Int(i) => i.to_string(),
        Value::Boolean(b) => (*b as i64).to_string(),
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Double(x) => x.to_string(),
        other => format!("{other:?}"),
    };
    match cmd.query::<Value>(con) {
        Err(_) => Err(()),
        Ok(Value::Int(n)) => Ok(vec![vec![n.to_string()]]),
        Ok(Value::Array(rows)) => Ok(rows
            .iter()
            .map(|r| match r {
                Value::Array(vals) => vals.iter().map(text).collect(),
                other => vec![text(other)],
            })
            .collect()),
        Ok(other) => panic!("unexpected {other:?}"),
    }
}

fn theirs(db: &rusqlite::Connection, sql: &str, args: &[Arg]) -> Result<Vec<Vec<String>>, ()> {
    let mut stmt = db.prepare_cached(sql).unwrap();
    for (i, a) in args.iter().enumerate() {
        if let Ok(Some(index)) = stmt.parameter_index(&format!("${}", i + 1)) {
            let v = match a {
                Arg::Int(i) => SqlValue::Integer(*i),
                Arg::Text(s) => SqlValue::Text((*s).into()),
                Arg::Null => SqlValue::Null,
            };
            stmt.raw_bind_parameter(index, v).unwrap();
        }
    }
    let columns = stmt.column_count();
    if columns == 0 {
        return stmt.raw_execute().map(|n| vec![vec![n.to_string()]]).map_err(|_| ());
    }
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|_| ())? {
        out.push(
            (0..columns)
                .map(|i| match row.get::<_, SqlValue>(i).unwrap() {
                    SqlValue::Null => "NULL".into(),
                    SqlValue::Integer(i) => i.to_string(),
                    SqlValue::Real(x) => x.to_string(),
                    SqlValue::Text(s) => s,
                    SqlValue::Blob(b) => String::from_utf8_lossy(&b).into_owned(),
                })
                .collect(),
        );
    }
    Ok(out)
}

#[test]
fn decision_workload_matches_sqlite_over_the_wire() {
    let server = Server::start(SCHEMA);
    let mut con = server.client(true);
    let db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA.split("-- Reads").next().unwrap()).unwrap();
    let sql: std::collections::HashMap<String, String> = statements().into_iter().collect();
    let mut rng = Rng(0xdec1_5105);
    let regions = ["north", "south", "east"];
    let categories = ["food", "auto", "games"];
    let statuses = ["approved", "declined"];
    let outcomes = ["approve", "decline"];
    let (mut payment, mut decision) = (0i64, 0i64);
    let mut compared = 0;
    for step in 0..600 {
        let t = 1_700_000_000 + step * 37;
        let (name, args): (&str, Vec<Arg>) = match rng.next() % 12 {
            0 => (
                "add_account",
                vec![
                    Arg::Int(rng.pick(30)),
                    Arg::Text("acct"),
                    Arg::Text(regions[rng.pick(3) as usize - 1]),
                    Arg::Int(rng.pick(5000)),
                ],
            ),
            1 => (
                "add_merchant",
                vec![
                    Arg::Int(rng.pick(12)),
                    Arg::Text("shop"),
                    Arg::Text(categories[rng.pick(3) as usize - 1]),
                    Arg::Int(rng.pick(100)),
                ],
            ),
            2..=5 => {
                payment += 1;
                (
                    "record_payment",
                    vec![
                        Arg::Int(payment),
                        Arg::Int(rng.pick(30)),
                        Arg::Int(rng.pick(12)),
                        Arg::Int(rng.pick(2000)),
                        Arg::Int(t),
                        Arg::Text(statuses[rng.pick(2) as usize - 1]),
                    ],
                )
            }
            6 => (
                "set_payment_status",
                vec![Arg::Int(rng.pick(payment.max(1) as u64)), Arg::Text(statuses[rng.pick(2) as usize - 1])],
            ),
            7 | 8 => {
                decision += 1;
                let decline = rng.next().is_multiple_of(3);
                (
                    "record_decision",
                    vec![
                        Arg::Int(decision),
                        Arg::Int(payment),
                        Arg::Int(rng.pick(30)),
                        Arg::Text(outcomes[decline as usize]),
                        if decline { Arg::Text("limit") } else { Arg::Null },
                        Arg::Int(t),
                    ],
                )
            }
            9 => ("set_credit_limit", vec![Arg::Int(rng.pick(30)), Arg::Int(rng.pick(9000))]),
            10 => {
                if rng.next().is_multiple_of(2) {
                    ("freeze_account", vec![Arg::Int(rng.pick(30))])
                } else {
                    (
                        "recategorize_merchant",
                        vec![Arg::Int(rng.pick(12)), Arg::Text(categories[rng.pick(3) as usize - 1])],
                    )
                }
            }
            _ => ("forget_payment", vec![Arg::Int(rng.pick(payment.max(1) as u64))]),
        };
        assert_eq!(ours(&mut con, name, &args), theirs(&db, &sql[name], &args), "step {step}: {name} {args:?}");
        if step % 5 != 0 {
            continue;
        }
        let a = rng.pick(30);
        let since = t - rng.pick(20_000);
        let reads: Vec<(&str, Vec<Arg>)> = vec![
            ("account_by_id", vec![Arg::Int(a)]),
            ("merchant_risk", vec![Arg::Int(rng.pick(12))]),
            ("spend_since", vec![Arg::Int(a), Arg::Int(since)]),
            ("spend_by_category", vec![Arg::Int(a)]),
            ("top_merchants", vec![Arg::Int(a)]),
            ("recent_decisions", vec![Arg::Int(a)]),
            ("declines_in_region", vec![Arg::Text(regions[rng.pick(3) as usize - 1]), Arg::Int(since)]),
        ];
        for (name, args) in reads {
            let got = ours(&mut con, name, &args);
            assert_eq!(got, theirs(&db, &sql[name], &args), "step {step}: {name} {args:?}");
            compared += got.map(|r| r.len()).unwrap_or(0);
        }
    }
    assert!(compared > 300, "only {compared} rows compared");
}
