//! Order-preserving keys for ordered structures: each part carries its
//! direction and NULL placement, and `Min`/`Max` sentinels make range
//! bounds over a prefix of the parts.

use std::cmp::Ordering;

use aotdb_planner::{SortSpec, Value};

use crate::row::RowId;

/// Which rows of a view a view row is made of: one slot per join step,
/// `NO_ROW` where a LEFT JOIN found nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Identity {
    One(RowId),
    Many(Box<[RowId]>),
}

pub const NO_ROW: RowId = RowId::MAX;

impl Identity {
    pub fn from_ids(ids: &[RowId]) -> Identity {
        match ids {
            [one] => Identity::One(*one),
            many => Identity::Many(many.into()),
        }
    }

    pub fn ids(&self) -> &[RowId] {
        match self {
            Identity::One(id) => std::slice::from_ref(id),
            Identity::Many(ids) => ids,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Min,
    Val { value: Value, descending: bool, nulls_first: bool },
    Id(Identity),
    Max,
}

impl Ord for Part {
    fn cmp(&self, other: &Part) -> Ordering {
        match (self, other) {
            (Part::Min, Part::Min) | (Part::Max, Part::Max) => Ordering::Equal,
            (Part::Min, _) | (_, Part::Max) => Ordering::Less,
            (_, Part::Min) | (Part::Max, _) => Ordering::Greater,
            (Part::Id(a), Part::Id(b)) => a.cmp(b),
            (Part::Val { value: a, descending, nulls_first }, Part::Val { value: b, .. }) => {
                match (a.is_null(), b.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => {
                        if *nulls_first {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    (false, true) => {
                        if *nulls_first {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    (false, false) => {
                        let o = a.sql_cmp(b).unwrap_or(Ordering::Equal);
                        if *descending {
                            o.reverse()
                        } else {
                            o
                        }
                    }
                }
            }
            // Values and identities never meet at one position.
            (Part::Val { .. }, Part::Id(_)) => Ordering::Less,
            (Part::Id(_), Part::Val { .. }) => Ordering::Greater,
        }
    }
}

impl PartialOrd for Part {
    fn partial_cmp(&self, other: &Part) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

pub type OrderedKey = Box<[Part]>;

/// The heap bytes of one ordered key (INFO memory).
pub fn ordered_key_heap(key: &OrderedKey) -> usize {
    use crate::memory::{allocation, value_heap};
    allocation(std::mem::size_of_val(&**key))
        + key
            .iter()
            .map(|p| match p {
                Part::Val { value, .. } => value_heap(value),
                Part::Id(Identity::Many(ids)) => allocation(std::mem::size_of_val(&**ids)),
                _ => 0,
            })
            .sum::<usize>()
}

pub fn part(value: Value, spec: &SortSpec) -> Part {
    Part::Val { value, descending: spec.descending, nulls_first: spec.nulls_first }
}

/// A key: the sort values then the identity.
pub fn ordered_key(values: Vec<Value>, specs: &[SortSpec], identity: Identity) -> OrderedKey {
    // At its final size: collecting and then pushing the identity would
    // reallocate once per key.
    let mut parts: Vec<Part> = Vec::with_capacity(values.len() + 1);
    parts.extend(values.into_iter().zip(specs).map(|(v, s)| part(v, s)));
    parts.push(Part::Id(identity));
    parts.into_boxed_slice()
}

/// Bounds, in index order, for the entries whose first sort value lies in
/// the SQL range `lower..upper` (each `(value, inclusive)`); NULLs never
/// qualify.
pub fn range_bounds(
    spec: &SortSpec,
    lower: Option<(Value, bool)>,
    upper: Option<(Value, bool)>,
) -> (std::ops::Bound<OrderedKey>, std::ops::Bound<OrderedKey>) {
    use std::ops::Bound;
    let key = |v: Value, tail: Part| -> OrderedKey { vec![part(v, spec), tail].into_boxed_slice() };
    // In index order, "small" values come first for ASC and last for DESC.
    let (first, last) = if spec.descending { (upper, lower) } else { (lower, upper) };
    // Tails are the same in both directions: `Min` sorts before every
    // entry with the same value, `Max` after.
    let start = match first {
        Some((v, inclusive)) => Bound::Excluded(key(v, if inclusive { Part::Min } else { Part::Max })),
        // No bound on this side: start after the NULLs if they sort first.
        None if spec.nulls_first => Bound::Excluded(key(Value::Null, Part::Max)),
        None => Bound::Unbounded,
    };
    let end = match last {
        Some((v, inclusive)) => {
            let tail = if inclusive { Part::Max } else { Part::Min };
            Bound::Excluded(key(v, tail))
        }
        None if !spec.nulls_first => Bound::Excluded(key(Value::Null, Part::Min)),
        None => Bound::Unbounded,
    };
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aotdb_planner::Expr;
    use std::collections::BTreeSet;

    fn spec(descending: bool, nulls_first: bool) -> SortSpec {
        SortSpec { expr: Expr::Column(0), descending, nulls_first }
    }

    fn run(s: &SortSpec, lower: Option<(i64, bool)>, upper: Option<(i64, bool)>) -> Vec<i64> {
        let mut set = BTreeSet::new();
        for (i, v) in [Some(1), Some(2), Some(2), Some(3), None, Some(5)].into_iter().enumerate() {
            let value = v.map(Value::Int).unwrap_or(Value::Null);
            set.insert(ordered_key(vec![value], std::slice::from_ref(s), Identity::One(i as u32)));
        }
        let (lo, hi) = range_bounds(s, lower.map(|(v, i)| (Value::Int(v), i)), upper.map(|(v, i)| (Value::Int(v), i)));
        set.range((lo, hi))
            .map(|k| match &k[0] {
                Part::Val { value: Value::Int(i), .. } => *i,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn ranges_in_every_direction_exclude_nulls() {
        for (d, n) in [(false, false), (false, true), (true, true), (true, false)] {
            let s = spec(d, n);
            let mut got = run(&s, Some((2, true)), None);
            got.sort();
            assert_eq!(got, vec![2, 2, 3, 5], "desc={d} nulls_first={n} >=2");
            let mut got = run(&s, Some((2, false)), Some((5, false)));
            got.sort();
            assert_eq!(got, vec![3], "desc={d} nulls_first={n} (2,5)");
            let mut got = run(&s, None, Some((2, true)));
            got.sort();
            assert_eq!(got, vec![1, 2, 2], "desc={d} nulls_first={n} <=2");
            let mut got = run(&s, None, Some((1, false)));
            got.sort();
            assert!(got.is_empty(), "desc={d} nulls_first={n} <1");
        }
    }
}
