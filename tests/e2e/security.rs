//! Authentication, roles and limits: each rule refuses what it must, with
//! its error code, and changes nothing else.

use std::io::Write;
use std::time::Duration;

use crate::harness::{error_of, query, Server, TempDir};
use redis::Value;

const SCHEMA: &str = "
CREATE TABLE t (id BIGINT PRIMARY KEY, g BIGINT NOT NULL, s TEXT);
PREPARE put AS INSERT INTO t (id, g, s) VALUES ($1, $2, $3);
PREPARE get AS SELECT id, g, s FROM t WHERE id = $1;
PREPARE by_group AS SELECT id FROM t WHERE g = $1;
";

fn rows(v: Value) -> usize {
    match v {
        Value::Array(rows) => rows.len(),
        other => panic!("not rows: {other:?}"),
    }
}

fn client_as(server: &Server, user: &str, password: &str) -> redis::Connection {
    let url = format!("redis://{user}:{password}@127.0.0.1:{}/", server.port);
    redis::Client::open(url).and_then(|c| c.get_connection()).expect("connect and authenticate")
}

fn code(result: redis::RedisResult<Value>) -> String {
    error_of(result).split_whitespace().next().unwrap_or("").to_string()
}

#[test]
fn requirepass_refuses_everything_before_auth() {
    let server = Server::start_with(SCHEMA, &["--requirepass", "s3cret-pass"]).expect("start");
    let mut raw = server.raw();
    raw.send(b"PING\r\n");
    assert_eq!(raw.read_line().trim_end().to_string(), "-NOAUTH Authentication required.");
    raw.send(b"EXECUTE put 1 1 a\r\n");
    assert_eq!(raw.read_line().trim_end().to_string(), "-NOAUTH Authentication required.");
    raw.send(b"AUTH wrong\r\n");
    assert!(raw.read_line().trim_end().to_string().starts_with("-WRONGPASS"));
    raw.send(b"AUTH nobody s3cret-pass\r\n");
    assert!(raw.read_line().trim_end().to_string().starts_with("-WRONGPASS"));
    raw.send(b"HELLO 3\r\n");
    assert!(raw.read_line().trim_end().to_string().starts_with("-NOAUTH HELLO must be called"));
    raw.send(b"AUTH s3cret-pass\r\n");
    assert_eq!(raw.read_line().trim_end().to_string(), "+OK");
    raw.send(b"EXECUTE put 1 1 a\r\n");
    assert_eq!(raw.read_line().trim_end().to_string(), ":1");
    // RESET forgets the login.
    raw.send(b"RESET\r\n");
    assert_eq!(raw.read_line().trim_end().to_string(), "+RESET");
    raw.send(b"EXECUTE get 1\r\n");
    assert_eq!(raw.read_line().trim_end().to_string(), "-NOAUTH Authentication required.");
    // HELLO AUTH logs in and switches protocol at once.
    raw.send(b"HELLO 3 AUTH default s3cret-pass\r\n");
    assert!(raw.read_line().trim_end().to_string().starts_with('%'), "a RESP3 map");

    // Nothing refused above wrote anything: one row.
    let mut con = client_as(&server, "default", "s3cret-pass");
    assert_eq!(rows(query(&mut con, &["EXECUTE", "by_group", "1"]).unwrap()), 1);
    let info = match query(&mut con, &["INFO", "stats"]).unwrap() {
        Value::BulkString(b) => String::from_utf8(b).unwrap(),
        other => panic!("{other:?}"),
    };
    assert!(info.contains("auth_failures:2"), "{info}");
    // A client without the password gets nothing.
    let mut anonymous = server.client(false);
    assert_eq!(code(query(&mut anonymous, &["EXECUTE", "get", "1"])), "NOAUTH");
}

#[test]
fn roles_limit_what_each_user_may_run() {
    let dir = TempDir::new("users");
    let users = dir.0.join("users.conf");
    let mut f = std::fs::File::create(&users).unwrap();
    writeln!(f, "# name password role [statements]").unwrap();
    writeln!(f, "root   root-pass   admin").unwrap();
    writeln!(f, "app    app-pass    readwrite").unwrap();
    writeln!(f, "reader reader-pass readonly").unwrap();
    writeln!(f, "getter getter-pass statements get").unwrap();
    drop(f);
    let server = Server::start_with(SCHEMA, &["--users", users.to_str().unwrap()]).expect("start");

    let mut root = client_as(&server, "root", "root-pass");
    let mut app = client_as(&server, "app", "app-pass");
    let mut reader = client_as(&server, "reader", "reader-pass");
    let mut getter = client_as(&server, "getter", "getter-pass");

    assert_eq!(query(&mut app, &["EXECUTE", "put", "1", "7", "a"]).unwrap(), Value::Int(1));
    assert_eq!(code(query(&mut app, &["DEFINE", "PREPARE x AS SELECT id FROM t WHERE id = $1;"])), "NOPERM");
    assert_eq!(code(query(&mut app, &["SHUTDOWN"])), "NOPERM");
    assert_eq!(code(query(&mut app, &["CONFIG", "GET", "*"])), "NOPERM");

    // The read-only user reads, and a write is refused before it runs.
    assert_eq!(rows(query(&mut reader, &["EXECUTE", "get", "1"]).unwrap()), 1);
    assert_eq!(code(query(&mut reader, &["EXECUTE", "put", "2", "7", "b"])), "NOPERM");
    // Inside MULTI the whole block is refused.
    redis::cmd("MULTI").query::<()>(&mut reader).unwrap();
    redis::cmd("EXECUTE").arg("get").arg(1).query::<()>(&mut reader).unwrap();
    redis::cmd("EXECUTE").arg("put").arg(3).arg(7).arg("c").query::<()>(&mut reader).unwrap();
    assert_eq!(code(redis::cmd("EXEC").query::<Value>(&mut reader)), "NOPERM");

    // The named-statements user runs only those.
    assert_eq!(rows(query(&mut getter, &["EXECUTE", "GET", "1"]).unwrap()), 1);
    assert_eq!(code(query(&mut getter, &["EXECUTE", "by_group", "7"])), "NOPERM");
    redis::cmd("MULTI").query::<()>(&mut getter).unwrap();
    assert_eq!(code(query(&mut getter, &["EXECUTE", "put", "4", "7", "d"])), "NOPERM");
    assert_eq!(code(redis::cmd("EXEC").query::<Value>(&mut getter)), "EXECABORT");

    // Who is who.
    assert_eq!(query(&mut app, &["ACL", "WHOAMI"]).unwrap(), Value::BulkString(b"app".to_vec()));
    assert_eq!(code(query(&mut app, &["ACL", "USERS"])), "NOPERM");
    let names = query(&mut root, &["ACL", "USERS"]).unwrap();
    let want: Vec<Value> =
        ["app", "getter", "reader", "root"].iter().map(|n| Value::BulkString(n.as_bytes().to_vec())).collect();
    assert_eq!(names, Value::Array(want));
    assert!(error_of(query(&mut root, &["ACL", "SETUSER", "x"])).contains("not supported"));
    let list = match query(&mut root, &["CLIENT", "LIST"]).unwrap() {
        Value::VerbatimString { text, .. } => text,
        Value::BulkString(b) => String::from_utf8(b).unwrap(),
        other => panic!("{other:?}"),
    };
    for user in ["root", "app", "reader", "getter"] {
        assert!(list.contains(&format!(" user={user} ")), "{list}");
    }

    // The admin may change the catalog.
    assert_eq!(query(&mut root, &["DEFINE", "PREPARE x AS SELECT id FROM t WHERE id = $1;"]).unwrap(), Value::Okay);
    // Only the app's one row was written.
    assert_eq!(rows(query(&mut root, &["EXECUTE", "by_group", "7"]).unwrap()), 1);
    // A wrong password for a real user is refused.
    let url = format!("redis://app:nope@127.0.0.1:{}/", server.port);
    assert!(redis::Client::open(url).and_then(|c| c.get_connection()).is_err());
}

#[test]
fn maxmemory_refuses_writes_and_serves_reads() {
    let server = Server::start_with(SCHEMA, &["--in-memory", "--maxmemory", "1"]).expect("start");
    let mut con = server.client(false);
    let refused = error_of(query(&mut con, &["EXECUTE", "put", "1", "1", "a"]));
    assert!(refused.starts_with("OOM command not allowed"), "{refused}");
    assert_eq!(rows(query(&mut con, &["EXECUTE", "get", "1"]).unwrap()), 0);
    assert_eq!(rows(query(&mut con, &["EXECUTE", "by_group", "1"]).unwrap()), 0);
}

#[test]
fn large_results_are_refused_past_max_reply_rows() {
    let server = Server::start_with(SCHEMA, &["--in-memory", "--max-reply-rows", "3"]).expect("start");
    let mut con = server.client(false);
    for id in 1..=5 {
        let g = if id <= 3 { "1" } else { "2" };
        query(&mut con, &["EXECUTE", "put", &id.to_string(), g, "x"]).unwrap();
    }
    assert_eq!(rows(query(&mut con, &["EXECUTE", "by_group", "1"]).unwrap()), 3);
    query(&mut con, &["EXECUTE", "put", "6", "1", "x"]).unwrap();
    let refused = error_of(query(&mut con, &["EXECUTE", "by_group", "1"]));
    assert!(refused.starts_with("TOOMANYROWS"), "{refused}");
    assert_eq!(rows(query(&mut con, &["EXECUTE", "by_group", "2"]).unwrap()), 2);
}

#[test]
fn idle_clients_are_closed_after_the_timeout() {
    let server = Server::start_with(SCHEMA, &["--in-memory", "--timeout", "1"]).expect("start");
    let mut idle = server.raw();
    let mut busy = server.raw();
    for _ in 0..8 {
        busy.send(b"PING\r\n");
        assert_eq!(busy.read_line().trim_end().to_string(), "+PONG");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(idle.is_closed(), "the idle client is still connected");
    busy.send(b"PING\r\n");
    assert_eq!(busy.read_line().trim_end().to_string(), "+PONG");
}

#[test]
fn clients_that_do_not_read_their_replies_are_closed() {
    let server = Server::start_with(
        SCHEMA,
        &["--in-memory", "--client-output-buffer-limit", "5000", "--client-write-timeout", "1"],
    )
    .expect("start");
    // Replies that exceed the limit before the client takes them.
    let mut greedy = server.raw();
    let payload = "x".repeat(10_000);
    let request = format!("*2\r\n$4\r\nECHO\r\n${}\r\n{payload}\r\n", payload.len()).repeat(20);
    greedy.send(request.as_bytes());
    assert!(greedy.is_closed(), "a client over the output limit stays connected");

    // A client that sends big requests and never reads: closed once its
    // replies have waited longer than the write timeout.
    let mut stuck = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stuck.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let big = "y".repeat(90_000);
    let one = format!("*2\r\n$4\r\nECHO\r\n${}\r\n{big}\r\n", big.len());
    let mut sent = 0;
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if stuck.write_all(one.as_bytes()).is_err() {
            break; // the server closed it
        }
        sent += 1;
    }
    assert!(sent > 0);
    assert!(start.elapsed() < Duration::from_secs(20), "the non-reading client was never closed");

    let mut con = server.client(false);
    assert_eq!(query(&mut con, &["PING"]).unwrap(), Value::SimpleString("PONG".into()));
    let info = match query(&mut con, &["INFO", "stats"]).unwrap() {
        Value::BulkString(b) => String::from_utf8(b).unwrap(),
        other => panic!("{other:?}"),
    };
    let closed: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("limit_disconnects:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(closed >= 2, "{info}");
}

#[test]
fn connections_past_maxclients_are_refused() {
    let server = Server::start_with(SCHEMA, &["--in-memory", "--max-clients", "2"]).expect("start");
    let mut a = server.raw();
    let mut b = server.raw();
    a.send(b"PING\r\n");
    assert_eq!(a.read_line().trim_end().to_string(), "+PONG");
    b.send(b"PING\r\n");
    assert_eq!(b.read_line().trim_end().to_string(), "+PONG");
    let mut c = server.raw();
    assert_eq!(c.read_line().trim_end().to_string(), "-ERR max number of clients reached");
    drop(b);
    std::thread::sleep(Duration::from_millis(200));
    let mut d = server.raw();
    d.send(b"PING\r\n");
    assert_eq!(d.read_line().trim_end().to_string(), "+PONG");
}

/// This machine's address on its first non-loopback interface, if any.
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // No packet is sent: connecting a UDP socket only picks a route.
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn protected_mode_refuses_remote_clients_without_a_password() {
    let Some(ip) = non_loopback_address() else {
        eprintln!("skipped: this machine has no non-loopback address");
        return;
    };
    let server = Server::start_with(SCHEMA, &["--in-memory", "--bind", "0.0.0.0"]).expect("start");
    let mut remote = std::net::TcpStream::connect((ip, server.port)).expect("connect over the network address");
    remote.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = remote.write_all(b"PING\r\n");
    let mut reply = String::new();
    let _ = std::io::Read::read_to_string(&mut remote, &mut reply);
    assert!(reply.starts_with("-DENIED aotdb is running in protected mode"), "{reply}");
    // Loopback clients are served.
    let mut local = server.raw();
    local.send(b"PING\r\n");
    assert_eq!(local.read_line().trim_end().to_string(), "+PONG");
    // With a password, remote clients may authenticate.
    let open = Server::start_with(SCHEMA, &["--in-memory", "--bind", "0.0.0.0", "--requirepass", "pw"]).expect("start");
    let url = format!("redis://default:pw@{ip}:{}/", open.port);
    let mut con = redis::Client::open(url).and_then(|c| c.get_connection()).expect("remote client with password");
    assert_eq!(query(&mut con, &["PING"]).unwrap(), Value::SimpleString("PONG".into()));
}
