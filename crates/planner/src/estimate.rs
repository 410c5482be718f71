//! Memory estimates for the capacity planner (`aotdb explain FILE --rows`):
//! what tables and derived structures take at given table sizes. These are
//! estimates from the in-memory layouts, stated as upper bounds: every row
//! is assumed to pass a view's conditions and every group to be distinct.

use std::collections::BTreeMap;

use crate::catalog::{TableDef, TableId};
use crate::structure::{StructureSpec, ViewSpec};
use crate::types::DataType;

/// Bytes of one stored value: the value cell plus what text holds on the
/// heap (an average short string).
fn value_bytes(ty: DataType) -> u64 {
    const CELL: u64 = 24;
    match ty {
        DataType::Text | DataType::Varchar(_) | DataType::Bytea => CELL + 32,
        _ => CELL,
    }
}

/// Bytes per row of a table: its slot, its values, and each unique index
/// entry.
pub fn table_row_bytes(t: &TableDef) -> u64 {
    let values: u64 = t.columns.iter().map(|c| value_bytes(c.ty)).sum();
    let slot = 8 + 16;
    let uniques: u64 = t
        .uniques
        .iter()
        .map(|u| u.columns.iter().map(|&c| value_bytes(t.columns[c].ty)).sum::<u64>() + 16 + 8 + 16)
        .sum();
    slot + values + uniques
}

fn view_rows(view: &ViewSpec, rows: &BTreeMap<TableId, u64>) -> u64 {
    rows.get(&view.anchor()).copied().unwrap_or(0)
}

/// Estimated bytes of a structure at the given table sizes.
pub fn structure_bytes(
    spec: &StructureSpec,
    tables: &BTreeMap<TableId, &TableDef>,
    rows: &BTreeMap<TableId, u64>,
) -> u64 {
    match spec {
        StructureSpec::TableIndex { table, columns } => {
            let n = rows.get(table).copied().unwrap_or(0);
            let key: u64 =
                tables.get(table).map(|t| columns.iter().map(|&c| value_bytes(t.columns[c].ty)).sum()).unwrap_or(24);
            // One key per row at worst, plus a row id in a set.
            n * (key + 16 + 8 + 16)
        }
        StructureSpec::RowIndex { view, eq, order } => {
            let n = view_rows(view, rows);
            let parts = order.len() as u64 + 1;
            // Ordered key parts (32 bytes each), its box, B-tree slack;
            // one hash entry per group at worst.
            n * (parts * 32 + 16 + 16) + n * (eq.len() as u64 * 24 + 16 + 24)
        }
        StructureSpec::Aggregate(a) => {
            let n = view_rows(&a.view, rows);
            match &a.range {
                // A range-tree node per row: key, identity, arguments and
                // the subtree summary.
                Some(_) => n * (24 + 16 + 32 + a.aggs.len() as u64 * (24 + 32) + 32),
                // A group per row at worst: key, states, ranking entry.
                None => {
                    let key = (a.eq.len() + a.group.len()) as u64 * 24 + 16;
                    let states = a.aggs.len() as u64 * 48;
                    let ranked = if a.output.is_some() { (a.group.len() as u64 + 2) * 32 + 16 } else { 0 };
                    // Partials under the join: one per fact row at worst,
                    // keyed by the join key and the fact-side keys.
                    let partials = crate::partials::partial_plan(a)
                        .map_or(0, |p| (p.join.len() + p.fact_keys.len()) as u64 * 24 + 16 + states + 32);
                    n * (key + states + ranked + 32 + partials)
                }
            }
        }
    }
}

/// `12.3 MiB` and the like.
pub fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} GiB", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{bytes} B")
    }
}
