//! The catalog: table definitions and registered statements. It is a value:
//! applying a script works on a copy, so a script that fails halfway leaves
//! the live catalog untouched.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::expr::Expr;
use crate::plan::Statement;
use crate::structure::{StructureId, StructureSpec};
use crate::types::DataType;
use crate::value::Value;

/// Tables are numbered in creation order; numbers are never reused, so a
/// statement compiled against a dropped table can never address a new one.
pub type TableId = u32;

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: DataType,
    pub not_null: bool,
    pub default: Option<Value>,
}

/// A PRIMARY KEY or UNIQUE constraint, enforced by a hash index.
#[derive(Debug, Clone, PartialEq)]
pub struct UniqueDef {
    /// PostgreSQL's default name: `table_pkey`, `table_col_key`.
    pub name: String,
    pub columns: Vec<usize>,
    pub primary: bool,
}

/// A CHECK constraint: the row passes unless the expression is FALSE.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckDef {
    pub name: String,
    /// Over the table's row.
    pub expr: Expr,
}

/// What a FOREIGN KEY does when the referenced row goes away or its key
/// changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefAction {
    /// Refuse (RESTRICT and NO ACTION, checked at once).
    Restrict,
    Cascade,
    SetNull,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKeyDef {
    /// PostgreSQL's default name: `table_col_fkey`.
    pub name: String,
    pub columns: Vec<usize>,
    pub ref_table: TableId,
    pub ref_table_name: String,
    /// The referenced key: one of the referenced table's unique indexes.
    pub ref_unique: usize,
    pub on_delete: RefAction,
    pub on_update: RefAction,
    /// Hash index on `columns`, to find the rows referencing a key.
    pub index: StructureId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub id: TableId,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// Position in `uniques` of the primary key, first when present.
    pub uniques: Vec<UniqueDef>,
    pub checks: Vec<CheckDef>,
    pub foreign_keys: Vec<ForeignKeyDef>,
    /// The CREATE TABLE text as registered (normalised by the parser).
    pub sql: String,
}

impl TableDef {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    pub fn primary_key(&self) -> Option<&UniqueDef> {
        self.uniques.iter().find(|u| u.primary)
    }

    /// Column names of a key, for messages: `(a, b)`.
    pub fn describe_columns(&self, columns: &[usize]) -> String {
        let names: Vec<&str> = columns.iter().map(|&c| self.columns[c].name.as_str()).collect();
        names.join(", ")
    }
}

/// A derived structure and how many statements use it.
#[derive(Debug, Clone)]
pub struct StructureEntry {
    pub spec: Arc<StructureSpec>,
    pub users: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: BTreeMap<TableId, Arc<TableDef>>,
    table_names: BTreeMap<String, TableId>,
    statements: BTreeMap<String, Arc<Statement>>,
    structures: BTreeMap<StructureId, StructureEntry>,
    next_table_id: TableId,
    next_structure_id: StructureId,
    /// Register statements that need scans (they run in O(n)) instead of
    /// refusing them.
    allow_scans: bool,
}

impl Catalog {
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Lets statements that need a scan register (EXPLAIN shows O(n)).
    pub fn set_allow_scans(&mut self, allow: bool) {
        self.allow_scans = allow;
    }

    pub fn allow_scans(&self) -> bool {
        self.allow_scans
    }

    pub fn table(&self, id: TableId) -> Option<&Arc<TableDef>> {
        self.tables.get(&id)
    }

    pub fn table_by_name(&self, name: &str) -> Option<&Arc<TableDef>> {
        self.table_names.get(name).and_then(|id| self.tables.get(id))
    }

    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableDef>> {
        self.tables.values()
    }

    pub fn statement(&self, name: &str) -> Option<&Arc<Statement>> {
        self.statements.get(name)
    }

    pub fn statements(&self) -> impl Iterator<Item = &Arc<Statement>> {
        self.statements.values()
    }

    /// Foreign keys of other tables that reference `table`, as
    /// `(referencing table, constraint name)`.
    pub fn references_to(&self, table: TableId) -> Vec<(String, String)> {
        self.tables
            .values()
            .filter(|t| t.id != table)
            .flat_map(|t| {
                t.foreign_keys.iter().filter(|f| f.ref_table == table).map(|f| (t.name.clone(), f.name.clone()))
            })
            .collect()
    }

    /// Names of statements that read or write `table`, sorted.
    pub fn statements_using(&self, table: TableId) -> Vec<String> {
        self.statements.values().filter(|s| s.tables.contains(&table)).map(|s| s.name.clone()).collect()
    }

    pub fn structure(&self, id: StructureId) -> Option<&Arc<StructureSpec>> {
        self.structures.get(&id).map(|e| &e.spec)
    }

    pub fn structures(&self) -> impl Iterator<Item = (StructureId, &StructureEntry)> {
        self.structures.iter().map(|(id, e)| (*id, e))
    }

    pub(crate) fn next_structure_id(&self) -> StructureId {
        self.next_structure_id
    }

    /// Counts a new user of each structure, registering the new ones;
    /// returns the specs that were not there before.
    pub(crate) fn use_structures(
        &mut self,
        used: &[StructureId],
        added: &[(StructureId, StructureSpec)],
    ) -> Vec<(StructureId, Arc<StructureSpec>)> {
        let mut created = Vec::new();
        for (id, spec) in added {
            let spec = Arc::new(spec.clone());
            self.structures.insert(*id, StructureEntry { spec: spec.clone(), users: 0 });
            self.next_structure_id = self.next_structure_id.max(id + 1);
            created.push((*id, spec));
        }
        for id in used {
            if let Some(e) = self.structures.get_mut(id) {
                e.users += 1;
            }
        }
        created
    }

    /// Drops one user of each structure; returns the ones nothing uses any
    /// more (removed from the catalog), newest first.
    pub(crate) fn release_structures(&mut self, used: &[StructureId]) -> Vec<(StructureId, Arc<StructureSpec>)> {
        let mut freed = Vec::new();
        for id in used {
            if let Some(e) = self.structures.get_mut(id) {
                e.users = e.users.saturating_sub(1);
                if e.users == 0 {
                    freed.push(*id);
                }
            }
        }
        freed.sort_unstable_by(|a, b| b.cmp(a));
        freed.into_iter().filter_map(|id| self.structures.remove(&id).map(|e| (id, e.spec))).collect()
    }

    /// A script that recreates the catalog: every table, then every
    /// statement with its parameter types (for snapshots).
    pub fn to_script(&self) -> String {
        let mut out = String::new();
        for t in self.tables.values() {
            out.push_str(&t.sql);
            out.push_str(";\n");
        }
        for s in self.statements.values() {
            out.push_str(&s.prepare_sql());
            out.push_str(";\n");
        }
        out
    }

    pub(crate) fn allocate_table_id(&mut self) -> TableId {
        let id = self.next_table_id;
        self.next_table_id += 1;
        id
    }

    pub(crate) fn insert_table(&mut self, table: Arc<TableDef>) {
        self.table_names.insert(table.name.clone(), table.id);
        self.tables.insert(table.id, table);
    }

    pub(crate) fn remove_table(&mut self, id: TableId) -> Option<Arc<TableDef>> {
        let table = self.tables.remove(&id)?;
        self.table_names.remove(&table.name);
        Some(table)
    }

    pub(crate) fn insert_statement(&mut self, statement: Arc<Statement>) {
        self.statements.insert(statement.name.clone(), statement);
    }

    pub(crate) fn remove_statement(&mut self, name: &str) -> Option<Arc<Statement>> {
        self.statements.remove(name)
    }
}
