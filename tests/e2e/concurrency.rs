//! Many clients at once: 50 connections insert and read concurrently, and
//! the table ends up exactly as the reference (SQLite fed the same rows),
//! with the executor on the network thread and on a thread of its own.

use std::thread;

use redis::Value;

use crate::harness::{query, Server};

const SCHEMA: &str = "
CREATE TABLE events (id BIGINT PRIMARY KEY, client INTEGER NOT NULL, seq INTEGER NOT NULL, body TEXT);
PREPARE put AS INSERT INTO events (id, client, seq, body) VALUES ($1, $2, $3, $4);
PREPARE get AS SELECT id, client, seq, body FROM events WHERE id = $1;
PREPARE touch AS UPDATE events SET seq = seq + 1 WHERE id = $1;
";

const CLIENTS: i64 = 50;
const PER_CLIENT: i64 = 60;

#[test]
fn fifty_concurrent_clients_end_with_the_reference_table_one_thread() {
    fifty_concurrent_clients(&["--io-threads", "0"]);
}

#[test]
fn fifty_concurrent_clients_end_with_the_reference_table_executor_thread() {
    fifty_concurrent_clients(&["--io-threads", "2"]);
}

/// `extra` picks the threading: the executor on the network thread, or
/// on a thread of its own behind a channel.
fn fifty_concurrent_clients(extra: &[&str]) {
    let server = Server::start_with(SCHEMA, extra).expect("server starts");
    let url = server.url(false);
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let url = url.clone();
            thread::spawn(move || {
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                for s in 0..PER_CLIENT {
                    let id = c * 1000 + s;
                    let body = format!("client {c} event {s}");
                    let n: i64 =
                        redis::cmd("EXECUTE").arg("put").arg(id).arg(c).arg(s).arg(&body).query(&mut con).unwrap();
                    assert_eq!(n, 1);
                    if s % 3 == 0 {
                        let n: i64 = redis::cmd("EXECUTE").arg("touch").arg(id).query(&mut con).unwrap();
                        assert_eq!(n, 1);
                    }
                    // Read another client's row: it is either absent or whole.
                    let other = ((c + 1) % CLIENTS) * 1000 + s;
                    let v: Value = redis::cmd("EXECUTE").arg("get").arg(other).query(&mut con).unwrap();
                    if let Value::Array(rows) = v {
                        assert!(rows.len() <= 1);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }

    let reference = rusqlite::Connection::open_in_memory().unwrap();
    reference
        .execute_batch(
            "CREATE TABLE events (id BIGINT PRIMARY KEY, client INTEGER NOT NULL, seq INTEGER NOT NULL, body TEXT);",
        )
        .unwrap();
    for c in 0..CLIENTS {
        for s in 0..PER_CLIENT {
            reference
                .execute(
                    "INSERT INTO events VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params![c * 1000 + s, c, s, format!("client {c} event {s}")],
                )
                .unwrap();
            if s % 3 == 0 {
                reference.execute("UPDATE events SET seq = seq + 1 WHERE id = ?1", [c * 1000 + s]).unwrap();
            }
        }
    }
    let mut con = server.client(false);
    assert_eq!(query(&mut con, &["DBSIZE"]).unwrap(), Value::Int(CLIENTS * PER_CLIENT));
    let mut stmt = reference.prepare("SELECT id, client, seq, body FROM events ORDER BY id").unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?)))
        .unwrap();
    for r in rows {
        let (id, client, seq, body) = r.unwrap();
        let got = query(&mut con, &["EXECUTE", "get", &id.to_string()]).unwrap();
        let expected = Value::Array(vec![Value::Array(vec![
            Value::Int(id),
            Value::Int(client),
            Value::Int(seq),
            Value::BulkString(body.into_bytes()),
        ])]);
        assert_eq!(got, expected, "row {id}");
    }
}
