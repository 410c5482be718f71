//! Executor results as RESP replies: rows as arrays of values in
//! select-list order, counts as integers, EXPLAIN as a map.

use aotdb_planner::{Explain, Value};
use aotdb_proto::Reply;
use aotdb_storage::Outcome;
use bytes::Bytes;

pub fn value_reply(v: &Value) -> Reply {
    match v {
        Value::Null => Reply::Null,
        Value::Bool(b) => Reply::Bool(*b),
        Value::Int(i) => Reply::Int(*i),
        Value::Float(x) => Reply::Double(*x),
        Value::Text(s) => Reply::Bulk(Bytes::copy_from_slice(s.as_bytes())),
        Value::Bytes(b) => Reply::Bulk(Bytes::copy_from_slice(b)),
        Value::Timestamp(_) => Reply::Bulk(Bytes::from(v.to_pg_text())),
    }
}

pub fn outcome_reply(o: &Outcome) -> Reply {
    match o {
        Outcome::Count(n) => Reply::Int(i64::try_from(*n).unwrap_or(i64::MAX)),
        Outcome::Rows(rows) => {
            Reply::Array(rows.iter().map(|r| Reply::Array(r.iter().map(value_reply).collect())).collect())
        }
    }
}

fn strings(items: &[String]) -> Reply {
    Reply::Array(items.iter().map(|s| Reply::bulk_str(s)).collect())
}

/// EXPLAIN as a map (RESP3) or the same pairs flattened (RESP2).
pub fn explain_reply(e: &Explain) -> Reply {
    let columns = Reply::Array(
        e.columns.iter().map(|(n, t)| Reply::Array(vec![Reply::bulk_str(n), Reply::bulk_str(t)])).collect(),
    );
    Reply::Map(vec![
        (Reply::bulk_str("name"), Reply::bulk_str(&e.name)),
        (Reply::bulk_str("kind"), Reply::bulk_str(e.kind)),
        (Reply::bulk_str("sql"), Reply::bulk_str(&e.sql)),
        (Reply::bulk_str("parameters"), strings(&e.parameters)),
        (Reply::bulk_str("columns"), columns),
        (Reply::bulk_str("cost"), Reply::bulk_str(&e.cost.to_string())),
        (Reply::bulk_str("plan"), strings(&e.steps)),
        (Reply::bulk_str("reads"), strings(&e.reads)),
        (Reply::bulk_str("maintains"), strings(&e.maintains)),
        (Reply::bulk_str("fan_out"), strings(&e.fan_out)),
    ])
}
