//! Procedures: the example decision function, atomicity and rollback of
//! functions, read-only functions, the time budget, persistence of
//! libraries, and many clients deciding on a few hot accounts at once.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;

use crate::harness::{error_of, query, Server, TempDir};

const SCHEMA: &str = include_str!("../../examples/decisions.sql");
const DECISION: &str = include_str!("../../examples/decision.lua");

const TESTS: &str = "#!lua name=tests
redis.register_function('fail_after_write', function(keys, args)
  aotdb.execute('record_payment', args[1], 1, 1, 10, 1, 'approved')
  error('boom')
end)
redis.register_function('duplicate', function(keys, args)
  aotdb.execute('record_payment', args[1], 1, 1, 10, 1, 'approved')
  aotdb.execute('record_payment', args[1], 1, 1, 10, 1, 'approved')
end)
redis.register_function('duplicate_caught', function(keys, args)
  aotdb.execute('record_payment', args[1], 1, 1, 10, 1, 'approved')
  local ok, err = pcall(aotdb.execute, 'record_payment', args[1], 1, 1, 10, 1, 'approved')
  return {ok and 'no error' or 'caught', tostring(err)}
end)
redis.register_function{function_name='reader', flags={'no-writes'}, callback=function(keys, args)
  return aotdb.execute('spend_since', args[1], 0)[1]
end}
redis.register_function{function_name='sneaky_writer', flags={'no-writes'}, callback=function(keys, args)
  return aotdb.execute('record_payment', args[1], 1, 1, 10, 1, 'approved')
end}
redis.register_function('forever', function(keys, args)
  aotdb.execute('record_payment', args[1], 1, 1, 10, 1, 'approved')
  local n = 0
  while true do n = n + 1 end
end)
redis.register_function('forever_caught', function(keys, args)
  aotdb.execute('record_payment', args[1], 1, 1, 10, 1, 'approved')
  while true do
    pcall(function() while true do end end)
  end
end)
redis.register_function('bad_arguments', function(keys, args)
  if args[1] == 'table' then return aotdb.execute('account_by_id', {}) end
  if args[1] == 'name' then return aotdb.execute(42) end
  local ok, err = pcall(aotdb.execute, 'account_by_id', 'x')
  return tostring(err)
end)
redis.register_function('finalizers', function(keys, args)
  local rows = 0
  for i = 1, 300 do
    setmetatable({}, {__gc = function() pcall(aotdb.execute, 'account_by_id', 1) end})
    rows = rows + #aotdb.execute('spend_by_category', 1)
  end
  return rows
end)
redis.register_function('values', function(keys, args)
  local row = aotdb.execute('recent_decisions', 1)[1]
  return {row[1], row[3] == aotdb.NULL and 'null reason' or row[3], 2.5, true, false, {ok = 'fine'}}
end)
redis.register_function('no_clock', function(keys, args)
  return {type(os), type(io), type(math.random), type(load), type(require)}
end)
";

fn setup(server: &Server) -> redis::Connection {
    let mut con = server.client(false);
    query(&mut con, &["FUNCTION", "LOAD", DECISION]).unwrap();
    query(&mut con, &["FUNCTION", "LOAD", TESTS]).unwrap();
    query(&mut con, &["EXECUTE", "add_account", "1", "alice", "eu", "1000"]).unwrap();
    query(&mut con, &["EXECUTE", "add_merchant", "1", "shop", "food", "10"]).unwrap();
    query(&mut con, &["EXECUTE", "add_merchant", "7", "risky", "games", "95"]).unwrap();
    con
}

fn spend(con: &mut redis::Connection) -> Value {
    query(con, &["EXECUTE", "spend_since", "1", "0"]).unwrap()
}

fn text(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

#[test]
fn the_example_decision_function_decides_and_writes_atomically() {
    let server = Server::start(SCHEMA);
    let mut con = setup(&server);
    // A risky merchant the account never used: declined for risk.
    let r = query(&mut con, &["FCALL", "decide", "0", "100", "1", "7", "300", "1700000000"]).unwrap();
    assert_eq!(r, Value::Array(vec![text("decline"), text("risk")]));
    // Approved, then over the limit.
    let r = query(&mut con, &["FCALL", "decide", "0", "101", "1", "1", "600", "1700000100"]).unwrap();
    assert_eq!(r, Value::Array(vec![text("approve")]));
    let r = query(&mut con, &["FCALL", "decide", "0", "102", "1", "1", "600", "1700000200"]).unwrap();
    assert_eq!(r, Value::Array(vec![text("decline"), text("limit")]));
    // Two declines among the recent decisions: the next limit decline freezes.
    let r = query(&mut con, &["FCALL", "decide", "0", "103", "1", "1", "900", "1700000300"]).unwrap();
    assert_eq!(r, Value::Array(vec![text("decline"), text("limit")]));
    let acc = query(&mut con, &["EXECUTE", "account_by_id", "1"]).unwrap();
    assert_eq!(
        acc,
        Value::Array(vec![Value::Array(vec![
            Value::Int(1),
            text("alice"),
            text("eu"),
            Value::Int(1000),
            Value::Int(1)
        ])])
    );
    let r = query(&mut con, &["FCALL", "decide", "0", "104", "1", "1", "1", "1700000400"]).unwrap();
    assert_eq!(r, Value::Array(vec![text("decline"), text("frozen")]));
    assert_eq!(spend(&mut con), Value::Array(vec![Value::Array(vec![Value::Int(1), Value::Int(600)])]));
    // Bad use is an error that changes nothing.
    assert!(error_of(query(&mut con, &["FCALL", "decide", "0", "105", "9", "1", "1", "1"])).starts_with("NOTFOUND"));
    assert!(error_of(query(&mut con, &["FCALL", "decide", "0", "x"])).starts_with("ERR usage"));
}

#[test]
fn a_failing_function_leaves_nothing_behind() {
    let server = Server::start(SCHEMA);
    let mut con = setup(&server);
    let before = spend(&mut con);
    let e = error_of(query(&mut con, &["FCALL", "fail_after_write", "0", "500"]));
    assert!(e.starts_with("ERR") && e.contains("boom"), "{e}");
    let e = error_of(query(&mut con, &["FCALL", "duplicate", "0", "501"]));
    assert!(e.starts_with("CONSTRAINT") && e.contains("payments_pkey"), "{e}");
    assert_eq!(spend(&mut con), before);
    // Arguments Lua cannot hand to a statement, and errors caught as text.
    let e = error_of(query(&mut con, &["FCALL", "bad_arguments", "0", "table"]));
    assert!(e.starts_with("TYPE aotdb.execute argument 1: a table"), "{e}");
    let e = error_of(query(&mut con, &["FCALL", "bad_arguments", "0", "name"]));
    assert!(e.starts_with("ERR aotdb.execute needs a statement name"), "{e}");
    let r = query(&mut con, &["FCALL", "bad_arguments", "0", "caught"]).unwrap();
    assert!(matches!(&r, Value::BulkString(b) if b.starts_with(b"TYPE ")), "{r:?}");
    // No finalizers: the time budget could not stop one, and it would run
    // whenever Lua collects, inside some other call.
    let e = error_of(query(&mut con, &["FCALL", "finalizers", "0"]));
    assert!(e.contains("__gc metamethods are not allowed"), "{e}");
    let at_load = "#!lua name=at_load\naotdb.execute('account_by_id', 1)\n";
    let e = error_of(query(&mut con, &["FUNCTION", "LOAD", at_load]));
    assert!(e.starts_with("ERR aotdb.execute runs only inside FCALL"), "{e}");
    // A caught error undoes only its statement.
    let r = query(&mut con, &["FCALL", "duplicate_caught", "0", "502"]).unwrap();
    let Value::Array(items) = r else { panic!() };
    assert_eq!(items[0], text("caught"));
    assert!(format!("{:?}", items[1]).contains("duplicate key"), "{items:?}");
    assert_eq!(spend(&mut con), Value::Array(vec![Value::Array(vec![Value::Int(1), Value::Int(10)])]));
    assert!(error_of(query(&mut con, &["FCALL", "nosuch", "0"])).contains("Function not found"));
}

#[test]
fn read_only_functions() {
    let server = Server::start(SCHEMA);
    let mut con = setup(&server);
    assert_eq!(
        query(&mut con, &["FCALL_RO", "reader", "0", "1"]).unwrap(),
        Value::Array(vec![Value::Int(0), Value::Int(0)])
    );
    assert!(error_of(query(&mut con, &["FCALL_RO", "decide", "0", "1", "1", "1", "1", "1"])).contains("write flag"));
    assert!(error_of(query(&mut con, &["FCALL", "sneaky_writer", "0", "600"])).contains("flagged no-writes"));
    assert_eq!(spend(&mut con), Value::Array(vec![Value::Array(vec![Value::Int(0), Value::Int(0)])]));
}

#[test]
fn values_cross_the_lua_boundary_and_there_is_no_clock() {
    let server = Server::start(SCHEMA);
    let mut con = setup(&server);
    query(&mut con, &["EXECUTE", "record_decision", "1", "1", "1", "approve", "\\N", "5"]).unwrap();
    let r = query(&mut con, &["FCALL", "values", "0"]).unwrap();
    assert_eq!(
        r,
        Value::Array(vec![
            Value::Int(1),
            text("null reason"),
            text("2.5"),
            Value::Int(1),
            Value::Nil,
            Value::SimpleString("fine".into())
        ])
    );
    let r = query(&mut con, &["FCALL", "no_clock", "0"]).unwrap();
    assert_eq!(r, Value::Array(["nil", "nil", "nil", "nil", "nil"].iter().map(|s| text(s)).collect()));
}

#[test]
fn a_function_that_loops_forever_is_stopped_and_others_are_served() {
    let server = Server::start_with(SCHEMA, &["--function-budget-ms", "300"]).unwrap();
    let mut con = setup(&server);
    let url = server.url(false);
    let pinger = thread::spawn(move || {
        let mut other = redis::Client::open(url).unwrap().get_connection().unwrap();
        thread::sleep(Duration::from_millis(100));
        let t = Instant::now();
        let _: Value = redis::cmd("PING").query(&mut other).unwrap();
        let ping = t.elapsed();
        // A statement waits for the executor, then runs.
        let _: Value = redis::cmd("EXECUTE").arg("account_by_id").arg(1).query(&mut other).unwrap();
        ping
    });
    let start = Instant::now();
    let e = error_of(query(&mut con, &["FCALL", "forever", "0", "700"]));
    let took = start.elapsed();
    assert!(e.starts_with("TIMEOUT"), "{e}");
    assert!(took >= Duration::from_millis(290) && took < Duration::from_secs(3), "{took:?}");
    let ping = pinger.join().unwrap();
    assert!(ping < Duration::from_millis(150), "PING waited {ping:?}");
    assert_eq!(spend(&mut con), Value::Array(vec![Value::Array(vec![Value::Int(0), Value::Int(0)])]));
    // The engine is fine afterwards.
    assert_eq!(
        query(&mut con, &["FCALL_RO", "reader", "0", "1"]).unwrap(),
        Value::Array(vec![Value::Int(0), Value::Int(0)])
    );
}

#[test]
fn a_function_cannot_catch_its_time_out_and_a_library_that_loops_does_not_load() {
    let server = Server::start_with(SCHEMA, &["--function-budget-ms", "200"]).unwrap();
    let mut con = setup(&server);
    let start = Instant::now();
    let e = error_of(query(&mut con, &["FCALL", "forever_caught", "0", "700"]));
    assert!(e.starts_with("TIMEOUT"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
    assert_eq!(spend(&mut con), Value::Array(vec![Value::Array(vec![Value::Int(0), Value::Int(0)])]));

    let looping = "#!lua name=looping\nlocal n = 0\nwhile true do n = n + 1 end\n";
    let e = error_of(query(&mut con, &["FUNCTION", "LOAD", looping]));
    assert!(e.starts_with("TIMEOUT"), "{e}");
    let Value::Array(libs) = query(&mut con, &["FUNCTION", "LIST"]).unwrap() else { panic!() };
    assert_eq!(libs.len(), 2, "the looping library must not be listed");
    // Calls after a stopped one run to completion with their full budget.
    for i in 0..3 {
        let r = query(&mut con, &["FCALL", "decide", "0", &(800 + i).to_string(), "1", "1", "10", "1000"]).unwrap();
        assert!(matches!(r, Value::Array(_)), "{r:?}");
    }
}

#[test]
fn libraries_are_listed_replaced_deleted_and_survive_restarts() {
    let dir = TempDir::new("functions");
    let data = dir.0.join("data");
    let data_arg = data.to_str().unwrap().to_string();
    {
        let server = Server::start_with(SCHEMA, &["--data-dir", &data_arg]).unwrap();
        let mut con = setup(&server);
        assert!(error_of(query(&mut con, &["FUNCTION", "LOAD", DECISION])).contains("already exists"));
        query(&mut con, &["FUNCTION", "LOAD", "REPLACE", DECISION]).unwrap();
        let Value::Array(libs) = query(&mut con, &["FUNCTION", "LIST"]).unwrap() else { panic!() };
        assert_eq!(libs.len(), 2);
        let Value::Array(one) = query(&mut con, &["FUNCTION", "LIST", "LIBRARYNAME", "dec*", "WITHCODE"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(one.len(), 1);
        assert!(format!("{one:?}").contains("register_function"));
        query(&mut con, &["FCALL", "decide", "0", "1", "1", "1", "5", "1700000000"]).unwrap();
        query(&mut con, &["SAVE"]).unwrap();
        query(&mut con, &["FUNCTION", "DELETE", "tests"]).unwrap();
        assert!(error_of(query(&mut con, &["FUNCTION", "DELETE", "tests"])).contains("Library not found"));
        query(&mut con, &["FCALL", "decide", "0", "2", "1", "1", "5", "1700000001"]).unwrap();
        assert!(error_of(query(&mut con, &["FUNCTION", "LOAD", "return 1"])).contains("Missing library metadata"));
    }
    let server = Server::start_with(SCHEMA, &["--data-dir", &data_arg]).unwrap();
    let mut con = server.client(false);
    assert_eq!(spend(&mut con), Value::Array(vec![Value::Array(vec![Value::Int(2), Value::Int(10)])]));
    assert!(error_of(query(&mut con, &["FCALL", "reader", "0", "1"])).contains("Function not found"));
    query(&mut con, &["FCALL", "decide", "0", "3", "1", "1", "5", "1700000002"]).unwrap();
    query(&mut con, &["FUNCTION", "FLUSH"]).unwrap();
    assert!(error_of(query(&mut con, &["FCALL", "decide", "0", "4", "1", "1", "5", "1700000003"]))
        .contains("Function not found"));
}

/// Statements the concurrency test uses to see everything and to number
/// calls in the order the server ran them.
const EXTRA: &str = "
CREATE TABLE counters (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);
PREPARE next_seq AS UPDATE counters SET n = n + 1 WHERE id = 1 RETURNING n;
PREPARE start_counter AS INSERT INTO counters VALUES (1, 0);
PREPARE all_payments AS SELECT id, account_id, merchant_id, amount, created_at, status FROM payments ORDER BY id;
PREPARE all_decisions AS SELECT id, payment_id, account_id, outcome, reason, created_at FROM decisions ORDER BY id;
PREPARE all_accounts AS SELECT id, credit_limit, frozen FROM accounts ORDER BY id;
";

fn numbered_decision() -> String {
    DECISION
        .replace("#!lua name=decisions", "#!lua name=numbered")
        .replace(
            "local function decide(keys, args)\n",
            "local function decide(keys, args)\n  local seq = aotdb.execute('next_seq')[1][1]\n",
        )
        .replace("return {outcome, reason}", "return {seq, outcome, reason or aotdb.NULL}")
        .replace("register_function('decide', decide)", "register_function('decide_numbered', decide)")
}

fn prepare_hot_accounts(server: &Server) -> redis::Connection {
    let mut con = server.client(false);
    query(&mut con, &["FUNCTION", "LOAD", &numbered_decision()]).unwrap();
    query(&mut con, &["EXECUTE", "start_counter"]).unwrap();
    for a in 1..=3 {
        query(&mut con, &["EXECUTE", "add_account", &a.to_string(), "hot", "eu", "6000"]).unwrap();
    }
    for m in 1..=6 {
        query(&mut con, &["EXECUTE", "add_merchant", &m.to_string(), "m", "c", &(m * 17).to_string()]).unwrap();
    }
    con
}

#[test]
fn concurrent_decisions_on_hot_accounts_equal_a_serial_replay() {
    let schema = format!("{SCHEMA}\n{EXTRA}");
    let server = Server::start(&schema);
    let mut con = prepare_hot_accounts(&server);
    type Calls = Arc<Mutex<Vec<(i64, Vec<String>, Value)>>>;
    let calls: Calls = Arc::new(Mutex::new(Vec::new()));
    let url = server.url(false);
    let workers: Vec<_> = (0..12)
        .map(|c| {
            let (url, calls) = (url.clone(), calls.clone());
            thread::spawn(move || {
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                let mut x: u64 = c as u64 * 7919 + 1;
                for i in 0..60 {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let id = (c * 1000 + i + 1) as i64;
                    let args = vec![
                        id.to_string(),
                        ((x >> 33) % 3 + 1).to_string(),
                        ((x >> 40) % 6 + 1).to_string(),
                        ((x >> 20) % 400 + 1).to_string(),
                        (1_700_000_000 + ((x >> 45) % 3600) as i64).to_string(),
                    ];
                    let reply: Value =
                        redis::cmd("FCALL").arg("decide_numbered").arg(0).arg(&args).query(&mut con).unwrap();
                    let Value::Array(items) = &reply else { panic!("{reply:?}") };
                    let Value::Int(seq) = items[0] else { panic!("{reply:?}") };
                    calls.lock().unwrap().push((seq, args, reply));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut calls = Arc::try_unwrap(calls).unwrap().into_inner().unwrap();
    calls.sort_by_key(|c| c.0);
    assert_eq!(calls.len(), 720);

    // Credit checks held: an account's approved spend never passed its limit
    // (limits only grow, and every payment is within the same day).
    let accounts = query(&mut con, &["EXECUTE", "all_accounts"]).unwrap();
    let Value::Array(accounts) = &accounts else { panic!() };
    for a in accounts {
        let Value::Array(a) = a else { panic!() };
        let (Value::Int(id), Value::Int(limit)) = (&a[0], &a[1]) else { panic!() };
        let Value::Array(spent) = query(&mut con, &["EXECUTE", "spend_since", &id.to_string(), "0"]).unwrap() else {
            panic!()
        };
        let Value::Array(spent) = &spent[0] else { panic!() };
        let Value::Int(total) = spent[1] else { panic!() };
        assert!(total <= *limit, "account {id} spent {total} with limit {limit}");
    }

    // The same calls one after another, in the order the server ran them,
    // give the same replies and the same tables.
    let replay = Server::start(&schema);
    let mut serial = prepare_hot_accounts(&replay);
    for (seq, args, reply) in &calls {
        let again: Value = redis::cmd("FCALL").arg("decide_numbered").arg(0).arg(args).query(&mut serial).unwrap();
        assert_eq!(&again, reply, "call {seq} {args:?}");
    }
    for table in ["all_payments", "all_decisions", "all_accounts"] {
        assert_eq!(
            query(&mut con, &["EXECUTE", table]).unwrap(),
            query(&mut serial, &["EXECUTE", table]).unwrap(),
            "{table}"
        );
    }
}
