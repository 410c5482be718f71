//! A map from the catalog's small integer ids (tables, structures) to what
//! storage keeps for them (tables, structures, each table's watchers), indexed directly by the id. Every write looks
//! its table and each structure it maintains up several times; a B-tree
//! did that in about twenty instructions a lookup, and a write made dozens.
//! Ids only grow, and a dropped one leaves an empty slot of one pointer;
//! iteration walks the ids present, not every id ever used (DELETE asks
//! every table for foreign keys, and a catalog may have made and dropped
//! many tables).

/// Values by id, iterated in id order.
#[derive(Debug)]
pub struct IdMap<T> {
    slots: Vec<Option<Box<T>>>,
    /// The ids holding a value, ascending.
    present: Vec<u32>,
}

impl<T> Default for IdMap<T> {
    fn default() -> IdMap<T> {
        IdMap { slots: Vec::new(), present: Vec::new() }
    }
}

impl<T> IdMap<T> {
    pub fn get(&self, id: &u32) -> Option<&T> {
        self.slots.get(*id as usize).and_then(|s| s.as_deref())
    }

    pub fn get_mut(&mut self, id: &u32) -> Option<&mut T> {
        self.slots.get_mut(*id as usize).and_then(|s| s.as_deref_mut())
    }

    /// Puts `value` under `id`, returning what was there.
    pub fn insert(&mut self, id: u32, value: T) -> Option<T> {
        let at = id as usize;
        if at >= self.slots.len() {
            self.slots.resize_with(at + 1, || None);
        }
        let old = self.slots[at].replace(Box::new(value)).map(|b| *b);
        if old.is_none() {
            self.note_present(id);
        }
        old
    }

    fn note_present(&mut self, id: u32) {
        if let Err(at) = self.present.binary_search(&id) {
            self.present.insert(at, id);
        }
    }

    /// The value under `id`, made by `T::default()` if there is none.
    pub fn get_or_default(&mut self, id: u32) -> &mut T
    where
        T: Default,
    {
        let at = id as usize;
        if at >= self.slots.len() {
            self.slots.resize_with(at + 1, || None);
        }
        if self.slots[at].is_none() {
            self.note_present(id);
        }
        self.slots[at].get_or_insert_with(Box::default)
    }

    pub fn remove(&mut self, id: &u32) -> Option<T> {
        let old = self.slots.get_mut(*id as usize).and_then(Option::take).map(|b| *b);
        if old.is_some() {
            self.present.retain(|p| p != id);
        }
        old
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.present.clear();
    }

    /// `(id, value)` in id order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.present.iter().filter_map(|&id| self.get(&id).map(|v| (id, v)))
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.iter().map(|(_, v)| v)
    }
}

impl<T> Extend<(u32, T)> for IdMap<T> {
    fn extend<I: IntoIterator<Item = (u32, T)>>(&mut self, items: I) {
        for (id, value) in items {
            self.insert(id, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IdMap;

    #[test]
    fn holds_values_by_id_in_id_order() {
        let mut m = IdMap::default();
        assert_eq!(m.insert(5, "e"), None);
        assert_eq!(m.insert(2, "b"), None);
        assert_eq!(m.insert(5, "E"), Some("e"));
        assert_eq!(*m.get_or_default(5), "E");
        assert_eq!(*m.get_or_default(9), "");
        assert_eq!(m.remove(&9), Some(""));
        assert_eq!((m.get(&5), m.get(&3), m.get(&99)), (Some(&"E"), None, None));
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![(2, &"b"), (5, &"E")]);
        assert_eq!(m.remove(&2), Some("b"));
        assert_eq!(m.remove(&2), None);
        assert_eq!(m.remove(&77), None);
        assert_eq!(m.values().collect::<Vec<_>>(), vec![&"E"]);
        m.extend([(7, "g"), (3, "c")]);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![(3, &"c"), (5, &"E"), (7, &"g")]);
        m.clear();
        assert!(m.iter().next().is_none() && m.get(&5).is_none());
    }
}
