//! Running writes: INSERT evaluates its VALUES rows; UPDATE and DELETE
//! find their rows through the plan's source first, then change them one
//! by one. Every change is recorded in the undo log.

use aotdb_planner::eval::{eval, eval_predicate};
use aotdb_planner::{
    coerce_for_column, ConflictAction, DeletePlan, Error as PlanError, Expr, InsertPlan, Plan, Statement, TableId,
    UpdatePlan, Value,
};

use crate::database::Database;
use crate::error::Result;
use crate::read::Outcome;
use crate::row::{key_of, Row, RowId};
use crate::rows::Rows;
use crate::undo::UndoLog;

fn eval_all(exprs: &[Expr], row: &[Value], params: &[Value]) -> Result<Vec<Value>, PlanError> {
    exprs.iter().map(|e| eval(e, row, params)).collect()
}

impl Database {
    /// Runs any statement. Changes are recorded in `undo`; on error the
    /// caller rolls back (a statement that fails halfway, say on its third
    /// VALUES row, has changed the first two).
    pub fn execute(&mut self, stmt: &Statement, params: &[Value], undo: &mut UndoLog) -> Result<Outcome> {
        match &stmt.plan {
            Plan::Select(p) => self.select(p, params).map(Outcome::Rows),
            Plan::Insert(p) => self.insert(p, params, undo),
            Plan::Update(p) => self.update(p, params, undo),
            Plan::Delete(p) => self.delete(p, params, undo),
        }
    }

    fn insert(&mut self, p: &InsertPlan, params: &[Value], undo: &mut UndoLog) -> Result<Outcome> {
        let def = self.table(p.table)?.def.clone();
        let mut returned = Rows::new(p.returning.len());
        let mut count = 0u64;
        // Rows this statement inserted or updated: DO UPDATE may not touch
        // one twice. Only an upsert of several rows can, so only it keeps
        // the set (a set that is never added to allocates nothing).
        let track_touched = p.on_conflict.is_some() && p.rows.len() > 1;
        let mut touched: hashbrown::HashSet<RowId> = hashbrown::HashSet::new();
        for exprs in &p.rows {
            let mut row = Vec::with_capacity(exprs.len());
            for (e, column) in exprs.iter().zip(&def.columns) {
                row.push(coerce_for_column(eval(e, &[], params)?, column.ty)?);
            }
            let row: Row = row.into_boxed_slice();
            if let Some(oc) = &p.on_conflict {
                if let Some(existing) = self.conflicting_row(p.table, oc.unique, &row)? {
                    match &oc.action {
                        ConflictAction::Nothing => continue,
                        ConflictAction::Update { assignments, filter } => {
                            if track_touched && !touched.insert(existing) {
                                return Err(PlanError::Data(
                                    "ON CONFLICT DO UPDATE command cannot affect row a second time".into(),
                                )
                                .into());
                            }
                            let old = self
                                .table(p.table)?
                                .get(existing)
                                .map(Row::from)
                                .ok_or_else(|| crate::error::Error::Internal("conflicting row vanished".into()))?;
                            let both: Vec<Value> = old.iter().chain(row.iter()).cloned().collect();
                            if let Some(f) = filter {
                                if !eval_predicate(f, &both, params)? {
                                    continue;
                                }
                            }
                            let mut new = old.to_vec();
                            for (col, e) in assignments {
                                new[*col] = coerce_for_column(eval(e, &both, params)?, def.columns[*col].ty)?;
                            }
                            let new: Row = new.into_boxed_slice();
                            if !p.returning.is_empty() {
                                returned.push_owned(eval_all(&p.returning, &new, params)?);
                            }
                            self.update_row(p.table, existing, new, undo)?;
                            count += 1;
                            continue;
                        }
                    }
                }
            }
            if !p.returning.is_empty() {
                returned.push_owned(eval_all(&p.returning, &row, params)?);
            }
            let id = self.insert_row(p.table, row, undo)?;
            if track_touched {
                touched.insert(id);
            }
            count += 1;
        }
        Ok(if p.returning.is_empty() { Outcome::Count(count) } else { Outcome::Rows(returned) })
    }

    /// The row an insert of `row` would conflict with on `unique` (any
    /// unique index when `None`).
    fn conflicting_row(&self, table: TableId, unique: Option<usize>, row: &[Value]) -> Result<Option<RowId>> {
        let t = self.table(table)?;
        for (i, u) in t.uniques.iter().enumerate() {
            if unique.is_some_and(|want| want != i) {
                continue;
            }
            if let Some(key) = key_of(row, &u.def.columns) {
                if let Some(id) = t.unique_get(i, &key) {
                    return Ok(Some(id));
                }
            }
        }
        Ok(None)
    }

    fn update(&mut self, p: &UpdatePlan, params: &[Value], undo: &mut UndoLog) -> Result<Outcome> {
        let ids = self.find_rows(&p.finder, params)?;
        let def = self.table(p.table)?.def.clone();
        let mut matched = 0u64;
        let mut returned = Rows::new(p.returning.len());
        for id in ids {
            let Some(old) = self.table(p.table)?.get(id) else { continue };
            // Every SET expression sees the old row.
            let mut new: Vec<Value> = old.to_vec();
            for (col, e) in &p.assignments {
                new[*col] = coerce_for_column(eval(e, old, params)?, def.columns[*col].ty)?;
            }
            let new: Row = new.into_boxed_slice();
            if !p.returning.is_empty() {
                returned.push_owned(eval_all(&p.returning, &new, params)?);
            }
            self.update_row(p.table, id, new, undo)?;
            matched += 1;
        }
        Ok(if p.returning.is_empty() { Outcome::Count(matched) } else { Outcome::Rows(returned) })
    }

    fn delete(&mut self, p: &DeletePlan, params: &[Value], undo: &mut UndoLog) -> Result<Outcome> {
        let ids = self.find_rows(&p.finder, params)?;
        let mut matched = 0u64;
        let mut returned = Rows::new(p.returning.len());
        for id in ids {
            if self.table(p.table)?.get(id).is_none() {
                continue;
            }
            let row = self.delete_row(p.table, id, undo)?;
            if !p.returning.is_empty() {
                returned.push_owned(eval_all(&p.returning, &row, params)?);
            }
            matched += 1;
        }
        Ok(if p.returning.is_empty() { Outcome::Count(matched) } else { Outcome::Rows(returned) })
    }
}
