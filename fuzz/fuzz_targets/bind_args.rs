//! Arguments a client sends to EXECUTE, parsed into the typed parameters
//! of each statement of the example schema: an error or values, never a
//! panic. The input picks a statement (first byte) and its arguments
//! (the rest, split at zero bytes).
#![no_main]

use std::sync::OnceLock;

use aotdb_planner::{apply_script, Catalog, Statement};
use libfuzzer_sys::fuzz_target;

fn statements() -> &'static [std::sync::Arc<Statement>] {
    static STATEMENTS: OnceLock<Vec<std::sync::Arc<Statement>>> = OnceLock::new();
    STATEMENTS.get_or_init(|| {
        let schema = include_str!("../../examples/decisions.sql");
        let (catalog, _) = apply_script(&Catalog::new(), schema).expect("the example schema registers");
        let mut all: Vec<_> = catalog.statements().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let all = statements();
    let stmt = &all[pick as usize % all.len()];
    let args: Vec<&[u8]> = rest.split(|&b| b == 0).collect();
    if let Ok(values) = stmt.bind_args(&args) {
        assert_eq!(values.len(), stmt.params.len());
    }
});
