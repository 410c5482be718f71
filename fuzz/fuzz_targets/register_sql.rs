//! SQL text a client registers (DEFINE / PREPARE) against the example
//! schema: the planner answers with a catalog or an error, never a panic.
#![no_main]

use std::sync::OnceLock;

use aotdb_planner::{apply_script, prepare, Catalog};
use libfuzzer_sys::fuzz_target;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let schema = include_str!("../../examples/decisions.sql");
        apply_script(&Catalog::new(), schema).expect("the example schema registers").0
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    let _ = apply_script(catalog(), sql);
    let _ = prepare(catalog(), "fuzzed", sql);
});
