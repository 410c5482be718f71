//! `aotdb explain FILE`: the capacity planner. Offline, it registers the
//! schema file's statements and prints each one's plan and cost class, then
//! the memory every table and derived structure takes at the table sizes
//! given with `--rows table=N` (estimated).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::process::ExitCode;

use aotdb_planner::estimate::{human_bytes, structure_bytes, table_row_bytes};
use aotdb_planner::{apply_script, describe_structure, explain, Catalog};

use crate::config::ExplainArgs;

pub fn run(args: ExplainArgs) -> ExitCode {
    let script = match std::fs::read_to_string(&args.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            return ExitCode::FAILURE;
        }
    };
    let mut catalog = Catalog::new();
    catalog.set_allow_scans(args.allow_scans);
    let catalog = match apply_script(&catalog, &script) {
        Ok((c, _)) => c,
        Err(e) => {
            eprintln!("error: {}: {e}", args.file.display());
            return ExitCode::FAILURE;
        }
    };
    let mut rows: BTreeMap<u32, u64> = BTreeMap::new();
    for spec in &args.rows {
        let Some((name, n)) = spec.split_once('=') else {
            eprintln!("error: --rows takes table=N, got {spec}");
            return ExitCode::FAILURE;
        };
        let Some(table) = catalog.table_by_name(name.trim()) else {
            eprintln!("error: --rows names table \"{name}\", which the schema does not define");
            return ExitCode::FAILURE;
        };
        let Ok(n) = n.trim().replace('_', "").parse::<u64>() else {
            eprintln!("error: --rows {spec}: {n} is not a row count");
            return ExitCode::FAILURE;
        };
        rows.insert(table.id, n);
    }
    print!("{}", render(&catalog, &rows));
    ExitCode::SUCCESS
}

fn render(catalog: &Catalog, rows: &BTreeMap<u32, u64>) -> String {
    let mut out = String::new();
    for s in catalog.statements() {
        let e = explain(catalog, s);
        let _ = writeln!(out, "{} ({}, {})", e.name, e.kind, e.cost);
        let _ = writeln!(out, "  sql: {}", e.sql);
        if !e.parameters.is_empty() {
            let _ = writeln!(out, "  parameters: {}", e.parameters.join(", "));
        }
        if !e.columns.is_empty() {
            let cols: Vec<String> = e.columns.iter().map(|(n, t)| format!("{n} {t}")).collect();
            let _ = writeln!(out, "  columns: {}", cols.join(", "));
        }
        for step in &e.steps {
            let _ = writeln!(out, "  plan: {step}");
        }
        for m in &e.maintains {
            let _ = writeln!(out, "  maintains: {m}");
        }
        for f in &e.fan_out {
            let _ = writeln!(out, "  fan-out: {f}");
        }
        out.push('\n');
    }
    let tables: BTreeMap<u32, &aotdb_planner::TableDef> = catalog.tables().map(|t| (t.id, t.as_ref())).collect();
    let _ = writeln!(out, "memory (estimated upper bounds at the given row counts):");
    let mut total = 0u64;
    for t in catalog.tables() {
        let n = rows.get(&t.id).copied().unwrap_or(0);
        let bytes = n * table_row_bytes(t);
        total += bytes;
        let _ = writeln!(out, "  table {} ({n} rows, with its keys): {}", t.name, human_bytes(bytes));
    }
    for (id, entry) in catalog.structures() {
        let bytes = structure_bytes(&entry.spec, &tables, rows);
        total += bytes;
        let _ = writeln!(out, "  #{id} {}: {}", describe_structure(catalog, &entry.spec), human_bytes(bytes));
    }
    let _ = writeln!(out, "  total: {}", human_bytes(total));
    if rows.is_empty() {
        let _ = writeln!(out, "  (give table sizes with --rows table=N to size the structures)");
    }
    out
}
