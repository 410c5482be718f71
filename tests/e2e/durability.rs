//! Durability: restarts recover everything, a crashed server loses no
//! acknowledged write and no MULTI block half, and damage to the files is
//! handled as documented.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;

use crate::harness::{error_of, query, Server, TempDir};

const SCHEMA: &str = "
CREATE TABLE events (id BIGINT PRIMARY KEY, writer INTEGER NOT NULL, batch BIGINT, amount BIGINT NOT NULL);
PREPARE put AS INSERT INTO events (id, writer, batch, amount) VALUES ($1, $2, $3, $4);
PREPARE get AS SELECT id, writer, batch, amount FROM events WHERE id = $1;
PREPARE bump AS UPDATE events SET amount = amount + 1 WHERE id = $1;
PREPARE per_writer AS SELECT writer, COUNT(*), SUM(amount), MAX(amount) FROM events GROUP BY writer ORDER BY writer;
PREPARE in_batch AS SELECT id FROM events WHERE batch = $1 ORDER BY id;
PREPARE total AS SELECT COUNT(*), SUM(amount) FROM events;
";

fn start(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--data-dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    Server::start_with(SCHEMA, &args).unwrap_or_else(|e| panic!("server did not start:\n{e}"))
}

fn rows(v: Value) -> Vec<Vec<Value>> {
    match v {
        Value::Array(rows) => rows
            .into_iter()
            .map(|r| match r {
                Value::Array(vals) => vals,
                other => vec![other],
            })
            .collect(),
        other => panic!("not rows: {other:?}"),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Nil => 0,
        other => panic!("not an integer: {other:?}"),
    }
}

#[test]
fn a_restart_recovers_data_catalog_changes_and_snapshots() {
    let dir = TempDir::new("restart");
    let data = dir.0.join("data");
    let before;
    {
        let server = start(&data, &["--snapshot-after-log-bytes", "2000"]);
        let mut con = server.client(false);
        for i in 0..300 {
            query(&mut con, &["EXECUTE", "put", &i.to_string(), &(i % 5).to_string(), "\\N", &(i * 3).to_string()])
                .unwrap();
        }
        query(
            &mut con,
            &[
                "DEFINE",
                "CREATE TABLE notes (k TEXT PRIMARY KEY, v TEXT); PREPARE note AS SELECT v FROM notes WHERE k = $1;",
            ],
        )
        .unwrap();
        query(&mut con, &["PREPARE", "add_note", "INSERT INTO notes VALUES ($1, $2)"]).unwrap();
        query(&mut con, &["EXECUTE", "add_note", "a", "first"]).unwrap();
        query(&mut con, &["SAVE"]).unwrap();
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("EXECUTE").arg("bump").arg(1).cmd("EXECUTE").arg("add_note").arg("b").arg("second");
        let _: Value = pipe.query(&mut con).unwrap();
        query(&mut con, &["DEALLOCATE", "in_batch"]).unwrap();
        for i in 300..350 {
            query(&mut con, &["EXECUTE", "put", &i.to_string(), "9", "\\N", "1"]).unwrap();
        }
        before =
            (query(&mut con, &["EXECUTE", "per_writer"]).unwrap(), query(&mut con, &["EXECUTE", "total"]).unwrap());
        let info: String = redis::cmd("INFO").arg("persistence").query(&mut con).unwrap();
        assert!(info.contains("fsync:always") && info.contains("last_snapshot_status:ok"), "{info}");
        query(&mut con, &["SHUTDOWN"]).ok();
    }
    let server = start(&data, &[]);
    let mut con = server.client(false);
    assert_eq!(
        (query(&mut con, &["EXECUTE", "per_writer"]).unwrap(), query(&mut con, &["EXECUTE", "total"]).unwrap()),
        before
    );
    assert_eq!(
        rows(query(&mut con, &["EXECUTE", "note", "b"]).unwrap()),
        vec![vec![Value::BulkString(b"second".to_vec())]]
    );
    assert_eq!(int(&rows(query(&mut con, &["EXECUTE", "get", "1"]).unwrap())[0][3]), 4);
    // The deallocated statement stays gone; the schema file's version
    // comes back only through the schema (it is in it), as a new one.
    let info: String = redis::cmd("INFO").arg("persistence").query(&mut con).unwrap();
    assert!(info.contains("recovery_snapshot_rows:"), "{info}");
}

#[test]
fn the_schema_file_is_checked_against_the_recovered_catalog() {
    let dir = TempDir::new("schema");
    let data = dir.0.join("data");
    {
        let server = start(&data, &[]);
        let mut con = server.client(false);
        query(&mut con, &["EXECUTE", "put", "1", "1", "\\N", "5"]).unwrap();
    }
    // The same schema again: fine; a new statement: added.
    let more = format!("{SCHEMA}\nPREPARE big AS SELECT id FROM events WHERE amount > $1 ORDER BY amount LIMIT 3;");
    {
        let server = Server::start_with(&more, &["--data-dir", data.to_str().unwrap()]).expect("starts");
        let mut con = server.client(false);
        assert_eq!(rows(query(&mut con, &["EXECUTE", "big", "1"]).unwrap()), vec![vec![Value::Int(1)]]);
    }
    // A conflicting definition stops the start and names it.
    let conflicting = SCHEMA
        .replace("PREPARE total AS SELECT COUNT(*), SUM(amount)", "PREPARE total AS SELECT COUNT(*), MAX(amount)");
    let err = Server::start_with(&conflicting, &["--data-dir", data.to_str().unwrap()]).err().expect("refused");
    assert!(err.contains("statement \"total\" in the schema file differs"), "{err}");
}

fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "aol"))
        .collect();
    v.sort();
    v
}

fn fill(data: &Path, n: i64) {
    let server = start(data, &["--snapshot-after-log-bytes", "0"]);
    let mut con = server.client(false);
    for i in 0..n {
        query(&mut con, &["EXECUTE", "put", &i.to_string(), "1", "\\N", "1"]).unwrap();
    }
}

#[test]
fn a_torn_tail_is_cut_with_a_warning() {
    let dir = TempDir::new("torn");
    let data = dir.0.join("data");
    fill(&data, 100);
    let log = log_files(&data).pop().unwrap();
    let len = std::fs::metadata(&log).unwrap().len();
    std::fs::File::options().write(true).open(&log).unwrap().set_len(len - 7).unwrap();
    let server = start(&data, &[]);
    let mut con = server.client(false);
    // The last insert was cut; the 99 before it are there.
    let total = rows(query(&mut con, &["EXECUTE", "total"]).unwrap());
    assert_eq!(int(&total[0][0]), 99);
    // And the log goes on from there.
    query(&mut con, &["EXECUTE", "put", "1000", "1", "\\N", "1"]).unwrap();
    drop(server);
    let server = start(&data, &[]);
    let mut con = server.client(false);
    assert_eq!(int(&rows(query(&mut con, &["EXECUTE", "total"]).unwrap())[0][0]), 100);
}

#[test]
fn damage_in_the_middle_of_the_log_stops_the_start_unless_told_to_cut() {
    let dir = TempDir::new("damage");
    let data = dir.0.join("data");
    fill(&data, 100);
    let log = log_files(&data).pop().unwrap();
    let mut bytes = std::fs::read(&log).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&log, &bytes).unwrap();
    let err = Server::start_with(SCHEMA, &["--data-dir", data.to_str().unwrap()]).err().expect("refused");
    assert!(err.contains("is damaged at offset") && err.contains(log.file_name().unwrap().to_str().unwrap()), "{err}");
    assert!(err.contains("--truncate-damaged-log"), "{err}");
    let server = start(&data, &["--truncate-damaged-log"]);
    let mut con = server.client(false);
    let n = int(&rows(query(&mut con, &["EXECUTE", "total"]).unwrap())[0][0]);
    assert!(n > 30 && n < 100, "{n}");
}

#[test]
fn a_damaged_snapshot_falls_back_to_the_older_one() {
    let dir = TempDir::new("snapdamage");
    let data = dir.0.join("data");
    {
        let server = start(&data, &["--snapshot-after-log-bytes", "0"]);
        let mut con = server.client(false);
        for i in 0..50 {
            query(&mut con, &["EXECUTE", "put", &i.to_string(), "1", "\\N", "1"]).unwrap();
        }
        query(&mut con, &["SAVE"]).unwrap();
        for i in 50..80 {
            query(&mut con, &["EXECUTE", "put", &i.to_string(), "2", "\\N", "1"]).unwrap();
        }
        query(&mut con, &["SAVE"]).unwrap();
        for i in 80..90 {
            query(&mut con, &["EXECUTE", "put", &i.to_string(), "3", "\\N", "1"]).unwrap();
        }
    }
    let mut snapshots: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "snap"))
        .collect();
    snapshots.sort();
    assert_eq!(snapshots.len(), 2);
    let newest = snapshots.pop().unwrap();
    let mut bytes = std::fs::read(&newest).unwrap();
    let at = bytes.len() - 40;
    bytes[at] ^= 0xff;
    std::fs::write(&newest, bytes).unwrap();
    let server = start(&data, &[]);
    let mut con = server.client(false);
    assert_eq!(int(&rows(query(&mut con, &["EXECUTE", "total"]).unwrap())[0][0]), 90);
}

/// What the writers were told: acknowledged writes, and what was tried.
#[derive(Default)]
struct Ledger {
    /// id -> (writer, batch, amount) for inserts that were acknowledged.
    acked: HashMap<i64, (i64, Option<i64>, i64)>,
    /// Every id an insert was sent for.
    tried: Vec<i64>,
    /// Acknowledged and attempted bumps per id.
    bumps_acked: HashMap<i64, i64>,
    bumps_tried: HashMap<i64, i64>,
    /// batch -> its ids.
    batches: HashMap<i64, Vec<i64>>,
}

#[test]
fn no_acknowledged_write_is_lost_when_the_server_is_killed() {
    let dir = TempDir::new("crash");
    let data = dir.0.join("data");
    let rounds: u64 = std::env::var("AOTDB_CRASH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let next_id = Arc::new(Mutex::new(1i64));
    for round in 0..rounds {
        let mut server = start(&data, &["--snapshot-after-log-bytes", "30000"]);
        let url = server.url(round % 2 == 1);
        let deadline = Instant::now() + Duration::from_millis(300 + 150 * (round % 4));
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let (url, ledger, next_id) = (url.clone(), ledger.clone(), next_id.clone());
                thread::spawn(move || {
                    let Ok(mut con) = redis::Client::open(url).and_then(|c| c.get_connection()) else { return };
                    let mut k = 0i64;
                    while Instant::now() < deadline + Duration::from_secs(5) {
                        k += 1;
                        let take = |n: i64| {
                            let mut g = next_id.lock().unwrap();
                            let first = *g;
                            *g += n;
                            first
                        };
                        if k % 3 == 0 {
                            // A MULTI block of three inserts.
                            let first = take(3);
                            let ids = [first, first + 1, first + 2];
                            {
                                let mut l = ledger.lock().unwrap();
                                l.tried.extend(ids);
                                l.batches.insert(first, ids.to_vec());
                            }
                            let mut pipe = redis::pipe();
                            pipe.atomic();
                            for id in ids {
                                pipe.cmd("EXECUTE").arg("put").arg(id).arg(w).arg(first).arg(id % 97);
                            }
                            if pipe.query::<Value>(&mut con).is_err() {
                                return;
                            }
                            let mut l = ledger.lock().unwrap();
                            for id in ids {
                                l.acked.insert(id, (w, Some(first), id % 97));
                            }
                        } else if k % 5 == 0 {
                            let target = {
                                let l = ledger.lock().unwrap();
                                l.acked.keys().next().copied()
                            };
                            let Some(id) = target else { continue };
                            *ledger.lock().unwrap().bumps_tried.entry(id).or_default() += 1;
                            if redis::cmd("EXECUTE").arg("bump").arg(id).query::<Value>(&mut con).is_err() {
                                return;
                            }
                            *ledger.lock().unwrap().bumps_acked.entry(id).or_default() += 1;
                        } else {
                            let id = take(1);
                            ledger.lock().unwrap().tried.push(id);
                            if redis::cmd("EXECUTE")
                                .arg("put")
                                .arg(id)
                                .arg(w)
                                .arg("\\N")
                                .arg(id % 97)
                                .query::<Value>(&mut con)
                                .is_err()
                            {
                                return;
                            }
                            ledger.lock().unwrap().acked.insert(id, (w, None, id % 97));
                        }
                    }
                })
            })
            .collect();
        thread::sleep(deadline.saturating_duration_since(Instant::now()));
        server.crash();
        for w in workers {
            let _ = w.join();
        }

        let server = start(&data, &[]);
        let mut con = server.client(false);
        let l = ledger.lock().unwrap();
        let reference = rusqlite::Connection::open_in_memory().unwrap();
        reference.execute_batch("CREATE TABLE events (id BIGINT PRIMARY KEY, writer INTEGER NOT NULL, batch BIGINT, amount BIGINT NOT NULL)").unwrap();
        let mut present: HashMap<i64, Vec<Value>> = HashMap::new();
        for chunk in l.tried.chunks(1000) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("EXECUTE").arg("get").arg(*id);
            }
            let replies: Vec<Value> = pipe.query(&mut con).unwrap();
            for (id, reply) in chunk.iter().zip(replies) {
                if let Some(row) = rows(reply).into_iter().next() {
                    present.insert(*id, row);
                }
            }
        }
        for (id, (w, batch, amount)) in &l.acked {
            let row = present.get(id).unwrap_or_else(|| panic!("round {round}: acknowledged insert {id} was lost"));
            assert_eq!(int(&row[1]), *w);
            assert_eq!(row[2], batch.map(Value::Int).unwrap_or(Value::Nil));
            let got = int(&row[3]) - amount;
            let (acked, tried) =
                (l.bumps_acked.get(id).copied().unwrap_or(0), l.bumps_tried.get(id).copied().unwrap_or(0));
            assert!(
                got >= acked && got <= tried,
                "round {round}: id {id} has {got} bumps, {acked} acknowledged, {tried} tried"
            );
        }
        for (first, ids) in &l.batches {
            let n = ids.iter().filter(|id| present.contains_key(id)).count();
            assert!(n == 0 || n == 3, "round {round}: MULTI block {first} is half applied ({n} of 3)");
            let listed = rows(query(&mut con, &["EXECUTE", "in_batch", &first.to_string()]).unwrap()).len();
            assert_eq!(listed, n, "round {round}: index on batch disagrees");
        }
        for row in present.values() {
            reference
                .execute(
                    "INSERT INTO events VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params![
                        int(&row[0]),
                        int(&row[1]),
                        if row[2] == Value::Nil { None } else { Some(int(&row[2])) },
                        int(&row[3])
                    ],
                )
                .unwrap();
        }
        let mut expected = Vec::new();
        let mut stmt = reference
            .prepare("SELECT writer, COUNT(*), SUM(amount), MAX(amount) FROM events GROUP BY writer ORDER BY writer")
            .unwrap();
        let mapped = stmt.query_map([], |r| Ok(vec![r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?])).unwrap();
        for r in mapped {
            expected.push(r.unwrap().into_iter().map(Value::Int).collect::<Vec<_>>());
        }
        assert_eq!(rows(query(&mut con, &["EXECUTE", "per_writer"]).unwrap()), expected, "round {round}");
        assert!(!l.acked.is_empty(), "round {round}: nothing was written");
        eprintln!("round {round}: {} inserts acknowledged, {} present after the crash", l.acked.len(), present.len());
        drop(l);
        assert!(error_of(query(&mut con, &["EXECUTE", "put", "1", "1", "\\N", "1"])).starts_with("CONSTRAINT"));
    }
}

const VIEWS_SCHEMA: &str = "
CREATE TABLE merchants (id BIGINT PRIMARY KEY, category TEXT NOT NULL);
CREATE TABLE payments (id BIGINT PRIMARY KEY, account BIGINT NOT NULL, merchant BIGINT NOT NULL, amount BIGINT NOT NULL, at BIGINT NOT NULL);
PREPARE add_merchant AS INSERT INTO merchants (id, category) VALUES ($1, $2);
PREPARE recategorize AS UPDATE merchants SET category = $2 WHERE id = $1;
PREPARE pay AS INSERT INTO payments (id, account, merchant, amount, at) VALUES ($1, $2, $3, $4, $5);
PREPARE refund AS UPDATE payments SET amount = amount - 1 WHERE id = $1;
PREPARE forget_old AS DELETE FROM payments WHERE account = $1 AND at < $2;
PREPARE by_category AS SELECT m.category, COUNT(*), SUM(p.amount) FROM payments p JOIN merchants m ON p.merchant = m.id
    WHERE p.account = $1 GROUP BY m.category ORDER BY m.category;
PREPARE since AS SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payments WHERE account = $1 AND at >= $2;
PREPARE top AS SELECT merchant, COUNT(*) AS n FROM payments WHERE account = $1 GROUP BY merchant ORDER BY n DESC, merchant LIMIT 3;
PREPARE recent AS SELECT id, amount FROM payments WHERE account = $1 ORDER BY at DESC, id DESC LIMIT 4;
";

/// A server on `VIEWS_SCHEMA` over `data`, snapshots only when asked.
fn start_views(data: &Path) -> Server {
    let args = ["--data-dir", data.to_str().unwrap(), "--snapshot-after-log-bytes", "0"];
    Server::start_with(VIEWS_SCHEMA, &args).unwrap_or_else(|e| panic!("server did not start:\n{e}"))
}

/// Seeded writes for `VIEWS_SCHEMA`: payments over few accounts and
/// merchants, refunds, recategorisations and deletes by range.
fn views_writes(con: &mut redis::Connection, seed: u64, count: usize, next_id: &mut i64) {
    let mut state = seed | 1;
    let mut next = move |n: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    const CATEGORIES: [&str; 4] = ["food", "auto", "travel", "books"];
    for _ in 0..count {
        let reply = match next(10) {
            0 => query(con, &["EXECUTE", "recategorize", &next(6).to_string(), CATEGORIES[next(4) as usize]]),
            1 => query(con, &["EXECUTE", "refund", &next(*next_id as u64 + 1).to_string()]),
            2 if next(4) == 0 => query(con, &["EXECUTE", "forget_old", &next(8).to_string(), &next(200).to_string()]),
            _ => {
                *next_id += 1;
                let (account, merchant, amount, at) = (next(8), next(7), next(500), next(1000));
                let args = [
                    next_id.to_string(),
                    account.to_string(),
                    merchant.to_string(),
                    amount.to_string(),
                    at.to_string(),
                ];
                query(con, &["EXECUTE", "pay", &args[0], &args[1], &args[2], &args[3], &args[4]])
            }
        };
        reply.expect("write");
    }
}

/// Every read of `VIEWS_SCHEMA` for every account, and of the statements
/// prepared later (`per_merchant` is deallocated again: nil).
fn views_answers(con: &mut redis::Connection) -> Vec<Value> {
    let mut out = Vec::new();
    for account in 0..8 {
        let a = account.to_string();
        out.push(query(con, &["EXECUTE", "by_category", &a]).unwrap());
        out.push(query(con, &["EXECUTE", "since", &a, "400"]).unwrap());
        out.push(query(con, &["EXECUTE", "recent", &a]).unwrap());
        out.push(query(con, &["EXECUTE", "top", &a]).unwrap());
    }
    out.push(query(con, &["EXECUTE", "big_spenders"]).unwrap());
    out.push(query(con, &["EXECUTE", "per_merchant"]).unwrap_or(Value::Nil));
    out
}

/// The derived structures INFO lists: id, kind and entries (their bytes
/// depend on how they were built).
fn structures(con: &mut redis::Connection) -> Vec<String> {
    let info: String = redis::cmd("INFO").arg("memory").query(con).unwrap();
    info.lines()
        .filter(|l| l.starts_with("memory_structure_"))
        .map(|l| l.split(",bytes_estimate").next().unwrap_or(l).to_string())
        .collect()
}

fn recovery_field(con: &mut redis::Connection, field: &str) -> i64 {
    let info: String = redis::cmd("INFO").arg("persistence").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {info}"))
}

fn recovery_records(con: &mut redis::Connection) -> i64 {
    recovery_field(con, "recovery_log_records")
}

/// Recovery builds aggregate views once after replaying the log instead
/// of following them through each replayed write: statements prepared in
/// the middle of the log (one deallocated again), a join whose dimension
/// rows change, ranked and ranged views, from the log alone and from a
/// snapshot with records after it, must all answer as the server that
/// followed every write did.
#[test]
fn views_built_after_a_log_replay_answer_as_the_followed_ones() {
    let dir = TempDir::new("deferred");
    let data = dir.0.join("data");
    let start = || start_views(&data);
    let mut next_id = 0;
    let before = {
        let mut server = start();
        let mut con = server.client(false);
        for m in 0..6 {
            query(&mut con, &["EXECUTE", "add_merchant", &m.to_string(), "food"]).unwrap();
        }
        views_writes(&mut con, 1, 300, &mut next_id);
        query(
            &mut con,
            &[
                "PREPARE",
                "big_spenders",
                "SELECT account, SUM(amount) FROM payments GROUP BY account HAVING SUM(amount) > 2000 ORDER BY account",
            ],
        )
        .unwrap();
        let per_merchant =
            "SELECT merchant, COUNT(*) FROM payments WHERE amount > 100 GROUP BY merchant ORDER BY merchant";
        query(&mut con, &["PREPARE", "per_merchant", per_merchant]).unwrap();
        views_writes(&mut con, 2, 200, &mut next_id);
        query(&mut con, &["DEALLOCATE", "per_merchant"]).unwrap();
        let mut pipe = redis::pipe();
        // With reads of aggregate views in the block: they are not
        // replayed (the views are built after the replay).
        pipe.atomic()
            .cmd("EXECUTE")
            .arg("recategorize")
            .arg(1)
            .arg("auto")
            .cmd("EXECUTE")
            .arg("since")
            .arg(3)
            .arg(400)
            .cmd("EXECUTE")
            .arg("refund")
            .arg(3)
            .cmd("EXECUTE")
            .arg("by_category")
            .arg(3);
        let _: Value = pipe.query(&mut con).unwrap();
        views_writes(&mut con, 3, 200, &mut next_id);
        let answers = (views_answers(&mut con), structures(&mut con));
        server.crash();
        answers
    };
    let (before, structures_before) = before;
    assert!(structures_before.len() >= 5, "{structures_before:?}");
    let non_empty = before.iter().filter(|v| matches!(v, Value::Array(rows) if !rows.is_empty())).count();
    assert!(non_empty > 20, "too few answers to compare: {before:?}");

    // From the log alone.
    let after_snapshot = {
        let mut server = start();
        let mut con = server.client(false);
        assert!(recovery_records(&mut con) > 500);
        // by_category, since, top and big_spenders (per_merchant was
        // deallocated): built once, after the replay.
        assert_eq!(recovery_field(&mut con, "recovery_views_built_after_log"), 4);
        assert_eq!(views_answers(&mut con), before);
        assert_eq!(structures(&mut con), structures_before);
        query(&mut con, &["SAVE"]).unwrap();
        views_writes(&mut con, 4, 150, &mut next_id);
        let answers = views_answers(&mut con);
        assert_ne!(answers, before, "the writes after the snapshot changed nothing");
        server.crash();
        answers
    };

    // From the snapshot and the records after it.
    let server = start();
    let mut con = server.client(false);
    let records = recovery_records(&mut con);
    assert!((50..=150).contains(&records), "{records} records replayed after the snapshot");
    assert_eq!(recovery_field(&mut con, "recovery_views_built_after_log"), 4);
    assert_eq!(views_answers(&mut con), after_snapshot);
}

/// Logs written before a MULTI block was logged without its reads hold
/// them: replaying such a block leaves the reads out (the aggregate views
/// they read are built after the replay), and its writes still apply.
#[test]
fn a_logged_block_with_reads_of_views_replays() {
    use aotdb_storage::persist::log::{encode_record, for_each_record, LogRecord};
    let dir = TempDir::new("blockreads");
    let data = dir.0.join("data");
    let start = || start_views(&data);
    {
        let mut server = start();
        let mut con = server.client(false);
        query(&mut con, &["EXECUTE", "add_merchant", "1", "food"]).unwrap();
        query(&mut con, &["EXECUTE", "pay", "1", "3", "1", "50", "500"]).unwrap();
        server.crash();
    }
    // A block as such a log holds it: a read of an aggregate view between
    // two writes.
    let log = log_files(&data).pop().unwrap();
    let mut bytes = std::fs::read(&log).unwrap();
    let mut last = 0;
    for_each_record::<()>(&bytes, |r| {
        last = r.seq;
        Ok(())
    })
    .unwrap();
    let item = |name: &str, args: &[&str]| (name.to_string(), args.iter().map(|a| a.as_bytes().to_vec()).collect());
    let block = LogRecord::Transaction(vec![
        item("pay", &["2", "3", "1", "70", "600"]),
        item("by_category", &["3"]),
        item("pay", &["3", "3", "1", "5", "700"]),
    ]);
    encode_record(last + 1, &block, &mut bytes);
    std::fs::write(&log, &bytes).unwrap();

    let server = start();
    let mut con = server.client(false);
    assert_eq!(recovery_records(&mut con), last as i64 + 1);
    let by_category = rows(query(&mut con, &["EXECUTE", "by_category", "3"]).unwrap());
    assert_eq!(by_category, vec![vec![Value::BulkString(b"food".to_vec()), Value::Int(3), Value::Int(125)]]);
}
