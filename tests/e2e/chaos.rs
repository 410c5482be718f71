//! Chaos: a few hundred connections at once mixing real workload traffic
//! with garbage, oversized requests, clients that never read and clients
//! that vanish mid-request. Afterwards the server answers, its memory is
//! back near where it started, and every acknowledged write is there.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{query, Server};
use redis::Value;

const SCHEMA: &str = "
CREATE TABLE acct (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL, note TEXT);
PREPARE open AS INSERT INTO acct (id, balance, note) VALUES ($1, $2, $3);
PREPARE add AS UPDATE acct SET balance = balance + $2, note = $3 WHERE id = $1;
PREPARE get AS SELECT balance, note FROM acct WHERE id = $1;
";

const WORKERS: u64 = 12;
const IDS_PER_WORKER: u64 = 200;
const RUN_FOR: Duration = Duration::from_secs(6);

/// A small deterministic generator, one per thread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn used_memory(con: &mut redis::Connection) -> u64 {
    let info = match query(con, &["INFO", "memory"]) {
        Ok(Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("INFO memory: {other:?}"),
    };
    info.lines().find_map(|l| l.strip_prefix("used_memory:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

fn connect(port: u16) -> Option<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    s.set_write_timeout(Some(Duration::from_millis(500))).ok()?;
    Some(s)
}

/// Valid traffic: each worker owns its ids and keeps the reference of
/// every write the server acknowledged. A write whose reply was lost is
/// ambiguous, so that id leaves the comparison.
fn worker(port: u16, n: u64, stop: Arc<AtomicBool>) -> HashMap<u64, Option<(i64, String)>> {
    let url = format!("redis://127.0.0.1:{port}/");
    let mut con = redis::Client::open(url).and_then(|c| c.get_connection()).expect("worker connects");
    let mut rng = Rng(0x9E37_79B9 + n);
    let mut reference: HashMap<u64, Option<(i64, String)>> = HashMap::new();
    let first = 1 + n * IDS_PER_WORKER;
    for id in first..first + IDS_PER_WORKER {
        query(&mut con, &["EXECUTE", "open", &id.to_string(), "0", "new"]).expect("open");
        reference.insert(id, Some((0, "new".into())));
    }
    while !stop.load(Ordering::Relaxed) {
        let id = first + rng.below(IDS_PER_WORKER);
        let delta = rng.below(1000) as i64 - 500;
        let note = format!("w{n}-{}", rng.below(1_000_000));
        if rng.below(4) == 0 {
            // A MULTI block of two updates: both or neither.
            let other = first + rng.below(IDS_PER_WORKER);
            let result: redis::RedisResult<Value> = redis::pipe()
                .atomic()
                .cmd("EXECUTE")
                .arg("add")
                .arg(id)
                .arg(delta)
                .arg(&note)
                .cmd("EXECUTE")
                .arg("add")
                .arg(other)
                .arg(-delta)
                .arg(&note)
                .query(&mut con);
            match result {
                Ok(_) => {
                    for (i, d) in [(id, delta), (other, -delta)] {
                        if let Some(Some((b, n))) = reference.get_mut(&i) {
                            *b += d;
                            *n = note.clone();
                        }
                    }
                }
                Err(_) => {
                    reference.insert(id, None);
                    reference.insert(other, None);
                }
            }
        } else {
            match query(&mut con, &["EXECUTE", "add", &id.to_string(), &delta.to_string(), &note]) {
                Ok(Value::Int(1)) => {
                    if let Some(Some((b, n))) = reference.get_mut(&id) {
                        *b += delta;
                        *n = note;
                    }
                }
                _ => {
                    reference.insert(id, None);
                }
            }
        }
    }
    reference
}

/// Hostile traffic of one kind, over and over, each on a new connection.
fn hostile(port: u16, kind: u64, seed: u64, stop: Arc<AtomicBool>, opened: Arc<AtomicU64>) {
    let mut rng = Rng(seed);
    while !stop.load(Ordering::Relaxed) {
        let Some(mut s) = connect(port) else {
            thread::sleep(Duration::from_millis(20));
            continue;
        };
        opened.fetch_add(1, Ordering::Relaxed);
        match kind {
            // Garbage: random bytes, then read whatever comes back.
            0 => {
                let junk: Vec<u8> = (0..1 + rng.below(2000)).map(|_| rng.next() as u8).collect();
                let _ = s.write_all(&junk);
                let mut sink = [0u8; 4096];
                let _ = s.read(&mut sink);
            }
            // Oversized or malformed declarations.
            1 => {
                let cases: [&[u8]; 5] = [
                    b"*1\r\n$999999999999\r\n",
                    b"*99999999\r\n",
                    b"*2\r\n$4\r\nECHO\r\n$-7\r\n",
                    b"*1\r\n*1\r\n$1\r\na\r\n",
                    b"*3\r\n$7\r\nEXECUTE\r\n$3\r\nget\r\n$1\r\n",
                ];
                let _ = s.write_all(cases[rng.below(cases.len() as u64) as usize]);
                if rng.below(2) == 0 {
                    // An inline line longer than the inline limit.
                    let _ = s.write_all(&vec![b'A'; 70 * 1024]);
                }
                let mut sink = [0u8; 4096];
                let _ = s.read(&mut sink);
            }
            // A client that sends big requests and never reads the replies.
            2 => {
                let payload = "z".repeat(if rng.below(2) == 0 { 64 * 1024 } else { 1536 * 1024 });
                let request = format!("*2\r\n$4\r\nECHO\r\n${}\r\n{payload}\r\n", payload.len());
                let until = Instant::now() + Duration::from_millis(1500);
                while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    if s.write_all(request.as_bytes()).is_err() {
                        break;
                    }
                }
            }
            // Gone mid-request, or mid-transaction.
            _ => {
                let cases: [&[u8]; 3] = [
                    b"*4\r\n$7\r\nEXECUTE\r\n$3\r\nadd\r\n$1\r\n1",
                    b"MULTI\r\nEXECUTE add 1 1000000 lost\r\n",
                    b"*2\r\n$4\r\nECHO\r\n$100000\r\nabc",
                ];
                let _ = s.write_all(cases[rng.below(cases.len() as u64) as usize]);
            }
        }
        drop(s);
    }
}

#[test]
fn hostile_clients_do_not_hurt_the_others() {
    let server = Server::start_with(
        SCHEMA,
        &[
            "--fsync",
            "no",
            "--max-clients",
            "2000",
            "--client-output-buffer-limit",
            "1048576",
            "--client-write-timeout",
            "1",
            "--max-request-bytes",
            "4194304",
        ],
    )
    .expect("start");
    let port = server.port;
    let mut admin = server.client(false);
    let before = used_memory(&mut admin);

    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|n| {
            let stop = stop.clone();
            thread::spawn(move || worker(port, n, stop))
        })
        .collect();
    // 4 kinds x 12 threads, each opening connection after connection.
    let hostiles: Vec<_> = (0..48u64)
        .map(|i| {
            let (stop, opened) = (stop.clone(), opened.clone());
            thread::spawn(move || hostile(port, i % 4, 0xDEAD_BEEF + i, stop, opened))
        })
        .collect();
    let start = Instant::now();
    let mut peak = before;
    while start.elapsed() < RUN_FOR {
        thread::sleep(Duration::from_millis(100));
        peak = peak.max(used_memory(&mut admin));
    }
    stop.store(true, Ordering::Relaxed);
    for h in hostiles {
        h.join().expect("hostile thread");
    }
    let mut reference = HashMap::new();
    for w in workers {
        reference.extend(w.join().expect("worker thread"));
    }
    // Connections the server is still closing finish within the write
    // timeout.
    thread::sleep(Duration::from_millis(1500));
    let after = used_memory(&mut admin);
    let hostile_connections = opened.load(Ordering::Relaxed);
    eprintln!(
        "chaos: {hostile_connections} hostile connections; used_memory before {before}, peak {peak}, after {after}"
    );
    assert!(hostile_connections >= 200, "only {hostile_connections} hostile connections were made");

    // The server answers, and holds exactly the acknowledged writes.
    assert_eq!(query(&mut admin, &["PING"]).unwrap(), Value::SimpleString("PONG".into()));
    let mut checked = 0;
    for (id, expected) in &reference {
        let Some((balance, note)) = expected else { continue };
        let got = query(&mut admin, &["EXECUTE", "get", &id.to_string()]).unwrap();
        let want =
            Value::Array(vec![Value::Array(vec![Value::Int(*balance), Value::BulkString(note.clone().into_bytes())])]);
        assert_eq!(got, want, "account {id}");
        checked += 1;
    }
    assert!(checked as u64 > WORKERS * IDS_PER_WORKER * 9 / 10, "only {checked} accounts were unambiguous");
    // Memory is back near where it started: the rows written are the
    // same rows, only their values changed.
    let slack = 16 * 1024 * 1024;
    assert!(after <= before + slack, "used_memory {before} before, {after} after (peak {peak})");
}
