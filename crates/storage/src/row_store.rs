//! A table's rows, stored flat: every row is `width` values side by side
//! in fixed-size chunks, found from its slot number by arithmetic. A row
//! has no allocation of its own, so reading one costs one cache miss, not
//! two (slot, then row), and no pointer and allocator rounding per row.

use aotdb_planner::Value;

use crate::row::{Row, RowId};

/// Rows per chunk: small enough that a small table wastes little, large
/// enough that the chunk table of a big one stays in cache.
const CHUNK_ROWS: usize = 256;

#[derive(Debug)]
pub struct RowStore {
    width: usize,
    chunks: Vec<Box<[Value]>>,
    /// Whether each slot holds a row.
    live: Vec<bool>,
}

impl RowStore {
    pub fn new(width: usize) -> RowStore {
        RowStore { width, chunks: Vec::new(), live: Vec::new() }
    }

    /// Slots, live or free.
    pub fn slot_count(&self) -> usize {
        self.live.len()
    }

    fn place_of(&self, slot: usize) -> (usize, usize) {
        (slot / CHUNK_ROWS, (slot % CHUNK_ROWS) * self.width)
    }

    pub fn get(&self, id: RowId) -> Option<&[Value]> {
        let slot = id as usize;
        if !self.live.get(slot).copied().unwrap_or(false) {
            return None;
        }
        let (chunk, at) = self.place_of(slot);
        self.chunks.get(chunk).and_then(|c| c.get(at..at + self.width))
    }

    fn values_mut(&mut self, slot: usize) -> &mut [Value] {
        let (chunk, at) = self.place_of(slot);
        let width = self.width;
        &mut self.chunks[chunk][at..at + width]
    }

    /// Adds a free slot at the end; its number.
    pub fn push_slot(&mut self) -> usize {
        let slot = self.live.len();
        if slot / CHUNK_ROWS >= self.chunks.len() {
            self.chunks.push((0..CHUNK_ROWS * self.width).map(|_| Value::Null).collect());
        }
        self.live.push(false);
        slot
    }

    /// Puts `row` into the free slot `id` (which must exist).
    pub fn put(&mut self, id: RowId, row: Row) {
        let slot = id as usize;
        let width = self.width;
        for (to, v) in self.values_mut(slot).iter_mut().zip(row.into_vec().into_iter().take(width)) {
            *to = v;
        }
        self.live[slot] = true;
    }

    /// Takes the row out of slot `id`, leaving the slot free.
    pub fn take(&mut self, id: RowId) -> Option<Row> {
        let slot = id as usize;
        if !self.live.get(slot).copied().unwrap_or(false) {
            return None;
        }
        self.live[slot] = false;
        Some(self.values_mut(slot).iter_mut().map(|v| std::mem::replace(v, Value::Null)).collect())
    }

    /// Replaces the row in slot `id`; the row it held.
    pub fn replace(&mut self, id: RowId, row: Row) -> Option<Row> {
        let old = self.take(id)?;
        self.put(id, row);
        Some(old)
    }

    /// Every live row with its slot, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (RowId, &[Value])> {
        self.live.iter().enumerate().filter(|(_, live)| **live).filter_map(|(slot, _)| {
            let (chunk, at) = self.place_of(slot);
            Some((slot as RowId, self.chunks.get(chunk)?.get(at..at + self.width)?))
        })
    }

    /// Heap bytes of the chunks and the live flags (not what values point
    /// to).
    pub fn heap_bytes(&self) -> usize {
        self.chunks.len() * CHUNK_ROWS * self.width * std::mem::size_of::<Value>()
            + self.chunks.capacity() * std::mem::size_of::<Box<[Value]>>()
            + self.live.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: i64) -> Row {
        vec![Value::Int(i), Value::text(&format!("r{i}"))].into()
    }

    #[test]
    fn rows_go_in_and_out_of_their_slots() {
        let mut store = RowStore::new(2);
        for i in 0..1000 {
            let slot = store.push_slot();
            store.put(slot as RowId, row(i));
        }
        assert_eq!(store.slot_count(), 1000);
        assert_eq!(store.get(700), Some(&row(700)[..]));
        assert_eq!(store.take(700), Some(row(700)));
        assert_eq!(store.get(700), None);
        assert_eq!(store.take(700), None);
        assert_eq!(store.replace(3, row(-3)), Some(row(3)));
        assert_eq!(store.get(3), Some(&row(-3)[..]));
        store.put(700, row(7000));
        assert_eq!(store.iter().count(), 1000);
        assert_eq!(store.iter().nth(700).map(|(id, r)| (id, r.to_vec())), Some((700, row(7000).to_vec())));
        assert_eq!(store.get(5000), None);
    }
}
