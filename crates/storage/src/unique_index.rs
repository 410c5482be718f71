//! Hash index behind a PRIMARY KEY or UNIQUE constraint: key to row, one
//! probe per lookup.
//!
//! The index holds only row slots (4 bytes each); a key is hashed from
//! its values and compared against the row the slot holds, which a lookup
//! reads next anyway. Keeping a copy of each key in the index would make
//! it six times larger and cost a cache miss more per probe. So every
//! operation takes the table's slots, and a row must be in its slot while
//! the index holds it.

use std::hash::{BuildHasher, Hash, Hasher};

use aotdb_planner::{TableDef, UniqueDef, Value};
use hashbrown::{DefaultHashBuilder, HashTable};

use crate::error::{Error, Result};
use crate::row::RowId;
use crate::row_store::RowStore;

#[derive(Debug)]
pub struct UniqueIndex {
    pub def: UniqueDef,
    slots_by_key: HashTable<RowId>,
    hasher: DefaultHashBuilder,
}

/// The row in `slot`: the index only holds slots whose rows are present.
fn row_at(slots: &RowStore, slot: RowId) -> &[Value] {
    slots.get(slot).unwrap_or(&[])
}

impl UniqueIndex {
    pub fn new(def: UniqueDef) -> UniqueIndex {
        UniqueIndex::with_capacity(def, 0)
    }

    /// Room for `rows` keys up front (a snapshot's table): growing instead
    /// would rehash every key, reading its row again, at each doubling.
    pub fn with_capacity(def: UniqueDef, rows: usize) -> UniqueIndex {
        UniqueIndex { def, slots_by_key: HashTable::with_capacity(rows), hasher: DefaultHashBuilder::default() }
    }

    fn hash_of<'a>(&self, values: impl Iterator<Item = &'a Value>) -> u64 {
        let mut h = self.hasher.build_hasher();
        for v in values {
            v.hash(&mut h);
        }
        h.finish()
    }

    /// The hash of `row`'s key, or `None` if a key column is NULL (NULLs
    /// are never equal, so such rows are not indexed and never conflict).
    fn row_key_hash(&self, row: &[Value]) -> Option<u64> {
        let columns = &self.def.columns;
        if columns.iter().any(|&c| row.get(c).is_none_or(Value::is_null)) {
            return None;
        }
        Some(self.hash_of(columns.iter().map(|&c| &row[c])))
    }

    fn row_has_key(&self, row: &[Value], key: &[Value]) -> bool {
        self.def.columns.iter().zip(key).all(|(&c, k)| row.get(c) == Some(k))
    }

    fn rows_share_key(&self, a: &[Value], b: &[Value]) -> bool {
        self.def.columns.iter().all(|&c| a.get(c) == b.get(c))
    }

    /// Approximate heap bytes (INFO memory): a slot and a control byte per
    /// bucket.
    pub fn heap_bytes(&self) -> usize {
        self.slots_by_key.capacity() * (std::mem::size_of::<RowId>() + 1)
    }

    /// The slot of the row whose key is `key`.
    pub fn get(&self, key: &[Value], slots: &RowStore) -> Option<RowId> {
        if key.len() != self.def.columns.len() || key.iter().any(Value::is_null) {
            return None;
        }
        let hash = self.hash_of(key.iter());
        self.slots_by_key.find(hash, |&slot| self.row_has_key(row_at(slots, slot), key)).copied()
    }

    /// Fails if another row than `except` holds the key of `row`.
    pub fn check(&self, table: &TableDef, row: &[Value], except: Option<RowId>, slots: &RowStore) -> Result<()> {
        let Some(hash) = self.row_key_hash(row) else {
            return Ok(());
        };
        match self.slots_by_key.find(hash, |&slot| self.rows_share_key(row_at(slots, slot), row)) {
            Some(&holder) if Some(holder) != except => {
                let key: Vec<Value> = self.def.columns.iter().map(|&c| row[c].clone()).collect();
                Err(self.violation(table, &key))
            }
            _ => Ok(()),
        }
    }

    /// The hash of the key of the row in `slot`, for moving entries when
    /// the table grows (every indexed row has a key without NULLs).
    fn slot_hash(hasher: &DefaultHashBuilder, columns: &[usize], slots: &RowStore, slot: RowId) -> u64 {
        let mut h = hasher.build_hasher();
        for &c in columns {
            row_at(slots, slot).get(c).unwrap_or(&Value::Null).hash(&mut h);
        }
        h.finish()
    }

    /// Indexes the row now in `slot` (after a check said its key is free).
    pub fn insert(&mut self, slot: RowId, slots: &RowStore) {
        let Some(hash) = self.row_key_hash(row_at(slots, slot)) else { return };
        let (hasher, columns) = (&self.hasher, &self.def.columns);
        self.slots_by_key.insert_unique(hash, slot, |&other| Self::slot_hash(hasher, columns, slots, other));
    }

    /// Indexes the row now in `slot` unless another row holds its key
    /// (then nothing changes and the error names the key): a check and an
    /// insert with one hash and one probe, for loading many rows.
    pub fn insert_checked(&mut self, table: &TableDef, slot: RowId, slots: &RowStore) -> Result<()> {
        let row = row_at(slots, slot);
        let Some(hash) = self.row_key_hash(row) else { return Ok(()) };
        let (hasher, columns) = (&self.hasher, &self.def.columns);
        let rehash = |&other: &RowId| Self::slot_hash(hasher, columns, slots, other);
        let same_key = |&other: &RowId| columns.iter().all(|&c| row_at(slots, other).get(c) == row.get(c));
        match self.slots_by_key.entry(hash, same_key, rehash) {
            hashbrown::hash_table::Entry::Occupied(o) if *o.get() != slot => {
                let key: Vec<Value> = columns.iter().map(|&c| row[c].clone()).collect();
                Err(self.violation(table, &key))
            }
            hashbrown::hash_table::Entry::Occupied(_) => Ok(()),
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(slot);
                Ok(())
            }
        }
    }

    /// Drops the entry of `slot`, which held `row` (the row may already
    /// have left its slot).
    pub fn remove(&mut self, row: &[Value], slot: RowId) {
        let Some(hash) = self.row_key_hash(row) else { return };
        if let Ok(entry) = self.slots_by_key.find_entry(hash, |&s| s == slot) {
            entry.remove();
        }
    }

    /// Whether `old` and `new` have different keys (so an update must
    /// re-index the row).
    pub fn key_changes(&self, old: &[Value], new: &[Value]) -> bool {
        self.def.columns.iter().any(|&c| old[c] != new[c] || old[c].is_null() != new[c].is_null())
    }

    fn violation(&self, table: &TableDef, key: &[Value]) -> Error {
        let values: Vec<String> = key.iter().map(|v| v.to_pg_text()).collect();
        Error::Constraint(format!(
            "duplicate key value violates unique constraint \"{}\" of table \"{}\": Key ({})=({}) already exists",
            self.def.name,
            table.name,
            table.describe_columns(&self.def.columns),
            values.join(", ")
        ))
    }

    pub fn len(&self) -> usize {
        self.slots_by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots_by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::Row;
    use aotdb_planner::{apply_script, Catalog};

    fn table() -> std::sync::Arc<TableDef> {
        let (catalog, _) =
            apply_script(&Catalog::new(), "CREATE TABLE t (a BIGINT, b TEXT, c BIGINT, UNIQUE (a, b));").unwrap();
        catalog.table_by_name("t").unwrap().clone()
    }

    #[test]
    fn keys_resolve_through_the_rows_they_index() {
        let def = table();
        let mut index = UniqueIndex::new(def.uniques[0].clone());
        let mut slots = RowStore::new(3);
        let row = |a: i64, b: &str| -> Row { vec![Value::Int(a), Value::text(b), Value::Int(a * 2)].into() };
        // Enough rows that the table grows and rehashes several times.
        for i in 0..5000 {
            let r = row(i % 1000, &format!("k{}", i / 1000));
            index.check(&def, &r, None, &slots).unwrap();
            let slot = slots.push_slot() as RowId;
            slots.put(slot, r);
            index.insert(slot, &slots);
        }
        assert_eq!(index.len(), 5000);
        assert_eq!(index.get(&[Value::Int(7), Value::text("k3")], &slots), Some(3007));
        assert_eq!(index.get(&[Value::Int(7), Value::text("k9")], &slots), None);
        assert_eq!(index.get(&[Value::Int(7), Value::Null], &slots), None);
        // A duplicate is refused, except for the row itself.
        let dup = row(7, "k3");
        assert!(matches!(index.check(&def, &dup, None, &slots), Err(Error::Constraint(_))));
        assert!(index.check(&def, &dup, Some(3007), &slots).is_ok());
        // NULL keys are never indexed and never conflict.
        let with_null: Row = vec![Value::Int(7), Value::Null, Value::Int(0)].into();
        assert!(index.check(&def, &with_null, None, &slots).is_ok());
        let slot = slots.push_slot() as RowId;
        slots.put(slot, with_null);
        index.insert(slot, &slots);
        assert_eq!(index.len(), 5000);
        // Deleting frees the key.
        let gone = slots.take(3007).unwrap();
        index.remove(&gone, 3007);
        assert_eq!(index.get(&[Value::Int(7), Value::text("k3")], &slots), None);
        assert!(index.check(&def, &dup, None, &slots).is_ok());
        assert_eq!(index.get(&[Value::Int(8), Value::text("k3")], &slots), Some(3008));
    }

    #[test]
    fn a_checked_insert_refuses_a_taken_key_and_changes_nothing() {
        let def = table();
        let mut index = UniqueIndex::new(def.uniques[0].clone());
        let mut slots = RowStore::new(3);
        let row = |a: i64, b: &str| -> Row { vec![Value::Int(a), Value::text(b), Value::Int(0)].into() };
        for i in 0..100 {
            let slot = slots.push_slot() as RowId;
            slots.put(slot, row(i, "x"));
            index.insert_checked(&def, slot, &slots).unwrap();
        }
        // Indexing a row again is a no-op; a second row with a held key
        // is refused.
        index.insert_checked(&def, 42, &slots).unwrap();
        let slot = slots.push_slot() as RowId;
        slots.put(slot, row(42, "x"));
        assert!(matches!(index.insert_checked(&def, slot, &slots), Err(Error::Constraint(_))));
        assert_eq!(index.len(), 100);
        assert_eq!(index.get(&[Value::Int(42), Value::text("x")], &slots), Some(42));
    }
}
