//! Constraints checked on every write: NOT NULL and CHECK on the new row,
//! FOREIGN KEYs both ways (a new or changed row's key must exist in the
//! referenced table; a referenced row that goes away restricts, cascades to
//! or nulls the rows referencing it). Uniqueness is the unique indexes'
//! job (`Table::insert`, `Table::update`).

use aotdb_planner::eval::eval;
use aotdb_planner::{ForeignKeyDef, RefAction, TableDef, TableId, Value};

use crate::database::Database;
use crate::error::{Error, Result};
use crate::row::{key_of, Row, RowId};
use crate::undo::UndoLog;

fn describe_row(row: &[Value]) -> String {
    let values: Vec<String> = row.iter().map(|v| if v.is_null() { "null".into() } else { v.to_pg_text() }).collect();
    values.join(", ")
}

fn describe_key(def: &TableDef, columns: &[usize], key: &[Value]) -> String {
    let values: Vec<String> = key.iter().map(|v| v.to_pg_text()).collect();
    format!("Key ({})=({})", def.describe_columns(columns), values.join(", "))
}

impl Database {
    /// NOT NULL, CHECK, and the foreign keys of the new row (`old` is the
    /// row it replaces, for an update).
    pub(crate) fn check_row(&self, table: TableId, row: &[Value], old: Option<&[Value]>) -> Result<()> {
        let t = self.table(table)?;
        t.check_not_null(row)?;
        for check in &t.def.checks {
            if eval(&check.expr, row, &[])? == Value::Bool(false) {
                return Err(Error::Constraint(format!(
                    "new row for relation \"{}\" violates check constraint \"{}\": Failing row contains ({})",
                    t.def.name,
                    check.name,
                    describe_row(row)
                )));
            }
        }
        for fk in &t.def.foreign_keys {
            if old.is_some_and(|o| fk.columns.iter().all(|&c| o[c] == row[c] && o[c].is_null() == row[c].is_null())) {
                continue;
            }
            // MATCH SIMPLE: a key with a NULL references nothing.
            let Some(key) = key_of(row, &fk.columns) else { continue };
            let found = if fk.ref_table == table {
                // A row may reference itself.
                t.unique_get(fk.ref_unique, &key).is_some() || self.references_itself(t.def.as_ref(), fk, row)
            } else {
                self.table(fk.ref_table)?.unique_get(fk.ref_unique, &key).is_some()
            };
            if !found {
                return Err(Error::Constraint(format!(
                    "insert or update on table \"{}\" violates foreign key constraint \"{}\": {} is not present in table \"{}\"",
                    t.def.name,
                    fk.name,
                    describe_key(&t.def, &fk.columns, &key),
                    fk.ref_table_name
                )));
            }
        }
        Ok(())
    }

    fn references_itself(&self, def: &TableDef, fk: &ForeignKeyDef, row: &[Value]) -> bool {
        let target = &def.uniques[fk.ref_unique].columns;
        fk.columns.iter().zip(target).all(|(&c, &r)| row[c] == row[r])
    }

    /// Foreign keys anywhere that reference `table`. Asked on every
    /// DELETE and key-changing UPDATE, and usually none do: a plain loop
    /// that allocates only when it finds one.
    fn referencing(&self, table: TableId) -> Vec<(TableId, ForeignKeyDef)> {
        let mut found = Vec::new();
        for t in self.tables.values() {
            for f in &t.def.foreign_keys {
                if f.ref_table == table {
                    found.push((t.def.id, f.clone()));
                }
            }
        }
        found
    }

    /// Rows of `child` whose foreign key `fk` holds `key`.
    fn referencing_rows(&self, child: TableId, fk: &ForeignKeyDef, key: &[Value]) -> Result<Vec<RowId>> {
        let _ = child;
        Ok(self.table_index(fk.index)?.get(key).into_vec())
    }

    /// ON DELETE: restrict, cascade or set null on the rows referencing a
    /// row about to be deleted.
    pub(crate) fn follow_references_on_delete(
        &mut self,
        table: TableId,
        id: RowId,
        old: &Row,
        undo: &mut UndoLog,
    ) -> Result<()> {
        for (child, fk) in self.referencing(table) {
            let parent = self.table(table)?.def.clone();
            let key_columns = parent.uniques[fk.ref_unique].columns.clone();
            let Some(key) = key_of(old, &key_columns) else { continue };
            let mut rows = self.referencing_rows(child, &fk, &key)?;
            if child == table {
                rows.retain(|&r| r != id);
            }
            if rows.is_empty() {
                continue;
            }
            match fk.on_delete {
                RefAction::Restrict => {
                    let child_name = self.table(child)?.def.name.clone();
                    return Err(Error::Constraint(format!(
                        "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{child_name}\": {} is still referenced from table \"{child_name}\"",
                        parent.name,
                        fk.name,
                        describe_key(&parent, &key_columns, &key)
                    )));
                }
                RefAction::Cascade => {
                    for r in rows {
                        if self.table(child)?.get(r).is_some() {
                            self.delete_row(child, r, undo)?;
                        }
                    }
                }
                RefAction::SetNull => {
                    for r in rows {
                        let Some(current) = self.table(child)?.get(r).map(Row::from) else { continue };
                        let mut new = current.to_vec();
                        for &c in &fk.columns {
                            new[c] = Value::Null;
                        }
                        self.update_row(child, r, new.into_boxed_slice(), undo)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// ON UPDATE RESTRICT: a referenced key cannot change while rows still
    /// reference it.
    pub(crate) fn check_referenced_key_kept(&self, table: TableId, old: &[Value], new: &[Value]) -> Result<()> {
        // Most updates change no key at all: then no reference can break,
        // and the foreign keys need not be looked up.
        let same = |c: &usize| old[*c] == new[*c] && old[*c].is_null() == new[*c].is_null();
        if self.table(table)?.def.uniques.iter().all(|u| u.columns.iter().all(same)) {
            return Ok(());
        }
        for (child, fk) in self.referencing(table) {
            let parent = &self.table(table)?.def;
            let key_columns = &parent.uniques[fk.ref_unique].columns;
            if key_columns.iter().all(|&c| old[c] == new[c] && old[c].is_null() == new[c].is_null()) {
                continue;
            }
            let Some(key) = key_of(old, key_columns) else { continue };
            let rows = self.referencing_rows(child, &fk, &key)?;
            let still = if child == table {
                // The row being updated may reference itself.
                rows.iter().any(|&r| self.table(child).ok().and_then(|t| t.get(r)).is_some_and(|row| row != old))
            } else {
                !rows.is_empty()
            };
            if still && fk.on_update == RefAction::Restrict {
                let child_name = &self.table(child)?.def.name;
                return Err(Error::Constraint(format!(
                    "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{child_name}\": {} is still referenced from table \"{child_name}\"",
                    parent.name,
                    fk.name,
                    describe_key(parent, key_columns, &key)
                )));
            }
        }
        Ok(())
    }
}
