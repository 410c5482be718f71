//! A derived hash index on some columns of a table: key to the set of
//! rows holding it. Rows with a NULL in the key are not indexed (an
//! equality never matches NULL).

use aotdb_planner::Value;
use hashbrown::{HashMap, HashSet};

use crate::row::{key_of, Key, RowId, RowIds};

/// The rows of one key. Most keys of a join column hold few rows, but a
/// hot one (the busiest merchant's payments) holds a large share of the
/// table: a hash set keeps adding and removing one O(1) at any size, and
/// `get` sorts, so callers see rows in slot order.
#[derive(Debug)]
enum RowSet {
    One(RowId),
    Many(HashSet<RowId>),
}

#[derive(Debug)]
pub struct TableIndex {
    pub columns: Vec<usize>,
    map: HashMap<Key, RowSet>,
}

impl TableIndex {
    /// Approximate heap bytes (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{hash_table, key_heap, sampled};
        let hash_set = |set: &HashSet<RowId>| set.capacity() * (std::mem::size_of::<RowId>() + 1);
        hash_table(&self.map)
            + sampled(self.map.iter(), self.map.len(), |(key, rows)| {
                key_heap(key)
                    + match rows {
                        RowSet::One(_) => 0,
                        RowSet::Many(set) => hash_set(set),
                    }
            })
    }

    pub fn new(columns: Vec<usize>) -> TableIndex {
        TableIndex { columns, map: HashMap::new() }
    }

    pub fn insert(&mut self, row: &[Value], id: RowId) {
        let Some(key) = key_of(row, &self.columns) else { return };
        match self.map.get_mut(&key) {
            None => {
                self.map.insert(key, RowSet::One(id));
            }
            Some(RowSet::One(existing)) => {
                let set = HashSet::from_iter([*existing, id]);
                self.map.insert(key, RowSet::Many(set));
            }
            Some(RowSet::Many(set)) => {
                set.insert(id);
            }
        }
    }

    pub fn remove(&mut self, row: &[Value], id: RowId) {
        let Some(key) = key_of(row, &self.columns) else { return };
        let now_empty = match self.map.get_mut(&key) {
            None => false,
            Some(RowSet::One(existing)) => *existing == id,
            Some(RowSet::Many(set)) => {
                set.remove(&id);
                if set.len() == 1 {
                    if let Some(&last) = set.iter().next() {
                        self.map.insert(key.clone(), RowSet::One(last));
                    }
                } else if set.capacity() > 64 && set.len() < set.capacity() / 8 {
                    set.shrink_to(set.len() * 2);
                }
                false
            }
        };
        if now_empty {
            self.map.remove(&key);
        }
    }

    /// Whether an update from `old` to `new` moves the row to another key.
    pub fn key_changes(&self, old: &[Value], new: &[Value]) -> bool {
        self.columns.iter().any(|&c| old[c] != new[c])
    }

    /// Rows holding `key` (in row order).
    pub fn get(&self, key: &[Value]) -> RowIds {
        match self.map.get(key) {
            None => RowIds::new(),
            Some(RowSet::One(id)) => RowIds::from_slice(&[*id]),
            Some(RowSet::Many(set)) => {
                let mut ids: RowIds = set.iter().copied().collect();
                ids.sort_unstable();
                ids
            }
        }
    }

    pub fn keys(&self) -> usize {
        self.map.len()
    }
}
