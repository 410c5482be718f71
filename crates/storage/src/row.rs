//! Rows and keys as stored.

use aotdb_planner::Value;

/// A stored row: one value per column, in table order.
pub type Row = Box<[Value]>;

/// Slot number of a row in its table. Stable while the row lives; slots
/// are reused after deletes, deterministically, so replaying the same
/// commands gives the same numbers.
pub type RowId = u32;

/// An index key: the values of the key columns, in key order.
pub type Key = Box<[Value]>;

/// Extracts the key of `row` on `columns`, or `None` if any key column is
/// NULL (NULLs are never equal, so such rows never conflict or match).
pub fn key_of(row: &[Value], columns: &[usize]) -> Option<Key> {
    let mut key = Vec::with_capacity(columns.len());
    for &c in columns {
        let v = &row[c];
        if v.is_null() {
            return None;
        }
        key.push(v.clone());
    }
    Some(key.into_boxed_slice())
}
