//! The Redis protocol surface: RESP2/RESP3, inline commands, pipelining,
//! connection and server commands, byte for byte where it matters.

use crate::harness::{error_of, query, Server};
use redis::Value;

const SCHEMA: &str = "
CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT, f DOUBLE PRECISION, b BOOLEAN);
PREPARE put AS INSERT INTO kv (k, v, f, b) VALUES ($1, $2, $3, $4);
PREPARE get AS SELECT v, f, b, k FROM kv WHERE k = $1;
";

#[test]
fn inline_and_multibulk_ping_and_echo() {
    let server = Server::start("");
    let mut raw = server.raw();
    raw.roundtrip(b"PING\r\n", b"+PONG\r\n");
    raw.roundtrip(b"ping hello\r\n", b"$5\r\nhello\r\n");
    raw.roundtrip(b"*2\r\n$4\r\nECHO\r\n$3\r\na b\r\n", b"$3\r\na b\r\n");
    raw.roundtrip(b"ECHO \"two words\"\n", b"$9\r\ntwo words\r\n");
    // Blank lines are ignored, as Redis ignores them.
    raw.roundtrip(b"\r\n\r\nPING\r\n", b"+PONG\r\n");
}

#[test]
fn unknown_commands_and_wrong_arity_use_redis_wording() {
    let server = Server::start("");
    let mut raw = server.raw();
    raw.roundtrip(
        b"*3\r\n$3\r\nFOO\r\n$1\r\na\r\n$1\r\nb\r\n",
        b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n",
    );
    raw.roundtrip(b"ECHO\r\n", b"-ERR wrong number of arguments for 'echo' command\r\n");
    raw.roundtrip(b"GET key\r\n", b"-ERR unknown command 'GET', with args beginning with: 'key' \r\n");
}

#[test]
fn hello_switches_between_resp2_and_resp3() {
    let server = Server::start(SCHEMA);
    let mut raw = server.raw();
    raw.roundtrip(b"EXECUTE put a 1 0.5 t\r\n", b":1\r\n");
    // RESP2: booleans as integers, doubles as bulk strings, NULL as $-1.
    raw.roundtrip(b"EXECUTE get a\r\n", b"*1\r\n*4\r\n:1\r\n$3\r\n0.5\r\n:1\r\n$1\r\na\r\n");
    raw.send(b"HELLO 3\r\n");
    let hello = raw.read_exact_len(3);
    assert_eq!(&hello, b"%7\r");
    let _ = raw.read_exact_len(1);
    let mut rest = Vec::new();
    // Drain the rest of the HELLO map.
    raw.stream.set_read_timeout(Some(std::time::Duration::from_millis(300))).ok();
    let mut buf = [0u8; 4096];
    while let Ok(n) = std::io::Read::read(&mut raw.stream, &mut buf) {
        if n == 0 {
            break;
        }
        rest.extend_from_slice(&buf[..n]);
        if rest.ends_with(b"*0\r\n") {
            break;
        }
    }
    raw.stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).ok();
    assert!(String::from_utf8_lossy(&rest).contains("proto\r\n:3\r\n"), "{}", String::from_utf8_lossy(&rest));
    raw.roundtrip(b"EXECUTE get a\r\n", b"*1\r\n*4\r\n:1\r\n,0.5\r\n#t\r\n$1\r\na\r\n");
    raw.roundtrip(b"EXECUTE get missing\r\n", b"*0\r\n");
    raw.roundtrip(b"EXECUTE put n \\N \\N \\N\r\n", b":1\r\n");
    raw.roundtrip(b"EXECUTE get n\r\n", b"*1\r\n*4\r\n_\r\n_\r\n_\r\n$1\r\nn\r\n");
    raw.send(b"HELLO 2\r\n");
    let back = raw.read_exact_len(4);
    assert_eq!(&back, b"*14\r");
    let _ = raw.read_exact_len(200);
    let mut raw = server.raw();
    raw.roundtrip(b"EXECUTE get n\r\n", b"*1\r\n*4\r\n$-1\r\n$-1\r\n$-1\r\n$1\r\nn\r\n");
    raw.roundtrip(b"HELLO 4\r\n", b"-NOPROTO unsupported protocol version\r\n");
}

#[test]
fn a_thousand_pipelined_executes_in_one_write_come_back_in_order() {
    let server = Server::start(SCHEMA);
    let mut raw = server.raw();
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for i in 0..1000 {
        let key = format!("k{i}");
        let value = (i * 7).to_string();
        request.extend_from_slice(
            format!(
                "*6\r\n$7\r\nEXECUTE\r\n$3\r\nput\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n$2\r\n\\N\r\n$2\r\n\\N\r\n",
                key.len(),
                value.len()
            )
            .as_bytes(),
        );
        expected.extend_from_slice(b":1\r\n");
    }
    for i in 0..1000 {
        let key = format!("k{i}");
        let value = (i * 7).to_string();
        request
            .extend_from_slice(format!("*3\r\n$7\r\nEXECUTE\r\n$3\r\nget\r\n${}\r\n{key}\r\n", key.len()).as_bytes());
        expected
            .extend_from_slice(format!("*1\r\n*4\r\n:{value}\r\n$-1\r\n$-1\r\n${}\r\n{key}\r\n", key.len()).as_bytes());
    }
    raw.roundtrip(&request, &expected);
}

#[test]
fn client_commands() {
    let server = Server::start("");
    let mut con = server.client(false);
    assert_eq!(query(&mut con, &["CLIENT", "GETNAME"]).unwrap(), Value::Nil);
    assert_eq!(query(&mut con, &["CLIENT", "SETNAME", "worker-1"]).unwrap(), Value::Okay);
    assert_eq!(query(&mut con, &["CLIENT", "GETNAME"]).unwrap(), Value::BulkString(b"worker-1".to_vec()));
    let Value::Int(id) = query(&mut con, &["CLIENT", "ID"]).unwrap() else { panic!("CLIENT ID") };
    assert!(id > 0);
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
    assert!(list.contains("name=worker-1"), "{list}");
    assert!(list.contains("lib-name=redis-rs"), "{list}");
    let info: String = redis::cmd("CLIENT").arg("INFO").query(&mut con).unwrap();
    assert!(info.contains(&format!("id={id} ")), "{info}");
    assert!(error_of(query(&mut con, &["CLIENT", "SETNAME", "a b"])).contains("cannot contain spaces"));
    assert!(error_of(query(&mut con, &["CLIENT", "NOPE"])).contains("unknown subcommand 'NOPE'"));
    assert_eq!(query(&mut con, &["SELECT", "0"]).unwrap(), Value::Okay);
    assert!(error_of(query(&mut con, &["SELECT", "1"])).contains("DB index is out of range"));
}

#[test]
fn command_introspection_for_redis_cli() {
    let server = Server::start("");
    let mut con = server.client(false);
    let Value::Int(count) = query(&mut con, &["COMMAND", "COUNT"]).unwrap() else { panic!() };
    let Value::Array(all) = query(&mut con, &["COMMAND"]).unwrap() else { panic!() };
    assert_eq!(all.len() as i64, count);
    let Value::Array(info) = query(&mut con, &["COMMAND", "INFO", "execute", "nosuch"]).unwrap() else { panic!() };
    assert_eq!(info[1], Value::Nil);
    let Value::Array(entry) = &info[0] else { panic!() };
    assert_eq!(entry[0], Value::BulkString(b"execute".to_vec()));
    assert_eq!(entry[1], Value::Int(-2));
    // RESP2 flattens the DOCS map into name, docs, name, docs...
    let Value::Array(docs) = query(&mut con, &["COMMAND", "DOCS"]).unwrap() else { panic!() };
    assert_eq!(docs.len() as i64, 2 * count);
    let mut con3 = server.client(true);
    let Value::Map(docs3) = query(&mut con3, &["COMMAND", "DOCS", "explain"]).unwrap() else { panic!() };
    assert_eq!(docs3.len(), 1);
}

#[test]
fn info_dbsize_quit_and_reset() {
    let server = Server::start(SCHEMA);
    let mut con = server.client(false);
    query(&mut con, &["EXECUTE", "put", "x", "1", "2", "f"]).unwrap();
    query(&mut con, &["EXECUTE", "put", "y", "1", "2", "f"]).unwrap();
    assert_eq!(query(&mut con, &["DBSIZE"]).unwrap(), Value::Int(2));
    let info: String = redis::cmd("INFO").query(&mut con).unwrap();
    for needle in [
        "# Server",
        "# Clients",
        "connected_clients:1",
        "# Memory",
        "used_memory:",
        "# Stats",
        "cmdstat_execute:calls=2",
        "# Tables",
        "table_kv:rows=2",
    ] {
        assert!(info.contains(needle), "INFO lacks {needle}:\n{info}");
    }
    let tables: String = redis::cmd("INFO").arg("tables").query(&mut con).unwrap();
    assert!(!tables.contains("# Server"));
    let mut raw = server.raw();
    raw.roundtrip(b"HELLO 3\r\n", b"%7\r\n");
    let _ = raw.read_exact_len(100);
    raw.stream.set_read_timeout(Some(std::time::Duration::from_millis(200))).ok();
    let mut sink = [0u8; 1024];
    while std::io::Read::read(&mut raw.stream, &mut sink).map(|n| n > 0).unwrap_or(false) {}
    raw.stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).ok();
    raw.roundtrip(b"RESET\r\n", b"+RESET\r\n");
    // RESET went back to RESP2.
    raw.roundtrip(b"EXECUTE get x\r\n", b"*1\r\n*4\r\n:1\r\n$1\r\n2\r\n:0\r\n$1\r\nx\r\n");
    raw.roundtrip(b"QUIT\r\n", b"+OK\r\n");
    assert!(raw.is_closed());
}

#[test]
fn config_get_answers_what_benchmarks_ask() {
    let server = Server::start("");
    let mut con = server.client(false);
    let Value::Array(pairs) = query(&mut con, &["CONFIG", "GET", "save", "appendonly"]).unwrap() else { panic!() };
    assert_eq!(pairs.len(), 4);
    let Value::Array(port) = query(&mut con, &["CONFIG", "GET", "po*"]).unwrap() else { panic!() };
    assert_eq!(port[1], Value::BulkString(server.port.to_string().into_bytes()));
}

#[test]
fn shutdown_stops_the_server_cleanly() {
    let mut server = Server::start("");
    let mut raw = server.raw();
    raw.send(b"SHUTDOWN\r\n");
    assert!(raw.is_closed());
    let status = server.wait_exit(std::time::Duration::from_secs(10)).expect("server exits");
    assert!(status.success(), "{status:?}");
}
