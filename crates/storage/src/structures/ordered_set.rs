//! A set of ordered keys under one key of a structure: the ranked groups
//! of a top-N view, the entries of a row index. Most keys hold a few:
//! they keep them in a sorted vector, which costs a slot per entry where
//! a B-tree's first node alone holds room for eleven. A key that collects
//! more than `SMALL_MAX` entries moves them into a B-tree, so a change to
//! a hot key stays O(log n).

use std::collections::BTreeSet;
use std::ops::Bound;

use super::sort_key::OrderedKey;

/// The most entries a key keeps in a sorted vector.
const SMALL_MAX: usize = 64;

#[derive(Debug)]
pub enum OrderedSet {
    Small(Vec<OrderedKey>),
    /// Boxed, as few keys grow this large: the small variant is then the
    /// size of a vector alone, in every key's slot.
    #[allow(clippy::box_collection)]
    Large(Box<BTreeSet<OrderedKey>>),
}

impl Default for OrderedSet {
    fn default() -> OrderedSet {
        OrderedSet::Small(Vec::new())
    }
}

impl OrderedSet {
    /// A set of keys already sorted and distinct (a bulk load).
    pub fn from_sorted(keys: Vec<OrderedKey>) -> OrderedSet {
        if keys.len() > SMALL_MAX {
            OrderedSet::Large(Box::new(keys.into_iter().collect()))
        } else {
            let mut keys = keys;
            keys.shrink_to_fit();
            OrderedSet::Small(keys)
        }
    }

    pub fn len(&self) -> usize {
        match self {
            OrderedSet::Small(v) => v.len(),
            OrderedSet::Large(s) => s.len(),
        }
    }

    /// Takes out the entry whose bytes are `key`, if there.
    pub fn take(&mut self, key: &[u8]) -> Option<OrderedKey> {
        match self {
            OrderedSet::Small(v) => {
                let i = v.binary_search_by(|k| k.as_bytes().cmp(key)).ok()?;
                Some(v.remove(i))
            }
            OrderedSet::Large(s) => s.take(key),
        }
    }

    /// Adds the key; false if it was there.
    pub fn insert(&mut self, key: OrderedKey) -> bool {
        match self {
            OrderedSet::Small(v) if v.len() >= SMALL_MAX => {
                let mut set: BTreeSet<OrderedKey> = std::mem::take(v).into_iter().collect();
                let added = set.insert(key);
                *self = OrderedSet::Large(Box::new(set));
                added
            }
            OrderedSet::Small(v) => match v.binary_search(&key) {
                Ok(_) => false,
                Err(i) => {
                    if v.capacity() == 0 {
                        // Most keys hold one or two entries.
                        v.reserve_exact(1);
                    }
                    v.insert(i, key);
                    true
                }
            },
            OrderedSet::Large(s) => s.insert(key),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries within the bounds, in order; none when the bounds are
    /// inverted (or empty: equal and not both inclusive).
    pub fn range(&self, lo: Bound<OrderedKey>, hi: Bound<OrderedKey>) -> Iter<'_> {
        if let (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) = (&lo, &hi) {
            // By the order itself (which `BTreeSet::range` panics on), not
            // by equality.
            let both_inclusive = matches!((&lo, &hi), (Bound::Included(_), Bound::Included(_)));
            match a.cmp(b) {
                std::cmp::Ordering::Greater => return Iter::Small([].iter()),
                std::cmp::Ordering::Equal if !both_inclusive => return Iter::Small([].iter()),
                _ => {}
            }
        }
        match self {
            OrderedSet::Small(v) => {
                let start = match &lo {
                    Bound::Unbounded => 0,
                    Bound::Included(k) => v.partition_point(|e| e < k),
                    Bound::Excluded(k) => v.partition_point(|e| e <= k),
                };
                let end = match &hi {
                    Bound::Unbounded => v.len(),
                    Bound::Included(k) => v.partition_point(|e| e <= k),
                    Bound::Excluded(k) => v.partition_point(|e| e < k),
                };
                Iter::Small(v[start..end.max(start)].iter())
            }
            OrderedSet::Large(s) => Iter::Range(s.range((lo, hi))),
        }
    }

    /// The entries in output order.
    pub fn iter(&self) -> Iter<'_> {
        match self {
            OrderedSet::Small(v) => Iter::Small(v.iter()),
            OrderedSet::Large(s) => Iter::Large(s.iter()),
        }
    }

    /// Bytes of the set's own allocation (INFO memory; keys too long to
    /// sit inline are counted apart).
    pub fn table_bytes(&self) -> usize {
        match self {
            OrderedSet::Small(v) => crate::memory::allocation(v.capacity() * std::mem::size_of::<OrderedKey>()),
            OrderedSet::Large(s) => {
                std::mem::size_of::<BTreeSet<OrderedKey>>() + crate::memory::btree::<OrderedKey>(s.len())
            }
        }
    }
}

pub enum Iter<'a> {
    Small(std::slice::Iter<'a, OrderedKey>),
    Large(std::collections::btree_set::Iter<'a, OrderedKey>),
    Range(std::collections::btree_set::Range<'a, OrderedKey>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a OrderedKey;

    fn next(&mut self) -> Option<&'a OrderedKey> {
        match self {
            Iter::Small(it) => it.next(),
            Iter::Large(it) => it.next(),
            Iter::Range(it) => it.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::sort_key::KeyBuf;
    use super::*;
    use aotdb_planner::Value;

    fn key(n: i64) -> OrderedKey {
        let mut buf = KeyBuf::new();
        buf.push_value(&Value::Int(n), true, false);
        buf.key()
    }

    fn order(r: &OrderedSet) -> Vec<OrderedKey> {
        r.iter().cloned().collect()
    }

    #[test]
    fn small_and_large_rankings_keep_the_same_order() {
        let mut small = OrderedSet::default();
        let mut large = OrderedSet::default();
        // Enough for `large` to move into a B-tree, not for `small`.
        for n in 0..(SMALL_MAX as i64 + 20) {
            large.insert(key(n * 7 % 101));
        }
        for n in 0..10 {
            small.insert(key(n * 7 % 101));
        }
        assert!(matches!(large, OrderedSet::Large(_)));
        assert!(matches!(small, OrderedSet::Small(_)));
        for r in [&mut small, &mut large] {
            let mut expected = order(r);
            expected.sort();
            assert_eq!(order(r), expected);
            let len = r.len();
            assert_eq!(r.take(key(14).as_bytes()), Some(key(14)));
            assert_eq!(r.take(key(14).as_bytes()), None);
            assert_eq!(r.len(), len - 1);
            r.insert(key(14));
            r.insert(key(14));
            assert_eq!(r.len(), len);
            assert_eq!(order(r), expected);
        }
    }

    #[test]
    fn ranges_agree_between_layouts_and_never_panic() {
        let mut small = OrderedSet::default();
        let mut large = OrderedSet::default();
        for n in 0..10 {
            small.insert(key(n * 3));
        }
        for n in 0..(SMALL_MAX as i64 + 5) {
            large.insert(key(n * 3));
        }
        let bound = |kind: u8, n: i64| match kind {
            0 => Bound::Unbounded,
            1 => Bound::Included(key(n)),
            _ => Bound::Excluded(key(n)),
        };
        for set in [&small, &large] {
            let all = order(set);
            for (lk, hk) in [(0, 0), (1, 1), (1, 2), (2, 1), (2, 2), (0, 1), (2, 0)] {
                for (a, b) in [(24, 6), (6, 24), (9, 9), (10, 11), (-5, 500)] {
                    let got: Vec<OrderedKey> = set.range(bound(lk, a), bound(hk, b)).cloned().collect();
                    let want: Vec<OrderedKey> = all
                        .iter()
                        .filter(|k| match bound(lk, a) {
                            Bound::Unbounded => true,
                            Bound::Included(x) => **k >= x,
                            Bound::Excluded(x) => **k > x,
                        })
                        .filter(|k| match bound(hk, b) {
                            Bound::Unbounded => true,
                            Bound::Included(x) => **k <= x,
                            Bound::Excluded(x) => **k < x,
                        })
                        .cloned()
                        .collect();
                    assert_eq!(got, want, "{lk} {a} {hk} {b}");
                }
            }
        }
    }

    #[test]
    fn from_sorted_picks_the_layout_by_size() {
        let few: Vec<OrderedKey> = (0..3).map(key).rev().collect();
        assert!(matches!(OrderedSet::from_sorted(few), OrderedSet::Small(_)));
        let mut many: Vec<OrderedKey> = (0..(SMALL_MAX as i64 + 1)).map(key).collect();
        many.sort();
        let r = OrderedSet::from_sorted(many.clone());
        assert!(matches!(r, OrderedSet::Large(_)));
        assert_eq!(order(&r), many);
    }
}
