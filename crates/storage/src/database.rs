//! The database: every table, changed only through statements, with an
//! undo log so a failed statement or batch changes nothing.

use std::collections::BTreeMap;

use aotdb_planner::{Change, TableId, Value};

use crate::error::{Error, Result};
use crate::row::{Row, RowId};
use crate::table::Table;
use crate::undo::{UndoEntry, UndoLog};

#[derive(Debug, Default)]
pub struct Database {
    tables: BTreeMap<TableId, Table>,
}

/// Row count and approximate size of one table, for INFO.
#[derive(Debug, Clone)]
pub struct TableStats {
    pub name: String,
    pub rows: usize,
    pub approximate_bytes: usize,
}

impl Database {
    pub fn new() -> Database {
        Database::default()
    }

    /// Mirrors catalog changes: creates and drops tables.
    pub fn apply_changes(&mut self, changes: &[Change]) {
        for change in changes {
            match change {
                Change::CreateTable(def) => {
                    self.tables.insert(def.id, Table::new(def.clone()));
                }
                Change::DropTable(def) => {
                    self.tables.remove(&def.id);
                }
                Change::AddStatement(_) | Change::DropStatement(_) => {}
            }
        }
    }

    pub fn table(&self, id: TableId) -> Result<&Table> {
        self.tables
            .get(&id)
            .ok_or_else(|| Error::Internal(format!("table #{id} is not in storage")))
    }

    pub(crate) fn table_mut(&mut self, id: TableId) -> Result<&mut Table> {
        self.tables
            .get_mut(&id)
            .ok_or_else(|| Error::Internal(format!("table #{id} is not in storage")))
    }

    /// Total rows in all tables.
    pub fn total_rows(&self) -> usize {
        self.tables.values().map(Table::len).sum()
    }

    pub fn stats(&self) -> Vec<TableStats> {
        self.tables
            .values()
            .map(|t| TableStats {
                name: t.def.name.clone(),
                rows: t.len(),
                approximate_bytes: t.approximate_bytes(),
            })
            .collect()
    }

    pub(crate) fn insert_row(
        &mut self,
        table: TableId,
        row: Row,
        undo: &mut UndoLog,
    ) -> Result<RowId> {
        let t = self.table_mut(table)?;
        t.check_not_null(&row)?;
        let id = t.insert(row)?;
        undo.push(UndoEntry::Inserted { table, id });
        Ok(id)
    }

    pub(crate) fn delete_row(
        &mut self,
        table: TableId,
        id: RowId,
        undo: &mut UndoLog,
    ) -> Result<Row> {
        let row = self.table_mut(table)?.delete(id)?;
        undo.push(UndoEntry::Deleted {
            table,
            id,
            row: row.clone(),
        });
        Ok(row)
    }

    pub(crate) fn update_row(
        &mut self,
        table: TableId,
        id: RowId,
        new: Row,
        undo: &mut UndoLog,
    ) -> Result<()> {
        let t = self.table_mut(table)?;
        t.check_not_null(&new)?;
        let old = t.update(id, new)?;
        undo.push(UndoEntry::Updated { table, id, old });
        Ok(())
    }

    /// Undoes every change in `undo`, newest first, and empties it.
    pub fn rollback(&mut self, undo: &mut UndoLog) -> Result<()> {
        while let Some(entry) = undo.entries.pop() {
            match entry {
                UndoEntry::Inserted { table, id } => {
                    self.table_mut(table)?.delete(id)?;
                }
                UndoEntry::Deleted { table, id, row } => {
                    self.table_mut(table)?.restore(id, row)?;
                }
                UndoEntry::Updated { table, id, old } => {
                    self.table_mut(table)?.update(id, old)?;
                }
            }
        }
        Ok(())
    }

    /// Looks up one row by a unique index.
    pub(crate) fn unique_lookup(
        &self,
        table: TableId,
        unique: usize,
        key: &[Value],
    ) -> Result<Option<RowId>> {
        let t = self.table(table)?;
        let index = t.uniques.get(unique).ok_or_else(|| {
            Error::Internal(format!(
                "unique index {unique} missing on \"{}\"",
                t.def.name
            ))
        })?;
        Ok(index.get(key))
    }
}
