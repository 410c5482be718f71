//! Views at run time: building the view rows of one anchor row by probing
//! the join's indexes, walking back from a changed row of a joined table to
//! the anchor rows it affects, and rebuilding a view row from its identity.

use aotdb_planner::eval::{eval, eval_predicate};
use aotdb_planner::{IndexRef, Value, ViewSpec};

use aotdb_planner::StructureId;
use hashbrown::HashMap;
use smallvec::SmallVec;

use crate::database::{Database, Structure, StructureData};
use crate::error::{Error, Result};
use crate::row::{RowId, RowIds};
use crate::structures::sort_key::NO_ROW;
use crate::structures::Identity;

/// Structures built but not yet installed (while a batch of catalog
/// changes is applied).
pub(crate) type Pending<'a> = Option<&'a HashMap<StructureId, Structure>>;

/// A row of a view: which table rows it is made of, and its values.
#[derive(Debug, Clone)]
pub struct ViewRow {
    pub identity: Identity,
    pub values: Vec<Value>,
}

impl Database {
    /// Rows of a table holding `key` in an index.
    pub(crate) fn index_rows(&self, index: IndexRef, key: &[Value]) -> Result<RowIds> {
        self.index_rows_with(index, key, None)
    }

    /// Like `index_rows`, also seeing structures not yet installed.
    pub(crate) fn index_rows_with(&self, index: IndexRef, key: &[Value], pending: Pending<'_>) -> Result<RowIds> {
        if key.iter().any(Value::is_null) {
            return Ok(RowIds::new());
        }
        match index {
            IndexRef::Unique { table, unique } => {
                let t = self.table(table)?;
                if unique >= t.uniques.len() {
                    return Err(Error::Internal(format!("unique index {unique} missing on \"{}\"", t.def.name)));
                }
                Ok(t.unique_get(unique, key).into_iter().collect())
            }
            IndexRef::Derived(id) => {
                if let Some(StructureData::TableIndex(ti)) = pending.and_then(|p| p.get(&id)).map(|s| &s.data) {
                    return Ok(ti.get(key));
                }
                Ok(self.table_index(id)?.get(key))
            }
        }
    }

    /// The view rows built from one anchor row.
    pub(crate) fn expand(
        &self,
        view: &ViewSpec,
        anchor_id: RowId,
        anchor: &[Value],
        out: &mut Vec<ViewRow>,
    ) -> Result<()> {
        self.expand_with(view, anchor_id, anchor, out, None)
    }

    pub(crate) fn expand_with(
        &self,
        view: &ViewSpec,
        anchor_id: RowId,
        anchor: &[Value],
        out: &mut Vec<ViewRow>,
        pending: Pending<'_>,
    ) -> Result<()> {
        let first = &view.steps[0];
        let mut values = vec![Value::Null; view.width];
        values[first.offset..first.offset + first.columns].clone_from_slice(anchor);
        let mut ids = vec![NO_ROW; view.steps.len()];
        ids[0] = anchor_id;
        if let Some(c) = &first.condition {
            if !eval_predicate(c, &values, &[])? {
                return Ok(());
            }
        }
        self.expand_from(view, 1, &mut ids, &mut values, out, pending)
    }

    fn expand_from(
        &self,
        view: &ViewSpec,
        step_index: usize,
        ids: &mut Vec<RowId>,
        values: &mut Vec<Value>,
        out: &mut Vec<ViewRow>,
        pending: Pending<'_>,
    ) -> Result<()> {
        let Some(step) = view.steps.get(step_index) else {
            if let Some(f) = &view.filter {
                if !eval_predicate(f, values, &[])? {
                    return Ok(());
                }
            }
            out.push(ViewRow { identity: Identity::from_ids(ids), values: values.clone() });
            return Ok(());
        };
        let key = step.lookup.iter().map(|(_, e)| eval(e, values, &[])).collect::<Result<SmallVec<[Value; 2]>, _>>()?;
        let index = step.lookup_index.ok_or_else(|| Error::Internal("join step without an index".into()))?;
        let table = self.table(step.table)?;
        let mut matched = false;
        for id in self.index_rows_with(index, &key, pending)? {
            let Some(row) = table.get(id) else { continue };
            values[step.offset..step.offset + step.columns].clone_from_slice(row);
            if let Some(c) = &step.condition {
                if !eval_predicate(c, values, &[])? {
                    continue;
                }
            }
            matched = true;
            ids[step_index] = id;
            self.expand_from(view, step_index + 1, ids, values, out, pending)?;
        }
        for v in &mut values[step.offset..step.offset + step.columns] {
            *v = Value::Null;
        }
        ids[step_index] = NO_ROW;
        if !matched && step.outer {
            self.expand_from(view, step_index + 1, ids, values, out, pending)?;
        }
        Ok(())
    }

    /// Anchor rows whose view rows may involve `row` of step `step`.
    pub(crate) fn anchors_of(&self, view: &ViewSpec, step: usize, row: &[Value], out: &mut Vec<RowId>) -> Result<()> {
        let back = view.steps[step]
            .back
            .ok_or_else(|| Error::Internal("a maintained view's join step has no way back".into()))?;
        let value = &row[back.own_column];
        let earlier = &view.steps[back.step];
        let table = self.table(earlier.table)?;
        for id in self.index_rows(back.index, std::slice::from_ref(value))? {
            if back.step == 0 {
                out.push(id);
            } else if let Some(r) = table.get(id) {
                self.anchors_of(view, back.step, r, out)?;
            }
        }
        Ok(())
    }

    /// The values of the view row made of `identity`, or `None` if one of
    /// its rows is gone.
    pub(crate) fn view_row(&self, view: &ViewSpec, identity: &Identity) -> Result<Option<Vec<Value>>> {
        let mut values = vec![Value::Null; view.width];
        for (step, &id) in view.steps.iter().zip(identity.ids()) {
            if id == NO_ROW {
                continue;
            }
            let Some(row) = self.table(step.table)?.get(id) else { return Ok(None) };
            values[step.offset..step.offset + step.columns].clone_from_slice(row);
        }
        Ok(Some(values))
    }
}
