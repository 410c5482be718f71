//! A derived hash index on some columns of a table: key to the set of
//! rows holding it. Rows with a NULL in the key are not indexed (an
//! equality never matches NULL).

use std::collections::BTreeSet;

use aotdb_planner::Value;
use hashbrown::HashMap;

use crate::row::{key_of, Key, RowId};

/// The rows of one key. Most keys of a join column hold few rows; the set
/// is ordered so iteration is deterministic.
#[derive(Debug)]
enum RowSet {
    One(RowId),
    Many(BTreeSet<RowId>),
}

#[derive(Debug)]
pub struct TableIndex {
    pub columns: Vec<usize>,
    map: HashMap<Key, RowSet>,
}

impl TableIndex {
    /// Approximate heap bytes (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{boxed_values, btree, hash_table, sampled};
        hash_table(&self.map)
            + sampled(self.map.iter(), self.map.len(), |(key, rows)| {
                boxed_values(key)
                    + match rows {
                        RowSet::One(_) => 0,
                        RowSet::Many(set) => btree::<RowId>(set.len()),
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
                let set = BTreeSet::from([*existing, id]);
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
                    let last = *set.iter().next().expect("one left");
                    self.map.insert(key.clone(), RowSet::One(last));
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
    pub fn get(&self, key: &[Value]) -> Vec<RowId> {
        match self.map.get(key) {
            None => Vec::new(),
            Some(RowSet::One(id)) => vec![*id],
            Some(RowSet::Many(set)) => set.iter().copied().collect(),
        }
    }

    pub fn keys(&self) -> usize {
        self.map.len()
    }
}
