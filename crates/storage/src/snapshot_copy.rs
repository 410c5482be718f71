//! Copying the tables for a snapshot while the executor keeps serving. The
//! copy walks each table's slots a chunk at a time between requests; a
//! write to a slot the copy has not reached yet first puts the slot's
//! contents at the snapshot's start aside, so the copy sees every table as
//! it was when the snapshot began, whatever is written meanwhile.

use aotdb_planner::TableId;
use hashbrown::HashMap;

use crate::database::Database;
use crate::persist::snapshot::SnapshotEncoder;
use crate::row::{Row, RowId};

#[derive(Debug)]
struct TableCopy {
    table: TableId,
    name: String,
    /// Slots that existed at the start; later ones are not in the snapshot.
    slots: u32,
    free: Vec<RowId>,
    cursor: u32,
    header_done: bool,
    /// Slots changed before the copy reached them, as they were at the
    /// start (`None`: empty).
    saved: HashMap<RowId, Option<Row>>,
}

/// A snapshot copy in progress.
#[derive(Debug, Default)]
pub struct SnapshotCopy {
    tables: Vec<TableCopy>,
    current: usize,
    rows: u64,
}

impl Database {
    /// Starts copying every table as it is now.
    pub fn begin_snapshot_copy(&mut self) {
        let tables = self
            .tables
            .values()
            .map(|t| TableCopy {
                table: t.def.id,
                name: t.def.name.clone(),
                slots: t.slot_count() as u32,
                free: t.free_slots().to_vec(),
                cursor: 0,
                header_done: false,
                saved: HashMap::new(),
            })
            .collect();
        self.snapshot_copy = Some(SnapshotCopy { tables, current: 0, rows: 0 });
    }

    pub fn snapshot_copy_active(&self) -> bool {
        self.snapshot_copy.is_some()
    }

    /// Copies up to `budget` rows; returns the encoded bytes and, when the
    /// copy is complete, the number of rows copied (the copy then ends).
    pub fn snapshot_copy_step(&mut self, budget: usize) -> (Vec<u8>, Option<u64>) {
        let Some(copy) = self.snapshot_copy.as_mut() else { return (Vec::new(), Some(0)) };
        let mut out = Vec::new();
        let mut left = budget;
        while left > 0 {
            let Some(tc) = copy.tables.get_mut(copy.current) else { break };
            if !tc.header_done {
                out.extend(SnapshotEncoder::table(&tc.name, tc.slots as u64, &tc.free));
                tc.header_done = true;
            }
            let table = self.tables.get(&tc.table);
            let end = tc.slots.min(tc.cursor.saturating_add(left as u32));
            let mut chunk: Vec<(RowId, Row)> = Vec::new();
            for slot in tc.cursor..end {
                let row = match tc.saved.remove(&slot) {
                    Some(saved) => saved,
                    None => table.and_then(|t| t.get(slot)).map(Row::from),
                };
                if let Some(row) = row {
                    chunk.push((slot, row));
                }
            }
            left = left.saturating_sub((end - tc.cursor) as usize);
            tc.cursor = end;
            if !chunk.is_empty() {
                copy.rows += chunk.len() as u64;
                out.extend(SnapshotEncoder::rows(chunk.iter().map(|(s, r)| (*s, &r[..]))));
            }
            if tc.cursor >= tc.slots {
                copy.current += 1;
            }
        }
        if copy.current >= copy.tables.len() {
            let rows = copy.rows;
            out.extend(SnapshotEncoder::end(rows));
            self.snapshot_copy = None;
            return (out, Some(rows));
        }
        (out, None)
    }

    /// Abandons a copy in progress.
    pub fn abort_snapshot_copy(&mut self) {
        self.snapshot_copy = None;
    }

    /// Called before slot `id` of `table` changes.
    pub(crate) fn preserve_for_snapshot(&mut self, table: TableId, id: RowId) {
        let Some(copy) = self.snapshot_copy.as_mut() else { return };
        let Some(tc) = copy.tables.iter_mut().find(|t| t.table == table) else { return };
        if id >= tc.slots || id < tc.cursor || tc.saved.contains_key(&id) {
            return;
        }
        let current = self.tables.get(&table).and_then(|t| t.get(id)).map(Row::from);
        tc.saved.insert(id, current);
    }

    /// Called before a table is dropped: the copy takes the rest of it now.
    pub(crate) fn finish_table_for_snapshot(&mut self, table: TableId) -> Vec<u8> {
        let Some(copy) = self.snapshot_copy.as_mut() else { return Vec::new() };
        let Some(pos) = copy.tables.iter().position(|t| t.table == table) else { return Vec::new() };
        if pos < copy.current {
            return Vec::new();
        }
        // Copy everything up to and including this table.
        let mut out = Vec::new();
        while self.snapshot_copy.as_ref().is_some_and(|c| c.current <= pos) {
            let (bytes, done) = self.snapshot_copy_step(usize::MAX / 2);
            out.extend(bytes);
            if done.is_some() {
                break;
            }
        }
        out
    }
}
