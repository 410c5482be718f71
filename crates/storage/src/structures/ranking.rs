//! The ranked groups of one key of a top-N view, in output order. Most
//! keys rank a few groups: they keep them in a sorted vector, which costs
//! a slot per group where a B-tree's first node alone holds room for
//! eleven. A key that collects more than `SMALL_MAX` groups moves them
//! into a B-tree, so a change to a hot key stays O(log n).

use std::collections::BTreeSet;

use super::sort_key::{OrderedKey, Part};

/// The most groups a key ranks in a sorted vector.
const SMALL_MAX: usize = 64;

#[derive(Debug)]
pub enum Ranking {
    Small(Vec<OrderedKey>),
    /// Boxed, as few keys grow this large: the small variant is then the
    /// size of a vector alone, in every key's slot.
    #[allow(clippy::box_collection)]
    Large(Box<BTreeSet<OrderedKey>>),
}

impl Default for Ranking {
    fn default() -> Ranking {
        Ranking::Small(Vec::new())
    }
}

impl Ranking {
    /// A ranking of keys already sorted and distinct (a bulk load).
    pub fn from_sorted(keys: Vec<OrderedKey>) -> Ranking {
        if keys.len() > SMALL_MAX {
            Ranking::Large(Box::new(keys.into_iter().collect()))
        } else {
            let mut keys = keys;
            keys.shrink_to_fit();
            Ranking::Small(keys)
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Ranking::Small(v) => v.len(),
            Ranking::Large(s) => s.len(),
        }
    }

    /// Takes out the entry equal to `parts`, if ranked.
    pub fn take(&mut self, parts: &[Part]) -> Option<OrderedKey> {
        match self {
            Ranking::Small(v) => {
                let i = v.binary_search_by(|k| (**k).cmp(parts)).ok()?;
                Some(v.remove(i))
            }
            Ranking::Large(s) => s.take(parts),
        }
    }

    pub fn insert(&mut self, key: OrderedKey) {
        match self {
            Ranking::Small(v) if v.len() >= SMALL_MAX => {
                let mut set: BTreeSet<OrderedKey> = std::mem::take(v).into_iter().collect();
                set.insert(key);
                *self = Ranking::Large(Box::new(set));
            }
            Ranking::Small(v) => {
                if let Err(i) = v.binary_search(&key) {
                    if v.capacity() == 0 {
                        // Most keys rank one or two groups.
                        v.reserve_exact(1);
                    }
                    v.insert(i, key);
                }
            }
            Ranking::Large(s) => {
                s.insert(key);
            }
        }
    }

    /// The entries in output order.
    pub fn iter(&self) -> Iter<'_> {
        match self {
            Ranking::Small(v) => Iter::Small(v.iter()),
            Ranking::Large(s) => Iter::Large(s.iter()),
        }
    }

    /// Bytes of the ranking's own allocation (INFO memory; the entries'
    /// parts are counted apart).
    pub fn table_bytes(&self) -> usize {
        match self {
            Ranking::Small(v) => crate::memory::allocation(v.capacity() * std::mem::size_of::<OrderedKey>()),
            Ranking::Large(s) => {
                std::mem::size_of::<BTreeSet<OrderedKey>>() + crate::memory::btree::<OrderedKey>(s.len())
            }
        }
    }
}

pub enum Iter<'a> {
    Small(std::slice::Iter<'a, OrderedKey>),
    Large(std::collections::btree_set::Iter<'a, OrderedKey>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a OrderedKey;

    fn next(&mut self) -> Option<&'a OrderedKey> {
        match self {
            Iter::Small(it) => it.next(),
            Iter::Large(it) => it.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aotdb_planner::Value;

    fn key(n: i64) -> OrderedKey {
        vec![Part::Val { value: Value::Int(n), descending: true, nulls_first: false }].into_boxed_slice()
    }

    fn order(r: &Ranking) -> Vec<OrderedKey> {
        r.iter().cloned().collect()
    }

    #[test]
    fn small_and_large_rankings_keep_the_same_order() {
        let mut small = Ranking::default();
        let mut large = Ranking::default();
        // Enough for `large` to move into a B-tree, not for `small`.
        for n in 0..(SMALL_MAX as i64 + 20) {
            large.insert(key(n * 7 % 101));
        }
        for n in 0..10 {
            small.insert(key(n * 7 % 101));
        }
        assert!(matches!(large, Ranking::Large(_)));
        assert!(matches!(small, Ranking::Small(_)));
        for r in [&mut small, &mut large] {
            let mut expected = order(r);
            expected.sort();
            assert_eq!(order(r), expected);
            let len = r.len();
            assert_eq!(r.take(&key(14)), Some(key(14)));
            assert_eq!(r.take(&key(14)), None);
            assert_eq!(r.len(), len - 1);
            r.insert(key(14));
            r.insert(key(14));
            assert_eq!(r.len(), len);
            assert_eq!(order(r), expected);
        }
    }

    #[test]
    fn from_sorted_picks_the_layout_by_size() {
        let few: Vec<OrderedKey> = (0..3).map(key).rev().collect();
        assert!(matches!(Ranking::from_sorted(few), Ranking::Small(_)));
        let mut many: Vec<OrderedKey> = (0..(SMALL_MAX as i64 + 1)).map(key).collect();
        many.sort();
        let r = Ranking::from_sorted(many.clone());
        assert!(matches!(r, Ranking::Large(_)));
        assert_eq!(order(&r), many);
    }
}
