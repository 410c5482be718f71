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
    /// Rows held in `Many` sets (for INFO's estimate: one hot key's set
    /// may hold most of the rows, beside thousands of keys with one).
    in_sets: usize,
}

impl TableIndex {
    /// Approximate heap bytes (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{hash_table, key_heap, sampled, sampled_by_entries};
        let slot = std::mem::size_of::<RowId>() + 1;
        // The sets' bytes are their rows (counted exactly) at the bytes a
        // row takes in the sampled sets: a sample of keys would swing with
        // whether the hot key fell in it. Without a set in the sample, a
        // set half again as large as its rows.
        let sets = match sampled_by_entries(self.map.values(), self.in_sets, |rows| match rows {
            RowSet::One(_) => (0, 0),
            RowSet::Many(set) => (set.capacity() * slot, set.len()),
        }) {
            0 => self.in_sets * slot * 3 / 2,
            bytes => bytes,
        };
        hash_table(&self.map) + sampled(self.map.keys(), self.map.len(), key_heap) + sets
    }

    pub fn new(columns: Vec<usize>) -> TableIndex {
        TableIndex { columns, map: HashMap::new(), in_sets: 0 }
    }

    pub fn insert(&mut self, row: &[Value], id: RowId) {
        let Some(key) = key_of(row, &self.columns) else { return };
        match self.map.get_mut(&key) {
            None => {
                self.map.insert(key, RowSet::One(id));
            }
            Some(RowSet::One(existing)) => {
                let set = HashSet::from_iter([*existing, id]);
                self.in_sets += set.len();
                self.map.insert(key, RowSet::Many(set));
            }
            Some(RowSet::Many(set)) => {
                self.in_sets += usize::from(set.insert(id));
            }
        }
    }

    pub fn remove(&mut self, row: &[Value], id: RowId) {
        let Some(key) = key_of(row, &self.columns) else { return };
        let now_empty = match self.map.get_mut(&key) {
            None => false,
            Some(RowSet::One(existing)) => *existing == id,
            Some(RowSet::Many(set)) => {
                self.in_sets -= usize::from(set.remove(&id));
                if set.len() == 1 {
                    if let Some(&last) = set.iter().next() {
                        self.in_sets -= 1;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of every set, walked in full.
    fn exact_set_bytes(ti: &TableIndex) -> usize {
        ti.map
            .values()
            .map(|rows| match rows {
                RowSet::One(_) => 0,
                RowSet::Many(set) => set.capacity() * (std::mem::size_of::<RowId>() + 1),
            })
            .sum()
    }

    #[test]
    fn the_estimate_follows_a_hot_key_whether_sampled_or_not() {
        let mut ti = TableIndex::new(vec![0]);
        let mut id: RowId = 0;
        let mut add = |ti: &mut TableIndex, key: i64| {
            ti.insert(&[Value::Int(key)], id);
            id += 1;
        };
        // Thousands of keys with one row, a few with two, and one hot key
        // with most of the rows.
        for k in 0..5_000 {
            add(&mut ti, k);
        }
        for k in 0..50 {
            add(&mut ti, k);
        }
        for _ in 0..40_000 {
            add(&mut ti, 1_000_000);
        }
        let exact = exact_set_bytes(&ti);
        let keys_only = hash_table(&ti.map);
        let estimate = ti.heap_bytes() - keys_only;
        assert!(estimate * 10 >= exact * 7 && estimate * 10 <= exact * 15, "estimate {estimate}, exact {exact}");
        // Removing rows keeps the count of rows in sets exact.
        for r in 5_000..5_050 {
            ti.remove(&[Value::Int((r - 5_000) as i64)], r);
        }
        let in_sets: usize = ti.map.values().map(|r| if let RowSet::Many(s) = r { s.len() } else { 0 }).sum();
        assert_eq!(ti.in_sets, in_sets);
        assert_eq!(in_sets, 40_000);
    }

    use crate::memory::hash_table;
}
