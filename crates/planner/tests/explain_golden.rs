//! Golden test: the EXPLAIN of every statement of the decision workload,
//! checked against `tests/golden/decisions.explain`. When a planner change
//! alters a plan on purpose, regenerate the file with
//! `AOTDB_BLESS=1 cargo test -p aotdb-planner --test explain_golden` and
//! review the diff.

use std::fmt::Write;
use std::path::PathBuf;

use aotdb_planner::{apply_script, explain, Catalog, Cost};

fn render(schema: &str) -> String {
    let (catalog, _) = apply_script(&Catalog::new(), schema).unwrap_or_else(|e| panic!("{e}"));
    let mut out = String::new();
    for s in catalog.statements() {
        let e = explain(&catalog, s);
        let _ = writeln!(out, "== {} ({}, {})", e.name, e.kind, e.cost);
        let _ = writeln!(out, "parameters: {}", e.parameters.join(", "));
        let columns: Vec<String> = e.columns.iter().map(|(n, t)| format!("{n} {t}")).collect();
        let _ = writeln!(out, "columns: {}", columns.join(", "));
        for f in &e.fan_out {
            let _ = writeln!(out, "fan-out: {f}");
        }
        for step in &e.steps {
            let _ = writeln!(out, "  plan: {step}");
        }
        for r in &e.reads {
            let _ = writeln!(out, "  reads: {r}");
        }
        for m in &e.maintains {
            let _ = writeln!(out, "  maintains: {m}");
        }
        out.push('\n');
    }
    out
}

#[test]
fn decision_workload_plans_match_the_golden_file() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let schema = std::fs::read_to_string(root.join("examples/decisions.sql")).expect("schema");
    let got = render(&schema);
    let path = root.join("tests/golden/decisions.explain");
    if std::env::var_os("AOTDB_BLESS").is_some() {
        std::fs::write(&path, &got).expect("write golden file");
        return;
    }
    let want = std::fs::read_to_string(&path).expect("golden file (create it with AOTDB_BLESS=1)");
    if got != want {
        panic!("EXPLAIN output changed; review and bless with AOTDB_BLESS=1.\n--- got ---\n{got}");
    }
}

#[test]
fn no_decision_statement_needs_a_scan() {
    let schema = include_str!("../../../examples/decisions.sql");
    let (catalog, _) = apply_script(&Catalog::new(), schema).unwrap();
    assert_eq!(catalog.statements().count(), 16);
    for s in catalog.statements() {
        assert!(s.cost < Cost::Linear, "{} costs {}", s.name, s.cost);
    }
}
