//! A map from the catalog's small integer ids (tables, structures) to what
//! storage keeps for them (tables, structures, each table's watchers), indexed directly by the id. Every write looks
//! its table and each structure it maintains up several times; a B-tree
//! did that in about twenty instructions a lookup, and a write made dozens.
//! Ids only grow, and a dropped one leaves an empty slot of one pointer.

/// Values by id, iterated in id order.
#[derive(Debug)]
pub struct IdMap<T> {
    slots: Vec<Option<Box<T>>>,
}

impl<T> Default for IdMap<T> {
    fn default() -> IdMap<T> {
        IdMap { slots: Vec::new() }
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
        self.slots[at].replace(Box::new(value)).map(|b| *b)
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
        self.slots[at].get_or_insert_with(Box::default)
    }

    pub fn remove(&mut self, id: &u32) -> Option<T> {
        self.slots.get_mut(*id as usize).and_then(Option::take).map(|b| *b)
    }

    pub fn clear(&mut self) {
        self.slots.clear();
    }

    /// `(id, value)` in id order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_deref().map(|v| (i as u32, v)))
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(|s| s.as_deref())
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
        m.clear();
        assert!(m.iter().next().is_none() && m.get(&5).is_none());
    }
}
