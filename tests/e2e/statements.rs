//! Registered statements end to end: run-time PREPARE/DEALLOCATE/DEFINE,
//! EXPLAIN under both protocols, MULTI/EXEC atomicity, and value types.

use redis::Value;

use crate::harness::{error_of, query, Server};

const SCHEMA: &str = "
CREATE TABLE accounts (id BIGINT PRIMARY KEY, name TEXT NOT NULL, credit_limit BIGINT NOT NULL DEFAULT 100);
PREPARE add AS INSERT INTO accounts (id, name) VALUES ($1, $2);
PREPARE get AS SELECT id, name, credit_limit FROM accounts WHERE id = $1;
PREPARE raise AS UPDATE accounts SET credit_limit = credit_limit + $2 WHERE id = $1 RETURNING credit_limit;
";

fn row(values: Vec<Value>) -> Value {
    Value::Array(vec![Value::Array(values)])
}

fn text(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

#[test]
fn multi_exec_is_all_or_nothing() {
    let server = Server::start(SCHEMA);
    let mut con = server.client(false);
    query(&mut con, &["EXECUTE", "add", "1", "ann"]).unwrap();
    let mut raw = server.raw();
    raw.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    raw.roundtrip(b"EXECUTE add 2 bo\r\n", b"+QUEUED\r\n");
    raw.roundtrip(b"EXECUTE raise 1 50\r\n", b"+QUEUED\r\n");
    raw.roundtrip(b"EXECUTE add 1 dup\r\n", b"+QUEUED\r\n");
    raw.send(b"EXEC\r\n");
    let reply = raw.read_line();
    assert!(
        reply.starts_with("-CONSTRAINT command 3 of the transaction (EXECUTE add) failed, nothing was applied"),
        "{reply}"
    );
    // Nothing of the block stayed.
    assert_eq!(query(&mut con, &["EXECUTE", "get", "2"]).unwrap(), Value::Array(vec![]));
    assert_eq!(
        query(&mut con, &["EXECUTE", "get", "1"]).unwrap(),
        row(vec![Value::Int(1), text("ann"), Value::Int(100)])
    );
    // A successful block returns each statement's reply.
    let mut pipe = redis::pipe();
    pipe.atomic().cmd("EXECUTE").arg("add").arg(3).arg("cy").cmd("EXECUTE").arg("raise").arg(3).arg(5);
    let replies: Vec<Value> = pipe.query(&mut con).unwrap();
    assert_eq!(replies, vec![Value::Int(1), Value::Array(vec![Value::Array(vec![Value::Int(105)])])]);
    // DISCARD drops the queue; errors inside MULTI abort EXEC.
    let mut raw = server.raw();
    raw.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    raw.roundtrip(b"EXECUTE add 9 x\r\n", b"+QUEUED\r\n");
    raw.roundtrip(b"DISCARD\r\n", b"+OK\r\n");
    raw.roundtrip(b"EXEC\r\n", b"-ERR EXEC without MULTI\r\n");
    raw.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    raw.send(b"PING\r\n");
    assert!(raw.read_line().starts_with("-ERR only EXECUTE can be queued inside MULTI"));
    raw.send(b"EXEC\r\n");
    let reply = raw.read_line();
    assert!(reply.starts_with("-EXECABORT"), "{reply}");
    assert_eq!(query(&mut con, &["EXECUTE", "get", "9"]).unwrap(), Value::Array(vec![]));
    assert!(error_of(query(&mut con, &["WATCH", "x"])).contains("not needed"));
}

#[test]
fn statements_can_be_defined_prepared_and_dropped_at_run_time() {
    let server = Server::start("");
    let mut con = server.client(false);
    query(&mut con, &["DEFINE", "CREATE TABLE t (k TEXT PRIMARY KEY, n INT, at TIMESTAMP, r REAL, blob BYTEA); PREPARE put AS INSERT INTO t VALUES ($1, $2, $3, $4, $5);"]).unwrap();
    assert_eq!(
        query(&mut con, &["PREPARE", "get", "SELECT n, at, r, blob, n * 2 AS twice FROM t WHERE k = $1"]).unwrap(),
        Value::Okay
    );
    assert_eq!(
        query(&mut con, &["EXECUTE", "put", "a", "7", "2026-11-22T13:05:00.5", "0.1", "\x00\x01raw"]).unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        query(&mut con, &["EXECUTE", "get", "a"]).unwrap(),
        row(vec![
            Value::Int(7),
            text("2026-11-22 13:05:00.5"),
            text("0.1"),
            Value::BulkString(b"\x00\x01raw".to_vec()),
            Value::Int(14)
        ])
    );
    assert!(error_of(query(&mut con, &["PREPARE", "get", "SELECT n FROM t WHERE k = $1"])).contains("already exists"));
    assert_eq!(query(&mut con, &["DEALLOCATE", "get"]).unwrap(), Value::Okay);
    assert!(error_of(query(&mut con, &["EXECUTE", "get", "a"])).starts_with("NOSTATEMENT"));
    assert!(error_of(query(&mut con, &["DEALLOCATE", "get"])).starts_with("NOSTATEMENT"));
    // The table can be dropped once nothing uses it.
    assert!(error_of(query(&mut con, &["DEFINE", "DROP TABLE t"])).contains("put"));
    query(&mut con, &["DEFINE", "DEALLOCATE put; DROP TABLE t;"]).unwrap();
    assert_eq!(query(&mut con, &["DBSIZE"]).unwrap(), Value::Int(0));
}

#[test]
fn explain_is_a_map_in_resp3_and_pairs_in_resp2() {
    let server = Server::start(SCHEMA);
    let mut con3 = server.client(true);
    let Value::Map(pairs) = query(&mut con3, &["EXPLAIN", "get"]).unwrap() else { panic!("map") };
    let field = |name: &str| pairs.iter().find(|(k, _)| *k == text(name)).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(field("kind"), text("read"));
    assert_eq!(field("cost"), text("O(1)"));
    assert_eq!(field("parameters"), Value::Array(vec![text("$1 bigint")]));
    assert_eq!(
        field("columns"),
        Value::Array(vec![
            Value::Array(vec![text("id"), text("bigint")]),
            Value::Array(vec![text("name"), text("text")]),
            Value::Array(vec![text("credit_limit"), text("bigint")]),
        ])
    );
    let Value::Array(reads) = field("reads") else { panic!() };
    assert!(format!("{reads:?}").contains("accounts_pkey"));
    let mut con2 = server.client(false);
    let Value::Array(flat) = query(&mut con2, &["EXPLAIN", "raise"]).unwrap() else { panic!("array") };
    assert_eq!(flat[0], text("name"));
    assert_eq!(flat[3], text("write"));
    let maintains = flat.iter().position(|v| *v == text("maintains")).unwrap();
    assert!(format!("{:?}", flat[maintains + 1]).contains("table accounts"));
}

#[test]
fn expressions_without_a_table_and_limits() {
    let server = Server::start(SCHEMA);
    let mut con = server.client(false);
    query(
        &mut con,
        &["PREPARE", "calc", "SELECT $1::bigint * 2, 'a' || $2::text, COALESCE(NULL, 3), 7 / 2, -7 % 3, 1.5 + 1"],
    )
    .unwrap();
    assert_eq!(
        query(&mut con, &["EXECUTE", "calc", "21", "b"]).unwrap(),
        row(vec![Value::Int(42), text("ab"), Value::Int(3), Value::Int(3), Value::Int(-1), text("2.5")])
    );
    query(&mut con, &["PREPARE", "limited", "SELECT id FROM accounts WHERE id = $1 LIMIT $2"]).unwrap();
    query(&mut con, &["EXECUTE", "add", "1", "ann"]).unwrap();
    assert_eq!(query(&mut con, &["EXECUTE", "limited", "1", "0"]).unwrap(), Value::Array(vec![]));
    assert_eq!(query(&mut con, &["EXECUTE", "limited", "1", "5"]).unwrap(), row(vec![Value::Int(1)]));
    assert!(error_of(query(&mut con, &["EXECUTE", "limited", "1", "-1"])).starts_with("DATA"));
    query(&mut con, &["PREPARE", "div", "SELECT credit_limit / $2 FROM accounts WHERE id = $1"]).unwrap();
    assert!(error_of(query(&mut con, &["EXECUTE", "div", "1", "0"])).contains("division by zero"));
}

#[test]
fn constraint_violations_in_a_batch_change_nothing() {
    let schema = "
CREATE TABLE parents (id BIGINT PRIMARY KEY, budget BIGINT NOT NULL CHECK (budget >= 0));
CREATE TABLE children (id BIGINT PRIMARY KEY, parent BIGINT NOT NULL REFERENCES parents ON DELETE CASCADE, name TEXT UNIQUE);
PREPARE add_parent AS INSERT INTO parents VALUES ($1, $2);
PREPARE spend AS UPDATE parents SET budget = budget - $2 WHERE id = $1;
PREPARE add_child AS INSERT INTO children VALUES ($1, $2, $3);
PREPARE drop_parent AS DELETE FROM parents WHERE id = $1;
PREPARE children_of AS SELECT id, name FROM children WHERE parent = $1 ORDER BY id;
PREPARE parent AS SELECT id, budget FROM parents WHERE id = $1;
";
    let server = Server::start(schema);
    let mut con = server.client(false);
    query(&mut con, &["EXECUTE", "add_parent", "1", "100"]).unwrap();
    query(&mut con, &["EXECUTE", "add_child", "10", "1", "a"]).unwrap();
    let snapshot = |con: &mut redis::Connection| {
        (query(con, &["EXECUTE", "parent", "1"]).unwrap(), query(con, &["EXECUTE", "children_of", "1"]).unwrap())
    };
    let before = snapshot(&mut con);
    for (third, code) in [
        (vec!["EXECUTE", "spend", "1", "500"], "CONSTRAINT"),
        (vec!["EXECUTE", "add_child", "12", "9", "c"], "CONSTRAINT"),
        (vec!["EXECUTE", "add_child", "12", "1", "a"], "CONSTRAINT"),
        (vec!["EXECUTE", "add_parent", "2", "\\N"], "CONSTRAINT"),
        (vec!["EXECUTE", "spend", "1", "9223372036854775807"], "CONSTRAINT"),
    ] {
        // MULTI/EXEC sent one by one: the redis crate's atomic pipeline
        // cannot surface an error that EXEC itself returns.
        query(&mut con, &["MULTI"]).unwrap();
        query(&mut con, &["EXECUTE", "spend", "1", "10"]).unwrap();
        query(&mut con, &["EXECUTE", "add_child", "11", "1", "b"]).unwrap();
        query(&mut con, &third).unwrap();
        let e = error_of(query(&mut con, &["EXEC"]));
        assert!(e.starts_with(code) || e.starts_with("DATA"), "{third:?}: {e}");
        assert!(e.contains("command 3"), "{e}");
        assert_eq!(snapshot(&mut con), before, "{third:?}");
    }
    // The same violations inside a function roll the whole call back.
    let library = "#!lua name=batch
redis.register_function('try', function(keys, args)
  aotdb.execute('spend', 1, 10)
  aotdb.execute('add_child', 11, 1, 'b')
  aotdb.execute(table.unpack(args))
end)";
    query(&mut con, &["FUNCTION", "LOAD", library]).unwrap();
    for third in [vec!["spend", "1", "500"], vec!["add_child", "12", "9", "c"], vec!["add_child", "12", "1", "a"]] {
        let mut args = vec!["FCALL", "try", "0"];
        args.extend_from_slice(&third);
        let e = error_of(query(&mut con, &args));
        assert!(e.starts_with("CONSTRAINT"), "{third:?}: {e}");
        assert_eq!(snapshot(&mut con), before, "{third:?}");
    }
    // Cascade works as a whole and is undone as a whole.
    query(&mut con, &["MULTI"]).unwrap();
    query(&mut con, &["EXECUTE", "drop_parent", "1"]).unwrap();
    query(&mut con, &["EXECUTE", "add_child", "20", "1", "z"]).unwrap();
    let e = error_of(query(&mut con, &["EXEC"]));
    assert!(e.contains("foreign key"), "{e}");
    assert_eq!(snapshot(&mut con), before);
    query(&mut con, &["EXECUTE", "drop_parent", "1"]).unwrap();
    assert_eq!(query(&mut con, &["EXECUTE", "children_of", "1"]).unwrap(), Value::Array(vec![]));
}
