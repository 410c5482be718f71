//! A snapshot copied in steps while writes go on sees every table exactly
//! as it was when the copy began.

use aotdb_planner::{apply_script, Catalog, Value};
use aotdb_storage::persist::snapshot::{read_snapshot, SnapshotEncoder};
use aotdb_storage::{Database, UndoLog};

#[test]
fn copy_in_steps_is_consistent_under_writes() {
    let script = "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL);
        PREPARE put AS INSERT INTO t VALUES ($1, $2);
        PREPARE set AS UPDATE t SET v = $2 WHERE id = $1;
        PREPARE del AS DELETE FROM t WHERE id = $1;
        PREPARE by_v AS SELECT id FROM t WHERE v = $1;";
    let (catalog, changes) = apply_script(&Catalog::new(), script).unwrap();
    let mut db = Database::new();
    db.apply_changes(&changes).unwrap();
    let run = |db: &mut Database, name: &str, args: &[String]| {
        let s = catalog.statement(name).unwrap();
        let params = s.bind_args(args).unwrap();
        let mut undo = UndoLog::new();
        if db.execute(s, &params, &mut undo).is_err() {
            db.rollback(&mut undo).unwrap();
        }
    };
    for i in 0..1000 {
        run(&mut db, "put", &[i.to_string(), (i % 7).to_string()]);
    }
    for i in (0..1000).step_by(10) {
        run(&mut db, "del", &[i.to_string()]);
    }
    // The state at the start, as (slot, id, v).
    let table = db.table(0).unwrap();
    let mut expected: Vec<(u32, Vec<Value>)> = table.rows().map(|(s, r)| (s, r.to_vec())).collect();
    expected.sort_by_key(|(s, _)| *s);

    db.begin_snapshot_copy();
    let mut bytes = SnapshotEncoder::header(1, 0, script, b"");
    let mut n = 0u64;
    loop {
        let (chunk, done) = db.snapshot_copy_step(37);
        bytes.extend(chunk);
        // Writes between steps: updates, deletes, inserts into freed and
        // new slots, a failed write rolled back.
        n += 1;
        run(&mut db, "set", &[(n * 13 % 1000).to_string(), "99".into()]);
        run(&mut db, "del", &[(n * 29 % 1000).to_string()]);
        run(&mut db, "put", &[(5000 + n).to_string(), "1".into()]);
        run(&mut db, "put", &[(n * 7 % 1000).to_string(), "1".into()]);
        if done.is_some() {
            break;
        }
    }
    let image = read_snapshot(&bytes).unwrap();
    let got: Vec<(u32, Vec<Value>)> = image.tables[0].rows.iter().map(|(s, r)| (*s, r.to_vec())).collect();
    assert_eq!(got, expected);

    // Loading the image gives back the same table, indexes included.
    let (c2, ch2) = apply_script(&Catalog::new(), script).unwrap();
    let mut db2 = Database::new();
    db2.apply_changes(&ch2).unwrap();
    let t = image.tables.into_iter().next().unwrap();
    db2.load_table_image(0, t.slots, t.free, t.rows).unwrap();
    db2.rebuild_structures().unwrap();
    let s = c2.statement("by_v").unwrap();
    let out = db2.query(s, &s.bind_args(&["3"]).unwrap()).unwrap();
    let want = expected.iter().filter(|(_, r)| r[1] == Value::Int(3)).count();
    match out {
        aotdb_storage::Outcome::Rows(rows) => assert_eq!(rows.len(), want),
        other => panic!("{other:?}"),
    }
}
