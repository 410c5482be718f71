use aotdb_planner::{apply_script, explain, Catalog};

#[test]
fn print_decisions() {
    let schema = include_str!("../../../examples/decisions.sql");
    let (c, _) = apply_script(&Catalog::new(), schema).unwrap_or_else(|e| panic!("{e}"));
    for s in c.statements() {
        let e = explain(&c, s);
        println!("{} [{}] {}", e.name, e.cost, e.kind);
        for st in &e.steps {
            println!("   step: {st}");
        }
        for st in &e.reads {
            println!("   reads: {st}");
        }
        for st in &e.maintains {
            println!("   maintains: {st}");
        }
    }
}
