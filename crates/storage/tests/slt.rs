//! Runs the SQL logic tests in `tests/slt/` through a driver that does what
//! aotdb does: DDL is applied as a script, and every query or write is
//! registered as a statement, executed once, and dropped again, so each
//! case goes through the planner's derived structures (built from the rows
//! already there) and not through some ad-hoc evaluator.

use std::path::PathBuf;

use aotdb_planner::{apply_script, deallocate, prepare, Catalog, Value};
use aotdb_storage::{Database, Outcome, UndoLog};
use sqllogictest::{DBOutput, DefaultColumnType};

#[derive(Debug)]
struct DriverError(String);

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DriverError {}

struct Driver {
    catalog: Catalog,
    db: Database,
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Text(s) if s.is_empty() => "(empty)".into(),
        other => other.to_pg_text(),
    }
}

impl Driver {
    fn run_statement(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DriverError> {
        let err = |e: &dyn std::fmt::Display| DriverError(e.to_string());
        let (with_stmt, changes) = prepare(&self.catalog, "slt", sql).map_err(|e| err(&e))?;
        self.db.apply_changes(&changes).map_err(|e| err(&e))?;
        let stmt = with_stmt.statement("slt").cloned().ok_or_else(|| DriverError("not registered".into()))?;
        let mut undo = UndoLog::new();
        let result = self.db.execute(&stmt, &[], &mut undo);
        if result.is_err() {
            self.db.rollback(&mut undo).map_err(|e| err(&e))?;
        }
        let (after, drops) = deallocate(&with_stmt, "slt").map_err(|e| err(&e))?;
        self.db.apply_changes(&drops).map_err(|e| err(&e))?;
        self.catalog = after;
        output(&stmt, result.map_err(|e| err(&e))?)
    }
}

impl Driver {
    /// `EXECUTE name` or `EXECUTE name (arg, ...)` with literal arguments:
    /// runs a statement registered earlier, so the test sees its
    /// structures as maintained by the writes in between.
    fn execute_registered(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DriverError> {
        use sqlparser::ast;
        let dialect = sqlparser::dialect::PostgreSqlDialect {};
        let parsed = sqlparser::parser::Parser::parse_sql(&dialect, sql).map_err(|e| DriverError(e.to_string()))?;
        let Some(ast::Statement::Execute { name: Some(name), parameters, .. }) = parsed.first() else {
            return Err(DriverError(format!("cannot read {sql}")));
        };
        let name = name.to_string().to_lowercase();
        let args: Vec<Vec<u8>> = parameters
            .iter()
            .map(|p| match p {
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::SingleQuotedString(s) => s.clone().into_bytes(),
                    ast::Value::Null => b"\\N".to_vec(),
                    other => other.to_string().into_bytes(),
                },
                ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => format!("-{expr}").into_bytes(),
                other => other.to_string().into_bytes(),
            })
            .collect();
        let stmt = self.catalog.statement(&name).cloned().ok_or_else(|| DriverError(format!("no statement {name}")))?;
        let params = stmt.bind_args(&args).map_err(|e| DriverError(e.to_string()))?;
        let mut undo = UndoLog::new();
        let result = self.db.execute(&stmt, &params, &mut undo);
        if result.is_err() {
            self.db.rollback(&mut undo).map_err(|e| DriverError(e.to_string()))?;
        }
        output(&stmt, result.map_err(|e| DriverError(e.to_string()))?)
    }
}

fn output(stmt: &aotdb_planner::Statement, outcome: Outcome) -> Result<DBOutput<DefaultColumnType>, DriverError> {
    match outcome {
        Outcome::Count(n) => Ok(DBOutput::StatementComplete(n)),
        Outcome::Rows(rows) if stmt.is_read_only() || !stmt.columns.is_empty() => Ok(DBOutput::Rows {
            types: stmt
                .columns
                .iter()
                .map(|c| {
                    if c.ty.is_integer() {
                        DefaultColumnType::Integer
                    } else if c.ty.is_float() {
                        DefaultColumnType::FloatingPoint
                    } else {
                        DefaultColumnType::Text
                    }
                })
                .collect(),
            rows: rows.iter().map(|r| r.iter().map(text).collect()).collect(),
        }),
        Outcome::Rows(rows) => Ok(DBOutput::StatementComplete(rows.len() as u64)),
    }
}

impl sqllogictest::DB for Driver {
    type Error = DriverError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DriverError> {
        let first = sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        if first == "EXECUTE" {
            return self.execute_registered(sql);
        }
        match first.as_str() {
            "CREATE" | "DROP" | "PREPARE" | "DEALLOCATE" => {
                let (next, changes) = apply_script(&self.catalog, sql).map_err(|e| DriverError(e.to_string()))?;
                self.db.apply_changes(&changes).map_err(|e| DriverError(e.to_string()))?;
                self.catalog = next;
                Ok(DBOutput::StatementComplete(0))
            }
            _ => self.run_statement(sql),
        }
    }
}

#[test]
fn sql_logic_tests() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for file in &files {
        let mut runner = sqllogictest::Runner::new(|| async {
            Ok::<_, DriverError>(Driver { catalog: Catalog::new(), db: Database::new() })
        });
        if let Err(e) = runner.run_file(file) {
            failures.push(format!("{}: {e}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn scans_register_only_when_allowed() {
    let mut catalog = Catalog::new();
    let (c, _) = apply_script(&catalog, "CREATE TABLE t (id INT PRIMARY KEY, n INT)").unwrap();
    catalog = c;
    let sql = "SELECT id FROM t WHERE n * 2 > $1";
    assert!(prepare(&catalog, "q", sql).is_err());
    catalog.set_allow_scans(true);
    let (with_scan, _) = prepare(&catalog, "q", sql).unwrap();
    assert_eq!(with_scan.statement("q").unwrap().cost.to_string(), "O(n)");
}
