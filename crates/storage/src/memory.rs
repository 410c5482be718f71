//! Approximate heap bytes of tables and derived structures, for INFO
//! memory. Walks a sample and scales, so the cost is bounded whatever the
//! size: a few hundred entries per structure.
//!
//! Text and byte values are shared between a row and the structures
//! derived from it (reference counted), so each holder is charged its
//! share of the allocation: the sum over holders is the real size.

use std::mem::size_of;
use std::sync::Arc;

use aotdb_planner::{ArcStr, Value};
use hashbrown::HashMap;

/// Entries walked per container before scaling.
pub(crate) const SAMPLE: usize = 256;

/// Allocator rounding: sizes go up to the next multiple of 16.
pub(crate) fn allocation(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        bytes.next_multiple_of(16)
    }
}

/// The heap share of one value.
pub(crate) fn value_heap(v: &Value) -> usize {
    match v {
        // A static string (from a literal) has no count and no heap.
        Value::Text(s) => ArcStr::strong_count(s).map_or(0, |n| allocation(16 + s.len()) / n.max(1)),
        Value::Bytes(b) => (allocation(32) + allocation(b.len())) / Arc::strong_count(b),
        _ => 0,
    }
}

/// A boxed slice of values: its allocation and the values' heap shares.
pub(crate) fn boxed_values(vs: &[Value]) -> usize {
    allocation(std::mem::size_of_val(vs)) + vs.iter().map(value_heap).sum::<usize>()
}

/// A key's heap: nothing for one value held inline beyond the value's
/// share, the boxes and values for a longer key.
pub(crate) fn key_heap(key: &crate::row::Key) -> usize {
    use crate::row::Key;
    match key {
        Key::Empty => 0,
        Key::One(v) => value_heap(v),
        Key::Many(values) => allocation(size_of::<Box<[Value]>>()) + boxed_values(values),
    }
}

/// A hash table's own allocation (entries and control bytes).
pub(crate) fn hash_table<K, V>(m: &HashMap<K, V>) -> usize {
    m.capacity() * (size_of::<(K, V)>() + 1)
}

/// A B-tree's nodes: about two thirds full, plus node headers.
pub(crate) fn btree<T>(len: usize) -> usize {
    len * (size_of::<T>() + 8) * 3 / 2
}

/// Estimates the bytes of containers whose sizes are very uneven (a hot
/// key's rows beside thousands of keys with one): `f` gives a sampled
/// container's bytes and how many entries it holds, and the bytes per
/// entry over the sample are scaled to `entries`, the exact total. Scaling
/// per container instead swung with whether a hot key fell in the sample
/// (eightfold between two runs on the same data).
pub(crate) fn sampled_by_entries<T>(
    items: impl Iterator<Item = T>,
    entries: usize,
    mut f: impl FnMut(T) -> (usize, usize),
) -> usize {
    let (mut bytes, mut seen) = (0usize, 0usize);
    for item in items.take(SAMPLE) {
        let (b, n) = f(item);
        bytes += b;
        seen += n;
    }
    if seen == 0 {
        0
    } else {
        (bytes as u128 * entries as u128 / seen as u128) as usize
    }
}

/// Sums `f` over at most `SAMPLE` items and scales to `len` items.
pub(crate) fn sampled<T>(items: impl Iterator<Item = T>, len: usize, mut f: impl FnMut(T) -> usize) -> usize {
    let mut seen = 0usize;
    let mut total = 0usize;
    for item in items.take(SAMPLE) {
        total += f(item);
        seen += 1;
    }
    if seen == 0 {
        0
    } else {
        (total as u128 * len as u128 / seen as u128) as usize
    }
}
