//! A table: its rows in slots (stored flat, `row_store`), and the unique
//! indexes that enforce its keys. Every change goes through `insert`, `delete` and
//! `update`, which keep the indexes exact.

use std::sync::Arc;

use aotdb_planner::{TableDef, Value};

use crate::error::{Error, Result};
use crate::interner::TextInterner;
use crate::row::{Row, RowId};
use crate::row_store::RowStore;
use crate::unique_index::UniqueIndex;

#[derive(Debug)]
pub struct Table {
    pub def: Arc<TableDef>,
    slots: RowStore,
    free: Vec<RowId>,
    live: usize,
    pub uniques: Vec<UniqueIndex>,
    texts: TextInterner,
}

impl Table {
    pub fn new(def: Arc<TableDef>) -> Table {
        let uniques = def.uniques.iter().cloned().map(UniqueIndex::new).collect();
        let texts = TextInterner::new(def.columns.len());
        let slots = RowStore::new(def.columns.len());
        Table { def, slots, free: Vec::new(), live: 0, uniques, texts }
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn get(&self, id: RowId) -> Option<&[Value]> {
        self.slots.get(id)
    }

    /// An owned copy of row `id` (for the undo log and diffs).
    pub fn row_copy(&self, id: RowId) -> Option<Row> {
        self.slots.get(id).map(Row::from)
    }

    /// Every live row, in slot order.
    pub fn rows(&self) -> impl Iterator<Item = (RowId, &[Value])> {
        self.slots.iter()
    }

    /// Makes the text values of a row about to be stored share the copies
    /// other rows of the table already hold.
    /// `replacing` is the row's own slot for an UPDATE: the texts it kept
    /// from that row are not looked up again.
    pub fn share_texts(&mut self, row: &mut [Value], replacing: Option<RowId>) {
        let old = replacing.and_then(|id| self.slots.get(id));
        self.texts.share_row(row, old);
    }

    /// Checks NOT NULL for every column of a complete row.
    pub fn check_not_null(&self, row: &[Value]) -> Result<()> {
        for (c, v) in self.def.columns.iter().zip(row) {
            if c.not_null && v.is_null() {
                return Err(Error::Constraint(format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    c.name, self.def.name
                )));
            }
        }
        Ok(())
    }

    /// Inserts a row after checking its keys; returns its slot.
    pub fn insert(&mut self, row: Row) -> Result<RowId> {
        for u in &self.uniques {
            u.check(&self.def, &row, None, &self.slots)?;
        }
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                let id = RowId::try_from(self.slots.slot_count())
                    .map_err(|_| Error::Internal(format!("table \"{}\" is full", self.def.name)))?;
                self.slots.push_slot();
                id
            }
        };
        self.place(id, row);
        Ok(id)
    }

    /// Puts `row` into the free slot `id` and indexes it.
    fn place(&mut self, id: RowId, row: Row) {
        self.slots.put(id, row);
        for u in &mut self.uniques {
            u.insert(id, &self.slots);
        }
        self.live += 1;
    }

    /// The slot of the row whose key on unique index `unique` is `key`.
    pub fn unique_get(&self, unique: usize, key: &[Value]) -> Option<RowId> {
        self.uniques.get(unique).and_then(|u| u.get(key, &self.slots))
    }

    /// Removes a row, returning it.
    pub fn delete(&mut self, id: RowId) -> Result<Row> {
        let row = self
            .slots
            .take(id)
            .ok_or_else(|| Error::Internal(format!("delete of missing row {id} in \"{}\"", self.def.name)))?;
        for u in &mut self.uniques {
            u.remove(&row, id);
        }
        self.free.push(id);
        self.live -= 1;
        Ok(row)
    }

    /// Replaces row `id` with `new` after checking the keys it changes;
    /// returns the old row.
    pub fn update(&mut self, id: RowId, new: Row) -> Result<Row> {
        let old = self
            .get(id)
            .ok_or_else(|| Error::Internal(format!("update of missing row {id} in \"{}\"", self.def.name)))?;
        let changed: Vec<usize> = (0..self.uniques.len()).filter(|&i| self.uniques[i].key_changes(old, &new)).collect();
        for &i in &changed {
            self.uniques[i].check(&self.def, &new, Some(id), &self.slots)?;
        }
        let old = self
            .slots
            .replace(id, new)
            .ok_or_else(|| Error::Internal(format!("update of missing row {id} in \"{}\"", self.def.name)))?;
        for &i in &changed {
            self.uniques[i].remove(&old, id);
            self.uniques[i].insert(id, &self.slots);
        }
        Ok(old)
    }

    /// Undoes a delete: puts `row` back into slot `id`, which the delete
    /// freed and nothing since has taken (undo runs newest first).
    pub fn restore(&mut self, id: RowId, row: Row) -> Result<()> {
        match self.free.last() {
            Some(&top) if top == id => {
                self.free.pop();
            }
            _ => {
                let pos = self.free.iter().rposition(|&f| f == id).ok_or_else(|| {
                    Error::Internal(format!("restore of row {id} in \"{}\": slot not free", self.def.name))
                })?;
                self.free.remove(pos);
            }
        }
        self.place(id, row);
        Ok(())
    }

    /// Number of slots, live or free.
    pub fn slot_count(&self) -> usize {
        self.slots.slot_count()
    }

    /// Free slots, in the order they will be reused (last first).
    pub fn free_slots(&self) -> &[RowId] {
        &self.free
    }

    /// The slot the next insert will take.
    pub fn next_slot(&self) -> RowId {
        self.free.last().copied().unwrap_or(self.slots.slot_count() as RowId)
    }

    /// Replaces the contents with a snapshot's: rows at their slots and
    /// the free list as it was, so later inserts take the same slots they
    /// would have taken before the restart. Indexes are rebuilt.
    pub fn load_image(&mut self, slots: u64, free: Vec<RowId>, rows: Vec<(RowId, Row)>) -> Result<()> {
        let slots = usize::try_from(slots).map_err(|_| Error::Internal("slot count too large".into()))?;
        self.slots = RowStore::new(self.def.columns.len());
        for _ in 0..slots {
            self.slots.push_slot();
        }
        self.uniques = self.def.uniques.iter().map(|u| UniqueIndex::with_capacity(u.clone(), rows.len())).collect();
        self.live = 0;
        for (id, mut row) in rows {
            self.texts.share_row(&mut row, None);
            if id as usize >= slots {
                return Err(Error::Internal(format!("snapshot row slot {id} beyond {slots} slots")));
            }
            if self.slots.get(id).is_some() {
                return Err(Error::Internal(format!("snapshot has two rows in slot {id} of \"{}\"", self.def.name)));
            }
            if row.len() != self.def.columns.len() {
                return Err(Error::Internal(format!(
                    "snapshot row of \"{}\" has {} values, the table {} columns",
                    self.def.name,
                    row.len(),
                    self.def.columns.len()
                )));
            }
            self.slots.put(id, row);
            // A key held twice means a damaged snapshot: the error fails
            // the whole load, so what earlier indexes took in is dropped.
            for u in &mut self.uniques {
                u.insert_checked(&self.def, id, &self.slots)?;
            }
            self.live += 1;
        }
        self.free = free;
        Ok(())
    }

    /// Approximate heap bytes of the rows and the unique indexes (for
    /// INFO memory).
    pub fn approximate_bytes(&self) -> usize {
        use crate::memory::{sampled, value_heap};
        self.slots.heap_bytes()
            + self.free.capacity() * std::mem::size_of::<RowId>()
            + sampled(self.rows(), self.live, |(_, row)| row.iter().map(value_heap).sum::<usize>())
            + self.uniques.iter().map(|u| u.heap_bytes()).sum::<usize>()
            + self.texts.heap_bytes()
    }
}
