//! Scripts and statement registration against the planner alone.

use aotdb_planner::{apply_script, prepare, Catalog, DataType, Error, Plan};

const SCHEMA: &str = "
CREATE TABLE accounts (
    id BIGINT PRIMARY KEY,
    email TEXT UNIQUE,
    name VARCHAR(20) NOT NULL,
    credit_limit BIGINT NOT NULL DEFAULT 100,
    frozen BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE pairs (a INTEGER, b INTEGER, note TEXT, PRIMARY KEY (a, b));
PREPARE by_id (BIGINT) AS SELECT id, name FROM accounts WHERE id = $1;
PREPARE by_email AS SELECT id FROM accounts WHERE email = $1 AND frozen = false;
PREPARE pair AS SELECT note FROM pairs WHERE b = $2 AND a = $1;
PREPARE add AS INSERT INTO accounts (id, name) VALUES ($1, $2), ($3, 'x');
PREPARE bump AS UPDATE accounts SET credit_limit = credit_limit + $2 WHERE id = $1 RETURNING credit_limit;
";

fn catalog() -> Catalog {
    apply_script(&Catalog::new(), SCHEMA).expect("schema applies").0
}

#[test]
fn parameter_types_are_inferred_from_context() {
    let c = catalog();
    assert_eq!(c.statement("by_email").unwrap().params, vec![DataType::Text]);
    assert_eq!(c.statement("pair").unwrap().params, vec![DataType::Integer, DataType::Integer]);
    assert_eq!(
        c.statement("add").unwrap().params,
        vec![DataType::BigInt, DataType::Varchar(Some(20)), DataType::BigInt]
    );
    assert_eq!(c.statement("bump").unwrap().params, vec![DataType::BigInt, DataType::BigInt]);
    assert!(matches!(c.statement("pair").unwrap().plan, Plan::Select(_)));
}

#[test]
fn the_decision_workload_schema_applies() {
    let schema = include_str!("../../../examples/decisions.sql");
    let result = apply_script(&Catalog::new(), schema);
    // Statements beyond point lookups need the full planner; until then
    // they are refused with a message that says what is missing.
    match result {
        Ok((c, _)) => assert!(c.statement("account_by_id").is_some()),
        Err(e) => assert!(matches!(e, Error::Unsupported(_)), "{e}"),
    }
}

#[test]
fn errors_name_the_line_and_change_nothing() {
    let c = catalog();
    let bad = "CREATE TABLE t (x INT PRIMARY KEY);\n\nPREPARE q AS SELECT nope FROM t WHERE x = $1;";
    let err = apply_script(&c, bad).unwrap_err();
    assert!(err.to_string().starts_with("line 3: PREPARE q: column \"nope\" does not exist"), "{err}");
    assert!(c.table_by_name("t").is_none());
}

#[test]
fn scans_and_unsupported_shapes_are_refused() {
    let c = catalog();
    // Keys, ranges, joins and folded constant filters all register.
    for sql in [
        "SELECT id FROM accounts WHERE name = $1",
        "SELECT id FROM accounts",
        "UPDATE accounts SET frozen = true WHERE credit_limit > $1",
        "SELECT a.id FROM accounts a JOIN pairs p ON p.a = a.id WHERE a.id = $1",
        "SELECT name, COUNT(*) FROM accounts WHERE frozen GROUP BY name ORDER BY 2 DESC LIMIT 3",
    ] {
        prepare(&c, "q", sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // Conditions with parameters that no key or range answers need scans.
    for sql in [
        "SELECT id FROM accounts WHERE credit_limit * 2 > $1",
        "SELECT id FROM accounts WHERE name LIKE $1",
        "SELECT id FROM accounts WHERE name = $1 OR email = $1",
        "SELECT id FROM accounts WHERE credit_limit > $1 AND id < $2",
        "SELECT id FROM accounts a JOIN pairs p ON p.a < a.id WHERE a.name = $1",
        "SELECT name, COUNT(*) FROM accounts GROUP BY name HAVING COUNT(*) > $1",
    ] {
        let err = prepare(&c, "q", sql).unwrap_err();
        assert!(matches!(err, Error::ScanRequired(_)), "{sql}: {err}");
    }
    let mut scans = c.clone();
    scans.set_allow_scans(true);
    let (scans, _) = prepare(&scans, "q", "SELECT id FROM accounts WHERE credit_limit * 2 > $1").unwrap();
    assert_eq!(scans.statement("q").unwrap().cost, aotdb_planner::Cost::Linear);
    for sql in [
        "SELECT a.id FROM accounts a RIGHT JOIN pairs p ON p.a = a.id",
        "SELECT a.id FROM accounts a JOIN accounts b ON a.id = b.id",
        "SELECT id FROM accounts WHERE id IN (SELECT a FROM pairs)",
    ] {
        let err = prepare(&c, "q", sql).unwrap_err();
        assert!(matches!(err, Error::Unsupported(_)), "{sql}: {err}");
    }
    let err = prepare(&c, "q", "SELECT id FROM accounts WHERE id = $1 AND name = 5").unwrap_err();
    assert!(matches!(err, Error::Type(_)), "{err}");
    let err = prepare(&c, "q", "SELECT $1").unwrap_err();
    assert!(err.to_string().contains("could not determine data type of parameter $1"), "{err}");
}

#[test]
fn drop_table_is_refused_while_statements_use_it() {
    let c = catalog();
    let err = apply_script(&c, "DROP TABLE accounts").unwrap_err();
    assert!(
        err.to_string().contains("by_email, by_id, add, bump")
            || err.to_string().contains("add, bump, by_email, by_id"),
        "{err}"
    );
    let (c, _) = apply_script(&c, "DEALLOCATE ALL; DROP TABLE accounts;").unwrap();
    assert!(c.table_by_name("accounts").is_none());
}

#[test]
fn arguments_are_parsed_to_parameter_types() {
    let c = catalog();
    let s = c.statement("add").unwrap();
    let args = s.bind_args(&["0007", "\\\\N", "\\N"]).unwrap();
    assert_eq!(args[0], aotdb_planner::Value::Int(7));
    assert_eq!(args[1], aotdb_planner::Value::text("\\N"));
    assert!(args[2].is_null());
    let err = s.bind_args(&["x", "a", "1"]).unwrap_err();
    assert!(err.to_string().contains("parameter $1"), "{err}");
    let err = s.bind_args(&["1"]).unwrap_err();
    assert!(matches!(err, Error::Arguments(_)));
}

#[test]
fn a_catalog_script_recreates_the_catalog() {
    let c = catalog();
    let script = c.to_script();
    let (again, _) = apply_script(&Catalog::new(), &script).unwrap_or_else(|e| panic!("{e}\n{script}"));
    assert_eq!(again.to_script(), script);
    for s in c.statements() {
        let t = again.statement(&s.name).unwrap();
        assert_eq!((&t.sql, &t.params), (&s.sql, &s.params));
    }
    let decisions = include_str!("../../../examples/decisions.sql");
    let (d, _) = apply_script(&Catalog::new(), decisions).unwrap();
    let (d2, _) = apply_script(&Catalog::new(), &d.to_script()).unwrap();
    assert_eq!(d2.to_script(), d.to_script());
}
