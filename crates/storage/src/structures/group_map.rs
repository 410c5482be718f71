//! The groups of one key of an aggregate view. Most keys have a few
//! groups: they keep them in a vector sorted by group values, so a read in
//! group order walks it without sorting, a lookup is a short binary
//! search, and the groups sit side by side with no hash table's empty
//! slots between them. A key that collects more than `SORTED_MAX` groups
//! moves them into a hash map (adding a group to the vector moves the ones
//! after it), so a lookup stays O(1) however many groups a hot key has;
//! reads in group order then sort.

/// The most groups a key keeps in a sorted vector.
const SORTED_MAX: usize = 64;

use hashbrown::HashMap;

use aotdb_planner::Value;

use crate::row::Key;

#[derive(Debug)]
pub enum GroupMap<G> {
    Sorted(Vec<(Key, G)>),
    /// Boxed: few keys spill, and the vector's variant is then the size
    /// of a vector alone.
    Hashed(Box<HashMap<Key, G>>),
}

impl<G> Default for GroupMap<G> {
    fn default() -> GroupMap<G> {
        GroupMap::Sorted(Vec::new())
    }
}

impl<G> GroupMap<G> {
    pub fn len(&self) -> usize {
        match self {
            GroupMap::Sorted(v) => v.len(),
            GroupMap::Hashed(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Gives back the room a bulk build's growth left over.
    pub fn shrink_to_fit(&mut self) {
        match self {
            GroupMap::Sorted(v) => v.shrink_to_fit(),
            GroupMap::Hashed(m) => m.shrink_to_fit(),
        }
    }

    /// The group's key as stored (the values it was made with) and state.
    pub fn get_key_value(&self, group: &[Value]) -> Option<(&Key, &G)> {
        match self {
            GroupMap::Sorted(v) => {
                v.binary_search_by(|(k, _)| k.as_slice().cmp(group)).ok().map(|i| (&v[i].0, &v[i].1))
            }
            GroupMap::Hashed(m) => m.get_key_value(group),
        }
    }

    /// The group's state, made by `fresh` (and its key cloned) only when
    /// the group is new; the flag says whether it was.
    pub fn get_or_insert_with(&mut self, group: &Key, fresh: impl FnOnce() -> G) -> (&mut G, bool) {
        use hashbrown::hash_map::EntryRef;
        // The groups move into a hash map only when a new group would
        // pass the limit, not when a full vector's group changes.
        if let GroupMap::Sorted(v) = self {
            if v.len() >= SORTED_MAX && v.binary_search_by(|(k, _)| k.as_slice().cmp(group)).is_err() {
                self.spill();
            }
        }
        match self {
            GroupMap::Sorted(v) => match v.binary_search_by(|(k, _)| k.as_slice().cmp(group)) {
                Ok(i) => (&mut v[i].1, false),
                Err(i) => {
                    if v.capacity() == 0 {
                        // Many keys have one group (all of a view without
                        // GROUP BY): no room for four.
                        v.reserve_exact(1);
                    }
                    v.insert(i, (group.clone(), fresh()));
                    (&mut v[i].1, true)
                }
            },
            GroupMap::Hashed(m) => match m.entry_ref(group) {
                EntryRef::Occupied(o) => (o.into_mut(), false),
                EntryRef::Vacant(e) => (e.insert(fresh()), true),
            },
        }
    }

    /// Adds a group known to be absent (bulk loads).
    pub fn insert(&mut self, group: Key, g: G) {
        if matches!(self, GroupMap::Sorted(v) if v.len() >= SORTED_MAX) {
            self.spill();
        }
        match self {
            GroupMap::Sorted(v) => {
                let i = v.binary_search_by(|(k, _)| k.as_slice().cmp(&group)).unwrap_or_else(|i| i);
                if v.capacity() == 0 {
                    v.reserve_exact(1);
                }
                v.insert(i, (group, g));
            }
            GroupMap::Hashed(m) => {
                m.insert(group, g);
            }
        }
    }

    /// Moves a sorted vector's groups into a hash map.
    fn spill(&mut self) {
        if let GroupMap::Sorted(v) = self {
            let map: HashMap<Key, G> = std::mem::take(v).into_iter().collect();
            *self = GroupMap::Hashed(Box::new(map));
        }
    }

    pub fn remove(&mut self, group: &[Value]) {
        match self {
            GroupMap::Sorted(v) => {
                if let Ok(i) = v.binary_search_by(|(k, _)| k.as_slice().cmp(group)) {
                    v.remove(i);
                    if v.capacity() > 8 && v.len() < v.capacity() / 4 {
                        v.shrink_to(v.len() * 2);
                    }
                }
            }
            GroupMap::Hashed(m) => {
                m.remove(group);
            }
        }
    }

    /// Every group; in group order when the map is sorted.
    pub fn iter(&self) -> Iter<'_, G> {
        match self {
            GroupMap::Sorted(v) => Iter::Sorted(v.iter()),
            GroupMap::Hashed(m) => Iter::Hashed(m.iter()),
        }
    }

    /// Whether `iter` yields groups in order.
    pub fn is_sorted(&self) -> bool {
        matches!(self, GroupMap::Sorted(_))
    }

    /// Bytes of the map's own allocation (INFO memory).
    pub fn table_bytes(&self) -> usize {
        match self {
            GroupMap::Sorted(v) => crate::memory::allocation(v.capacity() * std::mem::size_of::<(Key, G)>()),
            GroupMap::Hashed(m) => std::mem::size_of::<HashMap<Key, G>>() + crate::memory::hash_table(m),
        }
    }
}

pub enum Iter<'a, G> {
    Sorted(std::slice::Iter<'a, (Key, G)>),
    Hashed(hashbrown::hash_map::Iter<'a, Key, G>),
}

impl<'a, G> Iterator for Iter<'a, G> {
    type Item = (&'a Key, &'a G);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Sorted(it) => it.next().map(|(k, g)| (k, g)),
            Iter::Hashed(it) => it.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: i64) -> Key {
        Key::One(Value::Int(i))
    }

    #[test]
    fn sorted_and_hashed_hold_the_same_groups() {
        for sorted in [true, false] {
            let mut m: GroupMap<i64> = if sorted { GroupMap::default() } else { GroupMap::Hashed(Box::default()) };
            for i in [5, 1, 9, 3, 7, 1, 5] {
                let (g, _) = m.get_or_insert_with(&key(i), || 0);
                *g += 1;
            }
            assert_eq!(m.len(), 5);
            assert_eq!(m.get_key_value(&[Value::Int(1)]).map(|(_, g)| g), Some(&2));
            assert_eq!(m.get_key_value(&[Value::Int(2)]).map(|(_, g)| g), None);
            m.remove(&[Value::Int(5)]);
            m.remove(&[Value::Int(4)]);
            assert_eq!(m.len(), 4);
            let mut keys: Vec<i64> = m
                .iter()
                .map(|(k, _)| match k.as_slice() {
                    [Value::Int(i)] => *i,
                    _ => -1,
                })
                .collect();
            if sorted {
                assert_eq!(keys, vec![1, 3, 7, 9]);
            }
            keys.sort();
            assert_eq!(keys, vec![1, 3, 7, 9]);
        }
    }

    #[test]
    fn a_sorted_key_with_many_groups_spills_into_a_hash_map() {
        let mut m: GroupMap<i64> = GroupMap::default();
        for i in 0..(SORTED_MAX as i64 + 10) {
            m.get_or_insert_with(&key(i), || i);
        }
        assert!(!m.is_sorted());
        assert_eq!(m.len(), SORTED_MAX + 10);
        assert_eq!(m.get_key_value(&[Value::Int(3)]).map(|(_, g)| g), Some(&3));
    }
}
