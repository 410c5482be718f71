//! Every change to a table goes through here: the base row changes, and
//! every structure over the table follows, as row deltas.
//!
//! A change runs in three phases. Before it, each affected view computes
//! its old rows (for a joined table: the anchor rows its change reaches,
//! and their view rows). Then the base row changes. After it, each view
//! computes its new rows, and the differences, evaluated into index
//! entries and aggregate contributions, are applied. Everything that can
//! fail happens before the structures are touched, so a failure leaves
//! them exact; the base change is then reverted.

use aotdb_planner::{StructureId, StructureSpec, TableId, Value};
use hashbrown::HashMap;

use crate::database::{Database, StructureData};
use crate::error::{Error, Result};
use crate::read::view_accepts;
use crate::row::{Row, RowId};
use crate::structures::{Contribution, Identity, PartialContribution, PartialMove, RowIndexEntry};
use crate::undo::{UndoEntry, UndoLog};
use crate::view::ViewRow;

/// A change to one row.
enum Op {
    Insert(Row),
    /// Undo of a delete: the row goes back into its old slot.
    Restore(RowId, Row),
    Delete(RowId),
    Update(RowId, Row),
}

/// A view's state before a change.
struct Before {
    structure: StructureId,
    kind: BeforeKind,
}

enum BeforeKind {
    /// The changed table is the view's anchor: its view rows come from the
    /// changed row itself, before and after (nothing else changed).
    Anchored,
    /// A joined table changed: the anchor rows its row reaches, and their
    /// view rows before the change.
    Joined { anchors: Vec<RowId>, old_rows: Vec<ViewRow> },
    /// The joined table of an aggregate view that keeps partials under
    /// its join changed: the partials move between groups, the rows that
    /// join it are not visited.
    Dimension,
}

/// Evaluated differences for one structure, ready to apply.
enum Prepared {
    Rows { structure: StructureId, remove: Vec<RowIndexEntry>, insert: Vec<RowIndexEntry> },
    Aggregate { structure: StructureId, remove: Vec<Contribution>, add: Vec<Contribution> },
    Partial { structure: StructureId, remove: Option<PartialContribution>, add: Option<PartialContribution> },
    Moves { structure: StructureId, moves: Vec<PartialMove> },
}

impl Database {
    pub(crate) fn insert_row(&mut self, table: TableId, row: Row, undo: &mut UndoLog) -> Result<RowId> {
        self.check_row(table, &row, None)?;
        let (id, _) = self.change(table, Op::Insert(row))?;
        undo.push(UndoEntry::Inserted { table, id });
        Ok(id)
    }

    pub(crate) fn delete_row(&mut self, table: TableId, id: RowId, undo: &mut UndoLog) -> Result<Row> {
        let old =
            self.table(table)?.get(id).map(Row::from).ok_or_else(|| Error::Internal(format!("row {id} vanished")))?;
        self.follow_references_on_delete(table, id, &old, undo)?;
        // A cascade may have removed the row itself (a row referencing
        // itself).
        if self.table(table)?.get(id).is_none() {
            return Ok(old);
        }
        let (_, old) = self.change(table, Op::Delete(id))?;
        let row = old.ok_or_else(|| Error::Internal("delete returned no row".into()))?;
        undo.push(UndoEntry::Deleted { table, id, row: row.clone() });
        Ok(row)
    }

    pub(crate) fn update_row(&mut self, table: TableId, id: RowId, new: Row, undo: &mut UndoLog) -> Result<()> {
        {
            let old = self.table(table)?.get(id).ok_or_else(|| Error::Internal(format!("row {id} vanished")))?;
            self.check_row(table, &new, Some(old))?;
            self.check_referenced_key_kept(table, old, &new)?;
        }
        let (_, old) = self.change(table, Op::Update(id, new))?;
        let old = old.ok_or_else(|| Error::Internal("update returned no row".into()))?;
        undo.push(UndoEntry::Updated { table, id, old });
        Ok(())
    }

    /// Undoes every change in `undo`, newest first, and empties it.
    pub fn rollback(&mut self, undo: &mut UndoLog) -> Result<()> {
        self.rollback_to(undo, 0)
    }

    /// Undoes the changes after the first `mark` (a statement inside a
    /// procedure that failed), newest first.
    pub fn rollback_to(&mut self, undo: &mut UndoLog, mark: usize) -> Result<()> {
        while undo.entries.len() > mark {
            let Some(entry) = undo.entries.pop() else { break };
            match entry {
                UndoEntry::Inserted { table, id } => self.change(table, Op::Delete(id))?,
                UndoEntry::Deleted { table, id, row } => self.change(table, Op::Restore(id, row))?,
                UndoEntry::Updated { table, id, old } => self.change(table, Op::Update(id, old))?,
            };
        }
        Ok(())
    }

    /// Applies one row change with all its maintenance; returns the row's
    /// slot and, for deletes and updates, the row as it was.
    fn change(&mut self, table: TableId, mut op: Op) -> Result<(RowId, Option<Row>)> {
        match &mut op {
            Op::Insert(row) => self.table_mut(table)?.share_texts(row, None),
            Op::Update(id, row) => self.table_mut(table)?.share_texts(row, Some(*id)),
            Op::Delete(_) | Op::Restore(..) => {}
        }
        // The row as it is, borrowed from the table: nothing changes until
        // every view has computed its state before the change.
        let (id, old): (Option<RowId>, Option<&[Value]>) = match &op {
            Op::Insert(_) | Op::Restore(..) => (None, None),
            Op::Delete(id) | Op::Update(id, _) => {
                let row = self
                    .table(table)?
                    .get(*id)
                    .ok_or_else(|| Error::Internal(format!("row {id} of table #{table} is missing")))?;
                (Some(*id), Some(row))
            }
        };
        let new: Option<&[Value]> = match &op {
            Op::Insert(r) | Op::Restore(_, r) | Op::Update(_, r) => Some(r),
            Op::Delete(_) => None,
        };
        let before = self.before_change(table, id, old, new)?;

        let slot = match &op {
            Op::Insert(_) => self.table(table)?.next_slot(),
            Op::Restore(id, _) | Op::Delete(id) | Op::Update(id, _) => *id,
        };
        self.preserve_for_snapshot(table, slot);
        let t = self.table_mut(table)?;
        let (id, previous) = match op {
            Op::Insert(row) => (t.insert(row)?, None),
            Op::Restore(id, row) => {
                t.restore(id, row)?;
                (id, None)
            }
            Op::Delete(id) => (id, Some(t.delete(id)?)),
            Op::Update(id, row) => (id, Some(t.update(id, row)?)),
        };
        self.follow_table_indexes(table, id, previous.as_deref());

        match self.after_change(table, id, previous.as_deref(), before) {
            Ok(prepared) => {
                self.apply_prepared(prepared);
                Ok((id, previous))
            }
            Err(e) => {
                self.revert_base(table, id, previous)?;
                Err(e)
            }
        }
    }

    /// Puts the base row back after a failed maintenance (the views were
    /// not touched yet).
    fn revert_base(&mut self, table: TableId, id: RowId, previous: Option<Row>) -> Result<()> {
        let current = self.table(table)?.get(id).map(Row::from);
        let t = self.table_mut(table)?;
        match (&current, previous) {
            (Some(_), None) => {
                t.delete(id)?;
            }
            (None, Some(old)) => t.restore(id, old)?,
            (Some(_), Some(old)) => {
                t.update(id, old)?;
            }
            (None, None) => {}
        }
        let now = self.table(table)?.get(id).map(Row::from);
        follow_indexes(&self.watchers, &mut self.structures, table, id, current.as_deref(), now.as_deref());
        Ok(())
    }

    /// Keeps the table's derived hash indexes in step with a base change
    /// (`previous` is the row before, the table holds the row after).
    fn follow_table_indexes(&mut self, table: TableId, id: RowId, previous: Option<&[Value]>) {
        // The current row is borrowed from the tables while the indexes,
        // a different field, change.
        let current = self.tables.get(&table).and_then(|t| t.get(id));
        follow_indexes(&self.watchers, &mut self.structures, table, id, previous, current);
    }

    fn before_change(
        &self,
        table: TableId,
        id: Option<RowId>,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<Vec<Before>> {
        let Some(watchers) = self.watchers.get(&table) else { return Ok(Vec::new()) };
        let mut out = Vec::with_capacity(watchers.len());
        for &sid in watchers {
            let Some(s) = self.structures.get(&sid) else { continue };
            let Some(view) = s.spec.view() else { continue };
            let Some(step) = view.steps.iter().position(|st| st.table == table) else { continue };
            let _ = id;
            if let (Some(o), Some(n)) = (old, new) {
                if s.used[step].iter().all(|&c| o[c] == n[c] && o[c].is_null() == n[c].is_null()) {
                    continue;
                }
            }
            if step == 0 {
                out.push(Before { structure: sid, kind: BeforeKind::Anchored });
            } else if step == 1 && matches!(&s.data, StructureData::Aggregate(a) if a.has_partials()) {
                out.push(Before { structure: sid, kind: BeforeKind::Dimension });
            } else {
                let mut anchors = Vec::new();
                for r in [old, new].into_iter().flatten() {
                    self.anchors_of(view, step, r, &mut anchors)?;
                }
                anchors.sort_unstable();
                anchors.dedup();
                let mut old_rows = Vec::new();
                let anchor_table = self.table(view.anchor())?;
                for &a in &anchors {
                    if let Some(row) = anchor_table.get(a) {
                        self.expand(view, a, row, &mut old_rows)?;
                    }
                }
                out.push(Before { structure: sid, kind: BeforeKind::Joined { anchors, old_rows } });
            }
        }
        Ok(out)
    }

    fn after_change(
        &self,
        table: TableId,
        id: RowId,
        previous: Option<&[Value]>,
        before: Vec<Before>,
    ) -> Result<Vec<Prepared>> {
        // A view that keeps partials adds a second entry.
        let mut prepared = Vec::with_capacity(2 * before.len());
        let current = self.table(table)?.get(id);
        for b in before {
            let Some(s) = self.structures.get(&b.structure) else { continue };
            let Some(view) = s.spec.view() else { continue };
            match b.kind {
                BeforeKind::Anchored if view.steps.len() == 1 => {
                    // A single-table view: the row itself, if it passes.
                    let old = match previous {
                        Some(r) if view_accepts(view, r)? => Some(r),
                        _ => None,
                    };
                    let new = match current {
                        Some(r) if view_accepts(view, r)? => Some(r),
                        _ => None,
                    };
                    prepared.push(self.single_row_delta(b.structure, id, old, new)?);
                }
                BeforeKind::Anchored => {
                    // A row of a many-to-one join's anchor is one view row
                    // (none before an insert or after a delete).
                    let mut old_rows = Vec::with_capacity(usize::from(previous.is_some()));
                    let mut new_rows = Vec::with_capacity(usize::from(current.is_some()));
                    if let Some(r) = previous {
                        self.expand(view, id, r, &mut old_rows)?;
                    }
                    if let Some(r) = current {
                        self.expand(view, id, r, &mut new_rows)?;
                    }
                    prepared.push(self.diff(b.structure, &old_rows, &new_rows)?);
                    if let StructureData::Aggregate(a) = &s.data {
                        if a.has_partials() {
                            let remove = previous.map(|r| a.partial_contribution(r)).transpose()?.flatten();
                            let add = current.map(|r| a.partial_contribution(r)).transpose()?.flatten();
                            if remove != add {
                                prepared.push(Prepared::Partial { structure: b.structure, remove, add });
                            }
                        }
                    }
                }
                BeforeKind::Dimension => {
                    if let StructureData::Aggregate(a) = &s.data {
                        let moves = a.partial_moves(previous, current)?;
                        prepared.push(Prepared::Moves { structure: b.structure, moves });
                    }
                }
                BeforeKind::Joined { anchors, old_rows } => {
                    let mut new_rows = Vec::new();
                    let anchor_table = self.table(view.anchor())?;
                    for &a in &anchors {
                        if let Some(row) = anchor_table.get(a) {
                            self.expand(view, a, row, &mut new_rows)?;
                        }
                    }
                    prepared.push(self.diff(b.structure, &old_rows, &new_rows)?);
                }
            }
        }
        Ok(prepared)
    }

    /// The delta of a single-table view for one row, without building view
    /// rows.
    fn single_row_delta(
        &self,
        sid: StructureId,
        id: RowId,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<Prepared> {
        let s = self.structures.get(&sid).ok_or_else(|| Error::Internal(format!("structure #{sid} vanished")))?;
        match &s.data {
            StructureData::RowIndex(_) => {
                let before = old.map(|r| s.row_entry_of(Identity::One(id), r)).transpose()?;
                let after = new.map(|r| s.row_entry_of(Identity::One(id), r)).transpose()?;
                let (remove, insert) = match (before, after) {
                    (Some(b), Some(a)) if a == b => (Vec::new(), Vec::new()),
                    (b, a) => (b.into_iter().collect(), a.into_iter().collect()),
                };
                Ok(Prepared::Rows { structure: sid, remove, insert })
            }
            StructureData::Aggregate(a) => {
                let before = old.map(|r| a.contribution(r, Identity::One(id))).transpose()?;
                let after = new.map(|r| a.contribution(r, Identity::One(id))).transpose()?;
                let (remove, add) = match (before, after) {
                    (Some(b), Some(n)) if n == b => (Vec::new(), Vec::new()),
                    (b, n) => (b.into_iter().collect(), n.into_iter().collect()),
                };
                Ok(Prepared::Aggregate { structure: sid, remove, add })
            }
            StructureData::TableIndex(_) => Err(Error::Internal(format!("structure #{sid} is not a view"))),
        }
    }

    /// The entries to remove and insert to go from `old` view rows to `new`.
    fn diff(&self, sid: StructureId, old: &[ViewRow], new: &[ViewRow]) -> Result<Prepared> {
        let s = self.structures.get(&sid).ok_or_else(|| Error::Internal(format!("structure #{sid} vanished")))?;
        let olds = RowsByIdentity::new(old);
        let news = RowsByIdentity::new(new);
        match (&s.data, s.spec.as_ref()) {
            (StructureData::RowIndex(_), StructureSpec::RowIndex { .. }) => {
                let (mut remove, mut insert) = (Vec::with_capacity(old.len()), Vec::with_capacity(new.len()));
                for r in old {
                    let before = s.row_entry(r)?;
                    match news.get(&r.identity) {
                        Some(n) => {
                            let after = s.row_entry(n)?;
                            if after != before {
                                remove.push(before);
                                insert.push(after);
                            }
                        }
                        None => remove.push(before),
                    }
                }
                for r in new.iter().filter(|r| olds.get(&r.identity).is_none()) {
                    insert.push(s.row_entry(r)?);
                }
                Ok(Prepared::Rows { structure: sid, remove, insert })
            }
            (StructureData::Aggregate(a), _) => {
                let (mut remove, mut add) = (Vec::with_capacity(old.len()), Vec::with_capacity(new.len()));
                for r in old {
                    let before = a.contribution(&r.values, r.identity.clone())?;
                    match news.get(&r.identity) {
                        Some(n) => {
                            let after = a.contribution(&n.values, n.identity.clone())?;
                            if after != before {
                                remove.push(before);
                                add.push(after);
                            }
                        }
                        None => remove.push(before),
                    }
                }
                for r in new.iter().filter(|r| olds.get(&r.identity).is_none()) {
                    add.push(a.contribution(&r.values, r.identity.clone())?);
                }
                Ok(Prepared::Aggregate { structure: sid, remove, add })
            }
            _ => Err(Error::Internal(format!("structure #{sid} is not a view"))),
        }
    }

    fn apply_prepared(&mut self, prepared: Vec<Prepared>) {
        for p in prepared {
            match p {
                Prepared::Rows { structure, remove, insert } => {
                    if let Some(StructureData::RowIndex(ri)) = self.structures.get_mut(&structure).map(|s| &mut s.data)
                    {
                        for e in &remove {
                            ri.remove(e);
                        }
                        for e in insert {
                            ri.insert(e);
                        }
                    }
                }
                Prepared::Partial { structure, remove, add } => {
                    if let Some(StructureData::Aggregate(a)) = self.structures.get_mut(&structure).map(|s| &mut s.data)
                    {
                        if let Some(c) = &remove {
                            a.apply_partial(c, -1);
                        }
                        if let Some(c) = &add {
                            a.apply_partial(c, 1);
                        }
                    }
                }
                Prepared::Moves { structure, moves } => {
                    if let Some(StructureData::Aggregate(a)) = self.structures.get_mut(&structure).map(|s| &mut s.data)
                    {
                        for m in &moves {
                            a.apply_move(m);
                        }
                    }
                }
                Prepared::Aggregate { structure, remove, add } => {
                    if let Some(StructureData::Aggregate(a)) = self.structures.get_mut(&structure).map(|s| &mut s.data)
                    {
                        for c in &remove {
                            a.apply(c, -1);
                        }
                        for c in &add {
                            a.apply(c, 1);
                        }
                    }
                }
            }
        }
    }
}

/// Keeps a table's derived hash indexes in step with a change of row `id`
/// from `old` to `new` (either absent for an insert or a delete).
fn follow_indexes(
    watchers: &crate::id_map::IdMap<Vec<StructureId>>,
    structures: &mut crate::id_map::IdMap<crate::database::Structure>,
    table: TableId,
    id: RowId,
    old: Option<&[Value]>,
    new: Option<&[Value]>,
) {
    let Some(watchers) = watchers.get(&table) else { return };
    for sid in watchers {
        if let Some(StructureData::TableIndex(ti)) = structures.get_mut(sid).map(|s| &mut s.data) {
            match (old, new) {
                (None, Some(n)) => ti.insert(n, id),
                (Some(o), None) => ti.remove(o, id),
                (Some(o), Some(n)) if ti.key_changes(o, n) => {
                    ti.remove(o, id);
                    ti.insert(n, id);
                }
                _ => {}
            }
        }
    }
}

/// View rows found by identity. A change usually has one old and one new
/// row per view, where a linear scan beats building a hash map.
enum RowsByIdentity<'a> {
    Few(&'a [ViewRow]),
    Many(HashMap<&'a Identity, &'a ViewRow>),
}

impl<'a> RowsByIdentity<'a> {
    const FEW: usize = 8;

    fn new(rows: &'a [ViewRow]) -> RowsByIdentity<'a> {
        if rows.len() <= Self::FEW {
            RowsByIdentity::Few(rows)
        } else {
            RowsByIdentity::Many(rows.iter().map(|r| (&r.identity, r)).collect())
        }
    }

    fn get(&self, identity: &Identity) -> Option<&'a ViewRow> {
        match self {
            RowsByIdentity::Few(rows) => rows.iter().find(|r| &r.identity == identity),
            RowsByIdentity::Many(map) => map.get(identity).copied(),
        }
    }
}
