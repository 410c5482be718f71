//! Running compiled statements against the database: find rows through
//! the plan's access path, filter, project, order and limit them; apply
//! writes row by row, recording each in the undo log.

use std::cmp::Ordering;

use aotdb_planner::eval::{eval, eval_predicate};
use aotdb_planner::{
    coerce_for_column, Access, DeletePlan, Error as PlanError, Expr, InsertPlan, Plan, SelectPlan,
    SortKey, Statement, UpdatePlan, Value,
};

use crate::database::Database;
use crate::error::{Error, Result};
use crate::row::{Row, RowId};
use crate::undo::UndoLog;

/// The result of one statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Rows of a query or of RETURNING, each in select-list order.
    Rows(Vec<Vec<Value>>),
    /// Rows matched by a write without RETURNING.
    Count(u64),
}

impl Database {
    /// Runs a read-only statement.
    pub fn query(&self, stmt: &Statement, params: &[Value]) -> Result<Outcome> {
        match &stmt.plan {
            Plan::Select(p) => self.select(p, params).map(Outcome::Rows),
            _ => Err(Error::Internal(format!(
                "statement \"{}\" is not a query",
                stmt.name
            ))),
        }
    }

    /// Runs any statement. Changes are recorded in `undo`; on error the
    /// caller rolls back (a statement that fails halfway, say on its third
    /// VALUES row, has changed the first two).
    pub fn execute(
        &mut self,
        stmt: &Statement,
        params: &[Value],
        undo: &mut UndoLog,
    ) -> Result<Outcome> {
        match &stmt.plan {
            Plan::Select(p) => self.select(p, params).map(Outcome::Rows),
            Plan::Insert(p) => self.insert(p, params, undo),
            Plan::Update(p) => self.update(p, params, undo),
            Plan::Delete(p) => self.delete(p, params, undo),
        }
    }

    /// The rows an access path finds: (slot, row) pairs, or one empty row
    /// for a constant access.
    fn access_rows(&self, access: &Access, params: &[Value]) -> Result<Vec<RowId>> {
        match access {
            Access::Constant => Ok(Vec::new()),
            Access::UniqueLookup { table, unique, key } => {
                let mut values = Vec::with_capacity(key.len());
                for e in key {
                    let v = eval(e, &[], params)?;
                    if v.is_null() {
                        return Ok(Vec::new());
                    }
                    values.push(v);
                }
                Ok(self
                    .unique_lookup(*table, *unique, &values)?
                    .into_iter()
                    .collect())
            }
        }
    }

    fn select(&self, p: &SelectPlan, params: &[Value]) -> Result<Vec<Vec<Value>>> {
        let mut out: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
        let mut emit = |row: &[Value]| -> Result<()> {
            if let Some(f) = &p.filter {
                if !eval_predicate(f, row, params)? {
                    return Ok(());
                }
            }
            let projected = eval_all(&p.projection, row, params)?;
            let keys = p
                .order_by
                .iter()
                .map(|k| eval(&k.expr, row, params))
                .collect::<Result<_, _>>()?;
            out.push((projected, keys));
            Ok(())
        };
        match &p.access {
            Access::Constant => emit(&[])?,
            access @ Access::UniqueLookup { table, .. } => {
                let t = self.table(*table)?;
                for id in self.access_rows(access, params)? {
                    if let Some(row) = t.get(id) {
                        emit(row)?;
                    }
                }
            }
        }
        finish_rows(out, p, params)
    }

    fn insert(&mut self, p: &InsertPlan, params: &[Value], undo: &mut UndoLog) -> Result<Outcome> {
        let def = self.table(p.table)?.def.clone();
        let mut returned = Vec::new();
        for exprs in &p.rows {
            let mut row = Vec::with_capacity(exprs.len());
            for (e, column) in exprs.iter().zip(&def.columns) {
                row.push(coerce_for_column(eval(e, &[], params)?, column.ty)?);
            }
            let row: Row = row.into_boxed_slice();
            if !p.returning.is_empty() {
                returned.push(eval_all(&p.returning, &row, params)?);
            }
            self.insert_row(p.table, row, undo)?;
        }
        Ok(if p.returning.is_empty() {
            Outcome::Count(p.rows.len() as u64)
        } else {
            Outcome::Rows(returned)
        })
    }

    fn update(&mut self, p: &UpdatePlan, params: &[Value], undo: &mut UndoLog) -> Result<Outcome> {
        let ids = self.access_rows(&p.access, params)?;
        let def = self.table(p.table)?.def.clone();
        let mut matched = 0u64;
        let mut returned = Vec::new();
        for id in ids {
            let Some(old) = self.table(p.table)?.get(id) else {
                continue;
            };
            if let Some(f) = &p.filter {
                if !eval_predicate(f, old, params)? {
                    continue;
                }
            }
            // Every SET expression sees the old row.
            let mut new: Vec<Value> = old.to_vec();
            for (col, e) in &p.assignments {
                new[*col] = coerce_for_column(eval(e, old, params)?, def.columns[*col].ty)?;
            }
            let new: Row = new.into_boxed_slice();
            if !p.returning.is_empty() {
                returned.push(eval_all(&p.returning, &new, params)?);
            }
            self.update_row(p.table, id, new, undo)?;
            matched += 1;
        }
        Ok(if p.returning.is_empty() {
            Outcome::Count(matched)
        } else {
            Outcome::Rows(returned)
        })
    }

    fn delete(&mut self, p: &DeletePlan, params: &[Value], undo: &mut UndoLog) -> Result<Outcome> {
        let ids = self.access_rows(&p.access, params)?;
        let mut matched = 0u64;
        let mut returned = Vec::new();
        for id in ids {
            let Some(old) = self.table(p.table)?.get(id) else {
                continue;
            };
            if let Some(f) = &p.filter {
                if !eval_predicate(f, old, params)? {
                    continue;
                }
            }
            let row = self.delete_row(p.table, id, undo)?;
            if !p.returning.is_empty() {
                returned.push(eval_all(&p.returning, &row, params)?);
            }
            matched += 1;
        }
        Ok(if p.returning.is_empty() {
            Outcome::Count(matched)
        } else {
            Outcome::Rows(returned)
        })
    }
}

fn eval_all(exprs: &[Expr], row: &[Value], params: &[Value]) -> Result<Vec<Value>, PlanError> {
    exprs.iter().map(|e| eval(e, row, params)).collect()
}

/// ORDER BY, DISTINCT, OFFSET and LIMIT over the rows found.
fn finish_rows(
    mut rows: Vec<(Vec<Value>, Vec<Value>)>,
    p: &SelectPlan,
    params: &[Value],
) -> Result<Vec<Vec<Value>>> {
    if !p.order_by.is_empty() {
        rows.sort_by(|a, b| compare_keys(&a.1, &b.1, &p.order_by));
    }
    let mut rows: Vec<Vec<Value>> = rows.into_iter().map(|(r, _)| r).collect();
    if p.distinct {
        let mut seen = hashbrown::HashSet::new();
        rows.retain(|r| seen.insert(r.clone()));
    }
    let offset = count_clause(p.offset.as_ref(), params, "OFFSET")?.unwrap_or(0);
    let limit = count_clause(p.limit.as_ref(), params, "LIMIT")?;
    let rows: Vec<Vec<Value>> = rows
        .into_iter()
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    Ok(rows)
}

fn count_clause(e: Option<&Expr>, params: &[Value], what: &str) -> Result<Option<usize>> {
    let Some(e) = e else { return Ok(None) };
    match eval(e, &[], params)? {
        Value::Null => Ok(None),
        Value::Int(n) if n < 0 => {
            Err(PlanError::Data(format!("{what} must not be negative")).into())
        }
        Value::Int(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        other => Err(Error::Internal(format!("{what} evaluated to {other:?}"))),
    }
}

/// Compares sort keys: each ascending or descending, NULLs first or last
/// as the key says.
pub(crate) fn compare_keys(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
    for ((x, y), k) in a.iter().zip(b).zip(keys) {
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if k.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if k.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, false) => {
                let o = x.sql_cmp(y).unwrap_or(Ordering::Equal);
                if k.descending {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}
