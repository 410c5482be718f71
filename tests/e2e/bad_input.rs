//! Hostile and broken input: each case gets an error or a closed
//! connection for that client, and the server goes on serving others.

use std::io::Write;
use std::time::Duration;

use crate::harness::{error_of, query, Server};
use redis::Value;

const SCHEMA: &str = "
CREATE TABLE t (id BIGINT PRIMARY KEY, n INTEGER, s VARCHAR(3), ts TIMESTAMP);
PREPARE put AS INSERT INTO t (id, n, s, ts) VALUES ($1, $2, $3, $4);
PREPARE get AS SELECT id, n, s, ts FROM t WHERE id = $1;
PREPARE inc AS UPDATE t SET n = n + $2 WHERE id = $1;
";

/// Another client can still PING and read data.
fn still_serving(server: &Server) {
    let mut con = server.client(false);
    assert_eq!(query(&mut con, &["PING"]).unwrap(), Value::SimpleString("PONG".into()));
    query(&mut con, &["EXECUTE", "get", "1"]).expect("reads still work");
}

#[test]
fn malformed_frames_close_only_that_connection() {
    let server = Server::start(SCHEMA);
    let cases: &[&[u8]] = &[
        b"*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\na\r\n", // nested array
        b"*1\r\n$abc\r\n",                        // bad bulk length
        b"*-\r\n",                                // bad count
        b"*1\r\n$3\r\nabcdef\r\n",                // bulk longer than declared
        b"*1\r\n:12\r\n",                         // integer where a bulk belongs
        b"PING \"unterminated\r\n",               // unbalanced quotes
    ];
    for case in cases {
        let mut raw = server.raw();
        raw.send(case);
        let reply = raw.read_exact_len(19);
        assert!(
            reply.starts_with(b"-ERR Protocol error"),
            "{:?} -> {:?}",
            String::from_utf8_lossy(case),
            String::from_utf8_lossy(&reply)
        );
        assert!(raw.is_closed(), "connection stays open after {:?}", String::from_utf8_lossy(case));
        still_serving(&server);
    }
}

#[test]
fn huge_declared_lengths_allocate_nothing() {
    let server = Server::start(SCHEMA);
    for case in
        [&b"*2147483647\r\n"[..], b"*1\r\n$2147483647\r\n", b"*1\r\n$9999999999999\r\n", b"*99999999999999999999\r\n"]
    {
        let mut raw = server.raw();
        raw.send(case);
        let reply = raw.read_exact_len(19);
        assert!(reply.starts_with(b"-ERR Protocol error"), "{:?}", String::from_utf8_lossy(&reply));
        still_serving(&server);
    }
    // A declared bulk within limits but never sent just waits; the client
    // can go away and nothing else notices.
    let mut raw = server.raw();
    raw.send(b"*2\r\n$4\r\nECHO\r\n$100000000\r\nabc");
    std::thread::sleep(Duration::from_millis(100));
    drop(raw);
    still_serving(&server);
}

#[test]
fn garbage_bytes_and_mid_command_disconnects() {
    let server = Server::start(SCHEMA);
    let mut raw = server.raw();
    let garbage: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let _ = raw.stream.write_all(&garbage);
    drop(raw);
    still_serving(&server);
    for cut in [3usize, 10, 20, 30] {
        let full = b"*4\r\n$7\r\nEXECUTE\r\n$3\r\nput\r\n$1\r\n9\r\n";
        let mut raw = server.raw();
        raw.send(&full[..cut.min(full.len())]);
        drop(raw);
    }
    still_serving(&server);
    // A long inline line without a newline is refused past the limit.
    let mut raw = server.raw();
    let _ = raw.stream.write_all(&vec![b'a'; 70 * 1024]);
    let reply = raw.read_exact_len(19);
    assert!(reply.starts_with(b"-ERR Protocol error"), "{:?}", String::from_utf8_lossy(&reply));
    still_serving(&server);
}

#[test]
fn bad_arguments_name_the_statement_and_parameter_and_change_nothing() {
    let server = Server::start(SCHEMA);
    let mut con = server.client(false);
    query(&mut con, &["EXECUTE", "put", "1", "5", "ab", "2026-11-22 13:05:00"]).unwrap();
    let e = error_of(query(&mut con, &["EXECUTE", "put", "2", "five", "ab", "\\N"]));
    assert!(e.starts_with("TYPE") && e.contains("\"put\"") && e.contains("$2"), "{e}");
    let e = error_of(query(&mut con, &["EXECUTE", "put", "2", "99999999999", "ab", "\\N"]));
    assert!(e.starts_with("TYPE") && e.contains("$2") && e.contains("out of range"), "{e}");
    let e = error_of(query(&mut con, &["EXECUTE", "put", "2", "1", "ab", "yesterday"]));
    assert!(e.starts_with("TYPE") && e.contains("$4") && e.contains("timestamp"), "{e}");
    let e = error_of(query(&mut con, &["EXECUTE", "put", "2", "1"]));
    assert!(e.starts_with("ERR") && e.contains("\"put\" takes 4 arguments, got 2"), "{e}");
    let e = error_of(query(&mut con, &["EXECUTE", "nosuch", "1"]));
    assert!(e.starts_with("NOSTATEMENT"), "{e}");
    let e = error_of(query(&mut con, &["EXECUTE", "put", "2", "1", "abcd", "\\N"]));
    assert!(e.starts_with("DATA") && e.contains("too long"), "{e}");
    let e = error_of(query(&mut con, &["EXECUTE", "put", "1", "1", "x", "\\N"]));
    assert!(e.starts_with("CONSTRAINT") && e.contains("t_pkey") && e.contains("(id)=(1)"), "{e}");
    let e = error_of(query(&mut con, &["EXECUTE", "put", "\\N", "1", "x", "\\N"]));
    assert!(e.starts_with("CONSTRAINT") && e.contains("not-null"), "{e}");
    let e = error_of(query(&mut con, &["EXECUTE", "inc", "1", "2147483647"]));
    assert!(e.starts_with("DATA") && e.contains("integer out of range"), "{e}");
    assert_eq!(query(&mut con, &["DBSIZE"]).unwrap(), Value::Int(1));
    let row = query(&mut con, &["EXECUTE", "get", "1"]).unwrap();
    assert_eq!(
        row,
        Value::Array(vec![Value::Array(vec![
            Value::Int(1),
            Value::Int(5),
            Value::BulkString(b"ab".to_vec()),
            Value::BulkString(b"2026-11-22 13:05:00".to_vec()),
        ])])
    );
    // Arguments that are not UTF-8 are refused for text parameters.
    let e = error_of(
        redis::cmd("EXECUTE").arg("put").arg("3").arg("1").arg(&b"\xff\xfe"[..]).arg("\\N").query::<Value>(&mut con),
    );
    assert!(e.starts_with("TYPE") && e.contains("$3"), "{e}");
}

#[test]
fn registration_errors_are_clear_and_change_nothing() {
    let server = Server::start(SCHEMA);
    let mut con = server.client(false);
    let e = error_of(query(&mut con, &["PREPARE", "q", "SELECT nope FROM t WHERE id = $1"]));
    assert!(e.starts_with("SCHEMA") && e.contains("column \"nope\" does not exist"), "{e}");
    let e = error_of(query(&mut con, &["PREPARE", "q", "SELECT id FROM t WHERE n * 2 > $1"]));
    assert!(e.starts_with("SCAN") && e.contains("`n * 2 > $1`"), "{e}");
    let e = error_of(query(&mut con, &["PREPARE", "q", "SELECT id FROM t WHERE n = $1 OR s = $2"]));
    assert!(e.starts_with("SCAN") && e.contains("`n = $1 OR s = $2`"), "{e}");
    let e = error_of(query(&mut con, &["PREPARE", "q", "SELECT id FROM t a JOIN t b ON a.id = b.n"]));
    assert!(e.starts_with("UNSUPPORTED") && e.contains("self-joins are not supported yet"), "{e}");
    let e = error_of(query(&mut con, &["PREPARE", "q", "SELEC id FROM t"]));
    assert!(e.starts_with("SYNTAX"), "{e}");
    let e = error_of(query(&mut con, &["DEFINE", "CREATE TABLE u (x INT PRIMARY KEY);\nCREATE TABLE t (y INT);"]));
    assert!(e.starts_with("SCHEMA") && e.contains("line 2") && e.contains("already exists"), "{e}");
    // The failed script created nothing.
    let e = error_of(query(&mut con, &["PREPARE", "q", "SELECT x FROM u WHERE x = $1"]));
    assert!(e.contains("relation \"u\" does not exist"), "{e}");
    let e = error_of(query(&mut con, &["DEFINE", "DROP TABLE t"]));
    assert!(e.starts_with("SCHEMA") && e.contains("get, inc, put"), "{e}");
}

#[test]
fn a_bad_schema_file_fails_fast_with_file_line_and_reason() {
    let err =
        Server::start_with("CREATE TABLE a (x INT PRIMARY KEY);\n\nPREPARE q AS SELECT y FROM a WHERE x = $1;\n", &[])
            .err()
            .expect("start fails");
    assert!(err.contains("schema.sql: line 3: PREPARE q: column \"y\" does not exist"), "{err}");
}
