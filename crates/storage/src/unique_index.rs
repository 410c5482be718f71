//! Hash index behind a PRIMARY KEY or UNIQUE constraint: key to row, one
//! probe per lookup.
//!
//! The index holds only row slots (4 bytes each); a key is hashed from
//! its values and compared against the row the slot holds, which a lookup
//! reads next anyway. Keeping a copy of each key in the index would make
//! it six times larger and cost a cache miss more per probe. So every
//! operation takes the table's slots, and a row must be in its slot while
//! the index holds it.
//!
//! Growing such an index means hashing every key again, and so reading
//! every row again: for a table of a million rows, a pause of a fraction
//! of a second inside one write. The index grows a step at a time
//! instead, as Redis grows its dictionaries: a full table becomes the old
//! table, and each insert after moves the entries of a few row slots into
//! a table twice the size. Lookups meanwhile probe both.

use std::hash::{BuildHasher, Hash, Hasher};

use aotdb_planner::{TableDef, UniqueDef, Value};
use hashbrown::{DefaultHashBuilder, HashTable};

use crate::error::{Error, Result};
use crate::row::RowId;
use crate::row_store::RowStore;

#[derive(Debug)]
pub struct UniqueIndex {
    pub def: UniqueDef,
    /// Where new entries go.
    slots_by_key: HashTable<RowId>,
    /// While growing: the table before, and the row slots whose entries
    /// have yet to move from it.
    growing: Option<Growing>,
    hasher: DefaultHashBuilder,
}

#[derive(Debug)]
struct Growing {
    old: HashTable<RowId>,
    next_slot: RowId,
    end_slot: RowId,
}

impl Growing {
    /// A probe of the old table: only while growing, and only after the
    /// new table missed, so kept out of the lookups' inlined path.
    #[cold]
    #[inline(never)]
    fn find_old(&self, hash: u64, eq: &dyn Fn(&RowId) -> bool) -> Option<RowId> {
        self.old.find(hash, eq).copied()
    }
}

/// Row slots whose entries move to the new table per insert (see
/// `make_room` for the room that leaves).
const SLOTS_MOVED_PER_INSERT: RowId = 8;

/// A table this small moves at once.
const GROW_AT_ONCE_BELOW: usize = 4096;

/// The hash of `row`'s key on `columns`, or `None` if a key column is
/// NULL (NULLs are never equal, so such rows are not indexed and never
/// conflict). Hashes the values in order, as a lookup hashes its key.
fn key_hash(hasher: &DefaultHashBuilder, columns: &[usize], row: &[Value]) -> Option<u64> {
    if columns.iter().any(|&c| row.get(c).is_none_or(Value::is_null)) {
        return None;
    }
    Some(hash_values(hasher, columns.iter().map(|&c| &row[c])))
}

/// The hash of a key's values, in order.
fn hash_values<'a>(hasher: &DefaultHashBuilder, values: impl Iterator<Item = &'a Value>) -> u64 {
    let mut h = hasher.build_hasher();
    for v in values {
        v.hash(&mut h);
    }
    h.finish()
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
        UniqueIndex {
            def,
            slots_by_key: HashTable::with_capacity(rows),
            growing: None,
            hasher: DefaultHashBuilder::default(),
        }
    }

    fn row_key_hash(&self, row: &[Value]) -> Option<u64> {
        key_hash(&self.hasher, &self.def.columns, row)
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
        let buckets = self.slots_by_key.capacity() + self.growing.as_ref().map_or(0, |g| g.old.capacity());
        buckets * (std::mem::size_of::<RowId>() + 1)
    }

    /// The entry in either table that `eq` accepts.
    #[inline]
    fn find(&self, hash: u64, eq: impl Fn(&RowId) -> bool) -> Option<RowId> {
        if let Some(&slot) = self.slots_by_key.find(hash, &eq) {
            return Some(slot);
        }
        self.growing.as_ref().and_then(|g| g.find_old(hash, &eq))
    }

    /// The slot of the row whose key is `key`.
    pub fn get(&self, key: &[Value], slots: &RowStore) -> Option<RowId> {
        if key.len() != self.def.columns.len() || key.iter().any(Value::is_null) {
            return None;
        }
        let hash = hash_values(&self.hasher, key.iter());
        self.find(hash, |&slot| self.row_has_key(row_at(slots, slot), key))
    }

    /// Fails if another row than `except` holds the key of `row`.
    pub fn check(&self, table: &TableDef, row: &[Value], except: Option<RowId>, slots: &RowStore) -> Result<()> {
        let Some(hash) = self.row_key_hash(row) else {
            return Ok(());
        };
        match self.find(hash, |&slot| self.rows_share_key(row_at(slots, slot), row)) {
            Some(holder) if Some(holder) != except => {
                let key: Vec<Value> = self.def.columns.iter().map(|&c| row[c].clone()).collect();
                Err(self.violation(table, &key))
            }
            _ => Ok(()),
        }
    }

    /// The hash of the key of the row in `slot`, for moving entries when
    /// the table grows (every indexed row has a key without NULLs).
    fn slot_hash(hasher: &DefaultHashBuilder, columns: &[usize], slots: &RowStore, slot: RowId) -> u64 {
        key_hash(hasher, columns, row_at(slots, slot)).unwrap_or(0)
    }

    /// Indexes the row now in `slot` (after a check said its key is free).
    pub fn insert(&mut self, slot: RowId, slots: &RowStore) {
        let Some(hash) = self.row_key_hash(row_at(slots, slot)) else { return };
        self.make_room(slots);
        let (hasher, columns) = (&self.hasher, &self.def.columns);
        self.slots_by_key.insert_unique(hash, slot, |&other| Self::slot_hash(hasher, columns, slots, other));
        self.move_some(slots);
    }

    /// Indexes the row now in `slot` unless another row holds its key
    /// (then nothing changes and the error names the key): a check and an
    /// insert with one hash and one probe, for loading many rows.
    pub fn insert_checked(&mut self, table: &TableDef, slot: RowId, slots: &RowStore) -> Result<()> {
        let row = row_at(slots, slot);
        let Some(hash) = self.row_key_hash(row) else { return Ok(()) };
        self.make_room(slots);
        let (hasher, columns) = (&self.hasher, &self.def.columns);
        let same_key = |&other: &RowId| columns.iter().all(|&c| row_at(slots, other).get(c) == row.get(c));
        let rehash = |&other: &RowId| Self::slot_hash(hasher, columns, slots, other);
        let holder = match self.growing.as_ref().and_then(|g| g.old.find(hash, same_key)) {
            Some(&holder) => Some(holder),
            None => match self.slots_by_key.entry(hash, same_key, rehash) {
                hashbrown::hash_table::Entry::Occupied(o) => Some(*o.get()),
                hashbrown::hash_table::Entry::Vacant(v) => {
                    v.insert(slot);
                    None
                }
            },
        };
        self.move_some(slots);
        match holder {
            Some(holder) if holder != slot => {
                let key: Vec<Value> = self.def.columns.iter().map(|&c| row[c].clone()).collect();
                Err(self.violation(table, &key))
            }
            _ => Ok(()),
        }
    }

    /// Before an insert into a full table: the table becomes the old one
    /// and a table twice its size takes new entries (any growth still
    /// under way finishes first).
    fn make_room(&mut self, slots: &RowStore) {
        if self.slots_by_key.len() < self.slots_by_key.capacity() {
            return;
        }
        self.finish_growing(slots);
        // Room for the entries to move and for an insert per eight slots
        // visited until they have: a table with many free slots or NULL
        // keys takes longer to walk than twice its entries would allow,
        // and a full table would grow by itself, all at once.
        let entries = self.slots_by_key.len();
        let walk = slots.slot_count() / SLOTS_MOVED_PER_INSERT as usize;
        let bigger = HashTable::with_capacity((entries * 2).max(entries + walk + 1).max(16));
        let old = std::mem::replace(&mut self.slots_by_key, bigger);
        if old.is_empty() {
            return;
        }
        self.growing = Some(Growing { old, next_slot: 0, end_slot: slots.slot_count() as RowId });
        if self.growing.as_ref().is_some_and(|g| g.old.len() < GROW_AT_ONCE_BELOW) {
            self.finish_growing(slots);
        }
    }

    /// Moves the entries of the next few row slots out of the old table.
    fn move_some(&mut self, slots: &RowStore) {
        let Some(g) = &mut self.growing else { return };
        let end = g.next_slot.saturating_add(SLOTS_MOVED_PER_INSERT).min(g.end_slot);
        let (hasher, columns) = (&self.hasher, &self.def.columns);
        for slot in g.next_slot..end {
            let Some(hash) = key_hash(hasher, columns, row_at(slots, slot)) else { continue };
            if let Ok(entry) = g.old.find_entry(hash, |&s| s == slot) {
                entry.remove();
                self.slots_by_key.insert_unique(hash, slot, |&other| Self::slot_hash(hasher, columns, slots, other));
            }
        }
        g.next_slot = end;
        if g.next_slot >= g.end_slot || g.old.is_empty() {
            self.finish_growing(slots);
        }
    }

    /// Moves every entry left in the old table.
    fn finish_growing(&mut self, slots: &RowStore) {
        let Some(g) = self.growing.take() else { return };
        let (hasher, columns) = (&self.hasher, &self.def.columns);
        self.slots_by_key.reserve(g.old.len(), |&other| Self::slot_hash(hasher, columns, slots, other));
        for slot in g.old {
            let hash = Self::slot_hash(hasher, columns, slots, slot);
            self.slots_by_key.insert_unique(hash, slot, |&other| Self::slot_hash(hasher, columns, slots, other));
        }
    }

    /// Drops the entry of `slot`, which held `row` (the row may already
    /// have left its slot).
    pub fn remove(&mut self, row: &[Value], slot: RowId) {
        let Some(hash) = self.row_key_hash(row) else { return };
        if let Ok(entry) = self.slots_by_key.find_entry(hash, |&s| s == slot) {
            entry.remove();
        } else if let Some(g) = &mut self.growing {
            if let Ok(entry) = g.old.find_entry(hash, |&s| s == slot) {
                entry.remove();
            }
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
        self.slots_by_key.len() + self.growing.as_ref().map_or(0, |g| g.old.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    #[test]
    fn growing_a_step_at_a_time_keeps_every_key_found() {
        let def = table();
        let mut index = UniqueIndex::new(def.uniques[0].clone());
        let mut slots = RowStore::new(3);
        let row = |a: i64| -> Row { vec![Value::Int(a), Value::text("k"), Value::Int(0)].into() };
        let key = |a: i64| [Value::Int(a), Value::text("k")];
        // Which key each live slot holds, the reference.
        let mut live: std::collections::HashMap<i64, RowId> = std::collections::HashMap::new();
        let mut free: Vec<RowId> = Vec::new();
        let mut steps_while_growing = 0;
        let mut state = 7u64;
        for n in 0..40_000i64 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let pick = (state >> 33) as i64 % (n + 1);
            match state % 10 {
                // Delete a key (its slot is reused later, as a table does).
                0 | 1 if live.contains_key(&pick) => {
                    let slot = live.remove(&pick).unwrap();
                    let gone = slots.take(slot).unwrap();
                    index.remove(&gone, slot);
                    free.push(slot);
                }
                // Change a key: out under the old, in under the new.
                2 if live.contains_key(&pick) && !live.contains_key(&(pick + 1_000_000)) => {
                    let slot = live.remove(&pick).unwrap();
                    let old = slots.replace(slot, row(pick + 1_000_000)).unwrap();
                    index.remove(&old, slot);
                    index.insert(slot, &slots);
                    live.insert(pick + 1_000_000, slot);
                }
                _ => {
                    let a = n + 2_000_000;
                    let r = row(a);
                    let slot = free.pop().unwrap_or_else(|| slots.push_slot() as RowId);
                    if n % 3 == 0 {
                        slots.put(slot, r);
                        index.insert_checked(&def, slot, &slots).unwrap();
                    } else {
                        index.check(&def, &r, None, &slots).unwrap();
                        slots.put(slot, r);
                        index.insert(slot, &slots);
                    }
                    live.insert(a, slot);
                }
            }
            steps_while_growing += usize::from(index.growing.is_some());
            assert_eq!(index.len(), live.len());
            if n % 1499 == 0 || (index.growing.is_some() && n % 211 == 0) {
                for (a, slot) in &live {
                    assert_eq!(index.get(&key(*a), &slots), Some(*slot), "key {a} after step {n}");
                }
                assert_eq!(index.get(&key(pick - 5_000_000), &slots), None);
            }
        }
        assert!(steps_while_growing > 1000, "the index never grew a step at a time");
        // A taken key is refused while growing too.
        for (a, _) in live.iter().take(100) {
            assert!(index.check(&def, &row(*a), None, &slots).is_err());
        }
    }

    #[test]
    fn a_table_of_mostly_null_keys_grows_without_a_pause() {
        let def = table();
        let mut index = UniqueIndex::new(def.uniques[0].clone());
        let mut slots = RowStore::new(3);
        // One key in eleven is NULL-free: walking the slots takes far
        // longer than twice the index's entries.
        let mut grown_capacity = None;
        for a in 0..200_000i64 {
            let b = if a % 11 == 0 { Value::text("k") } else { Value::Null };
            let slot = slots.push_slot() as RowId;
            slots.put(slot, vec![Value::Int(a), b, Value::Int(0)].into());
            index.insert(slot, &slots);
            match (&index.growing, grown_capacity) {
                (Some(_), None) => grown_capacity = Some(index.slots_by_key.capacity()),
                // The new table never grows by itself (all at once) while
                // the old one empties into it.
                (Some(_), Some(c)) => assert_eq!(index.slots_by_key.capacity(), c, "grew at once at row {a}"),
                (None, _) => grown_capacity = None,
            }
        }
        assert_eq!(index.len(), 200_000 / 11 + 1);
        assert_eq!(index.get(&[Value::Int(110), Value::text("k")], &slots), Some(110));
    }
}
