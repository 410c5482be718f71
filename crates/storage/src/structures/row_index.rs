//! A row index: view rows grouped by the values of the statement's
//! equality keys, each group ordered by the statement's sort keys (then
//! by row identity). Entries hold only the keys and the identity; rows are
//! read from their tables when the statement runs.

use std::ops::Bound;

use aotdb_planner::{SortSpec, Value};
use hashbrown::HashMap;

use super::ordered_set::OrderedSet;
use super::sort_key::{range_bounds, Identity, OrderedKey};
use crate::row::Key;

/// A range read: the first ordering key and the SQL bounds on it, each
/// `(value, inclusive)`.
pub type RangeScan<'a> = (&'a SortSpec, Option<(Value, bool)>, Option<(Value, bool)>);

#[derive(Debug, Default)]
pub struct RowIndex {
    groups: HashMap<Key, OrderedSet>,
    entries: usize,
}

/// One entry's place: its equality key and its ordered key.
#[derive(Debug, Clone, PartialEq)]
pub struct RowIndexEntry {
    pub eq: Key,
    pub key: OrderedKey,
}

impl RowIndex {
    /// Approximate heap bytes (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{hash_table, key_heap, sampled, sampled_by_entries};
        // Groups are very uneven (a busy account's decisions beside many
        // accounts with one): their entries are scaled to the exact count.
        hash_table(&self.groups)
            + sampled(self.groups.keys(), self.groups.len(), key_heap)
            + sampled_by_entries(self.groups.values(), self.entries, |set| {
                (set.table_bytes() + sampled(set.iter(), set.len(), OrderedKey::heap_bytes), set.len())
            })
    }

    pub fn insert(&mut self, e: RowIndexEntry) {
        if self.groups.entry(e.eq).or_default().insert(e.key) {
            self.entries += 1;
        }
    }

    /// Builds the index from all its entries at once.
    pub fn bulk_load(&mut self, entries: Vec<RowIndexEntry>) {
        let mut by_key: HashMap<Key, Vec<OrderedKey>> = HashMap::new();
        for e in entries {
            by_key.entry(e.eq).or_default().push(e.key);
        }
        for (eq, mut keys) in by_key {
            keys.sort_unstable();
            keys.dedup();
            self.entries += keys.len();
            self.groups.insert(eq, OrderedSet::from_sorted(keys));
        }
    }

    pub fn remove(&mut self, e: &RowIndexEntry) {
        if let Some(set) = self.groups.get_mut(&e.eq) {
            if set.take(e.key.as_bytes()).is_some() {
                self.entries -= 1;
            }
            if set.is_empty() {
                self.groups.remove(&e.eq);
            }
        }
    }

    /// Identities in the group of `eq`, in index order, within the range
    /// on the first sort key if given. `visit` returns false to stop.
    pub fn scan(&self, eq: &[Value], range: Option<RangeScan<'_>>, mut visit: impl FnMut(&Identity) -> bool) {
        let Some(set) = self.groups.get(eq) else { return };
        let (lo, hi) = match range {
            Some((spec, lower, upper)) => range_bounds(spec, lower, upper),
            None => (Bound::Unbounded, Bound::Unbounded),
        };
        for key in set.range(lo, hi) {
            if let Some(identity) = key.identity() {
                if !visit(&identity) {
                    return;
                }
            }
        }
    }

    /// Entries in all groups.
    pub fn len(&self) -> usize {
        self.entries
    }
}
