//! The undo log: what a statement or batch changed, so a failure can put
//! every table and index back exactly. Its size is proportional to the
//! changes made, and so is the cost of rolling back.

use aotdb_planner::TableId;

use crate::row::{Row, RowId};

#[derive(Debug)]
pub(crate) enum UndoEntry {
    Inserted { table: TableId, id: RowId },
    Deleted { table: TableId, id: RowId, row: Row },
    Updated { table: TableId, id: RowId, old: Row },
}

/// Changes made since the transaction began, oldest first.
#[derive(Debug, Default)]
pub struct UndoLog {
    pub(crate) entries: Vec<UndoEntry>,
}

impl UndoLog {
    pub fn new() -> UndoLog {
        UndoLog::default()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of row changes recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Forgets the changes: they are committed.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub(crate) fn push(&mut self, entry: UndoEntry) {
        self.entries.push(entry);
    }
}
